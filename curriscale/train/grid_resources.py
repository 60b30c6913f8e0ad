"""What a grid cell needs to run: GPUs or CPU processes, and cores (the grid file's `resources`).

    resources: {gpus: 1}                                  # every cell on one GPU
    resources: {gpus: 1, cpus: 8, sizes: {b1: {gpus: 8, cpus: 64}}}   # b1 data-parallel on 8 GPUs
    resources: {processes: 2}                             # CPU cells of 2 gloo processes each

Keys: `gpus` per cell (default 0: a CPU cell); `processes`, the data-parallel processes of a CPU
cell (default 1; a GPU cell runs one process per GPU); `cpus`, the cores of a cell (default one
per process). `sizes` overrides keys per model size; a grown size (`s1+depth`) falls back to its
starting size's entry. A size entry that sets `gpus` sets the cell's parallelism, so the top
level's `processes` does not carry over to it. Without the section every cell is one CPU process.

A cell with more than one process runs under `torchrun --standalone` (see `launch.py`). What the
executors get: Slurm and Ray `gpus_per_task` and `cpus_per_task` (`#SBATCH --gpus=N` and
`--cpus-per-task`; Ray `num_gpus` and `num_cpus`), with datatrove's 2 GB of memory per cpu unless
`run_grid` is given `mem_per_cpu_gb`; the local executor runs `visible GPUs // gpus` cells at once,
each holding its GPUs through `grid_slots.GpuSlots`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curriscale.errors import CurriscaleError

MINIMUM = {"gpus": 0, "processes": 1, "cpus": 1}


@dataclass(frozen=True)
class Resources:
    """One cell's needs: `gpus` (one process each) or CPU `processes`, and `cpus` cores."""

    gpus: int = 0
    processes: int = 1
    cpus: int = 1

    @property
    def device(self) -> str:
        """The device its training processes use (the grid's `train.device` may say otherwise)."""
        return "cuda" if self.gpus else "cpu"

    @property
    def tag(self) -> str:
        """A short name for the cells' log folder, e.g. `gpus8-cpus64` or `procs2-cpus2`."""
        return f"gpus{self.gpus}-cpus{self.cpus}" if self.gpus else f"procs{self.processes}-cpus{self.cpus}"


@dataclass(frozen=True)
class GridResources:
    """Every size's resources: the grid's default and its per-size entries."""

    default: Resources = Resources()
    sizes: dict[str, Resources] = field(default_factory=dict)

    def for_size(self, size: str) -> Resources:
        """A size's entry; a grown size `s1+depth` falls back to `s1`'s, then to the default."""
        return self.sizes.get(size, self.sizes.get(size.split("+")[0], self.default))


def parse_resources(section: Any, sizes: Iterable[str], where: str) -> GridResources:
    """Check a grid's `resources` section and resolve each size's resources.

    Args:
        section: the section as read from the YAML (None when the grid has none).
        sizes: every size the grid trains (its sizes, growth starts and grown names).
        where: the grid file, named in errors.

    Raises:
        CurriscaleError: naming the grid file and the field at fault.
    """
    if section is None:
        return GridResources()
    top = _checked(section, "resources", where, allowed=(*MINIMUM, "sizes"))
    overrides = top.pop("sizes", {})
    if not isinstance(overrides, dict):
        raise CurriscaleError(
            f"{where}: resources.sizes: maps a size to its resources, e.g. {{b1: {{gpus: 8}}}}"
        )
    sizes = list(sizes)
    per_size = {}
    for size, entry in overrides.items():
        name = f"resources.sizes.{size}"
        if size not in sizes:
            raise CurriscaleError(f"{where}: {name}: not a size of this grid (its sizes: {', '.join(sizes)})")
        entry = _checked(entry, name, where, allowed=tuple(MINIMUM))
        inherited = {k: v for k, v in top.items() if not (k == "processes" and "gpus" in entry)}
        per_size[size] = _resources({**inherited, **entry}, name, where)
    return GridResources(_resources(top, "resources", where), per_size)


def _checked(entry: Any, name: str, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """`entry` as a dict after checking its keys and that each count is an integer in range."""
    if not isinstance(entry, dict):
        raise CurriscaleError(f"{where}: {name}: a mapping such as {{gpus: 1}}, got {entry!r}")
    for key, value in entry.items():
        if key not in allowed:
            raise CurriscaleError(f"{where}: {name}.{key}: unknown key (allowed: {', '.join(allowed)})")
        if key in MINIMUM and (not isinstance(value, int) or isinstance(value, bool) or value < MINIMUM[key]):
            raise CurriscaleError(
                f"{where}: {name}.{key}: must be an integer >= {MINIMUM[key]}, got {value!r}"
            )
    return dict(entry)


def _resources(entry: dict[str, int], name: str, where: str) -> Resources:
    gpus = entry.get("gpus", 0)
    processes = entry.get("processes", max(gpus, 1))
    if gpus and processes != gpus:
        raise CurriscaleError(
            f"{where}: {name}: processes {processes} with gpus {gpus}: a GPU cell runs one process per GPU "
            "(leave processes out)"
        )
    return Resources(gpus, processes, entry.get("cpus", processes))


def cluster_options(resources: Resources) -> dict[str, int]:
    """What a Slurm or Ray executor reserves per task (one task is one cell)."""
    return {"gpus_per_task": resources.gpus, "cpus_per_task": resources.cpus}


def local_workers(resources: Resources, workers: int, gpus_here: int, where: str) -> int:
    """How many cells of `resources` run at once here: `workers` CPU cells, or one per free GPU set.

    Raises:
        CurriscaleError: the cells need more GPUs than this machine shows (slurm/ray have their own).
    """
    if not resources.gpus:
        return workers
    if gpus_here < resources.gpus:
        shown = f"only {gpus_here} is visible" if gpus_here else "torch sees no GPU here"
        raise CurriscaleError(
            f"{where}: resources: a cell needs {resources.gpus} GPU(s) but {shown}; "
            "run the grid where the GPUs are, or with --executor slurm or ray"
        )
    return gpus_here // resources.gpus


def process_threads(resources: Resources, executor: str, workers: int) -> int | None:
    """torch threads per training process, so the processes running at once share their cores.

    On a cluster a cell has its `cpus`; locally the running cells share this machine's cores
    (oversubscribed OpenMP threads run many times slower). None leaves torch's default for a
    lone single-process cell.
    """
    if executor != "local":
        return max(1, resources.cpus // resources.processes)
    sharing = workers * resources.processes
    return max(1, (os.cpu_count() or 1) // sharing) if sharing > 1 else None
