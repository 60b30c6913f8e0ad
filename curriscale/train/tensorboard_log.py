"""TensorBoard event files for a run: `RUN/tensorboard/`, written by rank 0 beside metrics.parquet.

Optional: on whenever the `tensorboard` package is importable (torch's `SummaryWriter` needs it),
so `tensorboard --logdir runs/` follows a run or a whole grid while it trains. Each logged row of
metrics.parquet (train loss, lr, tokens/s, MFU and, at evaluations, the eval metrics) becomes one
scalar per column, tagged with the column's name. metrics.parquet stays the record; this is a view.

A resumed run recomputes the rows past its checkpoint, so it opens the writer with `purge_step`:
TensorBoard then drops the events the interrupted session wrote past the checkpoint instead of
showing them twice.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path


class TensorBoardLog:
    """Writes a run's logged rows as TensorBoard scalars.

    Args:
        run_dir: the run directory; events go to `run_dir/tensorboard/`.
        resumed_at: the step of the checkpoint this session starts from (0 for a fresh run).
    """

    def __init__(self, run_dir: Path, resumed_at: int):
        from torch.utils.tensorboard import SummaryWriter

        # purge_step hides what an interrupted session logged past the checkpoint this one redoes.
        purge_step = resumed_at + 1 if resumed_at else None
        self.writer = SummaryWriter(run_dir / "tensorboard", purge_step=purge_step)

    def add(self, row: dict) -> None:
        """One logged row: every finite number in it but the step, at its step; flushed at once.

        Rows come every `log_every` steps, so flushing each keeps the board live (and an interrupted
        session's events on disk) for the cost of one small write.
        """
        for name, value in row.items():
            if name != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(name, value, row["step"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_board(run_dir: Path, resumed_at: int) -> TensorBoardLog | None:
    """The run's TensorBoard log, or None when the `tensorboard` package is not installed."""
    if importlib.util.find_spec("tensorboard") is None:
        return None
    return TensorBoardLog(run_dir, resumed_at)
