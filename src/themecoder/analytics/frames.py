"""Shape stored rows for counting: one row per item, metadata as columns, filters, and the
codes that count (the reviewer's decision where one was made, the model's code otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from themecoder.errors import InvalidInput

#: Columns every prepared item frame has besides the flattened metadata.
BASE_COLUMNS = ("project", "account_id", "source", "sentiment", "expression")
DECIDED = ("approved", "overridden", "rejected")


def prepare_items(items: pd.DataFrame) -> pd.DataFrame:
    """Items counted once, with metadata keys as columns and ``at`` as naive UTC.

    An item stored twice under the same project, id and text (stores written before storing
    became idempotent) keeps its first copy. An item counts under its ``created_at``, else its
    metadata's ``date`` (a transcript header), else the date of the run that stored it.
    Metadata keys become columns unless a column of that name exists (``account_id`` is
    already one); nested values are kept as text. An item whose text is empty or spaces only
    said nothing: it is not counted as coded (no period total, no neutral sentiment).
    """
    items = items.drop_duplicates(["project_id", "external_id", "text"], keep="first")
    said = items["text"].fillna("").astype(str).str.strip().ne("")
    items = items.assign(coded=items["coded"].astype(bool) & said)
    meta = pd.DataFrame(
        [{k: _scalar(v) for k, v in (m or {}).items()} for m in items["meta"]],
        index=items.index,
    )
    meta = meta.drop(columns=[c for c in meta.columns if c in items.columns], errors="ignore")
    out = pd.concat([items.drop(columns=["meta"]), meta], axis=1)
    out["at"] = _when(out)
    out = out.drop(columns=["run_at"], errors="ignore")
    out["source"] = out["source"].fillna("").map(_basename)
    return out.reset_index(drop=True)


def known_columns(items: pd.DataFrame) -> list[str]:
    """Columns a filter or grouping may name."""
    hidden = {"item_id", "external_id", "project_id", "text", "at", "coded", "sentiment_score"}
    return sorted(c for c in items.columns if c not in hidden)


def check_columns(items: pd.DataFrame, names: Sequence[str], what: str) -> None:
    """Raise :class:`InvalidInput` listing the known columns when a name is not one."""
    known = known_columns(items)
    for name in names:
        if name not in known:
            raise InvalidInput(
                f"unknown {what} column {name!r}; known columns: {', '.join(known)}",
                field=what,
                known=known,
            )


def parse_filters(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["plan=team,business", "channel=chat"]`` -> ``{"plan": ["team", "business"], ...}``."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        column, sep, values = spec.partition("=")
        if not sep or not column.strip() or not values.strip():
            raise InvalidInput(f"a filter is COLUMN=VALUE[,VALUE...], got {spec!r}", field="where")
        out.setdefault(column.strip(), []).extend(v.strip() for v in values.split(","))
    return out


def apply_filters(items: pd.DataFrame, filters: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Items whose column value (as text) is one of the allowed values, for every filter."""
    check_columns(items, list(filters), "filter")
    keep = pd.Series(True, index=items.index)
    for column, values in filters.items():
        keep &= items[column].astype("string").isin([str(v) for v in values]).fillna(False)
    return items[keep]


def effective_codes(codes: pd.DataFrame, suggestions: pd.DataFrame) -> pd.DataFrame:
    """The codes that count, one per unit and bucket, with ``basis`` "reviewer" or "model".

    A model code whose suggestion was approved counts as the reviewer's; overridden, it counts
    under the reviewer's bucket and polarity; rejected, it does not count. Codes a reviewer
    added count as the reviewer's. Pending and auto-accepted codes are the model's.
    """
    cols = ["unit_id", "item_id", "bucket", "polarity", "basis", "confidence", "unit_text"]
    cols += ["unit_sentiment_score"]
    out = codes.assign(basis="model")
    model = suggestions[(suggestions["origin"] == "model") & suggestions["state"].isin(DECIDED)]
    if not model.empty:
        decided = model.drop_duplicates(["unit_id", "bucket"], keep="last").set_index(
            ["unit_id", "bucket"]
        )
        key = pd.MultiIndex.from_frame(out[["unit_id", "bucket"]])
        hit = key.isin(decided.index)
        dec = decided.reindex(key[hit])
        out.loc[hit, "basis"] = "reviewer"
        new_bucket = dec["final_bucket"].fillna(
            pd.Series(key[hit].get_level_values(1), index=dec.index)
        )
        new_pol = dec["final_polarity"].fillna(dec["polarity"])
        overridden = (dec["state"] == "overridden").to_numpy()
        out.loc[out.index[hit][overridden], "bucket"] = new_bucket.to_numpy()[overridden]
        out.loc[out.index[hit][overridden], "polarity"] = new_pol.to_numpy()[overridden]
        rejected = out.index[hit][(dec["state"] == "rejected").to_numpy()]
        out = out.drop(index=rejected)
    added = suggestions[
        (suggestions["origin"] == "reviewer") & (suggestions["state"] != "rejected")
    ]
    if not added.empty:
        extra = pd.DataFrame(
            {
                "unit_id": added["unit_id"].to_numpy(),
                "item_id": added["item_id"].to_numpy(),
                "bucket": added["final_bucket"].fillna(added["bucket"]).to_numpy(),
                "polarity": added["final_polarity"].fillna(added["polarity"]).to_numpy(),
                "basis": "reviewer",
                "confidence": 1.0,
                "unit_text": added["unit_text"].to_numpy(),
                "unit_sentiment_score": added["unit_sentiment_score"].to_numpy(),
            }
        )
        out = pd.concat([out, extra], ignore_index=True)
    # A reviewer's decision wins over a model code it duplicates.
    out = out.sort_values("basis", ascending=False, kind="stable")
    return out.drop_duplicates(["unit_id", "bucket"])[cols].reset_index(drop=True)


def _when(items: pd.DataFrame) -> pd.Series:
    def parsed(column: str, **kw: str) -> pd.Series:
        at = pd.to_datetime(items[column], utc=True, errors="coerce", **kw)
        return at.astype("datetime64[us, UTC]")

    at = parsed("at")
    if "date" in items.columns:
        at = at.fillna(parsed("date", format="mixed"))
    if "run_at" in items.columns:
        at = at.fillna(parsed("run_at"))
    return at.dt.tz_localize(None)


def _scalar(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def _basename(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
