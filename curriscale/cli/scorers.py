"""`curriscale scorers`: list the available scorers and calibrate reading_age."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console

scorers_app = typer.Typer(
    help="Scorers: list built-ins and plug-ins, calibrate reading_age.", no_args_is_help=True
)


@scorers_app.command("list")
def list_scorers() -> None:
    """Show built-in and installed plug-in scorers with their output columns.

    Example: curriscale scorers list
    """
    from rich.table import Table

    from curriscale.scorers.registry import describe_scorers

    table = Table("name", "kind", "version", "columns", "import path")
    for column in table.columns:
        column.overflow = "fold"
    for row in describe_scorers():
        columns = ", ".join(row["columns"]) if row["error"] is None else f"[red]{row['error']}[/]"
        table.add_row(row["name"], row["kind"], row["version"], columns, row["path"])
    console.out.print(table)


@scorers_app.command("calibrate")
def calibrate_command(
    corpus: Annotated[
        list[str], typer.Option(help="Graded corpus kind: onestopenglish or cefr (repeatable).")
    ],
    data: Annotated[
        list[Path], typer.Option(help="Its file or folder, one per --corpus, in the same order.")
    ],
    out: Annotated[Path, typer.Option(help="Coefficients JSON to write.")],
    alpha: Annotated[float, typer.Option(help="Ridge penalty on the standardised weights.")] = 10.0,
    features: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated features to combine; default log_words_per_sentence,syllables_per_word,word_rarity."
        ),
    ] = None,
) -> None:
    """Fit reading_age coefficients on human-graded text; use them with `--scorer reading_age:coefficients=OUT`.

    Example: curriscale scorers calibrate --corpus onestopenglish --data corpora/onestopenglish
    --corpus cefr --data corpora/cefr_sp_wikiauto --out coeffs.json
    """
    from curriscale.errors import CurriscaleError
    from curriscale.scorers.calibrate import calibrate

    if len(corpus) != len(data):
        raise CurriscaleError(
            f"calibrate: {len(corpus)} --corpus but {len(data)} --data; give one --data per --corpus"
        )
    options = {"alpha": alpha} | (
        {"features": tuple(f.strip() for f in features.split(","))} if features else {}
    )
    coeffs = calibrate(list(zip(corpus, data, strict=True)), out, **options)
    weights = ", ".join(f"{n}={w:.3f}" for n, w in zip(coeffs["features"], coeffs["weights"], strict=True))
    console.info(f"fitted on {coeffs['fitted_on']}: intercept={coeffs['intercept']:.3f}, {weights}")
    console.info(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the `scorers` sub-app to the root app."""
    app.add_typer(scorers_app, name="scorers")
