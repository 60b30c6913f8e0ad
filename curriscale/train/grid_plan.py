"""A grid file and its cells: model sizes x manifests x LR schedules x seeds, each an independent run.

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
            # or {from: s1, grow: distill, to: s2, at: 0.5, temperature: 2.0, weight: 0.5}
    resources: {gpus: 1, sizes: {s2: {gpus: 2}}}        # optional: see grid_resources.py
    trainer: {command: "python my_train.py --out {run_dir} ...", metrics: "{run_dir}/log.csv"}
                                                        # optional: any trainer instead (external.py)

An explicit `lr_schedules` list crosses every manifest with every schedule. Without it, each
manifest runs with the LR schedule its recipe paired with it (kind and parameters, see
`schedules.resolve_schedule`), so a cell's schedule column and name show that kind.

An `lr_schedules` entry is a kind (`cosine`: the run's own parameters, from `train:`) or a named
LR treatment, whose name is the cell's schedule column and part of its name:

    lr_schedules:
      - {name: cosine-floor10, kind: cosine, params: {min_lr_ratio: 0.1}}
      - {name: wsd-cool10, kind: wsd, params: {decay_fraction: 0.1}}
      - {name: constant-ema, kind: constant, ema_decay: 0.99}   # averaged weights evaluated too

`params` are the kind's schedule parameters (as in a recipe's `lr_schedule`); `ema_decay` keeps
an average of the weights (`TrainConfig.ema_decay`). Both replace the `train:` section's values.

Paths are relative to the grid file. `budget.flops` gives every cell the same compute (smaller
models see more tokens); `tokens_per_param` scales tokens with n_params (Chinchilla's ~20).
`batch_size` is the global batch, however many processes a cell's `resources` give it.

A growth entry trains `from` on the first `at` of the plan, grows it (see `growth.py`) and
continues on the rest of the same manifest; the token plan is set so the two stages together cost
the cell budget, making `s1+depth` comparable with fresh sizes at equal FLOPs. Grown cells are
stage 1: they run after every stage 0 cell. `grow: distill` instead trains a fresh `to` model
(with `to`'s learning rate) on the rest of the plan, taught by the trained `from` model (KL to its
logits with `temperature` and `weight`, see `distill.py`); its cells are `s1+distill-s2-...`, and
the teacher's forward pass counts in the equal-compute plan.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curriscale.curricula.recipe import check_lr_schedule
from curriscale.errors import CurriscaleError
from curriscale.paths import check_name
from curriscale.train.config import TrainConfig
from curriscale.train.external import ExternalRun, plan_external
from curriscale.train.grid_resources import GridResources, Resources, parse_resources
from curriscale.train.growth import GrowthPlan
from curriscale.train.model import GPTConfig
from curriscale.train.schedules import manifest_lr_schedule
from curriscale.train.tokenizer import BYTE_ALPHABET, load_tokenizer, save_tokenizer, tokenizer_from_spec
from curriscale.yaml12 import load_yaml


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
    resources: Resources = Resources()
    external: ExternalRun | None = None  # a command template runs it instead of the built-in trainer


BUDGET_RULES = ("tokens", "flops", "tokens_per_param")


def load_grid(grid_yaml: str | Path) -> dict[str, Any]:
    """Parse and check a grid file; paths stay as written (resolved by `plan_cells`)."""
    path = Path(grid_yaml)
    try:
        grid = load_yaml(path.read_text())
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
    names = [lr_treatment(entry, f"{path}: lr_schedules[{i}]")[0] for i, entry in enumerate(schedules or [])]
    if len(set(names)) < len(names):
        raise CurriscaleError(f"{path}: 'lr_schedules' names a schedule twice ({names})")
    budget = grid["budget"]
    if not isinstance(budget, dict) or len(budget) != 1 or next(iter(budget)) not in BUDGET_RULES:
        raise CurriscaleError(
            f"{path}: 'budget' is one of {{tokens: N}}, {{flops: F}}, {{tokens_per_param: R}}"
        )
    rule, amount = next(iter(budget.items()))
    grid["budget"] = {rule: _positive_number(amount, f"{path}: budget.{rule}")}
    return grid


def _positive_number(value: Any, where: str) -> float | int:
    """A budget amount, checked: a finite number above 0 (`4.78e12` is one: see `yaml12`)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise CurriscaleError(f"{where}: must be a positive number, got {value!r}")
    return value


def grid_tokenizer(grid: dict, base: Path, out_dir: Path) -> Path:
    """The one tokenizer of the grid, written to `out_dir/tokenizer.json` on first use."""
    target = out_dir / "tokenizer.json"
    if not target.exists():
        spec = str(grid.get("tokenizer", "bytes"))
        spec = spec if spec == "bytes" or spec.startswith("bpe:") else str(base / spec)
        save_tokenizer(tokenizer_from_spec(spec, [base / m for m in grid["manifests"].values()]), target)
    return target


def _budget(
    rule: str,
    amount: float,
    fresh: GPTConfig,
    small: GPTConfig | None = None,
    at: float = 1.0,
    extra: int = 0,
) -> dict:
    """TrainConfig budget fields for a cell; a grow plan spends `at` of its tokens on `small`.

    Equal compute for a grow plan: T tokens cost at * T * f_small + (1 - at) * T * f_grown FLOPs,
    so T = F / (at * f_small + (1 - at) * f_grown); f_grown includes `extra` per token (a
    distillation teacher's forward pass).
    """
    if rule == "tokens":
        return {"budget_tokens": int(amount)}
    if rule == "tokens_per_param":
        return {"budget_tokens": int(amount * fresh.n_params())}
    if small is None:
        return {"budget_flops": float(amount)}
    per_token = at * small.flops_per_token() + (1 - at) * (fresh.flops_per_token() + extra)
    return {"budget_tokens": int(amount / per_token)}


def lr_treatment(entry: Any, where: str) -> tuple[str, dict[str, Any]]:
    """An `lr_schedules` entry as (its name, the cell's `TrainConfig` fields for it).

    A string is a kind (`{"lr_schedule": kind}`); a mapping `{name, kind, params, ema_decay}` is a
    named treatment: `warmup_fraction` / `min_lr_ratio` become the TrainConfig fields, the other
    parameters `lr_params`.
    """
    if isinstance(entry, str):
        return entry, {"lr_schedule": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise CurriscaleError(f"{where}: a schedule kind, or a mapping with a string 'name' and a 'kind'")
    unknown = sorted(set(entry) - {"name", "kind", "params", "ema_decay"})
    if unknown:
        raise CurriscaleError(f"{where}.{unknown[0]}: unknown field (allowed: name, kind, params, ema_decay)")
    spec = check_lr_schedule({"kind": entry.get("kind"), "params": entry.get("params") or {}}, where)
    params = dict(spec["params"])
    fields: dict[str, Any] = {"lr_schedule": spec["kind"]}
    fields |= {key: params.pop(key) for key in ("warmup_fraction", "min_lr_ratio") if key in params}
    if params:
        fields["lr_params"] = params
    if "ema_decay" in entry:
        fields["ema_decay"] = entry["ema_decay"]
    return entry["name"], fields


def _schedules(grid: dict, base: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each curriculum's LR schedules as (name, the cell's `TrainConfig` fields for it).

    The grid's `lr_schedules` list when it has one (see `lr_treatment`); else the manifest's paired
    schedule (cosine if none), left to the trainer to read (`lr_schedule=None`) so config.json
    records its source.
    """
    listed = grid.get("lr_schedules")
    if listed is not None:
        treatments = [lr_treatment(entry, "lr_schedules") for entry in listed]
        return {curriculum: treatments for curriculum in grid["manifests"]}
    paired = {c: manifest_lr_schedule(base / m) for c, m in grid["manifests"].items()}
    return {c: [(lr["kind"] if lr else "cosine", {"lr_schedule": None})] for c, lr in paired.items()}


def _with_treatment(common: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The grid's common TrainConfig fields with an LR treatment's on top (`lr_params` merged)."""
    merged = {**common, **fields}
    if "lr_params" in fields:
        merged["lr_params"] = {**common.get("lr_params", {}), **fields["lr_params"]}
    return merged


def plan_cells(grid_yaml: str | Path, out_dir: str | Path) -> list[Cell]:
    """Every cell of the grid with its full TrainConfig (run dirs under `out_dir/cells/`).

    With a `growth` list (e.g. `[{from: s1, grow: depth, at: 0.5}]`), each entry adds, per manifest,
    schedule and seed, a first-stage cell (`<from>-<grow>-...-stage1`: the small model on the first
    `at` of the plan) and a grown cell (`<from>+<grow>-...`) continuing it at equal total compute.
    """
    grid_path, out_dir = Path(grid_yaml), Path(out_dir)
    grid, base = load_grid(grid_path), grid_path.parent
    growth = [
        GrowthPlan.parse(entry, f"{grid_path}: growth[{i}]")
        for i, entry in enumerate(grid.get("growth") or [])
    ]
    resources = _grid_resources(grid, growth, grid_path)
    train_options = dict(grid.get("train", {}))
    device = train_options.pop("device", None)  # when absent, each cell's resources decide: cpu or cuda
    seq_len = train_options.get("seq_len", 128)
    for size in grid["sizes"]:  # an unknown size fails before anything is written into out_dir
        GPTConfig.from_size(size, BYTE_ALPHABET + 1, seq_len)
    tokenizer = grid_tokenizer(grid, base, out_dir)
    vocab_size = load_tokenizer(tokenizer).get_vocab_size()
    rule, amount = next(iter(grid["budget"].items()))
    lrs = grid.get("lr", TrainConfig.lr)
    common = {
        "eval_path": str(base / grid["eval"]) if grid.get("eval") else None,
        "ood_path": str(base / grid["ood"]) if grid.get("ood") else None,
        "tokenizer": str(tokenizer),
        "token_cache": str(out_dir / "token_cache"),  # one tokenization shared by every cell and rank
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
        name, needs = f"{size}-{curriculum}-{schedule}-seed{seed}", resources.for_size(size)
        config = TrainConfig(
            out=_cell_dir(out_dir, name, grid_path), manifest=str(base / manifest), size=size,
            lr=float(lrs[size] if isinstance(lrs, dict) else lrs), seed=int(seed), device=device or needs.device,
            **_budget(rule, amount, model), **_with_treatment(common, option),
        )  # fmt: skip
        cells.append(Cell(name, size, curriculum, schedule, int(seed), config, resources=needs))
    for plan, ((curriculum, manifest), (schedule, option), seed) in itertools.product(growth, axes):
        small_size, at = plan.start, plan.at
        small = GPTConfig.from_size(small_size, vocab_size, seq_len)
        big, extra = plan.second_stage(small)  # extra: a distillation teacher's forward FLOPs per token
        lr = float(lrs[small_size] if isinstance(lrs, dict) else lrs)
        first = f"{small_size}-{plan.tag}-{curriculum}-{schedule}-seed{seed}-stage1"
        needs = resources.for_size(small_size)
        stage1 = TrainConfig(
            out=_cell_dir(out_dir, first, grid_path), manifest=str(base / manifest), size=small_size,
            lr=lr, seed=int(seed), stop_fraction=at, device=device or needs.device,
            **_budget(rule, amount, big, small, at, extra), **_with_treatment(common, option),
        )  # fmt: skip
        cells.append(
            Cell(first, small_size, curriculum, schedule, int(seed), stage1, indexed=False, resources=needs)
        )
        grown_size = plan.label
        name, needs = f"{grown_size}-{curriculum}-{schedule}-seed{seed}", resources.for_size(grown_size)
        options = {k: v for k, v in common.items() if k != "tokenizer"}
        fields = {**_with_treatment(options, option), **plan.second_stage_fields(stage1.out)}
        grown = TrainConfig(
            out=_cell_dir(out_dir, name, grid_path), lr=float(lrs[plan.lr_size] if isinstance(lrs, dict) else lrs),
            seed=int(seed), device=device or needs.device, **fields,
        )  # fmt: skip
        cells.append(Cell(name, grown_size, curriculum, schedule, int(seed), grown, stage=1, resources=needs))
    return plan_external(grid, grid_path, out_dir, cells)


def _cell_dir(out_dir: Path, name: str, grid_path: Path) -> str:
    """A cell's run folder; its name is made of the grid file's keys, so it must be one safe name."""
    return str(out_dir / "cells" / check_name(name, f"{grid_path}: cell name"))


def _grid_resources(grid: dict, growth: list[GrowthPlan], grid_path: Path) -> GridResources:
    """The grid's `resources` section, checked against the sizes it trains (grown ones included)."""
    sizes = [*grid["sizes"], *(plan.start for plan in growth), *(plan.label for plan in growth)]
    return parse_resources(grid.get("resources"), sizes, str(grid_path))
