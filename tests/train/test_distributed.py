"""Data parallelism and devices with real processes: torchrun (gloo), SIGKILL and resume, accumulation.

The 2-process runs start `torchrun --standalone --nproc_per_node 2 -m curriscale train` exactly as a
user would; nothing in torch.distributed is mocked. Tolerances: the two processes sum the same
gradients in another order, so per-step losses agree to float32 rounding (relative 1e-5 over 60
steps; measured ~1e-6 over 390 steps).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from train_task import write_eval, write_task_manifest

from curriscale.errors import CurriscaleError
from curriscale.train.config import TrainConfig
from curriscale.train.trainer import train

STEPS, BATCH, SEQ = 60, 8, 32
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    return str(write_task_manifest(folder / "curriculum")), str(write_eval(folder / "eval.jsonl", 60))


def options(task, out, **overrides) -> dict:
    manifest, eval_path = task
    base = dict(
        out=str(out), manifest=manifest, eval_path=eval_path, size="s0", seq_len=SEQ, batch_size=BATCH,
        budget_tokens=STEPS * BATCH * SEQ, lr=1e-2, n_evals=6, log_every=1, threads=1,
    )  # fmt: skip
    return {**base, **overrides}


def command(opts: dict, nproc: int | None) -> list[str]:
    """`curriscale train` with these options, under torchrun when `nproc` is given."""
    flags = {"eval_path": "--eval", "out": "--out"}
    args = ["train"]
    for key, value in opts.items():
        flag = flags.get(key, "--" + key.replace("_", "-"))
        args += [flag] if value is True else [flag, str(value)]
    launcher = [sys.executable, "-m", "curriscale"]
    if nproc is not None:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
                    "-m", "curriscale"]  # fmt: skip
    return launcher + args


def run(opts: dict, nproc: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command(opts, nproc), env=ENV, capture_output=True, text=True, timeout=300)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc's children lists."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        queue += [int(c) for c in children]
    return found


def metrics(run_dir):
    return pq.read_table(run_dir / "metrics.parquet").to_pandas()


@pytest.fixture(scope="module")
def two_process_run(task, tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "run"
    done = run(options(task, out), nproc=2)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_two_processes_compute_the_steps_of_one(task, two_process_run, tmp_path):
    train(TrainConfig(**options(task, tmp_path / "one")))
    one, two = metrics(tmp_path / "one"), metrics(two_process_run)
    assert one["step"].tolist() == two["step"].tolist() == list(range(1, STEPS + 1))
    np.testing.assert_allclose(two["train_loss"], one["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(two["eval_loss"].dropna(), one["eval_loss"].dropna(), rtol=1e-5)
    config = json.loads((two_process_run / "config.json").read_text())
    assert config["world_size"] == 2 and config["micro_batch"] == BATCH // 2
    assert config["global_batch_tokens"] == BATCH * SEQ
    # Only rank 0 wrote: one checkpoint holding both ranks' data positions.
    state = torch.load(two_process_run / "checkpoint" / "state.pt", weights_only=True)
    assert len(state["samplers"]) == 2 and state["samplers"][0] != state["samplers"][1]


def test_a_ddp_run_killed_mid_run_resumes_to_the_same_losses(task, two_process_run, tmp_path):
    out = tmp_path / "killed"
    opts = options(task, out)
    process = subprocess.Popen(
        command(opts, nproc=2),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint" / "state.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    # torchrun and both workers (torchrun starts each in its own session), with no chance to clean up.
    for pid in [process.pid, *descendants(process.pid)]:
        os.kill(pid, signal.SIGKILL)
    process.wait()
    assert (out / "checkpoint").is_dir() and not (out / "done.json").exists()
    killed_at = torch.load(out / "checkpoint" / "state.pt", weights_only=True)["step"]
    assert killed_at < STEPS

    # The checkpoint holds two ranks' positions: one process cannot continue it, and says how to.
    header = (out / "config.json").read_bytes()
    single = run(opts)
    assert single.returncode == 2 and "resume with torchrun --nproc_per_node 2" in single.stderr
    assert (out / "config.json").read_bytes() == header  # refused before anything was written

    resumed = run(opts, nproc=2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    whole, again = metrics(two_process_run), metrics(out)
    assert whole["step"].tolist() == again["step"].tolist()
    np.testing.assert_array_equal(whole["train_loss"], again["train_loss"])
    np.testing.assert_array_equal(whole["eval_loss"], again["eval_loss"])


def test_gradient_accumulation_4_x_8_equals_batch_32(task, tmp_path):
    whole = options(task, tmp_path / "whole", batch_size=32, budget_tokens=20 * 32 * SEQ)
    train(TrainConfig(**whole))
    train(TrainConfig(**{**whole, "out": str(tmp_path / "accum"), "grad_accum": 4}))
    a, b = metrics(tmp_path / "whole"), metrics(tmp_path / "accum")
    assert len(a) == len(b) == 20
    np.testing.assert_allclose(b["train_loss"], a["train_loss"], rtol=1e-5)
    config = json.loads((tmp_path / "accum" / "config.json").read_text())
    assert config["micro_batch"] == 8 and config["global_batch_sequences"] == 32


def test_a_batch_the_micro_steps_do_not_divide_is_refused_before_writing(task, tmp_path):
    with pytest.raises(CurriscaleError, match="not divisible by 1 process.*--grad-accum 3"):
        train(TrainConfig(**options(task, tmp_path / "run", grad_accum=3)))
    assert not (tmp_path / "run").exists()


def test_throughput_is_logged_against_the_devices_peak(task, tmp_path):
    result = train(TrainConfig(**options(task, tmp_path / "run", budget_tokens=20 * BATCH * SEQ)))
    table = metrics(tmp_path / "run")
    # The first step (warm-up, compilation) is not timed; every later row is.
    assert table["tokens_per_s"].isna().tolist() == [True] + [False] * (len(table) - 1)
    timed = table.iloc[1:]
    assert (timed["tokens_per_s"] > 0).all() and ((timed["mfu"] > 0) & (timed["mfu"] < 1)).all()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["device"] == "cpu" and config["dtype"] == "float32" and config["peak_flops"] > 1e9
    assert config["peak_flops_source"].startswith("measured")
    assert config["memory_estimate_bytes"]["total"] > config["n_params"] * 16
    assert 0 < result.throughput["mfu"] < 1 and "tokens_per_s" not in result.final_metrics


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error for a GPU that is absent")
def test_a_missing_gpu_is_one_line_and_exit_2(task, tmp_path):
    done = run(options(task, tmp_path / "run", device="cuda"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --device cuda: no CUDA GPU on this machine (use auto or cpu)"
    ]
    assert not (tmp_path / "run").exists()


def test_a_run_that_cannot_fit_is_refused_with_its_estimate(task, tmp_path):
    huge = options(task, tmp_path / "run", size="b1", batch_size=64, seq_len=2048)
    done = run(huge)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "size b1 with 64 x 2048 tokens per micro-batch needs about" in line and "GiB free" in line
    assert not (tmp_path / "run").exists()
    # --dry-run prints the 1B plan without allocating it.
    plan = run({**options(task, tmp_path / "run", size="b1"), "dry_run": True})
    assert plan.returncode == 0, plan.stderr
    assert "n_params: 1008" in plan.stdout and "memory_estimate:" in plan.stdout
    assert not (tmp_path / "run").exists()
