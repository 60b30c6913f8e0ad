"""The report's figures, each returned as PNG bytes.

Figures are drawn on bare `matplotlib.figure.Figure` objects (Agg canvas, no pyplot state), so
they work headless and never leak between calls. Every curriculum keeps one colour in every figure.
Log axes label their major ticks only, chosen so labels never run into each other (`_log`).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from curriscale.fit.grid_fit import annealing_data
from curriscale.fit.result import FitResult
from curriscale.fit.runs import Grid
from curriscale.fit.units import human

MAX_PANELS = 6


def loss_curves(grid: Grid) -> bytes:
    """Eval loss against tokens per cell (LR schedule x size): seed mean, band = seed min-max."""
    schedules = sorted(grid.runs["lr_schedule"].unique())
    sizes = _pick(sorted(grid.runs["non_embedding_params"].unique()))
    fig, axes = _figure(len(schedules), len(sizes))
    evals = grid.curves[grid.curves["eval_loss"].notna()]
    for (i, lr), (j, n) in ((a, b) for a in enumerate(schedules) for b in enumerate(sizes)):
        ax = axes[i][j]
        for name, runs in evals[(evals["lr_schedule"] == lr) & (evals["non_embedding_params"] == n)].groupby(
            "curriculum"
        ):
            table = runs.pivot_table(index="tokens", columns="run", values="eval_loss")
            ax.plot(table.index, table.mean(axis=1), color=_colour(grid, name), label=name)
            ax.fill_between(
                table.index, table.min(axis=1), table.max(axis=1), color=_colour(grid, name), alpha=0.2
            )
        ax.set(title=f"{human(n)} params, {lr}", xlabel="tokens", ylabel="eval loss")
        _log(ax, "x")
    axes[0][0].legend(fontsize=7)
    return _png(fig)


def scaling_curves(grid: Grid, fits: dict) -> bytes:
    """Final eval loss against non-embedding parameters with the power-law fit and its band."""
    return _png(scaling_figure(grid, fits))


def scaling_figure(grid: Grid, fits: dict) -> Figure:
    """The figure of `scaling_curves`: points per run, fitted line and bootstrap band per curriculum.

    The legend names every curriculum (its points), and its fitted exponent where a power law was
    fitted; bands are drawn only where the fit has bootstrap ones.
    """
    rows = [r for r in fits["scaling"] if r["metric"] == "eval_loss"]
    schedules = sorted({r["lr_schedule"] for r in rows})
    fig, axes = _figure(1, max(len(schedules), 1))
    for ax, lr in zip(axes[0], schedules, strict=False):
        for row in (r for r in rows if r["lr_schedule"] == lr):
            colour, name = _colour(grid, row["curriculum"]), row["curriculum"]
            runs = grid.runs[(grid.runs["curriculum"] == name) & (grid.runs["lr_schedule"] == lr)]
            ax.scatter(runs["non_embedding_params"], runs["eval_loss"], color=colour, s=12, label=name)
            band = row["fit"].get("band")
            if band:
                alpha = row["fit"]["params"]["alpha"]
                ax.plot(band["x"], band["pred"], color=colour, label=f"{name} fit: alpha={alpha:.3f}")
                if "lo" in band:
                    ax.fill_between(band["x"], band["lo"], band["hi"], color=colour, alpha=0.15)
        ax.set(title=f"final eval loss, {lr}", xlabel="non-embedding params", ylabel="eval loss")
        _log(ax, "xy")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return fig


def critical_points(grid: Grid, critical: dict) -> bytes:
    """Final accuracy per level against size; bnsl breaks (solid) and steepest steps (dotted) marked."""
    entries = [e for e in critical["critical_sizes"] if e["quantity"] == "error"]
    levels = sorted({e["level"] for e in entries})
    by_level = {e["level"]: e for e in critical.get("levels", [])}
    fig, axes = _figure(1, max(len(levels), 1))
    for ax, level in zip(axes[0], levels, strict=False):
        info = by_level.get(level, {})
        if "chance" in info:
            ax.axhline(info["chance"], color="grey", linestyle="--", linewidth=0.8)
        for entry in (e for e in entries if e["level"] == level):
            colour = _colour(grid, entry["curriculum"])
            accuracy = 1.0 - np.array(entry["means"])
            ax.plot(
                entry["sizes"],
                accuracy,
                "o-",
                color=colour,
                label=f"{entry['curriculum']} ({entry['lr_schedule']})",
            )
            if entry["steepest_step"]:
                ax.axvline(entry["steepest_step"], color=colour, linestyle=":")
            for size in entry["bnsl"].get("breaks", []):
                ax.axvline(size, color=colour, linestyle="-", alpha=0.6)
        title = f"level {level}" + (" (at chance)" if info.get("at_chance") else "")
        ax.set(title=title, xlabel="non-embedding params", ylabel="final accuracy")
        _log(ax, "x")
        ax.legend(fontsize=7)
    return _png(fig)


def speedup_vs_size(grid: Grid, comparison: dict) -> bytes:
    """Speedup over the static mix against size with bootstrap intervals; crossovers marked."""
    fig, axes = _figure(1, 1)
    ax = axes[0][0]
    arms = sorted({(c["curriculum"], c["lr_schedule"]) for c in comparison["cells"]})
    styles = ["-", "--", ":", "-."]
    schedules = sorted({lr for _, lr in arms})
    for name, lr in arms:
        cells = [c for c in comparison["cells"] if (c["curriculum"], c["lr_schedule"]) == (name, lr)]
        n = np.array([c["non_embedding_params"] for c in cells], float)
        s = np.array([_nan(c["speedup"]) for c in cells])
        ci = np.array([[_nan(v) for v in c["speedup_ci"]] for c in cells])
        error = np.abs(np.nan_to_num(ci - s[:, None]).T)
        linestyle = styles[schedules.index(lr) % len(styles)]
        ax.errorbar(
            n,
            s,
            yerr=error,
            color=_colour(grid, name),
            linestyle=linestyle,
            marker="o",
            label=f"{name} ({lr})",
        )
    for row in comparison["crossover"]:
        for size in row["speedup_crossover"]:
            ax.axvline(size, color=_colour(grid, row["curriculum"]), alpha=0.4)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set(title=f"speedup over {comparison['baseline']}", xlabel="non-embedding params")
    _log(ax, "xy")
    if arms:
        ax.legend(fontsize=7)
    return _png(fig)


def annealing_fit(grid: Grid, fits: dict) -> bytes | None:
    """Training loss and the LR-annealing law's curve for the first cells fitted (None if none).

    Degenerate fits (`metrics.degenerate`) are drawn dashed and titled so.
    """
    fitted = [f for f in fits["lr_annealing"] if "params" in f["fit"]][:MAX_PANELS]
    if not fitted:
        return None
    fig, axes = _figure(1, len(fitted))
    for ax, entry in zip(axes[0], fitted, strict=True):
        data, _ = annealing_data(grid.curves[grid.curves["run"].isin(entry["runs"])])
        pred = FitResult.from_dict(entry["fit"]).predict(data)
        degenerate = " (degenerate)" if entry["fit"]["metrics"].get("degenerate") else ""
        for k, run in enumerate(entry["runs"]):
            rows = data["run"] == run
            seen = rows & np.isfinite(data["loss"])
            ax.plot(data["step"][seen], data["loss"][seen], ".", color=f"C{k}", markersize=2, alpha=0.5)
            # A degenerate fit is drawn dashed: a curve through the points, not a law.
            ax.plot(data["step"][rows], pred[rows], "--" if degenerate else "-", color=f"C{k}", label=run)
        ax.set(
            title=f"{entry['curriculum']}, {human(entry['non_embedding_params'])}{degenerate}",
            xlabel="step",
            ylabel="train loss",
        )
        ax.legend(fontsize=6)
    return _png(fig)


def temporal_fit(grid: Grid, fits: dict) -> bytes | None:
    """Per-position loss and the temporal law, for the first runs predicted (None if none).

    Each panel is one run: the observed loss per position at the fitted checkpoints (dots) with the
    law's reciprocal curve at each (lines, light to dark with the step), and at the last checkpoint
    the observed losses (black) against the law's prediction from the first part (dashed red).
    """
    temporal = fits.get("temporal") or {}
    runs = [r for r in temporal.get("runs", []) if "fit" in r][:MAX_PANELS]
    if not runs:
        return None
    fig, axes = _figure(1, len(runs))
    for ax, entry in zip(axes[0], runs, strict=True):
        positions = pd.read_parquet(grid.root / entry["run"] / "positions.parquet")
        fit = FitResult.from_dict(entry["fit"])
        fitted = sorted(s for s in positions["step"].unique() if 0 < s <= entry["fitted_until_step"])
        for k, step in enumerate(fitted):
            rows = positions[positions["step"] == step].sort_values("position")
            shade = _shade(k, len(fitted))
            ax.plot(rows["position"], rows["loss"], ".", color=shade, markersize=2)
            pred = fit.predict(
                {"step": np.full(len(rows), float(step)), "position": rows["position"].to_numpy(float)}
            )
            ax.plot(rows["position"], pred, color=shade, linewidth=0.8)
        ax.plot(entry["positions"], entry["final_positions_observed"], ".", color="black", markersize=3,
                label=f"step {entry['final_step']:g} observed")  # fmt: skip
        ax.plot(entry["positions"], entry["final_positions_predicted"], "--", color="red",
                label=f"predicted from steps <= {entry['fitted_until_step']:g}")  # fmt: skip
        degenerate = " (degenerate)" if entry["fit"]["metrics"].get("degenerate") else ""
        ax.set(
            title=f"{entry['curriculum']}, {human(entry['non_embedding_params'])}: "
            f"{entry['final_loss_error']:+.1%}{degenerate}",
            xlabel="token position",
            ylabel="eval loss",
        )
        ax.legend(fontsize=6)
    return _png(fig)


def _shade(k: int, count: int) -> tuple:
    """The k-th of `count` shades from light to dark blue (early to late checkpoints)."""
    return colormaps["Blues"](0.35 + 0.6 * k / max(count - 1, 1))


def _figure(rows: int, cols: int) -> tuple[Figure, list[list]]:
    width, height = 3.6 * cols + 0.4, 2.9 * rows + 0.2
    fig = Figure(figsize=(width, height))
    # Fixed margins in inches: an automatic layout engine costs half the drawing time.
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=0.55 / height, top=1 - 0.35 / height,
                        wspace=0.35, hspace=0.45)  # fmt: skip
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, [list(r) for r in axes]


def _log(ax, axes: str) -> None:
    """Log scale on the named axes, labelled at major ticks only.

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


def _log_ticks(low: float, high: float):
    """A tick locator for a log axis from `low` to `high` (see `_log`)."""
    if high / low >= 10**1.5:
        return LogLocator(base=10)
    for subs in ((1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0)):
        locator = LogLocator(base=10, subs=subs)
        ticks = locator.tick_values(low, high)
        if ((ticks >= low) & (ticks <= high)).sum() >= 3:
            return locator
    return MaxNLocator(nbins=4)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _colour(grid: Grid, curriculum: str) -> str:
    names = sorted(grid.runs["curriculum"].unique())
    return f"C{names.index(curriculum) % 10}"


def _pick(sizes: list) -> list:
    """At most MAX_PANELS sizes, spread over the range, smallest and largest kept."""
    if len(sizes) <= MAX_PANELS:
        return sizes
    return [sizes[i] for i in np.linspace(0, len(sizes) - 1, MAX_PANELS).round().astype(int)]


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)
