"""`curriscale build`: cut scored Parquet into difficulty tiers and write the manifest."""

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


def build(
    scored: Annotated[
        Path, typer.Argument(help="`curriscale score` output folder, a Parquet folder, or a Parquet file.")
    ],
    recipe: Annotated[
        str,
        typer.Option("--recipe", "-r", help="Recipe YAML file or preset name (`curriscale recipes list`)."),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Curriculum folder to write (replaced if it holds a previous build)."
        ),
    ],
    budget_tokens: Annotated[
        int | None, typer.Option("--budget-tokens", help="Override the recipe's budget, in tokens.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the recipe's seed.")] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", help="Processes for the tier pass (datatrove local executor when > 1)."),
    ] = 1,
) -> None:
    """Build a curriculum: tier Parquet files, rejected documents and manifest.json.

    Example: curriscale build scored/ --recipe reading-age-ladder --out curriculum/ --budget-tokens 5000000
    """
    from curriscale.builders.build import build_curriculum, resolve_scored
    from curriscale.curricula.recipe import load_recipe

    parsed = load_recipe(recipe).with_overrides(budget_tokens=budget_tokens, seed=seed)
    total_rows = resolve_scored(scored).rows()
    with console.progress() as bar:
        task = bar.add_task("build", total=total_rows)
        manifest = build_curriculum(
            scored, parsed, out, workers=workers, progress=lambda done: bar.update(task, completed=done)
        )
    placed = sum(t["documents"] for t in manifest.tiers)
    empty = [t["index"] for t in manifest.tiers if t["documents"] == 0]
    if empty:
        console.warning(
            f"tier(s) {', '.join(map(str, empty))} of {len(manifest.tiers)} are empty: the schedule skips them; "
            "check the recipe's tier edges or quantiles against `curriscale inspect`"
        )
    console.info(
        f"{manifest.name}: {placed:,} documents in {len(manifest.tiers)} tiers, "
        f"{manifest.data['rejected']['documents']:,} rejected -> {out / 'manifest.json'}"
    )


def register(app: typer.Typer) -> None:
    """Add the `build` command to the root app."""
    app.command("build")(build)
