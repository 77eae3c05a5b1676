"""The inline-SVG chart geometry of the analytics page: a pure function, checked by hand."""

from __future__ import annotations

import pytest

from themecoder.analytics.svgchart import LEFT, TOP, line_geometry, nice_max


def test_nice_max_rounds_up_to_a_readable_axis() -> None:
    assert [nice_max(v) for v in (0, 0.3, 1, 3, 7, 11, 240)] == [1, 0.5, 1, 5, 10, 20, 250]


def test_lines_span_the_plot_and_the_largest_value_reaches_the_top() -> None:
    g = line_geometry(["2026-01", "2026-02", "2026-03"], {"a": [0, 5, 10], "b": [2, 2, 2]})
    x0, y0, x1, y1 = g["plot"]
    assert (x0, y0) == (LEFT, TOP)
    a, b = g["lines"]
    assert (
        a["d"] == f"M{x0:.1f},{y1:.1f} L{(x0 + x1) / 2:.1f},{(y0 + y1) / 2:.1f} L{x1:.1f},{y0:.1f}"
    )
    assert [p["value"] for p in b["points"]] == [2, 2, 2] and len(
        {p["y"] for p in b["points"]}
    ) == 1
    assert [t["label"] for t in g["y_ticks"]] == ["0", "2.5", "5", "7.5", "10"]
    assert [t["label"] for t in g["x_ticks"]] == ["2026-01", "2026-02", "2026-03"]


def test_one_period_is_a_point_in_the_middle_and_x_labels_thin_out() -> None:
    (line,) = line_geometry(["2026-01"], {"a": [3]})["lines"]
    assert line["d"].startswith("M") and " L" not in line["d"]
    periods = [f"w{i}" for i in range(30)]
    assert len(line_geometry(periods, {"a": [1] * 30})["x_ticks"]) <= 8
    with pytest.raises(ValueError, match="values for"):
        line_geometry(["a", "b"], {"a": [1]})
