"""Read one difficulty tier in block-shuffled order, one Parquet row group in memory at a time.

Each epoch shuffles the order of the tier's row groups and, inside each group, the order of its
rows, seeded by (seed, tier, epoch[, group]); an exhausted tier starts its next epoch. A cursor of
three integers (epoch, group position, row position) is the whole state, so a reader can be put
back anywhere. Reading a group also measures it (token counts, ids, answer masks) through a
callback from the sampler, once per group rather than once per document.

A tier file that cannot be read (truncated, corrupt) raises `CurriscaleError` naming the file and
the `curriscale verify` command that checks the whole curriculum against its manifest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.curricula.encoding import TokenRows
from curriscale.errors import CurriscaleError

# Per-row token counts of a row group, the rows' token ids when a tokenizer is used, and the answer
# mask (True on answer tokens, laid out like the ids) when answer masks are asked for.
Measured = tuple[list[int], TokenRows | None, np.ndarray | None]
# Measures a row group's table; also told where it came from (tier file, row group index).
Measure = Callable[[pa.Table, tuple[Path, int]], Measured]


@contextlib.contextmanager
def reading_tier_file(path: Path) -> Iterator[None]:
    """Turn pyarrow's errors while reading tier file `path` into a `CurriscaleError` naming it."""
    try:
        yield
    except (pa.ArrowException, OSError) as error:
        folder = next((p for p in Path(path).parents if (p / "manifest.json").is_file()), Path(path).parent)
        reason = " ".join(str(error).split())  # pyarrow's messages span lines; errors are one line
        raise CurriscaleError(
            f"{path}: cannot read tier file ({reason}); check the curriculum with `curriscale verify {folder}`"
        ) from error


class RowGroup:
    """One row group held in memory: its rows, this epoch's row order, and per-row token counts."""

    def __init__(self, tier: int, table: pa.Table, order: list[int], measured: Measured):
        self.tier, self.table, self.order = tier, table, order
        self.lengths, self.ids, self.masks = measured
        self._rows: dict[str, list] | None = None

    def document(self, row: int) -> dict[str, Any]:
        # Python objects only for groups whose documents are actually wanted (other shards skip).
        if self._rows is None:
            self._rows = self.table.to_pydict()
        document = {name: values[row] for name, values in self._rows.items()}
        document["tier"] = self.tier
        return document


class TierReader:
    """Serves one tier's documents in block-shuffled order, one cached row group at a time."""

    def __init__(self, index: int, files: Sequence[Path], columns: Sequence[str] | None):
        self.index, self.columns = index, columns
        self.groups: list[tuple[Path, int]] = []
        for path in files:
            with reading_tier_file(path):
                metadata = pq.ParquetFile(path).metadata
            self.groups += [
                (path, g) for g in range(metadata.num_row_groups) if metadata.row_group(g).num_rows
            ]
        self.epoch = self.group_pos = self.row_pos = 0
        self._order: tuple[int, np.ndarray] | None = None
        self._cached: tuple[tuple[int, int], RowGroup] | None = None
        self._group: RowGroup | None = None

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "group_pos": self.group_pos, "row_pos": self.row_pos}

    def load_state(self, state: dict[str, int]) -> None:
        self.epoch, self.group_pos, self.row_pos = state["epoch"], state["group_pos"], state["row_pos"]
        # The cursor may point into another group, and orders cached under another seed are stale.
        self._order = self._cached = self._group = None

    def _current_group(self, seed: int, measure: Measure) -> RowGroup:
        """The group under the cursor, read (and measured) only if it is not the cached one."""
        if self._order is None or self._order[0] != self.epoch:
            rng = np.random.default_rng([seed, self.index, self.epoch, 0])
            self._order = (self.epoch, rng.permutation(len(self.groups)))
        g = int(self._order[1][self.group_pos])
        if self._cached is None or self._cached[0] != (self.epoch, g):
            path, row_group = self.groups[g]
            with reading_tier_file(path):
                table = pq.ParquetFile(path).read_row_group(row_group, columns=self.columns)
            order = np.random.default_rng([seed, self.index, self.epoch, 1, g]).permutation(table.num_rows)
            self._cached = (
                (self.epoch, g),
                RowGroup(self.index, table, order.tolist(), measure(table, (path, row_group))),
            )
        return self._cached[1]

    def next(self, seed: int, measure: Measure) -> tuple[RowGroup, int]:
        """The group holding the next document and its row; advances the cursor."""
        if self.row_pos == 0 or self._group is None:  # only a new group needs the lookup
            self._group = self._current_group(seed, measure)
        group = self._group
        row = group.order[self.row_pos]
        self.row_pos += 1
        if self.row_pos == len(group.order):
            self.group_pos, self.row_pos = self.group_pos + 1, 0
            if self.group_pos == len(self.groups):  # tier exhausted: reshuffle for the next epoch
                self.epoch, self.group_pos = self.epoch + 1, 0
        return group, row
