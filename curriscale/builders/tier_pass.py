"""The builder's second pass: stream full rows into tier shards, one input group per task.

The inputs are cut into *groups* of consecutive files (about `GROUP_ROWS` rows each; the cut
depends only on the inputs, never on the number of workers). Task `rank` streams group `rank`
batch by batch, appends the `difficulty` column, splits each batch by tier (input order kept within
a tier) and writes `tier=NN/.gGGGGG-part-KKKKK.parquet` plus the rows it cannot place, then a small
JSON summary. The builder afterwards renames the parts to `part-NNNNN.parquet` in (group, part)
order, so the result is byte-identical whether the groups ran in one process or on a datatrove
`LocalPipelineExecutor` with several workers (`WriteTiers` is a datatrove `PipelineStep`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep

from curriscale.builders.shards import REJECT_SCHEMA, ShardWriter
from curriscale.io import atomic_write_json

BATCH_ROWS = 32_768
GROUP_ROWS = 262_144
WORK_DIR = ".work"  # inside the partial build folder: key arrays, group summaries, datatrove logs


@dataclass(frozen=True)
class InputFile:
    """One scored file: its path, the name recorded in the manifest, its first global row."""

    path: str
    name: str
    offset: int
    rows: int


def plan_groups(files: list[InputFile]) -> list[list[InputFile]]:
    """Consecutive files, grouped until a group holds at least `GROUP_ROWS` rows."""
    groups: list[list[InputFile]] = [[]]
    for file in files:
        if sum(f.rows for f in groups[-1]) >= GROUP_ROWS:
            groups.append([])
        groups[-1].append(file)
    return groups


def token_counts(table: pa.Table) -> np.ndarray:
    """Tokens per document: the `n_tokens` column if present, else whitespace-separated words.

    Whitespace means ASCII whitespace (as `str.split()` on ASCII text); splitting the trimmed text is
    several times faster than counting regex matches.
    """
    if "n_tokens" in table.column_names:
        counts = table.column("n_tokens")
    else:
        trimmed = pc.ascii_trim_whitespace(table.column("text"))
        words = pc.list_value_length(pc.ascii_split_whitespace(trimmed))
        counts = pc.if_else(pc.equal(pc.binary_length(trimmed), 0), 0, words)  # "" splits into [""]
    return pc.fill_null(counts, 0).to_numpy(zero_copy_only=False).astype(np.int64)


def column_or_nulls(table: pa.Table | pa.RecordBatch, field: pa.Field) -> pa.Array:
    """`field` from `table` cast to its type, or a null column when the table lacks it."""
    if field.name not in table.schema.names:
        return pa.nulls(table.num_rows, field.type)
    return pc.cast(table.column(field.name), field.type)


def write_group(
    root: Path,
    group: int,
    files: list[InputFile],
    schema: pa.Schema,
    work: Path,
    n_tiers: int,
    reason: str,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write one group's tier and reject parts under `root`; return (and save) its summary.

    Args:
        root: The partial curriculum folder.
        group: Group index (names the part files).
        files: The group's input files.
        schema: Output schema (input columns + `difficulty`).
        work: Folder with the global `difficulty.npy` and `tier.npy` (memory-mapped, not copied);
            the summary is saved there as `group-GGGGG.json`.
        n_tiers: Number of tiers.
        reason: The reject reason for documents with tier -1.
        progress: Called with the number of rows done in this group after each batch.
    """
    difficulty = np.load(work / "difficulty.npy", mmap_mode="r")
    assigned = np.load(work / "tier.npy", mmap_mode="r")
    prefix = f".g{group:05d}-"
    writers = [ShardWriter(root, f"tier={i:02d}", schema, prefix) for i in range(n_tiers)]
    rejects = ShardWriter(root, "rejected", REJECT_SCHEMA, prefix)
    tokens, done = np.zeros(n_tiers, np.int64), 0
    for file in files:
        row_in_file = 0
        for batch in pq.ParquetFile(file.path).iter_batches(batch_size=BATCH_ROWS):
            n, start = batch.num_rows, file.offset + row_in_file
            table = pa.table({f.name: column_or_nulls(batch, f) for f in schema if f.name != "difficulty"})
            table = table.append_column("difficulty", pa.array(difficulty[start : start + n]))
            # Sort the batch by tier (stable: input order within a tier), then cut contiguous slices.
            order = np.argsort(assigned[start : start + n], kind="stable")
            tier = assigned[start : start + n][order]
            counts = token_counts(table)[order]
            table = table.take(order)
            cuts = np.searchsorted(tier, np.arange(-1, n_tiers + 1))
            if cuts[1]:
                bad = table.slice(0, cuts[1])
                source = [f"{file.name}:{row_in_file + i}" for i in order[: cuts[1]]]
                columns = {
                    "id": bad["id"],
                    "text": bad["text"],
                    "reason": [reason] * bad.num_rows,
                    "source": source,
                }
                rejects.add(pa.table(columns, schema=REJECT_SCHEMA))
            for i in range(n_tiers):
                writers[i].add(table.slice(cuts[i + 1], cuts[i + 2] - cuts[i + 1]))
                tokens[i] += counts[cuts[i + 1] : cuts[i + 2]].sum()
            row_in_file += n
            done += n
            if progress:
                progress(done)
    summary = {
        "tiers": [
            {"rows": w.rows, "tokens": int(t), "parts": w.close()}
            for w, t in zip(writers, tokens, strict=True)
        ],
        "rejected": {
            "rows": rejects.rows,
            "reasons": {reason: rejects.rows} if rejects.rows else {},
            "parts": rejects.close(),
        },
    }
    atomic_write_json(work / f"group-{group:05d}.json", summary)
    return summary


class WriteTiers(PipelineStep):
    """datatrove step: task `rank` runs `write_group` for group `rank` (see module docstring)."""

    name = "curriscale tiers"
    type = "Writer"

    def __init__(
        self, root: str, groups: list[list[InputFile]], schema: pa.Schema, n_tiers: int, reason: str
    ):
        super().__init__()
        self.root, self.groups, self.schema, self.n_tiers, self.reason = root, groups, schema, n_tiers, reason

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        root = Path(self.root)
        write_group(root, rank, self.groups[rank], self.schema, root / WORK_DIR, self.n_tiers, self.reason)
        return data
