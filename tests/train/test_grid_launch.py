"""Cells in processes of their own: error.json vs a crash, and a data-parallel cell under torchrun."""

from __future__ import annotations

import json
import threading

import pytest
from test_grid import write_grid
from test_grid_slots import start_holder, stop

from curriscale.errors import CurriscaleError
from curriscale.train.config import TrainConfig
from curriscale.train.grid import run_grid
from curriscale.train.grid_executors import TrainCell
from curriscale.train.grid_resources import Resources
from curriscale.train.grid_slots import GpuSlots
from curriscale.train.launch import launch_cell


def test_a_childs_curriscale_error_marks_the_cell_failed_and_a_crash_names_its_log(tmp_path):
    out = tmp_path / "cell"
    missing = TrainConfig(out=str(out), manifest=str(tmp_path / "none.json"), budget_tokens=100, threads=1)
    launch_cell(missing.to_dict(), 1, tmp_path / "cell.log")
    assert "none.json: file not found" in json.loads((out / "error.json").read_text())["error"]

    unbuildable = {"out": str(tmp_path / "other")}  # no budget: TrainConfig itself refuses it
    with pytest.raises(CurriscaleError, match=r"exited with code 1; see .*other\.log"):
        launch_cell(unbuildable, 1, tmp_path / "other.log")
    assert "give exactly one of --budget-tokens" in (tmp_path / "other.log").read_text()
    assert not (tmp_path / "other" / "error.json").exists()  # a crash leaves the cell pending


def test_a_two_process_cell_trains_under_torchrun_with_gloo(tmp_path):
    grid = write_grid(tmp_path, sizes=["s0"], resources={"processes": 2})
    try:
        index = run_grid(grid, tmp_path / "runs").to_pandas()
    except CurriscaleError:  # show what the processes printed: CI keeps no files
        logs = (tmp_path / "runs" / "logs").glob("*/launch/task_*.log")
        pytest.fail("\n".join(log.read_text()[-3000:] for log in logs))
    assert index["status"].tolist() == ["done"]
    run = tmp_path / "runs" / "cells" / "s0-ladder-cosine-seed0"
    config = json.loads((run / "config.json").read_text())
    assert config["world_size"] == 2 and config["batch_size"] == 8
    assert config["device"] == "cpu"
    assert index["final_eval_loss"].notna().all()
    log = next((tmp_path / "runs" / "logs").glob("*-stage0-procs2-cpus2/launch/task_00000.log"))
    assert log.exists()  # torchrun's own output, kept beside datatrove's logs


def test_a_local_gpu_cell_waits_for_a_free_slot_then_trains_in_a_child(tmp_path):
    out = tmp_path / "cell"
    config = TrainConfig(out=str(out), manifest=str(tmp_path / "none.json"), budget_tokens=100, threads=1)
    slots = GpuSlots(tmp_path / "slots", ("0",))
    cell = TrainCell([config.to_dict()], Resources(gpus=1), tmp_path / "logs", slots)
    holder, got = start_holder(tmp_path / "slots", 1)  # another process holds the only GPU
    try:
        assert got == "0"
        running = threading.Thread(target=cell.run, kwargs={"rank": 0})
        running.start()
        running.join(timeout=2.0)
        assert running.is_alive() and not out.exists()  # waiting for the slot, child not started
    finally:
        stop(holder)
    running.join(timeout=120)
    assert not running.is_alive()
    assert "file not found" in json.loads((out / "error.json").read_text())["error"]  # the child ran
    assert (tmp_path / "logs" / "launch" / "task_00000.log").exists()
    again = slots.try_claim(1)
    assert again is not None  # the cell let its slot go when it ended
    again.release()
