"""Find, check and fingerprint the inputs of `curriscale score` before any work starts.

An INPUT is a JSONL file (`.jsonl`, `.jsonl.gz`), a Parquet file, a `.txt` file (one document, or
one per paragraph or line: `TXT_SPLITS`), a folder of such files (searched recursively, hidden files
and folders below it skipped), or a Hugging Face dataset
saved with `save_to_disk`. Planning turns the inputs into `ReadUnit`s, the pieces datatrove tasks
share out: a whole JSONL or text file, one Parquet row group, or a row range of a dataset split.

Everything a user can get wrong is caught here, naming the path: a missing or unreadable input, an
unsupported format, a Parquet file or dataset without the text column, a JSONL file whose first
record lacks it. Each input also gets a SHA-256 (files in a folder: a hash of their hashes) for the
provenance in `score_stats.json`, and an estimate of its document count for progress bars.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from curriscale.errors import CurriscaleError
from curriscale.io import sha256_file

SUPPORTED = (
    ".jsonl, .jsonl.gz, .parquet, .txt, a folder of them, or a dataset saved with datasets' save_to_disk"
)
HF_ROWS_PER_UNIT = 50_000  # dataset rows per read unit: small enough to spread over tasks
JSONL_BYTES_PER_UNIT = 32 << 20  # plain JSONL files are cut into read units of at most about this size
MIN_JSONL_UNIT_BYTES = 1 << 20  # ... and at least this size, aiming at 4 units per task for a lone file
_CHUNK = 1 << 20
TXT_SPLITS = ("none", "paragraph", "line")  # a .txt file is one document, or one per paragraph or line


@dataclass(frozen=True)
class ReadUnit:
    """One piece of one input that a single task reads start to finish.

    Parquet: `part` is the row group, `start`/`stop` its rows. Dataset: `part` is the split,
    `start`/`stop` the rows. JSONL: `part` is the first line's number, `start`/`stop` the byte range
    (`stop` None: to the end). `weight` (about the bytes) balances tasks.
    """

    input_index: int
    path: str
    kind: str  # "jsonl" | "parquet" | "text" | "hf"
    stem: str  # id prefix for documents without an id
    part: int | str | None = None
    start: int = 0
    stop: int | None = None
    weight: int = 1


@dataclass(frozen=True)
class InputInfo:
    """Provenance of one INPUT argument: format, files read, fingerprint, documents expected."""

    path: str
    format: str
    files: int
    sha256: str
    expected_documents: int
    ignored_files: int = 0


def file_kind(path: Path) -> str | None:
    """The reader for a file by its name, or None when curriscale cannot read it."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    return {".parquet": "parquet", ".txt": "text"}.get(path.suffix.lower())


def file_stem(path: Path) -> str:
    """File name without its data suffixes (`train.jsonl.gz` -> `train`)."""
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl", ".parquet", ".txt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


# A JSONL line longer than this is not parsed: the reader sets it aside in rejected/ with its first
# KEPT_PREFIX_BYTES, reading past the rest in chunks, so memory stays bounded whatever its length.
MAX_LINE_BYTES = 64 * 1024 * 1024
KEPT_PREFIX_BYTES = 1000
_SKIP_CHUNK = 1 << 20


def bounded_lines(handle) -> Iterator[tuple[bytes, int]]:
    """Each line of a binary file as `(line, its length in bytes)`; a line longer than
    MAX_LINE_BYTES comes as its first KEPT_PREFIX_BYTES only (so `len(line) < length`)."""
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line, len(line)
            continue
        length = len(line)
        while rest := handle.readline(_SKIP_CHUNK):
            length += len(rest)
            if rest.endswith(b"\n"):
                break
        yield line[:KEPT_PREFIX_BYTES], length


def _scan_jsonl(path: Path, cut_bytes: int) -> tuple[str, int, list[tuple[int, int]]]:
    """SHA-256, line count, and where read units start: `(byte offset, line number)` pairs.

    A plain file is cut at the first line start after every `cut_bytes` bytes, so one
    big file still spreads over many tasks; a gzip file cannot be entered midway and stays whole.
    """
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(_CHUNK), b""))
        return sha256_file(path), lines, [(0, 1)]
    digest, lines, offset, cuts = hashlib.sha256(), 0, 0, [(0, 1)]
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            while (want := cuts[-1][0] + cut_bytes) < offset + len(chunk):
                newline = chunk.find(b"\n", max(want - offset - 1, 0))
                if newline == -1:
                    break  # the cut falls in the next chunk
                cuts.append((offset + newline + 1, lines + chunk.count(b"\n", 0, newline + 1) + 1))
            lines += chunk.count(b"\n")
            offset += len(chunk)
    return digest.hexdigest(), lines, [cut for cut in cuts if cut[0] < offset or cut == (0, 1)]


def _check_jsonl_text_field(path: Path, text_field: str) -> None:
    """Fail early when the first JSON record of a file has no `text_field` (likely a wrong option)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, (line, length) in enumerate(bounded_lines(handle), start=1):
            if length > len(line):
                return  # too long to parse: the reader sets it aside with its line number
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                return  # the reader rejects malformed lines one by one, with their line numbers
            if isinstance(record, dict) and text_field not in record:
                raise CurriscaleError(
                    f"{path}:{number}: no field {text_field!r} (fields: {', '.join(record)}); "
                    "set --text-field"
                )
            return


def _expected_text_documents(path: Path, txt_split: str) -> int:
    """About how many documents a `.txt` file gives (for progress bars): 1, its paragraphs or lines."""
    if txt_split == "none":
        return 1
    data = path.read_bytes()
    return data.count(b"\n\n") + 1 if txt_split == "paragraph" else data.count(b"\n") + 1


def _plan_file(
    index: int, path: Path, stem: str, text_field: str, tasks: int, txt_split: str
) -> tuple[list[ReadUnit], str, int]:
    """Read units, SHA-256 and expected document count for one data file; `stem` prefixes its ids."""
    kind = file_kind(path)
    if kind == "jsonl":
        size = path.stat().st_size
        # The scan reads a gzip file whole, so a truncated or corrupt one fails here, named; an
        # EOFError left to the CLI would become click's bare "aborted".
        try:
            _check_jsonl_text_field(path, text_field)
            digest, lines, cuts = _scan_jsonl(
                path, min(JSONL_BYTES_PER_UNIT, max(MIN_JSONL_UNIT_BYTES, size // (4 * tasks)))
            )
        except (gzip.BadGzipFile, EOFError, OSError) as error:
            raise CurriscaleError(f"{path}: cannot read ({error})") from error
        ends = [offset for offset, _ in cuts[1:]] + [size]
        units = [
            ReadUnit(
                index,
                str(path),
                "jsonl",
                stem,
                line,
                offset,
                end if len(cuts) > 1 else None,
                max(end - offset, 1),
            )
            for (offset, line), end in zip(cuts, ends, strict=True)
        ]
        return units, digest, lines
    if kind == "text":
        weight = max(path.stat().st_size, 1)
        unit = ReadUnit(index, str(path), "text", stem, weight=weight)
        return [unit], sha256_file(path), _expected_text_documents(path, txt_split)
    try:
        metadata = pq.ParquetFile(path).metadata
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise CurriscaleError(f"{path}: not a readable Parquet file ({error})") from error
    columns = metadata.schema.to_arrow_schema().names
    if text_field not in columns:
        raise CurriscaleError(
            f"{path}: no column {text_field!r} (columns: {', '.join(columns)}); set --text-field"
        )
    units, first_row = [], 0
    for group in range(metadata.num_row_groups):
        info = metadata.row_group(group)
        rows = info.num_rows
        weight = max(info.total_byte_size, 1)
        units.append(ReadUnit(index, str(path), "parquet", stem, group, first_row, first_row + rows, weight))
        first_row += rows
    return units, sha256_file(path), metadata.num_rows


def _folder_digest(folder: Path, files: list[Path], digests: list[str]) -> str:
    """A folder's fingerprint: the hash of its files' relative paths and hashes."""
    lines = "".join(f"{f.relative_to(folder).as_posix()}\0{d}\n" for f, d in zip(files, digests, strict=True))
    return hashlib.sha256(lines.encode()).hexdigest()


def is_saved_dataset(folder: Path) -> bool:
    """True for a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def load_saved_dataset(folder: str | Path):
    """Open a saved Hugging Face dataset (memory-mapped), or explain how to make that possible."""
    try:
        import datasets
    except ImportError as error:
        raise CurriscaleError(
            f"{folder}: is a Hugging Face dataset saved to disk; reading it needs `pip install datasets`"
        ) from error
    try:
        return datasets.load_from_disk(str(folder))
    except Exception as error:  # datasets raises several types for a folder it cannot load
        raise CurriscaleError(f"{folder}: cannot load the saved dataset ({error})") from error


def _plan_dataset(index: int, folder: Path, text_field: str) -> tuple[list[ReadUnit], str, int]:
    """Read units for a saved dataset: row ranges of each split, splits in name order."""
    loaded = load_saved_dataset(folder)
    splits = loaded if hasattr(loaded, "keys") else {None: loaded}  # a DatasetDict, or a single Dataset
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    total_rows = sum(split.num_rows for split in splits.values()) or 1
    units = []
    for name in sorted(splits, key=str):
        split = splits[name]
        if text_field not in split.column_names:
            where = f"{folder}" + (f" split {name!r}" if name else "")
            columns = ", ".join(split.column_names)
            raise CurriscaleError(f"{where}: no column {text_field!r} (columns: {columns}); set --text-field")
        stem = folder.name + (f"-{name}" if name else "")
        for start in range(0, split.num_rows, HF_ROWS_PER_UNIT):
            stop = min(start + HF_ROWS_PER_UNIT, split.num_rows)
            weight = max(size * (stop - start) // total_rows, 1)
            units.append(ReadUnit(index, str(folder), "hf", stem, name, start, stop, weight))
    digest = _folder_digest(folder, files, [sha256_file(p) for p in files])
    return units, digest, total_rows if units else 0


def plan_inputs(
    inputs: list[str | os.PathLike], text_field: str, tasks: int = 1, txt_split: str = "none"
) -> tuple[list[InputInfo], list[ReadUnit]]:
    """Check every input and split it into read units, in a deterministic order.

    Args:
        inputs: files or folders, as the user gave them.
        text_field: the field/column holding the document text.
        tasks: how many tasks will share the units (big JSONL files are cut finer for more tasks).
        txt_split: how `.txt` files become documents (`TXT_SPLITS`); only the progress estimate here.

    Returns:
        Provenance for each input, and all read units (input order, then sorted paths, then rows).

    Raises:
        CurriscaleError: naming the first input that is missing, unreadable or unsupported.
    """
    if not inputs:
        raise CurriscaleError(f"no INPUT given (expected {SUPPORTED})")
    infos, units = [], []
    for index, raw in enumerate(inputs):
        path = Path(raw)
        if not path.exists():
            raise CurriscaleError(f"{raw}: no such file or folder")
        if not os.access(path, os.R_OK):
            raise CurriscaleError(f"{raw}: not readable (permission denied)")
        if path.is_dir() and is_saved_dataset(path):
            found, digest, expected = _plan_dataset(index, path, text_field)
            infos.append(InputInfo(str(raw), "hf_dataset", 1, digest, expected))
        elif path.is_dir():
            # Only the parts below the folder count as hidden: `../corpus` and `.data/` are fine to give.
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            files = [p for p in candidates if file_kind(p)]
            if not files:
                raise CurriscaleError(f"{raw}: folder has no readable files (expected {SUPPORTED})")
            found, digests, expected = [], [], 0
            for file in files:
                stem = (
                    file.parent.relative_to(path) / file_stem(file)
                ).as_posix()  # unique within the folder
                file_units, digest, count = _plan_file(index, file, stem, text_field, tasks, txt_split)
                found += file_units
                digests.append(digest)
                expected += count
            digest = _folder_digest(path, files, digests)
            infos.append(
                InputInfo(str(raw), "folder", len(files), digest, expected, len(candidates) - len(files))
            )
        elif file_kind(path):
            found, digest, expected = _plan_file(index, path, file_stem(path), text_field, tasks, txt_split)
            infos.append(InputInfo(str(raw), file_kind(path), 1, digest, expected))
        else:
            raise CurriscaleError(f"{raw}: unsupported input format (expected {SUPPORTED})")
        units += found
    return infos, units


def units_for_task(units: list[ReadUnit], rank: int, world_size: int) -> list[ReadUnit]:
    """The contiguous run of units task `rank` reads, balanced by weight.

    Each unit goes to the task whose share of the cumulative weight holds the unit's midpoint, so
    tasks read neighbouring pieces and the concatenated outputs keep the input order.
    """
    total = sum(unit.weight for unit in units)
    chosen, before = [], 0
    for unit in units:
        midpoint = before + unit.weight / 2
        if min(int(world_size * midpoint / total), world_size - 1) == rank:
            chosen.append(unit)
        before += unit.weight
    return chosen
