"""Grid fits: planted scaling laws recovered, LR-annealing input, and the three JSON files."""

import json

import numpy as np
import pandas as pd
import pytest
from grid_factory import ALPHA, BETA, BUDGET, B, E, base_loss, write_grid

from curriscale.fit.diagnostics import degeneracy
from curriscale.fit.grid_fit import annealing_data, annealing_fits, chinchilla_fits, fit_grid, scaling_fits
from curriscale.fit.laws import get_law
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
    metrics = good["fit"]["metrics"]
    assert metrics["degenerate"] is False and metrics["degenerate_reason"] is None
    # The decay factor is fixed at the paper's 0.999 and still listed among the parameters.
    assert good["fit"]["params"]["lam"] == 0.999 and "lam" not in good["fit"].get("ci", {})
    # A run that diverges late: no annealing law describes a loss that climbs while the LR decays.
    [diverged] = annealing_fits(annealing_grid(tmp_path / "diverged", diverge_at=0.7), seed=0)
    metrics = diverged["fit"]["metrics"]
    assert metrics["degenerate"] and "fit error" in metrics["degenerate_reason"]


def test_degeneracy_names_parameters_at_their_bounds_and_other_failures():
    law = get_law("lr-annealing", lam=None)  # lam fitted: its bound can be hit
    loss = np.linspace(3.0, 2.0, 10)
    bounds = law.bounds(None, loss)
    theta = law.from_params({"L0": 1.5, "A": 2.0, "C": 0.5, "alpha": 0.5, "lam": 0.0})
    assert degeneracy(law, theta, bounds, 0.01, True) == "lam = 0 is at the bound of its range"
    floor = 1e-6 * loss.min()
    theta = law.from_params({"L0": floor, "A": 2.0, "C": 0.5, "alpha": 0.5, "lam": 0.999})
    assert degeneracy(law, theta, bounds, 0.05, False) == (
        f"L0 = {floor:.3g} is at the bound of its range; fit error 5.0% > 3%; the optimiser did not converge"
    )
    theta = law.from_params({"L0": 1.5, "A": 2.0, "C": 0.5, "alpha": 0.5, "lam": 0.999})
    assert degeneracy(law, theta, bounds, 0.01, True) is None


def test_temporal_law_predicts_each_runs_final_loss_from_its_first_half(tmp_path):
    runs = write_grid(tmp_path / "runs", sizes=SIZES[:3], seeds=(0,), curricula={"static-mix": "static"},
                      steps=40, positions=True)  # fmt: skip
    documents = fit_grid(runs, tmp_path / "fits", bootstrap=0, annealing=False)
    temporal = documents["fits"]["temporal"]
    assert temporal["fraction"] == 0.5 and len(temporal["runs"]) == 3
    for run in temporal["runs"]:
        # Eval checkpoints at steps 5, 10, ..., 40: those up to step 20 are fitted, step 40 predicted.
        assert run["fitted_until_step"] == 20 and run["final_step"] == 40 and run["checkpoints_fitted"] == 4
        assert abs(run["final_loss_error"]) < 0.01 and run["final_positions_error"] < 0.01
        assert run["final_loss_predicted"] == pytest.approx(np.mean(run["final_positions_predicted"]))
        assert run["fit"]["metrics"]["degenerate"] is False
    [cell] = [c for c in temporal["cells"] if c["non_embedding_params"] == int(SIZES[0])]
    assert cell["runs"] == ["static-mix-n12000-cosine-s0"] and cell["mean_abs_final_loss_error"] < 0.01
    # Fitting on the first 10% leaves one checkpoint: the run is listed as skipped, not dropped.
    late = fit_grid(runs, tmp_path / "late", bootstrap=0, annealing=False, temporal_fraction=0.1)
    assert all("needs 3" in r["skipped"] for r in late["fits"]["temporal"]["runs"])
    assert late["fits"]["temporal"]["cells"] == []
