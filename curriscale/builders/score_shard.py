"""What one scoring task does: check, score in batches, and write its two Parquet files.

`ScoreShard` is the last datatrove step of the scoring pipeline. It takes the documents of one
task, rejects those that cannot be scored (empty text, binary junk, a scorer's non-finite output or
exception), scores the rest batch by batch with every scorer, and writes
`scored/part-<rank>.parquet`, `rejected/part-<rank>.parquet` and `<logs>/counts/<rank>.json`
(atomically, in that order, before datatrove marks the task complete; a rerun redoes only tasks
that never completed).

Scorers see at most `max_chars` characters of a document (the `truncated` column says which were
cut) so one 10 MB document cannot stall or exhaust a task; the scored file keeps the full text.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curriscale.builders.readers import INTERNAL, internal
from curriscale.builders.score_rules import reason_key, score_with_retries, text_problem
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output, atomic_write_json, remove_temporaries
from curriscale.scorers.base import Scorer

SPILL_BYTES = 256 << 20  # a task moves its buffered scored rows to a memory-mapped Arrow file past this
ROW_GROUP_ROWS = 65_536
REJECTED_TEXT_CHARS = 2_000  # rejected/ keeps enough text to recognise a document, not all of it
REJECTED_SCHEMA = pa.schema(
    [("id", pa.string()), ("text", pa.string()), ("reason", pa.string()), ("source", pa.string())]
)


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write a table atomically with fixed settings, so the same table always gives the same bytes."""
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)


def scored_schema(schemas: Sequence[pa.Schema], score_columns: Sequence[str]) -> pa.Schema:
    """One schema for several scored tables: `id`, `text`, carried fields (first seen first),
    `truncated`, then the score columns; types promoted (null -> any, int -> float)."""
    try:
        unified = pa.unify_schemas(list(schemas), promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise CurriscaleError(f"carried fields change type between documents: {error}") from error
    fixed = {"id", "text", "truncated", *score_columns}
    carried = list(dict.fromkeys(n for s in schemas for n in s.names if n not in fixed))
    return pa.schema([unified.field(n) for n in ["id", "text", *carried, "truncated", *score_columns]])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns, order and types (missing columns are null)."""
    columns = [
        table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


class ShardBuffer:
    """Scored and rejected rows of one task, kept until the task writes them.

    Scored rows wait as Arrow tables; past `SPILL_BYTES` they move to Arrow files under
    `spill_dir`, read back memory-mapped when the part is written, so memory stays bounded.
    """

    def __init__(self, scorers: Sequence[Scorer], spill_dir: Path, rank: int):
        self.scorers = scorers
        self.score_columns = [n for s in scorers for n in s.columns()]
        fixed = [("id", pa.string()), ("text", pa.string()), ("truncated", pa.bool_())]
        self.base_schema = pa.schema(fixed + [(n, t) for s in scorers for n, t in s.columns().items()])
        self.scored: list[pa.Table] = []
        self.spill_dir, self.rank = spill_dir, rank
        self.spills: list[Path] = []
        for stale in spill_dir.glob(f"{rank:05d}-*.arrow"):  # left by an interrupted run of this task
            stale.unlink()
        self.rejected: list[dict] = []
        self.metadata_order: dict[str, None] = {}  # carried fields, in order of first appearance
        self.counts = {"documents_in": 0, "scored": 0, "rejected": 0, "truncated": 0}
        self.reasons: Counter[str] = Counter()
        self.per_input: Counter[int] = Counter()

    def reject(self, document: Document, reason: str) -> None:
        self.rejected.append(
            {
                "id": document.id,
                "text": document.text[:REJECTED_TEXT_CHARS],
                "reason": reason,
                "source": internal(document)["source"],
            }
        )
        self.reasons[reason_key(reason)] += 1
        self.counts["rejected"] += 1

    def add_batch(self, documents: list[Document], max_chars: int) -> None:
        """Check, score and buffer one batch of documents."""
        self.counts["documents_in"] += len(documents)
        self.per_input.update(internal(d)["input"] for d in documents)
        valid = []
        for document in documents:
            reason = internal(document)["reject"] or text_problem(document.text, max_chars)
            if reason:
                self.reject(document, reason)
            else:
                valid.append(document)
        if not valid:
            return
        texts = [d.text[:max_chars] for d in valid]
        reasons: list[str | None] = [None] * len(valid)
        score_columns: dict[str, pa.Array] = {}
        for scorer in self.scorers:
            values, scorer_reasons = score_with_retries(scorer, texts)
            reasons = [mine or theirs for mine, theirs in zip(reasons, scorer_reasons, strict=True)]
            for name, dtype in scorer.columns().items():
                score_columns[name] = _to_arrow(
                    values[name], dtype, f"scorer {scorer.name!r} column {name!r}"
                )
        keep = np.array([reason is None for reason in reasons])
        for document, reason in zip(valid, reasons, strict=True):
            if reason:
                self.reject(document, reason)
        kept = [d for d, ok in zip(valid, keep, strict=True) if ok]
        if not kept:
            return
        truncated = [len(d.text) > max_chars for d in kept]
        self.counts["scored"] += len(kept)
        self.counts["truncated"] += sum(truncated)
        table = {
            "id": pa.array([d.id for d in kept], pa.string()),
            "text": pa.array([d.text for d in kept], pa.string()),
        }
        table.update(self._metadata_columns(kept, score_columns))
        table["truncated"] = pa.array(truncated, pa.bool_())
        mask = pa.array(keep)
        table.update({name: column.filter(mask) for name, column in score_columns.items()})
        self.scored.append(pa.table(table))
        if sum(t.nbytes for t in self.scored) > SPILL_BYTES:
            self._spill()

    def _buffered(self) -> pa.Table:
        schema = scored_schema([self.base_schema, *(t.schema for t in self.scored)], self.score_columns)
        return conform_all(self.scored, schema)

    def _spill(self) -> None:
        """Move the buffered scored rows to an Arrow file."""
        table = self._buffered()
        path = self.spill_dir / f"{self.rank:05d}-{len(self.spills):04d}.arrow"
        path.parent.mkdir(parents=True, exist_ok=True)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        self.spills.append(path)
        self.scored = []

    def _metadata_columns(self, documents: list[Document], outputs: dict) -> dict[str, pa.Array]:
        """Carried fields as Arrow columns; a field named like an output column gives way to it."""
        reserved = {"id", "text", "truncated", *outputs}
        for document in documents:
            self.metadata_order.update(dict.fromkeys(k for k in document.metadata if k != INTERNAL))
        return {
            name: _to_arrow([d.metadata.get(name) for d in documents], None, f"field {name!r}")
            for name in self.metadata_order
            if name not in reserved and any(name in d.metadata for d in documents)
        }

    def write_scored(self, path: Path) -> None:
        """Write every scored row (spilled ones first, in order) to one Parquet file, atomically."""
        pieces = [pa.ipc.open_file(pa.memory_map(str(p))).read_all() for p in self.spills]
        if self.scored or not pieces:
            pieces.append(self._buffered())
        schema = scored_schema([self.base_schema, *(p.schema for p in pieces)], self.score_columns)
        with atomic_output(path) as tmp:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for piece in pieces:
                    writer.write_table(conform(piece, schema), row_group_size=ROW_GROUP_ROWS)
        for spill in self.spills:
            spill.unlink()

    def rejected_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rejected, schema=REJECTED_SCHEMA)


def conform_all(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """Tables conformed to one schema and concatenated (an empty table of it when there are none)."""
    return pa.concat_tables([schema.empty_table(), *(conform(t, schema) for t in tables)])


def _to_arrow(values: list, dtype: pa.DataType | None, what: str) -> pa.Array:
    try:
        return pa.array(values, type=dtype)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise CurriscaleError(f"{what}: values cannot form one column ({error})") from error


class ScoreShard(PipelineStep):
    """datatrove step: score this task's documents and write its scored/rejected Parquet files.

    Args:
        out_dir: the score output folder (`scored/`, `rejected/` go below it).
        work_dir: datatrove's logging folder: the task's counts (`counts/`) and spills (`spill/`) go there.
        scorers: scorer instances (load models lazily: they are copied into every task).
        batch_size: documents per scorer call.
        max_chars: characters of a document the scorers see.
    """

    name = "curriscale score"
    type = "📊 - SCORER"

    def __init__(
        self, out_dir: str, work_dir: str, scorers: Sequence[Scorer], batch_size: int, max_chars: int
    ):
        super().__init__()
        self.out_dir = out_dir
        self.work_dir = work_dir
        self.scorers = list(scorers)
        self.batch_size = batch_size
        self.max_chars = max_chars

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        buffer = ShardBuffer(self.scorers, Path(self.work_dir) / "spill", rank)
        progress = Path(self.work_dir) / "counts" / f"{rank:05d}.progress"
        progress.parent.mkdir(parents=True, exist_ok=True)
        for batch in batched(data or (), self.batch_size):
            with self.track_time(unit="batch"):
                buffer.add_batch(batch, self.max_chars)
            progress.write_text(str(buffer.counts["documents_in"]))  # polled by the driver's progress bar
        name = f"part-{rank:05d}.parquet"
        # Only this task writes its parts and counts: drop the temporaries a killed run of it left.
        for folder in ("scored", "rejected"):
            remove_temporaries(Path(self.out_dir) / folder, name)
        remove_temporaries(progress.parent, f"{rank:05d}.json")
        buffer.write_scored(Path(self.out_dir) / "scored" / name)
        write_parquet(buffer.rejected_table(), Path(self.out_dir) / "rejected" / name)
        for key, value in buffer.counts.items():
            self.stat_update(key, value=value)
        counts = {
            **buffer.counts,
            "rejected_reasons": dict(sorted(buffer.reasons.items())),
            "per_input": {str(k): v for k, v in sorted(buffer.per_input.items())},
        }
        atomic_write_json(Path(self.work_dir) / "counts" / f"{rank:05d}.json", counts)
        progress.unlink(missing_ok=True)
        yield from ()
