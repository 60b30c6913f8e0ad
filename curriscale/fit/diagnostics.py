"""When a fit says nothing: parameters at the ends of their search range, a large error, no convergence.

A law fitted to data it does not describe still returns numbers. The telltale signs are the same
for every law, so every fit (`fit law`, each fit of a grid, the report) is judged by this one
function and carries the verdict in `metrics.degenerate` and `metrics.degenerate_reason`:

- a parameter at an end of its search range: the optimiser wanted to go further, so the law's
  shape is not the data's (lam at 0 switches the annealing term's memory off; an irreducible loss
  a millionth of the smallest loss says the curve has no floor);
- a mean relative fit error above `DEGENERATE_FIT_ERROR`: the curve misses the points;
- no convergence of the optimiser.

Such a fit's parameters are not estimates of anything; they must not be read or plotted as a law.
"""

from __future__ import annotations

import numpy as np

from curriscale.fit.laws import Law

# A fit whose mean relative error exceeds this does not describe the data.
DEGENERATE_FIT_ERROR = 0.03
# A parameter within this share of its search range from an end is "at its bound".
BOUND_TOLERANCE = 1e-3


def degeneracy(
    law: Law, theta: np.ndarray, bounds: list[tuple[float, float]], fit_error: float, converged: bool
) -> str | None:
    """Why a fit is degenerate (reasons joined by '; '), or None when it is a real fit.

    Args:
        law: the fitted law.
        theta: the optimum in the law's internal coordinates.
        bounds: the search box the optimiser used (`law.bounds(...)`).
        fit_error: mean relative error of the fit on its points.
        converged: whether the optimiser converged.
    """
    reasons = []
    params = law.to_params(theta)
    for name, value, (low, high) in zip(law.param_names(), theta, bounds, strict=True):
        room = BOUND_TOLERANCE * (high - low)
        if value <= low + room or value >= high - room:
            reasons.append(f"{name} = {params[name]:.3g} is at the bound of its range")
    if fit_error > DEGENERATE_FIT_ERROR:
        reasons.append(f"fit error {fit_error:.1%} > {DEGENERATE_FIT_ERROR:.0%}")
    if not converged:
        reasons.append("the optimiser did not converge")
    return "; ".join(reasons) or None
