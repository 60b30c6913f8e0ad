"""`curriscale report`: a thin wrapper over `curriscale.fit.report.write_report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.cli.fit import Annealing, Baseline, GridRuns, Seed, TemporalFraction


def report(
    runs: GridRuns,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html and summary.md.")],
    fits: Annotated[
        Path | None,
        typer.Option("--fits", help="Folder from `curriscale fit`; default: fit now into OUT/fits."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples (when fitting now).")
    ] = 200,
    seed: Seed = 0,
    baseline: Baseline = None,
    annealing: Annealing = True,
    temporal_fraction: TemporalFraction = 0.5,
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
