"""Carrying a grid's evidence to a model size it did not train: loss laws and speedup trends.

`recommend` decides at a target size N from two extrapolations of `curriscale fit RUNS`:

1. the power law of final eval loss against non-embedding parameters, per curriculum and LR
   schedule: predicted final loss at N (`predict_power`);
2. the trend of the speedup over the static mix with size: a straight line in (log N, log speedup)
   through the grid's sizes, evaluated at N (`speedup_trend`), and the same line weighted by each
   size's interval, for an interval at N (`trend_interval`).

`extrapolation` says how far N lies outside the grid's sizes, where both are guesses.
"""

from __future__ import annotations

import numpy as np

from curriscale.fit.result import FitResult
from curriscale.fit.units import human


def predict_power(fit: dict, size: float) -> float:
    """A fitted `power` law's prediction at `size` (through the law's own formula)."""
    return float(FitResult.from_dict(fit).predict({"x": np.array([float(size)])}, columns={"x": "x"})[0])


def speedup_trend(cells: list[dict], size: float) -> dict[tuple[str, str], float]:
    """Speedup at `size` per (curriculum, LR schedule), from a line in (log N, log speedup)."""
    by_arm: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for cell in cells:
        if cell["speedup"] is not None and cell["speedup"] > 0:
            key = (cell["curriculum"], cell["lr_schedule"])
            by_arm.setdefault(key, []).append((np.log(cell["non_embedding_params"]), np.log(cell["speedup"])))
    trend = {}
    for key, points in by_arm.items():
        x, y = np.array(points).T
        slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, y.mean())
        trend[key] = float(np.exp(intercept + slope * np.log(size)))
    return trend


def best_arm(trend: dict[tuple[str, str], float]) -> tuple[str, str] | None:
    """The (curriculum, LR schedule) with the largest trend speedup; None without a trend."""
    return max(trend, key=trend.get) if trend else None


def trend_interval(cells: list[dict], arm: tuple[str, str] | None, size: float) -> dict | None:
    """The speedup of `arm` at `size` from a weighted line in (log N, log speedup), with its 95% interval.

    Each size's weight is 1 / variance of its log speedup, read from its interval (the interval's
    width over 2 x 1.96); without intervals at two sizes or more there is no interval (None).
    """
    if arm is None:
        return None
    x, y, var = [], [], []
    for cell in cells:
        if (cell["curriculum"], cell["lr_schedule"]) != arm:
            continue
        ci = cell.get("speedup_ci") or [None, None]
        if cell.get("speedup") and cell["speedup"] > 0 and ci[0] and ci[1] and ci[1] > ci[0] > 0:
            x.append(np.log(cell["non_embedding_params"]))
            y.append(np.log(cell["speedup"]))
            var.append(((np.log(ci[1]) - np.log(ci[0])) / (2 * 1.96)) ** 2)
    if len(set(x)) < 2:
        return None
    design = np.column_stack([np.ones(len(x)), x])
    weights = np.diag(1 / np.asarray(var))
    covariance = np.linalg.inv(design.T @ weights @ design)
    coef = covariance @ design.T @ weights @ np.asarray(y)
    at = np.array([1.0, np.log(size)])
    mean, se = float(at @ coef), float(np.sqrt(at @ covariance @ at))
    return {
        "curriculum": arm[0],
        "lr_schedule": arm[1],
        "speedup": float(np.exp(mean)),
        "ci": [float(np.exp(mean - 1.96 * se)), float(np.exp(mean + 1.96 * se))],
        "sizes": len(set(x)),
    }


def extrapolation(size: float, sizes: list[float]) -> str | None:
    """A warning saying how far `size` lies outside the grid's `sizes`, or None inside them."""
    if not sizes or sizes[0] <= size <= sizes[-1]:
        return None
    if size > sizes[-1]:
        ratio, where, edge = size / sizes[-1], "beyond the largest", sizes[-1]
    else:
        ratio, where, edge = sizes[0] / size, "below the smallest", sizes[0]
    times = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.2g}"
    return f"{human(size)} params is {times}x {where} size in the grid ({human(edge)}): extrapolated"
