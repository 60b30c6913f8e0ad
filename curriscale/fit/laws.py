"""What a scaling law is to the fitter, and the registry of laws by name.

A `Law` knows its formula and nothing about optimisation: it evaluates predictions and their exact
Jacobian for a parameter vector, proposes starting points derived from the data, and bounds the
search. The fitter (`curriscale.fit.fitting`) does the rest, the same way for every law.

Parameters live in two coordinate systems. The public one uses the formula's symbols (`E`, `A`,
`alpha`, ...) and is what `FitResult.params` holds. The internal one (`theta`) is what the optimiser
moves: scale parameters such as `A` are stored as their logarithm, because they span many orders of
magnitude and a step of 1 in `log A` means the same thing at every size; a decay factor `lam` close
to 1 is stored as `log(1 - lam)`. Each law declares the transform of each parameter, and the base
class converts between the two.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import numpy as np

from curriscale.errors import CurriscaleError

# Internal coordinate of each public parameter: the value itself, its log, or log(1 - value).
RAW, LOG, LOG1M = "raw", "log", "log1m"

LAW_MODULES = {
    "power": ("curriscale.fit.power", "PowerLaw"),
    "chinchilla": ("curriscale.fit.power", "ChinchillaLaw"),
    "bnsl": ("curriscale.fit.bnsl", "BrokenPowerLaw"),
    "lr-annealing": ("curriscale.fit.annealing", "AnnealingLaw"),
    "temporal": ("curriscale.fit.temporal", "TemporalLaw"),
}
LAW_NAMES = tuple(LAW_MODULES)


class Law:
    """Base class: a formula with named parameters, evaluated on columns named by role.

    Subclasses set `name`, `roles` (input columns besides `loss`), `extrapolation_role` (the input
    whose largest values are held out to measure extrapolation), and implement `spec`,
    `evaluate`, `bounds` and `initial_grid`.
    """

    name: ClassVar[str]
    roles: ClassVar[tuple[str, ...]]
    optional_roles: ClassVar[tuple[str, ...]] = ()
    extrapolation_role: ClassVar[str]
    # Options implied by a fit file that predates them (see `FitResult.from_dict`).
    legacy_options: ClassVar[dict[str, Any]] = {}

    def spec(self) -> list[tuple[str, str]]:
        """Public parameter names with their internal transform (`RAW`, `LOG` or `LOG1M`)."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """Law constants that are not fitted but needed to predict (saved in the fit result)."""
        return {}

    def adapt(self, inputs: dict[str, np.ndarray]) -> None:
        """Fix data-dependent constants (e.g. a reference step) before the first fit."""

    def prepare(self, inputs: dict[str, np.ndarray]) -> Any:
        """Turn the input columns into whatever `evaluate` needs (checked, precomputed)."""
        for role in self.roles:
            values = inputs[role]
            if not np.all(np.isfinite(values)) or np.any(values <= 0):
                raise CurriscaleError(
                    f"{self.name} law: column for role '{role}' must be positive and finite"
                )
        return inputs

    def evaluate(self, theta: np.ndarray, design: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted loss for every row, and its Jacobian d pred / d theta, shape (rows, params)."""
        raise NotImplementedError

    def bounds(self, design: Any, loss: np.ndarray) -> list[tuple[float, float]]:
        """Box bounds on theta for L-BFGS-B (`loss` is NaN on rows not being fitted)."""
        raise NotImplementedError

    def initial_grid(self, design: Any, loss: np.ndarray) -> np.ndarray:
        """Candidate starting points (rows of theta) derived from the data alone.

        `loss` is NaN on rows not being fitted (held out, or not drawn by a bootstrap resample).
        """
        raise NotImplementedError

    def breaks(self, params: dict[str, float]) -> list[float]:
        """Critical points of the fitted curve (break locations), where the law has them."""
        return []

    # Conversions between the optimiser's theta and the formula's named parameters.

    def param_names(self) -> list[str]:
        """Names of the fitted parameters, in theta's order."""
        return [name for name, _ in self.spec()]

    def public_names(self) -> list[str]:
        """Names in `FitResult.params`: the fitted ones plus any the law holds fixed."""
        return self.param_names()

    def to_params(self, theta: np.ndarray) -> dict[str, float]:
        """Named public parameters from an internal vector."""
        params = {}
        for (name, transform), value in zip(self.spec(), theta, strict=True):
            if transform == LOG:
                value = np.exp(value)
            elif transform == LOG1M:
                value = 1.0 - np.exp(value)
            params[name] = float(value)
        return params

    def public_bounds(self, bounds: list[tuple[float, float]]) -> dict[str, list[float]]:
        """The search box `bounds` (on theta) as [low, high] per named public parameter."""
        out = {}
        for k, name in enumerate(self.param_names()):
            ends = []
            for end in bounds[k]:
                theta = np.zeros(len(bounds))
                theta[k] = end
                ends.append(self.to_params(theta)[name])
            out[name] = sorted(float(v) for v in ends)
        return out

    def from_params(self, params: dict[str, float]) -> np.ndarray:
        """Internal vector from named public parameters."""
        theta = []
        for name, transform in self.spec():
            if name not in params:
                raise CurriscaleError(f"{self.name} law: parameter '{name}' missing")
            value = float(params[name])
            if transform == LOG:
                value = np.log(value)
            elif transform == LOG1M:
                value = np.log1p(-value)
            theta.append(value)
        return np.array(theta)


def get_law(name: str, **options: Any) -> Law:
    """A law by its CLI name (`power`, `chinchilla`, `bnsl`, `lr-annealing`, `temporal`).

    Args:
        name: the law's name.
        **options: law constants, e.g. `breaks=2` for bnsl (as saved in `FitResult.options`).
    """
    if name not in LAW_MODULES:
        raise CurriscaleError(f"unknown law '{name}'; choose one of {', '.join(LAW_NAMES)}")
    module_name, class_name = LAW_MODULES[name]
    # Imported on demand: each law module imports this one for the base class.
    return getattr(importlib.import_module(module_name), class_name)(**options)


def log_grid(low: float, high: float, count: int) -> np.ndarray:
    """`count` log-spaced values from `low` to `high` (starting grids for scale parameters)."""
    return np.exp(np.linspace(np.log(low), np.log(high), count))
