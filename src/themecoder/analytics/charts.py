"""Charts with matplotlib (PNG or SVG, chosen by the file name), one figure per call.

matplotlib is imported when a chart is drawn, never at import, and always with the
non-interactive Agg backend so a chart draws on a server without a display.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from themecoder.errors import InvalidInput

FORMATS = (".png", ".svg")
STYLES = ("-", "--", ":", "-.")
MAX_LINES = 12


def line_chart(
    frame: pd.DataFrame,
    out: Path,
    *,
    value: str = "share",
    group_by: list[str] | None = None,
    title: str = "",
) -> Path:
    """Draw ``value`` per period, one line per series (and group), into ``out``.

    With more than :data:`MAX_LINES` lines, only the lines with the largest totals are drawn
    (the legend says so); the data file always holds every line.
    """
    if out.suffix.lower() not in FORMATS:
        raise InvalidInput(f"--chart must end in {' or '.join(FORMATS)}, got {out.name!r}")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    label = frame["series"].astype(str)
    for column in group_by or []:
        label = frame[column].astype(str) + " / " + label
    wide = frame.assign(line=label).pivot_table(
        index="period", columns="line", values=value, aggfunc="sum", sort=True
    )
    dropped = 0
    if wide.shape[1] > MAX_LINES:
        keep = frame.assign(line=label).groupby("line")["count"].sum().nlargest(MAX_LINES).index
        dropped = wide.shape[1] - MAX_LINES
        wide = wide[[c for c in wide.columns if c in keep]]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    try:
        # tab20's 20 colours, then the same colours dashed: no two lines look alike
        palette = plt.get_cmap("tab20").colors
        for i, column in enumerate(wide.columns):
            ax.plot(
                range(len(wide)),
                wide[column].to_numpy(),
                marker="o",
                ms=3,
                label=column,
                color=palette[i % len(palette)],
                linestyle=STYLES[(i // len(palette)) % len(STYLES)],
            )
        step = max(1, len(wide) // 16)
        ax.set_xticks(range(0, len(wide), step), list(wide.index[::step]), rotation=45, ha="right")
        ax.set_ylabel(value)
        note = f" ({dropped} smaller lines not drawn)" if dropped else ""
        ax.set_title(title + note)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out
