"""The trainer on a real manifest: run-dir format, determinism, exact resume, NaN stop, learning, growth."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from train_task import write_eval, write_task_manifest

from curriscale.errors import CurriscaleError
from curriscale.train.config import TrainConfig
from curriscale.train.data import manifest_source
from curriscale.train.trainer import eval_steps, train


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    return str(write_task_manifest(folder / "curriculum")), str(write_eval(folder / "eval.jsonl", 100))


def config(task, out, **overrides) -> TrainConfig:
    manifest, eval_path = task
    base = dict(
        out=str(out),
        manifest=manifest,
        eval_path=eval_path,
        size="s0",
        seq_len=32,
        batch_size=8,
        budget_tokens=40 * 8 * 32,
        lr=1e-2,
        n_evals=6,
        log_every=5,
        threads=1,
    )
    return TrainConfig(**{**base, **overrides})


def metrics(run_dir):
    return pq.read_table(run_dir / "metrics.parquet").to_pandas()


class Crashing:
    """A source that raises after `after` sequences, like a run killed mid-training."""

    def __init__(self, inner, after):
        self.inner, self.after = inner, after

    def __iter__(self):
        for i, item in enumerate(self.inner):
            if i == self.after:
                raise KeyboardInterrupt("simulated crash")
            yield item

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)


def test_eval_steps_are_spaced_and_end_at_the_last_step():
    assert eval_steps(1000, 6, "even") == [167, 333, 500, 667, 833, 1000]
    log = eval_steps(1000, 6, "log")
    assert len(log) == 6 and log[-1] == 1000 and log[0] < 30


def test_run_directory_format(task, tmp_path):
    result = train(config(task, tmp_path / "run", ood_path=task[1]))
    run = tmp_path / "run"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["size"] == "s0" and cfg["curriculum"] == "task" and cfg["budget_tokens"] == 40 * 8 * 32
    assert cfg["n_params"] > cfg["non_embedding_params"] > 0 and cfg["tokenizer"] == "tokenizer.json"
    # Chance accuracy per level (majority answer), keyed like the accuracy_level_<k> metrics; the
    # task's level 1 has five capitals, level 2 random words.
    assert set(cfg["eval_chance_accuracy"]) == set(cfg["ood_chance_accuracy"]) == {"1", "2"}
    assert 0.2 <= cfg["eval_chance_accuracy"]["1"] < 0.5 and cfg["eval_chance_accuracy"]["2"] < 0.1
    assert cfg["eval_questions"] == 100 and cfg["eval_questions_cut"] == 0
    table = metrics(run)
    evaluated = table.dropna(subset=["eval_loss"])
    assert len(evaluated) >= 6 and evaluated["step"].iloc[-1] == 40 == result.steps
    for column in (
        "tokens",
        "flops",
        "lr",
        "train_loss",
        "eval_loss_level_1",
        "accuracy_level_2",
        "answer_loss_level_1",
        "ood_accuracy_level_1",
        "ood_eval_loss",
        "mean_accuracy",
    ):
        assert column in table.columns, column
    assert (table["tokens"] == table["step"] * 256).all()
    np.testing.assert_allclose(table["flops"], table["tokens"] * cfg["flops_per_token"])
    positions = pq.read_table(run / "positions.parquet").to_pandas()
    assert set(positions["step"]) == set(evaluated["step"]) and positions["position"].min() == 0
    assert (run / "checkpoint" / "model.safetensors").is_file() and (run / "done.json").is_file()
    lrs = pq.read_table(run / "lr.parquet").to_pandas()
    assert lrs["step"].tolist() == list(range(1, 41))
    logged = table.set_index("step")["lr"]
    np.testing.assert_allclose(lrs.set_index("step").loc[logged.index, "lr"], logged)
    assert result.final_eval_loss == pytest.approx(evaluated["eval_loss"].iloc[-1])
    # Documents drawn per tier: recorded at each evaluation, never decreasing, one column per tier.
    tiers = json.loads(open(cfg["manifest"]).read())["tiers"]
    drawn = evaluated[[f"documents_tier_{k}" for k in range(len(tiers))]].to_numpy()
    assert (np.diff(drawn, axis=0) >= 0).all() and drawn[-1].sum() > drawn[0].sum() > 0


def test_same_seed_same_losses_other_seed_differs(task, tmp_path):
    a = metrics(train(config(task, tmp_path / "a", budget_tokens=15 * 256)) and tmp_path / "a")
    b = metrics(train(config(task, tmp_path / "b", budget_tokens=15 * 256)) and tmp_path / "b")
    c = metrics(train(config(task, tmp_path / "c", budget_tokens=15 * 256, seed=1)) and tmp_path / "c")
    assert a["train_loss"].tolist() == b["train_loss"].tolist()
    assert a["train_loss"].tolist() != c["train_loss"].tolist()


def test_interrupted_run_resumes_exactly(task, tmp_path):
    train(config(task, tmp_path / "whole"))

    def crash_factory(*args, **kwargs):
        return Crashing(manifest_source(*args, **kwargs), after=8 * 25)  # dies during step 26

    with pytest.raises(KeyboardInterrupt):
        train(config(task, tmp_path / "resumed"), source_factory=crash_factory)
    assert not (tmp_path / "resumed" / "done.json").exists()
    assert (tmp_path / "resumed" / "checkpoint").is_dir()
    train(config(task, tmp_path / "resumed"))
    whole, resumed = metrics(tmp_path / "whole"), metrics(tmp_path / "resumed")
    assert whole["step"].tolist() == resumed["step"].tolist()
    np.testing.assert_array_equal(whole["train_loss"], resumed["train_loss"])
    np.testing.assert_array_equal(whole["eval_loss"], resumed["eval_loss"])


def test_finished_run_returns_immediately(task, tmp_path):
    first = train(config(task, tmp_path / "run", budget_tokens=10 * 256))
    stamp = (tmp_path / "run" / "metrics.parquet").stat().st_mtime_ns
    again = train(config(task, tmp_path / "run", budget_tokens=10 * 256))
    assert again == first and (tmp_path / "run" / "metrics.parquet").stat().st_mtime_ns == stamp


def test_non_finite_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(task, tmp_path):
    with pytest.raises(CurriscaleError, match="non-finite|loss is nan|loss is inf"):
        train(config(task, tmp_path / "run", lr=1e30, warmup_fraction=0.0, grad_clip=1e30))
    run = tmp_path / "run"
    assert not (run / "done.json").exists()
    if (run / "metrics.parquet").exists():  # whatever was saved is finite
        assert np.isfinite(metrics(run)["eval_loss"].dropna()).all()


def test_per_level_accuracy_rises_on_the_synthetic_task(task, tmp_path):
    result = train(config(task, tmp_path / "run", size="s1", budget_tokens=160 * 16 * 32, batch_size=16))
    table = metrics(tmp_path / "run").dropna(subset=["eval_loss"])
    assert table["accuracy_level_1"].iloc[0] < 0.3
    assert result.final_metrics["accuracy_level_1"] >= 0.8
    assert table["eval_loss"].iloc[-1] < table["eval_loss"].iloc[0] - 1.0


def test_growth_continues_the_plan_from_where_the_small_run_stopped(task, tmp_path):
    small = train(config(task, tmp_path / "small", stop_fraction=0.5))
    assert small.tokens == 20 * 256
    grown = train(
        TrainConfig(
            out=str(tmp_path / "grown"),
            init_from=str(tmp_path / "small"),
            grow="depth",
            eval_path=task[1],
            seq_len=32,
            batch_size=8,
            lr=1e-2,
            n_evals=6,
            threads=1,
        )
    )
    cfg = json.loads((tmp_path / "grown" / "config.json").read_text())
    assert cfg["size"] == "s0+depth" and cfg["model"]["n_layer"] == 2 and cfg["start_tokens"] == 20 * 256
    table = metrics(tmp_path / "grown")
    assert table["tokens"].iloc[0] > 20 * 256 and grown.tokens == 40 * 256
    small_first = metrics(tmp_path / "small").dropna(subset=["eval_loss"])["eval_loss"].iloc[0]
    assert grown.final_eval_loss < small_first


def test_answer_loss_weight_is_recorded_and_lowers_answer_loss(task, tmp_path):
    plain = train(config(task, tmp_path / "plain"))
    weighted = train(config(task, tmp_path / "weighted", answer_loss_weight=5.0))
    assert json.loads((tmp_path / "weighted" / "config.json").read_text())["answer_loss_weight"] == 5.0
    for level in (1, 2):
        key = f"answer_loss_level_{level}"
        assert weighted.final_metrics[key] < plain.final_metrics[key]


def test_a_token_cache_changes_nothing_but_fills_once(task, tmp_path):
    plain = config(task, tmp_path / "plain", tokenizer="bpe:300", budget_tokens=15 * 256)
    train(plain)
    cache = tmp_path / "cache"
    train(
        config(task, tmp_path / "cached", tokenizer="bpe:300", budget_tokens=15 * 256, token_cache=str(cache))
    )
    assert (
        metrics(tmp_path / "plain")["train_loss"].tolist()
        == metrics(tmp_path / "cached")["train_loss"].tolist()
    )
    assert any(path.is_file() for path in cache.rglob("*"))
    # token_cache is how the run executes, not what it computes: a rerun with another cache is the same run.
    again = train(config(task, tmp_path / "cached", tokenizer="bpe:300", budget_tokens=15 * 256))
    assert again.steps == 15
