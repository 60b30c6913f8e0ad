"""Critical points: the model size where a level's accuracy or loss breaks, and when in training.

Two views, because the prototype found that final accuracy alone separates sizes poorly:

- in size: for each curriculum, LR schedule and level, final error (1 - accuracy) and answer loss
  against non-embedding parameters. Where enough sizes exist, a broken neural scaling law with one
  break (fit-laws' `bnsl`) is fitted and its break location is the critical size, with a bootstrap
  interval. A model-free estimate always accompanies it: the midpoint (in log N) of the steepest
  step between adjacent sizes of the seed-mean curve, which needs no fit and cannot fail to
  converge.
- in training time: for each run and level, the token count (and step) at which accuracy first
  crosses the level's threshold, interpolated between checkpoints; bigger models usually cross
  earlier, and sizes that never cross are counted as such.

Accuracy is measured from chance, not from zero (`Grid.chance`, from the runs' recorded chance
accuracy): a level's threshold sits halfway between chance and the best seed-mean final accuracy
any curriculum, LR schedule and size reached on it, one threshold per level so steps compare
across sizes and curricula. A level whose best accuracy never clearly exceeds chance
(`clearly_above_chance`) has no threshold and no critical point, only a note that it stayed at
chance; so does a curriculum that stayed at chance on a level another one learned. Otherwise a
0.51 on a yes/no level would read as a crossing and a critical size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriscale.errors import CurriscaleError
from curriscale.fit.api import fit_law
from curriscale.fit.compare import tokens_to_reach
from curriscale.fit.runs import CHANCE_MARGIN, Grid, clearly_above_chance
from curriscale.fit.units import human

# Break fits need more distinct sizes than the six bnsl parameters' worth of shape.
MIN_SIZES_FOR_BNSL = 5
# 1 - accuracy is fitted on a log scale: keep a perfect level from giving log(0).
ERROR_FLOOR = 1e-3


def level_thresholds(grid: Grid, fraction: float = 0.5) -> list[dict]:
    """Per accuracy level: chance, the best seed-mean final accuracy, and the shared threshold.

    Args:
        grid: the loaded grid.
        fraction: where between chance and the best accuracy the threshold sits.

    Returns:
        One dict per level with `level`, `chance`, `best` and `best_by` (the curriculum, LR schedule
        and size that reached it), `at_chance`, `threshold` (None at chance) and `note` (why there
        is no threshold, or None). Levels no run measured are left out.
    """
    out = []
    for column in grid.metric_columns("accuracy_level_"):
        finals = grid.runs.groupby(["curriculum", "lr_schedule", "non_embedding_params"])[column].mean()
        finals = finals.dropna()
        if finals.empty:
            continue
        level, chance = int(column.rsplit("_", 1)[1]), grid.chance_of(column)
        (name, lr, n), best = finals.idxmax(), float(finals.max())
        entry = {
            "level": level,
            "chance": chance,
            "best": best,
            "best_by": {"curriculum": name, "lr_schedule": lr, "non_embedding_params": int(n)},
            "at_chance": not clearly_above_chance(best, chance),
            "threshold": None,
            "note": None,
        }
        if entry["at_chance"]:
            entry["note"] = (
                f"level {level} stayed at chance: best seed-mean final accuracy {best:.3g} "
                f"('{name}', {lr}, {human(n)} params) against chance {_chance_text(grid, chance)}; "
                "no threshold or critical point"
            )
        else:
            entry["threshold"] = chance + fraction * (best - chance)
        out.append(entry)
    return out


def threshold_steps(grid: Grid, fraction: float = 0.5, levels: list[dict] | None = None) -> pd.DataFrame:
    """Tokens (and step) at which each run's accuracy first crosses its level's threshold.

    Args:
        grid: the loaded grid.
        fraction: where between chance and the best accuracy the threshold sits.
        levels: `level_thresholds(grid, fraction)`, if already computed.

    Returns:
        One row per curriculum x LR schedule x level x size: `chance`, `threshold`, `tokens` and
        `step` (means over the seeds that crossed, each interpolated between checkpoints and
        rounded to a whole number; NaN when none crossed), `reached` and `n_seeds`. Levels that
        stayed at chance have no rows.
    """
    levels = level_thresholds(grid, fraction) if levels is None else levels
    rows = []
    for entry in levels:
        if entry["at_chance"]:
            continue
        column, threshold = f"accuracy_level_{entry['level']}", entry["threshold"]
        curves = grid.curves[grid.curves[column].notna()]
        for run in grid.runs.itertuples():
            curve = curves[curves["run"] == run.run]
            # Rising accuracy reaching a threshold is falling (-accuracy) reaching -threshold.
            accuracy = -curve[column].to_numpy(float)[None, :]
            target = np.array([-threshold])
            rows.append(
                {
                    "curriculum": run.curriculum,
                    "lr_schedule": run.lr_schedule,
                    "level": entry["level"],
                    "non_embedding_params": int(run.non_embedding_params),
                    "size": run.size,
                    "chance": entry["chance"],
                    "threshold": float(threshold),
                    "step": tokens_to_reach(curve["step"].to_numpy(float), accuracy, target)[0],
                    "tokens": tokens_to_reach(curve["tokens"].to_numpy(float), accuracy, target)[0],
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    keys = ["curriculum", "lr_schedule", "level", "non_embedding_params", "size", "chance", "threshold"]
    table = (
        table.groupby(keys)
        .agg(
            step=("step", "mean"),
            tokens=("tokens", "mean"),
            reached=("step", "count"),
            n_seeds=("step", "size"),
        )
        .reset_index()
    )
    # A crossing is located to within a checkpoint interval: a fraction of a step or token is noise.
    return table.assign(step=table["step"].round(), tokens=table["tokens"].round())


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
    grid: Grid,
    bootstrap: int = 100,
    seed: int = 0,
    min_sizes: int = MIN_SIZES_FOR_BNSL,
    levels: list[dict] | None = None,
) -> list[dict]:
    """Critical size per curriculum, LR schedule, level and quantity (error = 1 - accuracy, answer loss).

    Args:
        grid: the loaded grid.
        bootstrap: bootstrap resamples for the bnsl break's interval.
        seed: seed of the bootstrap.
        min_sizes: fewest distinct sizes for which a bnsl fit is attempted.
        levels: `level_thresholds(grid)`, if already computed.

    Returns:
        Dicts with `curriculum`, `lr_schedule`, `level`, `quantity`, `sizes`, `means` (seed means by
        size), `chance` (the level's chance accuracy), `at_chance`, `note`, `steepest_step`
        (model-free) and `bnsl` (the fit JSON, or a `skipped` reason). A level that stayed at
        chance, or a curriculum that stayed at chance on it, gets no critical point in either
        quantity: `steepest_step` None and `bnsl` skipped with the note.
    """
    levels = level_thresholds(grid) if levels is None else levels
    by_level = {e["level"]: e for e in levels}
    quantities = {"error": "accuracy_level_", "answer_loss": "answer_loss_level_"}
    out = []
    for quantity, prefix in quantities.items():
        for column in grid.metric_columns(prefix):
            level = int(column.rsplit("_", 1)[1])
            accuracy = f"accuracy_level_{level}"
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
                    "chance": grid.chance_of(accuracy),
                    **_chance_note(grid, by_level.get(level), name, lr),
                }
                if entry["at_chance"]:
                    entry["steepest_step"] = None
                    entry["bnsl"] = {"skipped": entry["note"]}
                    out.append(entry)
                    continue
                entry["steepest_step"] = steepest_step(means.index.to_numpy(), means.to_numpy())
                if len(means) < min_sizes:
                    entry["bnsl"] = {"skipped": f"{len(means)} sizes; a break fit needs {min_sizes}"}
                elif entry["steepest_step"] is None:
                    entry["bnsl"] = {"skipped": "flat across sizes: no break to locate"}
                else:
                    x, y = group["non_embedding_params"].to_numpy(float), group[column].to_numpy(float)
                    entry["bnsl"] = fit_or_skip("bnsl", {"x": x, "loss": y}, bootstrap, seed, breaks=1)
                out.append(entry)
    return out


def _chance_text(grid: Grid, chance: float) -> str:
    """`0.5 (learned from 0.55)`, saying when the chance was not recorded but taken as 0."""
    learned = chance + CHANCE_MARGIN * (1.0 - chance)
    recorded = "" if grid.chance_recorded else ", not recorded: taken as 0"
    return f"{chance:.3g} (learned from {learned:.3g}{recorded})"


def _chance_note(grid: Grid, level: dict | None, name: str, lr: str) -> dict:
    """`at_chance` and `note` for one curriculum and LR schedule on one level."""
    if level is None:  # a level with answer losses but no accuracy: nothing to judge it by
        return {"at_chance": False, "note": None}
    if level["at_chance"]:
        return {"at_chance": True, "note": level["note"]}
    column = f"accuracy_level_{level['level']}"
    runs = grid.runs[(grid.runs["curriculum"] == name) & (grid.runs["lr_schedule"] == lr)]
    best = runs.groupby("non_embedding_params")[column].mean().max()
    if clearly_above_chance(best, level["chance"]):
        return {"at_chance": False, "note": None}
    return {
        "at_chance": True,
        "note": (
            f"'{name}' ({lr}) stayed at chance on level {level['level']}: best seed-mean final "
            f"accuracy {best:.3g} against chance {_chance_text(grid, level['chance'])}; no critical point"
        ),
    }


def fit_or_skip(law: str, data: dict, bootstrap: int, seed: int, **options) -> dict:
    """fit-laws' Fit JSON, or `{"skipped": reason}` when the law rejects the data.

    A grid fits many laws; one that the data cannot support must not stop the others.
    """
    try:
        return fit_law(law, data, bootstrap=bootstrap, seed=seed, **options).to_dict()
    except CurriscaleError as error:
        return {"skipped": str(error)}
