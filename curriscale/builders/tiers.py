"""Tier assignment: quantiles, explicit edges, or a categorical ladder (vectorised).

`assign_tiers` maps every document to a tier index (-1 = cannot be placed, with the reason) and
returns each tier's bounds and label for the manifest. Quantile edges come from the whole corpus'
difficulty array, so K quantile tiers hold (up to ties) equal document counts; a document equal to
an edge goes to the higher tier, so tiers are ordered: every difficulty in tier i is <= every
difficulty in tier i + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curriscale.curricula.recipe import Tiers


@dataclass
class TierAssignment:
    """Per-document tier indices plus what the manifest records about each tier.

    Attributes:
        tier: int32 per document; -1 where the document cannot be placed.
        reason: Why the documents with tier -1 were not placed (one reason per build kind).
        bounds: Per tier [low, high] difficulty bounds (None for an open end), or None (categorical).
        labels: Per tier its categorical label, or None.
    """

    tier: np.ndarray
    reason: str
    bounds: list[list[float | None] | None]
    labels: list[str | int | None]


def _edge_tiers(difficulty: np.ndarray, edges: np.ndarray) -> np.ndarray:
    tier = np.searchsorted(edges, difficulty, side="right").astype(np.int32)
    tier[np.isnan(difficulty)] = -1
    return tier


def assign_tiers(
    spec: Tiers, difficulty: np.ndarray, labels: pa.ChunkedArray | None = None
) -> TierAssignment:
    """Place every document in a tier.

    Args:
        spec: The recipe's tier specification.
        difficulty: float64 per document (NaN = missing).
        labels: The categorical label column, required when `spec.kind == "order"`.
    """
    if spec.kind == "order":
        # Compare as strings so YAML integers match an int64 `level` column and labels alike.
        order = pa.array([str(label) for label in spec.order])
        index = pc.index_in(pc.cast(labels, pa.string()), value_set=order)
        tier = pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int32)
        reason = f"{spec.column}: label missing or not in tiers.order"
        return TierAssignment(tier, reason, [None] * len(spec.order), list(spec.order))

    valid = difficulty[~np.isnan(difficulty)]
    reason = "difficulty: missing value (null or NaN) in a difficulty column"
    if spec.kind == "edges":
        edges = np.asarray(spec.edges, dtype=np.float64)
        outer = [None, *spec.edges, None]
        bounds = [[outer[i], outer[i + 1]] for i in range(len(edges) + 1)]
        return TierAssignment(_edge_tiers(difficulty, edges), reason, bounds, [None] * len(bounds))

    k = spec.quantiles
    if valid.size == 0:
        return TierAssignment(np.full(difficulty.shape, -1, np.int32), reason, [None] * k, [None] * k)
    inner = np.quantile(valid, np.arange(1, k) / k, method="linear") if k > 1 else np.empty(0)
    outer = [float(valid.min()), *map(float, inner), float(valid.max())]
    bounds = [[outer[i], outer[i + 1]] for i in range(k)]
    return TierAssignment(_edge_tiers(difficulty, inner), reason, bounds, [None] * k)
