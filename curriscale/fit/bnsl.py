"""Broken neural scaling laws (Caballero et al. 2022): power laws joined by smooth breaks.

    y = a + b x^-c0 prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i f_i),   i = 1..k

Far below break i the factor is 1; far above it the log-log slope has changed by -c_i. So c0 is the
initial slope, c_i the change of slope at the break, d_i where it happens (the critical point
reported in `FitResult.breaks`) and f_i how sharp it is, in units of log x (small f = sharp).
Parameters are named `a, b, c0, c1, d1, f1, c2, d2, f2, ...`, with breaks numbered in increasing d.

In log space the product is a sum of softplus terms, evaluated with logaddexp so sharp breaks
never overflow: log(y - a) = log b - c0 log x - sum_i c_i f_i softplus((log x - log d_i) / f_i).
Given a, the d_i and f_i, that expression is linear in (log b, c0, c_i), which is how the starting
grid is built: break positions at quantiles of the observed x, and least squares for the rest.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit

from curriscale.errors import CurriscaleError
from curriscale.fit.laws import LOG, RAW, Law
from curriscale.fit.power import E_FRACTIONS, LOG_SCALE_BOUNDS, irreducible_bounds

# Wide enough for the sharp transitions of "emergent" tasks (log-log slope changes of 5-10).
SLOPE_BOUNDS = (-20.0, 20.0)
MAX_LOG_EXCESS = 300.0
# Break sharpness f, as a fraction of the observed log-x range, tried in the starting grid.
SHARPNESS_FRACTIONS = (0.03, 0.15)
# Candidate break positions per break count (interior quantiles of log x).
BREAK_QUANTILES = {1: 7, 2: 5, 3: 5}


class BrokenPowerLaw(Law):
    """BNSL with a fixed number of breaks (`breaks=0` is a plain power law a + b x^-c0)."""

    name = "bnsl"
    roles = ("x",)
    extrapolation_role = "x"

    def __init__(self, breaks: int = 1):
        if not 0 <= breaks <= 3:
            raise CurriscaleError(f"--breaks must be between 0 and 3 (or auto), got {breaks}")
        self.n_breaks = int(breaks)

    def options(self):
        return {"breaks": self.n_breaks}

    def spec(self):
        spec = [("a", LOG), ("b", LOG), ("c0", RAW)]
        for i in range(1, self.n_breaks + 1):
            spec += [(f"c{i}", RAW), (f"d{i}", LOG), (f"f{i}", LOG)]
        return spec

    def evaluate(self, theta, design):
        log_a, log_b, c0 = theta[:3]
        c, log_d, log_f = theta[3:].reshape(-1, 3).T if self.n_breaks else (np.empty(0),) * 3
        log_x = np.log(design["x"])[:, None]
        f = np.exp(log_f)
        z = (log_x - log_d) / f
        softplus, sigmoid = np.logaddexp(0.0, z), expit(z)
        t = log_b - c0 * log_x[:, 0] - (c * f * softplus).sum(axis=1)
        # Steep slopes extrapolated far, or wild trial steps of the optimiser, would overflow.
        excess = np.exp(np.minimum(t, MAX_LOG_EXCESS))
        a = np.exp(log_a)
        per_break = np.stack([-f * softplus, c * sigmoid, -c * f * (softplus - sigmoid * z)], axis=2).reshape(
            len(t), -1
        )
        jac = np.column_stack([np.full_like(t, a), np.ones_like(t), -log_x[:, 0], per_break])
        jac[:, 1:] *= excess[:, None]
        return a + excess, jac

    def bounds(self, design, loss):
        log_x = np.log(design["x"])
        margin = 0.1 * np.ptp(log_x)
        per_break = [
            SLOPE_BOUNDS,
            (log_x.min() - margin, log_x.max() + margin),
            (np.log(0.005), np.log(10.0)),
        ]
        return [irreducible_bounds(loss), LOG_SCALE_BOUNDS, SLOPE_BOUNDS] + per_break * self.n_breaks

    def initial_grid(self, design, loss):
        fitted = np.isfinite(loss)
        log_x, loss = np.log(design["x"][fitted]), loss[fitted]
        k, spread = self.n_breaks, max(np.ptp(log_x), 1e-6)
        positions = [()]
        if k:
            count = BREAK_QUANTILES[k]
            candidates = np.quantile(log_x, np.linspace(0, 1, count + 2)[1:-1])
            positions = list(itertools.combinations(candidates, k))
        sharpness = [fraction * spread for fraction in SHARPNESS_FRACTIONS] if k else [1.0]
        starts = []
        for fraction, log_d, f in itertools.product(E_FRACTIONS, positions, sharpness):
            a = fraction * np.min(loss)
            log_d = np.array(log_d)
            softplus = np.logaddexp(0.0, (log_x[:, None] - log_d) / f)
            basis = np.column_stack([np.ones_like(log_x), -log_x, -f * softplus])
            (log_b, c0, *c), *_ = np.linalg.lstsq(basis, np.log(loss - a), rcond=None)
            breaks = np.column_stack([c, log_d, np.full(k, np.log(f))]).ravel()
            starts.append([np.log(a), log_b, c0, *breaks])
        return np.array(starts)

    def to_params(self, theta):
        # Number breaks in increasing d, so the same break keeps its name across refits.
        if self.n_breaks > 1:
            groups = theta[3:].reshape(-1, 3)
            theta = np.concatenate([theta[:3], groups[np.argsort(groups[:, 1])].ravel()])
        return super().to_params(theta)

    def breaks(self, params):
        return sorted(params[f"d{i}"] for i in range(1, self.n_breaks + 1))
