"""A grid cell in processes of its own: `python -m curriscale.train.launch CONFIG.json`.

A cell trains inside its datatrove task unless it needs processes of its own: a data-parallel
cell runs this module under `torchrun --standalone --nproc_per_node N` (each process joins the
process group itself, see `distributed.py`), and a cell holding GPU slots runs it in a child that
sees only those GPUs. `launch_cell` is the task's side; `main` the child's.

A `CurriscaleError` is deterministic (rerunning gives the same error), so `train_cell` keeps it
as the run's `error.json` and the grid marks the cell failed; any other failure leaves the cell
pending, so a rerun of the grid tries it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json
from curriscale.train.config import TrainConfig


def train_cell(config: TrainConfig) -> None:
    """Train one cell; a `CurriscaleError` becomes its `error.json` (written by rank 0 only)."""
    from curriscale.train.trainer import train

    try:
        train(config)
    except CurriscaleError as error:
        if int(os.environ.get("RANK", "0")) == 0:
            atomic_write_json(Path(config.out) / "error.json", {"error": str(error)})


def command(config_json: Path, processes: int) -> list[str]:
    """The command line training `config_json` in `processes` processes (torchrun for more than one)."""
    module = ["-m", "curriscale.train.launch", str(config_json)]
    if processes == 1:
        return [sys.executable, *module]
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    return [sys.executable, *torchrun, *module]


def launch_cell(
    config: dict[str, Any],
    processes: int,
    log_file: Path,
    env: dict[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> None:
    """Train a cell in child processes and wait for them; their output goes to `log_file`.

    Args:
        config: the cell's `TrainConfig` as a dict.
        processes: training processes (more than one: data-parallel under torchrun).
        log_file: where the children's stdout and stderr go (appended).
        env: the children's environment (default: this process's).
        pass_fds: descriptors the children inherit (GPU slot locks, held while they run).

    Raises:
        CurriscaleError: the children failed other than by a `CurriscaleError` (see `log_file`).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="curriscale-cell-") as tmp, log_file.open("ab") as log:
        config_json = Path(tmp) / "config.json"
        config_json.write_text(json.dumps(config))
        code = subprocess.run(
            command(config_json, processes), stdout=log, stderr=subprocess.STDOUT, env=env, pass_fds=pass_fds
        ).returncode
    if code != 0:
        raise CurriscaleError(
            f"cell {config['out']}: its training processes exited with code {code}; see {log_file}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of a cell's child process: train the TrainConfig JSON file named on the command line."""
    (config_json,) = sys.argv[1:] if argv is None else argv
    train_cell(TrainConfig.from_dict(json.loads(Path(config_json).read_text())))


if __name__ == "__main__":
    main()
