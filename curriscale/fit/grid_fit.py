"""`curriscale fit RUNS --out FITS`: every fit a grid supports, written as three JSON files.

- `fits.json`: per curriculum and LR schedule, the power law of final eval loss against
  non-embedding parameters, and the same per level (`eval_loss_level_<k>`, `answer_loss_level_<k>`);
  the joint (chinchilla) law when the grid has several token budgets; the LR-annealing law per run
  whose metrics log the learning rate and training loss over steps; the temporal law per run with
  per-position losses, fitted on the first part of training to predict the final loss
  (`curriscale.fit.temporal_grid`). Each fit is fit-laws' Fit JSON plus, for the eval-loss
  scaling fits, the fitted curve and its bootstrap band (for the plots). Also the grid's sizes and
  each curriculum's manifest (path and sha256) for the recommender.
- `comparison.json`: curriculum vs static mix (`curriscale.fit.compare`).
- `critical_points.json`: chance and threshold per accuracy level, critical sizes and threshold
  steps (`curriscale.fit.critical`).

A fit the data cannot support (too few sizes, a law that fails on the data) is recorded with a
`skipped` reason rather than aborting the other fits. A fit that converged to something
meaningless is kept but flagged, as `fit law` flags it: `metrics.degenerate` with
`metrics.degenerate_reason` (`curriscale.fit.diagnostics`).

Paths in fits.json (`runs_dir`, `curricula.<name>.manifest`) are relative to the fits folder, so a
folder tree copied elsewhere keeps working; readers resolve them against the fits folder
(`curriscale.fit.manifests.manifest_path`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from curriscale.fit.bootstrap import bootstrap_intervals
from curriscale.fit.compare import compare_grid
from curriscale.fit.critical import critical_sizes, fit_or_skip, level_thresholds, threshold_steps
from curriscale.fit.laws import get_law
from curriscale.fit.runs import CHANCE_MARGIN, Grid, load_grid, resolve_manifest
from curriscale.fit.temporal_grid import TEMPORAL_FRACTION, temporal_fits
from curriscale.io import atomic_write_json, sha256_file

FORMAT = "curriscale.fits"
# A 3-parameter law through fewer distinct sizes is an interpolation, not a fit.
MIN_SIZES_FOR_POWER = 3
MIN_STEPS_FOR_ANNEALING = 10
MIN_BUDGETS = 3
BAND_POINTS = 40


def fit_grid(
    runs_dir: str | Path,
    out_dir: str | Path,
    bootstrap: int = 200,
    seed: int = 0,
    baseline: str | None = None,
    annealing: bool = True,
    temporal_fraction: float | None = TEMPORAL_FRACTION,
) -> dict:
    """Fit a grid and write `fits.json`, `comparison.json` and `critical_points.json` into `out_dir`.

    Args:
        runs_dir: the grid folder (with runs.parquet).
        out_dir: where to write the three JSON files.
        bootstrap: bootstrap resamples for every interval.
        seed: seed of every bootstrap.
        baseline: name of the static-mix curriculum; default: the one with static pacing.
        annealing: fit the LR-annealing law per run (one fit per run: the slow part of big grids).
        temporal_fraction: share of each run's training whose checkpoints the temporal law is
            fitted on to predict the final loss; None skips the temporal fits.

    Returns:
        `{"fits": ..., "comparison": ..., "critical_points": ...}`, the documents as written
        (NaN as None).
    """
    grid = load_grid(runs_dir)
    out = Path(out_dir)
    comparison = compare_grid(grid, baseline, n_boot=bootstrap, seed=seed)
    fits = {
        "format": FORMAT,
        "version": 1,
        "runs_dir": _relative(grid.root, out),
        "baseline": comparison["baseline"],
        "sizes": sorted(int(n) for n in grid.runs["non_embedding_params"].unique()),
        "curricula": _curricula(grid, out),
        "scaling": scaling_fits(grid, bootstrap, seed),
        "chinchilla": chinchilla_fits(grid, bootstrap, seed),
        "lr_annealing": annealing_fits(grid, seed) if annealing else [],
        "lr_annealing_left_out": not annealing,
        "temporal": temporal_fits(grid, temporal_fraction) if temporal_fraction else None,
        "skipped_runs": grid.skipped,
    }
    levels = level_thresholds(grid)
    critical = {
        "chance_recorded": grid.chance_recorded,
        "chance_margin": CHANCE_MARGIN,
        "levels": levels,
        "threshold_steps": threshold_steps(grid, levels=levels).to_dict("records"),
        "critical_sizes": critical_sizes(grid, bootstrap, seed, levels=levels),
    }
    documents = jsonable({"fits": fits, "comparison": comparison, "critical_points": critical})
    for name, document in documents.items():
        atomic_write_json(out / f"{name}.json", document)
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
                if metric == "eval_loss" and "params" in row["fit"]:
                    row["fit"]["band"] = _band(row["fit"], x, y, bootstrap, seed)
            out.append(row)
    return out


def chinchilla_fits(grid: Grid, bootstrap: int, seed: int) -> list[dict]:
    """L(N, D) per curriculum and LR schedule, where some size was trained on `MIN_BUDGETS` budgets."""
    out = []
    for (name, lr), group in grid.runs.groupby(["curriculum", "lr_schedule"]):
        # D must vary at a fixed N (under a compute budget alone D falls as N grows and the exponents
        # cannot be told apart), over at least three budgets, or E, B and beta are not identified.
        if group.groupby("non_embedding_params")["final_tokens"].nunique().max() < MIN_BUDGETS:
            continue
        n, d = group["non_embedding_params"].to_numpy(float), group["final_tokens"].to_numpy(float)
        fit = fit_or_skip(
            "chinchilla", {"n": n, "d": d, "loss": group["eval_loss"].to_numpy(float)}, bootstrap, seed
        )
        out.append({"curriculum": name, "lr_schedule": lr, "fit": fit})
    return out


def annealing_fits(grid: Grid, seed: int) -> list[dict]:
    """The LR-annealing law per curriculum and size, shared by that cell's LR schedules.

    The law's point is that one set of parameters explains every schedule's curve, so each fit
    takes the first seed's run of every LR schedule of a (curriculum, size) cell, as separate
    curves of one fit. It reads the training loss, which runs log often enough to show the
    annealing; see `annealing_data` for steps without a logged row.
    """
    if "lr" not in grid.curves or "train_loss" not in grid.curves:
        return []
    out = []
    first_seed = grid.runs.sort_values("seed").drop_duplicates(
        ["curriculum", "non_embedding_params", "lr_schedule"]
    )
    for (name, n), cell in first_seed.groupby(["curriculum", "non_embedding_params"]):
        data, interpolated = annealing_data(grid.curves[grid.curves["run"].isin(cell["run"])])
        if np.isfinite(data["loss"]).sum() < MIN_STEPS_FOR_ANNEALING * len(cell):
            continue
        fit = fit_or_skip("lr-annealing", data, 0, seed)
        out.append(
            {
                "curriculum": name,
                "non_embedding_params": int(n),
                "runs": sorted(cell["run"]),
                "lr_interpolated": interpolated,
                "fit": fit,
            }
        )
    return out


def annealing_data(curves: pd.DataFrame) -> tuple[dict[str, np.ndarray], bool]:
    """The LR-annealing law's input: one row per optimiser step of each run in `curves`.

    The law sums the learning rate over every step. Runs log it on their train rows only; steps
    between logged rows get it interpolated and their loss left unobserved (NaN), as are the losses
    of the warmup steps (up to the learning rate's peak).

    Returns:
        Columns `run`, `step`, `lr`, `loss`, and whether any learning rate was interpolated.
    """
    columns: dict[str, list[np.ndarray]] = {"run": [], "step": [], "lr": [], "loss": []}
    interpolated = False
    for run, curve in curves.groupby("run", sort=True):
        logged = curve[curve["lr"].notna() & curve["train_loss"].notna() & (curve["step"] > 0)]
        if logged.empty:
            continue
        steps = np.arange(1, int(logged["step"].max()) + 1)
        loss = pd.Series(logged["train_loss"].to_numpy(float), index=logged["step"].astype(int))
        columns["run"].append(np.full(len(steps), run, dtype=object))
        columns["step"].append(steps.astype(float))
        columns["lr"].append(np.interp(steps, logged["step"], logged["lr"]))
        observed = loss.reindex(steps).to_numpy(float, copy=True)
        # The law describes training after warmup (Tissue et al. fit there too): the warmup steps
        # still count in S1 through their learning rates, but their losses are not fitted.
        lr = columns["lr"][-1]
        observed[steps <= steps[np.argmax(lr)]] = np.nan
        columns["loss"].append(observed)
        interpolated |= len(logged) < len(steps)
    if not columns["run"]:
        return {name: np.array([]) for name in columns}, False
    return {name: np.concatenate(parts) for name, parts in columns.items()}, interpolated


def _band(fit: dict, x: np.ndarray, loss: np.ndarray, bootstrap: int, seed: int) -> dict:
    """The fitted curve on a log grid over the fitted sizes, with its 95% bootstrap band.

    The band comes from the same resampling fit-laws uses for the parameter intervals (same seed,
    same start, so the same draws), evaluated as curves: the parameters' errors are correlated, and
    only the draws themselves carry that.
    """
    grid = np.exp(np.linspace(np.log(x.min()), np.log(x.max()), BAND_POINTS))
    law = get_law(fit["law"], **fit.get("options", {}))
    on_grid = law.prepare({"x": grid})
    band = {"x": grid.tolist(), "pred": law.evaluate(law.from_params(fit["params"]), on_grid)[0].tolist()}
    if bootstrap > 0:
        theta = law.from_params(fit["params"])
        _, draws, _ = bootstrap_intervals(
            law, law.prepare({"x": x}), loss, np.isfinite(loss), theta, bootstrap, seed
        )
        curves = [
            law.evaluate(law.from_params(dict(zip(fit["params"], d, strict=True))), on_grid)[0] for d in draws
        ]
        band["lo"], band["hi"] = np.percentile(curves, [2.5, 97.5], axis=0).tolist()
    return band


def _curricula(grid: Grid, out_dir: Path) -> dict:
    """Each curriculum's manifest (path relative to `out_dir`, sha256) and pacing kind."""
    out = {}
    for run in grid.runs.drop_duplicates("curriculum").itertuples():
        manifest = resolve_manifest(grid.configs[run.run], grid.root / run.run, grid.root)
        out[run.curriculum] = {
            "manifest": _relative(manifest, out_dir) if manifest else None,
            "manifest_sha256": sha256_file(manifest) if manifest else None,
            "pacing_kind": run.pacing_kind,
        }
    return out


def _relative(path: Path, folder: Path) -> str:
    """`path` relative to `folder` (POSIX separators), both taken as absolute."""
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


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
