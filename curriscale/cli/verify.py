"""`curriscale verify`: re-hash a curriculum's (or an export's) files and check counts and order."""

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


def verify(
    path: Annotated[
        Path, typer.Argument(help="Curriculum folder (or its manifest.json), or an export folder.")
    ],
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="For an export: the curriculum it came from (default: the source export.json records)."
        ),
    ] = None,
) -> None:
    """Check hashes, sizes, counts and conservation (inputs = tiers + rejected); exit 2 on a problem.

    An export folder (one holding export.json) is checked against the manifest it came from: the
    sha256 of every file and of the manifest copy, the document and token counts in the format's own
    files, and, with the curriculum at hand, the documents in order against its stream.

    Example: curriscale verify curriculum/ ; curriscale verify export/ --manifest curriculum/
    """
    from curriscale.builders.exports.verify import is_export, verify_export
    from curriscale.builders.verify import verify_curriculum

    if is_export(path):
        report = verify_export(path, manifest)
        order = (
            f"order checked against {report.curriculum}"
            if report.curriculum
            else "order not checked (pass --manifest CURRICULUM)"
        )
        console.out.print(
            f"ok: {report.format} export of {report.documents:,} documents, "
            f"{report.files_checked} files verified; {order}"
        )
        return
    report = verify_curriculum(path)
    console.out.print(
        f"ok: {report.files_checked} files verified, {report.documents:,} documents "
        f"= {report.input_documents:,} input documents"
    )


def register(app: typer.Typer) -> None:
    """Add the `verify` command to the root app."""
    app.command("verify")(verify)
