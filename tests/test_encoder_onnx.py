"""The ONNX Runtime encoder: the shipped float model (adapter merged) exported once, giving
torch's vectors to float rounding and the same codes; training never gets it."""

from __future__ import annotations

import numpy as np
import pytest

from themecoder.config import Settings
from themecoder.pipeline.embed import SentenceTransformerEmbedder, make_embedder

TEXTS = [
    "The app crashes every time I open the settings page, please fix it.",
    "Checkout was quick and the support agent was lovely, thank you!",
    "I was charged twice for my subscription and nobody answers my emails.",
    "  ok  ",
    "My flight was cancelled twice and the refund never came. " * 40,  # past 256 tokens
]


def test_factory_follows_the_setting_and_training_can_refuse_it(tmp_path) -> None:
    from themecoder.pipeline.embed_onnx import OnnxEmbedder

    on = Settings(encoder_runtime="onnx", cache_dir=tmp_path)
    emb = make_embedder(on)
    assert isinstance(emb, OnnxEmbedder)
    torch = Settings(encoder_runtime="torch", cache_dir=tmp_path)
    assert emb.name == make_embedder(torch).name  # same float vectors, same cache
    assert isinstance(make_embedder(torch), SentenceTransformerEmbedder)
    assert isinstance(make_embedder(on, runtime="torch"), SentenceTransformerEmbedder)
    assert isinstance(make_embedder(Settings(cache_dir=tmp_path)), OnnxEmbedder)  # the default
    # Training (train_coder) trains on the torch twin of an ONNX embedder it is handed.
    assert isinstance(emb.torch_embedder, SentenceTransformerEmbedder)
    # int8 on ONNX quantises the export of the float model: its torch twin stays float.
    quantised = make_embedder(Settings(encoder_runtime="onnx", encoder_int8=True))
    assert isinstance(quantised, OnnxEmbedder) and quantised.int8
    assert not quantised.torch_embedder.int8
    assert quantised.path.name == "model.int8.onnx" and quantised.float_path.name == "model.onnx"


@pytest.fixture(scope="module")
def torch_coder():
    from themecoder.coder import Coder

    return Coder.load(Settings(encoder_runtime="torch"))


@pytest.fixture(scope="module")
def onnx_coder(tmp_path_factory):
    from themecoder.coder import Coder

    s = Settings(encoder_runtime="onnx", onnx_dir=tmp_path_factory.mktemp("onnx"))
    return s, Coder.load(s)


@pytest.mark.model
def test_onnx_vectors_and_codes_equal_torch(torch_coder, onnx_coder) -> None:
    coder = torch_coder
    _, fast = onnx_coder
    a = coder.embedder.encode(TEXTS)
    b = fast.embedder.encode(TEXTS)
    assert fast.embedder.exported_
    assert np.abs(a - b).max() < 1e-4
    assert np.abs(fast.embedder.encode(TEXTS[:1]) - a[:1]).max() < 1e-4  # batch of one
    for x, y in zip(coder.code(TEXTS), fast.code(TEXTS), strict=True):
        assert [(c.bucket, c.polarity) for c in x.buckets] == [
            (c.bucket, c.polarity) for c in y.buckets
        ]
        assert x.sentiment == y.sentiment


@pytest.mark.model
def test_export_is_cached_and_reused(onnx_coder) -> None:
    from themecoder.coder import Coder

    s, fast = onnx_coder
    fast.embedder.encode(TEXTS[:1])
    again = Coder.load(s)
    assert again.embedder.path == fast.embedder.path and again.embedder.path.exists()
    vectors = again.embedder.encode(TEXTS[:2])
    assert not again.embedder.exported_  # loaded the file, no second export
    assert again.embedder.embedder._st is None  # nor the torch model
    assert np.allclose(vectors, fast.embedder.encode(TEXTS[:2]), atol=1e-6)
    # Another adapter (here: none) is another file.
    assert make_embedder(s, base=True).path != fast.embedder.path


@pytest.mark.model
def test_loading_the_encoder_prints_no_progress_bar_or_warning(capfd, recwarn) -> None:
    """Every CLI run on the torch path printed transformers' "Loading weights" bar and peft's
    FutureWarning about ``is_gradient_checkpointing``."""
    from transformers.utils import logging as hf_logging

    from themecoder.coder import Coder

    Coder.load(Settings(encoder_runtime="torch")).embedder.encode(TEXTS[:1])

    assert "Loading weights" not in capfd.readouterr().err
    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)]
    assert hf_logging.is_progress_bar_enabled()  # switched back on after the load
