"""Verify an export against the manifest it came from: checksums, counts, and the document order.

`check_export` trusts the export's own `export.json` only as far as it can check it: it re-hashes
every file the sidecar lists, compares the manifest copy with the recorded sha256, counts documents
and tokens in the format's own files, and, when the source curriculum is at hand (`--manifest`, or
the relative `source` recorded at export), rebuilds the stream from it and compares the documents
in order. Every problem names the file or field; the first out-of-order document is named by index.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.parquet as pq

from curriscale.builders.exports.indexed import read_index
from curriscale.builders.exports.sidecars import DOCUMENTS, MANIFEST_COPY, SIDECAR
from curriscale.builders.exports.stream import ExportStream
from curriscale.curricula.manifest import load_manifest
from curriscale.errors import CurriscaleError
from curriscale.io import sha256_file


@dataclass
class ExportReport:
    """What `check_export` checked and found.

    Attributes:
        root: The export folder.
        format: The export's format.
        documents: Documents the export holds.
        files_checked: Files re-hashed.
        curriculum: The curriculum the order was checked against, or None when it was not at hand.
        problems: One line per problem; empty when all is well.
    """

    root: Path
    format: str = ""
    documents: int = 0
    files_checked: int = 0
    curriculum: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def is_export(path: str | os.PathLike) -> bool:
    """True when `path` is an export folder (or its export.json)."""
    path = Path(path)
    return path.name == SIDECAR and path.is_file() or (path / SIDECAR).is_file()


def _check_files(root: Path, meta: dict, report: ExportReport) -> None:
    for name, entry in sorted(meta.get("checksums", {}).items()):
        path = root / name
        report.files_checked += 1
        if not path.is_file():
            report.problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["bytes"]:
            report.problems.append(
                f"{name}: size {path.stat().st_size} bytes, export.json says {entry['bytes']}"
            )
        elif sha256_file(path) != entry["sha256"]:
            report.problems.append(f"{name}: sha256 mismatch (file changed or corrupted)")
    copy = root / MANIFEST_COPY
    if copy.is_file() and sha256_file(copy) != meta.get("manifest_sha256"):
        report.problems.append(f"{MANIFEST_COPY}: sha256 differs from export.json's manifest_sha256")


def _check_indexed(
    root: Path, prefix: str, sizes: np.ndarray | None, report: ExportReport
) -> np.ndarray | None:
    """The sequence sizes of `<prefix>.idx`, checked against its `.bin` (and `sizes` when given)."""
    try:
        dtype, found, pointers, _ = read_index(root / f"{prefix}.idx")
    except (OSError, ValueError, StopIteration) as error:
        report.problems.append(f"{prefix}.idx: unreadable ({error})")
        return None
    binary = root / f"{prefix}.bin"
    if binary.is_file() and binary.stat().st_size != int(found.sum()) * np.dtype(dtype).itemsize:
        # uint32 ids sit under int32's code: same width, so the size check holds either way.
        report.problems.append(
            f"{prefix}.bin: {binary.stat().st_size} bytes, {prefix}.idx says {int(found.sum())} ids"
        )
    if sizes is not None and not np.array_equal(found, sizes):
        report.problems.append(f"{prefix}.idx: document lengths differ from {DOCUMENTS}")
    return found


def _export_ids(root: Path, meta: dict, report: ExportReport) -> list[str] | None:
    """The exported documents' ids in order, with the format's own counts checked on the way."""
    fmt, documents, tokens = meta["format"], meta["documents"], meta["tokens"]
    if fmt == "jsonl":
        with open(root / meta["files"]["documents"], "rb") as lines:
            return [str(orjson.loads(line)["id"]) for line in lines if line.strip()]
    if fmt == "hf":
        import datasets

        return [str(value) for value in datasets.load_from_disk(str(root / "ordered"))["id"]]
    if fmt == "deepspeed":
        return None  # the stream is only the schedule here; the pool is checked by _check_pool
    table = pq.read_table(root / DOCUMENTS)
    sizes = table.column("tokens").to_numpy()
    if int(sizes.sum()) != tokens:
        report.problems.append(f"{DOCUMENTS}: {int(sizes.sum())} tokens, export.json says {tokens}")
    stages = table.column("stage").to_numpy()
    counted = [int((stages == row["stage"]).sum()) for row in meta["stages"]]
    if counted != [row["documents"] for row in meta["stages"]]:
        report.problems.append(f"{DOCUMENTS}: documents per stage differ from export.json's stage table")
    if fmt == "tokens":
        _check_indexed(root, "tokens", sizes, report)
        offsets = np.load(root / "tokens.offsets.npy")
        if len(offsets) != documents + 1 or offsets[-1] != tokens:
            report.problems.append(
                f"tokens.offsets.npy: {len(offsets) - 1} documents ending at {offsets[-1]}"
            )
    elif fmt == "megatron":
        _check_indexed(root, "curriculum", sizes, report)
        tiers = json.loads((root / MANIFEST_COPY).read_text())["tiers"]
        for tier, written in zip(
            tiers, json.loads((root / "megatron.json").read_text())["tiers"], strict=True
        ):
            found = _check_indexed(root, written["prefix"], None, report)
            if found is not None and len(found) != tier["documents"]:
                report.problems.append(
                    f"{written['prefix']}.idx: {len(found)} documents, the manifest lists {tier['documents']}"
                )
    elif fmt == "litdata":
        index = json.loads((root / "index.json").read_text())
        chunks = index["chunks"]
        if sum(c["chunk_size"] for c in chunks) != documents or sum(c["dim"] for c in chunks) != tokens:
            report.problems.append("index.json: chunks do not hold the export's documents and tokens")
        for chunk in chunks:
            path = root / chunk["filename"]
            if path.is_file() and path.stat().st_size != chunk["chunk_bytes"]:
                report.problems.append(f"{chunk['filename']}: size differs from index.json's chunk_bytes")
    return [str(value) for value in table.column("id").to_pylist()]


def _check_pool(root: Path, manifest: Any, report: ExportReport) -> None:
    """deepspeed: dataset.bin/.idx holds every tier's documents once, in the tier files' order."""
    from curriscale.builders.exports.deepspeed import POOL_DOCUMENTS

    ids = [str(value) for value in pq.read_table(root / POOL_DOCUMENTS).column("id").to_pylist()]
    found = _check_indexed(root, "dataset", None, report)
    if found is not None and len(found) != len(ids):
        report.problems.append(f"dataset.idx: {len(found)} samples, {POOL_DOCUMENTS} lists {len(ids)}")
    if manifest is not None:
        expected = [
            str(value)
            for tier in manifest.tiers
            for path in manifest.tier_files(tier["index"])
            for value in pq.read_table(path, columns=["id"]).column("id").to_pylist()
        ]
        if ids != expected:
            report.problems.append(f"{POOL_DOCUMENTS}: samples are not the tiers' documents in tier order")


def _source(root: Path, meta: dict, manifest: str | os.PathLike | None) -> Path | None:
    if manifest is not None:
        return Path(manifest)
    source = meta.get("source")
    if source and (root / source / "manifest.json").is_file():
        return root / source
    return None


def check_export(path: str | os.PathLike, manifest: str | os.PathLike | None = None) -> ExportReport:
    """Run every check and return the report (does not raise on problems; see `verify_export`)."""
    root = Path(path)
    root = root.parent if root.name == SIDECAR else root
    report = ExportReport(root=root)
    try:
        meta = json.loads((root / SIDECAR).read_text())
    except (OSError, ValueError) as error:
        raise CurriscaleError(f"{root}: no readable {SIDECAR}, so not a finished export ({error})") from error
    report.format, report.documents = meta.get("format", "?"), meta.get("documents", 0)
    _check_files(root, meta, report)
    if report.problems:  # counts of damaged files would only repeat the damage
        return report
    ids = _export_ids(root, meta, report)
    if ids is not None and len(ids) != meta["documents"]:
        report.problems.append(f"{len(ids)} documents in the data, export.json says {meta['documents']}")
    source = _source(root, meta, manifest)
    loaded = None
    if source is not None:
        loaded = load_manifest(source)
        report.curriculum = loaded.root
        if sha256_file(loaded.root / "manifest.json") != meta["manifest_sha256"]:
            report.problems.append(
                f"{loaded.root / 'manifest.json'}: not the manifest this export came from (sha256 differs)"
            )
            return report
        _check_order(loaded, meta, ids, report)
    if meta["format"] == "deepspeed":
        _check_pool(root, loaded, report)
    return report


def _check_order(manifest: Any, meta: dict, ids: list[str] | None, report: ExportReport) -> None:
    """Rebuild the stream from the curriculum and compare it with the export, document by document."""
    by_encoder = meta["counted_in"] != manifest.data["token_unit"]
    if by_encoder and meta.get("tokenizer") is None:
        report.problems.append("order: the export's tokenizer was an object, so its stream cannot be rebuilt")
        return
    stream = ExportStream(
        manifest,
        tokenizer=meta.get("tokenizer") if by_encoder else None,
        budget_tokens=meta.get("budget_tokens"),
        seed=meta["seed"],
    )
    expected = [str(item.draw.document()["id"]) for items in stream.batches() for item in items]
    if [row["documents"] for row in stream.stages.rows] != [row["documents"] for row in meta["stages"]]:
        report.problems.append("stages: documents per stage differ from the curriculum's stream")
    if ids is None:
        return
    if ids != expected:
        first = next(
            (k for k, (a, b) in enumerate(zip(ids, expected, strict=False)) if a != b),
            min(len(ids), len(expected)),
        )
        report.problems.append(
            f"order: document {first} is {ids[first] if first < len(ids) else 'missing'!r}, "
            f"the curriculum's stream has {expected[first] if first < len(expected) else 'nothing'!r} "
            f"({len(ids)} exported, {len(expected)} in the stream)"
        )


def verify_export(path: str | os.PathLike, manifest: str | os.PathLike | None = None) -> ExportReport:
    """Verify an export folder against its manifest.

    Args:
        path: the export folder or its export.json.
        manifest: the source curriculum (folder or manifest.json); default the `source` recorded in
            export.json, when it is still there. Without it, order is not checked.

    Returns:
        The report, when every check passes.

    Raises:
        CurriscaleError: listing every problem, each naming the bad file or field.
    """
    report = check_export(path, manifest)
    if report.problems:
        listing = "; ".join(report.problems)
        raise CurriscaleError(
            f"{report.root}: verification failed ({len(report.problems)} problem(s)): {listing}"
        )
    return report
