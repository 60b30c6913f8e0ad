"""Package-level names that import their module on first use.

`curriscale.train.train` should not cost a torch import to someone who only builds curricula, yet a
researcher should find the public API one import away. Each package lists its public names and the
module that defines them; `lazy_exports` turns that table into the package's `__getattr__`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that resolves `exports[name]` (a module path) on first access."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
