"""Curriculum vs static mix on grids with a planted speedup, crossover and LR interaction."""

import numpy as np
import pytest
from grid_factory import planted_speedup, write_grid

from curriscale.errors import CurriscaleError
from curriscale.fit.compare import compare_grid, crossover_sizes, find_baseline, tokens_to_reach
from curriscale.fit.runs import load_grid

SIZES = (12e3, 25e3, 50e3, 200e3, 400e3)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    root = write_grid(
        tmp_path_factory.mktemp("grid"),
        sizes=SIZES,
        lr_schedules=("constant", "cosine"),
        crossover=1e5,
        lr_effect={"cosine": 1.2},
        noise=0.002,
    )
    return compare_grid(load_grid(root), n_boot=400, seed=0)


def test_tokens_to_reach_interpolates_in_log_tokens():
    tokens = np.array([10.0, 100.0, 1000.0])
    curves = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])
    got = tokens_to_reach(tokens, curves, np.array([1.5, 0.5, 3.0]))
    assert got[0] == pytest.approx(10**2.5)
    assert np.isnan(got[1])  # never reached
    assert got[2] == pytest.approx(10.0)


def test_planted_speedup_is_recovered(comparison):
    assert comparison["baseline"] == "static-mix"
    cells = [c for c in comparison["cells"] if c["lr_schedule"] == "constant"]
    assert [c["non_embedding_params"] for c in cells] == [int(n) for n in SIZES]
    for cell in cells:
        truth = planted_speedup(cell["non_embedding_params"])
        assert cell["speedup"] == pytest.approx(truth, rel=0.05)
        lo, hi = cell["speedup_ci"]
        assert lo <= cell["speedup"] <= hi
    # Small models gain (loss lower), big ones lose, with intervals excluding zero at the ends.
    first, last = cells[0]["effects"]["eval_loss"], cells[-1]["effects"]["eval_loss"]
    assert first["diff"] < 0 and first["ci"][1] < 0
    assert last["diff"] > 0 and last["ci"][0] > 0


def test_planted_crossover_is_located(comparison):
    constant = next(c for c in comparison["crossover"] if c["lr_schedule"] == "constant")
    assert len(constant["eval_loss_crossover"]) == 1
    assert constant["eval_loss_crossover"][0] == pytest.approx(1e5, rel=0.15)
    assert constant["speedup_crossover"][0] == pytest.approx(1e5, rel=0.15)
    # Cosine multiplies the speedup by 1.2: the crossover moves up to 1e5 * 1.2 ** (1 / 0.2).
    cosine = next(c for c in comparison["crossover"] if c["lr_schedule"] == "cosine")
    assert cosine["speedup_crossover"][0] == pytest.approx(1e5 * 1.2**5, rel=0.15)


def test_lr_interaction_and_other_effects(comparison):
    rows = comparison["lr_interaction"]
    assert len(rows) == len(SIZES) and {r["lr_schedule"] for r in rows} == {"cosine"}
    for row in rows:
        assert row["log_speedup_change"] == pytest.approx(np.log(1.2), abs=0.05)
        assert row["eval_loss_change"] < 0
    # The change is ~0.02 against seed noise of ~0.006 per run: most intervals exclude zero.
    assert sum(row["eval_loss_change_ci"][1] < 0 for row in rows) >= len(rows) - 1
    cell = comparison["cells"][0]
    assert set(cell["effects"]) >= {
        "eval_loss",
        "ood_eval_loss",
        "mean_accuracy",
        "accuracy_level_1",
        "ood_accuracy_level_2",
        "documents_tier_2",
    }
    # The synthetic OOD loss is eval loss + 0.5, so the OOD difference equals the eval difference.
    assert cell["effects"]["ood_eval_loss"]["diff"] == pytest.approx(cell["effects"]["eval_loss"]["diff"])
    assert cell["effects"]["documents_tier_2"]["curriculum"] == pytest.approx(
        2 * cell["effects"]["documents_tier_2"]["baseline"]
    )
    assert len(comparison["per_seed"]) == len(SIZES) * 2 * 3
    seed_row = comparison["per_seed"][0]
    assert seed_row["diff"] == pytest.approx(seed_row["eval_loss"] - seed_row["baseline_eval_loss"])


def test_crossover_sizes_and_baseline_errors(tmp_path):
    assert crossover_sizes(np.array([1e3, 1e4, 1e5]), np.array([-1.0, 1.0, 2.0])) == pytest.approx([10**3.5])
    assert crossover_sizes(np.array([1e3, 1e4]), np.array([1.0, 2.0])) == []
    root = write_grid(tmp_path, sizes=(1e4,), seeds=(0,), curricula={"a": "linear", "b": "linear"})
    grid = load_grid(root)
    with pytest.raises(CurriscaleError, match="pass baseline=NAME"):
        find_baseline(grid)
    with pytest.raises(CurriscaleError, match="'zzz' is not in the grid"):
        find_baseline(grid, "zzz")
    assert compare_grid(grid, baseline="a", n_boot=50)["cells"][0]["speedup"] == pytest.approx(1.0, rel=0.02)
    no_boot = compare_grid(grid, baseline="a", n_boot=0)["cells"][0]
    assert no_boot["speedup_ci"] == [None, None] and no_boot["effects"]["eval_loss"]["ci"] == [None, None]


def test_one_seed_gives_estimates_but_no_intervals(tmp_path):
    # A bootstrap of one seed has zero spread; an interval from it would look like certainty.
    grid = load_grid(write_grid(tmp_path, sizes=(1e4, 1e5), seeds=(0,)))
    cells = compare_grid(grid, n_boot=200)["cells"]
    assert len(cells) == 2
    for cell in cells:
        # One noisy seed per arm: the estimate is near the truth, but only roughly.
        assert cell["speedup"] == pytest.approx(planted_speedup(cell["non_embedding_params"]), rel=0.2)
        assert cell["speedup_ci"] == [None, None]
        assert cell["effects"]["eval_loss"]["ci"] == [None, None]


def test_accuracy_effects_carry_chance_and_at_chance_flags(tmp_path):
    # Level 1 is yes/no and learned by the larger models; level 2 is yes/no and never learned.
    root = write_grid(
        tmp_path, sizes=(12e3, 400e3), seeds=(0, 1), critical={1: 3e4, 2: 1e12}, chance={1: 0.5, 2: 0.5}
    )
    cells = {
        c["non_embedding_params"]: c["effects"] for c in compare_grid(load_grid(root), n_boot=50)["cells"]
    }
    for effects in cells.values():
        level2 = effects["accuracy_level_2"]
        assert level2["chance"] == 0.5 and level2["at_chance"]  # 0.50 vs 0.50: a guess rate twice
        assert effects["ood_accuracy_level_2"]["at_chance"]
        assert "chance" not in effects["eval_loss"] and "at_chance" not in effects["documents_tier_1"]
    assert not cells[400_000]["accuracy_level_1"]["at_chance"]
    assert cells[12_000]["accuracy_level_1"]["at_chance"]  # 0.53 at 12k: below 0.55
    assert cells[400_000]["mean_accuracy"]["chance"] == 0.5
