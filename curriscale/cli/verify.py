"""`curriscale verify`: re-hash every file of a curriculum and check its counts."""

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


def verify(
    curriculum: Annotated[Path, typer.Argument(help="Curriculum folder (or its manifest.json).")],
) -> None:
    """Check hashes, sizes, row counts and conservation (inputs = tiers + rejected); exit 2 on a problem.

    Example: curriscale verify curriculum/
    """
    from curriscale.builders.verify import verify_curriculum

    report = verify_curriculum(curriculum)
    console.out.print(
        f"ok: {report.files_checked} files verified, {report.documents:,} documents "
        f"= {report.input_documents:,} input documents"
    )


def register(app: typer.Typer) -> None:
    """Add the `verify` command to the root app."""
    app.command("verify")(verify)
