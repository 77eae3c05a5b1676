"""Real-data check of the analytics: airline tweets coded, charted per airline per day.

Codes the Twitter US Airline Sentiment tweets (``../shared/datasets/twitter_airline_sentiment``,
CC BY-NC-SA 4.0, internal evaluation only) with the shipped coder into a fresh SQLite store,
then:

1. the analytics time series (sentiment per airline per day) equals a pandas groupby on the
   coder's own output file, cell by cell;
2. the negative share per airline is set beside the dataset's labels, and the gap is compared
   with the coder's measured error: the gap the coder's confusion matrix on these tweets
   predicts (pooled over airlines) +- 2 standard errors;
3. a chart per airline per day is written to ``eval/results/airline_daily.png``.

Usage: HF_HUB_OFFLINE=1 python eval/airline_daily.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from themecoder.config import Settings
from themecoder.services import analytics as svc
from themecoder.services.codebook import load
from themecoder.services.coding import code_path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "twitter_airline_sentiment" / "tweets.csv"
RESULTS = ROOT / "eval" / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    tweets = pd.read_csv(DATA, dtype={"tweet_id": str})
    if args.limit:
        tweets = tweets.sample(args.limit, random_state=0)
    at = pd.to_datetime(tweets["tweet_created"], utc=True, format="%Y-%m-%d %H:%M:%S %z")
    tweets = tweets.assign(created_at=at.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "tweets.csv"
        tweets[["tweet_id", "text", "airline", "created_at", "label"]].to_csv(src, index=False)
        s = Settings(db_url=f"sqlite:///{tmp}/airline.db", results_dir=Path(tmp))
        run = code_path(s, src, id_column="tweet_id", out=Path(tmp) / "coded.jsonl")
        coded = pd.read_json(Path(tmp) / "coded.jsonl", lines=True, dtype={"id": str})
        with svc.store_session(s) as session:
            ts = svc.timeseries(
                session, load(), measure="sentiment", freq="day", group_by=["airline"]
            )
    ts = ts[ts["series"] != "net"]
    # 1. the analytics counts equal a pandas groupby on the coder's output
    coded["airline"] = coded["metadata"].map(lambda m: m["airline"])
    coded["day"] = pd.to_datetime(coded["metadata"].map(lambda m: m["created_at"])).dt.strftime(
        "%Y-%m-%d"
    )
    coded["label_out"] = coded["sentiment"].map(lambda v: v["label"] if isinstance(v, dict) else v)
    mine = coded[coded["coded"]].groupby(["day", "airline", "label_out"]).size()
    theirs = ts.set_index(["period", "airline", "series"])["count"]
    theirs = theirs[theirs > 0]
    mine.index.names = theirs.index.names
    equal = mine.sort_index().equals(theirs.sort_index().astype(mine.dtype))
    # 2. negative share per airline against the labels
    coded = coded.merge(tweets[["tweet_id", "label"]], left_on="id", right_on="tweet_id")
    neg = coded.assign(pred=coded["label_out"] == "negative", true=coded["label"] == "negative")
    per = neg.groupby("airline").agg(
        n=("pred", "size"), coder=("pred", "mean"), labels=("true", "mean")
    )
    recall = neg.loc[neg["true"], "pred"].mean()
    false_pos = neg.loc[~neg["true"], "pred"].mean()
    per["expected"] = per["labels"] * recall + (1 - per["labels"]) * false_pos
    se = np.sqrt(per["expected"] * (1 - per["expected"]) / per["n"])
    per["gap"] = per["coder"] - per["labels"]
    per["expected_gap"] = per["expected"] - per["labels"]
    per["within"] = (per["coder"] - per["expected"]).abs() <= 2 * se
    # 3. the chart: negative share per airline per day
    neg_ts = ts[ts["series"] == "negative"].copy()
    neg_ts["series"] = "negative share"
    RESULTS.mkdir(parents=True, exist_ok=True)
    svc.chart(
        neg_ts,
        RESULTS / "airline_daily.png",
        group_by=["airline"],
        title="Airline tweets: coder's negative share per airline per day",
    )
    report = {
        "tweets": len(tweets),
        "items_coded": int(coded["coded"].sum()),
        "model_version": run.model_version,
        "counts_equal_pandas_groupby": bool(equal),
        "cells_compared": int(len(theirs)),
        "coder_negative_recall": float(recall),
        "coder_negative_false_positive_rate": float(false_pos),
        "per_airline": json.loads(per.reset_index().to_json(orient="records")),
    }
    (RESULTS / "airline_daily.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
