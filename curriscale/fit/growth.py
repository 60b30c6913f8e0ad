"""Grown against fresh models at equal compute: does starting small and growing pay?

A grid's `growth` list (`train/grid_plan.py`) adds arms that train a small model on the first part
of the plan, then either grow it (`s2+depth`: more layers, or `+width`) or distil it into a fresh
larger model (`s2+distill-s3`), at the same FLOPs as the fresh cells. This module sets every grown
arm against the fresh size it ends closest to in non-embedding parameters (`s2+distill-s3` against
`s3`, which is the same model; `s2+depth` against the nearest fresh size), per curriculum and LR
schedule, over seeds: the difference of final eval loss and mean accuracy (grown - fresh; a
negative loss difference favours growing) with the bootstrap interval `compare` uses for curricula
(seeds resampled within each arm, widened for few seeds). Each arm also reports its mean final
eval loss and the FLOPs and tokens it spent, so "equal compute" can be checked, not assumed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriscale.fit.compare import mean_difference
from curriscale.fit.runs import Grid

METRICS = ("eval_loss", "mean_accuracy")


def compare_growth(grid: Grid, n_boot: int = 1000, seed: int = 0) -> list[dict]:
    """Every grown arm against its nearest fresh size, per curriculum and LR schedule.

    Args:
        grid: a loaded grid with growth cells (size labels with `+`, e.g. `s2+distill-s3`).
        n_boot: bootstrap resamples of each interval.
        seed: seed of the bootstrap.

    Returns:
        One entry per grown arm: `curriculum`, `lr_schedule`, `size` (the grown label), `how`
        (`depth`, `width` or `distill`), `start` (the small model's size), `fresh` (the size it is
        compared with), `n_seeds`, `flops` and `tokens` (seed means, grown and fresh), and
        `effects`: per metric `{grown, fresh, diff, ci}`. Empty when the grid grows nothing.
    """
    rng = np.random.default_rng(seed)
    runs = grid.runs.join(_spent(grid), on="run")
    fresh = runs[~runs["size"].str.contains("+", regex=False)]
    out = []
    keys = ["curriculum", "lr_schedule", "size"]
    for (curriculum, lr, size), grown in runs[runs["size"].str.contains("+", regex=False)].groupby(keys):
        same_arm = fresh[(fresh["curriculum"] == curriculum) & (fresh["lr_schedule"] == lr)]
        if same_arm.empty:
            continue
        n = float(grown["non_embedding_params"].iloc[0])
        sizes = same_arm.groupby("size")["non_embedding_params"].first()
        nearest = str((np.log(sizes.astype(float)) - np.log(n)).abs().idxmin())
        base = same_arm[same_arm["size"] == nearest]
        start, how = size.split("+", 1)
        effects = {}
        for metric in METRICS:
            if metric in grown and metric in base:
                found = mean_difference(
                    grown[metric].to_numpy(float), base[metric].to_numpy(float), rng, n_boot
                )
                if found is not None:
                    summary = found[0]
                    effects[metric] = {"grown": summary["curriculum"], "fresh": summary["baseline"],
                                       "diff": summary["diff"], "ci": summary["ci"]}  # fmt: skip
        out.append(
            {
                "curriculum": curriculum,
                "lr_schedule": lr,
                "size": size,
                "how": how.split("-", 1)[0],
                "start": start,
                "fresh": nearest,
                "n_seeds": int(len(grown)),
                "flops": {"grown": float(grown["flops"].mean()), "fresh": float(base["flops"].mean())},
                "tokens": {"grown": float(grown["tokens"].mean()), "fresh": float(base["tokens"].mean())},
                "effects": effects,
            }
        )
    return out


def _spent(grid: Grid) -> pd.DataFrame:
    """Each run's FLOPs and tokens at its last logged row (the `flops` column the trainer counts)."""
    last = grid.curves.sort_values("step").groupby("run").last()
    return last.reindex(columns=["flops", "tokens"])  # NaN for a column no run logged
