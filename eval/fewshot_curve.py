"""Few-shot F1 curve of custom codes: how well a code added with a definition and k examples
is coded right away, with no retraining of the coder.

Ten BANKING77 intents (Casanueva et al. 2020, CC BY 4.0; /work/shared/datasets/banking77)
play the custom codes; each gets a one-line definition written here. For k in 0 (definition
only), 3, 10 and 30, each code is fitted on its definition plus k examples drawn from the
official train split, with a background of unlabelled units (300 train queries of the other
67 intents, standing in for a store's uncoded units). Every one of the 3,080 official test
queries is then coded: the 400 of the ten intents and the 2,680 of the other 67, which are
"none" (open set). F1 is one-vs-rest per code, macro-averaged over the ten codes, and the
whole procedure is repeated for 3 seeds. Hyperparameters are the heads' defaults; nothing is
tuned on the test split.

Example:
    HF_HUB_OFFLINE=1 python eval/fewshot_curve.py --json eval/results/fewshot.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_score, recall_score

from themecoder.artifact import load_artifact
from themecoder.codebook.fewshot import METHODS, FewShotHead
from themecoder.config import Settings
from themecoder.pipeline.embed import make_embedder
from themecoder.services.embedding_cache import cached_encode

CODES = {
    "card_arrival": "The customer asks when or whether a card they ordered will arrive.",
    "exchange_rate": "Questions about the exchange rate used to convert between currencies.",
    "terminate_account": "The customer wants to close or delete their account.",
    "lost_or_stolen_card": "The customer's card was lost or stolen and must be blocked.",
    "transfer_fee_charged": "The customer was charged a fee on a money transfer.",
    "top_up_failed": "An attempt to top up (add money to) the account failed.",
    "pin_blocked": "The card's PIN is blocked, usually after wrong attempts.",
    "apple_pay_or_google_pay": "Using the card with Apple Pay or Google Pay.",
    "age_limit": "The minimum age to open or use an account.",
    "Refund_not_showing_up": "A refund from a merchant has not appeared in the account.",
}
SHOTS = (0, 3, 10, 30)
SEEDS = (0, 1, 2)
BACKGROUND = 300


def run(data: pd.DataFrame, vectors: dict[str, np.ndarray], background_n: int = BACKGROUND) -> dict:
    train = data[data.split == "train"].reset_index(drop=True)
    test = data[data.split == "test"].reset_index(drop=True)
    X_test = np.stack([vectors[t] for t in test.text])
    codes = list(CODES)
    runs = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        others = train.index[~train.label.isin(codes)].to_numpy()
        background = rng.choice(others, background_n, replace=False)
        order = {c: rng.permutation(train.index[train.label == c].to_numpy()) for c in codes}
        for k in SHOTS:
            rows = [i for c in codes for i in order[c][:k]]
            fit_texts = [CODES[c] for c in codes] + list(train.text[rows])
            X = np.stack([vectors[t] for t in [*fit_texts, *train.text[background]]])
            labels = codes + list(train.label[rows]) + [None] * background_n
            for method in METHODS:
                start = time.perf_counter()
                head = FewShotHead(method=method).fit(X, labels)
                fit_s = time.perf_counter() - start
                predicted = head.predict(X_test)
                scores = []
                for c in codes:
                    truth = (test.label == c).to_numpy()
                    pred = np.array([c in p for p in predicted])
                    scores.append(
                        {
                            "code": c,
                            "f1": f1_score(truth, pred, zero_division=0),
                            "precision": precision_score(truth, pred, zero_division=0),
                            "recall": recall_score(truth, pred, zero_division=0),
                        }
                    )
                frame = pd.DataFrame(scores)
                runs.append(
                    {
                        "seed": seed,
                        "k": k,
                        "method": method,
                        "fit_seconds": round(fit_s, 3),
                        "macro_f1": float(frame.f1.mean()),
                        "macro_precision": float(frame.precision.mean()),
                        "macro_recall": float(frame.recall.mean()),
                        "per_code": scores,
                    }
                )
    return {"runs": runs, "summary": summarize(runs)}


def summarize(runs: list[dict]) -> list[dict]:
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "per_code"} for r in runs])
    out = []
    for (method, k), group in frame.groupby(["method", "k"], sort=False):
        out.append(
            {
                "method": method,
                "k": int(k),
                "macro_f1_mean": round(float(group.macro_f1.mean()), 4),
                "macro_f1_std": round(float(group.macro_f1.std(ddof=0)), 4),
                "precision_mean": round(float(group.macro_precision.mean()), 4),
                "recall_mean": round(float(group.macro_recall.mean()), 4),
                "fit_seconds_max": float(group.fit_seconds.max()),
            }
        )
    return out


def table(summary: list[dict]) -> str:
    lines = [
        "| head | examples per code | macro F1 (mean ± sd, 3 seeds) | precision | recall | fit s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in summary:
        k = "0 (definition only)" if r["k"] == 0 else str(r["k"])
        lines.append(
            f"| {r['method']} | {k} | {r['macro_f1_mean']:.3f} ± {r['macro_f1_std']:.3f} | "
            f"{r['precision_mean']:.3f} | {r['recall_mean']:.3f} | {r['fit_seconds_max']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=Path("eval/results/fewshot.json"))
    parser.add_argument(
        "--background", type=int, default=BACKGROUND, help="Unlabelled background rows."
    )
    parser.add_argument("--no-cache", action="store_true", help="Embed without the disk cache.")
    parser.add_argument(
        "--encoder",
        choices=["shipped", "base"],
        default="base",
        help="The base model (what custom codes use: the adapter measured worse for them) or "
        "the shipped coder's fine-tuned encoder.",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    data = pd.read_csv(settings.datasets_dir / "banking77" / "banking77.csv")
    art = load_artifact(settings.model_dir)
    embedder = make_embedder(settings, art, base=args.encoder == "base")
    texts = list(dict.fromkeys([*data.text, *CODES.values()]))
    start = time.perf_counter()
    matrix = cached_encode(embedder, texts, None if args.no_cache else settings.cache_dir)
    embed_s = time.perf_counter() - start
    result = run(data, dict(zip(texts, matrix, strict=True)), args.background)
    report = {
        "dataset": "BANKING77 official split (CC BY 4.0), 10 intents as custom codes",
        "codes": CODES,
        "protocol": {
            "shots": list(SHOTS),
            "seeds": list(SEEDS),
            "background_rows": args.background,
            "test_rows": int((data.split == "test").sum()),
            "prediction": "multi-label: every code whose score reaches its own threshold",
            "metric": "one-vs-rest F1 per code on the whole test split, macro over the 10 codes",
        },
        "embedding_model": str(getattr(embedder, "name", embedder)),
        "embed_seconds": round(embed_s, 1),
        **result,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(result["summary"]))
    print(f"\nsaved {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
