"""The difficulty of every document, from a recipe, computed over the whole corpus at once.

Only the recipe's difficulty columns (and the categorical tier column) are read, which keeps even a
corpus of millions of documents to a few small numeric arrays. A composite difficulty needs
*global* ranks: each column is rank-normalised to [0, 1] over all documents (ties share their
average rank), then the weighted sum is taken; a negative weight turns a "higher = easier" column
such as flesch_ease around. Missing values (null or NaN in any input column) give NaN: the builder
rejects those documents with a reason instead of guessing a tier.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curriscale.curricula.recipe import Recipe


def needed_columns(recipe: Recipe) -> list[str]:
    """The scored columns the recipe reads: difficulty columns, then the tier label column."""
    columns = list(recipe.difficulty or {})
    if recipe.tiers.column and recipe.tiers.column not in columns:
        columns.append(recipe.tiers.column)
    return columns


def as_float(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric Arrow column as float64 with NaN for nulls."""
    return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def rank_normalise(values: np.ndarray) -> np.ndarray:
    """Average ranks scaled to [0, 1] (NaN stays NaN); a constant column maps to 0.5."""
    out = np.full(values.shape, np.nan)
    valid = ~np.isnan(values)
    if not valid.any():
        return out
    unique, inverse, counts = np.unique(values[valid], return_inverse=True, return_counts=True)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    average_rank = first + (counts - 1) / 2.0  # 0-based average rank of each distinct value
    n = int(valid.sum())
    out[valid] = average_rank[inverse] / (n - 1) if n > 1 else 0.5
    return out


def compute_difficulty(table: pa.Table, recipe: Recipe) -> np.ndarray:
    """Difficulty per row (higher = harder) as float64; NaN where an input value is missing.

    Args:
        table: The whole corpus' difficulty columns (`needed_columns`), in input order.
        recipe: A recipe with a `difficulty` mapping (categorical ladders use `tiers.order`).
    """
    total = np.zeros(table.num_rows)
    for column, weight in (recipe.difficulty or {}).items():
        values = as_float(table.column(column))
        if recipe.normalise == "rank":
            values = rank_normalise(values)
        total += weight * values
    return total
