"""Deterministic Parquet shard writing for the builder: fixed row groups, bounded part files.

A `ShardWriter` receives a tier's rows in pieces (one slice per input batch), buffers them until a
full row group of `ROW_GROUP_ROWS` rows is ready, and rolls over to a new `part-NNNNN.parquet` every
`ROWS_PER_FILE` rows. Row groups therefore depend only on the row sequence, never on how the input
happened to be batched, and the bytes are identical from run to run (no timestamps are written).
Readers stream a shard row group by row group, so memory stays at one group.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.io import sha256_file

ROW_GROUP_ROWS = 8_192
ROWS_PER_FILE = 50 * ROW_GROUP_ROWS
UNIQUE_COLUMNS = ("id", "text")
REJECT_SCHEMA = pa.schema(
    [("id", pa.string()), ("text", pa.string()), ("reason", pa.string()), ("source", pa.string())]
)


class ShardWriter:
    """Append tables to `root/subdir/part-NNNNN.parquet` files with fixed-size row groups.

    Args:
        root: The curriculum folder (manifest paths are relative to it).
        subdir: Folder for this writer's parts, e.g. "tier=03" or "rejected".
        schema: The schema of every part.
        prefix: Prepended to part file names (a task's parts are renamed once all tasks finish).
    """

    def __init__(self, root: Path, subdir: str, schema: pa.Schema, prefix: str = "") -> None:
        self.root, self.subdir, self.schema, self.prefix = root, subdir, schema, prefix
        self.rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._part_rows = 0
        self._parts: list[tuple[str, int]] = []

    def add(self, table: pa.Table) -> None:
        """Buffer `table` (same schema); write every complete row group."""
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._buffered += table.num_rows
        self.rows += table.num_rows
        if self._buffered >= ROW_GROUP_ROWS:
            pending = pa.concat_tables(self._buffer)
            full = pending.num_rows - pending.num_rows % ROW_GROUP_ROWS
            for start in range(0, full, ROW_GROUP_ROWS):
                self._write(pending.slice(start, ROW_GROUP_ROWS))
            self._buffer = [pending.slice(full)]
            self._buffered = pending.num_rows - full

    def _write(self, table: pa.Table) -> None:
        if self._writer is None or self._part_rows >= ROWS_PER_FILE:
            self._close_part()
            relative = f"{self.subdir}/{self.prefix}part-{len(self._parts):05d}.parquet"
            (self.root / self.subdir).mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.root / relative,
                self.schema,
                compression="zstd",
                # Ids and texts are (nearly) unique: dictionary encoding them is wasted work, and
                # min/max statistics of whole texts are useless and costly.
                use_dictionary=[name for name in self.schema.names if name not in UNIQUE_COLUMNS],
                write_statistics=[name for name in self.schema.names if name != "text"],
            )
            self._parts.append((relative, 0))
        self._writer.write_table(table.combine_chunks(), row_group_size=ROW_GROUP_ROWS)
        self._part_rows += table.num_rows
        relative, rows = self._parts[-1]
        self._parts[-1] = (relative, rows + table.num_rows)

    def _close_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer, self._part_rows = None, 0

    def close(self) -> list[list]:
        """Write the last partial row group; return [relative path, rows] of each part written."""
        if self._buffered:
            self._write(pa.concat_tables(self._buffer))
        self._buffer, self._buffered = [], 0
        self._close_part()
        return [[relative, rows] for relative, rows in self._parts]


def file_entry(root: Path, relative: str, rows: int) -> dict:
    """The manifest entry of a written file: path, rows, bytes and sha256."""
    path = root / relative
    return {"path": relative, "rows": rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
