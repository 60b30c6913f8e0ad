"""The robust fitting core shared by every law: Huber loss on log-loss, L-BFGS-B, multi-start.

The objective is the Huber loss of the log residual r = log(pred) - log(obs), divided by delta^2 so
that a residual of one delta costs about 1/2 whatever delta is: the objective is then O(1) per point
and L-BFGS-B's stopping tolerances mean the same thing for every dataset (a tiny, badly scaled
objective is how optimisers "converge" early without moving). Log residuals weigh a 1% miss the
same at loss 5 and loss 1.5; Huber makes a few outlying points cost linearly instead of
quadratically.

Points carry weights: a held-out split is weight 0/1 and a bootstrap resample is the multinomial
count of each point, so every refit evaluates the same design and only the weights change.

Multi-start: every starting point a law proposes is scored by the objective (cheap), and L-BFGS-B
runs from the best `n_starts` of them with the exact analytic gradient. The reported optimum is the
best run; `n_agree` counts how many runs reached the same objective, a direct check that the
optimum is not an accident of one start. Once three runs agree the remaining starts are skipped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from curriscale.errors import CurriscaleError
from curriscale.fit.laws import Law

HUBER_DELTA = 1e-3
# Predictions below this are continued linearly in the log residual, so a start whose prediction
# goes non-positive still gets a finite objective and a gradient pointing back.
PRED_FLOOR = 1e-12


@dataclass
class Optimum:
    """The best point of a multi-start fit and how trustworthy it is.

    Attributes:
        theta: best internal parameter vector.
        objective: the objective there (mean scaled Huber loss over weighted points).
        converged: whether L-BFGS-B stopped on its tolerance or a line search that could not
            improve (not on the iteration cap), with a small projected gradient.
        n_starts: how many L-BFGS-B runs were made (fewer than offered when three agreed early).
        n_agree: how many of them ended within a relative 1e-4 of the best objective.
        grad_norm: infinity norm of the projected gradient at the optimum.
    """

    theta: np.ndarray
    objective: float
    converged: bool
    n_starts: int
    n_agree: int
    grad_norm: float


def objective(
    theta: np.ndarray,
    law: Law,
    design: Any,
    loss: np.ndarray,
    weights: np.ndarray,
    delta: float = HUBER_DELTA,
) -> tuple[float, np.ndarray]:
    """Weighted mean Huber loss of log residuals (scaled by 1/delta^2) and its exact gradient.

    Args:
        theta: internal parameters of `law`.
        law: the law being fitted.
        design: `law.prepare(...)` output for all rows.
        loss: observed loss per row (any value where the weight is 0).
        weights: non-negative weight per row; rows with weight 0 do not count.
        delta: Huber threshold on the log residual.
    """
    pred, jac = law.evaluate(theta, design)
    used = weights > 0
    pred, jac, obs, w = pred[used], jac[used], loss[used], weights[used]
    safe = np.maximum(pred, PRED_FLOOR)
    # log(pred) for pred >= floor, continued linearly below it (C1, so gradients stay consistent).
    log_pred = np.where(
        pred >= PRED_FLOOR, np.log(safe), np.log(PRED_FLOOR) + (pred - PRED_FLOOR) / PRED_FLOOR
    )
    u = (log_pred - np.log(obs)) / delta
    small = np.abs(u) <= 1.0
    huber = np.where(small, 0.5 * u * u, np.abs(u) - 0.5)
    total = w.sum()
    value = float(np.dot(w, huber) / total)
    dlog_pred = 1.0 / safe
    coef = w * np.clip(u, -1.0, 1.0) / delta * dlog_pred / total
    return value, coef @ jac


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's thread pools, inspected once (inspecting costs milliseconds per call)."""
    return ThreadpoolController()


def _projected_gradient(theta: np.ndarray, grad: np.ndarray, bounds: list[tuple[float, float]]) -> float:
    """Infinity norm of the gradient with components pushing into an active bound removed."""
    low, high = np.array(bounds).T
    projected = np.where((theta <= low) & (grad > 0), 0.0, grad)
    projected = np.where((theta >= high) & (projected < 0), 0.0, projected)
    return float(np.max(np.abs(projected))) if projected.size else 0.0


def _best(runs: list) -> tuple[Any, int]:
    """The run with the lowest objective, and how many runs reached it (relative 1e-4)."""
    best = min(runs, key=lambda r: r.fun)
    scale = max(abs(best.fun), 1e-12)
    return best, sum(abs(r.fun - best.fun) <= 1e-4 * scale + 1e-12 for r in runs)


def minimise(
    law: Law,
    design: Any,
    loss: np.ndarray,
    weights: np.ndarray,
    starts: np.ndarray,
    bounds: list[tuple[float, float]],
    delta: float = HUBER_DELTA,
    max_iter: int = 1000,
    stop_after_agree: int = 3,
) -> Optimum:
    """Run L-BFGS-B from each start in turn; return the best optimum with convergence diagnostics.

    Stops early once `stop_after_agree` runs have reached the same best objective: further starts
    would only confirm it.
    """
    low, high = np.array(bounds).T
    runs = []
    # L-BFGS-B calls BLAS on tiny vectors; a threaded BLAS spends 10x the work synchronising.
    with _threadpools().limit(limits=1, user_api="blas"):
        for start in starts:
            result = minimize(
                objective,
                np.clip(start, low, high),
                args=(law, design, loss, weights, delta),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-9},
            )
            runs.append(result)
            best, n_agree = _best(runs)
            if n_agree >= stop_after_agree:
                break
    _, grad = objective(best.x, law, design, loss, weights, delta)
    grad_norm = _projected_gradient(best.x, grad, bounds)
    # Stopping on the tolerance is not enough on its own: also require the gradient to be small
    # relative to the objective's natural scale (O(1) per point). A line search that can no longer
    # improve (status 2, "ABNORMAL") at a vanishing gradient is at the optimum too: with ftol 1e-13
    # that is how a well-determined fit usually ends. Status 1 is the iteration or evaluation cap.
    stopped = best.status in (0, 2) and best.nit < max_iter
    converged = bool(stopped and grad_norm < 1e-2 * max(1.0, best.fun))
    return Optimum(best.x, float(best.fun), converged, len(runs), int(n_agree), grad_norm)


def fit_theta(
    law: Law,
    design: Any,
    loss: np.ndarray,
    weights: np.ndarray,
    n_starts: int = 8,
    delta: float = HUBER_DELTA,
) -> Optimum:
    """Multi-start fit of `law` on the weighted rows of `design`.

    The law's data-derived grid is scored with the objective and L-BFGS-B runs from the `n_starts`
    best candidates.

    Args:
        law: the law to fit.
        design: `law.prepare(inputs)`.
        loss: observed loss per row.
        weights: weight per row (0 = not used).
        n_starts: number of L-BFGS-B runs.
        delta: Huber threshold on the log residual.
    """
    # Laws see the loss with unused rows blanked out, so starts come from the fitted rows only.
    visible = np.where(weights > 0, loss, np.nan)
    bounds = law.bounds(design, visible)
    grid = law.initial_grid(design, visible)
    low, high = np.array(bounds).T
    grid = np.clip(grid[np.all(np.isfinite(grid), axis=1)], low, high)
    if len(grid) == 0:
        raise CurriscaleError(
            f"{law.name} law: no finite starting point on these data (check the loss values)"
        )
    scores = np.array([objective(theta, law, design, loss, weights, delta)[0] for theta in grid])
    order = np.argsort(np.where(np.isfinite(scores), scores, np.inf), kind="stable")
    return minimise(law, design, loss, weights, grid[order[:n_starts]], bounds, delta)
