"""`run_grid`: model sizes x manifests x LR schedules x seeds, each cell an independent run.

A grid file (YAML) names the axes and the budget rule:

    sizes: [s0, s1, s2]
    manifests: {ladder: curricula/ladder/manifest.json, static: curricula/static/manifest.json}
    lr_schedules: [cosine]         # optional: without it, each manifest's paired schedule (else cosine)
    seeds: [0, 1, 2]
    budget: {flops: 2.0e12}        # or {tokens: 4_000_000} or {tokens_per_param: 20}
    lr: {s0: 1.0e-2, s1: 6.0e-3}   # one value, or one per size (the prototype: tune LR per size)
    eval: spectrum/eval.jsonl
    ood: spectrum/ood.jsonl
    tokenizer: bytes               # or bpe:512 (one BPE trained on the manifests), or a tokenizer.json
    train: {batch_size: 16, seq_len: 128, n_evals: 8}   # any other TrainConfig field
    growth: [{from: s1, grow: depth, at: 0.5}]          # optional: grown vs fresh at equal compute

An explicit `lr_schedules` list crosses every manifest with every schedule. Without it, each
manifest runs with the LR schedule its recipe paired with it (kind and parameters, see
`schedules.resolve_schedule`), so a cell's schedule column and name show that kind.

Paths are relative to the grid file. `budget.flops` gives every cell the same compute (smaller
models see more tokens); `tokens_per_param` scales tokens with n_params (Chinchilla's ~20).

A growth entry trains `from` on the first `at` of the plan, grows it (see `growth.py`) and
continues on the rest of the same manifest; the token plan is set so the two stages together cost
the cell budget, making `s1+depth` comparable with fresh sizes at equal FLOPs. Grown cells run
after all others (a dependent datatrove executor).

Cells run as datatrove tasks (one task per cell) on its Local, Slurm or Ray executor, so a grid
scales from this machine to a cluster with the same code. Resume is twofold: datatrove skips tasks
it has marked complete (its logging folder is keyed by the grid's cell list), and `train` itself
returns at once for a run with `done.json` and resumes one with a checkpoint. `RUNS/runs.parquet`
indexes every cell with its status.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from datatrove.pipeline.base import PipelineStep

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json
from curriscale.train.config import TrainConfig
from curriscale.train.grid_index import write_index
from curriscale.train.growth import grown_config
from curriscale.train.model import GPTConfig
from curriscale.train.schedules import manifest_lr_schedule
from curriscale.train.tokenizer import load_tokenizer, save_tokenizer, tokenizer_from_spec

EXECUTORS = ("local", "slurm", "ray")


@dataclass
class Cell:
    """One run of the grid; `stage` 1 cells (grown models) start after every stage 0 cell."""

    name: str
    size: str
    curriculum: str
    lr_schedule: str
    seed: int
    config: TrainConfig
    stage: int = 0
    indexed: bool = True  # first stages of grow plans are means, not results: left out of runs.parquet


def load_grid(grid_yaml: str | Path) -> dict[str, Any]:
    """Parse and check a grid file; paths stay as written (resolved by `plan_cells`)."""
    path = Path(grid_yaml)
    try:
        grid = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CurriscaleError(f"{path}: cannot read grid file: {error}") from error
    if not isinstance(grid, dict):
        raise CurriscaleError(f"{path}: a grid file is a mapping (sizes, manifests, ...)")
    for key in ("sizes", "manifests", "budget"):
        if key not in grid:
            raise CurriscaleError(f"{path}: missing '{key}'")
    if not isinstance(grid["manifests"], dict):
        raise CurriscaleError(f"{path}: 'manifests' maps a curriculum name to a manifest path")
    schedules = grid.get("lr_schedules")
    if schedules is not None and not (isinstance(schedules, list) and schedules):
        raise CurriscaleError(
            f"{path}: 'lr_schedules' is a non-empty list (or leave it out: each manifest's)"
        )
    if len(grid["budget"]) != 1 or next(iter(grid["budget"])) not in ("tokens", "flops", "tokens_per_param"):
        raise CurriscaleError(
            f"{path}: 'budget' is one of {{tokens: N}}, {{flops: F}}, {{tokens_per_param: R}}"
        )
    return grid


def grid_tokenizer(grid: dict, base: Path, out_dir: Path) -> Path:
    """The one tokenizer of the grid, written to `out_dir/tokenizer.json` on first use."""
    target = out_dir / "tokenizer.json"
    if not target.exists():
        spec = str(grid.get("tokenizer", "bytes"))
        spec = spec if spec == "bytes" or spec.startswith("bpe:") else str(base / spec)
        save_tokenizer(tokenizer_from_spec(spec, [base / m for m in grid["manifests"].values()]), target)
    return target


def _budget(
    rule: str, amount: float, fresh: GPTConfig, small: GPTConfig | None = None, at: float = 1.0
) -> dict:
    """TrainConfig budget fields for a cell; a grow plan spends `at` of its tokens on `small`.

    Equal compute for a grow plan: T tokens cost at * T * f_small + (1 - at) * T * f_grown FLOPs,
    so T = F / (at * f_small + (1 - at) * f_grown).
    """
    if rule == "tokens":
        return {"budget_tokens": int(amount)}
    if rule == "tokens_per_param":
        return {"budget_tokens": int(amount * fresh.n_params())}
    if small is None:
        return {"budget_flops": float(amount)}
    per_token = at * small.flops_per_token() + (1 - at) * fresh.flops_per_token()
    return {"budget_tokens": int(amount / per_token)}


def _schedules(grid: dict, base: Path) -> dict[str, list[tuple[str, str | None]]]:
    """Each curriculum's LR schedules as (kind, the cell's `TrainConfig.lr_schedule`).

    The grid's `lr_schedules` list when it has one; else the manifest's paired schedule (cosine if
    none), left to the trainer to read (`lr_schedule=None`) so config.json records its source.
    """
    listed = grid.get("lr_schedules")
    if listed is not None:
        return {curriculum: [(str(k), str(k)) for k in listed] for curriculum in grid["manifests"]}
    paired = {c: manifest_lr_schedule(base / m) for c, m in grid["manifests"].items()}
    return {c: [(lr["kind"] if lr else "cosine", None)] for c, lr in paired.items()}


def plan_cells(grid_yaml: str | Path, out_dir: str | Path) -> list[Cell]:
    """Every cell of the grid with its full TrainConfig (run dirs under `out_dir/cells/`).

    With a `growth` list (e.g. `[{from: s1, grow: depth, at: 0.5}]`), each entry adds, per manifest,
    schedule and seed, a first-stage cell (`<from>-<grow>-...-stage1`: the small model on the first
    `at` of the plan) and a grown cell (`<from>+<grow>-...`) continuing it at equal total compute.
    """
    grid_path, out_dir = Path(grid_yaml), Path(out_dir)
    grid, base = load_grid(grid_path), grid_path.parent
    tokenizer = grid_tokenizer(grid, base, out_dir)
    vocab_size = load_tokenizer(tokenizer).get_vocab_size()
    train_options = dict(grid.get("train", {}))
    seq_len = train_options.get("seq_len", 128)
    rule, amount = next(iter(grid["budget"].items()))
    lrs = grid.get("lr", TrainConfig.lr)
    common = {
        "eval_path": str(base / grid["eval"]) if grid.get("eval") else None,
        "ood_path": str(base / grid["ood"]) if grid.get("ood") else None,
        "tokenizer": str(tokenizer),
        **train_options,
    }
    schedules = _schedules(grid, base)
    axes = [
        ((curriculum, manifest), schedule, seed)
        for curriculum, manifest in grid["manifests"].items()
        for schedule in schedules[curriculum]
        for seed in grid.get("seeds", [0])
    ]
    cells = []
    for size, ((curriculum, manifest), (schedule, option), seed) in itertools.product(grid["sizes"], axes):
        model = GPTConfig.from_size(size, vocab_size, seq_len)
        name = f"{size}-{curriculum}-{schedule}-seed{seed}"
        config = TrainConfig(
            out=str(out_dir / "cells" / name), manifest=str(base / manifest), size=size, lr_schedule=option,
            lr=float(lrs[size] if isinstance(lrs, dict) else lrs), seed=int(seed),
            **_budget(rule, amount, model), **common,
        )  # fmt: skip
        cells.append(Cell(name, size, curriculum, schedule, int(seed), config))
    for plan, ((curriculum, manifest), (schedule, option), seed) in itertools.product(
        grid.get("growth", []), axes
    ):
        small_size, how, at = plan["from"], plan["grow"], float(plan.get("at", 0.5))
        small = GPTConfig.from_size(small_size, vocab_size, seq_len)
        lr = float(lrs[small_size] if isinstance(lrs, dict) else lrs)
        first = f"{small_size}-{how}-{curriculum}-{schedule}-seed{seed}-stage1"
        stage1 = TrainConfig(
            out=str(out_dir / "cells" / first), manifest=str(base / manifest), size=small_size, lr_schedule=option,
            lr=lr, seed=int(seed), stop_fraction=at, **_budget(rule, amount, grown_config(small, how), small, at), **common,
        )  # fmt: skip
        cells.append(Cell(first, small_size, curriculum, schedule, int(seed), stage1, stage=0, indexed=False))
        name = f"{small_size}+{how}-{curriculum}-{schedule}-seed{seed}"
        options = {k: v for k, v in common.items() if k != "tokenizer"}
        grown = TrainConfig(
            out=str(out_dir / "cells" / name), init_from=stage1.out, grow=how, lr_schedule=option, lr=lr,
            seed=int(seed), **options,
        )  # fmt: skip
        cells.append(Cell(name, f"{small_size}+{how}", curriculum, schedule, int(seed), grown, stage=1))
    return cells


class TrainCell(PipelineStep):
    """datatrove step: task `rank` trains cell `rank` (a deterministic CurriscaleError marks it failed)."""

    name = "train cell"
    type = "curriscale"

    def __init__(self, configs: list[dict]):
        super().__init__()
        self.configs = configs

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from curriscale.train.trainer import train

        config = TrainConfig.from_dict(self.configs[rank])
        try:
            train(config)
        except CurriscaleError as error:
            atomic_write_json(Path(config.out) / "error.json", {"error": str(error)})
        return iter(())


def make_executor(
    configs: list[dict], logging_dir: Path, workers: int, executor: str, depends=None, **options
):
    """A datatrove executor running one task per cell, after `depends` (another executor) finishes."""
    common = {"tasks": len(configs), "workers": workers, "logging_dir": str(logging_dir), "depends": depends}
    if executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        return LocalPipelineExecutor([TrainCell(configs)], start_method="spawn", **common)
    if executor == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        return SlurmPipelineExecutor([TrainCell(configs)], **common, **options)
    if executor == "ray":
        from datatrove.executor import RayPipelineExecutor

        return RayPipelineExecutor([TrainCell(configs)], **common, **options)
    raise CurriscaleError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}")


def run_grid(
    grid_yaml: str | Path,
    out_dir: str | Path,
    workers: int = 1,
    executor: str = "local",
    on_progress: Callable[[int, int], None] | None = None,
    **executor_options,
) -> pa.Table:
    """Run every cell of a grid that has not finished yet, then write and return `runs.parquet`.

    Args:
        grid_yaml: the grid file (see module docstring).
        out_dir: runs folder; cells go to `out_dir/cells/<cell>`.
        workers: cells run in parallel (local) or concurrently scheduled (slurm/ray).
        executor: local | slurm | ray (datatrove executors).
        on_progress: called with (finished cells, cells) while the grid runs (local executor).
        executor_options: passed to the Slurm/Ray executor (e.g. partition, time, cpus_per_task).
    """
    out_dir = Path(out_dir)
    cells = plan_cells(grid_yaml, out_dir)
    configs = [cell.config.to_dict() for cell in cells]
    if executor == "local" and workers > 1:
        # Share the cores: N parallel cells each get cores / N torch threads (oversubscribed
        # OpenMP threads run many times slower than this on a loaded machine).
        threads = max(1, (os.cpu_count() or 1) // workers)
        configs = [{**c, "threads": c["threads"] or threads} for c in configs]
    key = hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()[:12]
    runner = None
    for stage in sorted({cell.stage for cell in cells}):
        group = [config for config, cell in zip(configs, cells, strict=True) if cell.stage == stage]
        logs = out_dir / "logs" / f"{key}-stage{stage}"
        runner = make_executor(group, logs, workers, executor, depends=runner, **executor_options)
    if on_progress is None:
        runner.run()
    else:
        with _watch_done(cells, on_progress):
            runner.run()
    return write_index(cells, out_dir)


@contextlib.contextmanager
def _watch_done(cells: list[Cell], on_progress: Callable[[int, int], None], every: float = 1.0):
    """Report the count of finished cells (runs with done.json) from a background thread."""
    stop = threading.Event()

    def report() -> None:
        while True:
            on_progress(sum((Path(c.config.out) / "done.json").exists() for c in cells), len(cells))
            if stop.wait(every):
                return

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        on_progress(sum((Path(c.config.out) / "done.json").exists() for c in cells), len(cells))
