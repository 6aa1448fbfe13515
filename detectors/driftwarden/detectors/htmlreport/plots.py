"""Plots as inline SVG, drawn by matplotlib's SVG backend (no JavaScript, no fonts shipped).

Every figure is a `matplotlib.figure.Figure` of its own (no pyplot state, safe in threads);
text is kept as SVG text (`svg.fonttype: none`) so a page stays small and searchable, and
mathtext is off (`text.parse_math: False`) so a column named `$x$` is printed as written.
Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies); the two
windows also differ by hatching, so the plots read in grey too. Each SVG gets a `<title>` and
a `<desc>` (the numbers in words) and `role="img"` with `aria-labelledby`, for screen readers.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, cast

import matplotlib
from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

# Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, yellow,
# blue, vermillion, reddish purple, black.
OKABE_ITO = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)
BASELINE_COLOUR = "#0072B2"  # blue
CURRENT_COLOUR = "#E69F00"  # orange
SEVERITY_COLOURS = {"none": "#009E73", "warning": "#E69F00", "critical": "#D55E00"}

RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.size": 8,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.image_inline": True,
}


def _rc(**extra: Any) -> AbstractContextManager[None]:
    """matplotlib settings for one figure (its rcParams keys are typed as literals)."""
    settings = {**RC, **{k.replace("__", "."): v for k, v in extra.items()}}
    return cast(AbstractContextManager[None], matplotlib.rc_context(cast(Any, settings)))


_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_SVG_OPEN = re.compile(r"<svg\b([^>]*)>")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def to_svg(fig: Figure, *, plot_id: str, title: str, desc: str) -> str:
    """The figure as an inline `<svg>` element with a title and a description."""
    buffer = io.StringIO()
    with _rc(svg__hashsalt=plot_id, svg__id=plot_id):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1), count=1)
    title_id, desc_id = f"{plot_id}-t", f"{plot_id}-d"
    match = _SVG_OPEN.search(text)
    if match is None:  # pragma: no cover - matplotlib always writes one
        raise RuntimeError("matplotlib wrote no <svg> element")
    attributes = match.group(1)
    opening = (
        f'<svg{attributes} role="img" aria-labelledby="{title_id} {desc_id}" class="plot">'
        f'<title id="{title_id}">{html.escape(title)}</title>'
        f'<desc id="{desc_id}">{html.escape(desc)}</desc>'
    )
    return text[: match.start()] + opening + text[match.end() :]


def _figure(width: float, height: float) -> Figure:
    with _rc():
        return Figure(figsize=(width, height), layout="constrained")


def overlay_bars(
    labels: Sequence[str],
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    marks: Sequence[str] = (),
    xlabel: str,
    ylabel: str = "share of rows",
) -> Figure:
    """Baseline and current shares side by side per bin or category (marks: "new",
    "vanished" or "" per label, printed under the label)."""
    with _rc():
        n = len(labels)
        fig = _figure(min(7.5, 1.6 + 0.32 * n), 2.6)
        ax = fig.add_subplot()
        x = list(range(n))
        width = 0.4
        ax.bar(
            [i - width / 2 for i in x],
            baseline,
            width,
            label="baseline",
            color=BASELINE_COLOUR,
        )
        ax.bar(
            [i + width / 2 for i in x],
            current,
            width,
            label="current",
            color=CURRENT_COLOUR,
            hatch="//",
            edgecolor="#333333",
            linewidth=0.3,
        )
        shown = [
            f"{label} ({mark})" if i < len(marks) and marks[i] else label
            for i, (label, mark) in enumerate(zip(labels, [*marks, *[""] * n], strict=False))
        ]
        ax.set_xticks(x, [_clip(s) for s in shown], rotation=45, ha="right")
        for i, mark in enumerate(marks):
            if mark:
                ax.get_xticklabels()[i].set_color("#D55E00" if mark == "new" else "#555555")
                ax.get_xticklabels()[i].set_fontweight("bold")
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2)
        return fig


def metric_bars(
    names: Sequence[str], baseline: Sequence[float], current: Sequence[float]
) -> Figure:
    """Performance metrics of both windows side by side."""
    return overlay_bars(names, baseline, current, xlabel="metric", ylabel="value")


def confusion(labels: Sequence[str], counts: Sequence[Sequence[float]]) -> Figure:
    """A confusion matrix as a shaded grid with the counts printed in each cell."""
    with _rc():
        fig = _figure(2.8, 2.5)
        ax = fig.add_subplot()
        ax.imshow(counts, cmap="Blues")
        size = len(labels)
        top = max((max(row) for row in counts), default=0) or 1
        for i in range(size):
            for j in range(size):
                value = counts[i][j]
                ax.text(
                    j,
                    i,
                    f"{value:g}",
                    ha="center",
                    va="center",
                    color="white" if value > top / 2 else "black",
                )
        ax.set_xticks(range(size), [_clip(s) for s in labels])
        ax.set_yticks(range(size), [_clip(s) for s in labels])
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        return fig


def lines(
    x: Sequence[Any],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    ylabel: str,
) -> Figure:
    """Values over time (runs), one line per series, markers so single points show."""
    markers = "osD^v<>x"
    with _rc():
        fig = _figure(7.0, 2.6)
        ax = fig.add_subplot()
        for k, (name, values) in enumerate(series):
            ys = [float("nan") if v is None else v for v in values]
            ax.plot(
                x,
                ys,
                marker=markers[k % len(markers)],
                markersize=3,
                label=_clip(name),
                color=OKABE_ITO[(k + 4) % len(OKABE_ITO)],
            )
        ax.set_ylabel(ylabel)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.autofmt_xdate()
        return fig


def reliability(curves: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> Figure:
    """Calibration curves (name, mean predicted, fraction positive) over the diagonal."""
    with _rc():
        fig = _figure(3.6, 3.0)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], linestyle=":", color="#777777", label="perfectly calibrated")
        colours = {"baseline": BASELINE_COLOUR, "current": CURRENT_COLOUR}
        for k, (name, x, y) in enumerate(curves):
            ax.plot(
                x,
                y,
                marker="os"[k % 2],
                markersize=3,
                label=_clip(name),
                color=colours.get(name, OKABE_ITO[k % len(OKABE_ITO)]),
                linestyle="-" if k % 2 == 0 else "--",
            )
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("fraction of positives")
        ax.legend(frameon=False, fontsize=7)
        return fig


def heatmap(
    rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]]
) -> Figure:
    """Rows (features) by columns (runs), shaded by severity rank 0, 1, 2 (NaN: no result)."""
    from matplotlib.colors import ListedColormap

    with _rc():
        height = min(30.0, max(2.2, 1.2 + 0.18 * len(rows)))
        fig = _figure(min(9.0, max(5.0, 2.2 + 0.25 * len(columns))), height)
        ax = fig.add_subplot()
        cmap = ListedColormap(
            [SEVERITY_COLOURS[s] for s in ("none", "warning", "critical")]
        ).with_extremes(bad="#DDDDDD")
        image = ax.imshow(values, cmap=cmap, vmin=-0.5, vmax=2.5, aspect="auto")
        ax.set_yticks(range(len(rows)), [_clip(r) for r in rows])
        step = max(1, len(columns) // 20)
        ax.set_xticks(
            range(0, len(columns), step), [columns[i] for i in range(0, len(columns), step)]
        )
        ax.tick_params(axis="x", rotation=60)
        bar = fig.colorbar(image, ax=ax, ticks=[0, 1, 2], shrink=0.6)
        bar.ax.set_yticklabels(["none", "warning", "critical"])
        return fig


def _clip(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
