"""Critical points on grids with a planted critical size per level and a known learning speed."""

import copy

import numpy as np
import pytest
from grid_factory import final_accuracy, tau, write_grid

from curriscale.fit.critical import critical_sizes, level_thresholds, steepest_step, threshold_steps
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
    # This grid records no chance accuracy (an older trainer): chance is taken as 0.
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


# Level 1 is yes/no (chance 0.5), level 2 picks among four entities, level 3 is yes/no and needs a
# model far beyond the grid: it stays at chance.
CHANCE = {1: 0.5, 2: 0.25, 3: 0.5}
CHANCE_CRITICAL = {1: 3e4, 2: 1.5e5, 3: 1e12}


@pytest.fixture(scope="module")
def chance_grid(tmp_path_factory):
    root = write_grid(
        tmp_path_factory.mktemp("chance"),
        sizes=SIZES,
        seeds=(0, 1),
        critical=CHANCE_CRITICAL,
        chance=CHANCE,
        answer_loss=True,
    )
    return load_grid(root)


def test_thresholds_start_at_chance_and_are_shared_across_curricula(chance_grid):
    levels = {e["level"]: e for e in level_thresholds(chance_grid)}
    finals = chance_grid.runs.groupby(["curriculum", "lr_schedule", "non_embedding_params"]).mean(
        numeric_only=True
    )
    for level in (1, 2):
        best = finals[f"accuracy_level_{level}"].max()
        assert levels[level]["chance"] == CHANCE[level] and levels[level]["best"] == pytest.approx(best)
        assert not levels[level]["at_chance"]
        # Midway between chance and the best any curriculum reached, not between 0 and the best.
        assert levels[level]["threshold"] == pytest.approx(CHANCE[level] + 0.5 * (best - CHANCE[level]))
    table = threshold_steps(chance_grid, levels=list(levels.values()))
    # One threshold per level, whichever curriculum (the ladder learns slower at large sizes).
    assert table.groupby("level")["threshold"].nunique().tolist() == [1, 1]
    assert set(table["curriculum"]) == {"static-mix", "ladder"}
    assert (table["chance"] == table["level"].map(CHANCE)).all()
    # Crossings are token counts (and steps) in whole numbers, not 108.7 steps.
    crossed = table.dropna(subset=["tokens"])
    assert len(crossed) > 0 and (crossed["tokens"] % 1 == 0).all() and (crossed["step"] % 1 == 0).all()


def test_level_at_chance_gets_no_threshold_or_critical_point(chance_grid):
    level = next(e for e in level_thresholds(chance_grid) if e["level"] == 3)
    assert level["at_chance"] and level["threshold"] is None
    assert level["best"] == pytest.approx(0.5, abs=0.01)  # a 0.50-0.51 on a yes/no level
    assert level["note"].startswith("level 3 stayed at chance") and "against chance 0.5" in level["note"]
    assert 3 not in set(threshold_steps(chance_grid)["level"])
    entries = [e for e in critical_sizes(chance_grid, bootstrap=0, min_sizes=99) if e["level"] == 3]
    assert len(entries) == 4  # two curricula x (error, answer loss)
    for entry in entries:
        assert entry["at_chance"] and entry["steepest_step"] is None
        assert entry["bnsl"] == {"skipped": level["note"]}
    learned = [e for e in critical_sizes(chance_grid, bootstrap=0, min_sizes=99) if e["level"] == 1]
    assert not any(e["at_chance"] for e in learned) and all(e["steepest_step"] for e in learned)


def test_curriculum_at_chance_on_a_learned_level_gets_no_critical_point(chance_grid):
    grid = copy.copy(chance_grid)
    ladder = chance_grid.runs["curriculum"] == "ladder"
    grid.runs = chance_grid.runs.assign(
        accuracy_level_1=chance_grid.runs["accuracy_level_1"].where(~ladder, 0.51)
    )
    entries = {
        e["curriculum"]: e
        for e in critical_sizes(grid, bootstrap=0, min_sizes=99)
        if e["level"] == 1 and e["quantity"] == "error"
    }
    assert entries["ladder"]["at_chance"] and entries["ladder"]["steepest_step"] is None
    assert "'ladder' (cosine) stayed at chance on level 1" in entries["ladder"]["note"]
    assert not entries["static-mix"]["at_chance"] and entries["static-mix"]["steepest_step"]
