"""Verify a curriculum folder against its manifest: hashes, row counts, conservation.

`verify_curriculum` trusts nothing but the manifest's own validity: it re-hashes every listed file,
compares sizes and Parquet row counts with the manifest, checks that tier and rejected counts add up
to the input documents (nothing silently dropped or duplicated), and flags Parquet files in tier or
rejected folders that the manifest does not list. Every problem names the file or field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from curriscale.curricula.manifest import load_manifest, manifest_files
from curriscale.errors import CurriscaleError
from curriscale.io import sha256_file
from curriscale.paths import inside


@dataclass
class VerifyReport:
    """What `verify_curriculum` checked and found.

    Attributes:
        root: The curriculum folder.
        files_checked: Number of files re-hashed.
        documents: Documents in tiers plus rejected.
        input_documents: Documents in the inputs the manifest records.
        problems: One line per problem, each naming the file or field; empty when all is well.
    """

    root: Path
    files_checked: int = 0
    documents: int = 0
    input_documents: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_file(root: Path, entry: dict) -> str | None:
    """The problem with one listed file, or None."""
    path = root / entry["path"]
    if not path.is_file():
        return f"{entry['path']}: missing"
    if path.stat().st_size != entry["bytes"]:
        return f"{entry['path']}: size {path.stat().st_size} bytes, manifest says {entry['bytes']}"
    if sha256_file(path) != entry["sha256"]:
        return f"{entry['path']}: sha256 mismatch (file changed or corrupted)"
    rows = pq.ParquetFile(path).metadata.num_rows
    if rows != entry["rows"]:
        return f"{entry['path']}: {rows} rows, manifest says {entry['rows']}"
    return None


def check_curriculum(path: str | os.PathLike) -> VerifyReport:
    """Run every check and return the report (does not raise on problems; see `verify_curriculum`)."""
    manifest = load_manifest(path)
    data, report = manifest.data, VerifyReport(root=manifest.root)
    listed = set()
    for _, entry in manifest_files(data):
        listed.add(entry["path"])
        report.files_checked += 1
        problem = _check_file(manifest.root, entry)
        if problem:
            report.problems.append(problem)
    for tier in data["tiers"]:
        rows = sum(f["rows"] for f in tier["files"])
        if rows != tier["documents"]:
            report.problems.append(
                f"tiers.{tier['index']}: files hold {rows} rows, documents says {tier['documents']}"
            )
    rejected = data["rejected"]
    if sum(f["rows"] for f in rejected["files"]) != rejected["documents"]:
        report.problems.append(f"rejected: files do not hold the {rejected['documents']} documents it lists")
    if sum(rejected["reasons"].values()) != rejected["documents"]:
        report.problems.append("rejected.reasons: counts do not add up to rejected.documents")
    report.documents = sum(t["documents"] for t in data["tiers"]) + rejected["documents"]
    report.input_documents = sum(i["documents"] for i in data["inputs"])
    if report.documents != report.input_documents:
        report.problems.append(
            f"conservation: {report.input_documents} input documents, but tiers + rejected hold {report.documents}"
        )
    folders = {str(Path(p).parent) for p in listed} | {t["name"] for t in data["tiers"]} | {"rejected"}
    for folder in sorted(folders):
        # `rejected/` is not covered by the manifest's own path checks when it lists no file.
        for file in sorted(inside(manifest.root, folder, f"{manifest.root}: {folder}").glob("*.parquet")):
            relative = file.relative_to(manifest.root).as_posix()
            if relative not in listed:
                report.problems.append(f"{relative}: not listed in the manifest")
    return report


def verify_curriculum(path: str | os.PathLike) -> VerifyReport:
    """Verify a curriculum folder (or its manifest.json).

    Returns:
        The report, when every check passes.

    Raises:
        CurriscaleError: listing every problem, each naming the bad file or field.
    """
    report = check_curriculum(path)
    if report.problems:
        listing = "; ".join(report.problems)
        raise CurriscaleError(
            f"{report.root}: verification failed ({len(report.problems)} problem(s)): {listing}"
        )
    return report
