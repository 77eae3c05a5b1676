"""The float encoder run by ONNX Runtime: the same model and vectors, less CPU per text.

The transformer (with the fine-tuned adapter merged) is exported once to an ``.onnx`` file in
``export_dir`` (setting ``onnx_dir``, default ``cache_dir/onnx``), named by a hash of the model
name and the adapter's arrays; tokenising, mean pooling and L2 normalisation happen here exactly
as sentence-transformers does them for MiniLM (``1_Pooling``: mean of the token vectors under
the attention mask; ``2_Normalize``).
With ``int8``, the export is quantised once more (``model.int8.onnx`` beside it): dynamic int8
of the MatMul weights, per output channel, with activations quantised per forward batch.
Coding only: training fine-tunes the torch model (``make_embedder(..., runtime="torch")``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.errors import ModelUnavailable

# Bump when the export changes (inputs, opset, wrapper), so that old files are not reused.
EXPORT_VERSION = "1"
OPSET = 17


class OnnxEmbedder:
    """L2-normalised sentence embeddings from an ONNX export of ``embedder``'s float model.

    Args:
        embedder: the torch :class:`~themecoder.pipeline.embed.SentenceTransformerEmbedder`
            to mirror (not int8); its model loads only when the export is not cached yet.
        export_dir: folder of the exported models (``<export_dir>/<key>/model.onnx``).
        threads: ONNX Runtime intra-op threads (None: torch's thread count for the calling
            thread when the session starts, as the coder's ``pin_thread`` set it).
        int8: run the int8 quantisation of the export (:func:`quantize_export`).
    """

    def __init__(
        self,
        embedder: Any,
        export_dir: str | Path,
        threads: int | None = None,
        int8: bool = False,
    ) -> None:
        if embedder.int8:
            raise ValueError("OnnxEmbedder mirrors a float torch embedder; pass int8 here")
        self.embedder = embedder
        self.export_dir = Path(export_dir)
        self.threads = threads
        self.batch_size = embedder.batch_size
        # The torch embedder's description, so that callers see one interface.
        self.model = embedder.model
        self.adapter = embedder.adapter
        self.max_tokens = embedder.max_tokens
        self.int8 = int8
        self.device = "cpu"
        # Float: the same vectors to float rounding (like another batch size), so the same
        # cache name; int8 vectors must never pass for float ones.
        self.name = embedder.name + ("+int8" if int8 else "")
        self.exported_ = False
        self._session: Any = None
        self._tokenizer: Any = None
        self._meta: dict[str, Any] = {}

    @property
    def torch_embedder(self) -> Any:
        """The torch embedder of the same model, for training (fine-tuning, exact fits)."""
        return self.embedder

    @property
    def key(self) -> str:
        """Cache folder name: a hash of the embedder's name (model, adapter digest, token cap)
        and the export version."""
        name = self.embedder.name
        return hashlib.sha256(f"{name}|onnx{EXPORT_VERSION}|{OPSET}".encode()).hexdigest()[:16]

    @property
    def float_path(self) -> Path:
        return self.export_dir / self.key / "model.onnx"

    @property
    def path(self) -> Path:
        """The model file that codes: the float export, or its int8 quantisation."""
        return self.float_path.with_name("model.int8.onnx") if self.int8 else self.float_path

    def _load(self) -> None:
        if self._session is not None:
            return
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from themecoder.pipeline.embed import resolve_model_path

        if not self.float_path.exists():
            self._export()
        if not self.path.exists():
            try:
                quantize_export(self.float_path, self.path)
            except OSError as exc:
                raise ModelUnavailable(
                    f"cannot write the int8 model to {self.path.parent} ({exc}): point "
                    "THEMECODER_ONNX_DIR (or THEMECODER_CACHE_DIR) at a writable folder or set "
                    "THEMECODER_ENCODER_INT8=false"
                ) from exc
        meta = json.loads((self.path.parent / "meta.json").read_text())
        opts = ort.SessionOptions()
        threads = self.threads
        if threads is None:
            import torch

            threads = torch.get_num_threads()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads sleep instead of spinning: a spinning thread burns a core that the
        # web server, PII masking or a worker beside it could use.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.path), opts, providers=["CPUExecutionProvider"]
        )
        path = resolve_model_path(self.embedder.model, self.embedder.local_dir)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"cannot load tokenizer of {self.embedder.model!r}: {exc}"
            ) from exc
        max_len = meta["max_seq_length"]
        if self.embedder.max_tokens is not None:
            max_len = min(max_len, self.embedder.max_tokens)
        self._meta = {**meta, "max_length": max_len}
        self._inputs = [i.name for i in self._session.get_inputs()]

    def _export(self) -> None:
        """Export the torch transformer (adapter merged) to ``self.float_path``, atomically."""
        import torch

        st = self.embedder.st
        transformer = st[0]
        model = transformer.auto_model.eval()

        class Encoder(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                return out.last_hidden_state

        ids = torch.ones((2, 8), dtype=torch.long)
        mask = torch.ones((2, 8), dtype=torch.long)
        types = torch.zeros((2, 8), dtype=torch.long)
        axes = {0: "batch", 1: "sequence"}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelUnavailable(
                f"cannot write the ONNX export to {self.path.parent} ({exc}): point "
                "THEMECODER_ONNX_DIR (or THEMECODER_CACHE_DIR) at a writable folder or set "
                "THEMECODER_ENCODER_RUNTIME=torch"
            ) from exc
        tmp = self.float_path.with_suffix(f".{os.getpid()}.tmp")
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer's notes on shape checks in transformers' masking code: the graph
            # keeps dynamic batch and sequence axes (checked against torch in the tests).
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            warnings.simplefilter("ignore", category=UserWarning)
            torch.onnx.export(
                Encoder(model),
                (ids, mask, types),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "last_hidden_state": axes,
                },
                opset_version=OPSET,
                dynamo=False,
            )
        meta = {
            "model": self.embedder.model,
            "name": self.embedder.name,
            "max_seq_length": int(transformer.max_seq_length),
            "dim": int(st.get_embedding_dimension()),
            "export_version": EXPORT_VERSION,
            "torch": torch.__version__,
        }
        (self.path.parent / "meta.json").write_text(json.dumps(meta, indent=1))
        os.replace(tmp, self.float_path)
        self.exported_ = True
        self.embedder._st = None  # the torch model is not needed to code

    @property
    def dim(self) -> int:
        self._load()
        return int(self._meta["dim"])

    def _forward(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer(
            texts,
            padding=True,
            truncation="longest_first",
            max_length=self._meta["max_length"],
            return_tensors="np",
        )
        feed = {k: np.asarray(enc[k], dtype=np.int64) for k in self._inputs}
        hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][:, :, None].astype(hidden.dtype)
        # sentence-transformers' mean pooling, then F.normalize (eps 1e-12)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        # Longest first, in batches, as sentence-transformers does (less padding).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._forward([texts[i] for i in idx])
        return out


def quantize_export(source: Path, target: Path) -> None:
    """Write ``target``: ``source`` with dynamic int8 quantisation of its MatMul weights, per
    output channel (activations are quantised per forward batch, so a text's vector depends a
    little on the texts batched with it), atomically.

    Per channel and MatMul only because that kept MiniLM's vectors closest to the float
    model's on the dev set's tune part (cosine: mean 0.993, lowest 0.986; per tensor, every op:
    mean 0.961, lowest 0.912) at about 0.45x its CPU per text (``eval/encoder_cost.py``). The
    feed-forward output MatMuls stay float, as in ``embed.quantize_encoder``: their inputs carry
    outliers, and with them quantised all-mpnet-base-v2's vectors fell to cosine 0.92 of the
    float ones (tests/test_encoder_int8.py's texts).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    keep_float = [
        n.name
        for n in graph.node
        if n.op_type == "MatMul" and "/output/dense/" in n.name and "attention" not in n.name
    ]

    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    # The quantiser advises graph pre-processing (shape inference) on the root logger at every
    # call; the measured figures are without it, so users are not shown the advice.
    advice = _DropAdvice()
    logging.getLogger().addFilter(advice)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(
                str(source),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=keep_float,
            )
    finally:
        logging.getLogger().removeFilter(advice)
    os.replace(tmp, target)


class _DropAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Please consider to run pre-processing")
