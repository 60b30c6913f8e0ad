"""Temporal scaling law of per-token-position loss (after Xiong et al. 2024, arXiv:2404.17785).

Xiong et al. observe that at any checkpoint the eval loss at token position p follows a reciprocal
(hyperbolic) law, L(p) = a0 / (1 + a1 p) + a2: early positions, with little context, are much
harder, and the loss settles to a2 further in. They then model how a0, a1, a2 evolve with the
training step and use that to predict the loss of later checkpoints from early ones.

Our version keeps the per-checkpoint hyperbola exactly and models each parameter's evolution as a
power law in the step, i.e. a straight line on log-log axes (the simplest monotone form, and the
one the paper's figures show over the range a small run covers):

    L(p, t) = a0(t) / (1 + a1(t) p) + a2(t),   a_k(t) = a_k (t / step_ref)^b_k

with `step_ref` the geometric mean step of the fitted data (saved in the fit's options), so a_k
is the value at a typical checkpoint and the a_k / b_k pairs are not confounded. Parameters:
`a0, a1, a2, b0, b1, b2`. Where the paper fits each parameter's trajectory separately after
per-checkpoint fits, we use those two stages only to start the optimiser and then fit all six
parameters jointly on every (step, position) point, which weighs checkpoints by their data.
"""

from __future__ import annotations

import numpy as np

from curriscale.errors import CurriscaleError
from curriscale.fit.laws import LOG, RAW, Law, log_grid
from curriscale.fit.power import LOG_SCALE_BOUNDS

TREND_BOUNDS = (-5.0, 5.0)
# Candidate position scales 1/a1 (in positions) for the per-checkpoint hyperbola fits.
SCALE_CANDIDATES = 12


class TemporalLaw(Law):
    """Per-position loss a0(t) / (1 + a1(t) p) + a2(t) with power-law trends in the step t."""

    name = "temporal"
    roles = ("step", "position")
    extrapolation_role = "step"

    def __init__(self, step_ref: float | None = None):
        self.step_ref = step_ref

    def options(self):
        return {"step_ref": self.step_ref}

    def adapt(self, inputs):
        self.step_ref = float(np.exp(np.mean(np.log(inputs["step"]))))

    def spec(self):
        return [("a0", LOG), ("a1", LOG), ("a2", LOG), ("b0", RAW), ("b1", RAW), ("b2", RAW)]

    def prepare(self, inputs):
        step, position = inputs["step"], inputs["position"]
        if not np.all(np.isfinite(step)) or np.any(step <= 0):
            raise CurriscaleError("temporal law: 'step' must be positive and finite")
        if not np.all(np.isfinite(position)) or np.any(position < 0):
            raise CurriscaleError("temporal law: 'position' must be finite and >= 0")
        if self.step_ref is None:
            raise CurriscaleError("temporal law: step_ref is not set (fit the law, or pass step_ref)")
        return {"log_t": np.log(step / self.step_ref), "position": position, "step": step}

    def evaluate(self, theta, design):
        u, b = theta[:3], theta[3:]
        log_t, p = design["log_t"], design["position"]
        a0, a1, a2 = np.exp(u[:, None] + b[:, None] * log_t)
        denominator = 1.0 + a1 * p
        d0 = a0 / denominator
        d1 = -a0 * a1 * p / denominator**2
        jac = np.column_stack([d0, d1, a2, log_t * d0, log_t * d1, log_t * a2])
        return d0 + a2, jac

    def bounds(self, design, loss):
        return [LOG_SCALE_BOUNDS] * 3 + [TREND_BOUNDS] * 3

    def initial_grid(self, design, loss):
        fitted = np.isfinite(loss)
        log_t, p, loss = design["log_t"][fitted], design["position"][fitted], loss[fitted]
        scales = 1.0 / log_grid(1.0, max(p.max(), 2.0), SCALE_CANDIDATES)
        # Stage 1 (as in the paper): a hyperbola per checkpoint, its a1 chosen from a grid and
        # (a0, a2) by least squares. Stage 2: a line through each log-parameter against log t.
        per_step = [_hyperbola(p[log_t == t], loss[log_t == t], scales) for t in np.unique(log_t)]
        steps = np.unique(log_t)
        starts = [_trends(steps, np.array(per_step))]
        for a1 in scales:
            # Variants with one shared a1 guard against stage 1 overfitting sparse checkpoints.
            shared = [_hyperbola(p[log_t == t], loss[log_t == t], [a1]) for t in steps]
            starts.append(_trends(steps, np.array(shared)))
        return np.array(starts)


def _hyperbola(position: np.ndarray, loss: np.ndarray, scales) -> tuple[float, float, float]:
    """Best (a0, a1, a2) of L = a0 / (1 + a1 p) + a2 over candidate a1, positive parts floored."""
    floor = 1e-6 * np.mean(loss)
    best, best_error = None, np.inf
    for a1 in scales:
        basis = np.column_stack([1.0 / (1.0 + a1 * position), np.ones_like(position)])
        (a0, a2), *_ = np.linalg.lstsq(basis, loss, rcond=None)
        a0, a2 = max(a0, floor), max(a2, floor)
        error = np.sum((basis @ [a0, a2] - loss) ** 2)
        if error < best_error:
            best, best_error = (a0, a1, a2), error
    return best


def _trends(log_t: np.ndarray, params: np.ndarray) -> list[float]:
    """theta from per-checkpoint (a0, a1, a2): log a_k regressed on log t (flat if one checkpoint)."""
    logs = np.log(params)
    if len(log_t) < 2:
        return [*logs[0], 0.0, 0.0, 0.0]
    slopes, intercepts = np.polyfit(log_t, logs, 1)
    return [*intercepts, *np.clip(slopes, *TREND_BOUNDS)]
