"""The Scorer contract: batch of texts in, named numpy columns out.

A scorer is any object with these attributes; subclassing `Scorer` is a convenience, not a
requirement. Scoring is batched and columnar so model scorers can pad and bucket and cheap scorers
can vectorise. Every output array has the same length as the input batch.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa


@runtime_checkable
class ScorerProtocol(Protocol):
    """What the pipeline relies on (see ../shared/DESIGN.md, "Scorer")."""

    name: str
    version: str

    def columns(self) -> dict[str, pa.DataType]: ...

    def score(self, texts: list[str]) -> dict[str, np.ndarray]: ...


class Scorer:
    """Base class for scorers; keyword arguments become `params` (recorded in provenance).

    Subclasses set `name` and `version`, implement `columns()` and `score()`, and accept their
    parameters as keyword arguments in `__init__` (so `--scorer name:key=value` works).
    """

    name: str = ""
    version: str = "0"

    def __init__(self, **params: Any) -> None:
        self.params = params

    def columns(self) -> dict[str, pa.DataType]:
        raise NotImplementedError

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def reject_reason(self, text: str) -> str | None:
        """Why `score` gives `text` a non-finite value, for the rejected/ record; None if unknown.

        Optional: the pipeline calls it only for rejected documents, so it may be slow; a scorer
        without it gets the generic reason `non-finite score`.
        """
        return None

    def provenance(self) -> dict[str, Any]:
        """Name, version and parameters, as recorded in the manifest."""
        return {"name": self.name, "version": self.version, "params": dict(self.params)}
