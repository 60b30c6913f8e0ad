"""Find scorers by name: built-ins, installed plug-ins, or any importable `module:Attr`.

A scorer spec is one of
    name                          a built-in or an entry point of group `curriscale.scorers`
    name:key=value,key=value      the same, with keyword arguments for its constructor
    package.module:Attr           any importable class (or factory) in a module
    package.module:Attr:key=value the same, with keyword arguments

Values are parsed as int, float or bool (`true`/`false`) when they look like one, else kept as
strings. Built-ins are registered by import path, so listing them imports no heavy library
(fastText, torch, spaCy) until a scorer of that kind is actually requested.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from curriscale.errors import CurriscaleError

ENTRY_POINT_GROUP = "curriscale.scorers"
BUILTINS = {
    "text_stats": "curriscale.scorers.text_stats:TextStats",
    "reading_age": "curriscale.scorers.reading_age:ReadingAge",
    "task_type": "curriscale.scorers.task_type:TaskType",
    "model_difficulty": "curriscale.scorers.model_difficulty:ModelDifficulty",
    "parse_depth": "curriscale.scorers.parse_depth:ParseDepth",
    "compression": "curriscale.scorers.compression:Compression",
}


def scorer_paths() -> dict[str, str]:
    """Scorer name -> `module:Attr`, built-ins first, then plug-ins (a plug-in cannot shadow a built-in)."""
    paths = dict(BUILTINS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        paths.setdefault(point.name, point.value)
    return paths


def available_scorers() -> dict[str, type]:
    """Scorer name -> class, for built-ins and installed plug-ins (imports each one)."""
    return {name: load_object(path, f"scorer {name!r}") for name, path in scorer_paths().items()}


def load_object(path: str, what: str) -> Any:
    """Import `module:Attr` (Attr may be dotted); `what` names the culprit in errors."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise CurriscaleError(f"{what}: {path!r} is not of the form package.module:Attr")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise CurriscaleError(f"{what}: cannot import module {module_name!r}: {error}") from error
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CurriscaleError(f"{what}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def parse_value(text: str) -> int | float | bool | str:
    """`3` -> 3, `0.5` -> 0.5, `true`/`false` -> bool, anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_params(text: str, spec: str) -> dict[str, Any]:
    """`key=value,key=value` -> dict (values via `parse_value`)."""
    params: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CurriscaleError(f"scorer {spec!r}: parameter {item!r} is not key=value")
        params[key.strip()] = parse_value(value.strip())
    return params


def split_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """A spec -> (registered name or `module:Attr`, parameters)."""
    head, _, rest = spec.partition(":")
    attr, _, params = rest.partition(":")
    if attr and "=" not in attr:  # module:Attr[:params]; a name's parameters always contain "="
        return f"{head}:{attr}", parse_params(params, spec)
    return head, parse_params(rest, spec)


def get_scorer(spec: str) -> Any:
    """Build a scorer from a spec (see module docstring).

    Raises:
        CurriscaleError: unknown name (the message lists the available ones), import failure, or
            parameters the scorer does not accept.
    """
    target, params = split_spec(spec.strip())
    if ":" in target:
        factory = load_object(target, f"scorer {spec!r}")
    else:
        paths = scorer_paths()
        if target not in paths:
            raise CurriscaleError(f"unknown scorer {target!r}; available: {', '.join(sorted(paths))}")
        factory = load_object(paths[target], f"scorer {target!r}")
    try:
        return factory(**params)
    except TypeError as error:
        raise CurriscaleError(f"scorer {spec!r}: bad parameters {params}: {error}") from error


def describe_scorers() -> list[dict[str, Any]]:
    """One row per available scorer: name, path, kind (built-in / plug-in), version, columns.

    Each scorer is built with default parameters to ask for its columns; one that cannot be
    (a plug-in needing arguments, a missing dependency) is listed with the reason instead.
    """
    rows = []
    for name, path in scorer_paths().items():
        row: dict[str, Any] = {
            "name": name,
            "path": path,
            "kind": "built-in" if name in BUILTINS else "plug-in",
        }
        try:
            scorer = get_scorer(name)
            columns = {column: str(dtype) for column, dtype in scorer.columns().items()}
            row |= {"version": str(getattr(scorer, "version", "?")), "columns": columns, "error": None}
        except Exception as error:  # a broken plug-in must not hide the others from the listing
            row |= {"version": "?", "columns": {}, "error": f"{type(error).__name__}: {error}"}
        rows.append(row)
    return rows
