"""Loss data in, role arrays out: reading CSV/Parquet and mapping columns to a law's roles.

A law names its inputs by role (`x`, `n`, `d`, `step`, `lr`, `position`, ...) plus `loss`; the user's
table names them however it likes (`"Model Size"`, `tokens`). `columns` maps role -> column and
defaults to the role's own name. Data may be a path's table, a dict of arrays, a pyarrow Table or a
pandas DataFrame: anything indexable by column name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError
from curriscale.fit.laws import Law
from curriscale.io import atomic_output

# Roles whose values are labels rather than numbers.
LABEL_ROLES = {"run"}


def load_table(path: str | Path) -> pa.Table:
    """Read a `.csv` or `.parquet` file into a pyarrow Table (empty CSV cells become nulls)."""
    path = Path(path)
    if not path.is_file():
        raise CurriscaleError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix == ".csv":
            import pyarrow.csv as pacsv

            return pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise CurriscaleError(f"{path}: cannot read: {error}") from error
    raise CurriscaleError(f"{path}: expected a .csv or .parquet file")


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write a table atomically as `.csv` or `.parquet`, chosen by the file extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise CurriscaleError(f"--out {path}: expected a .csv or .parquet file name")
    with atomic_output(path) as tmp:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, tmp)


def column_names(data: Any) -> list[str]:
    """Column names of a dict of arrays, pyarrow Table or pandas DataFrame."""
    if isinstance(data, pa.Table):
        return list(data.column_names)
    if isinstance(data, Mapping):
        return list(data.keys())
    return [str(c) for c in data.columns]


def column_values(data: Any, name: str) -> np.ndarray:
    """One column as a numpy array (nulls as NaN for numbers, None for labels)."""
    column = data[name]
    if isinstance(column, (pa.ChunkedArray, pa.Array)):
        return column.to_numpy(zero_copy_only=False)
    if hasattr(column, "to_numpy"):
        return column.to_numpy()
    return np.asarray(column)


def resolve_columns(
    law: Law, data: Any, columns: Mapping[str, str] | None, source: str, need_loss: bool
) -> dict[str, str]:
    """Map each of the law's roles to a column of `data`, checking every name exists.

    Args:
        law: the law whose roles are needed.
        data: the table.
        columns: role -> column overrides; unmapped roles use the role's name.
        source: how to name the data in errors (a file name).
        need_loss: whether the `loss` role is required (fitting) or optional (predicting).
    """
    columns = dict(columns or {})
    known = set(law.roles) | set(law.optional_roles) | {"loss"}
    for role in columns:
        if role not in known:
            raise CurriscaleError(
                f"--col {role}=...: '{role}' is not a role of the {law.name} law (roles: {', '.join(sorted(known))})"
            )
    available = column_names(data)
    required = list(law.roles) + (["loss"] if need_loss else [])
    resolved = {}
    for role in required + [r for r in (*law.optional_roles, "loss") if r not in required]:
        name = columns.get(role, role)
        if name in available:
            resolved[role] = name
        elif role in required or role in columns:
            raise CurriscaleError(
                f"{source}: column '{name}' (role '{role}') not found; columns are: {', '.join(available)}"
            )
    return resolved


def role_arrays(law: Law, data: Any, columns: Mapping[str, str], source: str) -> dict[str, np.ndarray]:
    """The resolved columns as arrays keyed by role: floats, except label roles such as `run`."""
    arrays = {}
    for role, name in columns.items():
        values = column_values(data, name)
        if role in LABEL_ROLES:
            arrays[role] = np.asarray(values, dtype=object)
            continue
        try:
            arrays[role] = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as error:
            raise CurriscaleError(f"{source}: column '{name}' (role '{role}') is not numeric") from error
    return arrays
