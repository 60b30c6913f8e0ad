"""`fit_law`: fit a named law to loss data, with held-out error, bootstrap intervals, break selection.

One call does what a careful analyst would do by hand:
1. fit the law on all observed points (multi-start L-BFGS-B, convergence checked);
2. refit with the largest values of the law's extrapolation input held out (largest model, latest
   step) and report the error there: the number that says whether the law extrapolates;
3. optionally bootstrap the fit for parameter intervals (and keep the draws for prediction bands);
4. for BNSL with `breaks="auto"`, choose the break count by how well each count extrapolates
   (`curriscale.fit.breaks`), so noise is not mistaken for a critical point;
5. judge the fit (`curriscale.fit.diagnostics`): `metrics.degenerate` and its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from curriscale.errors import CurriscaleError
from curriscale.fit.bootstrap import bootstrap_intervals
from curriscale.fit.breaks import select_break_count
from curriscale.fit.data import resolve_columns, role_arrays
from curriscale.fit.diagnostics import degeneracy
from curriscale.fit.fitting import HUBER_DELTA, Optimum, fit_theta
from curriscale.fit.laws import Law, get_law
from curriscale.fit.result import FitResult


def fit_law(
    law_name: str,
    data: Any,
    columns: Mapping[str, str] | None = None,
    *,
    breaks: int | str | None = None,
    decay: float | str | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    heldout_fraction: float = 0.2,
    n_starts: int = 8,
    delta: float = HUBER_DELTA,
    source: str = "data",
) -> FitResult:
    """Fit a scaling law to loss data.

    Args:
        law_name: `power`, `chinchilla`, `bnsl`, `lr-annealing` or `temporal`.
        data: dict of arrays, pyarrow Table or pandas DataFrame.
        columns: role -> column name (roles: power/bnsl `x, loss`; chinchilla `n, d, loss`;
            lr-annealing `step, lr, loss` and optional `run`; temporal `step, position, loss`).
        breaks: BNSL break count, or `"auto"` (default for bnsl) to choose 0-3 by extrapolation.
        decay: LR-annealing decay factor lam: a number fixes it (default 0.999, as the paper),
            `"fit"` fits it.
        bootstrap: number of bootstrap resamples for confidence intervals (0 = none).
        seed: seed for the bootstrap.
        confidence: bootstrap interval coverage.
        heldout_fraction: share of the largest distinct extrapolation-input values held out.
        n_starts: L-BFGS-B runs per fit (from the best points of the law's data-derived grid).
        delta: Huber threshold on the log residual.
        source: how to name the data in error messages.

    Returns:
        The fit; `metrics` holds `fit_error` and `heldout_error` (mean relative error),
        `converged`, `n_starts`, `n_agree`, `best_objective`, `bic`, `degenerate` and
        `degenerate_reason`, `bounds` (each parameter's search range) and, for bnsl with
        breaks="auto", `break_selection`.

    Example:
        >>> fit = fit_law("power", {"x": sizes, "loss": losses}, bootstrap=200)
        >>> fit.params["alpha"], fit.ci["alpha"]
    """
    options = _law_options(law_name, breaks, decay)
    auto = law_name == "bnsl" and options["breaks"] == "auto"
    law = get_law(law_name, **(options | {"breaks": 0} if auto else options))

    resolved = resolve_columns(law, data, columns, source, need_loss=True)
    inputs = role_arrays(law, data, resolved, source)
    loss = inputs.pop("loss")
    observed = np.isfinite(loss)
    if np.any(loss[observed] <= 0):
        raise CurriscaleError(f"{source}: column '{resolved['loss']}' (role 'loss') must be positive")

    selection = None
    if auto:
        count, selection = select_break_count(inputs, loss, observed, n_starts, delta)
        law = get_law("bnsl", breaks=count)
    design, optimum, metrics = _fit_all(law, inputs, loss, observed, n_starts, delta, source)
    if selection is not None:
        metrics["break_selection"] = selection
    metrics.update(_heldout_metrics(law, design, inputs, loss, observed, heldout_fraction, n_starts, delta))

    params = law.to_params(optimum.theta)
    ci, draws = {}, []
    if bootstrap > 0:
        ci, draws, not_converged = bootstrap_intervals(
            law, design, loss, observed, optimum.theta, bootstrap, seed, confidence, delta
        )
        metrics.update(
            bootstrap=bootstrap, confidence=confidence, seed=seed, bootstrap_not_converged=not_converged
        )
    return FitResult(
        law=law.name,
        params=params,
        ci=ci,
        metrics=metrics,
        breaks=law.breaks(params),
        columns=resolved,
        options=law.options(),
        draws=np.asarray(draws).tolist(),
    )


def _law_options(law_name: str, breaks: int | str | None, decay: float | str | None) -> dict[str, Any]:
    """The law's constructor options from `fit_law`'s arguments, refusing those of other laws."""
    if law_name != "bnsl" and breaks is not None:
        raise CurriscaleError(f"--breaks applies to the bnsl law only, not '{law_name}'")
    if law_name != "lr-annealing" and decay is not None:
        raise CurriscaleError(f"--decay applies to the lr-annealing law only, not '{law_name}'")
    if law_name == "bnsl":
        return {"breaks": "auto" if breaks in (None, "auto") else int(breaks)}
    if law_name == "lr-annealing" and decay is not None:
        return {"lam": None if decay == "fit" else float(decay)}
    return {}


def _fit_all(
    law: Law,
    inputs: dict[str, np.ndarray],
    loss: np.ndarray,
    observed: np.ndarray,
    n_starts: int,
    delta: float,
    source: str,
) -> tuple[Any, Optimum, dict[str, Any]]:
    """Fit one law on every observed point; returns (design, optimum, metrics)."""
    n_params = len(law.param_names())
    n = int(observed.sum())
    if n <= n_params:
        raise CurriscaleError(
            f"{source}: the {law.name} law has {n_params} parameters but only {n} loss values"
        )
    law.adapt(inputs)
    design = law.prepare(inputs)
    optimum = fit_theta(law, design, loss, observed.astype(float), n_starts, delta)
    pred, _ = law.evaluate(optimum.theta, design)
    log_residual = np.log(np.maximum(pred[observed], 1e-300)) - np.log(loss[observed])
    fit_error = _relative_error(pred, loss, observed)
    bounds = law.bounds(design, np.where(observed, loss, np.nan))
    reason = degeneracy(law, optimum.theta, bounds, fit_error, optimum.converged)
    metrics: dict[str, Any] = {
        "fit_error": fit_error,
        "rmse_log": float(np.sqrt(np.mean(log_residual**2))),
        # Gaussian-likelihood BIC on log residuals (to compare fits; not how BNSL breaks are chosen).
        "bic": float(n * np.log(np.mean(log_residual**2) + 1e-300) + n_params * np.log(n)),
        "converged": optimum.converged,
        "n_starts": optimum.n_starts,
        "n_agree": optimum.n_agree,
        "best_objective": optimum.objective,
        "grad_norm": optimum.grad_norm,
        "n_points": n,
        "huber_delta": delta,
        "degenerate": reason is not None,
        "degenerate_reason": reason,
        # The search box, so a reader can tell an interval that ends at it (curriscale.fit.diagnostics).
        "bounds": law.public_bounds(bounds),
    }
    return design, optimum, metrics


def _heldout_metrics(
    law: Law,
    design: Any,
    inputs: dict[str, np.ndarray],
    loss: np.ndarray,
    observed: np.ndarray,
    fraction: float,
    n_starts: int,
    delta: float,
) -> dict[str, Any]:
    """Refit without the largest extrapolation-input values; the mean relative error on them."""
    values = inputs[law.extrapolation_role]
    held = heldout_mask(values, observed, fraction)
    train = observed & ~held
    if not held.any() or train.sum() <= len(law.param_names()):
        return {"heldout_error": None, "heldout_points": 0}
    heldout = fit_theta(law, design, loss, train.astype(float), n_starts, delta)
    pred, _ = law.evaluate(heldout.theta, design)
    return {
        "heldout_error": _relative_error(pred, loss, held),
        "heldout_points": int(held.sum()),
        "heldout_role": law.extrapolation_role,
        "heldout_from": float(np.min(values[held])),
        "heldout_converged": heldout.converged,
    }


def heldout_mask(values: np.ndarray, observed: np.ndarray, fraction: float) -> np.ndarray:
    """Observed rows whose value is among the largest `fraction` of distinct observed values.

    At least one distinct value is held out, and none when fewer than three distinct values exist
    (nothing would be left to fit a trend on).
    """
    distinct = np.unique(values[observed])
    if len(distinct) < 3 or fraction <= 0:
        return np.zeros_like(observed)
    n_hold = min(max(1, int(round(fraction * len(distinct)))), len(distinct) - 2)
    return observed & (values >= distinct[-n_hold])


def _relative_error(pred: np.ndarray, loss: np.ndarray, mask: np.ndarray) -> float:
    """Mean |pred - obs| / obs over the masked rows."""
    return float(np.mean(np.abs(pred[mask] - loss[mask]) / loss[mask]))
