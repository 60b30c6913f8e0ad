"""The grid's cells as datatrove tasks: one executor per (stage, resources) group, chained.

Each cell is one task of a datatrove Local, Slurm or Ray executor, so a grid scales from this
machine to a cluster with the same code. An executor reserves the same resources for every task,
so cells whose resources differ go to separate executors; these form one chain (each `depends` on
the one before, stage 0 groups first), so grown cells start after the cells they grow from, and
running the last executor runs them all. Each group logs to `RUNS/logs/<key>-stage<n>-<resources>`,
the key a hash of every cell's config: datatrove skips the tasks it marked complete there.

Cells of an external trainer (`external.py`) run their command instead of `train`. The exports
their commands name are the tasks of one more executor at the head of the chain
(`RUNS/logs/<key>-exports`), so they are made once, before any cell, on the same executor. A
failed external cell is tried again by the next run of the grid (its completion mark is dropped),
and the Slurm script of a group lists its cells' commands as comments.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from datatrove.pipeline.base import PipelineStep

from curriscale.errors import CurriscaleError
from curriscale.pool_worker import leave_ctrl_c_to_parent
from curriscale.train.config import TrainConfig
from curriscale.train.external_run import run_export, run_external
from curriscale.train.grid_plan import Cell
from curriscale.train.grid_resources import Resources, cluster_options, local_workers, process_threads
from curriscale.train.grid_slots import GpuSlots, visible_gpus
from curriscale.train.launch import launch_cell, train_cell

EXECUTORS = ("local", "slurm", "ray")


class TrainCell(PipelineStep):
    """datatrove step: task `rank` trains cell `rank`, in this process or in processes of its own.

    A single-process cell trains in the task's process. A data-parallel cell runs under torchrun,
    and a cell holding local GPU slots runs in children that see only its GPUs (`launch.py`);
    their output goes to `<log_dir>/launch/task_<rank>.log`. A cell whose config carries an
    `external` payload runs that command instead (`external_run.py`; output in `RUN/command.log`).
    """

    name = "train cell"
    type = "curriscale"

    def __init__(self, configs: list[dict], resources: Resources, log_dir: Path, gpu_slots: GpuSlots | None):
        super().__init__()
        self.configs = configs
        self.resources = resources
        self.log_dir = log_dir
        self.gpu_slots = gpu_slots  # local GPU cells only: CPU cells need none, a cluster hands out GPUs

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        config, processes = self.configs[rank], self.resources.processes
        log_file = self.log_dir / "launch" / f"task_{rank:05d}.log"
        external = config.get("external")
        if external is not None:
            leave_ctrl_c_to_parent()  # the command itself still stops on Ctrl-C
            if self.gpu_slots is None:
                run_external(external)
            else:
                with self.gpu_slots.claim(self.resources.gpus) as held:
                    env = {**os.environ, "CUDA_VISIBLE_DEVICES": held.cuda_visible_devices}
                    run_external(external, env, pass_fds=held.fds)
        elif self.gpu_slots is not None:
            with self.gpu_slots.claim(self.resources.gpus) as held:
                # The children's torch reads CUDA_VISIBLE_DEVICES when it first touches CUDA.
                env = {**os.environ, "CUDA_VISIBLE_DEVICES": held.cuda_visible_devices}
                launch_cell(config, processes, log_file, env, pass_fds=held.fds)
        elif processes > 1:
            launch_cell(config, processes, log_file)
        else:
            leave_ctrl_c_to_parent()  # a cell in a pool worker: the grid's process reports the Ctrl-C
            train_cell(TrainConfig.from_dict(config))
        return iter(())


class MakeExports(PipelineStep):
    """datatrove step: task `rank` makes export `rank` of the grid's external commands."""

    name = "grid exports"
    type = "curriscale"

    def __init__(self, jobs: list[dict]):
        super().__init__()
        self.jobs = jobs

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        leave_ctrl_c_to_parent()
        run_export(self.jobs[rank])
        return iter(())


def make_executor(
    configs: list[dict],
    resources: Resources,
    logging_dir: Path,
    workers: int,
    executor: str,
    depends=None,
    gpu_slots: GpuSlots | None = None,
    step: PipelineStep | None = None,
    **options,
):
    """A datatrove executor running one task per cell, after `depends` (another executor) finishes.

    Slurm and Ray reserve `resources` per task (see `grid_resources.cluster_options`); `options`
    go to their executor as given (e.g. partition, time, mem_per_cpu_gb). `step` replaces the
    cells' `TrainCell` (the exports' step), with one task per entry of `configs`.
    """
    step = step or TrainCell(configs, resources, logging_dir, gpu_slots)
    common = {"tasks": len(configs), "workers": workers, "logging_dir": str(logging_dir), "depends": depends}
    if executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        return LocalPipelineExecutor([step], start_method="spawn", **common)
    if executor == "slurm":
        options = {"job_name": f"curriscale-{logging_dir.name}", **options}
        from curriscale.train.grid_slurm import GridSlurmExecutor

        return GridSlurmExecutor([step], **common, **cluster_options(resources), **options)
    if executor == "ray":
        from datatrove.executor import RayPipelineExecutor

        return RayPipelineExecutor([step], **common, **cluster_options(resources), **options)
    raise CurriscaleError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}")


def chain_executors(
    cells: list[Cell], logs: Path, workers: int, executor: str, where: str, **options: Any
) -> Any:
    """The last executor of the chain that runs every cell; running it runs the whole chain.

    Args:
        cells: the planned cells (`grid_plan.plan_cells`).
        logs: the runs folder's `logs/` (datatrove logs; local GPU slot locks).
        workers: CPU cells at once (local) or tasks scheduled at once (slurm/ray).
        executor: local | slurm | ray.
        where: the grid file, named in errors.
        options: passed to every Slurm/Ray executor.

    Raises:
        CurriscaleError: an unknown executor, resources given as options, or local GPU cells on a
            machine without enough GPUs (before any cell runs).
    """
    reserved = sorted({"gpus_per_task", "cpus_per_task"} & set(options))
    if reserved:
        raise CurriscaleError(
            f"{', '.join(reserved)}: declare a cell's GPUs and cores in the grid's `resources`"
        )
    groups: dict[tuple[int, Resources], list[Cell]] = {}
    for cell in sorted(cells, key=lambda c: c.stage):
        groups.setdefault((cell.stage, cell.resources), []).append(cell)
    local_gpus = executor == "local" and any(resources.gpus for _, resources in groups)
    gpu_slots = GpuSlots(logs, visible_gpus()) if local_gpus else None
    plans = []
    for (stage, resources), group in groups.items():
        at_once = workers
        if executor == "local":
            at_once = local_workers(resources, workers, len(gpu_slots.gpus) if gpu_slots else 0, where)
        threads = process_threads(resources, executor, at_once)
        configs = [_task_config(cell, cell.config.threads or threads) for cell in group]
        plans.append((f"stage{stage}-{resources.tag}", resources, at_once, configs))
    key = hashlib.sha256(json.dumps([p[3] for p in plans], sort_keys=True).encode()).hexdigest()[:12]
    jobs = list({job["out"]: job for p in plans for c in p[3] for job in _exports(c)}.values())
    runner = None
    if jobs:
        runner = make_executor(
            jobs, Resources(), logs / f"{key}-exports", workers, executor, step=MakeExports(jobs), **options
        )
    for name, resources, at_once, configs in plans:
        slots = gpu_slots if resources.gpus else None
        _retry_failed_external(configs, logs / f"{key}-{name}")
        runner = make_executor(
            configs, resources, logs / f"{key}-{name}", at_once, executor, runner, slots, **options
        )
    return runner


def _task_config(cell: Cell, threads: int | None) -> dict:
    """A cell's task: its TrainConfig with its threads, and an external command's payload if any."""
    config = {**cell.config.to_dict(), "threads": threads}
    if cell.external is not None:
        config["external"] = cell.external.payload(threads)
    return config


def _exports(config: dict) -> list[dict]:
    return list((config.get("external") or {}).get("exports", {}).values())


def _retry_failed_external(configs: list[dict], logging_dir: Path) -> None:
    """Drop datatrove's completion mark of failed external cells, so this run tries them again.

    A failing command is usually fixed in the trainer's code, which the grid's key does not see.
    """
    for rank, config in enumerate(configs):
        run_dir = Path(config["out"])
        if (
            config.get("external")
            and (run_dir / "error.json").is_file()
            and not (run_dir / "done.json").is_file()
        ):
            (logging_dir / "completions" / f"{rank:05d}").unlink(missing_ok=True)
