"""Grow by distillation: the KL term, a student pulled towards its teacher, FLOPs accounting, the
grid's distill entries at equal compute, DDP, resume after SIGKILL, and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from train_task import write_eval, write_task_manifest

from curriscale.errors import CurriscaleError
from curriscale.train.checkpoint import checkpoint_dir, load_weights
from curriscale.train.config import TrainConfig
from curriscale.train.distill import check_same_teacher, distill_kl, read_teacher
from curriscale.train.grid import plan_cells, run_grid
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.setup import describe_run
from curriscale.train.tokenizer import load_tokenizer
from curriscale.train.trainer import train

SEQ, BATCH, STEPS = 32, 8, 80  # the teacher trains the first half of STEPS, the student the rest
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    return str(write_task_manifest(folder / "curriculum")), str(write_eval(folder / "eval.jsonl", 60))


def options(task, **overrides) -> dict:
    base = dict(eval_path=task[1], seq_len=SEQ, batch_size=BATCH, lr=1e-2, n_evals=4, log_every=5, threads=1)
    return {**base, **overrides}


@pytest.fixture(scope="module")
def teacher(task, tmp_path_factory):
    """s0 on the first half of the plan, as a grid's first-stage cell."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    train(TrainConfig(out=str(out), manifest=task[0], size="s0", budget_tokens=STEPS * BATCH * SEQ,
                      stop_fraction=0.5, **options(task)))  # fmt: skip
    return out


def student(task, teacher, out, **overrides) -> TrainConfig:
    return TrainConfig(out=str(out), size="s1", distill_from=str(teacher), **options(task, **overrides))


def metrics(run_dir: Path):
    return pq.read_table(run_dir / "metrics.parquet").to_pandas()


def test_kl_term_matches_a_direct_computation():
    torch.manual_seed(0)
    student_logits = (3 * torch.randn(2, 5, 11)).requires_grad_()
    teacher_logits = 3 * torch.randn(2, 5, 11)
    for temperature in (0.5, 1.0, 3.0):
        p = torch.softmax(teacher_logits.double() / temperature, -1)
        q = torch.softmax(student_logits.detach().double() / temperature, -1)
        expected = (p * (p.log() - q.log())).sum(-1).mean()  # KL(teacher || student) per token, averaged
        got = distill_kl(student_logits, teacher_logits, temperature)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-7)
        # Forward KL's gradient on the student's logits: (q - p) / T per token (mean over 10 tokens).
        (grad,) = torch.autograd.grad(got, student_logits)
        torch.testing.assert_close(grad.double(), (q - p) / temperature / 10, rtol=1e-4, atol=1e-7)
    same = distill_kl(teacher_logits, teacher_logits, 2.0)
    assert abs(same.item()) < 1e-6


def test_distilled_student_ends_closer_to_its_teacher(task, teacher, tmp_path):
    taught = train(student(task, teacher, tmp_path / "taught", distill_weight=0.8, distill_temperature=1.0))
    fresh = train(student(task, teacher, tmp_path / "fresh", distill_weight=0.0, distill_temperature=1.0))
    assert taught.steps == fresh.steps == STEPS // 2 and taught.tokens == fresh.tokens == STEPS * BATCH * SEQ
    # The logged KL (training batches, the same stream in both runs) and the KL on the eval texts.
    logged = [metrics(tmp_path / name)["distill_kl"].iloc[-1] for name in ("taught", "fresh")]
    assert logged[0] < 0.85 * logged[1], logged  # measured 0.149 vs 0.213
    stream = load_tokenizer(teacher / "tokenizer.json").encode(
        " ".join(json.loads(line)["text"] for line in Path(task[1]).read_text().splitlines())
    )
    ids = torch.tensor(stream.ids[: len(stream.ids) // SEQ * SEQ]).view(-1, SEQ)
    big_teacher = final_model(teacher)
    on_eval = [
        distill_kl(final_model(tmp_path / name)(ids), big_teacher(ids), 1.0).item()
        for name in ("taught", "fresh")
    ]
    assert on_eval[0] < 0.7 * on_eval[1], on_eval  # measured 0.144 vs 0.265
    config = json.loads((tmp_path / "taught" / "config.json").read_text())
    recorded = config["distill_teacher"]
    assert (
        config["size"] == "s0+distill-s1"
        and config["model"]["d_model"] == 32
        and config["model"]["n_layer"] == 2
    )
    assert (
        recorded["run"] == str(teacher.resolve()) and recorded["size"] == "s0" and recorded["continues_plan"]
    )
    assert recorded["n_params"] == GPTConfig.from_size("s0", 257, SEQ).n_params()
    assert (recorded["temperature"], recorded["weight"], recorded["step"]) == (1.0, 0.8, STEPS // 2)


@torch.no_grad()
def final_model(run_dir: Path) -> GPT:
    model = GPT(GPTConfig(**json.loads((run_dir / "config.json").read_text())["model"]))
    load_weights(checkpoint_dir(run_dir), model)
    return model.eval()


def test_flops_count_the_teachers_forward_pass(task, teacher, tmp_path):
    for size in ("s0", "s3", "m10", "L3-D64"):
        shape = GPTConfig.from_size(size, 300, 128)
        assert 3 * shape.forward_flops_per_token() == shape.flops_per_token()
    small, big = GPTConfig.from_size("s0", 257, SEQ), GPTConfig.from_size("s1", 257, SEQ)
    per_token = big.flops_per_token() + 2 * small.n_params() + 4 * small.n_layer * small.d_model * SEQ
    train(student(task, teacher, tmp_path / "taught"))
    first = json.loads((teacher / "done.json").read_text())
    table = metrics(tmp_path / "taught")
    expected = first["flops"] + (table["tokens"] - first["tokens"]) * per_token
    np.testing.assert_allclose(table["flops"], expected, rtol=1e-12)
    assert first["flops"] == first["tokens"] * small.flops_per_token()

    # A FLOPs budget of its own (classic distillation from token 0) pays the teacher's forward too.
    own = student(task, teacher, tmp_path / "own", manifest=task[0], budget_flops=3e8)
    plan = describe_run(own)
    assert plan["flops_per_token"] == per_token and plan["budget_tokens"] == int(3e8 // per_token)
    assert plan["teacher"].startswith(f"{teacher} (s0, step {STEPS // 2}), from token 0")
    result = train(own)
    assert result.tokens == plan["steps"] * BATCH * SEQ and result.flops == result.tokens * per_token


def test_grid_distill_entry_plans_its_cells_at_equal_compute(task, tmp_path):
    folder = tmp_path / "grid"
    write_task_manifest(folder / "ladder", weights=((1.0, 0.0), (0.5, 0.5)), name="ladder")
    write_eval(folder / "eval.jsonl", 40)
    budget = 4e9
    grid = {
        "sizes": ["s1"], "manifests": {"ladder": "ladder/manifest.json"}, "lr_schedules": ["cosine"],
        "budget": {"flops": budget}, "lr": {"s0": 1e-2, "s1": 8e-3}, "eval": "eval.jsonl",
        "train": {"batch_size": 8, "seq_len": SEQ, "n_evals": 3, "threads": 1},
        "growth": [{"from": "s0", "grow": "depth", "at": 0.5},
                   {"from": "s0", "grow": "distill", "to": "s1", "at": 0.5, "temperature": 1.5, "weight": 0.3}],
    }  # fmt: skip
    (folder / "GRID.yaml").write_text(yaml.safe_dump(grid))
    cells = plan_cells(folder / "GRID.yaml", folder / "runs")
    assert [(c.name, c.size, c.stage, c.indexed) for c in cells] == [
        ("s1-ladder-cosine-seed0", "s1", 0, True),
        ("s0-depth-ladder-cosine-seed0-stage1", "s0", 0, False),
        ("s0+depth-ladder-cosine-seed0", "s0+depth", 1, True),
        ("s0-distill-s1-ladder-cosine-seed0-stage1", "s0", 0, False),
        ("s0+distill-s1-ladder-cosine-seed0", "s0+distill-s1", 1, True),
    ]
    first, taught = cells[3].config, cells[4].config
    assert (first.size, first.stop_fraction, first.lr) == ("s0", 0.5, 1e-2)
    assert (taught.size, taught.distill_from, taught.lr) == ("s1", first.out, 8e-3)  # the student's own LR
    assert (taught.distill_temperature, taught.distill_weight) == (1.5, 0.3)
    assert taught.budget_tokens is None and taught.init_from is None  # it continues the teacher's plan
    small, big = GPTConfig.from_size("s0", 257, SEQ), GPTConfig.from_size("s1", 257, SEQ)
    second = big.flops_per_token() + small.forward_flops_per_token()
    tokens = first.budget_tokens
    assert abs(0.5 * tokens * small.flops_per_token() + 0.5 * tokens * second - budget) < second

    index = run_grid(folder / "GRID.yaml", folder / "runs").to_pandas()
    assert index["status"].tolist() == ["done"] * 3
    spent = {c.name: json.loads((Path(c.config.out) / "done.json").read_text())["flops"] for c in cells}
    # Fresh, depth-grown and distilled cost the same within a few steps (rounding to whole steps).
    for name in (
        "s1-ladder-cosine-seed0",
        "s0+depth-ladder-cosine-seed0",
        "s0+distill-s1-ladder-cosine-seed0",
    ):
        assert abs(spent[name] - budget) < 3 * BATCH * SEQ * second, (name, spent[name])
    config = json.loads((Path(taught.out) / "config.json").read_text())
    assert config["start_tokens"] == json.loads((Path(first.out) / "done.json").read_text())["tokens"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"from": "s0", "grow": "distill"}, "needs 'to'"),
        ({"from": "s0", "grow": "depth", "to": "s1"}, r"growth\[0\].to: unknown field for grow depth"),
        ({"from": "s0", "grow": "distill", "to": "s99"}, r"growth\[0\].to: --size 's99'"),
        ({"from": "s0", "grow": "fold"}, "grow: depth|width|distill"),
        ({"from": "s0", "grow": "distill", "to": "s1", "at": 1.0}, r"growth\[0\].at: 1.0"),
    ],
)
def test_bad_grid_distill_entry_is_one_line(tmp_path, entry, message):
    grid = {"sizes": ["s0"], "manifests": {"a": "m.json"}, "budget": {"tokens": 1000}, "growth": [entry]}
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(grid))
    with pytest.raises(CurriscaleError, match=message) as error:
        plan_cells(tmp_path / "g.yaml", tmp_path / "runs")
    assert "\n" not in str(error.value) and not (tmp_path / "runs").exists()


def test_bad_teacher_options_are_one_line_errors(task, teacher, tmp_path):
    def refused(config_or_options, match):
        with pytest.raises(CurriscaleError, match=match) as error:
            train(config_or_options() if callable(config_or_options) else config_or_options)
        assert "\n" not in str(error.value)

    own = dict(manifest=task[0], budget_tokens=4 * BATCH * SEQ)
    refused(student(task, tmp_path / "nowhere", tmp_path / "a"), "not a run folder")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(teacher, unfinished)
    (unfinished / "done.json").unlink()
    refused(student(task, unfinished, tmp_path / "b"), "has not finished")
    refused(student(task, teacher, tmp_path / "c", tokenizer="bpe:300", **own), r"tokenizer \(vocab 257\)")
    refused(student(task, teacher, tmp_path / "d", seq_len=2 * SEQ, **own), "context is 32 tokens, shorter")
    whole = tmp_path / "whole"
    train(
        TrainConfig(
            out=str(whole), manifest=task[0], size="s0", budget_tokens=4 * BATCH * SEQ, **options(task)
        )
    )
    refused(student(task, whole, tmp_path / "e"), "none are left for the student")
    refused(lambda: student(task, teacher, tmp_path / "f", distill_weight=1.5), "--distill-weight 1.5")
    refused(
        lambda: student(task, teacher, tmp_path / "g", distill_temperature=0.0), "--distill-temperature 0.0"
    )
    refused(
        lambda: student(task, teacher, tmp_path / "h", init_from=str(teacher), grow="depth"), "choose one"
    )
    refused(lambda: student(task, teacher, tmp_path / "i", budget_tokens=10, budget_flops=1e9), "exactly one")
    assert not any((tmp_path / name).exists() for name in "abcdefghi")  # refused before writing anything


def test_a_resumed_student_checks_its_teacher_is_the_same(task, teacher, tmp_path):
    run = read_teacher(student(task, teacher, tmp_path / "x"))
    folder = tmp_path / "resumed"
    folder.mkdir()
    recorded = {"run": str(teacher.resolve()), "step": STEPS // 2 - 1, "tokens": run.state["tokens"]}
    (folder / "config.json").write_text(json.dumps({"distill_teacher": recorded}))
    with pytest.raises(CurriscaleError, match="its teacher changed since the run started"):
        check_same_teacher(run, folder)
    recorded["step"] = STEPS // 2
    (folder / "config.json").write_text(json.dumps({"distill_teacher": recorded}))
    check_same_teacher(run, folder)


def cli_command(task, teacher, out, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "curriscale", "train", "--distill-from", str(teacher), "--size", "s1",
        "--eval", task[1], "--batch-size", str(BATCH), "--lr", "1e-2", "--n-evals", "8", "--log-every", "5",
        "--threads", "1", "--distill-weight", "0.7", "--distill-temperature", "1.5", "--out", str(out), *extra,
    ]  # fmt: skip


def test_a_killed_student_resumes_to_the_same_losses(task, teacher, tmp_path):
    whole = subprocess.run(
        cli_command(task, teacher, tmp_path / "whole"), env=ENV, capture_output=True, text=True
    )
    assert whole.returncode == 0, whole.stderr[-2000:]
    out = tmp_path / "killed"
    process = subprocess.Popen(cli_command(task, teacher, out), env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if metrics(out)["eval_loss"].notna().sum() >= 3:
                break
        except (OSError, ValueError, KeyError):
            pass  # not written yet, or being replaced
        time.sleep(0.002)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "done.json").exists()
    again = subprocess.run(cli_command(task, teacher, out), env=ENV, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    expected, got = metrics(tmp_path / "whole"), metrics(out)
    assert got["step"].tolist() == expected["step"].tolist()
    for column in ("train_loss", "distill_kl", "eval_loss", "flops"):
        np.testing.assert_array_equal(got[column], expected[column])

    missing = subprocess.run(cli_command(task, tmp_path / "nope", tmp_path / "other"), env=ENV,
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 2
    [line] = missing.stderr.strip().splitlines()
    assert line.startswith("error: --distill-from") and "not a run folder" in line


def test_two_processes_distill_as_one(task, teacher, tmp_path):
    """Each rank holds its own teacher; a student with its own plan computes the steps of one process."""
    extra = ["--manifest", task[0], "--budget-tokens", str(30 * BATCH * SEQ), "--seq-len", str(SEQ)]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command = cli_command(task, teacher, tmp_path / "two", *extra)
    two = subprocess.run([*torchrun, *command[1:]], env=ENV, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run(
        cli_command(task, teacher, tmp_path / "one", *extra), env=ENV, capture_output=True, text=True
    )
    assert one.returncode == 0, one.stderr[-2000:]
    a, b = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert a["step"].tolist() == b["step"].tolist() and len(a) >= 6
    for column in ("train_loss", "distill_kl"):
        np.testing.assert_allclose(b[column], a[column], rtol=1e-5)
    np.testing.assert_allclose(b["eval_loss"].dropna(), a["eval_loss"].dropna(), rtol=1e-5)
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["world_size"] == 2 and not config["distill_teacher"]["continues_plan"]
    assert config["start_tokens"] == 0 and a["flops"].iloc[0] == b["flops"].iloc[0]
