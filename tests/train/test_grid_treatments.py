"""Named LR treatments in one grid: a schedule kind with its own parameters and weight averaging."""

from __future__ import annotations

import pytest
import yaml
from train_task import write_task_manifest

from curriscale.errors import CurriscaleError
from curriscale.train.grid import plan_cells
from curriscale.train.schedules import LRSchedule, lr_array

TREATMENTS = [
    "cosine",
    {"name": "cosine-floor10", "kind": "cosine", "params": {"min_lr_ratio": 0.1}},
    {"name": "wsd-cool10", "kind": "wsd", "params": {"decay_fraction": 0.1}},
    {"name": "constant-ema", "kind": "constant", "ema_decay": 0.99},
]


def write_grid(folder, lr_schedules):
    write_task_manifest(folder / "task", docs_per_level=20, name="task")
    grid = {
        "sizes": ["s0"],
        "manifests": {"task": "task/manifest.json"},
        "lr_schedules": lr_schedules,
        "budget": {"tokens": 4096},
        "train": {"batch_size": 8, "seq_len": 32, "min_lr_ratio": 0.0, "lr_params": {"step_gamma": 0.5}},
    }
    (folder / "GRID.yaml").write_text(yaml.safe_dump(grid, sort_keys=False))
    return folder / "GRID.yaml"


def test_each_named_treatment_sets_its_schedule_parameters_and_averaging(tmp_path):
    cells = plan_cells(write_grid(tmp_path, TREATMENTS), tmp_path / "runs")
    by_name = {c.lr_schedule: c.config for c in cells}
    assert [c.name for c in cells] == [
        "s0-task-cosine-seed0",
        "s0-task-cosine-floor10-seed0",
        "s0-task-wsd-cool10-seed0",
        "s0-task-constant-ema-seed0",
    ]
    # A plain kind keeps the grid's train: values; a treatment's own parameters replace them.
    assert (by_name["cosine"].lr_schedule, by_name["cosine"].min_lr_ratio) == ("cosine", 0.0)
    assert (by_name["cosine-floor10"].lr_schedule, by_name["cosine-floor10"].min_lr_ratio) == ("cosine", 0.1)
    wsd = by_name["wsd-cool10"]
    assert wsd.lr_schedule == "wsd" and wsd.lr_params == {"step_gamma": 0.5, "decay_fraction": 0.1}
    ema = by_name["constant-ema"]
    assert (ema.lr_schedule, ema.ema_decay) == ("constant", 0.99)
    assert {c.lr_schedule: c.config.ema_decay for c in cells if c.lr_schedule != "constant-ema"} == {
        "cosine": None,
        "cosine-floor10": None,
        "wsd-cool10": None,
    }


def test_the_treatments_give_the_schedules_they_name():
    """What the trainer builds from each treatment's fields: the cooldown, the floor, the flat line."""
    lr = lambda **kw: lr_array(LRSchedule(lr=1.0, total_steps=100, warmup_fraction=0.0, **kw))  # noqa: E731
    wsd = lr(kind="wsd", decay_fraction=0.1, min_lr_ratio=0.0)
    assert (wsd[:90] == 1.0).all() and wsd[-1] == pytest.approx(0.0) and (wsd[90:] < 1).all()
    assert lr(kind="cosine", min_lr_ratio=0.1)[-1] == pytest.approx(0.1)
    assert (lr(kind="constant") == 1.0).all()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "cosine"}, r"lr_schedules\[0\]: a schedule kind, or a mapping with a string 'name'"),
        ({"name": "x", "kind": "cosine", "ema": 0.9}, r"lr_schedules\[0\]\.ema: unknown field"),
        ({"name": "x", "kind": "sine"}, r"lr_schedules\[0\]\.kind: unknown LR schedule 'sine'"),
        (
            {"name": "x", "kind": "constant", "params": {"min_lr_ratio": 0.1}},
            r"params\.min_lr_ratio: unknown",
        ),
        ({"name": "x/y", "kind": "cosine"}, r"cell name"),
    ],
)
def test_bad_treatments_name_the_entry(tmp_path, entry, message):
    with pytest.raises(CurriscaleError, match=message):
        plan_cells(write_grid(tmp_path, [entry]), tmp_path / "runs")


def test_a_name_used_twice_is_an_error(tmp_path):
    grid = write_grid(
        tmp_path, ["cosine", {"name": "cosine", "kind": "cosine", "params": {"min_lr_ratio": 0.2}}]
    )
    with pytest.raises(CurriscaleError, match="names a schedule twice"):
        plan_cells(grid, tmp_path / "runs")
