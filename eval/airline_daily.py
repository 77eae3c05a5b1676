"""Real-data check of the analytics: airline tweets coded, charted per airline per day.

Codes every tweet of Twitter US Airline Sentiment (``../shared/datasets/twitter_airline_sentiment``,
CC BY-NC-SA 4.0, internal evaluation only; 14,640 tweets, six airlines, 2015-02-16 .. 02-24)
with the shipped coder into a fresh SQLite store, then:

1. the analytics time series (sentiment per airline per day, through the service the CLI and
   the API call) equals a pandas groupby on the coder's own output file, cell by cell, and
   every airline x day x sentiment cell the groupby lacks is a zero in the series. The dataset
   holds 155 tweets twice (same id and text, all American); the store counts an item once
   (idempotent on id and text), so the groupby counts the output's rows once per id too;
2. the coder's negative share per airline is set beside the dataset's labels. The coder's
   **measured error** comes from the hold-out part of the airline tweets (``sha1(text) % 5
   == 0``, the split the model card reports airline sentiment on): per airline, its negative
   recall ``r`` and false-positive rate ``f`` on that airline's hold-out tweets. On the
   airline's other tweets, labels saying ``p`` negative should give ``e = p r + (1 - p) f``
   from the coder; the airline matches when ``|coder - e| <= 1.96 sd``, ``sd`` combining the
   binomial spread given the labels and the uncertainty of ``r`` and ``f``. The same check
   with ``r`` and ``f`` pooled over all airlines is reported beside it (``pooled_error``);
3. a chart per airline per day: ``eval/results/airline_daily.png``.

Results: ``eval/results/airline_daily.json`` (``airline_daily_<airline>.json`` with
``--airline``). Exits 1 if a check fails.

Usage: HF_HUB_OFFLINE=1 nice -n 19 python eval/airline_daily.py [--limit N] [--airline NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from themecoder.config import Settings
from themecoder.labelled import split_of
from themecoder.services import analytics as svc
from themecoder.services.codebook import load
from themecoder.services.coding import code_path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "twitter_airline_sentiment" / "tweets.csv"
RESULTS = ROOT / "eval" / "results"


def code_tweets(tweets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str, float]:
    """Code the tweets into a fresh store: the coder's output rows, the analytics series of
    sentiment per airline per day, the model version and the seconds coding took."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "tweets.csv"
        tweets[["tweet_id", "text", "airline", "created_at"]].to_csv(src, index=False)
        s = Settings(db_url=f"sqlite:///{tmp}/airline.db", results_dir=Path(tmp))
        began = time.perf_counter()
        run = code_path(s, src, id_column="tweet_id", out=Path(tmp) / "coded.jsonl")
        seconds = time.perf_counter() - began
        coded = pd.read_json(Path(tmp) / "coded.jsonl", lines=True, dtype={"id": str})
        with svc.store_session(s) as session:
            ts = svc.timeseries(
                session, load(), measure="sentiment", freq="day", group_by=["airline"]
            )
    return coded, ts[ts["series"] != "net"], run.model_version, seconds


def groupby_check(coded: pd.DataFrame, ts: pd.DataFrame) -> dict[str, int | bool]:
    """Check 1: the series' counts against a pandas groupby on the same output."""
    day = pd.to_datetime(coded["metadata"].map(lambda m: m["created_at"]), utc=True)
    frame = coded.assign(
        airline=coded["metadata"].map(lambda m: m["airline"]),
        day=day.dt.strftime("%Y-%m-%d"),
    )
    once = frame[frame["coded"]].drop_duplicates("id")
    mine = once.groupby(["day", "airline", "label_out"]).size()
    theirs = ts.set_index(["period", "airline", "series"])["count"]
    mine.index.names = theirs.index.names
    nonzero = theirs[theirs > 0]
    equal = mine.sort_index().equals(nonzero.sort_index().astype(mine.dtype))
    zeros = theirs.drop(mine.index, errors="ignore")
    return {
        "counts_equal_pandas_groupby": bool(equal and (zeros == 0).all()),
        "cells_in_series": int(len(theirs)),
        "cells_nonzero": int(len(nonzero)),
        "cells_zero_filled": int(len(zeros)),
        "output_rows_repeating_an_id": int(coded["id"].duplicated().sum()),
    }


def _rates(held: pd.DataFrame) -> tuple[float, float, float, float]:
    """Negative recall, false-positive rate and their variances on labelled rows."""
    r = held.loc[held["true"], "pred"].mean()
    f = held.loc[~held["true"], "pred"].mean()
    n_pos, n_neg = int(held["true"].sum()), int((~held["true"]).sum())
    return r, f, r * (1 - r) / n_pos, f * (1 - f) / n_neg


def _expected(per: pd.DataFrame) -> pd.DataFrame:
    """What the coder should show given the labels and its error rates (columns r, f, var_*)."""
    p, r, f = per["labels"], per["r"], per["f"]
    per = per.assign(expected=p * r + (1 - p) * f)
    per["sd"] = np.sqrt(
        (p * r * (1 - r) + (1 - p) * f * (1 - f)) / per["n"]
        + p**2 * per["var_r"]
        + (1 - p) ** 2 * per["var_f"]
    )
    per["gap"] = per["coder"] - per["labels"]
    per["expected_gap"] = per["expected"] - per["labels"]
    per["z"] = (per["coder"] - per["expected"]) / per["sd"]
    per["within"] = per["z"].abs() <= 1.96
    return per


def negative_share_check(coded: pd.DataFrame, tweets: pd.DataFrame) -> dict:
    """Check 2: negative share per airline against the labels, within the measured error.

    The coder's error is measured on each airline's own hold-out tweets (its negative
    recall and false-positive rate differ by airline: Southwest's negatives are read
    less often), and applied to that airline's other tweets. The same check with one
    error rate pooled over all airlines is reported beside it.
    """
    # one row per tweet: a repeated tweet keeps its first label (18 of the 155 disagree)
    once = tweets.drop_duplicates("tweet_id")[["tweet_id", "label", "airline", "part"]]
    both = (
        coded[coded["coded"]].drop_duplicates("id").merge(once, left_on="id", right_on="tweet_id")
    )
    both = both.assign(pred=both["label_out"] == "negative", true=both["label"] == "negative")
    held = both[both["part"] == "test"]
    rest = both[both["part"] == "train"]
    per = rest.groupby("airline").agg(
        n=("pred", "size"), coder=("pred", "mean"), labels=("true", "mean")
    )
    rates = {a: _rates(g) for a, g in held.groupby("airline")}
    own = per.assign(
        n_error=held.groupby("airline").size(),
        r=[rates[a][0] for a in per.index],
        f=[rates[a][1] for a in per.index],
        var_r=[rates[a][2] for a in per.index],
        var_f=[rates[a][3] for a in per.index],
    )
    own = _expected(own)
    r, f, var_r, var_f = _rates(held)
    pooled = _expected(per.assign(r=r, f=f, var_r=var_r, var_f=var_f))
    overall = both.groupby("airline").agg(
        n_all=("pred", "size"), coder_all=("pred", "mean"), labels_all=("true", "mean")
    )
    own = own.join(overall).drop(columns=["var_r", "var_f"])
    pooled = pooled.drop(columns=["var_r", "var_f"])
    return {
        "error_measured_on": f"each airline's hold-out tweets (sha1(text) % 5 == 0), n={len(held)}",
        "checked_on": f"the other tweets, n={len(rest)}",
        "all_airlines_within": bool(own["within"].all()),
        "per_airline": json.loads(own.reset_index().round(4).to_json(orient="records")),
        "pooled_error": {
            "coder_negative_recall": float(r),
            "coder_negative_recall_se": float(np.sqrt(var_r)),
            "coder_negative_false_positive_rate": float(f),
            "coder_negative_false_positive_rate_se": float(np.sqrt(var_f)),
            "all_airlines_within": bool(pooled["within"].all()),
            "per_airline": json.loads(pooled.reset_index().round(4).to_json(orient="records")),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="a random sample (quick runs)")
    parser.add_argument("--airline", default=None, help="only this airline's tweets")
    args = parser.parse_args()
    tweets = pd.read_csv(DATA, dtype={"tweet_id": str})
    if args.airline:
        tweets = tweets[tweets["airline"] == args.airline]
    if args.limit:
        tweets = tweets.sample(args.limit, random_state=0)
    at = pd.to_datetime(tweets["tweet_created"], utc=True, format="%Y-%m-%d %H:%M:%S %z")
    tweets = tweets.assign(
        created_at=at.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), part=tweets["text"].map(split_of)
    )
    coded, ts, version, seconds = code_tweets(tweets)
    coded["label_out"] = coded["sentiment"].map(lambda v: v["label"] if isinstance(v, dict) else v)
    counts = groupby_check(coded, ts)
    shares = negative_share_check(coded, tweets)
    neg_ts = ts[ts["series"] == "negative"].assign(series="negative share")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "airline_daily" + (f"_{args.airline.replace(' ', '_')}" if args.airline else "")
    svc.chart(
        neg_ts,
        RESULTS / f"{name}.png",
        group_by=["airline"],
        title="Airline tweets: coder's negative share per airline per day",
    )
    report = {
        "command": "HF_HUB_OFFLINE=1 python eval/airline_daily.py"
        + (f" --limit {args.limit}" if args.limit else "")
        + (f" --airline '{args.airline}'" if args.airline else ""),
        "tweets": len(tweets),
        "items_coded": int(coded["coded"].sum()),
        "items_left_uncoded": int((~coded["coded"]).sum()),
        "coding_seconds": round(seconds, 1),
        "model_version": version,
        **counts,
        **shares,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    if not (counts["counts_equal_pandas_groupby"] and shares["all_airlines_within"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
