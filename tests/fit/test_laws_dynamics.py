"""Training-dynamics laws: LR annealing across schedules, temporal per-position loss across steps.

Curves are generated from the laws themselves (known parameters, 0.3-0.5% multiplicative noise on
the observed points). Stated tolerances: a law fitted on one schedule predicts another schedule's
whole curve within 1% mean relative error; the temporal law fitted on the early checkpoints
predicts the later ones within 1%.
"""

from __future__ import annotations

import numpy as np
import pytest

from curriscale.errors import CurriscaleError
from curriscale.fit.api import fit_law
from curriscale.fit.laws import get_law
from curriscale.fit.result import FitResult

STEPS = np.arange(1, 3001)
TRUTH = {"L0": 2.0, "A": 1.5, "C": 0.5, "alpha": 0.5, "lam": 0.999}


def schedule(kind: str, peak: float = 1e-3, warmup: int = 100) -> np.ndarray:
    """Learning rate per step: linear warmup, then cosine (to 10%), WSD, or step decay."""
    lr = np.empty(len(STEPS))
    warm = STEPS <= warmup
    lr[warm] = peak * STEPS[warm] / warmup
    progress = (STEPS[~warm] - warmup) / (len(STEPS) - warmup)
    if kind == "cosine":
        lr[~warm] = peak * (0.1 + 0.45 * (1 + np.cos(np.pi * progress)))
    elif kind == "wsd":
        lr[~warm] = np.where(progress < 0.8, peak, peak * (1 - 0.99 * (progress - 0.8) / 0.2))
    elif kind == "constant":
        lr[~warm] = peak
    elif kind == "step":
        lr[~warm] = peak * np.where(progress < 0.5, 1.0, np.where(progress < 0.75, 0.3, 0.1))
    return lr


def true_curve(lr: np.ndarray) -> np.ndarray:
    law = get_law("lr-annealing")
    return law.evaluate(law.from_params(TRUTH), law.prepare({"step": STEPS.astype(float), "lr": lr}))[0]


def observed(curve: np.ndarray, seed: int, every: int = 10, sigma: float = 0.003) -> np.ndarray:
    """Loss evaluated every `every` steps with noise, empty (NaN) elsewhere."""
    rng = np.random.default_rng(seed)
    loss = np.full(len(curve), np.nan)
    rows = np.arange(every - 1, len(curve), every)
    loss[rows] = curve[rows] * np.exp(rng.normal(0.0, sigma, len(rows)))
    return loss


def mean_relative_error(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - truth) / truth))


def test_annealing_law_fitted_on_cosine_predicts_other_schedules_within_one_percent():
    cosine = schedule("cosine")
    fit = fit_law("lr-annealing", {"step": STEPS, "lr": cosine, "loss": observed(true_curve(cosine), seed=0)})
    assert fit.metrics["converged"]
    assert abs(fit.params["alpha"] - 0.5) <= 0.05 * 0.5
    assert fit.metrics["n_points"] == 300 and fit.metrics["heldout_role"] == "step"
    for kind in ("wsd", "step", "constant"):
        lr = schedule(kind)
        error = mean_relative_error(fit.predict({"step": STEPS, "lr": lr}), true_curve(lr))
        assert error < 0.01, (kind, error)


def test_annealing_law_shares_parameters_across_runs():
    runs = {"cosine": schedule("cosine"), "constant": schedule("constant")}
    table = {
        "run": np.repeat(list(runs), len(STEPS)).astype(object),
        "step": np.tile(STEPS, 2),
        "lr": np.concatenate(list(runs.values())),
        "loss": np.concatenate([observed(true_curve(lr), seed=i) for i, lr in enumerate(runs.values())]),
    }
    # Rows in any order: the law sorts each run by step and answers in input order.
    order = np.random.default_rng(0).permutation(len(table["step"]))
    table = {key: value[order] for key, value in table.items()}
    fit = fit_law("lr-annealing", table)
    assert fit.columns["run"] == "run"
    pred = fit.predict(table)
    truth = np.concatenate([true_curve(lr) for lr in runs.values()])[order]
    assert mean_relative_error(pred, truth) < 0.005
    wsd = schedule("wsd")
    assert mean_relative_error(fit.predict({"step": STEPS, "lr": wsd}), true_curve(wsd)) < 0.01


def test_annealing_decay_is_fixed_at_the_papers_value_unless_fitted():
    cosine = schedule("cosine")
    data = {"step": STEPS, "lr": cosine, "loss": observed(true_curve(cosine), seed=1)}
    fixed = fit_law("lr-annealing", data)
    assert fixed.params["lam"] == 0.999 and fixed.options == {"lam": 0.999} and "lam" not in fixed.ci
    fitted = fit_law("lr-annealing", data, decay="fit")
    assert fitted.options == {"lam": None} and 0.9 < fitted.params["lam"] < 1.0
    # A fit file from before lam could be fixed has no option: it fitted lam, and predicts with it.
    legacy = fitted.to_dict() | {"options": {}}
    assert FitResult.from_dict(legacy).options == {"lam": None}
    wsd = schedule("wsd")
    assert np.allclose(FitResult.from_dict(legacy).predict({"step": STEPS, "lr": wsd}),
                       fitted.predict({"step": STEPS, "lr": wsd}))  # fmt: skip
    with pytest.raises(CurriscaleError, match="--decay applies to the lr-annealing law only"):
        fit_law("power", {"x": np.logspace(4, 9, 10), "loss": np.linspace(3, 2, 10)}, decay=0.99)


def test_annealing_law_rejects_gaps_in_steps():
    with pytest.raises(CurriscaleError, match="one row per optimiser step"):
        fit_law(
            "lr-annealing", {"step": np.arange(0, 200, 2), "lr": np.full(100, 1e-3), "loss": np.ones(100)}
        )


TEMPORAL_TRUTH = {"a0": 3.0, "a1": 0.2, "a2": 2.5, "b0": -0.3, "b1": 0.1, "b2": -0.08}


def test_temporal_law_predicts_later_checkpoints_from_early_ones():
    steps = np.round(np.logspace(2, 4, 12))
    positions = np.arange(0.0, 128.0, 4.0)
    step, position = (grid.ravel() for grid in np.meshgrid(steps, positions, indexing="ij"))
    law = get_law("temporal", step_ref=1000.0)
    truth = law.evaluate(law.from_params(TEMPORAL_TRUTH), law.prepare({"step": step, "position": position}))[
        0
    ]
    loss = truth * np.exp(np.random.default_rng(0).normal(0.0, 0.005, len(truth)))
    early = step <= steps[7]  # fit on 8 checkpoints up to ~1.9k steps, predict 2.8k-10k
    fit = fit_law("temporal", {"step": step[early], "position": position[early], "loss": loss[early]})
    assert fit.metrics["converged"]
    for name in ("b0", "b1", "b2"):
        assert abs(fit.params[name] - TEMPORAL_TRUTH[name]) <= 0.05 * abs(TEMPORAL_TRUTH[name]), name
    later = fit.predict({"step": step[~early], "position": position[~early]})
    assert mean_relative_error(later, truth[~early]) < 0.01
    # Per checkpoint, the mean over positions (the usual eval loss) is predicted within 1% too.
    for s in steps[8:]:
        rows = step[~early] == s
        assert abs(later[rows].mean() / truth[~early][rows].mean() - 1) < 0.01
