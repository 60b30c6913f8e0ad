"""The tables of what was trained: the curricula, the sizes and their settings, every run.

Each reads the grid (`runs.load_grid`): run configs, manifests and final metrics.
"""

from __future__ import annotations

import os
from pathlib import Path

from curriscale.fit.report.cells import Table, fmt
from curriscale.fit.runs import Grid, resolve_manifest
from curriscale.fit.units import human


def curricula_table(grid: Grid, fits: dict, schedules: dict) -> Table:
    """One row per curriculum: its role, pacing (kind and parameters), tiers and manifest."""
    headers = ["curriculum", "role", "pacing", "tiers", "difficulty score", "manifest"]
    rows = []
    for name, info in sorted(fits.get("curricula", {}).items()):
        manifest = schedules.get(name) or {}
        run = grid.runs.loc[grid.runs["curriculum"] == name, "run"].iloc[0]
        path = resolve_manifest(grid.configs.get(run, {}), grid.root / run, grid.root)
        # Named from the grid folder's parent, where a project keeps its grid and its curricula.
        where = os.path.relpath(path.resolve(), grid.root.resolve().parent) if path else "not found"
        pacing = manifest.get("pacing") or {"kind": info.get("pacing_kind") or "?"}
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in (pacing.get("params") or {}).items())  # fmt: skip
        difficulty = ", ".join((manifest.get("difficulty") or {}).get("columns", {})) or "-"
        rows.append(
            [
                name,
                "baseline (static mix)" if name == fits.get("baseline") else "curriculum",
                pacing["kind"] + (f" ({params})" if params else ""),
                str(len(manifest["tiers"])) if "tiers" in manifest else "-",
                difficulty,
                Path(where).as_posix(),
            ]
        )
    return headers, rows


def grid_table(grid: Grid) -> Table:
    """One row per size: parameters, LR schedules with peak LRs, budget, seeds and runs finished."""
    headers = ["size", "non-embedding params", "params", "LR schedules (peak LR)", "token budget",
               "tokens trained", "seeds", "runs"]  # fmt: skip
    rows = []
    for n, runs in grid.runs.groupby("non_embedding_params", sort=True):
        configs = [grid.configs.get(r, {}) for r in runs["run"]]
        params = {c.get("n_params") for c in configs} - {None}
        peaks = {}
        for lr, config in zip(runs["lr_schedule"], configs, strict=True):
            peaks.setdefault(lr, set()).add(config.get("lr"))
        schedules = ", ".join(
            lr + (f" ({', '.join(f'{v:g}' for v in sorted(p - {None}))})" if p - {None} else "")
            for lr, p in sorted(peaks.items())
        )
        budgets = sorted({v for v in runs["budget_tokens"] if v == v and v is not None})
        rows.append(
            [
                ", ".join(sorted(runs["size"].astype(str).unique())),
                human(n),
                ", ".join(human(v) for v in sorted(params)) or "-",
                schedules,
                ", ".join(human(v) for v in budgets) or "-",
                ", ".join(human(v) for v in sorted(runs["final_tokens"].unique())),
                ", ".join(str(int(v)) for v in sorted(runs["seed"].unique())),
                str(len(runs)),
            ]
        )
    return headers, rows


def runs_table(grid: Grid) -> Table:
    """Every finished run with its final metrics."""
    columns = ["run", "curriculum", "size", "lr_schedule", "seed", "non_embedding_params", "eval_loss"]
    columns += [c for c in ("mean_accuracy", "ood_eval_loss") if c in grid.runs]
    return columns, [[fmt(v) for v in row] for row in grid.runs[columns].itertuples(index=False)]


def grid_line(grid: Grid) -> str:
    """One line on what the grid holds: curricula, sizes, LR schedules, seeds, budget."""
    runs = grid.runs
    sizes = sorted(runs["non_embedding_params"].unique())
    budgets = sorted({v for v in runs["budget_tokens"] if v == v and v is not None})

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    parts = [
        count(runs["curriculum"].nunique(), "curriculum").replace("curriculums", "curricula"),
        count(len(sizes), "size") + f" ({human(sizes[0])}-{human(sizes[-1])} non-embedding params)"
        if len(sizes) > 1
        else f"1 size ({human(sizes[0])} non-embedding params)",
        count(runs["lr_schedule"].nunique(), "LR schedule"),
        count(runs["seed"].nunique(), "seed"),
    ]
    line = " x ".join(parts) + f": {count(len(runs), 'finished run')}"
    if budgets:
        line += f", {'/'.join(human(b) for b in budgets)}-token budget"
    if grid.skipped:
        line += f"; {len(grid.skipped)} unfinished run(s) left out"
    return line + "."
