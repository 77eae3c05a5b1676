"""Agreement statistics against hand-computed and published values; bootstrap intervals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from themecoder.errors import InvalidInput
from themecoder.review.agreement import (
    BUCKET_LABELS,
    STATISTICS,
    agreement_report,
    bootstrap_ci,
    cohen_kappa,
    gwet_ac1,
    krippendorff_alpha,
    min_bootstrap_units,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers,
# twelve units, nominal values 1-5, missing values as None. Published alpha_nominal = 0.743.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}
UNITS_2011 = [list(u) for u in zip(*KRIPPENDORFF_2011.values(), strict=True)]


def from_table(table: list[list[int]], labels: list[str]) -> tuple[list[str], list[str]]:
    """Two raters' labels from a contingency table (rows: rater a, columns: rater b)."""
    a: list[str] = []
    b: list[str] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [labels[i]] * count
            b += [labels[j]] * count
    return a, b


# 2x2 table, n = 100: p_o = 0.70, a says "y" 0.50, b says "y" 0.60.
TABLE_2X2 = from_table([[40, 10], [20, 30]], ["y", "n"])
# 3x3 table, n = 30: p_o = 24 / 30.
TABLE_3X3 = from_table([[10, 2, 0], [1, 8, 1], [0, 2, 6]], ["absent", "positive", "risk"])
# Gwet's "kappa paradox": high agreement on a skewed distribution, kappa below zero.
PARADOX = from_table([[118, 5], [2, 0]], ["absent", "risk"])


def test_alpha_matches_krippendorffs_worked_example():
    assert krippendorff_alpha(UNITS_2011) == pytest.approx(0.743, abs=5e-4)
    # The paper's coincidence matrix: n = 40 pairable values, n_c = (9, 13, 10, 5, 3), diagonal
    # sum 32; alpha = ((n - 1) * 32 - sum n_c (n_c - 1)) / (n (n - 1) - sum n_c (n_c - 1)).
    assert krippendorff_alpha(UNITS_2011) == pytest.approx((39 * 32 - 344) / (40 * 39 - 344))


def test_alpha_ignores_units_with_fewer_than_two_values():
    # Unit 12 has a single value (B: 3); dropping it or blanking a whole unit changes nothing.
    assert krippendorff_alpha(UNITS_2011[:11]) == krippendorff_alpha(UNITS_2011)
    extra = [*UNITS_2011, [None, None, None, None], [None, 7, None, None]]
    assert krippendorff_alpha(extra) == krippendorff_alpha(UNITS_2011)


def test_alpha_of_two_raters_by_hand():
    # o = C + C^T = [[80, 30], [30, 60]], n_y = 110, n_n = 90, n = 200:
    # alpha = 1 - (n - 1) * 60 / (2 * 110 * 90) = 1 - 199 * 60 / 19800.
    units = list(zip(*TABLE_2X2, strict=True))
    assert krippendorff_alpha(units) == pytest.approx(1 - 199 * 60 / 19800)


def test_kappa_by_hand_2x2():
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5).
    assert cohen_kappa(*TABLE_2X2) == pytest.approx(0.4)


def test_ac1_by_hand_2x2():
    # pi = (0.55, 0.45), p_e = 2 * 0.55 * 0.45 / (2 - 1) = 0.495, AC1 = 0.205 / 0.505.
    assert gwet_ac1(*TABLE_2X2) == pytest.approx(0.205 / 0.505)


def test_ac1_q_is_the_category_count():
    # With q = 4 categories: p_e = 0.495 / 3 = 0.165, AC1 = (0.7 - 0.165) / (1 - 0.165).
    ac1 = gwet_ac1(*TABLE_2X2, categories=["y", "n", "maybe", "other"])
    assert ac1 == pytest.approx(0.535 / 0.835)


def test_kappa_and_ac1_by_hand_3x3():
    # Marginals a = (12, 10, 8), b = (11, 12, 7): p_e = 308 / 900, p_o = 720 / 900.
    assert cohen_kappa(*TABLE_3X3) == pytest.approx(412 / 592)
    # pi = (23, 22, 15) / 60, p_e = (23*37 + 22*38 + 15*45) / 3600 / 2 = 2362 / 7200.
    assert gwet_ac1(*TABLE_3X3) == pytest.approx((5760 - 2362) / (7200 - 2362))


def test_kappa_paradox_ac1_stays_high():
    # kappa: p_e = 0.984 * 0.96 + 0.016 * 0.04 = 0.94528, (0.944 - 0.94528) / (1 - 0.94528).
    assert cohen_kappa(*PARADOX) == pytest.approx(-0.00128 / 0.05472)
    # AC1: pi = (0.972, 0.028), p_e = 2 * 0.972 * 0.028 = 0.054432.
    assert gwet_ac1(*PARADOX) == pytest.approx((0.944 - 0.054432) / (1 - 0.054432))


def test_kappa_matches_sklearn():
    rng = np.random.default_rng(7)
    a = list(rng.choice(BUCKET_LABELS, size=300, p=[0.6, 0.2, 0.1, 0.1]))
    b = [x if rng.random() < 0.7 else str(rng.choice(BUCKET_LABELS)) for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    for table in (TABLE_2X2, TABLE_3X3, PARADOX):
        assert cohen_kappa(*table) == pytest.approx(cohen_kappa_score(*table))


def test_pairs_with_a_missing_label_are_dropped():
    a = ["risk", None, "absent", "risk", "positive", "absent"]
    b = ["risk", "risk", "absent", None, "positive", "risk"]
    kept = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    ka, kb = [p[0] for p in kept], [p[1] for p in kept]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(ka, kb))
    assert gwet_ac1(a, b) == gwet_ac1(ka, kb)


def test_perfect_agreement_is_one():
    labels = ["absent", "positive", "neutral", "risk"] * 5
    assert krippendorff_alpha([[x, x, x] for x in labels]) == pytest.approx(1.0)
    assert cohen_kappa(labels, labels) == pytest.approx(1.0)
    assert gwet_ac1(labels, labels) == pytest.approx(1.0)


def test_single_category_is_undefined_not_perfect():
    same = ["absent"] * 10
    assert math.isnan(krippendorff_alpha([[x, x] for x in same]))
    assert math.isnan(cohen_kappa(same, same))
    assert math.isnan(gwet_ac1(same, same))  # q = 1 observed
    # With the full label set, AC1's chance agreement is 0, so AC1 = observed agreement.
    assert gwet_ac1(same, same, categories=BUCKET_LABELS) == 1.0


def test_no_pairable_data_is_nan():
    assert math.isnan(krippendorff_alpha([]))
    assert math.isnan(krippendorff_alpha([["risk", None], [None, "absent"]]))
    assert math.isnan(cohen_kappa([None], ["risk"]))
    assert math.isnan(gwet_ac1([], []))


def test_bad_input_is_rejected():
    with pytest.raises(InvalidInput, match="paired"):
        cohen_kappa(["a", "b"], ["a"])
    with pytest.raises(InvalidInput, match="categories"):
        gwet_ac1(["risk"], ["maybe"], categories=BUCKET_LABELS)


def test_bootstrap_is_deterministic_per_seed_and_contains_estimate():
    estimate = krippendorff_alpha(UNITS_2011)
    low, high = bootstrap_ci(krippendorff_alpha, UNITS_2011, n_boot=300, seed=3)
    assert low <= estimate <= high
    assert bootstrap_ci(krippendorff_alpha, UNITS_2011, n_boot=300, seed=3) == (low, high)
    assert bootstrap_ci(krippendorff_alpha, UNITS_2011, n_boot=300, seed=4) != (low, high)
    narrow = bootstrap_ci(krippendorff_alpha, UNITS_2011, n_boot=300, level=0.5, seed=3)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_edge_cases():
    assert all(math.isnan(x) for x in bootstrap_ci(krippendorff_alpha, []))
    undefined = [["risk", "risk"]] * 5  # every resample has one category
    assert all(math.isnan(x) for x in bootstrap_ci(krippendorff_alpha, undefined, n_boot=20))
    with pytest.raises(InvalidInput, match="n_boot"):
        bootstrap_ci(krippendorff_alpha, UNITS_2011, n_boot=0)
    with pytest.raises(InvalidInput, match="level"):
        bootstrap_ci(krippendorff_alpha, UNITS_2011, level=1.0)


def test_report_per_bucket():
    pairs = {
        "support_friction": list(zip(*TABLE_2X2, strict=True)) + [("risk", None)],
        "pricing_perception": list(zip(*TABLE_3X3, strict=True)),
        "upsell_readiness": [],
    }
    report = agreement_report(pairs, n_boot=300, seed=1)
    assert set(report) == set(pairs)
    friction = report["support_friction"]
    assert friction["n"] == 100
    assert friction["alpha"]["value"] == pytest.approx(1 - 199 * 60 / 19800)
    assert friction["kappa"]["value"] == pytest.approx(0.4)
    assert friction["ac1"]["value"] == pytest.approx(0.205 / 0.505)
    for entry in (friction, report["pricing_perception"]):
        for name in ("alpha", "kappa", "ac1"):
            stat = entry[name]
            assert stat["low"] <= stat["value"] <= stat["high"]
    assert report["pricing_perception"]["kappa"]["value"] == pytest.approx(412 / 592)
    empty = report["upsell_readiness"]
    assert empty == {
        "n": 0,
        **{k: dict.fromkeys(("value", "low", "high")) for k in ("alpha", "kappa", "ac1")},
    }
    json.dumps(report, allow_nan=False)  # strict JSON: undefined numbers are None
    assert agreement_report(pairs, n_boot=300, seed=1) == report


def test_report_categories_fix_ac1_q():
    pairs = {"b": [("absent", "absent")] * 30 + [("absent", "risk")] * 2}
    observed = agreement_report(pairs, n_boot=50)["b"]["ac1"]["value"]
    full = agreement_report(pairs, categories=BUCKET_LABELS, n_boot=50)["b"]["ac1"]["value"]
    assert full > observed


def test_too_few_units_for_an_interval():
    # n ** -n (one unit drawn n times) against the tail (1 - level) / 2
    assert [min_bootstrap_units(x) for x in (0.5, 0.95, 0.99, 0.999)] == [3, 4, 4, 5]
    with pytest.raises(InvalidInput, match="level"):
        min_bootstrap_units(1.0)
    three = [["risk", "risk"], ["absent", "absent"], ["risk", "absent"]]
    assert all(math.isnan(x) for x in bootstrap_ci(krippendorff_alpha, three, n_boot=50))
    low, high = bootstrap_ci(krippendorff_alpha, [*three, ["positive", "positive"]], n_boot=50)
    assert -1.0 <= low < high <= 1.0
    assert not math.isnan(bootstrap_ci(krippendorff_alpha, three, n_boot=50, level=0.5)[0])


def test_report_on_one_unit_gives_no_interval():
    pairs = {"agree": [("risk", "risk")], "differ": [("risk", "positive")], "none": []}
    report = agreement_report(pairs, categories=BUCKET_LABELS, n_boot=50)
    # AC1 with q fixed is defined on one agreeing pair, but its interval would be [1, 1]
    assert report["agree"]["ac1"] == {"value": 1.0, "low": None, "high": None}
    for name in ("alpha", "kappa"):  # no variation: undefined, as before
        assert report["agree"][name] == dict.fromkeys(("value", "low", "high"))
    differ = report["differ"]
    assert differ["n"] == 1 and differ["alpha"]["value"] == 0.0
    assert all(differ[k]["low"] is None and differ[k]["high"] is None for k in STATISTICS)
    json.dumps(report, allow_nan=False)
    four = [("risk", "risk"), ("absent", "absent"), ("risk", "absent"), ("positive", "positive")]
    entry = agreement_report({"b": four}, categories=BUCKET_LABELS, n_boot=50)["b"]
    assert all(entry[k]["low"] is not None for k in STATISTICS)
