"""Curriculum versus static mix: speedup, final-metric differences, crossover size, LR interaction.

For each model size and LR schedule, every curriculum is compared with the baseline (the curriculum
whose manifest pacing is `static`, unless named) over its seeds:

- speedup: with L* the worse of the two mean final eval losses, tokens the baseline needs to reach
  L* divided by tokens the curriculum needs. When the curriculum ends better this is exactly
  "baseline tokens / curriculum tokens to reach the baseline's final loss"; when it ends worse it is
  below 1 instead of undefined, so the speedup has a value (and a sign in log) at every size.
  Crossings are interpolated on the seed-mean eval-loss curve in log tokens, where loss curves
  are close to straight.
- final-metric differences (curriculum - baseline) for eval loss, OOD loss/accuracy, per-level
  accuracy and documents drawn per tier: negative loss differences favour the curriculum. An
  accuracy difference also carries the metric's `chance` accuracy and `at_chance`: true when
  neither arm is clearly above chance (`clearly_above_chance`), so the difference is between two
  guess rates (or a guess rate and a model that has not learned the answer format) and says
  nothing about the skill.
- every interval is a percentile bootstrap that resamples seeds within each arm independently,
  widened for the small number of seeds (see `_boot`); an arm with one seed gives no interval. Measured coverage of the nominal 95% interval
  of a mean difference with normal noise: 86% with 3 seeds per arm, 89% with 5, 94% with 10; so
  read 3-seed intervals as roughly 85% ones. The per-seed table pairs runs by seed number for a
  plain look at the spread.
- crossover: the size where the final-loss difference (or log speedup) changes sign, interpolated
  linearly in log N between the two sizes around the change.
- LR interaction: how much a curriculum's effect changes between LR schedules, with an interval.
- averaged vs raw weights (`averaging`): runs trained with `--ema-decay` also record the metrics of
  their weights' moving average (`ema_eval_loss`, `ema_accuracy_level_1`, ...). Per curriculum, LR
  schedule and size, the final averaged metric is set against the raw one of the same runs: the
  difference (averaged - raw) is paired by run and its interval resamples the runs. This compares
  every curriculum, the baseline included, and needs no second curriculum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriscale.errors import CurriscaleError
from curriscale.fit.runs import Grid, clearly_above_chance

CI_LEVEL = 0.95
_COMPARED_PREFIXES = ("accuracy_level_", "ood_accuracy_level_", "documents_tier_", "eval_loss_level_")
_COMPARED = ("eval_loss", "ood_eval_loss", "mean_accuracy", "ood_mean_accuracy")
# Metrics of the averaged weights carry this prefix (curriscale.train.averaging).
AVERAGED_PREFIX = "ema_"


def find_baseline(grid: Grid, baseline: str | None = None) -> str:
    """Name of the static-mix curriculum: `baseline` if given, else the one whose pacing is static."""
    names = sorted(grid.runs["curriculum"].unique())
    if baseline is not None:
        if baseline not in names:
            raise CurriscaleError(f"baseline curriculum {baseline!r} is not in the grid (has {names})")
        return baseline
    static = sorted(grid.runs.loc[grid.runs["pacing_kind"] == "static", "curriculum"].unique())
    if len(static) != 1:
        found = "none" if not static else static
        raise CurriscaleError(
            f"cannot tell the static-mix baseline: curricula with pacing kind 'static': {found}; "
            f"pass baseline=NAME (one of {names})"
        )
    return static[0]


def tokens_to_reach(tokens: np.ndarray, curves: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Tokens at which each loss curve first reaches its target (NaN if it never does).

    Args:
        tokens: (P,) increasing token counts of the checkpoints.
        curves: (B, P) loss curves, one per row.
        targets: (B,) target loss per row.

    Returns:
        (B,) tokens, interpolated linearly in log tokens between the checkpoints around the crossing.
    """
    curves = np.atleast_2d(curves)
    targets = np.broadcast_to(targets, curves.shape[:1])
    # A relative tolerance so a curve's own final value counts as reaching it.
    below = curves <= targets[:, None] + 1e-12 * np.abs(targets[:, None])
    first = below.argmax(axis=1)
    prev = np.maximum(first - 1, 0)
    rows = np.arange(len(curves))
    y0, y1 = curves[rows, prev], curves[rows, first]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where((first > 0) & (y0 != y1), (y0 - targets) / (y0 - y1), 0.0)
    log_t = np.log(tokens)
    reached = log_t[prev] + frac * (log_t[first] - log_t[prev])
    return np.where(below.any(axis=1), np.exp(reached), np.nan)


def speedup(tokens: np.ndarray, base: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Speedup of `cur` over `base` (see the module docstring); both (B, P) on the same tokens."""
    base, cur = np.atleast_2d(base), np.atleast_2d(cur)
    target = np.maximum(base[:, -1], cur[:, -1])
    return tokens_to_reach(tokens, base, target) / tokens_to_reach(tokens, cur, target)


def compare_grid(grid: Grid, baseline: str | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """Compare every curriculum with the static-mix baseline, cell by cell.

    Args:
        grid: the loaded grid.
        baseline: the baseline curriculum's name; default: the one with static pacing.
        n_boot: bootstrap resamples of the seeds.
        seed: seed of the bootstrap.

    Returns:
        A JSON-ready dict with `baseline`, `cells` (one per curriculum x size x LR schedule),
        `per_seed`, `crossover` and `lr_interaction` (see the module docstring); for a grid of one
        curriculum, empty lists, no baseline and a `note`.
    """
    names = sorted(grid.runs["curriculum"].unique())
    rng = np.random.default_rng(seed)
    # Drawn first so the curriculum comparison's draws are the same with or without averaged runs.
    averaging = averaged_vs_raw(grid, n_boot, np.random.default_rng([seed, 1]))
    if len(names) == 1 and baseline in (None, names[0]):
        # Nothing to compare; the grid's other fits still stand.
        return {"baseline": None, "note": f"the grid has one curriculum ({names[0]!r}): nothing to compare",
                "ci_level": CI_LEVEL, "n_boot": n_boot, "cells": [], "per_seed": [], "crossover": [],
                "lr_interaction": [], "averaging": averaging}  # fmt: skip
    base_name = find_baseline(grid, baseline)
    metrics = [m for m in _COMPARED if m in grid.runs] + [
        c for prefix in _COMPARED_PREFIXES for c in grid.metric_columns(prefix)
    ]
    cells, per_seed, draws = [], [], {}
    keys = ["non_embedding_params", "size", "lr_schedule"]
    for (n, size, lr), group in grid.runs.groupby(keys, sort=True):
        base_runs = group[group["curriculum"] == base_name]
        if base_runs.empty:
            continue
        base_curve = _curves(grid, base_runs)
        for name, cur_runs in group[group["curriculum"] != base_name].groupby("curriculum"):
            tokens, base, cur = _align(base_curve, _curves(grid, cur_runs))
            boot_speedup = speedup(tokens, _boot(base, rng, n_boot), _boot(cur, rng, n_boot))
            cell = {
                "curriculum": name,
                "size": size,
                "non_embedding_params": int(n),
                "lr_schedule": lr,
                "n_seeds": len(cur_runs),
                "baseline_n_seeds": len(base_runs),
                "speedup": float(speedup(tokens, base.mean(0), cur.mean(0))[0]),
                "speedup_ci": _ci(boot_speedup),
                "effects": {},
            }
            for metric in metrics:
                effect = mean_difference(
                    cur_runs[metric].to_numpy(float), base_runs[metric].to_numpy(float), rng, n_boot
                )
                if effect is not None:
                    cell["effects"][metric], draws[(name, lr, n, metric)] = effect
                    if metric in grid.chance:
                        cell["effects"][metric] |= _chance(cell["effects"][metric], grid.chance[metric])
            draws[(name, lr, n, "log_speedup")] = np.log(boot_speedup)
            cells.append(cell)
            per_seed += _per_seed(name, size, lr, tokens, base_runs, base, cur_runs, cur)
    if not cells:
        raise CurriscaleError(
            f"{grid.root}: no cell has both the baseline {base_name!r} and another curriculum"
        )
    return {
        "baseline": base_name,
        "ci_level": CI_LEVEL,
        "n_boot": n_boot,
        "cells": cells,
        "per_seed": per_seed,
        "crossover": _crossovers(cells),
        "lr_interaction": _lr_interaction(cells, draws),
        "averaging": averaging,
    }


def averaged_vs_raw(grid: Grid, n_boot: int, rng: np.random.Generator) -> list[dict]:
    """Final metrics of the averaged weights against the raw ones, per curriculum, LR schedule and size.

    Only runs that recorded `ema_eval_loss` take part (a cell mixing runs with and without an
    average uses those with one). Each row has `n_seeds` and `effects`: per metric with an
    averaged twin (eval loss first, then OOD loss and accuracies), `raw` and `averaged` seed means,
    `diff` (averaged - raw: negative favours the average for a loss, positive for an accuracy) and
    its interval `ci`, paired by run (None with one run).

    Returns:
        The rows, sorted by curriculum, LR schedule and size; empty when no run averaged its weights.
    """
    averaged = AVERAGED_PREFIX + "eval_loss"
    if averaged not in grid.runs:
        return []
    runs = grid.runs[grid.runs[averaged].notna()]
    metrics = [
        m for m in (*_COMPARED, *grid.metric_columns("accuracy_level_")) if AVERAGED_PREFIX + m in runs
    ]
    out = []
    keys = ["curriculum", "lr_schedule", "non_embedding_params", "size"]
    for (name, lr, n, size), group in runs.groupby(keys, sort=True):
        row = {"curriculum": name, "lr_schedule": lr, "size": size, "non_embedding_params": int(n),
               "n_seeds": len(group), "effects": {}}  # fmt: skip
        for metric in metrics:
            pairs = group[[metric, AVERAGED_PREFIX + metric]].dropna().to_numpy(float)
            if not len(pairs):
                continue
            diffs = pairs[:, 1] - pairs[:, 0]
            row["effects"][metric] = {
                "raw": float(pairs[:, 0].mean()),
                "averaged": float(pairs[:, 1].mean()),
                "diff": float(diffs.mean()),
                "ci": _ci(_boot(diffs, rng, n_boot)),
            }
        out.append(row)
    return out


def crossover_sizes(sizes: np.ndarray, values: np.ndarray) -> list[float]:
    """Sizes where `values` (ordered by size) change sign, interpolated linearly in log size."""
    order = np.argsort(sizes)
    x, y = np.log(np.asarray(sizes, float)[order]), np.asarray(values, float)[order]
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    change = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)
    crossings = x[change] - y[change] * (x[change + 1] - x[change]) / (y[change + 1] - y[change])
    return [float(v) for v in np.exp(np.concatenate([crossings, x[y == 0]]))]


def _curves(grid: Grid, runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, eval-loss curves) of `runs`, every run put on the first run's checkpoints."""
    evals = grid.curves[grid.curves["run"].isin(runs["run"]) & grid.curves["eval_loss"].notna()]
    by_run = [g for _, g in evals.groupby("run", sort=True)]
    tokens = by_run[0]["tokens"].to_numpy(float)
    curves = [np.interp(np.log(tokens), np.log(g["tokens"].to_numpy(float)), g["eval_loss"]) for g in by_run]
    return tokens, np.array(curves)


def _align(base: tuple[np.ndarray, np.ndarray], cur: tuple[np.ndarray, np.ndarray]):
    """Put the curriculum's curves on the baseline's checkpoints (they match when budgets match)."""
    tokens = base[0]
    cur_curves = np.array([np.interp(np.log(tokens), np.log(cur[0]), c) for c in cur[1]])
    return tokens, base[1], cur_curves


def _boot(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Bootstrap means over axis 0 (seeds): (S, ...) -> (n_boot, ...).

    With S seeds the bootstrap mean's spread is sqrt((S - 1) / S) of the standard error, which
    matters at the 2-5 seeds grids have: the draws are widened by sqrt(S / (S - 1)) around the mean.
    One seed says nothing about the spread: its draws are NaN, so every interval built on them is
    None rather than a zero-width interval that would look like certainty.
    """
    n = len(values)
    if n < 2:
        return np.full((n_boot, *values.shape[1:]), np.nan)
    picks = rng.integers(0, n, size=(n_boot, n))
    mean = values.mean(axis=0)
    return mean + (values[picks].mean(axis=1) - mean) * np.sqrt(n / max(n - 1, 1))


def _ci(draws: np.ndarray) -> list[float | None]:
    finite = draws[np.isfinite(draws)]
    # No bootstrap, or mostly undefined draws (a curve that never reaches its target): no interval.
    if draws.size == 0 or finite.size < 0.5 * draws.size:
        return [None, None]
    tail = 100 * (1 - CI_LEVEL) / 2
    return [float(v) for v in np.percentile(finite, [tail, 100 - tail])]


def mean_difference(cur: np.ndarray, base: np.ndarray, rng: np.random.Generator, n_boot: int):
    """Mean difference cur - base with its bootstrap interval, or None if either arm lacks data."""
    cur, base = cur[np.isfinite(cur)], base[np.isfinite(base)]
    if cur.size == 0 or base.size == 0:
        return None
    draws = _boot(cur, rng, n_boot) - _boot(base, rng, n_boot)
    summary = {
        "curriculum": float(cur.mean()),
        "baseline": float(base.mean()),
        "diff": float(cur.mean() - base.mean()),
        "ci": _ci(draws),
    }
    return summary, draws


def _chance(effect: dict, chance: float) -> dict:
    """The chance accuracy of an accuracy effect, and whether both arms stayed at it."""
    best = max(effect["curriculum"], effect["baseline"])
    return {"chance": chance, "at_chance": not clearly_above_chance(best, chance)}


def _per_seed(name, size, lr, tokens, base_runs, base, cur_runs, cur) -> list[dict]:
    """Runs paired by seed number: final eval loss of each arm and the pair's speedup."""
    base_by_seed = dict(zip(base_runs.sort_values("run")["seed"], base, strict=True))
    rows = []
    for seed, curve in zip(cur_runs.sort_values("run")["seed"], cur, strict=True):
        if seed in base_by_seed:
            paired = base_by_seed[seed]
            rows.append(
                {
                    "curriculum": name,
                    "size": size,
                    "lr_schedule": lr,
                    "seed": int(seed),
                    "eval_loss": float(curve[-1]),
                    "baseline_eval_loss": float(paired[-1]),
                    "diff": float(curve[-1] - paired[-1]),
                    "speedup": float(speedup(tokens, paired, curve)[0]),
                }
            )
    return rows


def _crossovers(cells: list[dict]) -> list[dict]:
    """Per curriculum and LR schedule: sizes where the final-loss difference / log speedup flip sign."""
    table = pd.DataFrame(
        [
            {
                "curriculum": c["curriculum"],
                "lr_schedule": c["lr_schedule"],
                "n": c["non_embedding_params"],
                "diff": c["effects"]["eval_loss"]["diff"],
                "log_speedup": np.log(c["speedup"]),
            }
            for c in cells
        ]
    )
    out = []
    for (name, lr), group in table.groupby(["curriculum", "lr_schedule"]):
        n = group["n"].to_numpy(float)
        out.append(
            {
                "curriculum": name,
                "lr_schedule": lr,
                "sizes": [int(v) for v in n],
                "eval_loss_diff": [float(v) for v in group["diff"]],
                "eval_loss_crossover": crossover_sizes(n, group["diff"].to_numpy()),
                "speedup_crossover": crossover_sizes(n, group["log_speedup"].to_numpy()),
            }
        )
    return out


def _lr_interaction(cells: list[dict], draws: dict) -> list[dict]:
    """How a curriculum's effect changes from the reference LR schedule (first by name) to the others."""
    schedules = sorted({c["lr_schedule"] for c in cells})
    out = []
    for cell in cells:
        name, lr, n = cell["curriculum"], cell["lr_schedule"], cell["non_embedding_params"]
        reference = schedules[0]
        if lr == reference or (name, reference, n, "eval_loss") not in draws:
            continue
        row = {
            "curriculum": name,
            "size": cell["size"],
            "non_embedding_params": n,
            "reference": reference,
            "lr_schedule": lr,
        }
        for metric in ("eval_loss", "log_speedup"):
            delta = draws[(name, lr, n, metric)] - draws[(name, reference, n, metric)]
            point = _point(cells, name, lr, n, metric) - _point(cells, name, reference, n, metric)
            row[f"{metric}_change"], row[f"{metric}_change_ci"] = float(point), _ci(delta)
        out.append(row)
    return out


def _point(cells: list[dict], name: str, lr: str, n: int, metric: str) -> float:
    cell = next(
        c for c in cells if (c["curriculum"], c["lr_schedule"], c["non_embedding_params"]) == (name, lr, n)
    )
    return float(np.log(cell["speedup"])) if metric == "log_speedup" else cell["effects"][metric]["diff"]
