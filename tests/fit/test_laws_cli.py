"""`curriscale fit law` / `fit predict` round trips through files, and user errors at the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from curriscale.errors import CurriscaleError
from curriscale.fit.api import fit_law
from curriscale.fit.result import FitResult


def chinchilla(n, d):
    return 1.69 + 406.4 * n**-0.34 + 410.7 * d**-0.28


def invoke(*args: str):
    from curriscale.cli.app import app

    return CliRunner().invoke(app, ["fit", *args])


def test_fit_law_then_predict_round_trip(tmp_path):
    n = np.repeat(np.logspace(6, 9, 8), 8)
    d = np.tile(np.logspace(8, 11, 8), 8)
    loss = chinchilla(n, d) * np.exp(np.random.default_rng(0).normal(0, 0.003, len(n)))
    pacsv.write_csv(pa.table({"Model Size": n, "tokens": d, "loss": loss}), tmp_path / "runs.csv")

    result = invoke(
        "law", "chinchilla", str(tmp_path / "runs.csv"), "--col", "n=Model Size", "--col", "d=tokens",
        "--out", str(tmp_path / "fit.json"), "--bootstrap", "5", "--seed", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "fit.json").read_text())
    assert saved["law"] == "chinchilla"
    assert set(saved["params"]) == set(saved["ci"]) == {"E", "A", "B", "alpha", "beta"}
    assert list(FitResult.load(tmp_path / "fit.json").params) == ["E", "A", "B", "alpha", "beta"]
    assert saved["columns"] == {"n": "Model Size", "d": "tokens", "loss": "loss"}
    assert saved["metrics"]["converged"] is True and saved["metrics"]["heldout_error"] < 0.02
    assert abs(saved["params"]["alpha"] - 0.34) < 0.05 * 0.34

    new_n, new_d = np.array([2e9, 5e9]), np.array([1e11, 3e11])
    pq.write_table(
        pa.table({"Model Size": new_n, "tokens": new_d, "note": ["a", "b"]}), tmp_path / "new.parquet"
    )
    result = invoke(
        "predict",
        str(tmp_path / "fit.json"),
        str(tmp_path / "new.parquet"),
        "--out",
        str(tmp_path / "pred.parquet"),
    )
    assert result.exit_code == 0, result.output
    pred = pq.read_table(tmp_path / "pred.parquet")
    # The fit was bootstrapped: every predicted row gets its band.
    assert pred.column_names == ["Model Size", "tokens", "note", "loss_pred", "loss_lo", "loss_hi"]
    assert pred.column("note").to_pylist() == ["a", "b"]
    assert np.allclose(pred.column("loss_pred").to_numpy(), chinchilla(new_n, new_d), rtol=0.01)
    low, mid, high = (pred.column(c).to_numpy() for c in ("loss_lo", "loss_pred", "loss_hi"))
    assert np.all(low < high) and np.all(low <= mid * 1.001) and np.all(mid <= high * 1.001)
    assert np.all(high - low < 0.05 * mid)
    assert np.allclose(
        FitResult.load(tmp_path / "fit.json").predict({"n": new_n, "d": new_d}),
        pred.column("loss_pred").to_numpy(),
    )


def test_annealing_csv_with_empty_loss_cells(tmp_path):
    steps = np.arange(1, 1001)
    lr = np.where(steps < 700, 1e-3, 1e-3 * (1 - (steps - 700) / 310))
    s1 = np.cumsum(lr)
    loss = 2.0 + 1.5 * s1**-0.5  # no annealing term in the truth: C should come out small
    lines = ["step,lr,train loss"] + [
        f"{s},{r},{'' if s % 20 else round(v, 6)}" for s, r, v in zip(steps, lr, loss, strict=True)
    ]
    (tmp_path / "curve.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "fit.json"
    result = invoke(
        "law", "lr-annealing", str(tmp_path / "curve.csv"), "--col", "loss=train loss", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    fit = FitResult.load(out)
    assert fit.metrics["n_points"] == 50
    assert list(fit.params) == ["L0", "A", "C", "alpha", "lam"]
    result = invoke("predict", str(out), str(tmp_path / "curve.csv"), "--out", str(tmp_path / "pred.csv"))
    assert result.exit_code == 0, result.output
    pred = pacsv.read_csv(tmp_path / "pred.csv").column("loss_pred").to_numpy()
    assert len(pred) == 1000 and np.mean(np.abs(pred - loss) / loss) < 0.005


def test_predict_interval_widens_with_extrapolation_and_needs_a_bootstrap():
    x = np.logspace(4, 7, 12)
    data = {"x": x, "loss": (1.7 + 400 * x**-0.3) * np.exp(np.random.default_rng(1).normal(0, 0.01, 12))}
    fit = FitResult.from_json(fit_law("power", data, bootstrap=40, seed=0).to_json())
    assert len(fit.draws) == 40 and len(fit.draws[0]) == 3
    far = np.array([1e7, 1e9, 1e11])
    low, high = fit.predict_interval({"x": far})
    assert np.all(low <= fit.predict({"x": far})) and np.all(fit.predict({"x": far}) <= high)
    assert np.all(np.diff(high - low) > 0)  # further out, less sure
    with pytest.raises(CurriscaleError, match="refit with --bootstrap N"):
        fit_law("power", data).predict_interval({"x": far})


def test_degenerate_fit_is_flagged_in_fit_json_and_warned(tmp_path):
    # Loss rising with size: no decreasing power law describes it.
    x = np.logspace(4, 9, 10)
    pacsv.write_csv(pa.table({"x": x, "loss": 2.0 + 0.1 * np.log10(x)}), tmp_path / "rising.csv")
    result = invoke("law", "power", str(tmp_path / "rising.csv"), "--out", str(tmp_path / "fit.json"))
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "fit.json").read_text())["metrics"]
    assert metrics["degenerate"] is True and "fit error" in metrics["degenerate_reason"]
    assert "degenerate fit: " + metrics["degenerate_reason"] in " ".join(result.output.split())


def test_decay_option_fixes_or_fits_lam(tmp_path):
    steps = np.arange(1, 601)
    lr = np.where(steps < 400, 1e-3, 1e-3 * (1 - (steps - 400) / 210))
    loss = 2.0 + 1.5 * np.cumsum(lr) ** -0.5
    pacsv.write_csv(pa.table({"step": steps, "lr": lr, "loss": loss}), tmp_path / "curve.csv")
    for option, check in (("0.99", lambda lam: lam == 0.99), ("fit", lambda lam: 0.0 <= lam < 1.0)):
        out = tmp_path / f"fit-{option}.json"
        result = invoke(
            "law", "lr-annealing", str(tmp_path / "curve.csv"), "--decay", option, "--out", str(out)
        )
        assert result.exit_code == 0, result.output
        fit = FitResult.load(out)
        assert list(fit.params) == ["L0", "A", "C", "alpha", "lam"] and check(fit.params["lam"])
        assert fit.options == {"lam": None if option == "fit" else 0.99}
    result = invoke("law", "lr-annealing", str(tmp_path / "curve.csv"), "--decay", "slow", "--out", str(out))
    assert isinstance(result.exception, CurriscaleError) and "--decay 'slow'" in str(result.exception)


def test_bad_column_is_a_one_line_error_with_exit_code_2(tmp_path):
    pacsv.write_csv(
        pa.table({"params": [1e6, 1e7, 1e8, 1e9], "loss": [3.0, 2.5, 2.2, 2.0]}), tmp_path / "d.csv"
    )
    env = {**os.environ, "COLUMNS": "300"}  # keep rich from wrapping the one-line error
    command = [sys.executable, "-c", "from curriscale.cli.app import main; main()", "fit", "law", "power"]
    done = subprocess.run(
        [*command, str(tmp_path / "d.csv"), "--col", "x=size", "--out", str(tmp_path / "f.json")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert "column 'size' (role 'x') not found; columns are: params, loss" in done.stderr
    assert not (tmp_path / "f.json").exists()
    done = subprocess.run(
        [*command, str(tmp_path / "missing.csv"), "--out", "f.json"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2 and "missing.csv: no such file" in done.stderr


def test_malformed_options_raise_curriscale_errors(tmp_path):
    pacsv.write_csv(
        pa.table({"x": [1e6, 1e7, 1e8, 1e9, 1e10], "loss": [3.0, 2.5, 2.2, 2.0, 1.9]}), tmp_path / "d.csv"
    )
    for args, message in [
        (["--col", "x"], "expected ROLE=COLUMN"),
        (["--breaks", "many"], "expected a number of breaks or 'auto'"),
    ]:
        result = invoke("law", "bnsl", str(tmp_path / "d.csv"), "--out", str(tmp_path / "f.json"), *args)
        assert isinstance(result.exception, CurriscaleError) and message in str(result.exception)


def test_a_path_as_first_argument_routes_to_the_grid_command(tmp_path):
    result = invoke(str(tmp_path / "no-grid"), "--out", str(tmp_path / "fits"))
    # Without routing click would answer "No such command"; the grid loader names the folder instead.
    assert isinstance(result.exception, CurriscaleError)
    assert "no-grid" in str(result.exception)
