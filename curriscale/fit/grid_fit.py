"""`curriscale fit RUNS --out FITS`: every fit a grid supports, written as three JSON files.

- `fits.json`: per curriculum and LR schedule, the power law of final eval loss against
  non-embedding parameters, and the same per level (`eval_loss_level_<k>`, `answer_loss_level_<k>`);
  the joint (chinchilla) law when the grid has several token budgets; the LR-annealing law per run
  whose metrics log the learning rate and training loss over steps. Each fit is fit-laws' Fit JSON
  plus, for the scaling fits, a prediction band over the grid's size range for the plots.
- `comparison.json`: curriculum vs static mix (`curriscale.fit.compare`).
- `critical_points.json`: critical sizes and threshold steps (`curriscale.fit.critical`).

A fit the data cannot support (too few sizes, a law that fails on the data) is recorded with a
`skipped` reason rather than aborting the other fits.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from curriscale.fit.compare import compare_grid
from curriscale.fit.critical import critical_sizes, fit_or_skip, threshold_steps
from curriscale.fit.result import FitResult
from curriscale.fit.runs import Grid, load_grid, resolve_manifest
from curriscale.io import atomic_write_json

FORMAT = "curriscale.fits"
# A 3-parameter law through fewer distinct sizes is an interpolation, not a fit.
MIN_SIZES_FOR_POWER = 3
MIN_STEPS_FOR_ANNEALING = 10
BAND_POINTS = 40


def fit_grid(
    runs_dir: str | Path,
    out_dir: str | Path,
    bootstrap: int = 200,
    seed: int = 0,
    baseline: str | None = None,
    annealing: bool = True,
) -> dict:
    """Fit a grid and write `fits.json`, `comparison.json` and `critical_points.json` into `out_dir`.

    Args:
        runs_dir: the grid folder (with runs.parquet).
        out_dir: where to write the three JSON files.
        bootstrap: bootstrap resamples for every interval.
        seed: seed of every bootstrap.
        baseline: name of the static-mix curriculum; default: the one with static pacing.
        annealing: fit the LR-annealing law per run (one fit per run: the slow part of big grids).

    Returns:
        `{"fits": ..., "comparison": ..., "critical_points": ...}`, the written documents.
    """
    grid = load_grid(runs_dir)
    comparison = compare_grid(grid, baseline, n_boot=bootstrap, seed=seed)
    fits = {
        "format": FORMAT,
        "version": 1,
        "runs_dir": str(Path(runs_dir).resolve()),
        "baseline": comparison["baseline"],
        "curricula": _curricula(grid),
        "scaling": scaling_fits(grid, bootstrap, seed),
        "chinchilla": chinchilla_fits(grid, bootstrap, seed),
        "lr_annealing": annealing_fits(grid, seed) if annealing else [],
        "skipped_runs": grid.skipped,
    }
    critical = {
        "threshold_steps": threshold_steps(grid).to_dict("records"),
        "critical_sizes": critical_sizes(grid, bootstrap, seed),
    }
    documents = {"fits": fits, "comparison": comparison, "critical_points": critical}
    out = Path(out_dir)
    for name, document in documents.items():
        atomic_write_json(out / f"{name}.json", jsonable(document))
    return documents


def scaling_fits(grid: Grid, bootstrap: int, seed: int) -> list[dict]:
    """Power laws of final losses against non-embedding parameters, per curriculum and LR schedule."""
    metrics = (
        ["eval_loss"] + grid.metric_columns("eval_loss_level_") + grid.metric_columns("answer_loss_level_")
    )
    out = []
    for (name, lr), group in grid.runs.groupby(["curriculum", "lr_schedule"]):
        for metric in metrics:
            data = group[["non_embedding_params", metric]].dropna()
            row = {"curriculum": name, "lr_schedule": lr, "metric": metric}
            sizes = data["non_embedding_params"].nunique()
            if sizes < MIN_SIZES_FOR_POWER:
                row["fit"] = {"skipped": f"{sizes} sizes; a power law needs {MIN_SIZES_FOR_POWER}"}
            else:
                x, y = data["non_embedding_params"].to_numpy(float), data[metric].to_numpy(float)
                row["fit"] = fit_or_skip("power", {"x": x, "loss": y}, bootstrap, seed)
                row["fit"]["band"] = _band(row["fit"], x)
            out.append(row)
    return out


def chinchilla_fits(grid: Grid, bootstrap: int, seed: int) -> list[dict]:
    """L(N, D) per curriculum and LR schedule, where the grid has more than one token budget."""
    out = []
    for (name, lr), group in grid.runs.groupby(["curriculum", "lr_schedule"]):
        if group["final_tokens"].nunique() < 2:
            continue
        n, d = group["non_embedding_params"].to_numpy(float), group["final_tokens"].to_numpy(float)
        fit = fit_or_skip(
            "chinchilla", {"n": n, "d": d, "loss": group["eval_loss"].to_numpy(float)}, bootstrap, seed
        )
        out.append({"curriculum": name, "lr_schedule": lr, "fit": fit})
    return out


def annealing_fits(grid: Grid, seed: int) -> list[dict]:
    """The LR-annealing law per run, on its training loss with the learning rate at every step.

    Runs log the learning rate on train rows; steps between logged rows get it interpolated so the
    law's areas (sums over every step) are complete, and their loss is left unobserved.
    """
    if "lr" not in grid.curves or "train_loss" not in grid.curves:
        return []
    out = []
    for run, curve in grid.curves.groupby("run", sort=True):
        logged = curve[curve["lr"].notna() & curve["train_loss"].notna() & (curve["step"] > 0)]
        if len(logged) < MIN_STEPS_FOR_ANNEALING:
            continue
        steps = np.arange(1, int(logged["step"].max()) + 1)
        loss = pd.Series(logged["train_loss"].to_numpy(float), index=logged["step"].astype(int))
        data = {
            "step": steps.astype(float),
            "lr": np.interp(steps, logged["step"], logged["lr"]),
            "loss": loss.reindex(steps).to_numpy(float),
        }
        fit = fit_or_skip("lr-annealing", data, 0, seed)
        out.append({"run": run, "lr_interpolated": len(logged) < len(steps), "fit": fit})
    return out


def _band(fit: dict, x: np.ndarray) -> dict:
    """Prediction on a log grid over the fitted sizes, with an envelope from the parameter intervals.

    The envelope is the range of the law over every corner of the box of parameter intervals: wider
    than a true prediction band (it ignores that the parameters' errors are correlated), so it is
    labelled as an envelope; without intervals there is no envelope.
    """
    grid = np.exp(np.linspace(np.log(x.min()), np.log(x.max()), BAND_POINTS))
    result = FitResult.from_dict(fit)
    band = {"x": grid.tolist(), "pred": result.predict({"x": grid}, columns={"x": "x"}).tolist()}
    if fit.get("ci"):
        names = list(fit["params"])
        corners = itertools.product(*(fit["ci"][name] for name in names))
        preds = [
            FitResult(fit["law"], dict(zip(names, corner, strict=True))).predict(
                {"x": grid}, columns={"x": "x"}
            )
            for corner in corners
        ]
        band["envelope_lo"], band["envelope_hi"] = (
            np.min(preds, axis=0).tolist(),
            np.max(preds, axis=0).tolist(),
        )
    return band


def _curricula(grid: Grid) -> dict:
    """Each curriculum's manifest path and pacing kind, for the recommender."""
    out = {}
    for run in grid.runs.drop_duplicates("curriculum").itertuples():
        manifest = resolve_manifest(grid.configs[run.run], grid.root / run.run, grid.root)
        out[run.curriculum] = {
            "manifest": str(manifest.resolve()) if manifest else None,
            "pacing_kind": run.pacing_kind,
        }
    return out


def jsonable(obj):
    """`obj` with numpy scalars as Python numbers and NaN/inf as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
