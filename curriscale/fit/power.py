"""Power laws in one and two resources.

`power`: L(x) = E + A x^-alpha (loss against model size, tokens or compute).
`chinchilla`: L(n, d) = E + A / n^alpha + B / d^beta (Hoffmann et al. 2022, the joint law in model
size n and training tokens d).

Each term A x^-alpha is computed as exp(log A - alpha log x), which is exact and never overflows
for the sizes scaling laws see (1e3-1e12). Starting points come from the data: the irreducible loss
E is tried at fixed fractions of the smallest observed loss, and for each E the remaining
parameters are what a linear least-squares fit gives once E is subtracted. Nothing is tuned per
dataset.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import nnls

from curriscale.errors import CurriscaleError
from curriscale.fit.laws import LOG, RAW, Law

# Irreducible loss E is tried at these fractions of the smallest observed loss.
E_FRACTIONS = (1e-3, 0.5, 0.8, 0.9, 0.95, 0.99)
EXPONENT_GRID = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 1.6)
EXPONENT_BOUNDS = (1e-4, 5.0)
LOG_SCALE_BOUNDS = (-200.0, 200.0)


def irreducible_bounds(loss: np.ndarray) -> tuple[float, float]:
    """Bounds on log E: from a millionth of the smallest loss up to the largest loss."""
    return float(np.log(np.nanmin(loss) * 1e-6)), float(np.log(np.nanmax(loss)))


class PowerLaw(Law):
    """L(x) = E + A x^-alpha."""

    name = "power"
    roles = ("x",)
    extrapolation_role = "x"

    def spec(self) -> list[tuple[str, str]]:
        return [("E", LOG), ("A", LOG), ("alpha", RAW)]

    def evaluate(self, theta, design):
        log_e, log_a, alpha = theta
        log_x = np.log(design["x"])
        term = np.exp(log_a - alpha * log_x)
        e = np.exp(log_e)
        jac = np.column_stack([np.full_like(term, e), term, -log_x * term])
        return e + term, jac

    def bounds(self, design, loss):
        return [irreducible_bounds(loss), LOG_SCALE_BOUNDS, EXPONENT_BOUNDS]

    def initial_grid(self, design, loss):
        fitted = np.isfinite(loss)
        log_x, loss = np.log(design["x"][fitted]), loss[fitted]
        starts = []
        for fraction in E_FRACTIONS:
            e = fraction * np.min(loss)
            log_excess = np.log(loss - e)
            # Once E is fixed the law is a line in log-log space: fit it, then also try set slopes.
            slope, intercept = np.polyfit(log_x, log_excess, 1) if np.ptp(log_x) > 0 else (0.0, 0.0)
            starts.append([np.log(e), intercept, np.clip(-slope, *EXPONENT_BOUNDS)])
            for alpha in EXPONENT_GRID:
                starts.append([np.log(e), np.median(log_excess + alpha * log_x), alpha])
        return np.array(starts)


class ChinchillaLaw(Law):
    """L(n, d) = E + A / n^alpha + B / d^beta."""

    name = "chinchilla"
    roles = ("n", "d")
    extrapolation_role = "n"

    def spec(self) -> list[tuple[str, str]]:
        return [("E", LOG), ("A", LOG), ("B", LOG), ("alpha", RAW), ("beta", RAW)]

    def evaluate(self, theta, design):
        log_e, log_a, log_b, alpha, beta = theta
        log_n, log_d = np.log(design["n"]), np.log(design["d"])
        term_n = np.exp(log_a - alpha * log_n)
        term_d = np.exp(log_b - beta * log_d)
        e = np.exp(log_e)
        jac = np.column_stack([np.full_like(term_n, e), term_n, term_d, -log_n * term_n, -log_d * term_d])
        return e + term_n + term_d, jac

    def adapt(self, inputs):
        # With fewer than three model sizes or token budgets, E trades off against that axis's
        # term and the fit "converges" to meaningless values; refuse instead.
        for role in self.roles:
            distinct = len(np.unique(inputs[role]))
            if distinct < 3:
                raise CurriscaleError(
                    f"chinchilla law: role '{role}' has {distinct} distinct value(s); the joint law needs at "
                    "least 3 model sizes and 3 token budgets (fit the power law instead)"
                )

    def bounds(self, design, loss):
        return [
            irreducible_bounds(loss),
            LOG_SCALE_BOUNDS,
            LOG_SCALE_BOUNDS,
            EXPONENT_BOUNDS,
            EXPONENT_BOUNDS,
        ]

    def initial_grid(self, design, loss):
        fitted = np.isfinite(loss)
        log_n, log_d, loss = np.log(design["n"][fitted]), np.log(design["d"][fitted]), loss[fitted]
        floor = 1e-12 * np.mean(loss)
        starts = []
        for fraction, alpha, beta in itertools.product(E_FRACTIONS, EXPONENT_GRID, EXPONENT_GRID):
            e = fraction * np.min(loss)
            # Given E and both exponents the law is linear in (A, B): non-negative least squares.
            basis = np.column_stack([np.exp(-alpha * log_n), np.exp(-beta * log_d)])
            scale = basis.max(axis=0)
            (a, b), _ = nnls(basis / scale, loss - e)
            a, b = max(a / scale[0], floor), max(b / scale[1], floor)
            starts.append([np.log(e), np.log(a), np.log(b), alpha, beta])
        return np.array(starts)
