"""One writer per output folder: real processes race, get stopped and get killed.

A holder is frozen with SIGSTOP while it holds the lock, so the second writer meets the lock
however fast the build is; a holder killed with SIGKILL leaves its lock file behind, which the
next writer must take over (the kernel dropped the flock with the process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import curriscale, one_line_error, start
from curriculum_fixtures import recipe_dict, write_scored

from curriscale.builders.export import export_curriculum
from curriscale.errors import CurriscaleError
from curriscale.locking import folder_lock, lock_path


@pytest.fixture
def build_args(tmp_path) -> tuple[str, ...]:
    scored = write_scored(tmp_path / "scored", n=20_000, parts=4)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(recipe_dict()))
    return ("build", str(scored), "--recipe", str(recipe), "--out", str(tmp_path / "out"))


def holder_of(lock: Path, processes: list[subprocess.Popen], timeout: float = 60.0) -> subprocess.Popen:
    """Wait until one of `processes` has written its pid into `lock`; return that process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = int(lock.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            pid = 0
        for process in processes:
            if process.pid == pid:
                return process
        assert all(p.poll() is None for p in processes), "a process ended before anyone held the lock"
        time.sleep(0.005)
    raise AssertionError(f"no process took {lock} within {timeout} s")


def test_two_builds_into_one_folder_one_refused_at_once_then_the_result_verifies(build_args, tmp_path):
    out = tmp_path / "out"
    builds = [start(*build_args), start(*build_args)]  # started together
    holder = holder_of(lock_path(out), builds)
    holder.send_signal(signal.SIGSTOP)  # it keeps the lock for as long as the other needs to meet it
    try:
        (other,) = [p for p in builds if p is not holder]
        _, stderr = other.communicate(timeout=120)  # returns although the holder never will by itself
    finally:
        holder.send_signal(signal.SIGCONT)
    line = one_line_error(subprocess.CompletedProcess(other.args, other.returncode, "", stderr))
    assert str(out) in line and f"pid {holder.pid}" in line, line
    assert holder.wait(timeout=120) == 0, holder.stderr.read()
    assert curriscale("verify", out).returncode == 0
    assert not lock_path(out).exists()  # released and removed


def test_a_sigkilled_holder_leaves_a_stale_file_that_the_next_build_takes_over(build_args, tmp_path):
    out, lock = tmp_path / "out", lock_path(tmp_path / "out")
    first = start(*build_args)
    holder_of(lock, [first])
    first.send_signal(signal.SIGSTOP)  # killed while surely still holding the lock
    first.kill()
    assert first.wait(timeout=60) == -signal.SIGKILL
    assert lock.read_text().strip() == str(first.pid)  # the file outlives its holder ...
    result = curriscale(*build_args)
    assert result.returncode == 0, result.stderr  # ... but is no lock
    assert curriscale("verify", out).returncode == 0
    assert not lock.exists()


def test_library_calls_are_locked_too(tmp_path):
    """An API user writing into a folder another writer holds is refused (here: this very process)."""
    from manifest_factory import write_curriculum

    manifest = write_curriculum(tmp_path / "cur", [6, 6], [[1.0, 0.0], [0.5, 0.5]])
    out = tmp_path / "export"
    with folder_lock(out), pytest.raises(CurriscaleError, match=f"pid {os.getpid()}"):
        export_curriculum(manifest, "jsonl", out)
    assert not (out / "curriculum.jsonl").exists()
    export_curriculum(manifest, "jsonl", out)  # released: the same call now goes through
    assert (out / "export.json").is_file()


def test_a_training_run_into_a_held_folder_is_refused_before_it_writes(tmp_path):
    from manifest_factory import write_curriculum

    from curriscale.train.config import TrainConfig
    from curriscale.train.trainer import train

    manifest = write_curriculum(tmp_path / "cur", [6, 6], [[1.0, 0.0], [0.5, 0.5]])
    run = tmp_path / "run"
    config = TrainConfig(
        out=str(run), manifest=str(manifest), size="s0", budget_tokens=512, batch_size=2, seq_len=16
    )
    with folder_lock(run), pytest.raises(CurriscaleError, match=f"{run}.*pid {os.getpid()}"):
        train(config)
    assert not run.exists()
