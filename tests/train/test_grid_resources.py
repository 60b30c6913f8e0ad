"""A grid's `resources`: checked shape, per-size cells, and what each executor is given."""

from __future__ import annotations

import dill
import pytest
from test_grid import write_grid

from curriscale.errors import CurriscaleError
from curriscale.train.grid import run_grid
from curriscale.train.grid_executors import chain_executors
from curriscale.train.grid_plan import plan_cells
from curriscale.train.grid_resources import Resources, local_workers, parse_resources
from curriscale.train.launch import command

SIZES = ["s0", "s1", "s1+depth"]
UNTHREADED = {"batch_size": 8, "seq_len": 32, "n_evals": 6}  # threads left to the resources


def test_per_size_entries_override_the_default_key_by_key():
    resources = parse_resources({"gpus": 1, "cpus": 4, "sizes": {"s1": {"gpus": 8}}}, SIZES, "g.yaml")
    assert resources.for_size("s0") == Resources(gpus=1, processes=1, cpus=4)
    assert resources.for_size("s1") == Resources(gpus=8, processes=8, cpus=4)
    assert resources.for_size("s1+depth") == resources.for_size("s1")  # a grown size falls back to its start
    cpu = parse_resources({"processes": 2, "sizes": {"s1": {"gpus": 2}}}, SIZES, "g.yaml")
    assert cpu.for_size("s0") == Resources(gpus=0, processes=2, cpus=2)
    assert cpu.for_size("s1") == Resources(gpus=2, processes=2, cpus=2)  # gpus set there: processes follow
    assert parse_resources(None, SIZES, "g.yaml").for_size("s0") == Resources()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([1], "g.yaml: resources: a mapping such as {gpus: 1}"),
        ({"gpu": 1}, r"g.yaml: resources.gpu: unknown key \(allowed: gpus, processes, cpus, sizes\)"),
        ({"gpus": -1}, "g.yaml: resources.gpus: must be an integer >= 0, got -1"),
        ({"processes": 0}, "g.yaml: resources.processes: must be an integer >= 1, got 0"),
        ({"cpus": 1.5}, "g.yaml: resources.cpus: must be an integer >= 1, got 1.5"),
        ({"gpus": True}, "g.yaml: resources.gpus: must be an integer >= 0, got True"),
        (
            {"gpus": 2, "processes": 4},
            "g.yaml: resources: processes 4 with gpus 2: a GPU cell runs one process",
        ),
        ({"sizes": [1]}, "g.yaml: resources.sizes: maps a size to its resources"),
        (
            {"sizes": {"s9": {"gpus": 1}}},
            r"g.yaml: resources.sizes.s9: not a size of this grid \(its sizes: s0",
        ),
        ({"sizes": {"s1": {"sizes": {}}}}, "g.yaml: resources.sizes.s1.sizes: unknown key"),
        (
            {"sizes": {"s1": {"gpus": "8"}}},
            "g.yaml: resources.sizes.s1.gpus: must be an integer >= 0, got '8'",
        ),
        (
            {"processes": 3, "sizes": {"s1": {"gpus": 2, "processes": 3}}},
            "resources.sizes.s1: processes 3 with",
        ),
    ],
)
def test_a_bad_resources_section_names_the_file_and_field(section, message):
    with pytest.raises(CurriscaleError, match=message):
        parse_resources(section, SIZES, "g.yaml")


def test_cells_carry_their_sizes_resources_and_device(tmp_path):
    grid = write_grid(
        tmp_path,
        sizes=["s0", "s1"],
        growth=[{"from": "s0", "grow": "depth", "at": 0.5}],
        resources={"processes": 2, "sizes": {"s1": {"gpus": 2}, "s0+depth": {"processes": 3}}},
    )
    cells = {cell.name: cell for cell in plan_cells(grid, tmp_path / "runs")}
    needs = {
        name: (cell.resources.gpus, cell.resources.processes, cell.config.device)
        for name, cell in cells.items()
    }
    assert needs == {
        "s0-ladder-cosine-seed0": (0, 2, "cpu"),
        "s1-ladder-cosine-seed0": (2, 2, "cuda"),
        "s0-depth-ladder-cosine-seed0-stage1": (0, 2, "cpu"),
        "s0+depth-ladder-cosine-seed0": (0, 3, "cpu"),
    }
    with pytest.raises(CurriscaleError, match="GRID.yaml: resources.sizes.s7: not a size of this grid"):
        plan_cells(write_grid(tmp_path, resources={"sizes": {"s7": {"gpus": 1}}}), tmp_path / "runs")


def test_local_gpu_cells_run_one_per_gpu_set_and_fail_at_once_without_gpus(tmp_path):
    assert local_workers(Resources(gpus=2, processes=2), workers=1, gpus_here=5, where="g.yaml") == 2
    assert local_workers(Resources(processes=2), workers=3, gpus_here=0, where="g.yaml") == 3
    with pytest.raises(CurriscaleError, match="needs 4 GPU.s. but only 2 is visible"):
        local_workers(Resources(gpus=4, processes=4), workers=1, gpus_here=2, where="g.yaml")

    grid = write_grid(tmp_path, resources={"gpus": 1})
    with pytest.raises(CurriscaleError) as failure:
        run_grid(grid, tmp_path / "runs")  # this machine has no GPU
    assert "GRID.yaml: resources: a cell needs 1 GPU(s) but torch sees no GPU here" in str(failure.value)
    assert "--executor slurm or ray" in str(failure.value) and "\n" not in str(failure.value)
    assert not (tmp_path / "runs" / "cells").exists()  # nothing started


def test_slurm_sbatch_scripts_reserve_each_groups_gpus_and_chain_the_groups(tmp_path, fake_sbatch):
    grid = write_grid(
        tmp_path, train=UNTHREADED, resources={"gpus": 1, "cpus": 4, "sizes": {"s1": {"gpus": 2, "cpus": 8}}}
    )

    index = run_grid(grid, tmp_path / "runs", executor="slurm", partition="gpu", time="1:00:00")

    assert index["status"].to_pylist() == ["pending", "pending"]  # submitted, not run
    scripts = {
        p.parent.name.split("-", 1)[1]: p for p in (tmp_path / "runs" / "logs").glob("*/launch_script.slurm")
    }
    assert sorted(scripts) == ["stage0-gpus1-cpus4", "stage0-gpus2-cpus8"]
    two = scripts["stage0-gpus2-cpus8"].read_text().splitlines()
    assert "#SBATCH --gpus=2" in two and "#SBATCH --cpus-per-task=8" in two
    assert "#SBATCH --partition=gpu" in two and "#SBATCH --job-name=curriscale-" in "\n".join(two)
    assert any(line.startswith("srun ") and "launch_pickled_pipeline" in line for line in two)
    assert "#SBATCH --gpus=1" in scripts["stage0-gpus1-cpus4"].read_text().splitlines()
    calls = fake_sbatch.with_suffix(".calls").read_text().splitlines()
    first_job = calls[0].split()[0]
    assert any(f"--dependency=afterok:{first_job}" in call for call in calls[2:])  # the second group waits

    # What the task runs on its node: the pickled executor's step trains the s1 cell under torchrun.
    with open(scripts["stage0-gpus2-cpus8"].parent / "executor.pik", "rb") as pickled:
        step = dill.load(pickled).pipeline[0]
    assert step.gpu_slots is None  # Slurm hands out the GPUs
    assert step.resources == Resources(gpus=2, processes=2, cpus=8)
    assert [(c["size"], c["device"], c["threads"]) for c in step.configs] == [("s1", "cuda", 4)]
    assert command(tmp_path / "c.json", step.resources.processes)[1:6] == [
        "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
    ]  # fmt: skip


def test_ray_executors_reserve_each_groups_gpus_and_cpus(tmp_path):
    grid = write_grid(
        tmp_path,
        sizes=["s0"],
        growth=[{"from": "s0", "grow": "depth"}],
        train=UNTHREADED,
        resources={"gpus": 1, "cpus": 2, "sizes": {"s0+depth": {"gpus": 4, "cpus": 16}}},
    )
    cells = plan_cells(grid, tmp_path / "runs")
    last = chain_executors(cells, tmp_path / "runs" / "logs", 3, "ray", str(grid))
    chain = [last.depends, last]
    assert last.depends.depends is None
    assert [(e.gpus_per_task, e.cpus_per_task, e.workers, e.tasks) for e in chain] == [
        (1, 2, 3, 2),
        (4, 16, 3, 1),
    ]
    assert [c["threads"] for c in last.depends.pipeline[0].configs] == [2, 2]
    assert last.pipeline[0].configs[0]["threads"] == 4  # 16 cores over 4 processes
    with pytest.raises(CurriscaleError, match="gpus_per_task: declare a cell's GPUs and cores in the grid's"):
        chain_executors(cells, tmp_path / "runs" / "logs", 3, "ray", str(grid), gpus_per_task=2)
