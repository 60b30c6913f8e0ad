"""`curriscale grid`: a thin wrapper over `curriscale.train.grid.run_grid`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.errors import CurriscaleError


def grid(
    grid_yaml: Annotated[
        Path, typer.Argument(help="Grid file: sizes, manifests, lr_schedules, seeds, budget, ...")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Runs folder; rerunning skips finished cells.")],
    workers: Annotated[
        int,
        typer.Option(
            help="CPU cells trained at once (local: processes sharing the cores; GPU cells run one per free "
            "GPU set) or scheduled at once (slurm, ray)."
        ),
    ] = 1,
    executor: Annotated[str, typer.Option(help="local, slurm or ray (datatrove executors).")] = "local",
    slurm_partition: Annotated[
        str | None, typer.Option(help="Slurm partition (needed by --executor slurm).")
    ] = None,
    slurm_time: Annotated[str, typer.Option(help="Slurm time limit per cell.")] = "24:00:00",
    verbose: Annotated[bool, typer.Option(help="Show datatrove's own log lines.")] = False,
) -> None:
    """Train every cell of a scaling grid (sizes x manifests x LR schedules x seeds); write RUNS/runs.parquet.

    A cell's GPUs or CPU processes come from the grid file's `resources` (e.g. `resources: {gpus: 1}`).

    Example: curriscale grid work/GRID.yaml --out runs/ --workers 2   (work/ from examples/grid/prepare.sh)
    """
    from loguru import logger

    from curriscale.train.grid import run_grid

    if executor == "slurm" and not slurm_partition:
        raise CurriscaleError("--executor slurm needs --slurm-partition")
    if not verbose:
        logger.disable("datatrove")  # its per-task logs still land in RUNS/logs/
    options = {"partition": slurm_partition, "time": slurm_time} if executor == "slurm" else {}
    if executor == "local":
        _warn_about_idle_gpus(grid_yaml)
    with console.progress() as bar:
        task = bar.add_task("grid cells", total=None)
        index = run_grid(
            grid_yaml, out, workers=workers, executor=executor,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total), **options,
        )  # fmt: skip
    counts = index.group_by("status").aggregate([("cell", "count")]).to_pylist()
    console.info(", ".join(f"{row['cell_count']} {row['status']}" for row in counts))
    console.out.print(str(out / "runs.parquet"))


def _warn_about_idle_gpus(grid_yaml: Path) -> None:
    """A grid without `resources` trains on CPUs: say so when this machine has GPUs to offer."""
    import torch

    from curriscale.train.grid_plan import load_grid

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus and "resources" not in load_grid(grid_yaml):
        console.warning(
            f"{grid_yaml} declares no resources, so every cell trains on the CPU although {gpus} GPU(s) "
            "are visible; add `resources: {gpus: 1}` to train each cell on a GPU"
        )


def register(app: typer.Typer) -> None:
    """Add the `grid` command to the root app."""
    app.command("grid")(grid)
