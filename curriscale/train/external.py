"""Any trainer in the grid: cells that run a command template instead of the built-in trainer.

The grid file's `trainer` section (command, metrics file, column mapping; checked by
`curriscale.train.external_trainer`) is planned here per cell: each cell gets an `ExternalRun`
holding its placeholder values and the exports its command names.

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
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curriscale.errors import CurriscaleError
from curriscale.paths import check_name, inside
from curriscale.train.external_trainer import PLACEHOLDERS, ExternalTrainer, fields, parse_trainer
from curriscale.train.model import GPTConfig

if TYPE_CHECKING:  # grid_plan imports this module
    from curriscale.train.grid_plan import Cell

# Files of the run folder contract that curriscale writes: the command must not write them.
RESERVED = ("config.json", "metrics.parquet", "done.json", "error.json", "command.log")


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
    """A template with the cell's values filled in; a placeholder without a value is an error."""
    missing = [field for field in fields(template) if values.get(field) is None]
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
    from curriscale.train.tokenizer import load_tokenizer  # tokenizers loads only for such grids

    base, out_dir = grid_path.parent.resolve(), out_dir.resolve()
    tokenizer = out_dir / "tokenizer.json"
    vocab_size = load_tokenizer(tokenizer).get_vocab_size()
    files = {key: str(base / grid[key]) if grid.get(key) else None for key in ("eval", "ood")}
    for cell in cells:
        values = _cell_values(cell, vocab_size, tokenizer, files)
        exports = _cell_exports(trainer, cell, values, out_dir, files)
        values |= {name: job["out"] for name, job in exports.items()}
        cell.external = ExternalRun(trainer, values, str(base), exports)
        cell.external.payload(cell.config.threads)  # every template renders: fail before anything runs
    return cells


def _cell_values(
    cell: Cell, vocab_size: int, tokenizer: Path, files: dict[str, str | None]
) -> dict[str, Any]:
    """The cell's placeholder values, but for the exports and threads (see `PLACEHOLDERS`)."""
    config = cell.config
    model = GPTConfig.from_size(cell.size, vocab_size, config.seq_len)
    budget = config.budget_tokens or int(config.budget_flops // model.flops_per_token())
    return {
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
        "manifest": str(Path(config.manifest).resolve()),
        "tokenizer": str(tokenizer),
        **files,
        "gpus": cell.resources.gpus,
        "processes": cell.resources.processes,
        "cpus": cell.resources.cpus,
        "device": config.device,
    }


def _cell_exports(
    trainer: ExternalTrainer, cell: Cell, values: dict[str, Any], out_dir: Path, files: dict[str, str | None]
) -> dict[str, dict[str, Any]]:
    """The export jobs the command names, by placeholder; cells of one curriculum and budget share one."""
    exports = {}
    budget, tokenizer = values["budget_tokens"], values["tokenizer"]
    if trainer.uses("export"):
        name = check_name(f"{cell.curriculum}-{budget}", f"{trainer.where}: manifests")
        exports["export"] = {
            "kind": "curriculum", "out": str(out_dir / "exports" / name), "manifest": values["manifest"],
            "tokenizer": tokenizer, "budget_tokens": budget, "seed": trainer.export_seed,
        }  # fmt: skip
    for key in ("eval", "ood"):
        if trainer.uses(f"{key}_export") and files[key]:
            exports[f"{key}_export"] = {
                "kind": "documents", "out": str(out_dir / "exports" / key), "source": files[key],
                "tokenizer": tokenizer,
            }  # fmt: skip
    return exports


def describe(payload: dict[str, Any]) -> str:
    """One line for logs and scripts: where the command runs and what it is."""
    return f"cd {shlex.quote(payload['cwd'])} && {shlex.join(payload['argv'])}"
