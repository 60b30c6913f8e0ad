"""A run folder is only reused for the same run: bad options write nothing, other configs are refused."""

from __future__ import annotations

import json
import os

import pytest
from train_task import write_eval, write_task_manifest
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.errors import CurriscaleError
from curriscale.train.config import TrainConfig
from curriscale.train.data import manifest_source
from curriscale.train.model import GPTConfig
from curriscale.train.trainer import train

BATCH = 8 * 32  # tokens per step in these runs


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    manifest = write_task_manifest(folder / "curriculum", docs_per_level=100)
    return str(manifest), str(write_eval(folder / "eval.jsonl", 20))


def config(task, out, **overrides) -> TrainConfig:
    manifest, eval_path = task
    base = dict(out=str(out), manifest=manifest, eval_path=eval_path, size="s0", seq_len=32, batch_size=8,
                budget_tokens=6 * BATCH, n_evals=2, log_every=2, threads=1)  # fmt: skip
    return TrainConfig(**{**base, **overrides})


def cli(task, out, *extra):
    manifest, eval_path = task
    args = ["train", "--manifest", manifest, "--eval", eval_path, "--seq-len", "32", "--batch-size", "8",
            "--budget-tokens", str(6 * BATCH), "--n-evals", "2", "--threads", "1", "--out", str(out), *extra]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_a_bad_size_writes_nothing_and_the_corrected_rerun_uses_its_own_tokenizer(task, tmp_path):
    out = tmp_path / "stale"
    failed = cli(task, out, "--size", "s99")
    assert isinstance(failed.exception, CurriscaleError) and "--size 's99'" in str(failed.exception)
    assert not out.exists()
    fixed = cli(task, out, "--size", "s0", "--tokenizer", "bpe:300")
    assert fixed.exit_code == 0, fixed.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["vocab_size"] > 257 and cfg["request"]["tokenizer"] == "bpe:300"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tokenizer": "bpe:12"}, "bpe:<vocab size>"),
        ({"lr_schedule": "zigzag"}, "--lr-schedule 'zigzag'"),
        ({"budget_tokens": 0}, "--budget-tokens 0: must be a positive number"),
        ({"lr_params": {"decay": 0.5}}, "lr_params \\['decay'\\]: unknown"),
        ({"batch_size": 0}, "--batch-size 0"),
    ],
)
def test_bad_options_fail_when_the_config_is_made(task, tmp_path, overrides, message):
    with pytest.raises(CurriscaleError, match=message):
        config(task, tmp_path / "run", **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"eval_path": "nowhere.jsonl"}, "--eval nowhere.jsonl: file not found"),
        ({"manifest": "nowhere.json"}, "--manifest nowhere.json: file not found"),
        ({"tokenizer": "nowhere/tokenizer.json"}, "--tokenizer nowhere/tokenizer.json: file not found"),
        ({"budget_tokens": BATCH - 1}, "less than one batch"),  # known only once the model is built
    ],
)
def test_bad_inputs_fail_before_anything_is_written(task, tmp_path, overrides, message):
    with pytest.raises(CurriscaleError, match=message):
        train(config(task, tmp_path / "run", **overrides))
    assert not (tmp_path / "run").exists()


def test_a_tokenizer_left_in_a_folder_without_a_run_is_not_reused(task, tmp_path):
    run = tmp_path / "run"
    train(config(task, tmp_path / "bytes_run"))
    train(config(task, tmp_path / "bpe_run", tokenizer="bpe:300"))
    run.mkdir()
    (run / "tokenizer.json").write_bytes((tmp_path / "bpe_run" / "tokenizer.json").read_bytes())
    train(config(task, run))  # bytes, as asked
    assert json.loads((run / "config.json").read_text())["model"]["vocab_size"] == 257


def test_a_finished_run_with_another_config_is_refused_naming_the_fields(task, tmp_path):
    run = tmp_path / "run"
    first = train(config(task, run))
    with pytest.raises(CurriscaleError) as error:
        train(config(task, run, budget_tokens=12 * BATCH, lr=1e-2))
    message = str(error.value)
    assert message == (
        f"{run} holds a run with a different config "
        f"(budget_tokens: {6 * BATCH} -> {12 * BATCH}, lr: 0.003 -> 0.01); use another --out"
    )
    assert "\n" not in message and train(config(task, run)) == first


def test_an_interrupted_run_with_another_size_is_refused(task, tmp_path):
    run = tmp_path / "run"

    def crash_after_a_checkpoint(*args, **kwargs):
        source = manifest_source(*args, **kwargs)

        class Crashing:
            def __iter__(self):
                for i, item in enumerate(source):
                    if i == 8 * 4:
                        raise KeyboardInterrupt("killed")
                    yield item

            state_dict, load_state_dict = source.state_dict, source.load_state_dict

        return Crashing()

    with pytest.raises(KeyboardInterrupt):
        train(config(task, run, n_evals=6), source_factory=crash_after_a_checkpoint)
    assert (run / "checkpoint").is_dir() and not (run / "done.json").exists()
    with pytest.raises(CurriscaleError, match=r"different config \(size: s0 -> s1\)"):
        train(config(task, run, size="s1", n_evals=6))
    assert train(config(task, run, n_evals=6)).steps == 6  # the same request resumes


def test_same_run_from_another_directory_with_other_threads_is_the_same_run(task, tmp_path, monkeypatch):
    run = tmp_path / "run"
    first = train(config(task, run))
    monkeypatch.chdir(tmp_path)
    relative = (os.path.relpath(task[0]), os.path.relpath(task[1]))
    assert train(config(relative, "run", threads=2, lr_schedule="cosine")) == first


def test_a_run_folder_from_before_the_stored_request_still_resumes_and_refuses(task, tmp_path):
    run = tmp_path / "run"
    budget = {
        "budget_flops": 6 * BATCH * GPTConfig.from_size("s0", 257, 32).flops_per_token(),
        "budget_tokens": None,
    }
    first = train(config(task, run, **budget))
    path = run / "config.json"
    legacy = json.loads(path.read_text())
    del legacy["request"], legacy["lr_schedule_source"]
    path.write_text(json.dumps(legacy))
    assert train(config(task, run, **budget)) == first
    with pytest.raises(CurriscaleError, match=r"\(seed: 0 -> 1\)"):
        train(config(task, run, **budget, seed=1))
