"""The grid: cell planning and budget rules, an interrupted grid resuming without redoing cells."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import yaml
from train_task import write_eval, write_task_manifest

import curriscale.train.trainer as trainer_module
from curriscale.errors import CurriscaleError
from curriscale.fit.growth import compare_growth
from curriscale.fit.runs import load_grid
from curriscale.train.grid import plan_cells, run_grid
from curriscale.train.model import GPTConfig


def write_grid(folder, **overrides):
    write_task_manifest(folder / "ladder", weights=((1.0, 0.0), (0.5, 0.5)), name="ladder")
    write_eval(folder / "eval.jsonl", 40)
    grid = {
        "sizes": ["s0", "s1"],
        "manifests": {"ladder": "ladder/manifest.json"},
        "lr_schedules": ["cosine"],
        "seeds": [0],
        "budget": {"tokens": 12 * 8 * 32},
        "lr": {"s0": 1e-2, "s1": 8e-3},
        "eval": "eval.jsonl",
        "train": {"batch_size": 8, "seq_len": 32, "n_evals": 6, "threads": 1},
        **overrides,
    }
    (folder / "GRID.yaml").write_text(yaml.safe_dump(grid))
    return folder / "GRID.yaml"


def test_budget_rules_and_per_size_lr(tmp_path):
    grid = write_grid(tmp_path, budget={"tokens_per_param": 2}, seeds=[0, 1], lr_schedules=["cosine", "wsd"])
    cells = plan_cells(grid, tmp_path / "runs")
    assert len(cells) == 2 * 1 * 2 * 2
    assert cells[0].name == "s0-ladder-cosine-seed0"
    by_size = {c.size: c.config for c in cells}
    assert by_size["s1"].budget_tokens == 2 * GPTConfig.from_size("s1", 257, 32).n_params()
    assert by_size["s0"].lr == 1e-2 and by_size["s1"].lr == 8e-3
    flops = plan_cells(write_grid(tmp_path, budget={"flops": 1e9}), tmp_path / "runs2")
    assert {c.config.budget_flops for c in flops} == {1e9}


def test_numbers_read_as_yaml_1_2_in_budget_and_lr(tmp_path):
    # PyYAML alone (YAML 1.1) reads 4e9 and 1e-2 (no dot) as text; the grid
    # reader uses curriscale.yaml12, which reads them as numbers.
    grid = write_grid(tmp_path, growth=[{"from": "s0", "grow": "depth", "at": 0.5}], lr="LR")
    text = grid.read_text().replace("budget:\n  tokens: 3072", "budget: {flops: 4e9}")
    grid.write_text(text.replace("lr: LR", "lr: {s0: 1e-2, s1: 8e-3}"))
    assert yaml.safe_load(grid.read_text())["budget"] == {"flops": "4e9"}
    assert yaml.safe_load(grid.read_text())["lr"]["s0"] == "1e-2"
    cells = plan_cells(grid, tmp_path / "runs")
    by_name = {c.name: c.config for c in cells}
    assert by_name["s0-ladder-cosine-seed0"].budget_flops == 4e9
    assert by_name["s0-ladder-cosine-seed0"].lr == 1e-2
    assert by_name["s0-depth-ladder-cosine-seed0-stage1"].budget_tokens > 0  # planned from the number
    for text, message in (
        ("abc", "must be a positive number, got 'abc'"),
        ("-5", "must be a positive number, got -5"),
        (".nan", "must be a positive number, got nan"),
    ):
        grid.write_text(grid.read_text().replace("budget: {flops: 4e9}", f"budget: {{flops: {text}}}"))
        with pytest.raises(CurriscaleError, match=f"GRID.yaml: budget.flops: {message}"):
            plan_cells(grid, tmp_path / "runs")
        grid.write_text(grid.read_text().replace(f"budget: {{flops: {text}}}", "budget: {flops: 4e9}"))


def test_bad_grid_names_the_file_and_key(tmp_path):
    (tmp_path / "g.yaml").write_text("sizes: [s0]\nmanifests: {a: m.json}\n")
    with pytest.raises(CurriscaleError, match="g.yaml: missing 'budget'"):
        plan_cells(tmp_path / "g.yaml", tmp_path / "runs")


def test_interrupted_grid_resumes_and_skips_finished_cells(tmp_path, monkeypatch):
    grid = write_grid(tmp_path)
    real_train = trainer_module.train

    def train_until_second_cell(config, **kwargs):
        if config.size == "s1":
            raise KeyboardInterrupt("grid killed")
        return real_train(config, **kwargs)

    monkeypatch.setattr(trainer_module, "train", train_until_second_cell)
    with pytest.raises(KeyboardInterrupt):
        run_grid(grid, tmp_path / "runs")
    first = tmp_path / "runs" / "cells" / "s0-ladder-cosine-seed0"
    assert (first / "done.json").exists()
    stamp = (first / "metrics.parquet").stat().st_mtime_ns

    monkeypatch.setattr(trainer_module, "train", real_train)
    index = run_grid(grid, tmp_path / "runs").to_pandas()
    assert (first / "metrics.parquet").stat().st_mtime_ns == stamp  # not retrained
    assert index["cell"].tolist() == ["s0-ladder-cosine-seed0", "s1-ladder-cosine-seed0"]
    assert index["status"].tolist() == ["done", "done"]
    assert index["n_params"].iloc[1] > index["n_params"].iloc[0]
    assert index["final_eval_loss"].notna().all() and index["budget_tokens"].tolist() == [12 * 256] * 2
    on_disk = pq.read_table(tmp_path / "runs" / "runs.parquet").to_pandas()
    assert on_disk["run_dir"].tolist() == ["cells/s0-ladder-cosine-seed0", "cells/s1-ladder-cosine-seed0"]


def test_growth_cells_run_after_their_first_stage_at_equal_compute(tmp_path):
    grid = write_grid(
        tmp_path, sizes=["s0"], budget={"flops": 4e9}, growth=[{"from": "s0", "grow": "depth", "at": 0.5}]
    )
    cells = plan_cells(grid, tmp_path / "runs")
    assert [(c.name, c.stage, c.indexed) for c in cells] == [
        ("s0-ladder-cosine-seed0", 0, True),
        ("s0-depth-ladder-cosine-seed0-stage1", 0, False),
        ("s0+depth-ladder-cosine-seed0", 1, True),
    ]
    small = GPTConfig.from_size("s0", 257, 32)
    big = GPTConfig(**{**small.to_dict(), "n_layer": 2})
    tokens = cells[1].config.budget_tokens
    assert (
        abs(0.5 * tokens * small.flops_per_token() + 0.5 * tokens * big.flops_per_token() - 4e9)
        < 2 * big.flops_per_token()
    )

    index = run_grid(grid, tmp_path / "runs").to_pandas()
    assert index["cell"].tolist() == ["s0-ladder-cosine-seed0", "s0+depth-ladder-cosine-seed0"]
    assert index["status"].tolist() == ["done", "done"]
    assert index["n_params"].iloc[1] > index["n_params"].iloc[0]
    # The fitter sets the grown arm against the fresh one and shows the compute each spent.
    [growth] = compare_growth(load_grid(tmp_path / "runs"), n_boot=10)
    assert (growth["size"], growth["fresh"], growth["how"]) == ("s0+depth", "s0", "depth")
    assert growth["flops"]["grown"] == pytest.approx(growth["flops"]["fresh"], rel=0.05)
    assert growth["flops"]["fresh"] == pytest.approx(4e9, rel=0.05)
