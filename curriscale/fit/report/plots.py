"""The report's figures, each returned as PNG bytes drawn at twice the size it is shown at.

Figures are drawn on bare `matplotlib.figure.Figure` objects (Agg canvas, no pyplot state), so
they work headless and never leak between calls. Every curriculum keeps one colour in every figure.
Log axes label their major ticks only, chosen so labels never run into each other (`_log`).

Sharpness: a figure of W x H inches is shown at W x H x `DISPLAY_DPI` CSS pixels and rendered at
`SCALE` times that (`display_size` reads the shown size back from the PNG), so it stays sharp at
normal zoom and on high-density screens.
"""

from __future__ import annotations

import io
import json
import math
import struct

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import blended_transform_factory

from curriscale.fit.grid_fit import annealing_data
from curriscale.fit.result import FitResult
from curriscale.fit.runs import Grid, resolve_manifest
from curriscale.fit.units import human

MAX_PANELS = 6
MAX_ANNEALING_PANELS = 12
# The smallest accuracy range a headline panel shows.
MIN_ACCURACY_SPAN = 0.2
# CSS pixels per inch of figure, and PNG pixels per CSS pixel.
DISPLAY_DPI = 96
SCALE = 2
_LINESTYLES = ["-", "--", ":", "-."]


def display_size(png: bytes) -> tuple[int, int]:
    """The CSS size (width, height) a figure from this module is meant to be shown at."""
    width, height = struct.unpack(">II", png[16:24])
    return round(width / SCALE), round(height / SCALE)


def headline(grid: Grid, critical: dict) -> bytes | None:
    """The PNG of `headline_figure`, or None."""
    fig = headline_figure(grid, critical)
    return None if fig is None else _png(fig)


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
    arms = _arms(grid)
    cols = len(columns) if len(columns) <= 4 else min(4, math.ceil(len(columns) / 2))
    rows = math.ceil(len(columns) / cols)
    # Two rows or more are kept low, so the figure fits the first screen under the verdict.
    fig, axes = _figure(rows, cols, panel=(3.0, 2.25) if rows == 1 else (2.9, 1.55), top=0.5, gap_h=0.5)
    flat = [ax for row in axes for ax in row]
    drawn = {"threshold": False, "critical": False}
    for k, (ax, column) in enumerate(zip(flat, columns, strict=False)):
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
            colour = _colour(grid, name)
            spread = [stats["mean"] - stats["min"], stats["max"] - stats["mean"]]
            ax.errorbar(stats.index, stats["mean"], yerr=spread, color=colour, marker="o", markersize=4,
                        linestyle=_linestyle(grid, lr), capsize=2, linewidth=1.4)  # fmt: skip
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
        _log(ax, "x")
    for ax in flat[len(columns) :]:
        ax.set_visible(False)
    handles = _arm_handles(grid, arms) + [Line2D([], [], color="grey", linestyle="--", label="chance")]
    if drawn["threshold"]:
        handles.append(Line2D([], [], color="grey", linestyle=":", label="threshold"))
    if drawn["critical"]:
        handles.append(Line2D([], [], color="black", marker="v", linestyle="", label="critical size"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, fontsize=9)
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
    fig, axes = _figure(len(schedules), len(sizes), panel=(2.7, 2.1), top=0.5)
    evals = grid.curves[grid.curves["eval_loss"].notna()]
    names = _size_names(grid)
    for (i, lr), (j, n) in ((a, b) for a in enumerate(schedules) for b in enumerate(sizes)):
        ax = axes[i][j]
        cell = evals[(evals["lr_schedule"] == lr) & (evals["non_embedding_params"] == n)]
        for name, runs in cell.groupby("curriculum"):
            table = runs.pivot_table(index="tokens", columns="run", values="eval_loss")
            colour = _colour(grid, name)
            ax.plot(table.index, table.mean(axis=1), color=colour, linewidth=1.4)
            if table.shape[1] > 1:
                ax.fill_between(table.index, table.min(axis=1), table.max(axis=1), color=colour, alpha=0.2)
        label = f"{names.get(n, '')} · {human(n)} params".strip(" ·")
        ax.set_title(label + (f", {lr}" if len(schedules) > 1 else ""), fontsize=9)
        ax.set_xlabel("tokens")
        if j == 0:
            ax.set_ylabel("eval loss")
        _log(ax, "x")
    handles = _arm_handles(grid, [(name, None) for name in sorted(grid.runs["curriculum"].unique())])
    if grid.runs.groupby(["curriculum", "lr_schedule", "non_embedding_params"]).size().max() > 1:
        handles.append(_band_patch("grey", "seed range"))  # the band only exists with several seeds
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, fontsize=9)
    return _png(fig)


def _band_patch(colour, label: str) -> Patch:
    """A legend entry for a shaded area."""
    return Patch(color=colour, alpha=0.3, label=label)


def speedup_vs_size(grid: Grid, comparison: dict) -> bytes:
    """Speedup over the static mix against size with bootstrap intervals; 1 and crossovers marked."""
    fig, axes = _figure(1, 1, panel=(5.6, 3.0), left=0.9, right=0.2)
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
        ax.errorbar(n, s, yerr=error, color=_colour(grid, name), linestyle=_linestyle(grid, lr),
                    marker="o", markersize=5, capsize=3, label=label)  # fmt: skip
    crossed = False
    for row in comparison["crossover"]:
        for size in row["speedup_crossover"]:
            ax.axvline(size, color=_colour(grid, row["curriculum"]), alpha=0.5, linewidth=0.9,
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
    _log(ax, "xy")
    if arms:
        ax.legend(fontsize=8, loc="best")
    return _png(fig)


def compared(grid: Grid) -> bytes | None:
    """What was compared: each curriculum's pacing schedule, and the LR schedules' shapes.

    One panel per curriculum: the manifest's materialised schedule as a stacked area of tier
    weights over the share of training (what the trainer samples when), tiers coloured easy
    (light) to hard (dark). A last panel: each LR schedule's learning rate relative to its peak
    over the share of training (from the first run logging it). None when no manifest can be read
    and no run logs its learning rate.
    """
    schedules = {name: manifest for name in sorted(grid.runs["curriculum"].unique())
                 if (manifest := curriculum_manifest(grid, name)) is not None}  # fmt: skip
    lr_runs = _lr_runs(grid)
    panels = len(schedules) + (1 if lr_runs else 0)
    if not panels:
        return None
    fig, axes = _figure(1, panels, panel=(2.9, 2.2), top=0.35, bottom=0.95)
    flat = axes[0]
    for ax, (name, manifest) in zip(flat, schedules.items(), strict=False):
        _draw_schedule(ax, manifest)
        kind = manifest.get("pacing", {}).get("kind", "?")
        ax.set_title(f"{name} ({kind})", fontsize=9, color=_colour(grid, name))
        ax.set_xlabel(f"share of training ({manifest.get('pacing', {}).get('unit', 'tokens')})")
        if ax is flat[0]:
            ax.set_ylabel("share of sampled data")
    if schedules:
        count = max(len(m["tiers"]) for m in schedules.values())
        tiers = [_band_patch(_tier_colour(i, count), _tier_label(i, count)) for i in range(count)]
        for handle in tiers:
            handle.set_alpha(1.0)
        fig.legend(handles=tiers, loc="lower center", ncol=min(count, 6), frameon=False, fontsize=8)
    if lr_runs:
        ax = flat[-1]
        for k, (lr, curve) in enumerate(sorted(lr_runs.items())):
            share = curve["tokens"] / curve["tokens"].max()
            ax.plot(
                share, curve["lr"] / curve["lr"].max(), color="black", linestyle=_LINESTYLES[k % 4], label=lr
            )
        ax.set(
            title="LR schedules", xlabel="share of training (tokens)", ylabel="LR / peak LR", ylim=(0, 1.05)
        )
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    return _png(fig)


def scaling_curves(grid: Grid, fits: dict) -> bytes:
    """Final eval loss against non-embedding parameters with the power-law fit and its band."""
    return _png(scaling_figure(grid, fits))


def scaling_figure(grid: Grid, fits: dict) -> Figure:
    """The figure of `scaling_curves`: points per run, fitted line and bootstrap band per curriculum.

    The legend names every curriculum (its points), and its fitted exponent where a power law was
    fitted ("alpha not identified" where the exponent's interval is too wide to mean anything,
    or the fit is degenerate); bands are drawn only where the fit has bootstrap ones.
    """
    from curriscale.fit.report.tables import identified

    rows = [r for r in fits["scaling"] if r["metric"] == "eval_loss"]
    schedules = sorted({r["lr_schedule"] for r in rows})
    fig, axes = _figure(1, max(len(schedules), 1), panel=(4.2, 3.0))
    for ax, lr in zip(axes[0], schedules, strict=False):
        for row in (r for r in rows if r["lr_schedule"] == lr):
            colour, name = _colour(grid, row["curriculum"]), row["curriculum"]
            runs = grid.runs[(grid.runs["curriculum"] == name) & (grid.runs["lr_schedule"] == lr)]
            ax.scatter(runs["non_embedding_params"], runs["eval_loss"], color=colour, s=14, label=name)
            band = row["fit"].get("band")
            if band:
                fit = row["fit"]
                alpha = fit["params"]["alpha"]
                ok = identified(fit, "alpha") and not fit["metrics"].get("degenerate")
                label = f"{name} fit: alpha={alpha:.3f}" if ok else f"{name} fit: alpha not identified"
                ax.plot(band["x"], band["pred"], color=colour, label=label, linestyle="-" if ok else "--")
                if "lo" in band:
                    ax.fill_between(band["x"], band["lo"], band["hi"], color=colour, alpha=0.15)
        ax.set_title(f"final eval loss, {lr}", fontsize=10)
        ax.set(xlabel="non-embedding params", ylabel="eval loss")
        _log(ax, "xy")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return fig


def annealing_fit(grid: Grid, fits: dict) -> bytes | None:
    """The PNG of `annealing_figure`, or None."""
    fig = annealing_figure(grid, fits)
    return None if fig is None else _png(fig)


def annealing_figure(grid: Grid, fits: dict) -> Figure | None:
    """Training loss and the LR-annealing law's curve per fitted cell (None if none).

    Every fitted cell is drawn, up to `MAX_ANNEALING_PANELS` (see `annealing_panels`), four to a
    row. Degenerate fits (`metrics.degenerate`) are drawn dashed and titled so.
    """
    fitted = annealing_panels(fits)
    if not fitted:
        return None
    cols = min(len(fitted), 4)
    fig, axes = _figure(math.ceil(len(fitted) / cols), cols, panel=(2.8, 2.2))
    flat = [ax for row in axes for ax in row]
    for ax, entry in zip(flat, fitted, strict=False):
        data, _ = annealing_data(grid.curves[grid.curves["run"].isin(entry["runs"])])
        pred = FitResult.from_dict(entry["fit"]).predict(data)
        degenerate = " (degenerate)" if entry["fit"]["metrics"].get("degenerate") else ""
        for k, run in enumerate(entry["runs"]):
            rows = data["run"] == run
            seen = rows & np.isfinite(data["loss"])
            ax.plot(data["step"][seen], data["loss"][seen], ".", color=f"C{k}", markersize=2, alpha=0.5)
            # A degenerate fit is drawn dashed: a curve through the points, not a law.
            label = grid.runs.loc[grid.runs["run"] == run, "lr_schedule"].iloc[0]
            ax.plot(data["step"][rows], pred[rows], "--" if degenerate else "-", color=f"C{k}", label=label)
        ax.set_title(f"{entry['curriculum']}, {human(entry['non_embedding_params'])}{degenerate}", fontsize=9)
        ax.set(xlabel="step", ylabel="train loss")
        ax.legend(fontsize=6)
    for ax in flat[len(fitted) :]:
        ax.set_visible(False)
    return fig


def annealing_panels(fits: dict) -> list[dict]:
    """The LR-annealing fits `annealing_fit` draws: those with parameters, the first 12."""
    return [f for f in fits["lr_annealing"] if "params" in f["fit"]][:MAX_ANNEALING_PANELS]


def temporal_fit(grid: Grid, fits: dict) -> bytes | None:
    """Per-position loss and the temporal law, for the first runs predicted (None if none).

    Each panel is one run: the observed loss per position at the fitted checkpoints (dots) with the
    law's reciprocal curve at each (lines, light to dark with the step), and at the last checkpoint
    the observed losses (black) against the law's prediction from the first part (dashed red).
    """
    runs = temporal_panels(fits)
    if not runs:
        return None
    cols = min(len(runs), 3)
    fig, axes = _figure(math.ceil(len(runs) / cols), cols, panel=(3.4, 2.4))
    flat = [ax for row in axes for ax in row]
    for ax, entry in zip(flat, runs, strict=False):
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
        ax.set_title(
            f"{entry['curriculum']}, {human(entry['non_embedding_params'])}, seed {entry['seed']}: "
            f"{entry['final_loss_error']:+.1%}{degenerate}",
            fontsize=9,
        )
        ax.set(xlabel="token position", ylabel="eval loss")
        ax.legend(fontsize=6)
    for ax in flat[len(runs) :]:
        ax.set_visible(False)
    return _png(fig)


def temporal_panels(fits: dict) -> list[dict]:
    """The temporal fits `temporal_fit` draws: the first `MAX_PANELS` runs with a fit."""
    temporal = fits.get("temporal") or {}
    return [r for r in temporal.get("runs", []) if "fit" in r][:MAX_PANELS]


def _draw_schedule(ax, manifest: dict) -> None:
    """A manifest's schedule as a stacked area of tier weights over the share of training."""
    total = float(manifest["pacing"]["total"]) or 1.0
    xs, weights = [], []
    for interval in manifest["schedule"]:
        for edge in (interval["start"], interval["end"]):
            xs.append(edge / total)
            weights.append(interval["weights"])
    count = len(manifest["tiers"])
    stacked = np.array(weights, float).T
    ax.stackplot(xs, stacked, colors=[_tier_colour(i, count) for i in range(count)], linewidth=0)
    ax.set(xlim=(0, 1), ylim=(0, 1))


def curriculum_manifest(grid: Grid, curriculum: str) -> dict | None:
    """The manifest JSON a curriculum's first run trained on, or None when it cannot be read."""
    run = grid.runs[grid.runs["curriculum"] == curriculum]["run"].iloc[0]
    path = resolve_manifest(grid.configs.get(run, {}), grid.root / run, grid.root)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
        data["schedule"], data["tiers"], data["pacing"]["total"]  # noqa: B018 (checks the keys)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data


def _lr_runs(grid: Grid) -> dict[str, pd.DataFrame]:
    """Per LR schedule, the (tokens, lr) curve of its first run (smallest size, seed) that logs one."""
    if "lr" not in grid.curves:
        return {}
    out = {}
    for lr, runs in grid.runs.sort_values(["non_embedding_params", "seed"]).groupby("lr_schedule"):
        for run in runs["run"]:
            curve = grid.curves.loc[grid.curves["run"] == run, ["tokens", "lr"]].dropna()
            if len(curve) > 1 and curve["lr"].max() > 0:
                out[lr] = curve
                break
    return out


def _tier_colour(i: int, count: int) -> tuple:
    """Tier i of `count`: light (easiest) to dark (hardest)."""
    return colormaps["viridis_r"](0.1 + 0.85 * i / max(count - 1, 1))


def _tier_label(i: int, count: int) -> str:
    suffix = " (easiest)" if i == 0 else " (hardest)" if i == count - 1 and count > 1 else ""
    return f"tier {i}{suffix}"


def _size_names(grid: Grid) -> dict[int, str]:
    """Size name (s0, s1, ...) of each non-embedding parameter count, where it is a short label."""
    names = grid.runs.drop_duplicates("non_embedding_params").set_index("non_embedding_params")["size"]
    return {int(n): str(s) for n, s in names.items() if len(str(s)) <= 8}


def _arms(grid: Grid) -> list[tuple[str, str]]:
    return sorted(set(zip(grid.runs["curriculum"], grid.runs["lr_schedule"], strict=True)))


def _arm_handles(grid: Grid, arms: list[tuple[str, str | None]]) -> list[Line2D]:
    """Legend entries naming curricula (and LR schedules, when there are several)."""
    several = grid.runs["lr_schedule"].nunique() > 1
    return [
        Line2D(
            [],
            [],
            color=_colour(grid, name),
            linestyle="-" if lr is None else _linestyle(grid, lr),
            marker="o" if lr is not None else None,
            markersize=4,
            label=f"{name} ({lr})" if several and lr is not None else name,
        )
        for name, lr in arms
    ]


def _linestyle(grid: Grid, lr: str) -> str:
    schedules = sorted(grid.runs["lr_schedule"].unique())
    return _LINESTYLES[schedules.index(lr) % len(_LINESTYLES)]


def _shade(k: int, count: int) -> tuple:
    """The k-th of `count` shades from light to dark blue (early to late checkpoints)."""
    return colormaps["Blues"](0.35 + 0.6 * k / max(count - 1, 1))


def _figure(
    rows: int,
    cols: int,
    panel: tuple[float, float] = (3.6, 2.7),
    top: float = 0.35,
    bottom: float = 0.55,
    left: float = 0.75,
    right: float = 0.15,
    gap_h: float = 0.75,
) -> tuple[Figure, list[list]]:
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
    fig.savefig(buffer, format="png", dpi=DISPLAY_DPI * SCALE)
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
