"""The "what was compared" figure: each curriculum's pacing schedule and the LR schedules' shapes.

A pacing schedule is read from the manifest the curriculum's first run trained on
(`curriculum_manifest`) and drawn as a stacked area of tier weights over the share of training,
tiers coloured light (easiest) to dark (hardest); the LR schedules come from the first run of each
that logs its learning rate.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from matplotlib import colormaps

from curriscale.fit.report import canvas
from curriscale.fit.runs import Grid, resolve_manifest


def compared(grid: Grid) -> bytes | None:
    """What was compared: each curriculum's pacing schedule, and the LR schedules' shapes.

    One panel per curriculum: the manifest's materialised schedule as a stacked area of tier
    weights over the share of training (what the trainer samples when), tiers coloured easy
    (light) to hard (dark). A last panel: each LR schedule's learning rate relative to its peak
    over the share of training (from the first run logging it). None when no manifest can be read
    and no run logs its learning rate.
    """
    schedules = {name: manifest for name in sorted(grid.runs["curriculum"].unique())
                 if (manifest := curriculum_manifest(grid, name)) is not None}  # fmt: skip
    lr_runs = _lr_runs(grid)
    panels = len(schedules) + (1 if lr_runs else 0)
    if not panels:
        return None
    fig, axes = canvas.figure(1, panels, panel=(2.9, 2.2), top=0.35, bottom=0.95)
    flat = axes[0]
    for ax, (name, manifest) in zip(flat, schedules.items(), strict=False):
        _draw_schedule(ax, manifest)
        kind = manifest.get("pacing", {}).get("kind", "?")
        ax.set_title(f"{name} ({kind})", fontsize=9, color=canvas.colour(grid, name))
        ax.set_xlabel(f"share of training ({manifest.get('pacing', {}).get('unit', 'tokens')})")
        if ax is flat[0]:
            ax.set_ylabel("share of sampled data")
    if schedules:
        count = max(len(m["tiers"]) for m in schedules.values())
        tiers = [canvas.band_patch(_tier_colour(i, count), _tier_label(i, count)) for i in range(count)]
        for handle in tiers:
            handle.set_alpha(1.0)
        fig.legend(handles=tiers, loc="lower center", ncol=min(count, 6), frameon=False, fontsize=8)
    if lr_runs:
        ax = flat[-1]
        for k, (lr, curve) in enumerate(sorted(lr_runs.items())):
            share = curve["tokens"] / curve["tokens"].max()
            ax.plot(
                share,
                curve["lr"] / curve["lr"].max(),
                color="black",
                linestyle=canvas.LINESTYLES[k % 4],
                label=lr,
            )
        ax.set(
            title="LR schedules", xlabel="share of training (tokens)", ylabel="LR / peak LR", ylim=(0, 1.05)
        )
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    return canvas.png(fig)


def _draw_schedule(ax, manifest: dict) -> None:
    """A manifest's schedule as a stacked area of tier weights over the share of training."""
    total = float(manifest["pacing"]["total"]) or 1.0
    xs, weights = [], []
    for interval in manifest["schedule"]:
        for edge in (interval["start"], interval["end"]):
            xs.append(edge / total)
            weights.append(interval["weights"])
    count = len(manifest["tiers"])
    stacked = np.array(weights, float).T
    ax.stackplot(xs, stacked, colors=[_tier_colour(i, count) for i in range(count)], linewidth=0)
    ax.set(xlim=(0, 1), ylim=(0, 1))


def curriculum_manifest(grid: Grid, curriculum: str) -> dict | None:
    """The manifest JSON a curriculum's first run trained on, or None when it cannot be read."""
    run = grid.runs[grid.runs["curriculum"] == curriculum]["run"].iloc[0]
    path = resolve_manifest(grid.configs.get(run, {}), grid.root / run, grid.root)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
        data["schedule"], data["tiers"], data["pacing"]["total"]  # noqa: B018 (checks the keys)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data


def _lr_runs(grid: Grid) -> dict[str, pd.DataFrame]:
    """Per LR schedule, the (tokens, lr) curve of its first run (smallest size, seed) that logs one."""
    if "lr" not in grid.curves:
        return {}
    out = {}
    for lr, runs in grid.runs.sort_values(["non_embedding_params", "seed"]).groupby("lr_schedule"):
        for run in runs["run"]:
            curve = grid.curves.loc[grid.curves["run"] == run, ["tokens", "lr"]].dropna()
            if len(curve) > 1 and curve["lr"].max() > 0:
                out[lr] = curve
                break
    return out


def _tier_colour(i: int, count: int) -> tuple:
    """Tier i of `count`: light (easiest) to dark (hardest)."""
    return colormaps["viridis_r"](0.1 + 0.85 * i / max(count - 1, 1))


def _tier_label(i: int, count: int) -> str:
    suffix = " (easiest)" if i == 0 else " (hardest)" if i == count - 1 and count > 1 else ""
    return f"tier {i}{suffix}"
