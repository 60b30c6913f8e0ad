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

from curriscale.fit.laws import LOG, LOG1M, Law, get_law

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


def degenerate_counts(documents: dict) -> dict[str, tuple[int, int]]:
    """Per law, (degenerate, fitted) over every fit a grid's documents hold (`fit_grid`'s output).

    Reads the power-law and joint (chinchilla) scaling fits, the LR-annealing and temporal fits
    in `fits`, and the BNSL break fits in `critical_points`; skipped fits are not counted.
    """
    fits, critical = documents.get("fits", {}), documents.get("critical_points", {})
    found = [r["fit"] for key in ("scaling", "chinchilla", "lr_annealing") for r in fits.get(key) or []]
    found += [r["fit"] for r in (fits.get("temporal") or {}).get("runs", []) if "fit" in r]
    found += [e["bnsl"] for e in critical.get("critical_sizes", [])]
    counts: dict[str, tuple[int, int]] = {}
    for fit in found:
        if "params" not in fit:
            continue
        bad, total = counts.get(fit["law"], (0, 0))
        counts[fit["law"]] = (bad + bool(fit["metrics"].get("degenerate")), total + 1)
    return counts


def at_bound(fit: dict, name: str, value: float | None) -> bool:
    """Whether `value` of parameter `name` sits at an end of the saved fit's search range.

    Judged as `degeneracy` judges an optimum, in the optimiser's coordinates (log for scale
    parameters), within `BOUND_TOLERANCE` of the range; used for the ends of bootstrap intervals,
    which pile up at a bound when the data do not pin the parameter down. False when the fit
    predates recorded bounds (`metrics.bounds`) or the value is missing.
    """
    bounds = (fit.get("metrics") or {}).get("bounds", {}).get(name)
    if not bounds or value is None or None in bounds:
        return False
    transform = dict(get_law(fit["law"], **(fit.get("options") or {})).spec()).get(name)
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == LOG:
            ends, point = np.log(bounds), np.log(value)
        elif transform == LOG1M:
            ends, point = np.log1p(-np.asarray(bounds)), np.log1p(-value)
        else:
            ends, point = np.asarray(bounds, float), float(value)
    low, high = np.sort(ends)
    if not (np.isfinite(low) and np.isfinite(high) and np.isfinite(point)):
        return False
    room = BOUND_TOLERANCE * (high - low)
    return bool(point <= low + room or point >= high - room)
