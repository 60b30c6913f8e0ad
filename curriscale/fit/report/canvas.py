"""What every report figure shares: its canvas, its PNG, its log axes, its colours and legends.

Figures are drawn on bare `matplotlib.figure.Figure` objects (Agg canvas, no pyplot state), so
they work headless and never leak between calls. Every curriculum keeps one colour in every figure
(`colour`), every LR schedule one line style (`linestyle`). Log axes label their major ticks only,
chosen so labels never run into each other (`log_axes`).

Sharpness: a figure of W x H inches is shown at W x H x `DISPLAY_DPI` CSS pixels and rendered at
`SCALE` times that (`display_size` reads the shown size back from the PNG), so it stays sharp at
normal zoom and on high-density screens.
"""

from __future__ import annotations

import io
import math
import struct

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, Locator, LogLocator, MaxNLocator, NullFormatter

from curriscale.fit.runs import Grid
from curriscale.fit.units import human

# The most panels a figure of one panel per size or per run shows.
MAX_PANELS = 6
# CSS pixels per inch of figure, and PNG pixels per CSS pixel.
DISPLAY_DPI = 96
SCALE = 2
LINESTYLES = ["-", "--", ":", "-."]


def display_size(png: bytes) -> tuple[int, int]:
    """The CSS size (width, height) a figure drawn by `png` is meant to be shown at."""
    width, height = struct.unpack(">II", png[16:24])
    return round(width / SCALE), round(height / SCALE)


def figure(
    rows: int,
    cols: int,
    panel: tuple[float, float] = (3.6, 2.7),
    top: float = 0.35,
    bottom: float = 0.55,
    left: float = 0.75,
    right: float = 0.15,
    gap_h: float = 0.75,
) -> tuple[Figure, list[list[Axes]]]:
    """A figure of rows x cols panels of `panel` inches, with fixed margins and gaps in inches."""
    gap_w = 0.75
    width = left + right + cols * panel[0] + (cols - 1) * gap_w
    height = top + bottom + rows * panel[1] + (rows - 1) * gap_h
    fig = Figure(figsize=(width, height))
    # Fixed margins in inches: an automatic layout engine costs half the drawing time.
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=gap_w / panel[0], hspace=gap_h / panel[1])  # fmt: skip
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, [list(r) for r in axes]


def panel_grid(count: int, cols: int, **layout: float | tuple[float, float]) -> tuple[Figure, list[Axes]]:
    """A figure of `count` panels, `cols` to a row; the last row's unused panels are hidden.

    Args:
        count: how many panels to draw.
        cols: panels per row.
        **layout: the panel size, margins and gaps, as `figure` takes them.

    Returns:
        The figure and its `count` panels, row by row.
    """
    fig, axes = figure(math.ceil(count / cols), cols, **layout)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def top_legend(fig: Figure, handles: list, fontsize: float = 9) -> None:
    """A legend across the top of `fig` in as many rows as its width needs (one row clipped long
    labels at both edges); the figure grows taller to make room, its panels keep their size."""
    width, height = fig.get_size_inches()
    top, bottom = (1 - fig.subplotpars.top) * height, fig.subplotpars.bottom * height
    # An entry's width in inches: its text at ~0.55 em per character, plus the handle and padding.
    entry = max(len(h.get_label()) for h in handles) * fontsize * 0.55 / 72 + 0.6
    ncol = max(1, min(len(handles), int(width // entry)))
    need = 0.15 + 0.24 * math.ceil(len(handles) / ncol)
    if need > top:
        fig.set_size_inches(width, height + need - top)
        fig.subplots_adjust(top=1 - need / (height + need - top), bottom=bottom / (height + need - top))
    fig.legend(handles=handles, loc="upper center", ncol=ncol, frameon=False, fontsize=fontsize)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, rendered at `SCALE` times its shown size."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DISPLAY_DPI * SCALE)
    return buffer.getvalue()


def log_axes(ax: Axes, axes: str) -> None:
    """Log scale on the named axes ("x", "y" or "xy"), labelled at major ticks only.

    Labels: sizes and tokens on x as 20k, 1.5M; losses and speedups on y as plain numbers. Over
    1.5 decades or more the major ticks are the decades. A narrower axis would show one decade
    label or none, so it takes 1-2-5 multiples, or 1-2-3-5 if that gives under three ticks, or
    else evenly spaced round numbers; never every integer multiple, whose labels run together
    at the top of a decade ("50k60k70k").
    """
    for name in axes:
        axis = ax.xaxis if name == "x" else ax.yaxis
        ax.set(**{f"{name}scale": "log"})
        low, high = sorted(ax.get_xlim() if name == "x" else ax.get_ylim())
        axis.set_major_locator(_log_ticks(low, high))
        axis.set_major_formatter(FuncFormatter(lambda v, _: human(v)) if name == "x" else _plain)
        axis.set_minor_formatter(NullFormatter())


_plain = FuncFormatter(lambda v, _: f"{v:g}")


def _log_ticks(low: float, high: float) -> Locator:
    """A tick locator for a log axis from `low` to `high` (see `log_axes`)."""
    if high / low >= 10**1.5:
        return LogLocator(base=10)
    for subs in ((1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0)):
        locator = LogLocator(base=10, subs=subs)
        ticks = locator.tick_values(low, high)
        if ((ticks >= low) & (ticks <= high)).sum() >= 3:
            return locator
    return MaxNLocator(nbins=4)


def colour(grid: Grid, curriculum: str) -> str:
    """The curriculum's colour: its place among the grid's curricula in sorted order."""
    names = sorted(grid.runs["curriculum"].unique())
    return f"C{names.index(curriculum) % 10}"


def linestyle(grid: Grid, lr: str) -> str:
    """The LR schedule's line style: its place among the grid's schedules in sorted order."""
    schedules = sorted(grid.runs["lr_schedule"].unique())
    return LINESTYLES[schedules.index(lr) % len(LINESTYLES)]


def arms(grid: Grid) -> list[tuple[str, str]]:
    """Every (curriculum, LR schedule) pair the grid trained, sorted."""
    return sorted(set(zip(grid.runs["curriculum"], grid.runs["lr_schedule"], strict=True)))


def arm_handles(grid: Grid, arms: list[tuple[str, str | None]]) -> list[Line2D]:
    """Legend entries naming curricula (and LR schedules, when there are several)."""
    several = grid.runs["lr_schedule"].nunique() > 1
    return [
        Line2D(
            [],
            [],
            color=colour(grid, name),
            linestyle="-" if lr is None else linestyle(grid, lr),
            marker="o" if lr is not None else None,
            markersize=4,
            label=f"{name} ({lr})" if several and lr is not None else name,
        )
        for name, lr in arms
    ]


def band_patch(colour: str | tuple, label: str) -> Patch:
    """A legend entry for a shaded area."""
    return Patch(color=colour, alpha=0.3, label=label)
