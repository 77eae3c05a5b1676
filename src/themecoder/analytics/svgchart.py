"""Geometry of a small line chart for a page to draw as inline SVG (no script, no image file).

A pure function: series values in, coordinates out. The page's template writes the ``<path>``
and ``<circle>`` elements, so the chart needs no JavaScript and no asset from anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

WIDTH, HEIGHT = 640, 240
#: Room for the y labels (left) and the period labels (bottom).
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 36
MAX_X_LABELS = 8


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def line_geometry(
    periods: Sequence[str],
    lines: Mapping[str, Sequence[float]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    ticks: int = 4,
) -> dict[str, Any]:
    """Coordinates of one polyline per series over ``periods``, and the axis ticks.

    Args:
        periods: The x axis labels, in order.
        lines: Series name -> one value per period.

    Returns:
        ``width``, ``height``, ``plot`` (x0, y0, x1, y1 of the plot area), ``lines`` (name,
        ``d`` path data, ``points`` with x, y, period and value), ``y_ticks`` and ``x_ticks``
        (each with its position and label).
    """
    for name, values in lines.items():
        if len(values) != len(periods):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(periods)} periods")
    x0, y0, x1, y1 = LEFT, TOP, width - RIGHT, height - BOTTOM
    top = nice_max(max((max(v) for v in lines.values() if len(v)), default=0.0))
    n = len(periods)

    def x(i: int) -> float:
        return round(x0 + (x1 - x0) * (i / (n - 1) if n > 1 else 0.5), 1)

    def y(v: float) -> float:
        return round(y1 - (y1 - y0) * v / top, 1)

    out_lines = []
    for name, values in lines.items():
        points = [
            {"x": x(i), "y": y(v), "period": periods[i], "value": v} for i, v in enumerate(values)
        ]
        d = " ".join(f"{'M' if i == 0 else 'L'}{p['x']},{p['y']}" for i, p in enumerate(points))
        out_lines.append({"name": name, "d": d, "points": points})
    step = max(1, math.ceil(n / MAX_X_LABELS))
    return {
        "width": width,
        "height": height,
        "plot": (x0, y0, x1, y1),
        "lines": out_lines,
        "y_ticks": [
            {"y": y(top * k / ticks), "label": f"{top * k / ticks:g}"} for k in range(ticks + 1)
        ],
        "x_ticks": [{"x": x(i), "label": periods[i]} for i in range(0, n, step)],
    }
