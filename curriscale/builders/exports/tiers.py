"""Every tier's documents once, in the tier files' order, encoded: the pool that Megatron's blends and
DeepSpeed's data sampler draw from themselves (as opposed to the curriculum's own drawn stream)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow.parquet as pq

from curriscale.curricula.encoding import Encoder
from curriscale.curricula.manifest import Manifest
from curriscale.curricula.tier_reader import reading_tier_file


def tier_documents(
    manifest: Manifest, tier: int, encoder: Encoder
) -> Iterator[tuple[list[str], list[np.ndarray]]]:
    """(ids, token ids without EOS) of tier `tier`, one Parquet row group at a time, in file order."""
    for path in manifest.tier_files(tier):
        with reading_tier_file(path):
            parquet = pq.ParquetFile(path)
            for group in range(parquet.num_row_groups):
                table = parquet.read_row_group(group, columns=["id", "text"])
                ids = [str(value) for value in table.column("id").to_pylist()]
                yield ids, encoder.encode_batch(table.column("text").to_pylist())
