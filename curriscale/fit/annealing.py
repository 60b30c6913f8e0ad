"""The scaling law with learning-rate annealing (Tissue et al. 2024, arXiv:2408.11029).

    L(s) = L0 + A S1(s)^-alpha - C S2(s)

S1(s) = sum_{i<=s} eta_i is the forward area, the area under the learning-rate curve so far: the
power-law part, as in an ordinary data scaling law with "steps" measured in learning rate. S2 is
the annealing area with momentum: m_i = lam m_{i-1} + (eta_{i-1} - eta_i), S2(s) = sum_{i<=s} m_i,
so a drop in learning rate keeps lowering the loss for ~1/(1-lam) steps after it happens. Warmup (the steps up to the schedule's first peak) counts in S1 but not in
S2, as the paper's fits start after warmup; a later rise in learning rate (re-warmup) gives a
negative m, i.e. a loss increase, as in the paper's re-warmup analysis.

The decay factor lam is fixed at 0.999 by default, as the paper does (Tissue et al. report the fit
is insensitive to it between 0.99 and 0.999). Fitted freely on one schedule's curve, lam trades off
against C and often runs to a bound (lam = 0: no memory), which fits that curve and mispredicts
every other schedule; `AnnealingLaw(lam=None)` fits it anyway. The fit's `params` always list
`lam`, fixed or fitted (the fit JSON contract).

Data: one row per optimiser step with `step`, `lr` and `loss` (empty where not evaluated), and an
optional `run` label, so several curves (different schedules) share one set of parameters. That
is the point of the law: fit it on one schedule's curve and predict any other schedule's.

The momentum sum is a first-order IIR filter, evaluated with `scipy.signal.lfilter`; its
derivative in lam is the same filter applied to the shifted momentum (dm_i = m_{i-1} + lam dm_{i-1}),
so the gradient is exact and vectorised.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from curriscale.errors import CurriscaleError
from curriscale.fit.laws import LOG, LOG1M, RAW, Law
from curriscale.fit.power import (
    E_FRACTIONS,
    EXPONENT_BOUNDS,
    EXPONENT_GRID,
    LOG_SCALE_BOUNDS,
    irreducible_bounds,
)

DEFAULT_DECAY = 0.999
LAMBDA_GRID = (0.9, 0.99, 0.999)
LOG1M_LAMBDA_BOUNDS = (np.log(1e-5), 0.0)


@dataclass
class Curves:
    """Training curves prepared for evaluation.

    Attributes:
        runs: one (row indices in input order, sorted by step) per run.
        forward: S1 per row (input order).
        drops: eta_{i-1} - eta_i per row in each run's step order, concatenated run by run.
    """

    runs: list[np.ndarray]
    forward: np.ndarray
    drops: list[np.ndarray]


def annealing_area(drops: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """S2 per step for one run and its derivative in lam."""
    momentum = lfilter([1.0], [1.0, -lam], drops)
    shifted = np.concatenate([[0.0], momentum[:-1]])
    dmomentum = lfilter([1.0], [1.0, -lam], shifted)
    return np.cumsum(momentum), np.cumsum(dmomentum)


class AnnealingLaw(Law):
    """L(s) = L0 + A S1^-alpha - C S2 over per-step learning-rate schedules."""

    name = "lr-annealing"
    roles = ("step", "lr")
    optional_roles = ("run",)
    extrapolation_role = "step"
    # Fit files written before lam could be fixed fitted it.
    legacy_options = {"lam": None}

    def __init__(self, lam: float | None = DEFAULT_DECAY):
        """Args: lam: the fixed decay factor, or None to fit it."""
        if lam is not None and not 0.0 <= lam < 1.0:
            raise CurriscaleError(f"lr-annealing law: the decay factor must be in [0, 1), got {lam}")
        self.lam = None if lam is None else float(lam)

    def options(self):
        return {"lam": self.lam}

    def spec(self):
        spec = [("L0", LOG), ("A", LOG), ("C", LOG), ("alpha", RAW)]
        return spec if self.lam is not None else [*spec, ("lam", LOG1M)]

    def public_names(self):
        return ["L0", "A", "C", "alpha", "lam"]

    def to_params(self, theta):
        params = super().to_params(theta)
        return params if self.lam is None else {**params, "lam": self.lam}

    def prepare(self, inputs):
        step, lr = inputs["step"], inputs["lr"]
        if not np.all(np.isfinite(step)) or not np.all(np.isfinite(lr)) or np.any(lr < 0):
            raise CurriscaleError(
                "lr-annealing law: 'step' must be finite and 'lr' finite and >= 0 on every row"
            )
        labels = inputs.get("run", np.zeros(len(step), dtype=object))
        forward = np.empty(len(step))
        runs, drops = [], []
        for label in _unique(labels):
            rows = np.flatnonzero(labels == label)
            rows = rows[np.argsort(step[rows], kind="stable")]
            if np.any(np.diff(step[rows]) != 1):
                raise CurriscaleError(
                    f"lr-annealing law: run '{label}' must have one row per optimiser step (consecutive 'step' values)"
                )
            area = np.cumsum(lr[rows])
            # A step before any learning has happened has no forward area; count it as the first
            # step that has some, instead of predicting an infinite loss.
            positive = area[area > 0]
            if positive.size == 0:
                raise CurriscaleError(f"lr-annealing law: run '{label}' has zero learning rate everywhere")
            forward[rows] = np.maximum(area, positive[0])
            runs.append(rows)
            drop = np.concatenate([[0.0], -np.diff(lr[rows])])
            drop[: np.argmax(lr[rows]) + 1] = 0.0  # warmup is not annealing
            drops.append(drop)
        return Curves(runs, forward, drops)

    def evaluate(self, theta, design):
        log_l0, log_a, log_c, alpha = theta[:4]
        lam = self.lam if self.lam is not None else 1.0 - np.exp(theta[4])
        area, darea = self._areas(design, lam)
        power = np.exp(log_a - alpha * np.log(design.forward))
        l0, c = np.exp(log_l0), np.exp(log_c)
        columns = [np.full_like(power, l0), power, -c * area, -np.log(design.forward) * power]
        if self.lam is None:
            columns.append(c * (1.0 - lam) * darea)
        return l0 + power - c * area, np.column_stack(columns)

    def _areas(self, design: Curves, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """S2 and dS2/dlam per row, in input order."""
        area, darea = np.empty_like(design.forward), np.empty_like(design.forward)
        for rows, drops in zip(design.runs, design.drops, strict=True):
            area[rows], darea[rows] = annealing_area(drops, lam)
        return area, darea

    def bounds(self, design, loss):
        bounds = [irreducible_bounds(loss), LOG_SCALE_BOUNDS, LOG_SCALE_BOUNDS, EXPONENT_BOUNDS]
        return bounds if self.lam is not None else [*bounds, LOG1M_LAMBDA_BOUNDS]

    def initial_grid(self, design, loss):
        fitted = np.isfinite(loss)
        log_forward, observed = np.log(design.forward[fitted]), loss[fitted]
        floor = 1e-12 * np.mean(observed)
        starts = []
        for lam in LAMBDA_GRID if self.lam is None else (self.lam,):
            area = self._areas(design, lam)[0][fitted]
            for fraction, alpha in itertools.product(E_FRACTIONS, EXPONENT_GRID):
                l0 = fraction * np.min(observed)
                # Given L0, alpha and lam the law is linear in (A, C).
                basis = np.column_stack([np.exp(-alpha * log_forward), -area])
                (a, c), *_ = np.linalg.lstsq(basis, observed - l0, rcond=None)
                start = [np.log(l0), np.log(max(a, floor)), np.log(max(c, floor)), alpha]
                starts.append(start if self.lam is not None else [*start, np.log1p(-lam)])
        return np.array(starts)


def _unique(labels: np.ndarray) -> list:
    """Distinct run labels in order of first appearance (labels may mix types or be None)."""
    return list(dict.fromkeys(labels.tolist()))
