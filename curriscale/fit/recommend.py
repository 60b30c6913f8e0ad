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

Curriculum progression per size (`progression`): at every size of the grid, the arm (curriculum and
LR schedule) that pays most over the static mix, kept only when the 95% interval of its speedup over
the seeds lies above 1 and its final eval loss is lower (with one seed, where there is no interval,
the point estimates decide and the entry says so); else the static mix, with the best arm's
interval showing why. Each entry carries the chosen curriculum's pacing and its speed (the warmup
fraction: the share of training before the schedule settles), read from its manifest, so a grid
that crosses pacing speeds (e.g. warmup fractions) shows which speed each size wants. The decision
at the target size records this table (`progression`) and the interval of the speedup trend there
(`speedup_interval`: a line in (log N, log speedup) weighted by each size's interval).

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
    interval_arm = (chosen, chosen_lr) if chosen_lr is not None else _best_arm(trend)
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
        "speedup_interval": _trend_interval(comparison["cells"], interval_arm, size),
        "progression": progression(fits, comparison, pacings),
        "extrapolated": outside is not None,
        "grid_sizes": sizes,
        "warnings": [outside] if outside else [],
    }


def progression(fits: dict, comparison: dict, pacings: dict[str, dict] | None = None) -> list[dict]:
    """The curriculum and pacing speed each grid size should use, with the interval behind it.

    Args:
        fits, comparison: the JSON of fits.json and comparison.json.
        pacings: curriculum -> {"pacing": {kind, params}, "warmup_fraction"} (`curriculum_pacings`).

    Returns:
        One entry per size (ascending): `curriculum` (the baseline when no arm clearly pays),
        `no_curriculum`, `lr_schedule`, `pacing`, `warmup_fraction`, `speedup` with `speedup_ci`
        and `eval_loss_diff` with `eval_loss_diff_ci` of the chosen arm (for the static mix: of the
        best arm, the evidence that it does not pay), `clear` (its interval excludes no effect),
        `basis` in words and `arms` (how many arms were compared there).
    """
    baseline = comparison.get("baseline")
    by_size: dict[int, list[dict]] = {}
    for cell in comparison.get("cells", []):
        by_size.setdefault(int(cell["non_embedding_params"]), []).append(cell)
    out = []
    for n, cells in sorted(by_size.items()):
        ranked = sorted(cells, key=lambda c: (-_finite(c.get("speedup")), c["curriculum"], c["lr_schedule"]))
        paying = [c for c in ranked if _pays(c)]
        best = paying[0] if paying else ranked[0]
        evidence = _evidence(best)
        name = best["curriculum"] if paying else baseline
        entry = {
            "size": best.get("size"),
            "non_embedding_params": n,
            "curriculum": name,
            "no_curriculum": not paying,
            "lr_schedule": best["lr_schedule"] if paying else _best_baseline_schedule(cells),
            **_pacing_of(name, fits, pacings),
            "best_arm": {"curriculum": best["curriculum"], "lr_schedule": best["lr_schedule"]},
            **evidence,
            "arms": len(cells),
        }
        entry["basis"] = _progression_basis(entry, paying)
        out.append(entry)
    return out


def curriculum_pacings(fits_dir: str | Path, fits: dict) -> dict[str, dict]:
    """Each curriculum's pacing and warmup fraction from its manifest (those that can be read)."""
    out = {}
    for name in fits.get("curricula", {}):
        path = manifest_path(fits_dir, fits, name)
        if path is None or not path.is_file():
            continue
        try:
            progression = _progression(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out[name] = {"pacing": progression["pacing"], "warmup_fraction": progression["warmup_fraction"]}
    return out


def _finite(value) -> float:
    return float(value) if value is not None and np.isfinite(value) else -np.inf


def _pays(cell: dict) -> bool:
    """The arm pays: its speedup interval lies above 1 (the point above 1 without an interval) and
    its final eval loss is lower than the static mix's."""
    low = (cell.get("speedup_ci") or [None])[0]
    speedup = low if low is not None else cell.get("speedup")
    diff = cell.get("effects", {}).get("eval_loss", {}).get("diff")
    return speedup is not None and speedup > 1 and (diff is None or diff < 0)


def _evidence(cell: dict) -> dict:
    loss = cell.get("effects", {}).get("eval_loss", {})
    speedup_ci = list(cell.get("speedup_ci") or [None, None])
    diff_ci = list(loss.get("ci") or [None, None])
    clear = None
    if speedup_ci[0] is not None:
        clear = speedup_ci[0] > 1 or speedup_ci[1] < 1
    return {
        "speedup": cell.get("speedup"),
        "speedup_ci": speedup_ci,
        "eval_loss_diff": loss.get("diff"),
        "eval_loss_diff_ci": diff_ci,
        "clear": clear,
    }


def _best_baseline_schedule(cells: list[dict]) -> str | None:
    """The LR schedule under which the static mix ends with the lowest eval loss at this size."""
    losses = {
        c["lr_schedule"]: c["effects"]["eval_loss"]["baseline"]
        for c in cells
        if "eval_loss" in c.get("effects", {})
    }
    schedules = sorted({c["lr_schedule"] for c in cells})
    return min(losses, key=losses.get) if losses else (schedules[0] if len(schedules) == 1 else None)


def _pacing_of(name: str | None, fits: dict, pacings: dict[str, dict] | None) -> dict:
    if pacings and name in pacings:
        return dict(pacings[name])
    kind = fits.get("curricula", {}).get(name, {}).get("pacing_kind")
    return {"pacing": {"kind": kind, "params": None}, "warmup_fraction": 0.0 if kind == "static" else None}


def _progression_basis(entry: dict, paying: list[dict]) -> str:
    best, speedup, ci = entry["best_arm"], entry["speedup"], entry["speedup_ci"]
    arm = f"{best['curriculum']} ({best['lr_schedule']})"
    interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci[0] is not None else " (no interval: one seed)"
    figure = f"speedup {speedup:.2f}x{interval}" if speedup is not None else "no speedup defined"
    if paying:
        return f"{arm} pays: {figure} over the static mix"
    return f"no arm clearly pays; the best, {arm}: {figure}"


def _best_arm(trend: dict[tuple[str, str], float]) -> tuple[str, str] | None:
    return max(trend, key=trend.get) if trend else None


def _trend_interval(cells: list[dict], arm: tuple[str, str] | None, size: float) -> dict | None:
    """The speedup of `arm` at `size` from a weighted line in (log N, log speedup), with its 95% interval.

    Each size's weight is 1 / variance of its log speedup, read from its interval (the interval's
    width over 2 x 1.96); without intervals at two sizes or more there is no interval (None).
    """
    if arm is None:
        return None
    x, y, var = [], [], []
    for cell in cells:
        if (cell["curriculum"], cell["lr_schedule"]) != arm:
            continue
        ci = cell.get("speedup_ci") or [None, None]
        if cell.get("speedup") and cell["speedup"] > 0 and ci[0] and ci[1] and ci[1] > ci[0] > 0:
            x.append(np.log(cell["non_embedding_params"]))
            y.append(np.log(cell["speedup"]))
            var.append(((np.log(ci[1]) - np.log(ci[0])) / (2 * 1.96)) ** 2)
    if len(set(x)) < 2:
        return None
    design = np.column_stack([np.ones(len(x)), x])
    weights = np.diag(1 / np.asarray(var))
    covariance = np.linalg.inv(design.T @ weights @ design)
    coef = covariance @ design.T @ weights @ np.asarray(y)
    at = np.array([1.0, np.log(size)])
    mean, se = float(at @ coef), float(np.sqrt(at @ covariance @ at))
    return {
        "curriculum": arm[0],
        "lr_schedule": arm[1],
        "speedup": float(np.exp(mean)),
        "ci": [float(np.exp(mean - 1.96 * se)), float(np.exp(mean + 1.96 * se))],
        "sizes": len(set(x)),
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
