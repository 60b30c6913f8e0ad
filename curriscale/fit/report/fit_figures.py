"""The fits' figures, shown in the report's details: scaling laws, LR annealing, temporal law.

Each draws the data and the fitted law over it, so a reader sees whether the law describes the
runs. `annealing_panels` and `temporal_panels` name the fits a figure draws, so the text beside it
(`text`) counts exactly what is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from curriscale.fit.grid_fit import annealing_data
from curriscale.fit.report import canvas
from curriscale.fit.report.cells import identified
from curriscale.fit.result import FitResult
from curriscale.fit.runs import Grid
from curriscale.fit.units import human

MAX_ANNEALING_PANELS = 12


def scaling_curves(grid: Grid, fits: dict) -> bytes:
    """Final eval loss against non-embedding parameters with the power-law fit and its band."""
    return canvas.png(scaling_figure(grid, fits))


def scaling_figure(grid: Grid, fits: dict) -> Figure:
    """The figure of `scaling_curves`: points per run, fitted line and bootstrap band per curriculum.

    The legend names every curriculum (its points), and its fitted exponent where a power law was
    fitted ("alpha not identified" where the exponent's interval is too wide to mean anything,
    or the fit is degenerate); bands are drawn only where the fit has bootstrap ones.
    """
    rows = [r for r in fits["scaling"] if r["metric"] == "eval_loss"]
    schedules = sorted({r["lr_schedule"] for r in rows})
    fig, axes = canvas.figure(1, max(len(schedules), 1), panel=(4.2, 3.0))
    for ax, lr in zip(axes[0], schedules, strict=False):
        for row in (r for r in rows if r["lr_schedule"] == lr):
            colour, name = canvas.colour(grid, row["curriculum"]), row["curriculum"]
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
        canvas.log_axes(ax, "xy")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return fig


def annealing_fit(grid: Grid, fits: dict) -> bytes | None:
    """The PNG of `annealing_figure`, or None."""
    fig = annealing_figure(grid, fits)
    return None if fig is None else canvas.png(fig)


def annealing_figure(grid: Grid, fits: dict) -> Figure | None:
    """Training loss and the LR-annealing law's curve per fitted cell (None if none).

    Every fitted cell is drawn, up to `MAX_ANNEALING_PANELS` (see `annealing_panels`), four to a
    row. Degenerate fits (`metrics.degenerate`) are drawn dashed and titled so.
    """
    fitted = annealing_panels(fits)
    if not fitted:
        return None
    fig, panels = canvas.panel_grid(len(fitted), min(len(fitted), 4), panel=(2.8, 2.2))
    for ax, entry in zip(panels, fitted, strict=True):
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
    fig, panels = canvas.panel_grid(len(runs), min(len(runs), 3), panel=(3.4, 2.4))
    for ax, entry in zip(panels, runs, strict=True):
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
    return canvas.png(fig)


def temporal_panels(fits: dict) -> list[dict]:
    """The temporal fits `temporal_fit` draws: the first `canvas.MAX_PANELS` runs with a fit."""
    temporal = fits.get("temporal") or {}
    return [r for r in temporal.get("runs", []) if "fit" in r][: canvas.MAX_PANELS]


def _shade(k: int, count: int) -> tuple:
    """The k-th of `count` shades from light to dark blue (early to late checkpoints)."""
    return colormaps["Blues"](0.35 + 0.6 * k / max(count - 1, 1))
