"""TensorBoard events of a run read back: the same rows as metrics.parquet, none twice after a resume."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from train_task import write_eval, write_task_manifest

from curriscale.train.config import TrainConfig
from curriscale.train.trainer import eval_steps, train

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard is in the dev extra"
)
TAGS = ("train_loss", "lr", "tokens_per_s", "eval_loss", "mean_accuracy")


def run_config(tmp_path) -> TrainConfig:
    manifest = write_task_manifest(tmp_path / "curriculum")
    return TrainConfig(
        out=str(tmp_path / "run"), manifest=str(manifest), eval_path=str(write_eval(tmp_path / "eval.jsonl", 40)),
        size="s0", seq_len=32, batch_size=8, budget_tokens=60 * 8 * 32, lr=1e-2, n_evals=4, log_every=5,
        threads=1,
    )  # fmt: skip


def board(run_dir) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of every scalar event per tag, as TensorBoard shows them (purged events dropped)."""
    events = event_accumulator.EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def assert_board_matches_metrics(run_dir):
    table = pq.read_table(run_dir / "metrics.parquet").to_pandas()
    scalars = board(run_dir)
    for tag in TAGS:
        rows = table[np.isfinite(table[tag])]
        assert [step for step, _ in scalars[tag]] == rows["step"].tolist(), tag
        np.testing.assert_allclose([value for _, value in scalars[tag]], rows[tag], rtol=1e-6)


def test_a_run_writes_its_logged_rows(tmp_path):
    config = run_config(tmp_path)
    train(config)
    assert_board_matches_metrics(tmp_path / "run")


def test_a_resumed_run_shows_no_step_twice(tmp_path):
    config = run_config(tmp_path)
    checkpoints = eval_steps(60, config.n_evals, config.eval_spacing)
    stop = checkpoints[-2] + 7  # past a checkpoint, with rows logged after it that the resume redoes

    def interrupt(step: int, total: int) -> None:
        if step == stop:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, on_progress=interrupt)
    before = [step for step, _ in board(tmp_path / "run")["train_loss"]]
    assert max(before) > checkpoints[-2]  # the interrupted session did log past its checkpoint
    train(config)
    assert_board_matches_metrics(tmp_path / "run")
