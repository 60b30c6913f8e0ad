"""Degenerate fits are flagged and warned about the same way for every law, at `fit law` and `fit RUNS`."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from grid_factory import write_grid
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.fit.diagnostics import DEGENERATE_FIT_ERROR, degenerate_counts

# A tiny grid: three sizes x three budgets, as a first grid has.
N = np.repeat([2e4, 6e4, 2e5], 3)
D = np.tile([3e4, 1e5, 3e5], 3)


def _undertrained():
    """Big models worse at the smallest budget and better at the largest: no floor, E runs to its bound."""
    ln, ld = np.log10(N) - 4.8, np.log10(D) - 5
    return 4.0 - 1.2 * ld - 0.8 * ln * ld


def _noisy():
    """Losses scattered 20% around a law: the law cannot follow them."""
    law = 2 + 50 * N**-0.3 + 30 * D**-0.25
    return law * np.exp(0.2 * np.random.default_rng(0).standard_normal(len(N)))


@pytest.mark.parametrize(
    "loss, expected",
    [(_undertrained, "E = "), (_noisy, f"> {DEGENERATE_FIT_ERROR:.0%}")],
    ids=["E-at-its-bound", "high-fit-error"],
)
def test_chinchilla_on_a_tiny_grid_is_flagged_and_warned(tmp_path, loss, expected):
    pacsv.write_csv(pa.table({"n": N, "d": D, "loss": loss()}), tmp_path / "tiny.csv")
    result = CliRunner().invoke(
        app, ["fit", "law", "chinchilla", str(tmp_path / "tiny.csv"), "--out", str(tmp_path / "fit.json")]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "fit.json").read_text())["metrics"]
    assert metrics["degenerate"] is True and expected in metrics["degenerate_reason"]
    if expected == "E = ":
        assert "is at the bound of its range" in metrics["degenerate_reason"]
    output = " ".join(result.output.split())
    assert "degenerate fit: " + metrics["degenerate_reason"] in output
    assert "do not read its parameters" in output


def test_fit_grid_warns_about_degenerate_fits_per_law(tmp_path):
    # The training loss diverges late: no LR-annealing law describes it.
    runs = write_grid(
        tmp_path / "runs", sizes=(2e4, 5e4, 1e5, 2e5), seeds=(0,), steps=30, curricula={"static-mix": "static"},
        critical={1: 5e4}, diverge_at=0.7,
    )  # fmt: skip
    result = CliRunner().invoke(
        app,
        ["fit", str(runs), "--out", str(tmp_path / "fits"), "--bootstrap", "0", "--temporal-fraction", "0"],
    )
    assert result.exit_code == 0, result.output
    documents = {name: json.loads((tmp_path / "fits" / f"{name}.json").read_text())
                 for name in ("fits", "critical_points")}  # fmt: skip
    counts = degenerate_counts(documents)
    assert counts["lr-annealing"] == (4, 4) and counts["power"][0] == 0
    output = " ".join(result.output.split())
    assert (
        "degenerate fits: lr-annealing 4 of 4;" in output
        and "power" not in output.split("degenerate fits:")[1]
    )
