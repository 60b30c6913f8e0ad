"""The curriculum manifest: read, validate and write `manifest.json`.

The manifest is the handshake between the builder and every trainer (ours, or anyone's): it lists
the tier files (relative to its own folder, with row counts and hashes) and the pacing, both as
kind + parameters and as a materialised table of [start, end) intervals with per-tier weights, so a
trainer needs nothing but a JSON parser to follow the curriculum. This module checks a manifest
against the JSON Schema shipped beside it, plus the rules a schema cannot express: version, paths
that stay inside the folder, a schedule that covers [0, total) with weights summing to 1.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json
from curriscale.paths import check_name, inside

FORMAT = "curriscale.manifest"
VERSION = 1
MANIFEST_NAME = "manifest.json"


@lru_cache(maxsize=1)
def manifest_schema() -> dict:
    """The manifest JSON Schema (draft 2020-12) shipped with the package."""
    text = resources.files("curriscale.curricula").joinpath("manifest.schema.json").read_text("utf-8")
    return json.loads(text)


@dataclass
class Manifest:
    """A validated manifest and the folder its relative paths refer to.

    Attributes:
        root: The folder holding `manifest.json`; every file path in `data` is relative to it.
        data: The manifest JSON as a dict.
    """

    root: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def tiers(self) -> list[dict[str, Any]]:
        return self.data["tiers"]

    @property
    def schedule(self) -> list[dict[str, Any]]:
        return self.data["schedule"]

    @property
    def pacing(self) -> dict[str, Any]:
        return self.data["pacing"]

    @property
    def total(self) -> int:
        """The budget the schedule spans, in `pacing.unit` (tokens or steps)."""
        return self.data["pacing"]["total"]

    def tier_files(self, index: int) -> list[Path]:
        """Absolute paths of the Parquet files of tier `index`, in order."""
        return [self.root / f["path"] for f in self.tiers[index]["files"]]

    def weights_at(self, position_fraction: float) -> np.ndarray:
        """Per-tier sampling weights at a point of training.

        Args:
            position_fraction: Progress through the budget in [0, 1]; a trainer with a different
                budget than the manifest's maps its own progress to this fraction.

        Returns:
            A float64 array with one weight per tier, summing to 1.
        """
        position = min(max(float(position_fraction), 0.0), 1.0) * self.total
        starts = [interval["start"] for interval in self.schedule]
        # The last interval is closed at `total`, so progress 1.0 still has weights.
        i = min(int(np.searchsorted(starts, position, side="right")) - 1, len(starts) - 1)
        return np.asarray(self.schedule[max(i, 0)]["weights"], dtype=np.float64)


def load_manifest(path: str | os.PathLike) -> Manifest:
    """Read and validate a manifest.

    Args:
        path: `manifest.json`, or the curriculum folder that contains it.

    Returns:
        The validated `Manifest`.

    Raises:
        CurriscaleError: naming the file and field when the manifest is missing, not JSON, of an
            unknown format/version, fails the schema, has a path escaping its folder, or has an
            inconsistent schedule.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise CurriscaleError(f"{path}: manifest not found")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CurriscaleError(f"{path}: not valid JSON: {error}") from None
    validate_manifest(data, source=str(path))
    root = path.parent.resolve()
    check_paths(data, root, source=str(path))
    return Manifest(root=root, data=data)


def validate_manifest(data: Any, source: str = MANIFEST_NAME) -> None:
    """Check format, version, schema and schedule consistency; raise `CurriscaleError` if bad."""
    import jsonschema

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CurriscaleError(f"{source}: format: not a curriscale manifest (expected {FORMAT!r})")
    if data.get("version") != VERSION:
        raise CurriscaleError(
            f"{source}: version: unsupported manifest version {data.get('version')!r} "
            f"(this curriscale reads version {VERSION})"
        )
    validator = jsonschema.Draft202012Validator(manifest_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise CurriscaleError(f"{source}: {where}: {error.message}")
    _check_schedule(data, source)


def _check_schedule(data: dict, source: str) -> None:
    n_tiers, total = len(data["tiers"]), data["pacing"]["total"]
    if [t["index"] for t in data["tiers"]] != list(range(n_tiers)):
        raise CurriscaleError(f"{source}: tiers: indices must be 0..{n_tiers - 1} in order")
    expected_start = 0
    for i, interval in enumerate(data["schedule"]):
        field = f"{source}: schedule.{i}"
        if interval["start"] != expected_start or interval["end"] <= interval["start"]:
            raise CurriscaleError(f"{field}: intervals must be contiguous [start, end) from 0")
        if len(interval["weights"]) != n_tiers:
            raise CurriscaleError(
                f"{field}.weights: has {len(interval['weights'])} entries, expected {n_tiers}"
            )
        if not math.isclose(sum(interval["weights"]), 1.0, abs_tol=1e-6):
            raise CurriscaleError(f"{field}.weights: must sum to 1 (sums to {sum(interval['weights']):.6g})")
        expected_start = interval["end"]
    if expected_start != total:
        raise CurriscaleError(f"{source}: schedule: ends at {expected_start}, expected pacing.total {total}")


def manifest_files(data: dict) -> list[tuple[str, dict]]:
    """Every file entry in the manifest as (field name, entry): tier shards, then rejects."""
    entries = []
    for tier in data["tiers"]:
        entries += [(f"tiers.{tier['index']}.files.{j}", f) for j, f in enumerate(tier["files"])]
    entries += [(f"rejected.files.{j}", f) for j, f in enumerate(data["rejected"]["files"])]
    return entries


def check_paths(data: dict, root: Path, source: str = MANIFEST_NAME) -> None:
    """Refuse any file path or tier folder that is absolute or leaves the manifest folder (`..`, symlinks).

    Tier names are folder names too (a build writes `tier=NN/`, an hf export `tiers/<name>/`), so each
    is checked both as a name and as a folder of `root`.
    """
    for field, entry in manifest_files(data):
        inside(root, entry["path"], f"{source}: {field}.path")
    for tier in data["tiers"]:
        field = f"{source}: tiers.{tier['index']}.name"
        inside(root, check_name(tier["name"], field), field)


def write_manifest(out_dir: str | os.PathLike, data: dict[str, Any]) -> Manifest:
    """Validate `data` and write it atomically as key-sorted JSON to `out_dir/manifest.json`.

    Returns:
        The written manifest as a `Manifest`.
    """
    root = Path(out_dir).resolve()
    target = root / MANIFEST_NAME
    validate_manifest(data, source=str(target))
    check_paths(data, root, source=str(target))
    atomic_write_json(target, data)
    return Manifest(root=root, data=data)
