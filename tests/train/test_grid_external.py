"""Any trainer in the grid: a command template's cells exported for, run, collected, fitted, reported."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import dill
import pandas as pd
import pytest
import yaml
from test_grid import write_grid

from curriscale.errors import CurriscaleError
from curriscale.train.grid import run_grid
from curriscale.train.grid_executors import MakeExports, TrainCell, chain_executors
from curriscale.train.grid_plan import plan_cells
from curriscale.train.grid_resources import Resources
from curriscale.train.grid_slots import GpuSlots

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "grid_external"

# A stand-in trainer: reads its export's sidecar, writes a loss that falls with width and tokens.
FAKE_TRAINER = """\
import csv, json, sys
from pathlib import Path
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
if Path("broken").exists():
    sys.exit("the trainer is broken")
meta = json.loads((Path(args["--data"]) / "export.json").read_text())
out = Path(args["--out"])
with open(out / "log.csv", "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["it", "seen", "val"])
    for k in range(1, 5):
        tokens = k * int(args["--tokens"]) // 4
        writer.writerow([k, tokens, 3.0 + 100.0 / int(args["--width"]) - k * 0.1])
print("trained on", meta["tokens"], "tokens")
"""
FAKE = {
    "command": "{python} fake_train.py --data {export} --width {d_model} --tokens {budget_tokens} --out {run_dir}",
    "metrics": "{run_dir}/log.csv",
    "columns": {"step": "it", "tokens": "seen", "loss": "val"},
}


def fake_grid(folder: Path, **overrides) -> Path:
    (folder / "fake_train.py").write_text(FAKE_TRAINER)
    return write_grid(folder, trainer={**FAKE, **overrides.pop("trainer", {})}, **overrides)


def test_the_example_grid_runs_end_to_end_then_fits_and_reports(tmp_path):
    """The shipped example at its quick size: 2 sizes x 2 curricula, plain PyTorch as the trainer."""
    from curriscale.builders.build import build_curriculum
    from curriscale.curricula.recipe import load_recipe
    from curriscale.curricula.spectrum import SpectrumConfig, write_spectrum
    from curriscale.fit.grid_fit import fit_grid
    from curriscale.fit.report import write_report

    write_spectrum(
        tmp_path / "spectrum", SpectrumConfig(docs_per_level=150, eval_per_level=20), fmt="parquet"
    )
    for name, recipe in (
        ("ladder", "task-ladder"),
        ("static", str(REPO / "examples/grid/static-levels.yaml")),
    ):
        build_curriculum(
            tmp_path / "spectrum" / "train.parquet", load_recipe(recipe), tmp_path / "curricula" / name
        )
    shutil.copy(REPO / "examples" / "train_plain_pytorch.py", tmp_path)
    grid = yaml.safe_load((EXAMPLE / "GRID.yaml").read_text())
    # The quick size: the smallest sizes, ~50 steps of 16 x 32 tokens, 1 thread per command.
    quick = {"sizes": ["s0", "s1"], "lr": 8e-3, "budget": {"tokens": 16 * 32 * 50}, "train": {"batch_size": 16, "seq_len": 32, "threads": 1}}  # fmt: skip
    (tmp_path / "GRID.yaml").write_text(yaml.safe_dump({**grid, **quick}))
    runs = tmp_path / "runs"

    index = run_grid(tmp_path / "GRID.yaml", runs, workers=2).to_pandas()

    failed = index[index["status"] != "done"]
    logs = [(runs / run / "command.log").read_text()[-2000:] for run in failed["run_dir"] if (runs / run / "command.log").exists()]  # fmt: skip
    assert failed.empty, logs  # CI keeps no files: show what the commands printed
    assert sorted(os.listdir(runs / "exports")) == [
        "eval",
        "ladder-25600",
        "static-25600",
    ]  # once per curriculum
    cell = runs / "cells" / "s1-ladder-cosine-seed0"
    config = json.loads((cell / "config.json").read_text())
    counts = json.loads((cell / "params.json").read_text())  # the script's own model
    assert (
        config["trainer"] == "external" and config["non_embedding_params"] == counts["non_embedding_params"]
    )
    assert config["command"][1:3] == ["train_plain_pytorch.py", str(runs / "exports" / "ladder-25600")]
    assert "--n-layer 2 --d-model 32 --n-head 2 --steps 50" in " ".join(config["command"])
    metrics = pd.read_parquet(cell / "metrics.parquet")
    assert list(metrics.columns[:5]) == ["step", "tokens", "flops", "train_loss", "eval_loss"]
    assert metrics["step"].tolist()[-1] == 50 and metrics["tokens"].tolist()[-1] == 25600
    assert metrics["eval_loss"].iloc[-1] < metrics["eval_loss"].iloc[0] < 5.6  # learned from ln(257)
    assert index.set_index("cell")["n_params"].is_monotonic_increasing
    stamp = (cell / "metrics.parquet").stat().st_mtime_ns

    fits = fit_grid(runs, tmp_path / "fits", bootstrap=20)
    assert fits["fits"]["curricula"] and not fits["fits"]["skipped_runs"]
    write_report(runs, tmp_path / "report", fits=tmp_path / "fits", bootstrap=20)
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "2 curricula x 2 sizes" in summary and "4 finished runs" in summary
    assert "ladder" in (tmp_path / "report" / "report.html").read_text()

    again = run_grid(tmp_path / "GRID.yaml", runs).to_pandas()  # a rerun skips the finished cells
    assert again["status"].tolist() == ["done"] * 4
    assert (cell / "metrics.parquet").stat().st_mtime_ns == stamp
    assert (cell / "command.log").read_text().count("$ cd ") == 1  # the command ran once


def test_a_failing_command_fails_its_cell_naming_the_log_and_a_rerun_tries_it_again(tmp_path):
    grid = fake_grid(tmp_path, sizes=["s0"])
    (tmp_path / "broken").touch()

    index = run_grid(grid, tmp_path / "runs").to_pandas()

    cell = tmp_path / "runs" / "cells" / "s0-ladder-cosine-seed0"
    assert index["status"].tolist() == ["failed"]
    error = json.loads((cell / "error.json").read_text())["error"]
    assert "the trainer command exited with code 1" in error and str(cell / "command.log") in error
    assert "the trainer is broken" in (cell / "command.log").read_text()

    (tmp_path / "broken").unlink()  # fixed in the trainer's code: the grid file is the same
    index = run_grid(grid, tmp_path / "runs").to_pandas()
    assert index["status"].tolist() == ["done"] and not (cell / "error.json").exists()
    metrics = pd.read_parquet(cell / "metrics.parquet")
    assert metrics["step"].tolist() == [1, 2, 3, 4] and metrics["eval_loss"].notna().all()
    assert "trained on" in (cell / "command.log").read_text()


def test_a_metrics_file_without_a_mapped_column_fails_the_cell(tmp_path):
    grid = fake_grid(tmp_path, sizes=["s0"], trainer={"columns": {"tokens": "seen", "loss": "val_loss"}})
    index = run_grid(grid, tmp_path / "runs").to_pandas()
    assert index["status"].tolist() == ["failed"]
    error = json.loads((tmp_path / "runs" / "cells" / "s0-ladder-cosine-seed0" / "error.json").read_text())
    assert (
        "log.csv: no column 'val_loss' for eval_loss" in error["error"]
        and "its columns: it, seen, val" in error["error"]
    )


def test_cells_share_one_export_per_curriculum_and_budget(tmp_path):
    grid = fake_grid(tmp_path, seeds=[0, 1], budget={"flops": 4e9})
    cells = plan_cells(grid, tmp_path / "runs")
    exports = {c.name: c.external.payload(1)["exports"]["export"]["out"] for c in cells}
    assert len(set(exports.values())) == 2  # two sizes see different token budgets; seeds share
    assert exports["s0-ladder-cosine-seed0"] == exports["s0-ladder-cosine-seed1"]
    payload = cells[0].external.payload(3)
    assert payload["argv"][0] == sys.executable and payload["cwd"] == str(tmp_path.resolve())
    assert payload["argv"][payload["argv"].index("--width") + 1] == "32"


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        (
            {"command": "train.py --n {layers}"},
            r"GRID.yaml: trainer.command: unknown placeholder \{layers\} \(known: python,",
        ),
        (
            {"metrics": "{run_dir}/{metric}.csv"},
            r"GRID.yaml: trainer.metrics: unknown placeholder \{metric\}",
        ),
        ({"epochs": 3}, r"GRID.yaml: trainer.epochs: unknown key \(allowed: command, metrics, columns"),
        ({"command": "train.py 'open"}, "GRID.yaml: trainer.command: cannot split it into arguments"),
        ({"command": ""}, "GRID.yaml: trainer.command: a command line"),
        (
            {"metrics": "../elsewhere.csv"},
            "GRID.yaml: trainer.metrics: '../elsewhere.csv' escapes its folder",
        ),
        (
            {"metrics": "/tmp/log.csv"},
            "GRID.yaml: trainer.metrics: /tmp/log.csv is outside the cell's run folder",
        ),
        ({"metrics": "{run_dir}/metrics.parquet"}, "metrics.parquet is a file curriscale writes"),
        ({"columns": ["tokens"]}, "GRID.yaml: trainer.columns: maps curriscale's names"),
        ({"columns": {"loss": "a", "eval_loss": "b"}}, "'loss' and 'eval_loss' are the same metric"),
        (
            {"command": "x --eval {ood_export}"},
            r"GRID.yaml: trainer.command: \{ood_export\} has no value in this grid",
        ),
        ({"command": "x --lr {lr:d}"}, r"GRID.yaml: trainer.command: '\{lr:d\}': Unknown format code 'd'"),
        ({"export_seed": -1}, "GRID.yaml: trainer.export_seed: an integer >= 0"),
    ],
)
def test_a_bad_trainer_section_names_the_grid_file_and_key(tmp_path, trainer, message):
    with pytest.raises(CurriscaleError, match=message):
        plan_cells(fake_grid(tmp_path, trainer=trainer), tmp_path / "runs")


def test_growth_needs_the_built_in_trainer(tmp_path):
    grid = fake_grid(tmp_path, growth=[{"from": "s0", "grow": "depth"}])
    with pytest.raises(CurriscaleError, match="GRID.yaml: growth: grown cells need the built-in trainer"):
        plan_cells(grid, tmp_path / "runs")


def test_the_slurm_script_of_external_cells_shows_their_commands(tmp_path, fake_sbatch):
    grid = fake_grid(tmp_path, resources={"cpus": 4})

    index = run_grid(grid, tmp_path / "runs", executor="slurm", partition="cpu", time="1:00:00").to_pandas()

    assert index["status"].tolist() == ["pending", "pending"]  # submitted, not run
    scripts = {
        p.parent.name.split("-", 1)[1]: p for p in (tmp_path / "runs" / "logs").glob("*/launch_script.slurm")
    }
    assert sorted(scripts) == ["exports", "stage0-procs1-cpus4"]
    lines = scripts["stage0-procs1-cpus4"].read_text().splitlines()
    assert lines[0] == "#!/bin/bash" and "#SBATCH --cpus-per-task=4" in lines
    export = tmp_path.resolve() / "runs" / "exports" / f"ladder-{12 * 8 * 32}"
    shown = f"# task 1 (cell s1-ladder-cosine-seed0) runs: cd {tmp_path.resolve()} && {sys.executable} fake_train.py"
    assert any(line.startswith(shown) and f"--data {export} --width 32" in line for line in lines)
    with open(scripts["exports"].parent / "executor.pik", "rb") as pickled:  # what the export task runs
        jobs = dill.load(pickled).pipeline[0].jobs
    assert [(job["kind"], job["out"]) for job in jobs] == [("curriculum", str(export))]


def test_ray_runs_the_exports_first_then_the_cells_with_their_commands(tmp_path):
    grid = fake_grid(tmp_path, resources={"cpus": 2}, train={"batch_size": 8, "seq_len": 32})  # threads unset
    last = chain_executors(
        plan_cells(grid, tmp_path / "runs"), tmp_path / "runs" / "logs", 2, "ray", str(grid)
    )
    assert isinstance(last.depends.pipeline[0], MakeExports) and last.depends.depends is None
    assert [job["kind"] for job in last.depends.pipeline[0].jobs] == ["curriculum"]
    assert [c["external"]["cell"] for c in last.pipeline[0].configs] == [
        "s0-ladder-cosine-seed0",
        "s1-ladder-cosine-seed0",
    ]
    assert last.cpus_per_task == 2 and last.pipeline[0].configs[0]["external"]["threads"] == 2


def test_a_local_gpu_cell_runs_its_command_seeing_only_its_gpu(tmp_path):
    grid = fake_grid(
        tmp_path,
        sizes=["s0"],
        trainer={"command": "{python} -c \"import os; print('sees', os.environ['CUDA_VISIBLE_DEVICES'])\""},
    )
    (cell,) = plan_cells(grid, tmp_path / "runs")
    step = TrainCell(
        [{"external": cell.external.payload(1)}],
        Resources(gpus=1),
        tmp_path / "logs",
        GpuSlots(tmp_path / "slots", ("3",)),
    )
    step.run(rank=0)
    run_dir = tmp_path / "runs" / "cells" / "s0-ladder-cosine-seed0"
    assert "sees 3" in (run_dir / "command.log").read_text()
    error = json.loads((run_dir / "error.json").read_text())["error"]  # it wrote no metrics file
    assert "log.csv: the command wrote no metrics file" in error


def test_metrics_files_in_each_format_become_curriscale_columns(tmp_path):
    from curriscale.train.external_run import metrics_table

    values, config = {"batch_size": 4, "seq_len": 8}, {"flops_per_token": 10}
    (tmp_path / "log.jsonl").write_text(
        '{"seen": 64, "loss": 3.0, "acc": 0.5}\n{"seen": 128, "loss": null}\n'
    )
    table = metrics_table(tmp_path / "log.jsonl", {"tokens": "seen", "eval_loss": "loss", "accuracy_level_1": "acc"}, values, config)  # fmt: skip
    assert table.column_names == ["step", "tokens", "flops", "eval_loss", "accuracy_level_1"]
    assert table["step"].to_pylist() == [2, 4] and table["flops"].to_pylist() == [640.0, 1280.0]
    pd.DataFrame({"tokens": [32], "eval_loss": [2.0]}).to_parquet(tmp_path / "log.parquet")
    assert metrics_table(tmp_path / "log.parquet", {}, values, config)["step"].to_pylist() == [1]
    (tmp_path / "log.tsv").write_text("tokens\teval_loss\n32\tNaN?\n")
    with pytest.raises(
        CurriscaleError, match=r"log.tsv: column 'eval_loss' \(eval_loss\) holds values that are not numbers"
    ):
        metrics_table(tmp_path / "log.tsv", {}, values, config)


def test_a_command_that_cannot_start_fails_its_cell(tmp_path):
    grid = fake_grid(tmp_path, sizes=["s0"], trainer={"command": "no-such-trainer-xyz --out {run_dir}"})
    assert run_grid(grid, tmp_path / "runs").to_pandas()["status"].tolist() == ["failed"]
    error = json.loads((tmp_path / "runs" / "cells" / "s0-ladder-cosine-seed0" / "error.json").read_text())
    assert "cannot start 'no-such-trainer-xyz'" in error["error"] and error["log"].endswith("command.log")
