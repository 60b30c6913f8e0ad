"""The LR schedule a manifest pairs with its pacing: used unless one is asked for, recorded with its source."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from train_task import write_eval, write_task_manifest
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.curricula.recipe import LR_SCHEDULE_PARAMS
from curriscale.errors import CurriscaleError
from curriscale.train.config import TrainConfig
from curriscale.train.grid import plan_cells
from curriscale.train.schedules import EXTRA_PARAMS, SCHEDULES, LRSchedule, lr_array, resolve_schedule
from curriscale.train.trainer import train

WSD = {"kind": "wsd", "params": {"warmup_fraction": 0.1, "decay_fraction": 0.5, "min_lr_ratio": 0.0}}


def paired_manifest(folder, lr_schedule, name="task"):
    """The test task's manifest, with `lr_schedule` as the builder writes it from a recipe."""
    path = write_task_manifest(folder, docs_per_level=100, name=name)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "lr_schedule": lr_schedule}))
    return path


@pytest.fixture(scope="module")
def manifests(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paired")
    write_eval(folder / "eval.jsonl", 20)
    return {
        "wsd": str(paired_manifest(folder / "wsd", WSD, name="wsd")),
        "none": str(paired_manifest(folder / "none", None, name="none")),
        "eval": str(folder / "eval.jsonl"),
    }


def config(manifest, out, **overrides) -> TrainConfig:
    base = dict(out=str(out), manifest=manifest, size="s0", seq_len=32, batch_size=8, budget_tokens=20 * 256,
                lr=1e-2, n_evals=2, log_every=5, threads=1)  # fmt: skip
    return TrainConfig(**{**base, **overrides})


def test_recipe_kinds_and_parameters_are_the_trainers():
    assert set(LR_SCHEDULE_PARAMS) == set(SCHEDULES)
    settable = {f.name for f in fields(LRSchedule)} - {"kind", "lr", "total_steps"}
    assert {p for params in LR_SCHEDULE_PARAMS.values() for p in params} == settable
    assert set(EXTRA_PARAMS) == settable - {"warmup_fraction", "min_lr_ratio"}


def test_resolution_order_option_then_manifest_then_cosine(manifests):
    kind, params, source = resolve_schedule(None, manifests["wsd"], 0.02, 0.1, {})
    assert (kind, source) == ("wsd", "manifest") and params == WSD["params"]
    # Explicit lr_params still win over the manifest's.
    assert (
        resolve_schedule(None, manifests["wsd"], 0.02, 0.1, {"decay_fraction": 0.2})[1]["decay_fraction"]
        == 0.2
    )
    assert resolve_schedule("linear", manifests["wsd"], 0.02, 0.1, {}) == (
        "linear",
        {"warmup_fraction": 0.02, "min_lr_ratio": 0.1},
        "option",
    )
    assert resolve_schedule(None, manifests["none"], 0.02, 0.1, {})[::2] == ("cosine", "default")


def test_a_run_without_a_schedule_uses_the_manifests_and_records_it(manifests, tmp_path):
    train(config(manifests["wsd"], tmp_path / "run"))
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["lr_schedule"] == "wsd" and cfg["lr_schedule_source"] == "manifest"
    assert cfg["warmup_fraction"] == 0.1 and cfg["min_lr_ratio"] == 0.0
    assert cfg["lr_params"] == {"decay_fraction": 0.5} and cfg["lr_schedule_params"]["decay_fraction"] == 0.5
    expected = lr_array(LRSchedule("wsd", 1e-2, 20, **WSD["params"]))
    np.testing.assert_allclose(pq.read_table(tmp_path / "run" / "lr.parquet")["lr"].to_numpy(), expected)

    train(config(manifests["wsd"], tmp_path / "option", lr_schedule="constant"))
    cfg = json.loads((tmp_path / "option" / "config.json").read_text())
    assert (cfg["lr_schedule"], cfg["lr_schedule_source"], cfg["warmup_fraction"]) == (
        "constant",
        "option",
        0.02,
    )
    train(config(manifests["none"], tmp_path / "default"))
    cfg = json.loads((tmp_path / "default" / "config.json").read_text())
    assert (cfg["lr_schedule"], cfg["lr_schedule_source"]) == ("cosine", "default")


def test_a_grown_run_uses_its_source_manifests_schedule(manifests, tmp_path):
    train(config(manifests["wsd"], tmp_path / "small", stop_fraction=0.5))
    train(
        TrainConfig(out=str(tmp_path / "grown"), init_from=str(tmp_path / "small"), grow="depth", threads=1)
    )
    cfg = json.loads((tmp_path / "grown" / "config.json").read_text())
    assert (cfg["lr_schedule"], cfg["lr_schedule_source"]) == ("wsd", "manifest")


def test_a_bad_schedule_in_the_manifest_names_the_field_and_writes_nothing(tmp_path):
    manifest = paired_manifest(tmp_path / "bad", {"kind": "wsd", "params": {"decay_fraction": "half"}})
    with pytest.raises(
        CurriscaleError, match=r"manifest\.json: lr_schedule\.params\.decay_fraction: must be .*--lr-schedule"
    ):
        train(config(str(manifest), tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    train(config(str(manifest), tmp_path / "run", lr_schedule="cosine"))  # an explicit schedule overrides it


def test_cli_default_is_the_manifests_schedule(manifests, tmp_path):
    args = ["train", "--manifest", manifests["wsd"], "--size", "s0", "--budget-tokens", "2048", "--seq-len", "32",
            "--batch-size", "8", "--n-evals", "2", "--threads", "1", "--out", str(tmp_path / "run")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (cfg["lr_schedule"], cfg["lr_schedule_source"]) == ("wsd", "manifest")


def write_grid(folder, manifests, **overrides):
    grid = {"sizes": ["s0"], "manifests": {"paired": manifests["wsd"], "plain": manifests["none"]},
            "budget": {"tokens": 4096}, "train": {"batch_size": 8, "seq_len": 32}, **overrides}  # fmt: skip
    (folder / "GRID.yaml").write_text(yaml.safe_dump(grid))
    return folder / "GRID.yaml"


def test_grid_without_lr_schedules_uses_each_manifests(manifests, tmp_path):
    cells = plan_cells(write_grid(tmp_path, manifests), tmp_path / "runs")
    assert [(c.name, c.lr_schedule, c.config.lr_schedule) for c in cells] == [
        ("s0-paired-wsd-seed0", "wsd", None),  # the trainer reads it from the manifest
        ("s0-plain-cosine-seed0", "cosine", None),
    ]
    listed = plan_cells(write_grid(tmp_path, manifests, lr_schedules=["linear"]), tmp_path / "runs2")
    assert [(c.name, c.config.lr_schedule) for c in listed] == [
        ("s0-paired-linear-seed0", "linear"),
        ("s0-plain-linear-seed0", "linear"),
    ]
    with pytest.raises(CurriscaleError, match="'lr_schedules' is a non-empty list"):
        plan_cells(write_grid(tmp_path, manifests, lr_schedules="cosine"), tmp_path / "runs3")
