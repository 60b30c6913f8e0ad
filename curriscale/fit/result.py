"""`FitResult`: a fitted law as data (the fit.json contract) that can predict.

JSON layout (see DESIGN.md): `law`, `params` (the formula's symbols), `ci` (bootstrap percentile
intervals per parameter), `metrics` (fit error, held-out error, convergence), `breaks` (critical
points), `columns` (role -> column used for the fit), plus `options`, the law's non-fitted constants
(break count, reference step) that predicting needs.
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
    """

    law: str
    params: dict[str, float]
    ci: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    breaks: list[float] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def predict(
        self, data: Any, columns: Mapping[str, str] | None = None, source: str = "data"
    ) -> np.ndarray:
        """Predicted loss for each row of `data`, in row order.

        Args:
            data: dict of arrays, pyarrow Table or pandas DataFrame with the law's input roles.
            columns: role -> column; defaults to the columns the fit used.
            source: how to name the data in error messages.
        """
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
        inputs = role_arrays(law, data, resolved, source)
        pred, _ = law.evaluate(law.from_params(self.params), law.prepare(inputs))
        return pred

    def to_dict(self) -> dict[str, Any]:
        """The fit as a JSON-ready dict."""
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], source: str = "fit") -> FitResult:
        """Rebuild a fit from `to_dict()` output."""
        if not isinstance(obj, Mapping) or "law" not in obj or "params" not in obj:
            raise CurriscaleError(f"{source}: not a curriscale fit (needs 'law' and 'params')")
        fields = ("ci", "metrics", "breaks", "columns", "options")
        fit = cls(law=obj["law"], params=dict(obj["params"]), **{k: obj[k] for k in fields if k in obj})
        # JSON files are written key-sorted; restore the formula's parameter order.
        order = get_law(fit.law, **fit.options).param_names()
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
