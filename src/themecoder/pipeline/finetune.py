"""Multi-task fine-tuning of the sentence encoder with a LoRA adapter.

The packaged MiniLM stays as it is; a low-rank adapter on its attention and feed-forward
layers is trained on the project's labelled units with four heads at once (bucket
presence, polarity per bucket, sentiment, expression). Only the adapter is kept (a few
MB in fp16); loading merges it into the base weights, so coding costs what the base
model costs. The heads used for fine-tuning are thrown away: the coder's calibrated
heads are fitted afterwards on the adapted embeddings.

Training is seeded and single-process; on one machine the same data, seed and thread
count give the same adapter bit for bit (the weights are rounded to fp16 on save).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS
from themecoder.errors import InvalidInput, NotFitted

Progress = Callable[[int, int], None]
PREFIX = "encoder.lora."
TARGETS = ("query", "key", "value", "dense")  # BERT-like encoders (MiniLM)
#: The adapted layers per encoder family: attention projections and feed-forward layers.
TARGETS_BY_FAMILY = (TARGETS, ("q", "k", "v", "o", "dense"))  # BERT-like; MPNet
_HEAD_SCALE = 16.0  # heads read L2-normalised embeddings, as the coder's heads do
THREADS = 2  # torch threads of a fine-tuning run unless a setting says otherwise
#: Openers people put in front of what they say, none of which changes its codes. With an
#: ``opener_share`` above 0, fine-tuning puts one in front of that share of its texts, to teach
#: the encoder that "Honestly, the onboarding was rough." reads as "The onboarding was rough."
#: (off by default: it cut the codes a seen opener changes by about 30%, not those of an unseen
#: one, and lowered the tune part's macro-F1; README, Quality).
OPENERS = (
    "Honestly, ",
    "Frankly, ",
    "To be honest, ",
    "Tbh ",
    "So, ",
    "Well, ",
    "Um, ",
    "Uh, so ",
    "Yeah, so ",
    "I mean, ",
    "Actually, ",
    "Okay so ",
    "Hi, ",
    "Quick one: ",
    "FYI ",
    "Truthfully, ",
    "I have to say, ",
    "Overall, ",
)


def with_opener(text: str, opener: str) -> str:
    """``text`` after ``opener``, its first letter lowered unless it reads as a name or "I";
    an empty text stays empty (there is nothing to open)."""
    if not text:
        return text
    head = text.split(" ", 1)[0]
    if text[:1].isupper() and head[1:2].islower() and head.rstrip(",.") not in ("I", "I'm"):
        text = text[0].lower() + text[1:]
    return opener + text


def _peft_config(rank: int, alpha: float, targets: Sequence[str] = TARGETS) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(targets), bias="none"
    )


def lora_targets(model: Any) -> tuple[str, ...]:
    """The names of the layers an adapter goes on in ``model`` (a transformers encoder)."""
    import torch

    names = {
        n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)
    }
    for family in TARGETS_BY_FAMILY:
        if set(family) <= names:
            return family
    raise InvalidInput(f"no known attention layers to adapt in {type(model).__name__}")


def targets(
    truth: Sequence[dict[str, str | None]],
    sentiment: Sequence[str | None],
    expression: Sequence[str | None],
) -> dict[str, np.ndarray]:
    """Label arrays for the four tasks; -1 (or a 0 mask) marks an unknown label."""
    n, k = len(truth), len(BUCKETS)
    known = np.zeros((n, k), dtype=np.float32)
    present = np.zeros((n, k), dtype=np.float32)
    polarity = np.full((n, k), -1, dtype=np.int64)
    for i, row in enumerate(truth):
        for b, bucket in enumerate(BUCKETS):
            if bucket in row:
                known[i, b] = 1.0
                if row[bucket] is not None:
                    present[i, b] = 1.0
                    polarity[i, b] = POLARITIES.index(row[bucket])
    return {
        "known": known,
        "present": present,
        "polarity": polarity,
        "sentiment": np.array([SENTIMENTS.index(s) if s else -1 for s in sentiment]),
        "expression": np.array([EXPRESSIONS.index(e) if e else -1 for e in expression]),
    }


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` inside the block (``None``: left as they are)."""
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class EncoderFineTuner:
    """Fits a LoRA adapter for a sentence-transformers model on the four coding tasks.

    Args:
        rank: LoRA rank.
        alpha: LoRA scaling numerator (the update is scaled by ``alpha / rank``).
        epochs: passes over the data.
        batch_size: units per step.
        lr: AdamW learning rate of the adapter (heads use 4x).
        max_tokens: longer texts are truncated when training.
        seed: torch and shuffling seed.
        threads: torch threads while training (results depend on it in the last bits).
        opener_share: share of each batch's texts seen with one of :data:`OPENERS` in
            front (a new draw each epoch); 0 trains on the texts as they are.
    """

    def __init__(
        self,
        rank: int = 16,
        alpha: float = 32.0,
        epochs: int = 2,
        batch_size: int = 32,
        lr: float = 5e-4,
        max_tokens: int = 96,
        seed: int = 13,
        threads: int = THREADS,
        opener_share: float = 0.0,
    ) -> None:
        self.rank = rank
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_tokens = max_tokens
        self.seed = seed
        self.threads = threads
        self.opener_share = opener_share

    def fit(
        self,
        st: Any,
        texts: Sequence[str],
        labels: dict[str, np.ndarray],
        sample_weight: np.ndarray | None = None,
        progress: Progress | None = None,
    ) -> EncoderFineTuner:
        """Train the adapter on ``st`` (a loaded SentenceTransformer, left unchanged)."""
        import torch
        from peft import get_peft_model_state_dict

        n = len(texts)
        w = np.ones(n, np.float32) if sample_weight is None else np.asarray(sample_weight)
        with torch_threads(self.threads):
            torch.manual_seed(self.seed)
            base = st[0].auto_model
            self.targets_ = lora_targets(base)
            model = _with_lora(base, _peft_config(self.rank, self.alpha, self.targets_))
            dim = base.config.hidden_size
            heads = torch.nn.ModuleDict(
                {
                    "present": torch.nn.Linear(dim, len(BUCKETS)),
                    "polarity": torch.nn.Linear(dim, len(BUCKETS) * len(POLARITIES)),
                    "sentiment": torch.nn.Linear(dim, len(SENTIMENTS)),
                    "expression": torch.nn.Linear(dim, len(EXPRESSIONS)),
                }
            )
            params = [
                {"params": [p for p in model.parameters() if p.requires_grad], "lr": self.lr},
                {"params": heads.parameters(), "lr": 4 * self.lr},
            ]
            opt = torch.optim.AdamW(params, weight_decay=0.01)
            pool = 32 * self.batch_size
            steps_per_epoch = sum(
                -(-min(pool, n - s) // self.batch_size) for s in range(0, n, pool)
            )
            total = steps_per_epoch * self.epochs
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: min(1.0, (s + 1) / max(1, total // 20)) * (1 - s / total)
            )
            rng = np.random.RandomState(self.seed)
            openers = np.random.RandomState(self.seed + 1)  # apart, so batches stay the same
            lengths = np.array([len(t) for t in texts])
            tok = st.tokenizer
            model.train()
            step = 0
            for _ in range(self.epochs):
                for idx in self._batches(rng, lengths):
                    batch = [texts[i] for i in idx]
                    if self.opener_share > 0:
                        draw = openers.random_sample(len(batch))
                        pick = openers.randint(len(OPENERS), size=len(batch))
                        batch = [
                            with_opener(t, OPENERS[o]) if d < self.opener_share else t
                            for t, d, o in zip(batch, draw, pick, strict=True)
                        ]
                    enc = tok(
                        batch,
                        padding=True,
                        truncation=True,
                        max_length=self.max_tokens,
                        return_tensors="pt",
                    )
                    out = model(**enc).last_hidden_state
                    mask = enc["attention_mask"].unsqueeze(-1).float()
                    pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                    emb = torch.nn.functional.normalize(pooled, dim=1) * _HEAD_SCALE
                    loss = self._loss(heads, emb, labels, idx, torch.from_numpy(w[idx]))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    step += 1
                    if progress:
                        progress(step, total)
            state = get_peft_model_state_dict(model)
            self.adapter_ = {
                k: v.detach().to(torch.float16).numpy().copy() for k, v in sorted(state.items())
            }
            model.unload()  # removes the adapter layers: ``st`` is as it was
        return self

    def _batches(self, rng: np.random.RandomState, lengths: np.ndarray) -> list[np.ndarray]:
        """Shuffled batches of similar length (little padding), in shuffled order."""
        order = rng.permutation(len(lengths))
        pool = 32 * self.batch_size
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            size = self.batch_size
            batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    @staticmethod
    def _loss(heads: Any, emb: Any, labels: dict[str, np.ndarray], idx: np.ndarray, w: Any) -> Any:
        import torch
        import torch.nn.functional as F

        def t(name: str) -> Any:
            return torch.from_numpy(labels[name][idx])

        k, p = len(BUCKETS), len(POLARITIES)
        known, present = t("known"), t("present")
        pres = F.binary_cross_entropy_with_logits(heads["present"](emb), present, reduction="none")
        loss = (pres * known * w[:, None]).sum() / known.sum().clamp(min=1.0)
        pol = t("polarity").reshape(-1)
        logits = heads["polarity"](emb).reshape(-1, p)
        wk = w.repeat_interleave(k)
        if (pol >= 0).any():
            ce = F.cross_entropy(logits, pol.clamp(min=0), reduction="none")
            keep = (pol >= 0).float()
            loss = loss + (ce * keep * wk).sum() / keep.sum()
        for name in ("sentiment", "expression"):
            y = t(name)
            if (y >= 0).any():
                ce = F.cross_entropy(heads[name](emb), y.clamp(min=0), reduction="none")
                keep = (y >= 0).float()
                loss = loss + 0.5 * (ce * keep * w).sum() / keep.sum()
        return loss

    def to_arrays(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "adapter_"):
            raise NotFitted("EncoderFineTuner is not fitted; call fit() first")
        return {PREFIX + k: v for k, v in self.adapter_.items()}

    def config(self) -> dict[str, Any]:
        """What loading needs to rebuild the adapter."""
        if not hasattr(self, "targets_"):
            raise NotFitted("EncoderFineTuner is not fitted; call fit() first")
        return {"rank": self.rank, "alpha": self.alpha, "targets": list(self.targets_)}

    def hyperparameters(self) -> dict[str, Any]:
        names = ("rank", "alpha", "epochs", "batch_size", "lr", "max_tokens", "seed", "threads")
        out = {k: getattr(self, k) for k in names}
        if self.opener_share:  # absent when off, as in artifacts trained before it existed
            out["opener_share"] = self.opener_share
        return out


def _with_lora(base: Any, config: Any) -> Any:
    """``base`` wrapped with LoRA layers, without the FutureWarning peft's wrapper triggers by
    reading transformers' deprecated ``is_gradient_checkpointing`` (printed on every load)."""
    from peft import get_peft_model

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        return get_peft_model(base, config)


def apply_adapter(st: Any, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> Any:
    """Merge a stored adapter into ``st``'s transformer, in place; returns ``st``."""
    import torch
    from peft import set_peft_model_state_dict

    state = {
        k.removeprefix(PREFIX): torch.from_numpy(v.astype(np.float32))
        for k, v in arrays.items()
        if k.startswith(PREFIX)
    }
    if not state:
        return st
    base = st[0].auto_model
    targets = config.get("targets", TARGETS)
    model = _with_lora(base, _peft_config(int(config["rank"]), float(config["alpha"]), targets))
    set_peft_model_state_dict(model, state)
    st[0].auto_model = model.merge_and_unload()
    st[0].auto_model.eval()
    return st
