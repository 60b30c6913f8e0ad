"""Curriculum progression per size: which arm each of the grid's sizes should train, and why.

At every size of the grid, the arm (curriculum and LR schedule) that pays most over the static mix
is kept only when the 95% interval of its speedup over the seeds lies above 1 and its final eval
loss is lower (with one seed, where there is no interval, the point estimates decide and the entry
says so); else the static mix, with the best arm's interval showing why. Each entry carries the
chosen curriculum's pacing and its speed (the warmup fraction: the share of training before the
schedule settles), read from its manifest, so a grid that crosses pacing speeds (e.g. warmup
fractions) shows which speed each size wants.
"""

from __future__ import annotations

import numpy as np


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
        entry["basis"] = _basis(entry, paying)
        out.append(entry)
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
    """An arm's speedup and eval-loss difference with their intervals; `clear` if one excludes 1."""
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
    """A curriculum's pacing and warmup fraction; without its manifest, the kind fits.json records."""
    if pacings and name in pacings:
        return dict(pacings[name])
    kind = fits.get("curricula", {}).get(name, {}).get("pacing_kind")
    return {"pacing": {"kind": kind, "params": None}, "warmup_fraction": 0.0 if kind == "static" else None}


def _basis(entry: dict, paying: list[dict]) -> str:
    """Why the entry chose what it did, in one sentence."""
    best, speedup, ci = entry["best_arm"], entry["speedup"], entry["speedup_ci"]
    arm = f"{best['curriculum']} ({best['lr_schedule']})"
    interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci[0] is not None else " (no interval: one seed)"
    figure = f"speedup {speedup:.2f}x{interval}" if speedup is not None else "no speedup defined"
    if paying:
        return f"{arm} pays: {figure} over the static mix"
    return f"no arm clearly pays; the best, {arm}: {figure}"
