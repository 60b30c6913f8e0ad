"""Weight averaging (EMA): evaluated next to the raw weights, better at a constant LR, resumed exactly."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from test_trainer import Crashing
from train_task import write_eval, write_task_manifest

from curriscale.train.averaging import WeightAverage
from curriscale.train.config import TrainConfig
from curriscale.train.data import manifest_source
from curriscale.train.trainer import train


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    return str(write_task_manifest(folder / "curriculum")), str(write_eval(folder / "eval.jsonl", 100))


def constant_lr_run(task, out, steps=400) -> TrainConfig:
    manifest, eval_path = task
    return TrainConfig(
        out=str(out), manifest=manifest, eval_path=eval_path, size="s1", seq_len=32, batch_size=8,
        budget_tokens=steps * 8 * 32, lr=2e-2, lr_schedule="constant", warmup_fraction=0.0, n_evals=4,
        threads=1, ema_decay=0.95,
    )  # fmt: skip


def test_the_average_is_evaluated_beside_the_raw_weights_and_is_better_at_a_constant_lr(task, tmp_path):
    result = train(constant_lr_run(task, tmp_path / "run"))
    final = result.final_metrics
    assert {"ema_eval_loss", "ema_accuracy_level_1", "ema_mean_accuracy"} <= set(final)
    # A constant LR leaves the raw weights jittering around the minimum; their average sits closer.
    assert final["ema_eval_loss"] < final["eval_loss"]
    table = pq.read_table(tmp_path / "run" / "metrics.parquet").to_pandas().dropna(subset=["eval_loss"])
    assert table["ema_eval_loss"].notna().all() and len(table) == 4


def test_a_run_with_an_average_resumes_exactly(task, tmp_path):
    train(constant_lr_run(task, tmp_path / "whole", steps=60))

    def crash_factory(*args, **kwargs):
        return Crashing(manifest_source(*args, **kwargs), after=8 * 45)  # dies during step 46

    with pytest.raises(KeyboardInterrupt):
        train(constant_lr_run(task, tmp_path / "resumed", steps=60), source_factory=crash_factory)
    assert (tmp_path / "resumed" / "checkpoint" / "average.safetensors").is_file()
    train(constant_lr_run(task, tmp_path / "resumed", steps=60))
    whole, resumed = (
        pq.read_table(tmp_path / n / "metrics.parquet").to_pandas() for n in ("whole", "resumed")
    )
    np.testing.assert_array_equal(whole["ema_eval_loss"], resumed["ema_eval_loss"])


def test_the_first_updates_use_a_smaller_decay():
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    average = WeightAverage(model, decay=0.99)
    with torch.no_grad():
        model.weight.fill_(1.0)
    average.update(model)  # decay min(0.99, 2 / 11): the average moves 9/11 of the way
    assert average.model.weight.flatten().tolist() == pytest.approx([9 / 11, 9 / 11])
    assert not average.model.weight.requires_grad
