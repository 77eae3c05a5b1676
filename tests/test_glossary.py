"""The glossary: the fifteen customer-success metrics, checks, and phrase lookups with reasons."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.codebook.glossary import load_glossary, parse_glossary
from themecoder.codebook.problems import CodebookInvalid
from themecoder.codebook.validate import load_codebook

METRICS = [
    "adoption_rate",
    "time_to_value",
    "activation_rate",
    "usage_depth",
    "engagement_score",
    "interaction_quality",
    "onboarding_completion",
    "renewal_rate",
    "expansion_revenue",
    "cross_sell_velocity",
    "nps",
    "support_sentiment",
    "churn_risk_indicators",
    "roi_realization",
    "feature_adoption_breadth",
]


def test_default_glossary_defines_the_fifteen_metrics():
    glossary = load_glossary()
    assert [m.id for m in glossary.metrics] == METRICS
    for metric in glossary.metrics:
        assert metric.definition and metric.owner and metric.phrases, metric.id
    lower = {m.id for m in glossary.metrics if m.direction == "lower_is_better"}
    assert lower == {"time_to_value", "churn_risk_indicators"}
    used = {m for code in load_codebook().codes for m in code.metrics}
    assert used == set(METRICS)  # every metric is reached from some bucket


def test_lookup_says_why_a_phrase_maps_to_each_metric():
    glossary, book = load_glossary(), load_codebook()
    found = glossary.lookup("We're evaluating other vendors before the contract ends", book)
    why = {m.metric.id: m.reasons for m in found}
    assert list(why) == ["renewal_rate", "churn_risk_indicators", "nps"]
    assert why["renewal_rate"] == [
        "phrase 'contract end*' matched 'contract ends'",
        "via code renewal_likelihood: its frustration expression 'evaluating other vendors' "
        "matched 'evaluating other vendors'",
    ]
    assert why["churn_risk_indicators"][0] == "phrase 'other vendors' matched 'other vendors'"
    assert why["nps"] == [why["renewal_rate"][1]]
    assert glossary.lookup("What is our NPS this quarter?")[0].reasons == [
        "names the metric ('nps')"
    ]
    assert glossary.lookup("I'll send the file tomorrow", book) == []


def test_lookup_through_codes_a_coder_assigned():
    glossary, book = load_glossary(), load_codebook()
    found = glossary.lookup("hmm", book, codes=[("support_friction", 0.83)])
    assert [m.metric.id for m in found] == [
        "interaction_quality",
        "support_sentiment",
        "churn_risk_indicators",
    ]
    assert found[0].reasons == [
        "via code support_friction (assigned by the coder, confidence 0.83)"
    ]


def test_bad_glossary_names_the_line():
    text = (
        "name: g\nmetrics:\n"
        "  - {id: nps, name: NPS, definition: d, direction: higher_is_better, owner: o}\n"
        "  - {id: nps, name: N2, definition: d, direction: up, owner: o}\n"
    )
    with pytest.raises(CodebookInvalid, match=r"line 4 \(metrics\[1\]\.direction\)"):
        parse_glossary(text)
    with pytest.raises(CodebookInvalid, match=r"line 4 \(metrics\[1\]\.id\): duplicate metric id"):
        parse_glossary(text.replace("direction: up", "direction: lower_is_better"))


def test_cli_lookup():
    runner = CliRunner()
    result = runner.invoke(app, ["glossary", "lookup", "Honestly we barely use it"])
    assert result.exit_code == 0
    assert "adoption_rate: Adoption rate (higher is better; owner Customer Success" in result.output
    assert "phrase 'barely use' matched 'barely use'" in result.output
    result = runner.invoke(app, ["glossary", "lookup", "--json", "the renewal is due"])
    rows = json.loads(result.output)
    assert rows[0]["metric"] == "renewal_rate" and rows[0]["why"]
    assert runner.invoke(app, ["glossary", "lookup", "weather"]).output.startswith("no metric")
