"""Critical points: the model size where a level's accuracy or loss breaks, and when in training.

Two views, because the prototype found that final accuracy alone separates sizes poorly:

- in size: for each curriculum, LR schedule and level, final error (1 - accuracy) and answer loss
  against non-embedding parameters. Where enough sizes exist, a broken neural scaling law with one
  break (fit-laws' `bnsl`) is fitted and its break location is the critical size, with a bootstrap
  interval. A model-free estimate always accompanies it: the midpoint (in log N) of the steepest
  step between adjacent sizes of the seed-mean curve, which needs no fit and cannot fail to
  converge.
- in training time: for each run and level, the first step (and token count) at which accuracy
  crosses a threshold, halfway between chance and the best seed-mean final accuracy any size
  reached on that level, the same threshold for every size so the steps are comparable; bigger
  models usually cross earlier, and sizes that never cross are counted as such.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriscale.errors import CurriscaleError
from curriscale.fit.api import fit_law
from curriscale.fit.compare import tokens_to_reach
from curriscale.fit.runs import Grid

# Break fits need more distinct sizes than the six bnsl parameters' worth of shape.
MIN_SIZES_FOR_BNSL = 5
# A level whose best accuracy stays within this of chance has no meaningful threshold.
MIN_GAIN = 0.02
# 1 - accuracy is fitted on a log scale: keep a perfect level from giving log(0).
ERROR_FLOOR = 1e-3


def threshold_steps(grid: Grid, fraction: float = 0.5, chance: float = 0.0) -> pd.DataFrame:
    """First step and token count at which each run's accuracy crosses its level's threshold.

    Args:
        grid: the loaded grid.
        fraction: where between chance and the best final accuracy the threshold sits.
        chance: chance accuracy (exact-match answers: 0).

    Returns:
        One row per curriculum x LR schedule x level x size: `threshold`, `step` and `tokens`
        (means over the seeds that crossed), `reached` and `n_seeds`. Levels where no size beat
        chance by `MIN_GAIN` have no rows.
    """
    rows = []
    for column in grid.metric_columns("accuracy_level_"):
        level = int(column.rsplit("_", 1)[1])
        finals = grid.runs.groupby(["curriculum", "lr_schedule", "non_embedding_params"])[column].mean()
        best = finals.groupby(level=["curriculum", "lr_schedule"]).max()
        curves = grid.curves[grid.curves[column].notna()]
        for run in grid.runs.itertuples():
            gain = best[(run.curriculum, run.lr_schedule)] - chance
            if gain < MIN_GAIN:  # nothing learned on this level: no threshold to cross
                continue
            threshold = chance + fraction * gain
            curve = curves[curves["run"] == run.run]
            # Rising accuracy reaching a threshold is falling (-accuracy) reaching -threshold.
            accuracy = -curve[column].to_numpy(float)[None, :]
            step = tokens_to_reach(curve["step"].to_numpy(float), accuracy, np.array([-threshold]))[0]
            tokens = tokens_to_reach(curve["tokens"].to_numpy(float), accuracy, np.array([-threshold]))[0]
            rows.append(
                {
                    "curriculum": run.curriculum,
                    "lr_schedule": run.lr_schedule,
                    "level": level,
                    "non_embedding_params": int(run.non_embedding_params),
                    "size": run.size,
                    "threshold": float(threshold),
                    "step": step,
                    "tokens": tokens,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    keys = ["curriculum", "lr_schedule", "level", "non_embedding_params", "size", "threshold"]
    return (
        table.groupby(keys)
        .agg(
            step=("step", "mean"),
            tokens=("tokens", "mean"),
            reached=("step", "count"),
            n_seeds=("step", "size"),
        )
        .reset_index()
    )


def steepest_step(sizes: np.ndarray, values: np.ndarray) -> float | None:
    """Geometric midpoint of the adjacent sizes between which `values` change fastest per log N.

    None for fewer than two sizes or a flat curve.
    """
    order = np.argsort(sizes)
    log_n, y = np.log(np.asarray(sizes, float)[order]), np.asarray(values, float)[order]
    if len(log_n) < 2:
        return None
    slope = np.abs(np.diff(y) / np.diff(log_n))
    if not np.nanmax(slope) > 0:  # a flat curve has no step
        return None
    i = int(np.nanargmax(slope))
    return float(np.exp(0.5 * (log_n[i] + log_n[i + 1])))


def critical_sizes(
    grid: Grid, bootstrap: int = 100, seed: int = 0, min_sizes: int = MIN_SIZES_FOR_BNSL
) -> list[dict]:
    """Critical size per curriculum, LR schedule, level and quantity (error = 1 - accuracy, answer loss).

    Args:
        grid: the loaded grid.
        bootstrap: bootstrap resamples for the bnsl break's interval.
        seed: seed of the bootstrap.
        min_sizes: fewest distinct sizes for which a bnsl fit is attempted.

    Returns:
        Dicts with `curriculum`, `lr_schedule`, `level`, `quantity`, `sizes`, `means` (seed means by
        size), `steepest_step` (model-free) and `bnsl` (the fit JSON, or a `skipped` reason).
    """
    quantities = {"error": "accuracy_level_", "answer_loss": "answer_loss_level_"}
    out = []
    for quantity, prefix in quantities.items():
        for column in grid.metric_columns(prefix):
            level = int(column.rsplit("_", 1)[1])
            data = grid.runs[["curriculum", "lr_schedule", "non_embedding_params", column]].dropna()
            if quantity == "error":
                data = data.assign(**{column: np.maximum(1.0 - data[column], ERROR_FLOOR)})
            for (name, lr), group in data.groupby(["curriculum", "lr_schedule"]):
                means = group.groupby("non_embedding_params")[column].mean()
                entry = {
                    "curriculum": name,
                    "lr_schedule": lr,
                    "level": level,
                    "quantity": quantity,
                    "sizes": [int(n) for n in means.index],
                    "means": [float(v) for v in means],
                    "steepest_step": steepest_step(means.index.to_numpy(), means.to_numpy()),
                }
                if len(means) < min_sizes:
                    entry["bnsl"] = {"skipped": f"{len(means)} sizes; a break fit needs {min_sizes}"}
                elif entry["steepest_step"] is None:
                    entry["bnsl"] = {"skipped": "flat across sizes: no break to locate"}
                else:
                    x, y = group["non_embedding_params"].to_numpy(float), group[column].to_numpy(float)
                    entry["bnsl"] = fit_or_skip("bnsl", {"x": x, "loss": y}, bootstrap, seed, breaks=1)
                out.append(entry)
    return out


def fit_or_skip(law: str, data: dict, bootstrap: int, seed: int, **options) -> dict:
    """fit-laws' Fit JSON, or `{"skipped": reason}` when the law rejects the data.

    A grid fits many laws; one that the data cannot support must not stop the others.
    """
    try:
        return fit_law(law, data, bootstrap=bootstrap, seed=seed, **options).to_dict()
    except CurriscaleError as error:
        return {"skipped": str(error)}
