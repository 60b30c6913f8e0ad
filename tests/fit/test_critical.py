"""Critical points on grids with a planted critical size per level and a known learning speed."""

import numpy as np
import pytest
from grid_factory import final_accuracy, tau, write_grid

from curriscale.fit.critical import critical_sizes, steepest_step, threshold_steps
from curriscale.fit.runs import load_grid

CRITICAL = {1: 3e4, 2: 1.5e5}
SIZES = (8e3, 16e3, 32e3, 64e3, 128e3, 256e3, 512e3)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = write_grid(
        tmp_path_factory.mktemp("grid"), sizes=SIZES, curricula={"static-mix": "static"}, critical=CRITICAL
    )
    return load_grid(root)


def test_threshold_steps_fall_with_size(grid):
    table = threshold_steps(grid)
    level1 = table[table["level"] == 1].sort_values("non_embedding_params")
    assert len(level1) == len(SIZES) and len(table) == 2 * len(SIZES)
    assert (level1["n_seeds"] == 3).all()
    # The threshold is half the best seed-mean final accuracy on the level, shared by all sizes.
    best = final_accuracy(max(SIZES), CRITICAL[1]) * (1 - np.exp(-1e6 / tau(max(SIZES))))
    assert level1["threshold"].iloc[0] == pytest.approx(best / 2, abs=0.01)
    reached = level1[level1["reached"] == 3]
    assert list(reached["non_embedding_params"]) == [32000, 64000, 128000, 256000, 512000]
    assert (level1.loc[level1["reached"] == 0, "step"].isna()).all()
    assert reached["tokens"].is_monotonic_decreasing
    # Where the crossing falls between checkpoints it matches the planted curve within interpolation error.
    n = 64e3
    threshold = level1["threshold"].iloc[0]
    truth = -tau(n) * np.log(1 - threshold / final_accuracy(n, CRITICAL[1]))
    assert reached.loc[reached["non_embedding_params"] == n, "tokens"].item() == pytest.approx(
        truth, rel=0.15
    )


def test_steepest_step_finds_planted_sizes(grid):
    assert steepest_step(np.array([1.0, 10.0, 100.0]), np.array([0.0, 0.1, 0.9])) == pytest.approx(
        np.sqrt(1000)
    )
    assert steepest_step(np.array([1.0]), np.array([0.5])) is None
    assert steepest_step(np.array([1.0, 10.0, 100.0]), np.zeros(3)) is None
    entries = critical_sizes(grid, bootstrap=0, min_sizes=99)
    errors = {e["level"]: e for e in entries if e["quantity"] == "error"}
    for level, planted in CRITICAL.items():
        assert errors[level]["steepest_step"] == pytest.approx(planted, rel=0.5)
        assert errors[level]["bnsl"] == {"skipped": f"{len(SIZES)} sizes; a break fit needs 99"}
        assert errors[level]["sizes"] == [int(n) for n in SIZES]


def test_bnsl_break_locates_planted_critical_size(grid):
    entries = critical_sizes(grid, bootstrap=0)
    errors = {e["level"]: e for e in entries if e["quantity"] == "error"}
    for level, planted in CRITICAL.items():
        fit = errors[level]["bnsl"]
        assert "skipped" not in fit, fit
        assert len(fit["breaks"]) == 1
        # The logistic's centre sits where the flat error turns into a power-law decline.
        assert np.log(fit["breaks"][0]) == pytest.approx(np.log(planted), abs=np.log(2.0))
