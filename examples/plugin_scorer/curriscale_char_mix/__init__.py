"""`char_mix`: the share of punctuation, digit and upper-case characters of each document.

An example of a curriscale plug-in scorer: a `Scorer` subclass with a name, a version, its output
columns, and a batched `score`. Registered by the entry point in this package's pyproject.toml.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from curriscale.scorers.base import Scorer

_PUNCTUATION = re.compile(r"[^\w\s]")
_DIGIT = re.compile(r"\d")
_UPPER = re.compile(r"[A-Z]")


class CharMix(Scorer):
    """Character mix of each text; shares of all non-space characters (NaN for a blank text).

    Args:
        digits: also output `digit_share`.
    """

    name = "char_mix"
    version = "1"

    def __init__(self, digits: bool = True) -> None:
        super().__init__(digits=digits)

    def columns(self) -> dict[str, pa.DataType]:
        names = ["punct_share", "upper_share"] + (["digit_share"] if self.params["digits"] else [])
        return {name: pa.float64() for name in names}

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        visible = np.array([len(t) - sum(c.isspace() for c in t) for t in texts], dtype=np.float64)
        visible[visible == 0] = np.nan  # a blank text has no mix: NaN, which the pipeline rejects

        def share(pattern: re.Pattern) -> np.ndarray:
            return np.array([len(pattern.findall(t)) for t in texts]) / visible

        out = {"punct_share": share(_PUNCTUATION), "upper_share": share(_UPPER)}
        if self.params["digits"]:
            out["digit_share"] = share(_DIGIT)
        return out
