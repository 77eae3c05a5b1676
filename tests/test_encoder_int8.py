"""The int8 encoder setting: a separate, quantised model whose codes stay close to the float
model's, used by every coding path the factory builds, never by training."""

from __future__ import annotations

import numpy as np
import pytest

from themecoder.config import Settings
from themecoder.pipeline.embed import SentenceTransformerEmbedder, make_embedder

TEXTS = [
    "The app crashes every time I open the settings page, please fix it.",
    "Checkout was quick and the support agent was lovely, thank you!",
    "I was charged twice for my subscription and nobody answers my emails.",
    "Could you add a dark mode? The white screen hurts my eyes at night.",
]


def test_factory_follows_the_setting_and_training_can_refuse_it() -> None:
    on = Settings(encoder_int8=True)
    assert make_embedder(on).int8 and make_embedder(on).name.endswith("+int8")
    assert not make_embedder(on, int8=False).int8  # what training asks for
    assert not make_embedder(Settings()).int8  # off by default
    # The name keys the embedding cache: int8 vectors must never pass for float ones.
    assert make_embedder(on).name != make_embedder(Settings()).name


def test_token_cap_reaches_the_embedder_and_its_name() -> None:
    emb = make_embedder(Settings(encoder_max_tokens=128))
    assert emb.max_tokens == 128 and emb.name.endswith("+max128")


@pytest.mark.model
@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_int8_vectors_and_codes_stay_close_to_float(coder, runtime, tmp_path) -> None:
    from themecoder.coder import Coder
    from themecoder.pipeline.embed_onnx import OnnxEmbedder

    s = Settings(encoder_int8=True, encoder_runtime=runtime, onnx_dir=tmp_path)
    quantised = Coder.load(s)
    kind = OnnxEmbedder if runtime == "onnx" else SentenceTransformerEmbedder
    assert isinstance(quantised.embedder, kind)
    a = coder.embedder.encode(TEXTS)
    b = quantised.embedder.encode(TEXTS)
    assert (a * b).sum(axis=1).min() > (0.98 if runtime == "onnx" else 0.95)  # cosine
    float_codes = [{c.bucket for c in r.buckets} for r in coder.code(TEXTS)]
    int8_codes = [{c.bucket for c in r.buckets} for r in quantised.code(TEXTS)]
    decisions = sum(6 - len(f ^ q) for f, q in zip(float_codes, int8_codes, strict=True))
    assert decisions / (6 * len(TEXTS)) >= 0.9
    assert not np.allclose(a, b)  # it did quantise
    if runtime == "onnx":  # the quantised file sits beside the float export, made once
        assert quantised.embedder.path.is_file() and quantised.embedder.float_path.is_file()
        assert quantised.embedder.path.stat().st_size < quantised.embedder.float_path.stat().st_size


@pytest.mark.model
def test_float_codes_of_a_text_do_not_depend_on_its_batch(coder) -> None:
    # Bulk jobs and /v1/code (alone or micro-batched) must give a text the same codes.
    together = coder.code(TEXTS)
    for text, batched in zip(TEXTS, together, strict=True):
        (alone,) = coder.code([text])
        assert [(c.bucket, c.polarity) for c in alone.buckets] == [
            (c.bucket, c.polarity) for c in batched.buckets
        ]
        assert alone.sentiment == batched.sentiment
