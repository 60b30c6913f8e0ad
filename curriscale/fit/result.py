"""`FitResult`: a fitted law as data (the fit.json contract) that can predict.

JSON layout (see DESIGN.md): `law`, `params` (the formula's symbols), `ci` (bootstrap percentile
intervals per parameter), `metrics` (fit error, held-out error, convergence), `breaks` (critical
points), `columns` (role -> column used for the fit), plus `options`, the law's non-fitted constants
(break count, reference step, fixed decay) that predicting needs, and `draws`, the bootstrap
resamples' parameters, from which `predict_interval` gives a band per predicted row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curriscale.errors import CurriscaleError
from curriscale.fit.data import column_names, resolve_columns, role_arrays
from curriscale.fit.laws import get_law
from curriscale.io import atomic_write_json

FORMAT = "curriscale.fit"


@dataclass
class FitResult:
    """A fitted scaling law.

    Attributes:
        law: law name (`power`, `chinchilla`, `bnsl`, `lr-annealing`, `temporal`).
        params: fitted parameters by the formula's symbols.
        ci: bootstrap percentile interval per parameter (empty without bootstrap).
        metrics: `fit_error`, `heldout_error` (mean relative error), `converged`, `n_starts`,
            `n_agree`, `best_objective`, ...
        breaks: critical points (BNSL break locations), ascending.
        columns: role -> column name the fit read.
        options: law constants needed to predict (e.g. `{"breaks": 2}`).
        draws: one row of parameters per bootstrap resample, in `params` order (empty without
            bootstrap).
    """

    law: str
    params: dict[str, float]
    ci: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    breaks: list[float] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    draws: list[list[float]] = field(default_factory=list)

    def predict(
        self, data: Any, columns: Mapping[str, str] | None = None, source: str = "data"
    ) -> np.ndarray:
        """Predicted loss for each row of `data`, in row order.

        Args:
            data: dict of arrays, pyarrow Table or pandas DataFrame with the law's input roles.
            columns: role -> column; defaults to the columns the fit used.
            source: how to name the data in error messages.
        """
        law, design = self._design(data, columns, source)
        return law.evaluate(law.from_params(self.params), design)[0]

    def predict_interval(
        self, data: Any, columns: Mapping[str, str] | None = None, source: str = "data"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-row band of the bootstrap resamples' predictions, at the fit's confidence.

        Every resample's parameters predict every row and the band is taken per row, so the
        parameters' correlated errors are carried (per-parameter intervals would lose them).
        Arguments as for `predict`.

        Raises:
            CurriscaleError: the fit was made without bootstrap (it has no draws).
        """
        if not self.draws:
            raise CurriscaleError(
                f"this {self.law} fit has no bootstrap draws: refit with --bootstrap N to get intervals"
            )
        law, design = self._design(data, columns, source)
        names = list(self.params)
        curves = [
            law.evaluate(law.from_params(dict(zip(names, row, strict=True))), design)[0] for row in self.draws
        ]
        tail = (1.0 - self.metrics.get("confidence", 0.95)) / 2.0
        low, high = np.quantile(curves, [tail, 1.0 - tail], axis=0)
        return low, high

    def _design(self, data: Any, columns: Mapping[str, str] | None, source: str) -> tuple[Any, Any]:
        """The law and its prepared design for `data`, columns resolved as `predict` documents."""
        law = get_law(self.law, **self.options)
        available = set(column_names(data))
        # Reuse the fit's column names where data has them, else columns named as the roles; an
        # optional role (e.g. `run`) is used only when present.
        mapping = {}
        for role, name in self.columns.items():
            if name in available and role != "loss":
                mapping[role] = name
            elif role in law.roles and role not in available:
                mapping[role] = name  # neither exists: the error will name the fit's column
        mapping.update(columns or {})
        resolved = resolve_columns(law, data, mapping, source, need_loss=False)
        return law, law.prepare(role_arrays(law, data, resolved, source))

    def to_dict(self) -> dict[str, Any]:
        """The fit as a JSON-ready dict."""
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], source: str = "fit") -> FitResult:
        """Rebuild a fit from `to_dict()` output."""
        if not isinstance(obj, Mapping) or "law" not in obj or "params" not in obj:
            raise CurriscaleError(f"{source}: not a curriscale fit (needs 'law' and 'params')")
        fields = ("ci", "metrics", "breaks", "columns", "draws")
        fit = cls(law=obj["law"], params=dict(obj["params"]), **{k: obj[k] for k in fields if k in obj})
        fit.options = {**get_law(fit.law).legacy_options, **obj.get("options", {})}
        # JSON files are written key-sorted; restore the formula's parameter order.
        order = get_law(fit.law, **fit.options).public_names()
        if set(order) == set(fit.params):
            fit.params = {name: fit.params[name] for name in order}
        return fit

    def to_json(self) -> str:
        """The fit as JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "fit") -> FitResult:
        """Parse JSON text written by `to_json`."""
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as error:
            raise CurriscaleError(f"{source}: malformed JSON: {error}") from error
        return cls.from_dict(obj, source)

    def save(self, path: str | Path) -> None:
        """Write the fit to `path` atomically."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> FitResult:
        """Read a fit written by `save` (or `curriscale fit law`)."""
        path = Path(path)
        if not path.is_file():
            raise CurriscaleError(f"{path}: no such file")
        return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))
