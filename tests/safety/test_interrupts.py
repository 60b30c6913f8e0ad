"""Ctrl-C during score, train and grid: exit 130, one line saying what was kept, and a rerun resumes.

Each command is a real `python -m curriscale` process in a session of its own, and the interrupt is
SIGINT sent to its whole process group, as a terminal sends it, so worker processes get it too.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from cli_helpers import REPO

sys.path.insert(0, str(REPO / "tests" / "train"))
from train_task import write_eval, write_task_manifest  # noqa: E402  (the path is set just above)

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def interrupt_when(
    ready: Callable[[], bool], *args: str | Path, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `curriscale ARGS`, press Ctrl-C (SIGINT to its process group) once `ready()`, and wait."""
    process = subprocess.Popen(
        [sys.executable, "-m", "curriscale", "--quiet", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while process.poll() is None and not ready():
        assert time.monotonic() < deadline, "the command never reached the point to interrupt it at"
        time.sleep(0.01)
    assert process.poll() is None, "the command finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def rerun(*args: str | Path, quiet: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "curriscale", *(["--quiet"] if quiet else []), *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )


def the_line(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of an interrupted command (exit 130)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 130, result.stderr
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), result.stderr
    assert lines[0].endswith("; rerun the same command to resume"), lines[0]
    return lines[0]


def test_score_with_two_workers(tmp_path):
    rng = random.Random(0)
    words = "the cat sat on a mat while dogs ran far away from home under bright skies".split()
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": " ".join(rng.choices(words, k=150))}) + "\n" for _ in range(12000))
    )
    out = tmp_path / "scored"
    args = ("score", corpus, "--out", out, "--tasks", "2", "--workers", "2")
    counts = out / "logs" / "counts"
    # Once a task reports progress and none has finished (a finished task writes its counts JSON),
    # the workers are mid-work. Waiting for both tasks' progress at once raced under load: a task
    # removes its progress file when it finishes, and the second may start only then (measured:
    # both files coexist for ~0.6 s of a 5 s run with 3,000 documents; 12,000 give the first
    # task ~1.5 s of work after its first report).
    scoring = lambda: any(counts.glob("*.progress")) and not any(counts.glob("*.json"))  # noqa: E731
    line = the_line(interrupt_when(scoring, *args))
    assert f"0 of 2 scoring tasks finished and are kept in {out}" in line
    assert not (out / "score_stats.json").exists()

    again = rerun(*args)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "score_stats.json").read_text())["scored"] == 12000


def test_train_keeps_its_checkpoint(tmp_path):
    manifest, eval_path = (
        write_task_manifest(tmp_path / "curriculum"),
        write_eval(tmp_path / "eval.jsonl", 40),
    )
    out = tmp_path / "run"
    args = (
        "train", "--manifest", manifest, "--eval", eval_path, "--size", "s0", "--seq-len", "32",
        "--batch-size", "8", "--budget-tokens", 800 * 8 * 32, "--n-evals", "6", "--threads", "1", "--out", out,
    )  # fmt: skip
    line = the_line(interrupt_when(lambda: (out / "checkpoint" / "state.pt").is_file(), *args))
    step = int(line.split("checkpoint at step ")[1].split()[0])
    assert f"kept the checkpoint at step {step} in {out}" in line and 0 < step < 800

    again = rerun(*args)
    assert again.returncode == 0, again.stderr
    steps = pq.read_table(out / "metrics.parquet", columns=["step"]).column("step").to_pylist()
    assert steps[-1] == 800 and steps == sorted(set(steps))  # resumed: no step twice


def test_grid_keeps_finished_cells_and_reports_each_new_one(tmp_path):
    write_task_manifest(tmp_path / "ladder", name="ladder")
    write_eval(tmp_path / "eval.jsonl", 40)
    grid = {
        "sizes": ["s0", "s1"],
        "manifests": {"ladder": "ladder/manifest.json"},
        "lr_schedules": ["cosine"],
        "seeds": [0],
        "budget": {"tokens": 500 * 8 * 32},
        "eval": "eval.jsonl",
        "train": {"batch_size": 8, "seq_len": 32, "n_evals": 4, "threads": 1},
    }
    (tmp_path / "GRID.yaml").write_text(yaml.safe_dump(grid))
    runs = tmp_path / "runs"
    first, second = runs / "cells" / "s0-ladder-cosine-seed0", runs / "cells" / "s1-ladder-cosine-seed0"
    args = ("grid", tmp_path / "GRID.yaml", "--out", runs)
    line = the_line(interrupt_when(lambda: (second / "config.json").is_file(), *args))
    assert f"kept 1 of 2 finished cells in {runs}" in line
    stamp = (first / "done.json").stat().st_mtime_ns

    again = rerun(*args, quiet=False)
    assert again.returncode == 0, again.stderr
    assert (second / "done.json").is_file() and (first / "done.json").stat().st_mtime_ns == stamp
    # Output to a pipe: the bar is silent until the end, so each cell that finishes gets a line.
    assert "cell s1-ladder-cosine-seed0 done: final eval loss " in again.stdout
    assert "s0-ladder" not in again.stdout  # finished before this run: not reported again
