"""`curriscale scorers`: list the available scorers, calibrate reading_age, train task_type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console

scorers_app = typer.Typer(
    help="Scorers: list built-ins and plug-ins, calibrate reading_age, train task_type.", no_args_is_help=True
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
        list[str],
        typer.Option(help="Graded corpus kind: onestopenglish, onestopenglish_pairs or cefr (repeatable)."),
    ],
    data: Annotated[
        list[Path], typer.Option(help="Its file or folder, one per --corpus, in the same order.")
    ],
    out: Annotated[Path, typer.Option(help="Coefficients JSON to write.")],
    alpha: Annotated[
        float | None,
        typer.Option(help="Ridge penalty on the standardised weights (default: the shipped one)."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(help="Comma-separated features to combine (default: the shipped model's)."),
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
    options = ({"alpha": alpha} if alpha is not None else {}) | (
        {"features": tuple(f.strip() for f in features.split(","))} if features else {}
    )
    coeffs = calibrate(list(zip(corpus, data, strict=True)), out, **options)
    weights = ", ".join(f"{n}={w:.3f}" for n, w in zip(coeffs["features"], coeffs["weights"], strict=True))
    console.info(f"fitted on {coeffs['fitted_on']}: intercept={coeffs['intercept']:.3f}, {weights}")
    console.info(f"wrote {out}")


@scorers_app.command("train")
def train_command(
    kind: Annotated[str, typer.Argument(help="Scorer to train: task_type.")],
    out: Annotated[Path, typer.Option(help="Model file to write (.ftz).")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="Labelled JSONL (.jsonl, .jsonl.gz) or Parquet; default: the project's own corpus."
        ),
    ] = None,
    text_field: Annotated[str, typer.Option(help="Field holding the text.")] = "text",
    label_field: Annotated[str, typer.Option(help="Field holding the label.")] = "label",
    seed: Annotated[int, typer.Option(help="Seed of the generated corpus and of fastText.")] = 0,
) -> None:
    """Train a task_type model; use it with `--scorer task_type:model=OUT`.

    Example: curriscale scorers train task_type --out task_type.ftz
    """
    from curriscale.errors import CurriscaleError
    from curriscale.scorers.task_type import train_task_type_model

    if kind != "task_type":
        raise CurriscaleError(f"scorers train: only task_type can be trained, not {kind!r}")
    examples = None if data is None else _labelled_examples(data, text_field, label_field)
    train_task_type_model(out, examples, seed=seed)
    console.info(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def _labelled_examples(path: Path, text_field: str, label_field: str) -> list[dict[str, str]]:
    """`{"text", "label"}` dicts from a JSONL or Parquet file; errors name the file and line."""
    import gzip
    import json

    from curriscale.errors import CurriscaleError

    if not path.is_file():
        raise CurriscaleError(f"{path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        rows = []
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    if line.strip():
                        rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise CurriscaleError(f"{path}:{number}: malformed JSON: {error}") from error
    missing = next(
        (i for i, row in enumerate(rows, 1) if text_field not in row or label_field not in row), None
    )
    if missing is not None:
        raise CurriscaleError(f"{path}: record {missing} lacks field {text_field!r} or {label_field!r}")
    return [{"text": row[text_field], "label": row[label_field]} for row in rows]


def register(app: typer.Typer) -> None:
    """Add the `scorers` sub-app to the root app."""
    app.add_typer(scorers_app, name="scorers")
