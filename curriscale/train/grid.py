"""`run_grid`: train every cell of a scaling grid that has not finished, then index the runs.

The grid file and its cells are described in `grid_plan.py`, the cells' GPUs and processes in
`grid_resources.py`, how cells become datatrove tasks on a Local, Slurm or Ray executor in
`grid_executors.py`.

Resume is twofold: datatrove skips tasks it has marked complete (its logging folder is keyed by
the grid's cell list), and `train` itself returns at once for a run with `done.json` and resumes
one with a checkpoint. `RUNS/runs.parquet` indexes every cell with its status (`grid_index.py`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from curriscale.locking import folder_lock
from curriscale.train.grid_executors import chain_executors
from curriscale.train.grid_index import write_index
from curriscale.train.grid_plan import Cell, plan_cells


def run_grid(
    grid_yaml: str | Path,
    out_dir: str | Path,
    workers: int = 1,
    executor: str = "local",
    on_progress: Callable[[int, int], None] | None = None,
    **executor_options,
) -> pa.Table:
    """Run every cell of a grid that has not finished yet, then write and return `runs.parquet`.

    Args:
        grid_yaml: the grid file (see `grid_plan.py`).
        out_dir: runs folder; cells go to `out_dir/cells/<cell>`.
        workers: CPU cells run in parallel (local; GPU cells run one per free GPU set) or
            concurrently scheduled (slurm/ray).
        executor: local | slurm | ray (datatrove executors).
        on_progress: called with (finished cells, cells) while the grid runs (local executor).
        executor_options: passed to the Slurm/Ray executor (e.g. partition, time); a cell's GPUs
            and cores come from the grid's `resources`.
    """
    out_dir = Path(out_dir)
    # Each cell's train locks its own folder under out_dir/cells/, a different lock: no deadlock.
    with folder_lock(out_dir):
        cells = plan_cells(grid_yaml, out_dir)
        runner = chain_executors(
            cells, out_dir / "logs", workers, executor, str(grid_yaml), **executor_options
        )
        if on_progress is None:
            runner.run()
        else:
            with _watch_done(cells, on_progress):
                runner.run()
        return write_index(cells, out_dir)


@contextlib.contextmanager
def _watch_done(cells: list[Cell], on_progress: Callable[[int, int], None], every: float = 1.0):
    """Report the count of finished cells (runs with done.json) from a background thread."""
    stop = threading.Event()

    def report() -> None:
        while True:
            on_progress(sum((Path(c.config.out) / "done.json").exists() for c in cells), len(cells))
            if stop.wait(every):
                return

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        on_progress(sum((Path(c.config.out) / "done.json").exists() for c in cells), len(cells))
