"""`curriscale inspect`: print a curriculum's tier and schedule tables, optionally plot them."""

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


def inspect(
    curriculum: Annotated[Path, typer.Argument(help="Curriculum folder (or its manifest.json).")],
    plots: Annotated[
        Path | None, typer.Option("--plots", help="Folder to write tier_weights.png and difficulty_hist.png.")
    ] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Schedule intervals to print.")] = 40,
) -> None:
    """Show the tiers (bounds, documents, tokens, expected consumption) and the pacing schedule.

    Example: curriscale inspect curriculum/ --plots curriculum/plots
    """
    from curriscale.builders.inspect import plot_curriculum, schedule_table, tier_table
    from curriscale.curricula.manifest import load_manifest

    manifest = load_manifest(curriculum)
    console.out.print(tier_table(manifest))
    console.out.print(schedule_table(manifest, max_rows=max_rows))
    if plots is not None:
        for path in plot_curriculum(manifest, plots):
            console.info(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the `inspect` command to the root app."""
    app.command("inspect")(inspect)
