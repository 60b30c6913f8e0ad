"""Recommend a curriculum for a model size from a grid's fits, and write it as a manifest.

The decision at a target size N rests on two extrapolations of `curriscale fit RUNS`
(`curriscale.fit.extrapolate`): each arm's power law of final eval loss, and the trend of its
speedup over the static mix with size. A curriculum is recommended over the static mix only when
both agree that it pays at N (predicted speedup above 1 and predicted loss below the static mix's,
where each is available); among those the largest predicted speedup wins. Otherwise the answer is
"no curriculum": the static mix. The LR schedule is the one whose chosen arm has the lowest
predicted loss (without loss predictions: the chosen arm's, or the grid's only schedule). Only
progressions the grid actually tested are recommended: pacing, warmup fraction and starting tier
are those of the chosen curriculum's manifest, so nothing untested is invented.

The decision also records the per-size table (`progression`, from `curriscale.fit.progression`) and
the interval of the speedup trend at N (`speedup_interval`). It says what it rests on: `basis` in
words, `predicted_eval_loss_missing` with the reason for every arm whose power law could not be
fitted (too few sizes or seeds), and `warnings`, e.g. how far N lies outside the grid's sizes.

Output paths. A manifest's file paths are relative to its own folder and may not leave it. So the
recommended manifest is written beside the tiers when `out` is in the source manifest's folder;
otherwise the tier (and rejected) files are hard-linked, or copied where links are impossible, into
`out`'s folder under the same relative paths. Either way the written manifest is self-contained and
valid, and its `recommendation` field records the decision, the evidence and the source manifest
by name and sha256 (no path: the manifest's paths stay inside its folder).
"""

from __future__ import annotations

import json
from pathlib import Path

from curriscale.curricula.manifest import load_manifest, validate_manifest
from curriscale.errors import CurriscaleError
from curriscale.fit.extrapolate import best_arm, extrapolation, predict_power, speedup_trend, trend_interval
from curriscale.fit.manifests import carry_files, curriculum_pacings, manifest_pacing, manifest_path
from curriscale.fit.progression import progression
from curriscale.io import atomic_write_json, sha256_file

# Callers import these from here (the study's results, the tests): they keep working.
__all__ = [
    "curriculum_pacings",
    "decide",
    "extrapolation",
    "manifest_path",
    "predict_power",
    "progression",
    "recommend_curriculum",
    "speedup_trend",
]


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
    decision = decide(fits, comparison, float(size), pacings=curriculum_pacings(fits_dir, fits))
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
    decision |= manifest_pacing(manifest) | {"source_manifest": provenance}
    out = Path(out)
    if out.resolve() == source.resolve():
        raise CurriscaleError(f"{out}: refusing to overwrite the grid's own manifest; choose another --out")
    if out.parent.resolve() != source.parent.resolve():
        carry_files(manifest, source.parent, out.parent)
    manifest["recommendation"] = decision
    chosen, paired = decision.get("lr_schedule"), manifest.get("lr_schedule") or {}
    if chosen and paired.get("kind") != chosen:
        # A trainer follows the manifest's paired schedule: make it the one the grid found best.
        manifest["lr_schedule"] = {"kind": chosen, "params": {}}
    validate_manifest(manifest, source=str(out))
    atomic_write_json(out, manifest)
    return manifest


def decide(fits: dict, comparison: dict, size: float, pacings: dict[str, dict] | None = None) -> dict:
    """The recommendation at `size` from the fits' and comparison's JSON (see the module docstring).

    `pacings` maps a curriculum to its pacing and warmup fraction (`curriculum_pacings`), for the
    per-size `progression`; without it the progression names the pacing kind fits.json records.
    """
    # A grid of one curriculum has no baseline: that curriculum is the only candidate.
    baseline = comparison["baseline"] or next(iter(fits["curricula"]))
    predicted = {
        (row["curriculum"], row["lr_schedule"]): predict_power(row["fit"], size)
        for row in fits["scaling"]
        if row["metric"] == "eval_loss" and "params" in row["fit"]
    }
    trend = speedup_trend(comparison["cells"], size)
    chosen, chosen_lr = _choose(comparison, baseline, predicted, trend)
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
    interval_arm = (chosen, chosen_lr) if chosen_lr is not None else best_arm(trend)
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
        "speedup_interval": trend_interval(comparison["cells"], interval_arm, size),
        "progression": progression(fits, comparison, pacings),
        "extrapolated": outside is not None,
        "grid_sizes": sizes,
        "warnings": [outside] if outside else [],
    }


def _choose(comparison: dict, baseline: str, predicted: dict, trend: dict) -> tuple[str, str | None]:
    """The arm both extrapolations say pays, with the largest predicted speedup; else the baseline.

    An arm pays when every available prediction agrees: trend speedup above 1, predicted loss below
    the baseline's under the same LR schedule. Returns the curriculum and its LR schedule (None for
    the baseline).
    """
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
    return chosen, chosen_lr


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


def _read(folder: Path, name: str) -> dict:
    """A JSON file of the fits folder, or an error that says how to make it."""
    path = folder / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CurriscaleError(f"{path}: not found (run `curriscale fit RUNS --out {folder}` first)") from None
    except json.JSONDecodeError as error:
        raise CurriscaleError(f"{path}: malformed JSON: {error}") from None
