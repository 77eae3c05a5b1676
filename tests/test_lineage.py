"""Lineage: validated events, resolution of historical ids, and re-mapped counts (by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from themecoder.codebook.lineage import Lineage, LineageEvent
from themecoder.errors import InvalidInput, NotFound


def ev(kind: str, sources: tuple[str, ...], targets: tuple[str, ...], version: int) -> LineageEvent:
    return LineageEvent(kind, sources, targets, version, f"2025-0{version}-01T00:00:00+00:00")


def frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["period", "code", "count"])


def rows_of(df: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, df.itertuples(index=False)))


def test_merge_sums_parents_for_every_past_period():
    lineage = Lineage([ev("create", (), ("a", "b", "c"), 1), ev("merge", ("a", "b"), ("ab",), 2)])
    counts = frame(
        [
            ("2025-01", "a", 3),
            ("2025-01", "b", 4),
            ("2025-01", "c", 1),
            ("2025-02", "a", 2),
            ("2025-02", "c", 5),
            ("2025-03", "ab", 6),
            ("2025-03", "c", 2),
        ]
    )
    out = lineage.remap_counts(counts)
    assert list(out.columns) == ["period", "code", "count"]
    assert rows_of(out) == [
        ("2025-01", "ab", 7),
        ("2025-01", "c", 1),
        ("2025-02", "ab", 2),
        ("2025-02", "c", 5),
        ("2025-03", "ab", 6),
        ("2025-03", "c", 2),
    ]
    assert lineage.resolve("a") == lineage.resolve("b") == ("ab",)
    assert lineage.current == ("c", "ab")


def test_merge_into_one_of_the_sources_keeps_its_id():
    lineage = Lineage([ev("create", (), ("a", "b"), 1), ev("merge", ("a", "b"), ("a",), 2)])
    assert lineage.current == ("a",)
    out = lineage.remap_counts(frame([("p1", "a", 1), ("p1", "b", 2), ("p2", "a", 5)]))
    assert rows_of(out) == [("p1", "a", 3), ("p2", "a", 5)]


def test_split_keeps_parent_history_apart_from_its_targets():
    lineage = Lineage([ev("create", (), ("a", "b"), 1), ev("split", ("a",), ("a1", "a2"), 2)])
    counts = frame(
        [
            ("2025-01", "a", 10),
            ("2025-01", "b", 1),
            ("2025-02", "a1", 3),
            ("2025-02", "a2", 4),
            ("2025-02", "b", 2),
        ]
    )
    assert rows_of(lineage.remap_counts(counts)) == [
        ("2025-01", "a (before split)", 10),
        ("2025-01", "b", 1),
        ("2025-02", "a1", 3),
        ("2025-02", "a2", 4),
        ("2025-02", "b", 2),
    ]
    assert lineage.resolve("a") == ("a1", "a2")


def test_chain_rename_merge_split_remerge_and_retire():
    lineage = Lineage(
        [
            ev("create", (), ("x", "y", "z"), 1),
            ev("rename", ("x",), ("x2",), 2),
            ev("merge", ("x2", "y"), ("m",), 3),
            ev("split", ("m",), ("m1", "m2"), 4),
            ev("merge", ("m1", "m2"), ("m3",), 5),
            ev("retire", ("z",), (), 6),
        ]
    )
    assert lineage.current == ("m3",)
    for old in ("x", "x2", "y", "m", "m1", "m2"):
        assert lineage.resolve(old) == ("m3",), old
    assert lineage.resolve("z") == ()
    counts = frame(
        [("q1", "x", 1), ("q1", "y", 2), ("q1", "z", 3), ("q2", "m1", 4), ("q2", "x2", 5)]
    )
    assert rows_of(lineage.remap_counts(counts)) == [
        ("q1", "m3", 3),
        ("q1", "z (retired)", 3),
        ("q2", "m3", 9),
    ]


def test_rename_chain_resolves_to_the_latest_id():
    lineage = Lineage([ev("create", (), ("a",), 1)])
    lineage.add(ev("rename", ("a",), ("b",), 2)).add(ev("rename", ("b",), ("c",), 3))
    assert lineage.resolve("a") == lineage.resolve("b") == lineage.resolve("c") == ("c",)
    assert lineage.destination("a") == "c"


def test_extra_key_columns_are_kept_and_grouped():
    lineage = Lineage([ev("create", (), ("a", "b"), 1), ev("merge", ("a", "b"), ("c",), 2)])
    counts = pd.DataFrame(
        {
            "period": ["p", "p", "p"],
            "code": ["a", "b", "b"],
            "polarity": ["risk", "risk", "positive"],
            "count": [1, 2, 4],
        }
    )
    out = lineage.remap_counts(counts)
    assert rows_of(out) == [("p", "c", "positive", 4), ("p", "c", "risk", 3)]


def test_split_with_one_target_retired_stays_before_split():
    lineage = Lineage(
        [
            ev("create", (), ("a",), 1),
            ev("split", ("a",), ("b", "c"), 2),
            ev("retire", ("c",), (), 3),
        ]
    )
    assert lineage.destination("a") == "a (before split)"
    assert lineage.resolve("a") == ("b",)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ev("rename", ("nope",), ("x",), 2), "unknown code 'nope'"),
        (ev("merge", ("a", "gone"), ("x",), 2), "'gone', which was retired in version 2"),
        (ev("split", ("a",), ("x",), 2), "needs 2 or more targets"),
        (ev("rename", ("a",), ("b",), 2), "already in use or used before"),
        (ev("create", (), ("gone",), 2), "already in use or used before"),
        (ev("merge", ("a", "a"), ("x",), 2), "repeats an id"),
        (ev("retire", ("a",), ("x",), 2), "needs 0 targets"),
        (ev("rename", ("a",), ("x",), 1), "never go down"),
        (ev("explode", ("a",), (), 2), "unknown lineage event kind"),
    ],
)
def test_bad_events_are_refused_and_change_nothing(event, message):
    lineage = Lineage(
        [ev("create", (), ("a", "b", "gone"), 1), LineageEvent("retire", ("gone",), (), 2)]
    )
    before = lineage.to_json()
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        lineage.add(event)
    assert lineage.to_json() == before
    assert lineage.current == ("a", "b")


def test_unknown_codes_in_counts_or_resolve_are_errors():
    lineage = Lineage([ev("create", (), ("a",), 1)])
    with pytest.raises(NotFound):
        lineage.resolve("zzz")
    with pytest.raises(InvalidInput, match="does not know: \\['zzz'\\]"):
        lineage.remap_counts(frame([("p", "zzz", 1)]))
    with pytest.raises(InvalidInput, match="lack column"):
        lineage.remap_counts(pd.DataFrame({"code": ["a"]}))


def test_json_round_trip():
    lineage = Lineage(
        [
            ev("create", (), ("a", "b"), 1),
            ev("merge", ("a", "b"), ("c",), 2),
            ev("split", ("c",), ("d", "e"), 3),
        ]
    )
    rows = lineage.to_json()
    again = Lineage.from_json(rows)
    assert again.to_json() == rows
    assert again.events == lineage.events and again.current == ("d", "e")
    with pytest.raises(InvalidInput, match="lacks 'version'"):
        Lineage.from_json([{"kind": "create", "targets": ["a"]}])
