"""A training run killed with SIGKILL anywhere, checkpoint saving included, resumes to the same losses.

Each kill is a real `python -m curriscale train` process ended by SIGKILL (no cleanup runs): at a
series of moments spread over the run, and the moment a checkpoint is half-written
(`checkpoint.new/` exists). Rerunning the same command must finish with exactly the losses of an
uninterrupted run. A damaged checkpoint file is one line naming it, exit 2.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from train_task import write_eval, write_task_manifest

STEPS = 200
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    return write_task_manifest(folder / "curriculum"), write_eval(folder / "eval.jsonl", 60)


def command(task, out) -> list[str]:
    manifest, eval_path = task
    return [
        sys.executable, "-m", "curriscale", "train", "--manifest", str(manifest), "--eval", str(eval_path),
        "--size", "s0", "--seq-len", "32", "--batch-size", "8", "--budget-tokens", str(STEPS * 8 * 32),
        "--lr", "1e-2", "--n-evals", "12", "--log-every", "5", "--threads", "1", "--out", str(out),
    ]  # fmt: skip


def metrics(run_dir):
    return pq.read_table(run_dir / "metrics.parquet").to_pandas()


def kill_when(task, out, ready, timeout: float = 120) -> bool:
    """Start a run, SIGKILL it as soon as `ready()` holds; True when it was killed before finishing."""
    process = subprocess.Popen(
        command(task, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    while process.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.002)
    killed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return killed


@pytest.fixture(scope="module")
def whole(task, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    done = subprocess.run(command(task, out), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return metrics(out)


def assert_same_run(whole, out):
    again = metrics(out)
    assert again["step"].tolist() == whole["step"].tolist()
    np.testing.assert_array_equal(again["train_loss"], whole["train_loss"])
    np.testing.assert_array_equal(again["eval_loss"], whole["eval_loss"])


def test_killed_at_many_points_resumes_to_the_same_losses(task, whole, tmp_path):
    out = tmp_path / "run"
    kills = 0
    for eval_rows in (1, 3, 5, 7, 9):  # after the k-th evaluation row reaches metrics.parquet

        def ready(k=eval_rows):
            try:
                return metrics(out)["eval_loss"].notna().sum() >= k
            except (OSError, ValueError, KeyError):
                return False  # not written yet, or being replaced

        kills += kill_when(task, out, ready)
    assert kills >= 3 and not (out / "done.json").exists()
    done = subprocess.run(command(task, out), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_run(whole, out)


def test_killed_while_saving_a_checkpoint_resumes_to_the_same_losses(task, whole, tmp_path):
    out = tmp_path / "run"
    saving = out / "checkpoint.new"
    kills = sum(kill_when(task, out, saving.exists) for _ in range(3))
    assert kills >= 1
    (out / ".metrics.parquet.killed.tmp").write_bytes(b"half a table")  # as a kill mid-write leaves it
    done = subprocess.run(command(task, out), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_run(whole, out)
    assert not list(out.glob(".*.tmp")) and not (out / "checkpoint.new").exists()


@pytest.mark.parametrize("damaged", ["model.safetensors", "optimizer.pt", "state.pt"])
def test_a_damaged_checkpoint_file_is_one_line_naming_it(task, tmp_path, damaged):
    out = tmp_path / "run"
    assert kill_when(task, out, lambda: (out / "checkpoint" / "state.pt").exists())
    path = out / "checkpoint" / damaged
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated, as by a full disk
    done = subprocess.run(command(task, out), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and damaged in line
