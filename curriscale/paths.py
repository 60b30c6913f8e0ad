"""Names and paths read from other people's files, checked before they touch the disk.

Manifests, recipes, grid files and run folders may come from anyone, and the names and relative
paths inside them become folder and file names: a tier called `../../victim` would make an export
replace a folder outside its output. Every reader passes such values through this module:

- `check_name`: a single path component that cannot climb out (`NAME_PATTERN`, also used by the
  manifest JSON Schema): letters, digits and `_ . = + -`, not starting with a dot.
- `inside`: a relative path that stays inside its root once `..` and symlinks are resolved.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from curriscale.errors import CurriscaleError

# One component: no separator, no leading dot (so neither "." nor ".." nor a hidden file).
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.=+-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)


def check_name(name: object, field: str) -> str:
    """Return `name` if it is safe as one folder or file name; else raise naming `field`.

    Args:
        name: The value read from a file (a tier name, a grid's curriculum key, ...).
        field: Where it came from, for the message (e.g. "grid.yaml: manifests").

    Raises:
        CurriscaleError: when `name` is not a string matching `NAME_PATTERN`.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise CurriscaleError(
            f"{field}: {name!r} is not a safe name (letters, digits and _ . = + -, not starting with a dot)"
        )
    return name


def inside(root: Path, relative: str, field: str) -> Path:
    """`root / relative`, if it stays inside `root` with `..` and symlinks resolved; else raise.

    Args:
        root: The folder the path must stay in (resolved here too).
        relative: A relative POSIX path read from a file.
        field: Where it came from, for the message.

    Raises:
        CurriscaleError: for an absolute path, a drive letter, a `..` part, or a path that a symlink
            leads out of `root`.
    """
    pure = PurePosixPath(relative.replace("\\", "/"))
    escapes = pure.is_absolute() or ".." in pure.parts or (len(relative) > 1 and relative[1] == ":")
    if not escapes:
        root = root.resolve()
        resolved = (root / pure).resolve()
        escapes = resolved != root and root not in resolved.parents
    if escapes:
        raise CurriscaleError(f"{field}: {relative!r} escapes its folder {root}")
    return root / pure
