"""`curriscale train` and `curriscale grid` wrap the library; user mistakes become CurriscaleError."""

import json

from train_task import write_eval, write_task_manifest
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.errors import CurriscaleError


def test_train_command_writes_a_run(tmp_path):
    manifest = write_task_manifest(tmp_path / "cur", docs_per_level=50)
    eval_path = write_eval(tmp_path / "eval.jsonl", 20)
    args = ["train", "--manifest", str(manifest), "--size", "s0", "--lr-schedule", "wsd", "--budget-tokens", "2048",
            "--seq-len", "32", "--batch-size", "8", "--eval", str(eval_path), "--out", str(tmp_path / "run"),
            "--threads", "1", "--n-evals", "6"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["lr_schedule"] == "wsd" and config["total_steps"] == 8
    assert json.loads((tmp_path / "run" / "done.json").read_text())["steps"] == 8


def test_train_command_rejects_two_budgets(tmp_path):
    args = [
        "train",
        "--manifest",
        "m.json",
        "--budget-tokens",
        "10",
        "--budget-flops",
        "10",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, CurriscaleError) and "exactly one of" in str(result.exception)


def test_grid_command_names_a_missing_grid_file(tmp_path):
    result = CliRunner().invoke(app, ["grid", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "runs")])
    assert isinstance(result.exception, CurriscaleError) and "nope.yaml" in str(result.exception)


def test_train_command_warns_when_eval_questions_are_cut_by_seq_len(tmp_path):
    manifest = write_task_manifest(tmp_path / "cur", docs_per_level=50)
    eval_path = write_eval(tmp_path / "eval.jsonl", 20)

    def run(seq_len, out):
        args = ["train", "--manifest", str(manifest), "--size", "s0", "--budget-tokens", "1024", "--seq-len",
                str(seq_len), "--batch-size", "8", "--eval", str(eval_path), "--out", str(tmp_path / out),
                "--threads", "1", "--n-evals", "2"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return result

    cut = run(16, "short")  # "capital de: berlin" is 18 bytes: its answer ends past 16 tokens
    config = json.loads((tmp_path / "short" / "config.json").read_text())
    n = config["eval_questions_cut"]
    assert 0 < n < 20 and config["eval_questions"] == 20
    warnings = [line for line in cut.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {n} of 20 eval questions exceed seq_len=16 and have no accuracy; "
        "use --tokenizer bpe:1024 or a larger --seq-len"
    ]
    assert "warning" not in run(32, "long").stderr
