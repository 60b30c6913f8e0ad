"""The run's tables: `metrics.parquet` (one row per logged step), `positions.parquet`, `lr.parquet`.

Rows are kept in memory and rewritten atomically at every checkpoint, so the files on disk always
match the checkpoint. On resume, rows after the checkpoint's step are dropped and recomputed.
Columns missing from a row (train-only rows have no eval metrics) are NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.io import atomic_output
from curriscale.train.schedules import LRSchedule, lr_array

INT_COLUMNS = ("step", "tokens")
# Columns that describe the step or the hardware rather than the model (not final metrics).
PROGRESS_COLUMNS = ("step", "tokens", "flops", "lr", "tokens_per_s", "mfu")


class Records:
    """Metric rows and per-position losses of one run directory."""

    def __init__(self, run_dir: Path):
        self.metrics_path, self.positions_path = run_dir / "metrics.parquet", run_dir / "positions.parquet"
        self.rows = pq.read_table(self.metrics_path).to_pylist() if self.metrics_path.exists() else []
        self.positions = (
            pq.read_table(self.positions_path).to_pylist() if self.positions_path.exists() else []
        )

    def truncate(self, step: int) -> None:
        """Forget rows logged after `step`."""
        self.rows = [r for r in self.rows if r["step"] <= step]
        self.positions = [r for r in self.positions if r["step"] <= step]

    def add(self, row: dict, positions: np.ndarray | None = None) -> None:
        self.rows.append(row)
        if positions is not None:
            self.positions.extend(
                {"step": row["step"], "position": i, "loss": float(v)}
                for i, v in enumerate(positions)
                if np.isfinite(v)
            )

    def write(self) -> None:
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        # Eval columns first in a stable order: step, tokens, flops, lr, train_loss, eval_loss, then sorted.
        head = [c for c in ("step", "tokens", "flops", "lr", "train_loss", "eval_loss") if c in columns]
        columns = head + sorted(set(columns) - set(head))
        arrays = {}
        for name in columns:
            if name in INT_COLUMNS:
                arrays[name] = pa.array([row[name] for row in self.rows], pa.int64())
            else:
                arrays[name] = pa.array([float(row.get(name, np.nan)) for row in self.rows], pa.float64())
        if "eval_loss" not in arrays:
            arrays["eval_loss"] = pa.array([np.nan] * len(self.rows), pa.float64())
        with atomic_output(self.metrics_path) as tmp:
            pq.write_table(pa.table(arrays), tmp)
        positions = pa.table(
            {
                "step": pa.array([r["step"] for r in self.positions], pa.int64()),
                "position": pa.array([r["position"] for r in self.positions], pa.int64()),
                "loss": pa.array([r["loss"] for r in self.positions], pa.float64()),
            }
        )
        with atomic_output(self.positions_path) as tmp:
            pq.write_table(positions, tmp)

    def last(self, column: str):
        return self.rows[-1][column] if self.rows else 0

    def final_metrics(self) -> dict[str, float]:
        """The eval metrics of the last evaluated row (NaN values dropped)."""
        evaluated = [r for r in self.rows if np.isfinite(r.get("eval_loss", np.nan))]
        last = evaluated[-1] if evaluated else (self.rows[-1] if self.rows else {})
        return {k: float(v) for k, v in last.items() if k not in PROGRESS_COLUMNS and np.isfinite(v)}


def write_lr_table(path: Path, schedule: LRSchedule) -> None:
    """`lr.parquet`: `step` (1..total_steps, the update count as in metrics.parquet) and its `lr`."""
    lrs = lr_array(schedule)
    table = pa.table(
        {"step": pa.array(np.arange(1, len(lrs) + 1), pa.int64()), "lr": pa.array(lrs, pa.float64())}
    )
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp)
