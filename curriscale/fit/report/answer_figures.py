"""The figures that answer the question: accuracy per level, loss per size, speedup per size.

`headline` leads the report under the verdict: final accuracy per task level against model size,
with chance, thresholds and critical sizes marked. `loss_curves` shows where in training the
curricula part, and `speedup_vs_size` how much faster (or slower) a curriculum reaches the static
mix's loss at each size. Each returns PNG bytes (`canvas.png`); `headline_figure` returns the
figure itself, for tests that read its axes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from curriscale.fit.report import canvas
from curriscale.fit.runs import Grid
from curriscale.fit.units import human

# The smallest accuracy range a headline panel shows.
MIN_ACCURACY_SPAN = 0.2


def headline(grid: Grid, critical: dict) -> bytes | None:
    """The PNG of `headline_figure`, or None."""
    fig = headline_figure(grid, critical)
    return None if fig is None else canvas.png(fig)


def headline_figure(grid: Grid, critical: dict) -> Figure | None:
    """Final accuracy per task level against size, per curriculum: the report's first figure.

    One panel per level: seed-mean final accuracy of each curriculum (and LR schedule) against
    non-embedding parameters, bars spanning the seeds; chance (dashed grey) and the level's
    threshold (dotted grey); a triangle on the top edge at each curriculum's critical size (the
    BNSL break where one was fitted and is not degenerate, else the steepest step). None when the
    runs measure no accuracy per level.
    """
    columns = grid.metric_columns("accuracy_level_")
    if not columns:
        return None
    info = {e["level"]: e for e in critical.get("levels", [])}
    marks = {
        (e["curriculum"], e["lr_schedule"], e["level"]): critical_size(e)
        for e in critical.get("critical_sizes", [])
        if e["quantity"] == "error"
    }
    arms = canvas.arms(grid)
    cols = len(columns) if len(columns) <= 4 else min(4, math.ceil(len(columns) / 2))
    rows = math.ceil(len(columns) / cols)
    # Two rows or more are kept low, so the figure fits the first screen under the verdict.
    fig, panels = canvas.panel_grid(
        len(columns), cols, panel=(3.0, 2.25) if rows == 1 else (2.9, 1.55), top=0.5, gap_h=0.5
    )
    drawn = {"threshold": False, "critical": False}
    for k, (ax, column) in enumerate(zip(panels, columns, strict=True)):
        level = int(column.rsplit("_", 1)[1])
        entry = info.get(level, {})
        chance = grid.chance_of(column)
        ax.axhline(chance, color="grey", linestyle="--", linewidth=0.9)
        if entry.get("threshold") is not None:
            ax.axhline(entry["threshold"], color="grey", linestyle=":", linewidth=1.1)
            drawn["threshold"] = True
        top = blended_transform_factory(ax.transData, ax.transAxes)
        for a, (name, lr) in enumerate(arms):
            runs = grid.runs[(grid.runs["curriculum"] == name) & (grid.runs["lr_schedule"] == lr)]
            stats = runs.groupby("non_embedding_params")[column].agg(["mean", "min", "max"]).dropna()
            if stats.empty:
                continue
            colour = canvas.colour(grid, name)
            spread = [stats["mean"] - stats["min"], stats["max"] - stats["mean"]]
            ax.errorbar(stats.index, stats["mean"], yerr=spread, color=colour, marker="o", markersize=4,
                        linestyle=canvas.linestyle(grid, lr), capsize=2, linewidth=1.4)  # fmt: skip
            size = marks.get((name, lr, level))
            if size:
                # Stacked down the top edge, so equal critical sizes stay visible.
                ax.plot([size], [0.95 - 0.07 * a], marker="v", markersize=7, color=colour, transform=top)
                drawn["critical"] = True
        ax.set_ylim(*_accuracy_range(chance, grid.runs[column], len(arms)))
        title = f"level {level}" + (": at chance" if entry.get("at_chance") else "")
        ax.set_title(title, fontsize=10, color="dimgrey" if entry.get("at_chance") else "black", pad=3)
        if k + cols >= len(columns):  # the lowest panel of its column
            ax.set_xlabel("non-embedding params")
        if k % cols == 0:
            ax.set_ylabel("final accuracy")
        canvas.log_axes(ax, "x")
    handles = canvas.arm_handles(grid, arms) + [Line2D([], [], color="grey", linestyle="--", label="chance")]
    if drawn["threshold"]:
        handles.append(Line2D([], [], color="grey", linestyle=":", label="threshold"))
    if drawn["critical"]:
        handles.append(Line2D([], [], color="black", marker="v", linestyle="", label="critical size"))
    canvas.top_legend(fig, handles)
    return fig


def _accuracy_range(chance: float, values: pd.Series, arms: int) -> tuple[float, float]:
    """The y range of an accuracy panel: chance and every value, at least `MIN_ACCURACY_SPAN` tall
    (so seed noise around chance does not fill the panel), with room at the top for the markers."""
    low = min(chance, float(np.nanmin(values)))
    high = max(chance, float(np.nanmax(values)))
    if high - low < MIN_ACCURACY_SPAN:
        grow = MIN_ACCURACY_SPAN - (high - low)
        low, high = low - grow / 4, high + 3 * grow / 4
        if low < 0:
            low, high = 0.0, high - low
    span = high - low
    return low - 0.05 * span, high + (0.08 + 0.07 * arms) * span


def critical_size(entry: dict) -> float | None:
    """The critical size a `critical_sizes` entry marks: its BNSL break, else its steepest step.

    A break from a degenerate fit is not used; a level the curriculum stayed at chance on has none.
    """
    if entry.get("at_chance"):
        return None
    fit = entry.get("bnsl", {})
    if fit.get("breaks") and not fit.get("metrics", {}).get("degenerate"):
        return float(fit["breaks"][0])
    return entry.get("steepest_step")


def loss_curves(grid: Grid) -> bytes:
    """Eval loss against tokens per cell (LR schedule x size): seed mean, band = seed min-max."""
    schedules = sorted(grid.runs["lr_schedule"].unique())
    sizes = _pick(sorted(grid.runs["non_embedding_params"].unique()))
    fig, axes = canvas.figure(len(schedules), len(sizes), panel=(2.7, 2.1), top=0.5)
    evals = grid.curves[grid.curves["eval_loss"].notna()]
    names = _size_names(grid)
    for (i, lr), (j, n) in ((a, b) for a in enumerate(schedules) for b in enumerate(sizes)):
        ax = axes[i][j]
        cell = evals[(evals["lr_schedule"] == lr) & (evals["non_embedding_params"] == n)]
        for name, runs in cell.groupby("curriculum"):
            table = runs.pivot_table(index="tokens", columns="run", values="eval_loss")
            colour = canvas.colour(grid, name)
            ax.plot(table.index, table.mean(axis=1), color=colour, linewidth=1.4)
            if table.shape[1] > 1:
                ax.fill_between(table.index, table.min(axis=1), table.max(axis=1), color=colour, alpha=0.2)
        label = f"{names.get(n, '')} · {human(n)} params".strip(" ·")
        ax.set_title(label + (f", {lr}" if len(schedules) > 1 else ""), fontsize=9)
        ax.set_xlabel("tokens")
        if j == 0:
            ax.set_ylabel("eval loss")
        canvas.log_axes(ax, "x")
    handles = canvas.arm_handles(grid, [(name, None) for name in sorted(grid.runs["curriculum"].unique())])
    if grid.runs.groupby(["curriculum", "lr_schedule", "non_embedding_params"]).size().max() > 1:
        handles.append(canvas.band_patch("grey", "seed range"))  # the band only exists with several seeds
    canvas.top_legend(fig, handles)
    return canvas.png(fig)


def _size_names(grid: Grid) -> dict[int, str]:
    """Size name (s0, s1, ...) of each non-embedding parameter count, where it is a short label."""
    names = grid.runs.drop_duplicates("non_embedding_params").set_index("non_embedding_params")["size"]
    return {int(n): str(s) for n, s in names.items() if len(str(s)) <= 8}


def _pick(sizes: list) -> list:
    """At most canvas.MAX_PANELS sizes, spread over the range, smallest and largest kept."""
    if len(sizes) <= canvas.MAX_PANELS:
        return sizes
    return [sizes[i] for i in np.linspace(0, len(sizes) - 1, canvas.MAX_PANELS).round().astype(int)]


def speedup_vs_size(grid: Grid, comparison: dict) -> bytes:
    """Speedup over the static mix against size with bootstrap intervals; 1 and crossovers marked."""
    fig, axes = canvas.figure(1, 1, panel=(5.6, 3.0), left=0.9, right=0.2)
    ax = axes[0][0]
    arms = sorted({(c["curriculum"], c["lr_schedule"]) for c in comparison["cells"]})
    values = [1.0]
    for name, lr in arms:
        cells = [c for c in comparison["cells"] if (c["curriculum"], c["lr_schedule"]) == (name, lr)]
        n = np.array([c["non_embedding_params"] for c in cells], float)
        s = np.array([_nan(c["speedup"]) for c in cells])
        ci = np.array([[_nan(v) for v in c["speedup_ci"]] for c in cells])
        error = np.abs(np.nan_to_num(ci - s[:, None]).T)
        values += [v for v in np.concatenate([s, ci.ravel()]) if np.isfinite(v) and v > 0]
        label = name if len({lr for _, lr in arms}) == 1 else f"{name} ({lr})"
        ax.errorbar(n, s, yerr=error, color=canvas.colour(grid, name), linestyle=canvas.linestyle(grid, lr),
                    marker="o", markersize=5, capsize=3, label=label)  # fmt: skip
    crossed = False
    for row in comparison["crossover"]:
        for size in row["speedup_crossover"]:
            ax.axvline(size, color=canvas.colour(grid, row["curriculum"]), alpha=0.5, linewidth=0.9,
                       label=None if crossed else "speedup crosses 1")  # fmt: skip
            crossed = True
    ax.axhline(1.0, color="black", linewidth=0.9)
    low, high = min(values), max(values)
    ax.set_ylim(low / 1.25, high * 1.25)
    line = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(
        0.01, 1.0, " above 1: curriculum faster", transform=line, va="bottom", fontsize=8, color="dimgrey"
    )
    ax.text(0.01, 1.0, " below 1: curriculum slower", transform=line, va="top", fontsize=8, color="dimgrey")
    ax.set_xlabel("non-embedding params")
    ax.set_ylabel(f"speedup over {comparison['baseline']} (x)")
    canvas.log_axes(ax, "xy")
    if arms:
        ax.legend(fontsize=8, loc="best")
    return canvas.png(fig)


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)
