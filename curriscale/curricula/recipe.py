"""Recipes: what makes a document hard, how to cut tiers, how to pace them (YAML or dict).

A recipe is the whole specification of a curriculum build:

```yaml
name: reading-age-ladder
difficulty: reading_age               # or {columns: {reading_age: 0.7, flesch_ease: -0.3}}
tiers: {quantiles: 5}                 # or {edges: [6, 9, 12]} or {column: level, order: [0, 1, 2]}
pacing: {kind: ceiling_raise, params: {warmup_fraction: 0.1}, sampling: cumulative, tier_weights: size}
budget: {tokens: 5000000}             # or {steps: 20000, tokens_per_step: 2048}
lr_schedule: {kind: cosine, params: {warmup_fraction: 0.02}}   # optional: the trainer's default
seed: 0
```

Difficulty is "higher = harder". One column is used as is; a `columns` mapping is a weighted sum of
rank-normalised columns (negative weight for "higher = easier" columns). A categorical ladder
(`tiers.order`) needs no difficulty: a document's tier is its label's position in the order.
The optional `lr_schedule` is written into the manifest; `curriscale train` and `grid` use it when no
schedule is given (kinds and parameters: `LR_SCHEDULE_PARAMS`, as in `curriscale.train.schedules`).
Every malformed field raises `CurriscaleError` naming the file and field.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from curriscale.curricula.pacing import Pacing
from curriscale.errors import CurriscaleError
from curriscale.yaml12 import load_yaml

TOP_LEVEL = ("name", "difficulty", "tiers", "pacing", "budget", "lr_schedule", "seed", "description")
# The LR schedules a recipe can pair with its pacing (`curriscale.train.schedules` runs them) and
# the parameters each one takes; the trainer uses them when no --lr-schedule is given.
_WARMUP_FLOOR = ("warmup_fraction", "min_lr_ratio")
LR_SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {
    "cosine": _WARMUP_FLOOR,
    "wsd": (*_WARMUP_FLOOR, "decay_fraction"),
    "linear": _WARMUP_FLOOR,
    "constant": ("warmup_fraction",),
    "step": ("warmup_fraction", "step_milestones", "step_gamma"),
}


@dataclass(frozen=True)
class Tiers:
    """How documents are cut into tiers: `quantiles` (K equal-count tiers), `edges`, or `order`."""

    kind: str
    quantiles: int | None = None
    edges: list[float] | None = None
    order: list[Any] | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "quantiles":
            return {"quantiles": self.quantiles}
        if self.kind == "edges":
            return {"edges": self.edges}
        return {"column": self.column, "order": self.order}


@dataclass(frozen=True)
class Recipe:
    """A parsed, checked recipe. `difficulty` is {column: weight}; `normalise` is "none" or "rank"."""

    name: str
    difficulty: dict[str, float] | None
    normalise: str
    tiers: Tiers
    pacing: Pacing
    budget: dict[str, int]
    lr_schedule: dict[str, Any] | None = None
    seed: int = 0
    description: str = ""
    source: str = field(default="recipe", compare=False)

    @property
    def total(self) -> int:
        """The budget in the pacing unit (tokens or steps)."""
        return self.budget[self.pacing.unit]

    @property
    def budget_tokens(self) -> int | None:
        """The budget in tokens, if known (steps budgets need `tokens_per_step`)."""
        if "tokens" in self.budget:
            return self.budget["tokens"]
        per_step = self.budget.get("tokens_per_step")
        return None if per_step is None else self.budget["steps"] * per_step

    def to_dict(self) -> dict[str, Any]:
        """The recipe as parsed, defaults filled in (recorded in the manifest)."""
        difficulty = (
            None if self.difficulty is None else {"columns": self.difficulty, "normalise": self.normalise}
        )
        return {
            "name": self.name,
            "description": self.description,
            "difficulty": difficulty,
            "tiers": self.tiers.to_dict(),
            "pacing": {k: v for k, v in self.pacing.to_dict(self.total).items() if k != "total"},
            "budget": self.budget,
            "lr_schedule": self.lr_schedule,
            "seed": self.seed,
        }

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of `to_dict()`."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def with_overrides(self, budget_tokens: int | None = None, seed: int | None = None) -> Recipe:
        """A copy with a token budget and/or seed replaced (the CLI's --budget-tokens/--seed)."""
        recipe = self
        if budget_tokens is not None:
            _positive_int(budget_tokens, f"{self.source}: budget.tokens")
            recipe = replace(
                recipe, budget={"tokens": int(budget_tokens)}, pacing=replace(recipe.pacing, unit="tokens")
            )
        if seed is not None:
            recipe = replace(recipe, seed=int(seed))
        return recipe

    @classmethod
    def from_dict(cls, data: Any, source: str = "recipe") -> Recipe:
        """Parse and check a recipe mapping; `source` prefixes every error message."""
        if not isinstance(data, dict):
            raise CurriscaleError(f"{source}: must be a mapping with keys {', '.join(TOP_LEVEL)}")
        for key in data:
            if key not in TOP_LEVEL:
                raise CurriscaleError(f"{source}: {key}: unknown field (allowed: {', '.join(TOP_LEVEL)})")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise CurriscaleError(f"{source}: name: must be a non-empty string")
        tiers = _parse_tiers(data.get("tiers"), source)
        difficulty, normalise = _parse_difficulty(data.get("difficulty"), tiers, source)
        budget = _parse_budget(data.get("budget"), source)
        pacing = _parse_pacing(data.get("pacing"), budget, source)
        lr = check_lr_schedule(data.get("lr_schedule"), f"{source}: lr_schedule")
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise CurriscaleError(f"{source}: seed: must be an integer")
        return cls(
            name, difficulty, normalise, tiers, pacing, budget, lr, seed, data.get("description", ""), source
        )


def check_lr_schedule(spec: Any, where: str) -> dict[str, Any] | None:
    """Check an `lr_schedule` section (`{kind, params}` or None); return it with `params` filled in.

    The values are kept as written, so a recipe's hash does not change by being checked. Used for
    recipes and, by the trainer, for the section a manifest carries.

    Raises:
        CurriscaleError: an unknown kind or key, or a parameter out of range; names the field.
    """
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
        raise CurriscaleError(f"{where}: must be a mapping with a string 'kind'")
    for key in spec:
        if key not in ("kind", "params"):
            raise CurriscaleError(f"{where}.{key}: unknown field (allowed: kind, params)")
    kind, params = spec["kind"], spec.get("params") or {}
    if kind not in LR_SCHEDULE_PARAMS:
        raise CurriscaleError(
            f"{where}.kind: unknown LR schedule {kind!r} (choose from {', '.join(LR_SCHEDULE_PARAMS)})"
        )
    if not isinstance(params, dict):
        raise CurriscaleError(f"{where}.params: must be a mapping")
    allowed = LR_SCHEDULE_PARAMS[kind]
    for key, value in params.items():
        if key not in allowed:
            raise CurriscaleError(
                f"{where}.params.{key}: unknown parameter for {kind} (allowed: {', '.join(allowed)})"
            )
        _check_lr_param(key, value, f"{where}.params.{key}")
    return {**spec, "params": params}


# Each numeric LR parameter: (accepts the value, what the error says it must be).
_LR_PARAM_RANGES = {
    "warmup_fraction": (lambda x: 0 <= x < 1, "a number in [0, 1)"),
    "min_lr_ratio": (lambda x: 0 <= x <= 1, "a number in [0, 1]"),
    "decay_fraction": (lambda x: 0 < x <= 1, "a number in (0, 1]"),
    "step_gamma": (lambda x: x > 0, "a positive number"),
}


def _check_lr_param(key: str, value: Any, where: str) -> None:
    def number(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)

    if key == "step_milestones":
        ok = isinstance(value, list) and value and all(number(m) and 0 < m < 1 for m in value)
        if not ok or any(a >= b for a, b in zip(value, value[1:], strict=False)):
            raise CurriscaleError(f"{where}: must be a non-empty list of increasing fractions in (0, 1)")
        return
    accepts, what = _LR_PARAM_RANGES[key]
    if not (number(value) and accepts(value)):
        raise CurriscaleError(f"{where}: must be {what}, got {value!r}")


def _positive_int(value: Any, where: str) -> int:
    """`value` as an int >= 1; a whole float counts (`5e6` tokens is how budgets are written)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CurriscaleError(f"{where}: must be an integer >= 1, got {value!r}")
    return value


def _parse_tiers(spec: Any, source: str) -> Tiers:
    where = f"{source}: tiers"
    if not isinstance(spec, dict) or len({"quantiles", "edges", "order"} & set(spec)) != 1:
        raise CurriscaleError(
            f"{where}: must be one of {{quantiles: K}}, {{edges: [...]}}, {{column: C, order: [...]}}"
        )
    if "quantiles" in spec:
        return Tiers("quantiles", quantiles=_positive_int(spec["quantiles"], f"{where}.quantiles"))
    if "edges" in spec:
        edges = spec["edges"]
        numeric = isinstance(edges, list) and edges and all(isinstance(e, int | float) for e in edges)
        if not numeric or any(a >= b for a, b in zip(edges, edges[1:], strict=False)):
            raise CurriscaleError(f"{where}.edges: must be a non-empty list of increasing numbers")
        return Tiers("edges", edges=[float(e) for e in edges])
    order, column = spec["order"], spec.get("column")
    labels_ok = isinstance(order, list) and all(
        isinstance(x, str | int) and not isinstance(x, bool) for x in order
    )
    if not labels_ok or not order or len(set(map(str, order))) != len(order):
        raise CurriscaleError(
            f"{where}.order: must be a non-empty list of distinct labels (strings or integers)"
        )
    if not isinstance(column, str) or not column:
        raise CurriscaleError(f"{where}.column: the label column is required with 'order'")
    return Tiers("order", order=list(order), column=column)


def _parse_difficulty(spec: Any, tiers: Tiers, source: str) -> tuple[dict[str, float] | None, str]:
    where = f"{source}: difficulty"
    if spec is None:
        if tiers.kind != "order":
            raise CurriscaleError(f"{where}: required unless tiers is a categorical 'order'")
        return None, "order"
    if isinstance(spec, str) and spec:
        return {spec: 1.0}, "none"
    columns = spec.get("columns") if isinstance(spec, dict) else None
    if not isinstance(columns, dict) or not columns:
        raise CurriscaleError(f"{where}: must be a column name or {{columns: {{column: weight}}}}")
    for column, weight in columns.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight == 0:
            raise CurriscaleError(f"{where}.columns.{column}: weight must be a non-zero number")
    normalise = spec.get("normalise", "rank")  # "none" (raw weighted sum) round-trips a single column
    if normalise not in ("rank", "none"):
        raise CurriscaleError(f"{where}.normalise: must be 'rank' or 'none', got {normalise!r}")
    if normalise == "rank" and tiers.kind == "edges" and not all(0 <= e <= 1 for e in tiers.edges):
        raise CurriscaleError(
            f"{source}: tiers.edges {tiers.edges} lie outside [0, 1], but difficulty is rank-normalised "
            "(0 = easiest document, 1 = hardest); give edges as rank fractions, or set "
            "difficulty.normalise: none to cut raw values"
        )
    return {str(c): float(w) for c, w in columns.items()}, normalise


def _parse_budget(spec: Any, source: str) -> dict[str, int]:
    where = f"{source}: budget"
    if not isinstance(spec, dict) or len({"tokens", "steps"} & set(spec)) != 1:
        raise CurriscaleError(f"{where}: must be {{tokens: T}} or {{steps: S}}")
    unknown = set(spec) - {"tokens", "steps", "tokens_per_step"}
    if unknown or ("tokens_per_step" in spec and "steps" not in spec):
        raise CurriscaleError(
            f"{where}: unexpected field(s) {', '.join(sorted(unknown)) or 'tokens_per_step'}"
        )
    return {key: _positive_int(value, f"{where}.{key}") for key, value in spec.items()}


def _parse_pacing(spec: Any, budget: dict[str, int], source: str) -> Pacing:
    where = f"{source}: pacing"
    if not isinstance(spec, dict) or "kind" not in spec:
        raise CurriscaleError(f"{where}: must be a mapping with a 'kind'")
    unknown = set(spec) - {"kind", "params", "unit", "sampling", "tier_weights"}
    if unknown:
        raise CurriscaleError(f"{where}.{sorted(unknown)[0]}: unknown field")
    unit = spec.get("unit", "tokens" if "tokens" in budget else "steps")
    if unit not in budget:
        raise CurriscaleError(f"{where}.unit: {unit!r} but the budget is given in {next(iter(budget))}")
    sampling = spec.get("sampling", "cumulative")
    if sampling not in ("cumulative", "exclusive"):
        raise CurriscaleError(f"{where}.sampling: must be 'cumulative' or 'exclusive', got {sampling!r}")
    weights = spec.get("tier_weights", "size")
    explicit = (
        isinstance(weights, list) and weights and all(isinstance(w, int | float) and w >= 0 for w in weights)
    )
    if weights != "size" and not explicit:
        raise CurriscaleError(f"{where}.tier_weights: must be 'size' or a list of non-negative numbers")
    if explicit:
        weights = [float(w) for w in weights]
    if not isinstance(spec.get("params", {}), dict):
        raise CurriscaleError(f"{where}.params: must be a mapping")
    return Pacing.create(
        spec["kind"], spec.get("params"), where=where, unit=unit, sampling=sampling, tier_weights=weights
    )


def _presets() -> dict[str, Any]:
    folder = resources.files("curriscale.curricula").joinpath("presets")
    return {p.name.removesuffix(".yaml"): p for p in folder.iterdir() if p.name.endswith(".yaml")}


def list_presets() -> dict[str, str]:
    """Preset names mapped to their one-line description, sorted by name."""
    return {name: load_recipe(name).description for name in sorted(_presets())}


def load_recipe(name_or_path: str | os.PathLike) -> Recipe:
    """Load a recipe from a YAML file, or a preset shipped with the package by name.

    Raises:
        CurriscaleError: if neither a file nor a preset, not YAML, or malformed (names the field).
    """
    path, presets = Path(name_or_path), _presets()
    if path.is_file():
        text, source = path.read_text("utf-8"), path.name
    elif str(name_or_path) in presets:
        text, source = presets[str(name_or_path)].read_text("utf-8"), f"preset {name_or_path}"
    else:
        raise CurriscaleError(
            f"{name_or_path}: no such recipe file or preset (presets: {', '.join(sorted(presets))})"
        )
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise CurriscaleError(f"{source}: not valid YAML: {error}") from None
    return Recipe.from_dict(data, source=source)
