"""A grid's `trainer` section, checked: the command template, its metrics file and column mapping.

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
"""

from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass
from typing import Any

from curriscale.errors import CurriscaleError

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
        return any(name in fields(template) for template in templates)


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


def fields(template: str) -> list[str]:
    """The placeholder names a template uses; none for a malformed one (`parse_trainer` refuses it)."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError:
        return []  # reported by _check_template


def _check_template(template: str, where: str) -> None:
    """Refuse a template that does not parse or names a placeholder outside `PLACEHOLDERS`."""
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
