"""What every command group shares: the consoles, settings with overrides, error mapping."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from themecoder.config import Settings, get_settings
from themecoder.errors import InvalidInput, NotFound, ThemecoderError

console = Console(stderr=True)
out = Console()


def settings(db: str | None = None, model_dir: Path | None = None) -> Settings:
    """The process settings with the command's ``--db`` / ``--model-dir`` applied."""
    # No model hub is reachable in offline deployments; never wait for one.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    overrides: dict[str, Any] = {}
    if db:
        overrides["db_url"] = db
    if model_dir:
        overrides["model_dir"] = model_dir
    return get_settings().model_copy(update=overrides)


@contextmanager
def errors() -> Iterator[None]:
    """Turn a ThemecoderError into a one-line message; exit 2 for bad input, else 1."""
    try:
        yield
    except ThemecoderError as exc:
        console.print(f"error ({exc.code}): {exc.message}", style="bold red", markup=False)
        raise typer.Exit(2 if isinstance(exc, InvalidInput | NotFound) else 1) from None
