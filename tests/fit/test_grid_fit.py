"""Grid fits: planted scaling laws recovered, LR-annealing input, and the three JSON files."""

import json

import numpy as np
import pandas as pd
import pytest
from grid_factory import ALPHA, BETA, BUDGET, B, E, base_loss, write_grid

from curriscale.fit.grid_fit import (
    annealing_data,
    annealing_fits,
    chinchilla_fits,
    degeneracy,
    fit_grid,
    scaling_fits,
)
from curriscale.fit.recommend import recommend_curriculum
from curriscale.fit.report import write_report
from curriscale.fit.runs import load_grid
from curriscale.io import sha256_file

SIZES = (12e3, 25e3, 50e3, 100e3, 200e3)


def merged_grid(root, budgets):
    """One grid folder whose runs were trained on several token budgets (one sub-grid per budget)."""
    frames = []
    for budget in budgets:
        sub = f"b{budget}"
        write_grid(
            root / sub,
            curricula={"static-mix": "static"},
            sizes=SIZES,
            seeds=(0, 1),
            critical={1: 3e4},
            steps=20,
            budget=budget,
            rng_seed=budget % 7,
        )
        index = pd.read_parquet(root / sub / "runs.parquet")
        frames.append(index.assign(run_dir=sub + "/" + index["run_dir"]))
    pd.concat(frames).to_parquet(root / "runs.parquet")
    return load_grid(root)


def test_planted_laws_are_recovered(tmp_path):
    grid = merged_grid(tmp_path, (BUDGET, 3 * BUDGET, 9 * BUDGET, 27 * BUDGET))
    [static] = chinchilla_fits(grid, bootstrap=0, seed=0)
    params = static["fit"]["params"]
    assert params["alpha"] == pytest.approx(ALPHA, rel=0.1)
    assert params["beta"] == pytest.approx(BETA, rel=0.1)
    assert params["E"] == pytest.approx(E, rel=0.1)
    # One budget only: the power law in N sees E + B D^-beta as its floor.
    one_budget = grid.runs[grid.runs["final_tokens"] == BUDGET]
    grid.runs = one_budget
    [power] = [r for r in scaling_fits(grid, bootstrap=20, seed=0) if r["metric"] == "eval_loss"]
    fit = power["fit"]
    assert fit["params"]["alpha"] == pytest.approx(ALPHA, rel=0.1)
    assert fit["params"]["E"] == pytest.approx(E + B * BUDGET**-BETA, rel=0.05)
    lo, hi = fit["ci"]["alpha"]
    assert lo < fit["params"]["alpha"] < hi
    band = fit["band"]
    assert len(band["x"]) == len(band["lo"]) == 40
    assert np.all(np.array(band["lo"]) <= np.array(band["pred"])) and np.all(
        np.array(band["pred"]) <= np.array(band["hi"])
    )
    assert band["pred"][0] == pytest.approx(base_loss(SIZES[0], BUDGET), rel=0.01)


def test_annealing_data_fills_every_step():
    curves = pd.DataFrame(
        {"run": ["a"] * 3, "step": [2, 4, 5], "lr": [1.0, 0.5, 0.25], "train_loss": [3.0, 2.0, np.nan]}
    )
    data, interpolated = annealing_data(curves)
    assert interpolated
    assert data["step"].tolist() == [1, 2, 3, 4]
    assert data["lr"].tolist() == [1.0, 1.0, 0.75, 0.5]
    assert np.isnan(data["loss"][[0, 2]]).all() and data["loss"][[1, 3]].tolist() == [3.0, 2.0]


def test_annealing_data_leaves_warmup_losses_out_but_keeps_their_learning_rates():
    steps = np.arange(1, 9)
    lr = np.array([0.25, 0.5, 0.75, 1.0, 0.9, 0.7, 0.4, 0.1])  # warmup to the peak at step 4
    curves = pd.DataFrame({"run": "a", "step": steps, "lr": lr, "train_loss": 10.0 / steps})
    data, _ = annealing_data(curves)
    assert data["lr"].tolist() == lr.tolist()  # S1 still sums the warmup's learning rates
    assert np.isnan(data["loss"][:4]).all() and data["loss"][4:].tolist() == (10.0 / steps[4:]).tolist()


def test_fit_grid_writes_strict_json(tmp_path):
    runs = write_grid(tmp_path / "runs", sizes=SIZES[:3], seeds=(0, 1), critical={1: 3e4}, steps=20)
    documents = fit_grid(runs, tmp_path / "fits", bootstrap=5, annealing=False)
    for name in ("fits", "comparison", "critical_points"):
        text = (tmp_path / "fits" / f"{name}.json").read_text()
        assert "NaN" not in text and "Infinity" not in text
        assert json.loads(text) == documents[name]
    fits = documents["fits"]
    assert fits["baseline"] == "static-mix" and fits["chinchilla"] == [] and fits["lr_annealing"] == []
    assert set(fits["curricula"]) == {"static-mix", "ladder"}
    assert fits["curricula"]["ladder"]["pacing_kind"] == "linear"
    # Paths are relative to the fits folder, so the tree can be copied elsewhere.
    assert fits["runs_dir"] == "../runs"
    assert fits["curricula"]["ladder"]["manifest"] == "../runs/manifests/ladder/manifest.json"
    assert fits["curricula"]["ladder"]["manifest_sha256"] == sha256_file(
        runs / "manifests" / "ladder" / "manifest.json"
    )
    assert str(tmp_path) not in json.dumps(fits)
    assert fits["sizes"] == [int(n) for n in SIZES[:3]]
    assert [(r["curriculum"], r["metric"]) for r in fits["scaling"]] == [
        ("ladder", "eval_loss"), ("ladder", "eval_loss_level_1"),
        ("static-mix", "eval_loss"), ("static-mix", "eval_loss_level_1"),
    ]  # fmt: skip
    # Threshold steps never reached are null in JSON (NaN in the table).
    steps = documents["critical_points"]["threshold_steps"]
    assert any(row["step"] is None for row in steps) and any(row["step"] is not None for row in steps)


def test_grid_of_one_curriculum_is_fitted_reported_and_recommended(tmp_path):
    runs = write_grid(
        tmp_path / "runs", sizes=SIZES[:3], seeds=(0, 1), curricula={"ladder": "linear"}, steps=20
    )
    summary = write_report(runs, tmp_path / "report", bootstrap=5, annealing=False)
    assert summary == "No curriculum comparison: the grid has one curriculum ('ladder'): nothing to compare."
    fits = json.loads((tmp_path / "report" / "fits" / "fits.json").read_text())
    assert fits["baseline"] is None and "params" in fits["scaling"][0]["fit"]
    decision = recommend_curriculum(tmp_path / "report" / "fits", 1e5, tmp_path / "rec.json")[
        "recommendation"
    ]
    assert decision["curriculum"] == "ladder" and not decision["no_curriculum"]
    assert decision["basis"] == "the grid has one curriculum ('ladder'): nothing to compare"


def annealing_grid(root, diverge_at=None):
    """One cell trained under two LR schedules: what one LR-annealing fit covers."""
    runs = write_grid(
        root, sizes=(2e4,), seeds=(0,), curricula={"static-mix": "static"}, critical={1: 3e4}, steps=30,
        lr_schedules=("cosine", "constant"), diverge_at=diverge_at,
    )  # fmt: skip
    return load_grid(runs)


def test_degenerate_annealing_fits_are_flagged(tmp_path):
    grid = annealing_grid(tmp_path / "good")
    [good] = annealing_fits(grid, seed=0)
    assert (
        good["fit"]["metrics"]["degenerate"] is False and good["fit"]["metrics"]["degenerate_reason"] is None
    )
    # A run that diverges late: no annealing law describes a loss that climbs while the LR decays.
    [diverged] = annealing_fits(annealing_grid(tmp_path / "diverged", diverge_at=0.7), seed=0)
    metrics = diverged["fit"]["metrics"]
    assert metrics["degenerate"] and "fit error" in metrics["degenerate_reason"]
    # Parameters at the bounds of their ranges: lam = 0 (no memory), L0 a millionth of the loss.
    data, _ = annealing_data(grid.curves)
    at_bound = {**good["fit"], "params": {**good["fit"]["params"], "lam": 0.0}}
    assert degeneracy(at_bound, data) == "lam = 0 is at the bound of its range"
    floor = 1e-6 * np.nanmin(data["loss"])
    at_bound["params"] |= {"L0": floor}
    assert degeneracy(at_bound, data).startswith(f"L0 = {floor:.3g} is at the bound of its range; lam = 0")
