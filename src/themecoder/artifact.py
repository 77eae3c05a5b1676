"""The coder artifact on disk: config.json + arrays.safetensors + examples.jsonl + card.

Loading rebuilds the estimators through code; nothing is pickled, so an artifact is
reviewable and diffable, and its hash is reproducible from the same data and seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.errors import ModelUnavailable

CONFIG = "config.json"
ARRAYS = "arrays.safetensors"
EXAMPLES = "examples.jsonl"
CARD = "MODEL_CARD.md"
HASHED = (CONFIG, ARRAYS, EXAMPLES)


@dataclass
class Artifact:
    """What a coder model folder holds."""

    config: dict[str, Any]
    arrays: dict[str, np.ndarray]
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return str(self.config.get("version", "unversioned"))


def save_artifact(artifact: Artifact, path: Path, card: str | None = None) -> str:
    """Write ``artifact`` to ``path`` and return its sha256 over the hashed files."""
    from safetensors.numpy import save_file

    path.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v) for k, v in sorted(artifact.arrays.items())}
    save_file(arrays, str(path / ARRAYS))
    (path / CONFIG).write_text(json.dumps(artifact.config, indent=2, sort_keys=True) + "\n")
    with (path / EXAMPLES).open("w", encoding="utf-8") as fh:
        for row in artifact.examples:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    if card is not None:
        (path / CARD).write_text(card, encoding="utf-8")
    return artifact_hash(path)


def artifact_hash(path: Path) -> str:
    """sha256 over the config, arrays and examples files, in a fixed order."""
    digest = hashlib.sha256()
    for name in HASHED:
        digest.update(name.encode())
        digest.update((path / name).read_bytes())
    return digest.hexdigest()


def load_artifact(path: Path) -> Artifact:
    """Read an artifact folder written by :func:`save_artifact`."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    missing = [name for name in HASHED if not (path / name).is_file()]
    if len(missing) == len(HASHED):
        raise ModelUnavailable(
            f"no coder model in {path}; run `themecoder train` or point THEMECODER_MODEL_DIR "
            "(--model-dir) at a model folder"
        )
    if missing:  # a copy cut short: every file is read (the hash) or needed (reasons)
        raise ModelUnavailable(f"coder model in {path} is incomplete: no {', '.join(missing)}")
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
        arrays = load_file(str(path / ARRAYS))
        with (path / EXAMPLES).open(encoding="utf-8") as fh:
            examples = [json.loads(line) for line in fh if line.strip()]
    except (ValueError, OSError, SafetensorError) as exc:  # JSON and UTF-8 errors are ValueErrors
        raise ModelUnavailable(f"coder model in {path} is unreadable: {exc}") from None
    if not isinstance(config, dict):
        raise ModelUnavailable(f"coder model in {path} is unreadable: {CONFIG} is no object")
    return Artifact(config=config, arrays=arrays, examples=examples)
