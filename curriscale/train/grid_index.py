"""`RUNS/runs.parquet`: the grid's index, one row per cell with its status and final metrics.

The fitter reads this table first (`curriscale.fit.runs.load_grid`), then each listed run folder.
Status is `done` (the run has done.json), `failed` (a deterministic error, kept in error.json, e.g.
a non-finite loss) or `pending` (not started, or interrupted: a rerun of the grid resumes it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.io import atomic_output
from curriscale.train.config import RunResult
from curriscale.train.grid_plan import Cell


def write_index(cells: list[Cell], out_dir: Path) -> pa.Table:
    """`out_dir/runs.parquet`: one row per cell with its final metrics and status."""
    rows = []
    for cell in (c for c in cells if c.indexed):
        run_dir = Path(cell.config.out)
        config = (
            json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").exists() else {}
        )
        done = (run_dir / "done.json").exists()
        result = RunResult.load(run_dir) if done else None
        status = "done" if done else "failed" if (run_dir / "error.json").exists() else "pending"
        rows.append(
            {
                "cell": cell.name,
                "run_dir": str(run_dir.relative_to(out_dir)),
                "size": cell.size,
                "curriculum": cell.curriculum,
                "lr_schedule": cell.lr_schedule,
                "seed": cell.seed,
                "n_params": config.get("n_params"),
                "non_embedding_params": config.get("non_embedding_params"),
                "budget_tokens": config.get("budget_tokens"),
                "final_eval_loss": result.final_eval_loss if result else None,
                "final_mean_accuracy": result.final_mean_accuracy if result else None,
                "status": status,
            }
        )
    schema = pa.schema(
        [("cell", pa.string()), ("run_dir", pa.string()), ("size", pa.string()), ("curriculum", pa.string()),
         ("lr_schedule", pa.string()), ("seed", pa.int64()), ("n_params", pa.int64()),
         ("non_embedding_params", pa.int64()), ("budget_tokens", pa.int64()), ("final_eval_loss", pa.float64()),
         ("final_mean_accuracy", pa.float64()), ("status", pa.string())]
    )  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_output(out_dir / "runs.parquet") as tmp:
        pq.write_table(table, tmp)
    return table
