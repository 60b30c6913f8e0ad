"""The temporal scaling law in the grid loop: each run's final loss predicted from its first part.

Xiong et al. (2024) fit the per-position loss of early checkpoints and predict later ones; that is
how a run can be judged (or stopped) before it ends. For every run that wrote
`positions.parquet` (eval loss per token position at each checkpoint), `temporal_fits`:

1. fits the temporal law (`curriscale.fit.temporal`) on the checkpoints at or before `fraction` of
   the run's last checkpoint step (the first half by default);
2. predicts every position's loss at the last checkpoint, and their mean, the run's final loss in
   the same units as the observed one (the mean over positions, each position weighing the same);
3. reports the signed relative error of that final loss and the mean relative error over
   positions.

Per cell (curriculum, LR schedule, size) the errors are averaged over seeds. A run with too few
checkpoints in its first part is listed with a `skipped` reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriscale.errors import CurriscaleError
from curriscale.fit.api import fit_law
from curriscale.fit.runs import Grid

TEMPORAL_FRACTION = 0.5
# The law's trends in the step need checkpoints at two steps at least; three make them a fit.
MIN_CHECKPOINTS = 3
CELL_KEYS = ["curriculum", "lr_schedule", "non_embedding_params"]


def temporal_fits(grid: Grid, fraction: float = TEMPORAL_FRACTION) -> dict:
    """Temporal-law predictions of every run's final loss, per run and per cell.

    Args:
        grid: the loaded grid.
        fraction: share of each run's last checkpoint step up to which checkpoints are fitted.

    Returns:
        `{"fraction", "runs": [...], "cells": [...]}`. Each run entry has its identity, and either
        `skipped` or `fit` (Fit JSON), `fitted_until_step`, `final_step`, `checkpoints_fitted`,
        `positions`, `final_loss_observed`, `final_loss_predicted`, `final_loss_error` (signed,
        relative) and `final_positions_error` (mean relative error over positions). Each cell
        entry has `runs`, `mean_abs_final_loss_error` and `max_abs_final_loss_error`.
    """
    if not 0.0 < fraction < 1.0:
        raise CurriscaleError(f"--temporal-fraction must be between 0 and 1, got {fraction}")
    runs = []
    for run in grid.runs.itertuples():
        path = grid.root / run.run / "positions.parquet"
        if not path.is_file():
            continue
        entry = {key: getattr(run, key) for key in ("run", *CELL_KEYS, "seed")}
        entry["non_embedding_params"] = int(entry["non_embedding_params"])
        runs.append(entry | predict_final_loss(pd.read_parquet(path), fraction))
    return {"fraction": fraction, "runs": runs, "cells": _cells(runs)}


def predict_final_loss(positions: pd.DataFrame, fraction: float) -> dict:
    """Fit the temporal law on the first `fraction` of one run's checkpoints; predict the last.

    Args:
        positions: columns `step`, `position`, `loss` (one row per checkpoint and position).
        fraction: share of the last checkpoint step up to which checkpoints are fitted.
    """
    positions = positions[(positions["step"] > 0) & np.isfinite(positions["loss"])]
    steps = np.sort(positions["step"].unique())
    if len(steps) == 0:
        return {"skipped": "no per-position losses"}
    final_step, until = float(steps[-1]), fraction * float(steps[-1])
    early = positions[positions["step"] <= until]
    fitted = early["step"].nunique()
    if fitted < MIN_CHECKPOINTS:
        return {
            "skipped": f"{fitted} checkpoint(s) up to step {until:g}; the temporal law needs {MIN_CHECKPOINTS}"
        }
    columns = {name: early[name].to_numpy(float) for name in ("step", "position", "loss")}
    try:
        fit = fit_law("temporal", columns, heldout_fraction=0.0)
    except CurriscaleError as error:
        return {"skipped": str(error)}
    last = positions[positions["step"] == steps[-1]].sort_values("position")
    observed = last["loss"].to_numpy(float)
    predicted = fit.predict(
        {"step": last["step"].to_numpy(float), "position": last["position"].to_numpy(float)}
    )
    return {
        "fit": fit.to_dict(),
        "fitted_until_step": until,
        "final_step": final_step,
        "checkpoints_fitted": int(fitted),
        "positions": last["position"].astype(int).tolist(),
        "final_positions_observed": observed.tolist(),
        "final_positions_predicted": predicted.tolist(),
        "final_loss_observed": float(observed.mean()),
        "final_loss_predicted": float(predicted.mean()),
        "final_loss_error": float(predicted.mean() / observed.mean() - 1.0),
        "final_positions_error": float(np.mean(np.abs(predicted - observed) / observed)),
    }


def _cells(runs: list[dict]) -> list[dict]:
    """Seed-averaged absolute final-loss errors per (curriculum, LR schedule, size)."""
    predicted = pd.DataFrame([r for r in runs if "fit" in r], columns=[*CELL_KEYS, "run", "final_loss_error"])
    if predicted.empty:
        return []
    predicted["abs_error"] = predicted["final_loss_error"].abs()
    cells = predicted.groupby(CELL_KEYS).agg(
        runs=("run", list),
        mean_abs_final_loss_error=("abs_error", "mean"),
        max_abs_final_loss_error=("abs_error", "max"),
    )
    return cells.reset_index().to_dict("records")
