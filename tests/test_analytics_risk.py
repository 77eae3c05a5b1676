"""Risk scores, routing thresholds and repeat-signal escalation, counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics_fixtures import store
from themecoder.analytics.risk import RiskParams, repeats, score
from themecoder.errors import Conflict, NotFound
from themecoder.services import audit, escalations, projects
from themecoder.services.codebook import load
from themecoder.storage import init_db, make_engine, session_factory

SUPPORT = [("support_friction", "risk")]
ROWS = [
    # account A: support risk on Jan 1 and Jan 10 (a repeat within 30 days), again Feb 20
    ("A-1", "2026-01-01T09:00:00Z", "A", -0.6, SUPPORT, {}),
    ("A-2", "2026-01-10T09:00:00Z", "A", -0.6, SUPPORT, {}),
    ("A-3", "2026-02-20T09:00:00Z", "A", -0.2, SUPPORT, {}),
    # account B: once; a positive value signal
    ("B-1", "2026-01-05T09:00:00Z", "B", -0.6, SUPPORT, {}),
    ("B-2", "2026-01-06T09:00:00Z", "B", 0.8, [("value_realization", "positive")], {}),
    # account C: two turns of one interview are one conversation: no repeat
    ("C-1", "2026-01-07T09:00:00Z", "C", -0.2, SUPPORT, {"turn": 1, "source": "iv.txt"}),
    ("C-2", "2026-01-07T09:00:00Z", "C", -0.2, SUPPORT, {"turn": 2, "source": "iv.txt"}),
    # account D: one very negative renewal risk: escalates alone
    ("D-1", "2026-01-08T09:00:00Z", "D", -0.9, [("renewal_likelihood", "risk")], {}),
]


def _signals(rows=ROWS) -> pd.DataFrame:
    out = []
    for i, (item, at, account, s, codes, extra) in enumerate(rows):
        for bucket, polarity in codes:
            out.append(
                {
                    "unit_id": i + 1,
                    "item_id": i + 1,
                    "external_id": item,
                    "account_id": account,
                    "at": pd.Timestamp(at).tz_localize(None),
                    "conversation": f"source:{extra['source']}" if "turn" in extra else item,
                    "bucket": bucket,
                    "polarity": polarity,
                    "unit_sentiment_score": s,
                    "unit_text": item,
                    "basis": "model",
                }
            )
    return pd.DataFrame(out)


def test_components_and_score_by_hand() -> None:
    scored = score(_signals()).set_index("external_id")
    # sentiment (1 + 0.6) / 2 = 0.8; a lone mention has frequency 0; impact 0.6 x 1
    assert scored.loc["A-1", "sentiment_c"] == pytest.approx(0.8)
    assert scored.loc["A-1", "frequency_c"] == 0
    assert scored.loc["A-1", "impact_c"] == pytest.approx(0.6)
    assert scored.loc["A-1", "score"] == pytest.approx(0.25 * 0.8 + 0.4 * 0.6)
    # A-2: A-1 and A-2 are two conversations: (2 - 1) / (3 - 1)
    assert scored.loc["A-2", "frequency_c"] == pytest.approx(0.5)
    assert scored.loc["A-2", "score"] == pytest.approx(0.2 + 0.35 * 0.5 + 0.24)
    assert scored.loc["A-3", "frequency_c"] == 0  # out of window
    assert scored.loc["A-3", "score"] == pytest.approx(0.25 * 0.6 + 0.24)
    assert scored.loc["C-2", "frequency_c"] == 0  # two turns, one conversation
    assert scored.loc["B-2", "score"] == pytest.approx(0.25 * 0.1)
    assert scored.loc["D-1", "score"] == pytest.approx(0.25 * 0.95 + 0.4 * 1.0)
    assert scored["route"].to_dict() == {
        "A-1": "review",
        "A-2": "escalate",
        "A-3": "review",
        "B-1": "review",
        "B-2": "tag",
        "C-1": "review",
        "C-2": "review",
        "D-1": "escalate",
    }


@pytest.mark.parametrize(
    ("sentiment", "route"),
    [(-0.22, "escalate"), (-0.2, "review"), (0.4, "review"), (0.42, "tag")],
)
def test_routing_thresholds(sentiment: float, route: str) -> None:
    only_sentiment = RiskParams(w_sentiment=1, w_frequency=0, w_impact=0)
    row = [("X-1", "2026-01-01T00:00:00Z", "X", sentiment, SUPPORT, {})]
    scored = score(_signals(row), only_sentiment)  # score = (1 - s) / 2: 0.61, 0.6, 0.3, 0.29
    assert scored["route"].iloc[0] == route


def test_repeat_needs_two_conversations_within_window() -> None:
    found = repeats(_signals())
    assert sorted(found["external_id"]) == ["A-1", "A-2"]
    assert repeats(_signals(), RiskParams(window_days=5)).empty
    assert sorted(repeats(_signals(), RiskParams(window_days=60))["external_id"]) == [
        "A-1",
        "A-2",
        "A-3",
    ]


def test_route_escalates_once_acknowledge_close_audited(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    book = load()
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        store(session, ROWS, project_id=acme.id)
        done = escalations.route(session, book, acme.id)
    assert done["routes"] == {"escalate": 2, "review": 5, "tag": 1}
    # one escalation per account and bucket: A's repeat and A-2's score make one
    by_reason = sorted((e["reason"], e["account_id"]) for e in done["escalations"])
    assert by_reason == [("threshold", "D"), ("threshold+repeat", "A")]
    assert done["repeat_escalations"] == 1
    repeat = next(e for e in done["escalations"] if e["account_id"] == "A")
    assert repeat["owner"] == "Support Operations"
    assert [q["item"] for q in repeat["evidence"]] == ["A-2", "A-1"]
    with session_factory(engine).begin() as session:
        again = escalations.route(session, book, acme.id)
        assert again["escalations"] == []
        listed = escalations.list_escalations(session, acme.id, "open")
        assert len(listed) == 2
        first = listed[0]["id"]
        assert escalations.set_status(session, acme.id, first, "acknowledged")["status"] == (
            "acknowledged"
        )
        escalations.set_status(session, acme.id, first, "closed", comment="called them")
        with pytest.raises(Conflict):
            escalations.set_status(session, acme.id, first, "acknowledged")
        with pytest.raises(NotFound):
            escalations.set_status(session, acme.id + 1, first, "closed")
        actions = [e["action"] for e in escalations.history(session, acme.id, first)]
        assert actions == ["created", "acknowledged", "closed"]
        trail = audit.trail(session, acme.id, subject=f"escalation:{first}")
        assert [e["action"] for e in trail] == [
            "escalation.create",
            "escalation.acknowledged",
            "escalation.closed",
        ]
        assert trail[-1]["comment"] == "called them"
    engine.dispose()
