"""Read JSONL, Parquet, text files and saved datasets into datatrove Documents, losing none.

datatrove's own JsonlReader and ParquetReader skip what they cannot parse and documents with no
text, logging a warning at most. The scoring pipeline promises that every input document is either
scored or rejected with a reason, so `CorpusReader` reads every record and turns the bad ones into
documents already marked as rejected (reason and `file:line` source), which the scoring step then
writes to `rejected/` instead of scoring them.

Ids come from the id field when a record has one, else `<file stem>-<n>`. Sources and those `n`
count JSONL lines from 1 (as editors do) and Parquet/dataset rows from 0 (as pyarrow does); a text
file is one document whose id is its stem (its path below the input folder, without `.txt`), or,
split by paragraph or line, one per piece with id `<stem>-<n>`, n the line the piece starts on.
Blank JSONL lines and blank pieces are not documents. Every other field of a record rides along in
`metadata`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers.base import BaseReader
from loguru import logger

from curriscale.builders.inputs import (
    MAX_LINE_BYTES,
    ReadUnit,
    bounded_lines,
    load_saved_dataset,
    units_for_task,
)
from curriscale.pool_worker import leave_ctrl_c_to_parent

INTERNAL = "__curriscale__"  # metadata key for the pipeline's own bookkeeping (source, rejection)
_ROWS_PER_READ = 1024


def internal(document: Document) -> dict:
    """The pipeline's bookkeeping for a document: `source`, `input` index and `reject` reason."""
    return document.metadata[INTERNAL]


def _document(text, doc_id, metadata: dict, unit: ReadUnit, source: str, reject: str | None) -> Document:
    metadata[INTERNAL] = {"source": source, "input": unit.input_index, "reject": reject}
    return Document(text=text, id=doc_id, metadata=metadata)


def record_to_document(
    record: dict, unit: ReadUnit, number: int, text_field: str, id_field: str, source: str
) -> Document:
    """A parsed record as a Document; a missing or non-string text marks it rejected."""
    metadata = dict(record)
    text = metadata.pop(text_field, None)
    doc_id = metadata.pop(id_field, None)
    doc_id = f"{unit.stem}-{number}" if doc_id is None else str(doc_id)
    reject = None
    if text is None:
        reject, text = f"missing text field: no {text_field!r} in the record", ""
    elif not isinstance(text, str):
        reject, text = f"text is not a string: {type(text).__name__}", str(text)
    return _document(text, doc_id, metadata, unit, source, reject)


def _lines(unit: ReadUnit) -> Iterator[tuple[bytes, int]]:
    """The raw lines of a JSONL unit (its byte range of a plain file, or a whole gzip file) as
    `bounded_lines` gives them: `(line, length)`, an over-long line cut to its first bytes."""
    if unit.path.lower().endswith(".gz"):
        with gzip.open(unit.path, "rb") as handle:
            yield from bounded_lines(handle)
        return
    with open(unit.path, "rb") as handle:
        handle.seek(unit.start)
        position = unit.start
        for raw, length in bounded_lines(handle):
            if unit.stop is not None and position >= unit.stop:
                return
            position += length
            yield raw, length


def read_jsonl(unit: ReadUnit, text_field: str, id_field: str) -> Iterator[Document]:
    """Every non-blank line of a JSONL unit as a Document, malformed and over-long ones rejected."""
    for number, (raw, length) in enumerate(_lines(unit), start=unit.part or 1):
        if not raw.strip():
            continue
        source = f"{unit.path}:{number}"
        fallback_id = f"{unit.stem}-{number}"
        if length > len(raw):
            text = raw.decode("utf-8", errors="replace")
            reason = (f"line of {length:,} bytes is longer than the {MAX_LINE_BYTES >> 20} MiB limit: "
                      f"not parsed (its first {len(raw):,} bytes are kept)")  # fmt: skip
            yield _document(text, fallback_id, {}, unit, source, reason)
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            reason = f"binary or invalid UTF-8: byte {error.start} of the line"
            yield _document(text, fallback_id, {}, unit, source, reason)
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            yield _document(line.rstrip("\n"), fallback_id, {}, unit, source, f"malformed JSON: {error}")
            continue
        if not isinstance(record, dict):
            reason = f"malformed JSON: expected an object, got {type(record).__name__}"
            yield _document(line.rstrip("\n"), fallback_id, {}, unit, source, reason)
            continue
        yield record_to_document(record, unit, number, text_field, id_field, source)


def text_pieces(text: str, split: str) -> Iterator[tuple[int, str]]:
    """`(line number, piece)` for each non-blank line, or paragraph (lines up to a blank one), of `text`.

    Line numbers count from 1 and name the piece's first line. A line of spaces counts as blank.
    """
    first, block = 0, []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            if not block:
                first = number
            block.append(line)
        if block and (split == "line" or not line.strip()):
            yield first, "\n".join(block)
            block = []
    if block:
        yield first, "\n".join(block)


def read_text_file(unit: ReadUnit, split: str = "none") -> Iterator[Document]:
    """A `.txt` file as Documents: the whole file, or one per paragraph or line (see `text_pieces`).

    UTF-8; an undecodable file is one rejected document, whatever the split.
    """
    data = Path(unit.path).read_bytes()
    try:
        text, reject = data.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError as error:
        text, reject = data.decode("utf-8", errors="replace"), f"binary or invalid UTF-8: byte {error.start}"
    if split == "none" or reject:
        yield _document(text, unit.stem, {}, unit, unit.path, reject)
        return
    for line, piece in text_pieces(text, split):
        yield _document(piece, f"{unit.stem}-{line}", {}, unit, f"{unit.path}:{line}", None)


def read_parquet_row_group(unit: ReadUnit, text_field: str, id_field: str) -> Iterator[Document]:
    """The rows of one Parquet row group as Documents."""
    parquet = pq.ParquetFile(unit.path)
    row = unit.start
    for batch in parquet.iter_batches(batch_size=_ROWS_PER_READ, row_groups=[unit.part]):
        for record in batch.to_pylist():
            yield record_to_document(record, unit, row, text_field, id_field, f"{unit.path}:{row}")
            row += 1


def read_dataset_rows(unit: ReadUnit, text_field: str, id_field: str) -> Iterator[Document]:
    """A row range of a saved Hugging Face dataset (one split) as Documents."""
    loaded = load_saved_dataset(unit.path)
    split = loaded if unit.part is None else loaded[unit.part]
    where = unit.path if unit.part is None else f"{unit.path}/{unit.part}"
    for first in range(unit.start, unit.stop, _ROWS_PER_READ):
        columns = split[first : min(first + _ROWS_PER_READ, unit.stop)]
        names = list(columns)
        for offset, values in enumerate(zip(*columns.values(), strict=True)):
            row = first + offset
            record = dict(zip(names, values, strict=True))
            yield record_to_document(record, unit, row, text_field, id_field, f"{where}:{row}")


class CorpusReader(BaseReader):
    """datatrove reader over planned `ReadUnit`s; each task reads its contiguous share.

    Args:
        units: all read units, from `curriscale.builders.inputs.plan_inputs`.
        text_field: field/column with the text.
        id_field: field/column with the id.
        datatrove_logs: False silences datatrove's log lines in the task's process (console and file).
        txt_split: `.txt` files as one document ("none"), or one per "paragraph" or "line".
    """

    name = "curriscale corpus"

    def __init__(
        self,
        units: list[ReadUnit],
        text_field: str,
        id_field: str,
        datatrove_logs: bool = True,
        txt_split: str = "none",
    ):
        super().__init__(text_key=text_field, id_key=id_field)
        self.units = units
        self.datatrove_logs = datatrove_logs
        self.txt_split = txt_split

    def read_unit(self, unit: ReadUnit) -> Iterator[Document]:
        """The documents of one unit, by its kind."""
        if unit.kind == "jsonl":
            return read_jsonl(unit, self.text_key, self.id_key)
        if unit.kind == "parquet":
            return read_parquet_row_group(unit, self.text_key, self.id_key)
        if unit.kind == "hf":
            return read_dataset_rows(unit, self.text_key, self.id_key)
        return read_text_file(unit, self.txt_split)

    def __setstate__(self, state: dict) -> None:
        # A local executor's worker process unpickles its pipeline before datatrove logs the task's
        # start, so this is the place to silence those lines too.
        self.__dict__.update(state)
        if not self.datatrove_logs:
            logger.disable("datatrove")

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if not self.datatrove_logs:
            logger.disable("datatrove")  # worker processes start with datatrove's console logging on
        leave_ctrl_c_to_parent()
        for unit in units_for_task(self.units, rank, world_size):
            self.stat_update("input_units")
            for document in self.read_unit(unit):
                self.stat_update("documents")
                yield document
