"""Bootstrap confidence intervals for fitted law parameters.

Each resample draws the observed points with replacement (as multinomial counts used as weights,
so the design is never copied) and refits from the full-data optimum with one L-BFGS-B run: the
optimum of a resample lies near the full-data one, and restarting the whole grid per resample
would multiply the cost by the number of starts for no gain. Intervals are percentile intervals of
the fitted public parameters (a parameter the law holds fixed has none); the draws themselves are
returned too, for prediction bands.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from curriscale.fit.fitting import HUBER_DELTA, minimise
from curriscale.fit.laws import Law


def bootstrap_intervals(
    law: Law,
    design: Any,
    loss: np.ndarray,
    observed: np.ndarray,
    theta: np.ndarray,
    n_resamples: int,
    seed: int = 0,
    confidence: float = 0.95,
    delta: float = HUBER_DELTA,
) -> tuple[dict[str, list[float]], np.ndarray, int]:
    """Percentile intervals of each parameter over `n_resamples` bootstrap refits.

    Args:
        law: the fitted law.
        design: `law.prepare(inputs)` for all rows.
        loss: observed loss per row.
        observed: mask of rows that count as observations.
        theta: the full-data optimum (internal parameters), the start of every refit.
        n_resamples: number of bootstrap resamples.
        seed: seed of the resampling generator.
        confidence: interval coverage, e.g. 0.95 for the 2.5-97.5 percentiles.
        delta: Huber threshold on the log residual.

    Returns:
        `{param: [low, high]}` per fitted parameter, the (resamples, params) array of draws of every
        public parameter (`law.public_names()` order, fixed ones included), and the number of
        refits that did not converge (kept: dropping them would bias the intervals).
    """
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(observed)
    names = law.public_names()
    draws = np.empty((n_resamples, len(names)))
    not_converged = 0
    bounds = law.bounds(design, np.where(observed, loss, np.nan))
    for b in range(n_resamples):
        weights = np.zeros(len(loss))
        weights[rows] = rng.multinomial(len(rows), np.full(len(rows), 1.0 / len(rows)))
        optimum = minimise(law, design, loss, weights, theta[None, :], bounds, delta)
        not_converged += not optimum.converged
        draws[b] = list(law.to_params(optimum.theta).values())
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    fitted = set(law.param_names())
    ci = {
        name: [float(lo), float(hi)] for name, lo, hi in zip(names, low, high, strict=True) if name in fitted
    }
    return ci, draws, not_converged
