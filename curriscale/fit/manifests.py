"""The grid's curriculum manifests as the fit sees them: where they are, their pacing, their files.

fits.json records each curriculum's manifest relative to the fits folder (`manifest_path`). From a
manifest the recommendation reads the progression the grid tested (`manifest_pacing`: pacing,
warmup fraction, starting tier), so nothing untested is invented, and `carry_files` brings a chosen
manifest's tier files beside a recommended manifest written in another folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from curriscale.curricula.manifest import manifest_files
from curriscale.errors import CurriscaleError
from curriscale.io import sha256_file


def manifest_path(fits_dir: str | Path, fits: dict, curriculum: str) -> Path | None:
    """The manifest fits.json records for `curriculum`, resolved against the fits folder.

    None when fits.json records none; an absolute path (fits.json files before paths were made
    relative) is returned as is.
    """
    recorded = fits["curricula"][curriculum].get("manifest")
    if not recorded:
        return None
    path = Path(recorded)
    return path if path.is_absolute() else Path(fits_dir) / path


def manifest_pacing(manifest: dict) -> dict:
    """Pacing kind and parameters, warmup fraction and starting tiers of a manifest."""
    pacing, schedule = manifest.get("pacing", {}), manifest.get("schedule", [])
    total = pacing.get("total") or (schedule[-1]["end"] if schedule else None)
    final = schedule[-1]["weights"] if schedule else None
    # Warmup: the part of training before the schedule settles on its final mixture.
    warmup_end = max((i["end"] for i in schedule if i["weights"] != final), default=0)
    first = np.array(schedule[0]["weights"]) if schedule else np.array([])
    return {
        "pacing": {"kind": pacing.get("kind"), "params": pacing.get("params", {})},
        "warmup_fraction": float(warmup_end / total) if total else None,
        "starting_tiers": [int(i) for i in np.flatnonzero(first > 0)],
        "starting_tier": int(np.argmax(first)) if first.size else None,
    }


def curriculum_pacings(fits_dir: str | Path, fits: dict) -> dict[str, dict]:
    """Each curriculum's pacing and warmup fraction from its manifest (those that can be read)."""
    out = {}
    for name in fits.get("curricula", {}):
        path = manifest_path(fits_dir, fits, name)
        if path is None or not path.is_file():
            continue
        try:
            pacing = manifest_pacing(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out[name] = {"pacing": pacing["pacing"], "warmup_fraction": pacing["warmup_fraction"]}
    return out


def carry_files(manifest: dict, source_root: Path, target_root: Path) -> None:
    """Link (or copy) every file the manifest lists from `source_root` to the same place in `target_root`."""
    # load_manifest has already refused paths that leave the manifest folder.
    for _, entry in manifest_files(manifest):
        source, target = source_root / entry["path"], target_root / entry["path"]
        if not source.is_file():
            raise CurriscaleError(f"{source}: listed in the manifest but missing")
        if target.exists():
            if sha256_file(target) != sha256_file(source):
                raise CurriscaleError(f"{target}: exists with different content; choose another --out folder")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(source, target)
