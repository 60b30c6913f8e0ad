"""What every export carries besides its data: the manifest it came from, an order table, checksums."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.builders.exports.stream import Item
from curriscale.curricula.manifest import Manifest
from curriscale.io import atomic_output, atomic_write_bytes, sha256_file

MANIFEST_COPY = "curriculum.manifest.json"  # not manifest.json: an export is not a curriculum folder
DOCUMENTS = "documents.parquet"
SIDECAR = "export.json"


def copy_manifest(manifest: Manifest, out: Path) -> dict[str, Any]:
    """Copy the manifest byte for byte into the export; its name, sha256 and source for export.json."""
    source = manifest.root / "manifest.json"
    data = source.read_bytes()
    atomic_write_bytes(out / MANIFEST_COPY, data)
    return {
        "manifest": manifest.name,
        "manifest_sha256": sha256_file(out / MANIFEST_COPY),
        "manifest_copy": MANIFEST_COPY,
        # Relative to the export: stable bytes wherever the pair lives, and still found after both move.
        "source": Path(os.path.relpath(manifest.root.resolve(), out.resolve())).as_posix(),
    }


class DocumentTable:
    """Per exported document, in stream order: id, tier, stage, first token and token count."""

    SCHEMA = pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field("tier", pa.int32()),
            pa.field("stage", pa.int32()),
            pa.field("first_token", pa.int64()),
            pa.field("tokens", pa.int64()),
        ]
    )

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in self.SCHEMA.names}
        self.position = 0

    def add(self, items: list[Item]) -> None:
        for item in items:
            n = item.n_tokens
            self.columns["id"].append(str(item.draw.document()["id"]))
            self.columns["tier"].append(item.draw.tier)
            self.columns["stage"].append(item.draw.stage)
            self.columns["first_token"].append(self.position)
            self.columns["tokens"].append(n)
            self.position += n

    def write(self, path: Path) -> None:
        table = pa.table(self.columns, schema=self.SCHEMA)
        with atomic_output(path) as tmp:
            pq.write_table(table, tmp)


def expand(out: Path, paths: list[str]) -> list[str]:
    """The files of `paths` (files, or folders taken whole), relative POSIX paths, sorted."""
    files = set()
    for name in paths:
        path = out / name
        found = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in found:
            relative = file.relative_to(out).as_posix()
            if not any(part.startswith(".") for part in Path(relative).parts):  # temporaries
                files.add(relative)
    return sorted(files)


def checksums(out: Path, paths: list[str]) -> dict[str, dict[str, Any]]:
    """bytes and sha256 of every file of `paths` (see `expand`), keyed by relative POSIX path."""
    return {
        name: {"bytes": (out / name).stat().st_size, "sha256": sha256_file(out / name)}
        for name in expand(out, paths)
    }
