"""Grown against fresh at equal compute: the nearest fresh size, the difference and its interval."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curriscale.fit.growth import compare_growth
from curriscale.fit.runs import Grid

# size label -> non-embedding params; s1+depth ends nearest s2, s2+distill-s3 is s3's model.
PARAMS = {"s1": 27_000, "s2": 56_000, "s3": 151_000, "s1+depth": 54_000, "s2+distill-s3": 151_000}
# planted final eval loss per arm (seed noise added): growing by depth helps, distilling hurts.
LOSS = {"s1": 1.20, "s2": 1.00, "s3": 0.90, "s1+depth": 0.95, "s2+distill-s3": 0.97}


def planted_grid(seeds=(0, 1, 2), sizes=PARAMS) -> Grid:
    rng = np.random.default_rng(0)
    runs, curves = [], []
    for size in sizes:
        for seed in seeds:
            run = f"cells/{size}-ladder-cosine-seed{seed}"
            loss = LOSS[size] + rng.normal(0, 0.005)
            runs.append({"run": run, "run_dir": run, "size": size, "curriculum": "ladder", "lr_schedule": "cosine",
                         "seed": seed, "non_embedding_params": PARAMS[size], "eval_loss": loss,
                         "mean_accuracy": 1.0 - loss / 2})  # fmt: skip
            tokens = 4e12 / (6 * PARAMS[size])
            curves += [{"run": run, "step": step, "tokens": tokens * step / 10, "flops": 4e12 * step / 10}
                       for step in range(1, 11)]  # fmt: skip
    return Grid(root=Path("."), runs=pd.DataFrame(runs), curves=pd.DataFrame(curves))


def test_each_grown_arm_meets_its_nearest_fresh_size_with_an_interval():
    found = {entry["size"]: entry for entry in compare_growth(planted_grid(), n_boot=400)}
    assert set(found) == {"s1+depth", "s2+distill-s3"}
    depth, distill = found["s1+depth"], found["s2+distill-s3"]
    assert (depth["how"], depth["start"], depth["fresh"]) == ("depth", "s1", "s2")
    assert (distill["how"], distill["start"], distill["fresh"]) == ("distill", "s2", "s3")
    loss = depth["effects"]["eval_loss"]
    assert loss["diff"] == pytest.approx(-0.05, abs=0.01)
    assert loss["ci"][0] < loss["diff"] < loss["ci"][1] < 0  # growing by depth clearly helps
    loss = distill["effects"]["eval_loss"]
    assert 0 < loss["ci"][0] < loss["diff"] == pytest.approx(0.07, abs=0.01)
    assert distill["effects"]["mean_accuracy"]["diff"] == pytest.approx(-0.035, abs=0.005)
    # Equal compute is reported, not assumed: the last logged FLOPs and tokens of each arm.
    assert distill["flops"] == {"grown": 4e12, "fresh": 4e12}
    assert depth["tokens"]["fresh"] == pytest.approx(4e12 / (6 * 56_000))
    assert depth["n_seeds"] == 3


def test_one_seed_gives_no_interval_and_a_grid_without_growth_gives_nothing():
    [_, entry] = compare_growth(planted_grid(seeds=(0,)), n_boot=100)
    assert entry["effects"]["eval_loss"]["ci"] == [None, None]
    assert compare_growth(planted_grid(sizes=["s1", "s2", "s3"])) == []
