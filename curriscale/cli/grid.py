"""`curriscale grid`: a thin wrapper over `curriscale.train.grid.run_grid`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.cli.interrupt import resumable
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
    cells = CellReporter(out / "cells", lines=not console.err.is_terminal)
    with resumable(cells.kept), console.progress() as bar:
        task = bar.add_task("grid cells", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            cells.report(done, total)

        index = run_grid(
            grid_yaml, out, workers=workers, executor=executor, on_progress=on_progress, **options
        )
    counts = index.group_by("status").aggregate([("cell", "count")]).to_pylist()
    console.info(", ".join(f"{row['cell_count']} {row['status']}" for row in counts))
    console.out.print(str(out / "runs.parquet"))


class CellReporter:
    """Follows a running grid's cells: counts them, and prints a line per finished cell if asked.

    Without a terminal the progress bar shows nothing until the grid ends, which can be hours, so
    `lines=True` prints each cell as it finishes (name, final eval loss, time). Cells finished
    before this run started are not reported again.

    Args:
        cells_dir: the grid's `RUNS/cells/`, one run folder per cell.
        lines: print a line per finished or failed cell.
    """

    def __init__(self, cells_dir: Path, lines: bool):
        self.cells_dir, self.lines = cells_dir, lines
        self.seen = set(self._ended())
        self.done, self.total = 0, 0

    def _ended(self) -> list[Path]:
        """done.json or error.json of every cell that finished or failed."""
        return sorted(self.cells_dir.glob("*/done.json")) + sorted(self.cells_dir.glob("*/error.json"))

    def report(self, done: int, total: int) -> None:
        """Take the grid's progress; print the cells that ended since the last call."""
        self.done, self.total = done, total
        for marker in self._ended():
            if marker not in self.seen:
                self.seen.add(marker)
                if self.lines:
                    console.info(self._line(marker))

    @staticmethod
    def _line(marker: Path) -> str:
        from curriscale.train.config import RunResult

        run_dir = marker.parent
        if marker.name == "error.json":
            return f"cell {run_dir.name} failed: {json.loads(marker.read_text())['error']}"
        # config.json is written when the run (or its resume) starts: the difference is its training time
        seconds = marker.stat().st_mtime - (run_dir / "config.json").stat().st_mtime
        loss = RunResult.load(run_dir).final_eval_loss
        return f"cell {run_dir.name} done: final eval loss {loss:.4g}, {seconds:.1f} s"

    def kept(self) -> str:
        """What an interrupted grid leaves for a rerun."""
        if not self.total:  # stopped while planning, before the first progress report
            return f"no cell had started in {self.cells_dir.parent}"
        return (
            f"kept {self.done} of {self.total} finished cells in {self.cells_dir.parent} "
            "(an unfinished cell resumes from its last checkpoint)"
        )


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
