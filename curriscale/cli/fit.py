"""`curriscale fit`: scaling laws on any loss table (`fit law`, `fit predict`) or on a run grid.

The group has named subcommands (`law`, `predict`) and one positional form, `curriscale fit RUNS
--out FITS`, for a training grid. `_FitGroup` routes a first argument that is not a subcommand
name to the `grid` command, so both forms live in one group.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from curriscale.cli import console
from curriscale.errors import CurriscaleError


class _FitGroup(TyperGroup):
    """A Typer group where `fit PATH ...` means `fit grid PATH ...`."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["grid", *args]
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx, formatter):
        # The grid form first, as the README writes it; the subcommands second.
        formatter.write_usage(ctx.command_path, "RUNS --out FITS [OPTIONS]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")

    def list_commands(self, ctx):
        # Show the explicit subcommands in help; the grid form is documented in the group help.
        return ["law", "predict", "grid"]


class LawName(str, Enum):
    power = "power"
    chinchilla = "chinchilla"
    bnsl = "bnsl"
    lr_annealing = "lr-annealing"
    temporal = "temporal"


fit_app = typer.Typer(
    cls=_FitGroup,
    no_args_is_help=True,
    help=(
        "Fit scaling laws. `curriscale fit RUNS --out FITS` fits a training grid; `fit law` fits one "
        "law to any CSV/Parquet table; `fit predict` applies a fit.\n\n"
        "Example: curriscale fit law power losses.csv --col x=params --col loss=eval_loss --out fit.json"
    ),
)


COLUMN_HELP = (
    "ROLE=COLUMN, repeatable. Roles: power/bnsl x, loss; chinchilla n, d, loss; lr-annealing step, lr, loss"
    " [, run]; temporal step, position, loss. Default: the column named as the role."
)


TEMPORAL_HELP = (
    "Fit the temporal law per run on checkpoints up to this share of training and predict the final "
    "loss (0: skip)."
)
# The grid-fitting options `fit grid` and `report` share.
GridRuns = Annotated[Path, typer.Argument(help="Grid folder with runs.parquet.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of every bootstrap.")]
Baseline = Annotated[
    str | None, typer.Option("--baseline", help="Static-mix curriculum name (default: static pacing).")
]
Annealing = Annotated[
    bool, typer.Option("--annealing/--no-annealing", help="Fit the LR-annealing law per cell (slow).")
]
TemporalFraction = Annotated[float, typer.Option("--temporal-fraction", help=TEMPORAL_HELP)]


def parse_columns(specs: list[str]) -> dict[str, str]:
    """`["n=Model Size", "loss=loss"]` -> `{"n": "Model Size", "loss": "loss"}`."""
    columns = {}
    for spec in specs:
        role, sep, column = spec.partition("=")
        if not sep or not role.strip() or not column:
            raise CurriscaleError(f"--col {spec!r}: expected ROLE=COLUMN, e.g. --col n=params")
        columns[role.strip()] = column
    return columns


@fit_app.command("law")
def law_command(
    law: Annotated[LawName, typer.Argument(help="Which law to fit.")],
    data: Annotated[Path, typer.Argument(help="Loss table, .csv or .parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write fit.json.")],
    col: Annotated[list[str], typer.Option("--col", help=COLUMN_HELP)] = [],  # noqa: B006 (typer reads it)
    breaks: Annotated[
        str | None, typer.Option("--breaks", help="bnsl only: number of breaks (0-3) or 'auto' (default).")
    ] = None,
    decay: Annotated[
        str | None,
        typer.Option(
            "--decay",
            help="lr-annealing only: the momentum decay factor lam, fixed (default 0.999, as the paper), "
            "or 'fit' to fit it.",
        ),
    ] = None,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap", help="Bootstrap resamples for confidence intervals and prediction bands."
        ),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
) -> None:
    """Fit one law to a loss table and write fit.json (params, CIs, fit and held-out error).

    Example: curriscale fit law chinchilla runs.csv --col n="Model Size" --col d=tokens --out fit.json --bootstrap 200
    """
    from curriscale.fit.api import fit_law
    from curriscale.fit.data import load_table

    table = load_table(data)
    fit = fit_law(
        law.value,
        table,
        parse_columns(col),
        breaks=_breaks_option(breaks),
        decay=_decay_option(decay),
        bootstrap=bootstrap,
        seed=seed,
        source=str(data),
    )
    fit.save(out)
    params = ", ".join(f"{name}={value:.4g}" for name, value in fit.params.items())
    heldout = fit.metrics.get("heldout_error")
    console.info(
        f"{law.value}: {params}; fit error {fit.metrics['fit_error']:.2%}"
        + (f", held-out error {heldout:.2%}" if heldout is not None else "")
    )
    if "break_selection" in fit.metrics:
        console.info(f"breaks: {fit.metrics['break_selection']['reason']}")
    if fit.metrics["degenerate"]:
        console.warning(
            f"degenerate fit: {fit.metrics['degenerate_reason']}; the law does not describe these data, "
            "do not read its parameters"
        )
    console.info(f"wrote {out}")


def _breaks_option(value: str | None) -> int | str | None:
    """`--breaks`: a break count, 'auto' or unset."""
    if value is None or value == "auto":
        return value
    if not value.isdigit():
        raise CurriscaleError(f"--breaks {value!r}: expected a number of breaks or 'auto'")
    return int(value)


def _decay_option(value: str | None) -> float | str | None:
    """`--decay`: a decay factor, 'fit' or unset."""
    if value is None or value == "fit":
        return value
    try:
        return float(value)
    except ValueError:
        raise CurriscaleError(f"--decay {value!r}: expected a decay factor such as 0.999, or 'fit'") from None


@fit_app.command("predict")
def predict_command(
    fit_path: Annotated[
        Path, typer.Argument(metavar="FIT", help="fit.json written by `curriscale fit law`.")
    ],
    data: Annotated[Path, typer.Argument(help="Table with the law's input columns, .csv or .parquet.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output .csv or .parquet: the input rows plus `loss_pred`.")
    ],
    col: Annotated[
        list[str],
        typer.Option("--col", help="ROLE=COLUMN where DATA names a column differently from the fit."),
    ] = [],  # noqa: B006 (typer reads it)
) -> None:
    """Apply a fitted law to new rows and write them with a `loss_pred` column.

    A fit made with --bootstrap also gives each row its band, `loss_lo` and `loss_hi` (the
    resamples' predictions at the fit's confidence), so an extrapolation says how sure it is.

    Example: curriscale fit predict fit.json sizes.csv --out pred.csv
    """
    import pyarrow as pa

    from curriscale.fit.data import load_table, write_table
    from curriscale.fit.result import FitResult

    fit = FitResult.load(fit_path)
    table = load_table(data)
    columns = parse_columns(col)
    pred = fit.predict(table, columns, source=str(data))
    table = table.append_column("loss_pred", pa.array(pred, type=pa.float64()))
    if fit.draws:
        low, high = fit.predict_interval(table, columns, source=str(data))
        table = table.append_column("loss_lo", pa.array(low, type=pa.float64()))
        table = table.append_column("loss_hi", pa.array(high, type=pa.float64()))
        band = (
            f"; loss_lo/loss_hi: {fit.metrics.get('confidence', 0.95):.0%} band of {len(fit.draws)} resamples"
        )
    else:
        band = "; no band (the fit has no bootstrap: refit with --bootstrap N)"
    if fit.metrics.get("degenerate"):
        console.warning(
            f"the fit is degenerate ({fit.metrics['degenerate_reason']}): predictions are not a law's"
        )
    write_table(table, out)
    console.info(f"wrote {out} ({len(pred)} rows{band})")


@fit_app.command("grid")
def grid_command(
    runs: GridRuns,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for fits.json, comparison.json, critical_points.json.")
    ],
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples for every interval.")
    ] = 200,
    seed: Seed = 0,
    baseline: Baseline = None,
    annealing: Annealing = True,
    temporal_fraction: TemporalFraction = 0.5,
) -> None:
    """Fit a training grid: scaling laws per curriculum, comparisons, critical points, temporal law.

    Also reachable as `curriscale fit RUNS --out FITS`.

    Example: curriscale fit runs/ --out fits/
    """
    # The grid fitter belongs to curriscale.fit.grid_fit (fit-grid engineer); this only wires it in.
    from curriscale.fit.diagnostics import degenerate_counts
    from curriscale.fit.grid_fit import fit_grid
    from curriscale.fit.report import summarise

    documents = fit_grid(
        runs,
        out,
        bootstrap=bootstrap,
        seed=seed,
        baseline=baseline,
        annealing=annealing,
        temporal_fraction=temporal_fraction or None,
    )
    console.info(summarise(documents["comparison"]))
    degenerate = {law: n for law, n in degenerate_counts(documents).items() if n[0]}
    if degenerate:
        counts = ", ".join(f"{law} {bad} of {total}" for law, (bad, total) in sorted(degenerate.items()))
        console.warning(
            f"degenerate fits: {counts}; those laws do not describe their data, do not read their "
            "parameters (each reason: metrics.degenerate_reason in the JSON)"
        )
    console.info(f"wrote {out}/fits.json, comparison.json, critical_points.json")


def register(app: typer.Typer) -> None:
    """Add the `fit` group to the root app."""
    app.add_typer(fit_app, name="fit")
