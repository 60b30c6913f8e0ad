"""Recommend a curriculum for a model size from a grid's fits, and write it as a manifest.

The decision uses two extrapolations to the target size N, both from `curriscale fit RUNS`:

1. the power law of final eval loss against non-embedding parameters, per curriculum and LR
   schedule: predicted final loss at N;
2. the trend of the speedup over the static mix with size: a straight line in (log N, log speedup)
   through the grid's sizes, evaluated at N.

A curriculum is recommended over the static mix only when both agree that it pays at N (predicted
speedup above 1 and predicted loss below the static mix's, where each is available); among those
the largest predicted speedup wins. Otherwise the answer is "no curriculum": the static mix. The
LR schedule is the one whose chosen arm has the lowest predicted loss (without loss predictions:
the chosen arm's, or the grid's only schedule). Only progressions the grid actually tested are
recommended: pacing, warmup fraction and starting tier are those of the chosen curriculum's
manifest, so nothing untested is invented.

The decision says what it rests on: `basis` in words, `predicted_eval_loss_missing` with the reason
for every arm whose power law could not be fitted (too few sizes or seeds), and `warnings`, e.g.
how far N lies outside the grid's sizes, where both extrapolations are guesses.

Output paths. A manifest's file paths are relative to its own folder and may not leave it. So the
recommended manifest is written beside the tiers when `out` is in the source manifest's folder;
otherwise the tier (and rejected) files are hard-linked, or copied where links are impossible, into
`out`'s folder under the same relative paths. Either way the written manifest is self-contained and
valid, and its `recommendation` field records the decision, the evidence and the source manifest
by name and sha256 (no path: the manifest's paths stay inside its folder). fits.json records each
curriculum's manifest relative to the fits folder (`manifest_path`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from curriscale.curricula.manifest import load_manifest, manifest_files, validate_manifest
from curriscale.errors import CurriscaleError
from curriscale.fit.result import FitResult
from curriscale.fit.units import human
from curriscale.io import atomic_write_json, sha256_file


def recommend_curriculum(fits_dir: str | Path, size: float, out: str | Path) -> dict:
    """Pick the best progression for a model of `size` non-embedding parameters; write its manifest.

    Args:
        fits_dir: output folder of `fit_grid` (fits.json, comparison.json).
        size: target non-embedding parameter count.
        out: path of the manifest to write.

    Returns:
        The written manifest (with its `recommendation` field).

    Raises:
        CurriscaleError: missing fits, a non-positive size, or a chosen manifest that cannot be found.
    """
    if not size > 0:
        raise CurriscaleError(f"--size must be a positive parameter count, got {size}")
    fits, comparison = _read(Path(fits_dir), "fits.json"), _read(Path(fits_dir), "comparison.json")
    decision = decide(fits, comparison, float(size))
    name = decision["curriculum"]
    source = manifest_path(fits_dir, fits, name)
    if source is None or not source.is_file():
        recorded = fits["curricula"][name].get("manifest")
        raise CurriscaleError(
            f"manifest of curriculum {name!r} not found: fits.json records {recorded!r} "
            f"(relative to {fits_dir}); was the grid's manifest folder moved apart from the fits?"
        )
    manifest = load_manifest(source).data
    digest = sha256_file(source)
    expected = fits["curricula"][name].get("manifest_sha256")
    if expected and expected != digest:
        decision["warnings"].append(
            f"{source}: changed since the grid was fitted (sha256 {digest[:12]}..., fitted "
            f"{expected[:12]}...): the evidence is about the earlier manifest"
        )
    provenance = {"curriculum": name, "name": manifest.get("name"), "sha256": digest}
    decision |= _progression(manifest) | {"source_manifest": provenance}
    out = Path(out)
    if out.resolve() == source.resolve():
        raise CurriscaleError(f"{out}: refusing to overwrite the grid's own manifest; choose another --out")
    if out.parent.resolve() != source.parent.resolve():
        _carry_files(manifest, source.parent, out.parent)
    manifest["recommendation"] = decision
    chosen, paired = decision.get("lr_schedule"), manifest.get("lr_schedule") or {}
    if chosen and paired.get("kind") != chosen:
        # A trainer follows the manifest's paired schedule: make it the one the grid found best.
        manifest["lr_schedule"] = {"kind": chosen, "params": {}}
    validate_manifest(manifest, source=str(out))
    atomic_write_json(out, manifest)
    return manifest


def decide(fits: dict, comparison: dict, size: float) -> dict:
    """The recommendation at `size` from the fits' and comparison's JSON (see the module docstring)."""
    # A grid of one curriculum has no baseline: that curriculum is the only candidate.
    baseline = comparison["baseline"] or next(iter(fits["curricula"]))
    predicted = {
        (row["curriculum"], row["lr_schedule"]): predict_power(row["fit"], size)
        for row in fits["scaling"]
        if row["metric"] == "eval_loss" and "params" in row["fit"]
    }
    trend = speedup_trend(comparison["cells"], size)
    candidates = []
    for name, lr in sorted({(c["curriculum"], c["lr_schedule"]) for c in comparison["cells"]}):
        s, loss, base_loss = trend.get((name, lr)), predicted.get((name, lr)), predicted.get((baseline, lr))
        gains = []
        if s is not None:
            gains.append(s > 1)
        if loss is not None and base_loss is not None:
            gains.append(loss < base_loss)
        if gains and all(gains):
            candidates.append((s if s is not None else 1.0, name, lr))
    _, chosen, chosen_lr = max(candidates) if candidates else (None, baseline, None)
    arms = {lr: loss for (name, lr), loss in predicted.items() if name == chosen}
    schedules = sorted({row["lr_schedule"] for row in fits["scaling"]})
    lr_schedule = min(arms, key=arms.get) if arms else chosen_lr
    if lr_schedule is None and len(schedules) == 1:
        lr_schedule = schedules[0]
    missing = {
        f"{row['curriculum']}/{row['lr_schedule']}": row["fit"].get("skipped", "no fitted parameters")
        for row in fits["scaling"]
        if row["metric"] == "eval_loss" and "params" not in row["fit"]
    }
    sizes = fits.get("sizes") or sorted({c["non_embedding_params"] for c in comparison["cells"]})
    outside = extrapolation(size, sizes)
    return {
        "size": size,
        "curriculum": chosen,
        "no_curriculum": chosen == comparison["baseline"],
        "baseline": baseline,
        "lr_schedule": lr_schedule,
        "basis": _basis(comparison, predicted, trend, missing),
        "predicted_eval_loss": {f"{n}/{lr}": v for (n, lr), v in sorted(predicted.items())},
        "predicted_eval_loss_missing": missing,
        "predicted_speedup": {f"{n}/{lr}": v for (n, lr), v in sorted(trend.items())},
        "extrapolated": outside is not None,
        "grid_sizes": sizes,
        "warnings": [outside] if outside else [],
    }


def extrapolation(size: float, sizes: list[float]) -> str | None:
    """A warning saying how far `size` lies outside the grid's `sizes`, or None inside them."""
    if not sizes or sizes[0] <= size <= sizes[-1]:
        return None
    if size > sizes[-1]:
        ratio, where, edge = size / sizes[-1], "beyond the largest", sizes[-1]
    else:
        ratio, where, edge = sizes[0] / size, "below the smallest", sizes[0]
    times = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.2g}"
    return f"{human(size)} params is {times}x {where} size in the grid ({human(edge)}): extrapolated"


def _basis(comparison: dict, predicted: dict, trend: dict, missing: dict[str, str]) -> str:
    """What the decision rests on, in one sentence."""
    if not comparison["cells"]:
        return comparison.get("note") or "no curriculum was compared with the static mix"
    if predicted and trend:
        return "the speedup trend and the power laws of final eval loss, extrapolated to the size"
    why = "; ".join(sorted(set(missing.values()))) or "no eval-loss scaling rows"
    if trend:
        return f"the speedup trend alone: no power law of final eval loss was fitted ({why})"
    if predicted:
        return "the power laws of final eval loss alone: no speedup was defined at any size"
    return f"no evidence either way (no speedup defined, no power law fitted: {why}): the static mix"


def predict_power(fit: dict, size: float) -> float:
    """A fitted `power` law's prediction at `size` (through the law's own formula)."""
    return float(FitResult.from_dict(fit).predict({"x": np.array([float(size)])}, columns={"x": "x"})[0])


def speedup_trend(cells: list[dict], size: float) -> dict[tuple[str, str], float]:
    """Speedup at `size` per (curriculum, LR schedule), from a line in (log N, log speedup)."""
    by_arm: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for cell in cells:
        if cell["speedup"] is not None and cell["speedup"] > 0:
            key = (cell["curriculum"], cell["lr_schedule"])
            by_arm.setdefault(key, []).append((np.log(cell["non_embedding_params"]), np.log(cell["speedup"])))
    trend = {}
    for key, points in by_arm.items():
        x, y = np.array(points).T
        slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, y.mean())
        trend[key] = float(np.exp(intercept + slope * np.log(size)))
    return trend


def _progression(manifest: dict) -> dict:
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


def _carry_files(manifest: dict, source_root: Path, target_root: Path) -> None:
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


def _read(folder: Path, name: str) -> dict:
    path = folder / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CurriscaleError(f"{path}: not found (run `curriscale fit RUNS --out {folder}` first)") from None
    except json.JSONDecodeError as error:
        raise CurriscaleError(f"{path}: malformed JSON: {error}") from None
