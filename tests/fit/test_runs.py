"""Loading a grid: tidy tables, finished-run filtering, and errors that name the broken run."""

import json

import numpy as np
import pandas as pd
import pytest
from grid_factory import BUDGET, base_loss, write_grid

from curriscale.errors import CurriscaleError
from curriscale.fit.runs import load_grid


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    return write_grid(tmp_path_factory.mktemp("grid"), sizes=(1e4, 1e5), seeds=(0, 1), noise=0.0)


def test_tables_have_one_row_per_run_and_final_values(grid_dir):
    grid = load_grid(grid_dir)
    assert len(grid.runs) == 2 * 2 * 2  # sizes x curricula x seeds
    assert len(grid.curves) == 8 * 100  # every logged step of every run
    static = grid.runs[
        (grid.runs["curriculum"] == "static-mix") & (grid.runs["non_embedding_params"] == 10_000)
    ]
    assert np.allclose(static["eval_loss"], base_loss(1e4, BUDGET))
    assert set(grid.runs["pacing_kind"]) == {"static", "linear"}
    assert grid.metric_columns("accuracy_level_") == ["accuracy_level_1", "accuracy_level_2"]
    assert (grid.runs["final_tokens"] == BUDGET).all()


def test_unfinished_runs_are_skipped(tmp_path):
    root = write_grid(tmp_path, sizes=(1e4,), seeds=(0,), noise=0.0)
    index = pd.read_parquet(root / "runs.parquet")
    index.loc[0, "status"] = "failed"
    (root / index.loc[0, "run_dir"] / "done.json").unlink()
    index.to_parquet(root / "runs.parquet")
    grid = load_grid(root)
    assert len(grid.runs) == 1
    assert grid.skipped == {index.loc[0, "run_dir"]: "status 'failed'"}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda run: (run / "config.json").unlink(), "config.json not found"),
        (lambda run: (run / "config.json").write_text("{oops"), "malformed JSON"),
        (lambda run: (run / "metrics.parquet").write_bytes(b"not parquet"), "unreadable Parquet"),
        (
            lambda run: pd.DataFrame({"step": [1], "tokens": [1]}).to_parquet(run / "metrics.parquet"),
            r"missing columns \['eval_loss'\]",
        ),
        (
            lambda run: pd.DataFrame({"step": [1], "tokens": [1], "eval_loss": [np.nan]}).to_parquet(
                run / "metrics.parquet"
            ),
            "no evaluation rows",
        ),
    ],
)
def test_broken_run_is_named(tmp_path, damage, message):
    root = write_grid(tmp_path, sizes=(1e4,), seeds=(0,), noise=0.0)
    run = root / "ladder-n10000-cosine-s0"
    damage(run)
    with pytest.raises(CurriscaleError, match=message) as error:
        load_grid(root)
    assert "ladder-n10000-cosine-s0" in str(error.value)


def test_missing_index_and_absolute_manifest(tmp_path):
    with pytest.raises(CurriscaleError, match="runs.parquet: grid index not found"):
        load_grid(tmp_path)
    root = write_grid(tmp_path / "g", sizes=(1e4,), seeds=(0,), noise=0.0)
    config_path = root / "ladder-n10000-cosine-s0" / "config.json"
    config = json.loads(config_path.read_text())
    config["manifest"] = str((root / config["manifest"]).resolve())
    config_path.write_text(json.dumps(config))
    assert set(load_grid(root).runs["pacing_kind"]) == {"static", "linear"}


def test_chance_accuracy_is_read_per_level(tmp_path):
    root = write_grid(tmp_path / "g", sizes=(1e4,), seeds=(0,), noise=0.0, chance={1: 0.5, 2: 0.25})
    grid = load_grid(root)
    assert grid.chance_recorded
    assert grid.chance == {
        "accuracy_level_1": 0.5, "accuracy_level_2": 0.25,
        "ood_accuracy_level_1": 0.5, "ood_accuracy_level_2": 0.25,
        "mean_accuracy": 0.375,  # the mean over levels, as mean_accuracy averages the levels
    }  # fmt: skip
    # A run without the key (an older trainer) does not lower what the others recorded.
    config_path = root / "ladder-n10000-cosine-s0" / "config.json"
    config = json.loads(config_path.read_text())
    config.pop("eval_chance_accuracy")
    config_path.write_text(json.dumps(config))
    assert load_grid(root).chance_of("accuracy_level_1") == 0.5


def test_chance_falls_back_to_zero_and_malformed_chance_is_named(tmp_path):
    grid = load_grid(write_grid(tmp_path / "old", sizes=(1e4,), seeds=(0,), noise=0.0))
    assert not grid.chance_recorded
    assert set(grid.chance.values()) == {0.0} and "accuracy_level_2" in grid.chance
    assert grid.chance_of("accuracy_level_9") == 0.0
    root = write_grid(tmp_path / "bad", sizes=(1e4,), seeds=(0,), noise=0.0, chance={1: 0.5, 2: 0.5})
    config_path = root / "ladder-n10000-cosine-s0" / "config.json"
    config = json.loads(config_path.read_text())
    config["eval_chance_accuracy"]["2"] = 1.5
    config_path.write_text(json.dumps(config))
    with pytest.raises(CurriscaleError, match=r"ladder-n10000-cosine-s0.*level 2: 1.5 is not an accuracy"):
        load_grid(root)
