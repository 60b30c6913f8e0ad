"""`curriscale report`: a thin wrapper over `curriscale.fit.report.write_report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.cli.fit import TEMPORAL_HELP


def report(
    runs: Annotated[Path, typer.Argument(help="Grid folder with runs.parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html and summary.md.")],
    fits: Annotated[
        Path | None,
        typer.Option("--fits", help="Folder from `curriscale fit`; default: fit now into OUT/fits."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples (when fitting now).")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every bootstrap.")] = 0,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Static-mix curriculum name (default: static pacing).")
    ] = None,
    annealing: Annotated[
        bool, typer.Option("--annealing/--no-annealing", help="Fit the LR-annealing law per cell (slow).")
    ] = True,
    temporal_fraction: Annotated[float, typer.Option("--temporal-fraction", help=TEMPORAL_HELP)] = 0.5,
) -> None:
    """Write a self-contained report.html (figures embedded) and summary.md for a training grid.

    Example: curriscale report runs/ --out report/
    """
    from curriscale.fit.report import write_report

    summary = write_report(
        runs,
        out,
        fits=fits,
        bootstrap=bootstrap,
        seed=seed,
        baseline=baseline,
        annealing=annealing,
        temporal_fraction=temporal_fraction or None,
    )
    console.out.print(summary, highlight=False)
    console.info(f"wrote {out / 'report.html'} and {out / 'summary.md'}")


def register(app: typer.Typer) -> None:
    """Add the `report` command to the root app."""
    app.command("report")(report)
