"""How many breaks a BNSL fit gets: the count whose fits extrapolate best, within a parameter budget.

Real break-finding data are short: 10-20 points, one visible break. An information criterion
(BIC) on so few points does not stop over-fitting: three breaks (12 parameters) thread the noise
of 14 points, win on likelihood, and extrapolate wildly. What the user wants from the count is
extrapolation, so that is what is measured:

1. Budget. A count is a candidate only if the full data hold `POINTS_PER_PARAMETER` points per
   parameter (3 + 3 k parameters for k breaks): 14 points allow one break, 20 allow two.
2. Forward-chaining validation. Each candidate is fitted on the points below a cut in x and scored
   on the points at and above it, the mean |log(pred / observed)|; the cuts are the last
   `TAIL_SHARE` of the distinct x values (at most `MAX_CUTS` of them, at least `MIN_CUTS`). The
   score is the median over cuts, so one cut where a break was not yet visible in the fitted part
   does not decide alone.
3. Parsimony. Counts are tried from 0 up and the search stops at the first count that scores no
   better than the best so far (a break that does not help extrapolate is noise; this also spares
   the costly many-break fits). The fewest breaks whose score is within `SCORE_TOLERANCE`
   (relative) of the best score win: more breaks must extrapolate clearly better to be believed.

The choice, every candidate's score and the reason are returned for `metrics.break_selection`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from curriscale.fit.fitting import fit_theta
from curriscale.fit.laws import get_law

MAX_BREAKS = 3
POINTS_PER_PARAMETER = 2.0
TAIL_SHARE = 0.25
MIN_CUTS, MAX_CUTS = 3, 4
SCORE_TOLERANCE = 0.15
# L-BFGS-B runs per validation fit (the final fit uses the caller's count).
VALIDATION_STARTS = 4


def break_budget(n_points: int) -> int:
    """The most breaks `n_points` points support: 3 + 3 k parameters at POINTS_PER_PARAMETER each."""
    return int(min(MAX_BREAKS, max(0, (n_points / POINTS_PER_PARAMETER - 3) // 3)))


def validation_cuts(x: np.ndarray) -> np.ndarray:
    """Cut points in x: fits see x below a cut and are scored at and above it.

    The last TAIL_SHARE of the distinct values (between MIN_CUTS and MAX_CUTS of them, spread
    evenly), never leaving fewer than half of the distinct values below the first cut.
    """
    distinct = np.unique(x)
    count = int(np.clip(round(TAIL_SHARE * len(distinct)), MIN_CUTS, len(distinct) // 2))
    tail = distinct[len(distinct) - count :]
    if len(tail) > MAX_CUTS:
        tail = tail[np.linspace(0, len(tail) - 1, MAX_CUTS).round().astype(int)]
    return tail


def select_break_count(
    inputs: dict[str, np.ndarray], loss: np.ndarray, observed: np.ndarray, n_starts: int, delta: float
) -> tuple[int, dict[str, Any]]:
    """The break count to fit (see the module docstring) and the record of why.

    Args:
        inputs: the law's inputs (`x`).
        loss: observed loss per row (NaN where not observed).
        observed: mask of rows with a loss.
        n_starts: L-BFGS-B runs per fit.
        delta: Huber threshold on the log residual.

    Returns:
        The count, and `{"method", "budget", "cuts", "scores", "reason"}` with `scores` mapping
        each candidate count (as a string) to its median extrapolation error.
    """
    n_points = int(observed.sum())
    budget = break_budget(n_points)
    cuts = validation_cuts(inputs["x"][observed])
    starts = min(n_starts, VALIDATION_STARTS)
    scores: dict[int, float | None] = {}
    for k in range(budget + 1):
        best_so_far = min((s for s in scores.values() if s is not None), default=None)
        scores[k] = _extrapolation_score(k, inputs, loss, observed, cuts, starts, delta)
        if scores[k] is None or (best_so_far is not None and scores[k] >= best_so_far):
            break
    scored = {k: s for k, s in scores.items() if s is not None}
    if not scored:
        chosen, reason = 0, "too few points below the validation cuts to score any break count"
    else:
        best = min(scored.values())
        chosen = min(k for k, s in scored.items() if s <= best * (1.0 + SCORE_TOLERANCE))
        reason = _reason(chosen, scored, max(scores), budget, n_points)
    record = {
        "method": "forward-chaining extrapolation",
        "budget": budget,
        "cuts": [float(c) for c in cuts],
        "scores": {str(k): s for k, s in scores.items()},
        "reason": reason,
    }
    return chosen, record


def _extrapolation_score(
    k: int,
    inputs: dict[str, np.ndarray],
    loss: np.ndarray,
    observed: np.ndarray,
    cuts: np.ndarray,
    n_starts: int,
    delta: float,
) -> float | None:
    """Median over cuts of the mean |log(pred / obs)| beyond the cut, fitting k breaks below it."""
    law = get_law("bnsl", breaks=k)
    design = law.prepare(inputs)
    n_params = len(law.param_names())
    errors = []
    for cut in cuts:
        train, test = observed & (inputs["x"] < cut), observed & (inputs["x"] >= cut)
        if train.sum() <= n_params:
            continue
        optimum = fit_theta(law, design, loss, train.astype(float), n_starts, delta)
        pred = law.evaluate(optimum.theta, design)[0][test]
        errors.append(float(np.mean(np.abs(np.log(np.maximum(pred, 1e-300) / loss[test])))))
    return float(np.median(errors)) if errors else None


def _reason(chosen: int, scores: dict[int, float], tried: int, budget: int, n_points: int) -> str:
    """One sentence: the chosen count, its score against the others', and why no more were tried."""
    best = min(scores.values())
    others = ", ".join(f"{k} break(s) {s:.2%}" for k, s in scores.items() if k != chosen)
    text = f"{chosen} break(s): median extrapolation error {scores[chosen]:.2%}"
    text += f" vs {others}" if others else ""
    if scores[chosen] > best:
        text += f"; within {SCORE_TOLERANCE:.0%} of the best, so the fewer breaks win"
    if tried < budget:
        text += f"; {tried + 1}+ breaks not tried: {tried} extrapolated no better than fewer"
    elif budget < MAX_BREAKS:
        text += (
            f"; {budget + 1}+ breaks exceed the budget of {POINTS_PER_PARAMETER:g} points per parameter"
            f" ({n_points} points)"
        )
    return text
