"""Any trainer in the grid: cells that run a command template instead of the built-in trainer.

A grid file's `trainer` section names the command, the metrics file it writes and which of that
file's columns hold the tokens seen and the eval loss:

    trainer:
      command: "{python} train.py {export} --eval {eval_export} --n-layer {n_layer} --d-model {d_model}
                --steps {steps} --seed {seed} --out {run_dir}"
      metrics: "{run_dir}/log.csv"               # .csv, .tsv, .jsonl or .parquet, inside the run folder
      columns: {tokens: tokens, loss: val_loss}   # curriscale's name: the file's column
      params: "{run_dir}/params.json"             # optional: the model's own parameter counts
      export_seed: 0                              # optional: the seed of the exported streams

The command is split like a shell would (`shlex.split`) but runs without one, from the grid
file's folder; each placeholder fills one argument, so a value with spaces stays one argument.
The placeholders are `PLACEHOLDERS`; any other name is an error naming the grid file and key.

`columns` maps curriscale's metric names to the file's: `tokens` and `loss` (= `eval_loss`) are
needed (a name left out is looked up as itself), `step` is the tokens over the global batch when
the file has none, `flops` the tokens times the shape's FLOPs per token; other names (e.g.
`train_loss`, `accuracy_level_1`) are carried as they are. `params`, when given, is a JSON file
with `n_params` and/or `non_embedding_params` of the model the command built; without it the
counts are those of the built-in model of the same shape (`GPTConfig`).

Exports: `{export}` is a tokens export (`curriscale export --format tokens`, see
`builders/export.py`) of the cell's curriculum for the cell's token budget, made once and shared
by every cell of that curriculum and budget (all of them under a tokens budget), in
`RUNS/exports/<curriculum>-<tokens>/`; the stream's seed is `export_seed` for every cell, so the
cells' `seed` varies only what the command does with `{seed}`. `{eval_export}` / `{ood_export}`
are the grid's eval / OOD files in the same token layout (`RUNS/exports/eval/`), so every cell
scores one fixed set. Only the exports the command names are made.

Running a cell (`external_run.py`) writes config.json, runs the command with its output in
`RUN/command.log`, and turns its metrics file into `metrics.parquet` and `done.json`, the run
folder every other part of curriscale reads, so `fit` and `report` treat it as a built-in run.
Growth plans need the built-in trainer and are refused with a `trainer` section.
"""

from __future__ import annotations

import os
import re
import shlex
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curriscale.errors import CurriscaleError
from curriscale.paths import check_name, inside
from curriscale.train.model import GPTConfig

if TYPE_CHECKING:  # grid_plan imports this module
    from curriscale.train.grid_plan import Cell

PLACEHOLDERS = {
    "python": "this Python interpreter (sys.executable)",
    "cell": "the cell's name, e.g. s1-ladder-cosine-seed0",
    "run_dir": "the cell's run folder (absolute); the command writes its outputs there",
    "size": "the size as the grid names it (s1, m100, L12-D768-H12, ...)",
    "n_layer": "layers of that size",
    "d_model": "width of that size",
    "n_head": "attention heads of that size",
    "vocab_size": "the grid tokenizer's vocabulary size",
    "seq_len": "sequence length (train.seq_len)",
    "batch_size": "global batch in sequences (train.batch_size)",
    "budget_tokens": "the cell's training tokens (the grid's budget rule for this size)",
    "steps": "optimizer steps: budget_tokens // (batch_size * seq_len)",
    "lr": "peak learning rate (the grid's lr for this size)",
    "lr_schedule": "the LR schedule kind (cosine, wsd, linear, constant, step)",
    "warmup_fraction": "warm-up share of the steps (train.warmup_fraction)",
    "min_lr_ratio": "final LR over peak LR (train.min_lr_ratio)",
    "seed": "the cell's seed",
    "curriculum": "the curriculum's name (its key under manifests)",
    "manifest": "the curriculum's manifest.json (absolute)",
    "export": "the curriculum's tokens export folder for this budget (export.json, tokens.bin, ...)",
    "tokenizer": "the grid's tokenizer.json (absolute)",
    "eval": "the grid's eval file (absolute)",
    "ood": "the grid's OOD eval file (absolute)",
    "eval_export": "the eval file's documents as a tokens folder (export.json, tokens.bin)",
    "ood_export": "the OOD file's documents as a tokens folder",
    "gpus": "GPUs of the cell (resources); locally CUDA_VISIBLE_DEVICES names them",
    "processes": "processes of the cell (resources): start them yourself, e.g. with torchrun",
    "cpus": "cores of the cell (resources)",
    "threads": "threads per process the grid gives the cell (also set as OMP_NUM_THREADS)",
    "device": "cpu or cuda, from the cell's resources (or the grid's train.device)",
}
KEYS = ("command", "metrics", "columns", "params", "export_seed")
# Files of the run folder contract that curriscale writes: the command must not write them.
RESERVED = ("config.json", "metrics.parquet", "done.json", "error.json", "command.log")
_METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ExternalTrainer:
    """A grid's `trainer` section, checked: the argv template, metrics file and column mapping."""

    where: str  # the grid file, for messages
    argv: tuple[str, ...]
    metrics: str
    columns: dict[str, str]
    params: str | None = None
    export_seed: int = 0

    def uses(self, name: str) -> bool:
        """Whether a template of the section names placeholder `name`."""
        templates = (*self.argv, self.metrics, self.params or "")
        return any(name in _fields(template) for template in templates)


def parse_trainer(section: Any, where: str) -> ExternalTrainer:
    """Check a grid's `trainer` section.

    Raises:
        CurriscaleError: naming the grid file and the key at fault (unknown keys or placeholders,
            an empty or unsplittable command, a malformed column mapping).
    """
    if not isinstance(section, dict):
        raise CurriscaleError(
            f"{where}: trainer: a mapping such as {{command: ..., metrics: ..., columns: ...}}"
        )
    for key in section:
        if key not in KEYS:
            raise CurriscaleError(f"{where}: trainer.{key}: unknown key (allowed: {', '.join(KEYS)})")
    command = section.get("command")
    if not isinstance(command, str) or not command.strip():
        raise CurriscaleError(
            f'{where}: trainer.command: a command line, e.g. "python train.py --out {{run_dir}}"'
        )
    try:
        argv = tuple(shlex.split(command))
    except ValueError as error:
        raise CurriscaleError(f"{where}: trainer.command: cannot split it into arguments: {error}") from None
    metrics = section.get("metrics")
    if not isinstance(metrics, str) or not metrics:
        raise CurriscaleError(
            f'{where}: trainer.metrics: the metrics file the command writes, e.g. "{{run_dir}}/log.csv"'
        )
    params = section.get("params")
    if params is not None and not isinstance(params, str):
        raise CurriscaleError(
            f'{where}: trainer.params: a JSON file the command writes, e.g. "{{run_dir}}/params.json"'
        )
    for key, templates in (("command", argv), ("metrics", [metrics]), ("params", [params] if params else [])):
        for template in templates:
            _check_template(template, f"{where}: trainer.{key}")
    seed = section.get("export_seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CurriscaleError(f"{where}: trainer.export_seed: an integer >= 0, got {seed!r}")
    return ExternalTrainer(where, argv, metrics, _columns(section.get("columns", {}), where), params, seed)


def _fields(template: str) -> list[str]:
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError:
        return []  # reported by _check_template


def _check_template(template: str, where: str) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise CurriscaleError(
            f"{where}: {template!r}: {error} (write {{{{ and }}}} for literal braces)"
        ) from None
    for _, field, _, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or conversion:
            raise CurriscaleError(
                f"{where}: unknown placeholder {{{field}{'!' + conversion if conversion else ''}}} "
                f"(known: {', '.join(PLACEHOLDERS)})"
            )


def _columns(section: Any, where: str) -> dict[str, str]:
    """`columns` as {curriscale name: file column}, `loss` read as `eval_loss`."""
    if not isinstance(section, dict):
        raise CurriscaleError(
            f"{where}: trainer.columns: maps curriscale's names to the file's, e.g. {{tokens: tokens, loss: val_loss}}"
        )
    columns = {}
    for name, column in section.items():
        target = "eval_loss" if name == "loss" else name
        if not isinstance(name, str) or not _METRIC_NAME.match(name) or not isinstance(column, str):
            raise CurriscaleError(
                f"{where}: trainer.columns.{name}: a metric name mapped to a column name, got {column!r}"
            )
        if target in columns:
            raise CurriscaleError(
                f"{where}: trainer.columns: 'loss' and 'eval_loss' are the same metric; give one"
            )
        columns[target] = column
    return columns


@dataclass
class ExternalRun:
    """One cell's command: the trainer section and the cell's placeholder values (all but threads)."""

    trainer: ExternalTrainer
    values: dict[str, Any]
    cwd: str
    exports: dict[str, dict[str, Any]]  # placeholder -> export job (see `external_run.run_export`)

    def payload(self, threads: int | None) -> dict[str, Any]:
        """What the cell's task runs: the argv and paths rendered, plus what collecting needs (JSON).

        Raises:
            CurriscaleError: a placeholder's format spec does not fit its value, or the metrics or
                params file is outside the run folder or one of the files curriscale writes there.
        """
        values = {**self.values, "threads": threads or _cores()}
        where = self.trainer.where
        argv = [_render(template, values, f"{where}: trainer.command") for template in self.trainer.argv]
        run_dir = Path(values["run_dir"])
        return {
            "cell": values["cell"],
            "run_dir": str(run_dir),
            "cwd": self.cwd,
            "argv": argv,
            "threads": threads,
            "metrics": str(_run_file(run_dir, self.trainer.metrics, values, f"{where}: trainer.metrics")),
            "params": None
            if self.trainer.params is None
            else str(_run_file(run_dir, self.trainer.params, values, f"{where}: trainer.params")),
            "columns": dict(self.trainer.columns),
            "exports": {name: job for name, job in self.exports.items()},
            "values": {k: v for k, v in values.items() if k not in ("python",)},
        }


def _cores() -> int:
    return os.cpu_count() or 1


def _render(template: str, values: dict[str, Any], where: str) -> str:
    missing = [field for field in _fields(template) if values.get(field) is None]
    if missing:
        raise CurriscaleError(
            f"{where}: {{{missing[0]}}} has no value in this grid ({PLACEHOLDERS[missing[0]]})"
        )
    try:
        return template.format(**values)
    except (ValueError, TypeError) as error:
        raise CurriscaleError(f"{where}: {template!r}: {error}") from None


def _run_file(run_dir: Path, template: str, values: dict[str, Any], where: str) -> Path:
    """A file the command writes: rendered, relative to the run folder, and kept inside it."""
    path = Path(_render(template, values, where))
    if path.is_absolute():
        if path != run_dir and run_dir not in path.parents:
            raise CurriscaleError(f"{where}: {path} is outside the cell's run folder {{run_dir}}")
        path = path.relative_to(run_dir)
    resolved = inside(run_dir, path.as_posix(), where)
    if str(path) in RESERVED:
        raise CurriscaleError(
            f"{where}: {path.name} is a file curriscale writes in the run folder; name another"
        )
    return resolved


def plan_external(grid: dict, grid_path: Path, out_dir: Path, cells: list[Cell]) -> list[Cell]:
    """Give every cell its `ExternalRun` when the grid has a `trainer` section; else leave them be.

    Raises:
        CurriscaleError: a bad `trainer` section, a placeholder without a value in this grid, a
            metrics file outside the run folder, or growth plans (they need the built-in trainer).
    """
    if grid.get("trainer") is None:
        return cells
    where = str(grid_path)
    trainer = parse_trainer(grid["trainer"], where)
    if grid.get("growth"):
        raise CurriscaleError(
            f"{where}: growth: grown cells need the built-in trainer; leave out 'trainer' or 'growth'"
        )
    from curriscale.train.tokenizer import load_tokenizer

    base, out_dir = grid_path.parent.resolve(), out_dir.resolve()
    tokenizer = out_dir / "tokenizer.json"
    vocab_size = load_tokenizer(tokenizer).get_vocab_size()
    files = {key: str(base / grid[key]) if grid.get(key) else None for key in ("eval", "ood")}
    for cell in cells:
        config = cell.config
        model = GPTConfig.from_size(cell.size, vocab_size, config.seq_len)
        budget = config.budget_tokens or int(config.budget_flops // model.flops_per_token())
        manifest = str(Path(config.manifest).resolve())
        values = {
            "python": sys.executable,
            "cell": cell.name,
            "run_dir": str(Path(config.out).resolve()),
            "size": cell.size,
            "n_layer": model.n_layer,
            "d_model": model.d_model,
            "n_head": model.n_head,
            "vocab_size": vocab_size,
            "seq_len": config.seq_len,
            "batch_size": config.batch_size,
            "budget_tokens": budget,
            "steps": budget // (config.batch_size * config.seq_len),
            "lr": config.lr,
            "lr_schedule": config.lr_schedule or cell.lr_schedule,
            "warmup_fraction": config.warmup_fraction,
            "min_lr_ratio": config.min_lr_ratio,
            "seed": cell.seed,
            "curriculum": cell.curriculum,
            "manifest": manifest,
            "tokenizer": str(tokenizer),
            **files,
            "gpus": cell.resources.gpus,
            "processes": cell.resources.processes,
            "cpus": cell.resources.cpus,
            "device": config.device,
        }
        exports = {}
        if trainer.uses("export"):
            folder = out_dir / "exports" / check_name(f"{cell.curriculum}-{budget}", f"{where}: manifests")
            exports["export"] = {
                "kind": "curriculum", "out": str(folder), "manifest": manifest, "tokenizer": str(tokenizer),
                "budget_tokens": budget, "seed": trainer.export_seed,
            }  # fmt: skip
        for key in ("eval", "ood"):
            if trainer.uses(f"{key}_export") and files[key]:
                exports[f"{key}_export"] = {
                    "kind": "documents", "out": str(out_dir / "exports" / key), "source": files[key],
                    "tokenizer": str(tokenizer),
                }  # fmt: skip
        values |= {name: job["out"] for name, job in exports.items()}
        cell.external = ExternalRun(trainer, values, str(base), exports)
        cell.external.payload(config.threads)  # every template renders: fail before anything runs
    return cells


def describe(payload: dict[str, Any]) -> str:
    """One line for logs and scripts: where the command runs and what it is."""
    return f"cd {shlex.quote(payload['cwd'])} && {shlex.join(payload['argv'])}"
