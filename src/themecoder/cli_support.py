"""What every command group shares: the consoles, settings with overrides, error mapping."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from themecoder.config import Settings, db_url_problem, get_settings, settings_problems
from themecoder.errors import (
    ConfigurationError,
    InvalidInput,
    ModelUnavailable,
    NotFound,
    ThemecoderError,
)

console = Console(stderr=True)
out = Console()

# Exit 2: the command cannot run as asked until its input or configuration changes.
USER_FIXABLE = (InvalidInput, NotFound, ModelUnavailable, ConfigurationError)


def settings(db: str | None = None, model_dir: Path | None = None) -> Settings:
    """The process settings with the command's ``--db`` / ``--model-dir`` applied."""
    # No model hub is reachable in offline deployments; never wait for one.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    overrides: dict[str, Any] = {}
    with errors():
        base = get_settings()
        if db:
            problem = db_url_problem(db)
            if problem:
                raise InvalidInput(f"--db: {problem}")
            overrides["db_url"] = db
    if model_dir:
        overrides["model_dir"] = model_dir
    return base.model_copy(update=overrides)


def _fail(code: str, message: str) -> typer.Exit:
    console.print(f"error ({code}): {message}", style="bold red", markup=False)
    return typer.Exit(2)


@contextmanager
def errors() -> Iterator[None]:
    """Turn a ThemecoderError, or settings that do not validate, into a one-line message;
    exit 2 for bad input or configuration, else 1; Ctrl-C exits 130 with one line."""
    try:
        yield
    except ThemecoderError as exc:
        console.print(f"error ({exc.code}): {exc.message}", style="bold red", markup=False)
        raise typer.Exit(2 if isinstance(exc, USER_FIXABLE) else 1) from None
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        raise _fail("invalid_setting", "; ".join(settings_problems(exc))) from None
    except SettingsError as exc:
        # pydantic-settings reads list settings (THEMECODER_PII_ALLOW, ...) as JSON first.
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"THEMECODER_{field.group(1).upper()}" if field else "a THEMECODER_ variable"
        raise _fail("invalid_setting", f'{name} is not valid JSON (e.g. \'["a", "b"]\')') from None
    except KeyboardInterrupt:  # Ctrl-C during a long train, eval or code: a line, no traceback
        console.print("interrupted", style="bold red")
        raise typer.Exit(130) from None
