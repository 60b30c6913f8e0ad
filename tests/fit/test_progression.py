"""Curriculum progression per size: a planted grid where a short warmup pays for small models and a
long one for large models; `recommend` must find that switch, each pick with its interval."""

import json

import numpy as np
import pytest
from grid_factory import planted_speedup, write_grid

from curriscale.fit.grid_fit import fit_grid
from curriscale.fit.recommend import decide, progression, recommend_curriculum

SIZES = (12e3, 25e3, 50e3, 100e3, 200e3, 400e3)
# short: pays below 1e5 and costs above; long: the reverse around 5e4 (negative gamma).
PLANTED = {"short": (1e5, 0.2), "long": (5e4, -0.2)}
WARMUPS = {"short": 0.1, "long": 0.4}


@pytest.fixture(scope="module")
def fits_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("switch")
    curricula = {"static-mix": "static", "short": "warmup", "long": "warmup"}
    write_grid(root / "runs", sizes=SIZES, curricula=curricula, seeds=(0, 1, 2), critical={1: 3e4}, steps=40,
               planted=PLANTED, warmups=WARMUPS)  # fmt: skip
    fit_grid(root / "runs", root / "fits", bootstrap=50, annealing=False, temporal_fraction=None)
    return root / "fits"


def test_the_progression_switches_curriculum_and_warmup_with_size(fits_dir):
    manifest = recommend_curriculum(fits_dir, 2e4, fits_dir.parent / "small" / "manifest.json")
    table = {int(e["non_embedding_params"]): e for e in manifest["recommendation"]["progression"]}
    assert sorted(table) == [int(n) for n in SIZES]
    for n in (12e3, 25e3):
        entry = table[int(n)]
        assert (entry["curriculum"], entry["warmup_fraction"]) == ("short", pytest.approx(0.1))
        assert entry["pacing"] == {
            "kind": "warmup",
            "params": {"start_fraction": 0.2, "warmup_fraction": 0.1},
        }
        # The interval it rests on lies above 1 and holds the planted speedup.
        low, high = entry["speedup_ci"]
        assert 1 < low <= planted_speedup(n, *PLANTED["short"]) <= high and entry["clear"]
        assert entry["eval_loss_diff"] < 0 and entry["eval_loss_diff_ci"][1] < 0
        assert entry["basis"].startswith("short (cosine) pays: speedup")
    for n in (200e3, 400e3):
        entry = table[int(n)]
        assert (entry["curriculum"], entry["warmup_fraction"]) == ("long", pytest.approx(0.4))
        assert entry["speedup_ci"][0] > 1 and not entry["no_curriculum"]


def test_the_decision_at_a_size_follows_the_progression_with_a_trend_interval(fits_dir, tmp_path):
    small = recommend_curriculum(fits_dir, 2e4, tmp_path / "a.json")["recommendation"]
    large = recommend_curriculum(fits_dir, 3e5, tmp_path / "b.json")["recommendation"]
    assert (small["curriculum"], small["warmup_fraction"]) == ("short", pytest.approx(0.1))
    assert (large["curriculum"], large["warmup_fraction"]) == ("long", pytest.approx(0.4))
    for decision, n in ((small, 2e4), (large, 3e5)):
        interval = decision["speedup_interval"]
        assert interval["curriculum"] == decision["curriculum"] and interval["sizes"] == len(SIZES)
        planted = planted_speedup(n, *PLANTED[decision["curriculum"]])
        assert interval["ci"][0] < planted < interval["ci"][1] and interval["ci"][0] > 1
        assert interval["speedup"] == pytest.approx(planted, rel=0.05)
    json.dumps(large)  # JSON-ready


def test_no_arm_that_clearly_pays_means_the_static_mix_with_the_best_arms_interval(fits_dir):
    fits = json.loads((fits_dir / "fits.json").read_text())
    comparison = json.loads((fits_dir / "comparison.json").read_text())
    # Around the switch both warmups pay a little; widen every interval over 1 and nothing is clear.
    for cell in comparison["cells"]:
        cell["speedup_ci"] = [0.5, 2.0]
    table = progression(fits, comparison)
    assert all(e["curriculum"] == "static-mix" and e["no_curriculum"] for e in table)
    assert all(e["basis"].startswith("no arm clearly pays; the best,") for e in table)
    assert all(e["clear"] is False for e in table)
    assert table[0]["pacing"]["kind"] == "static" and table[0]["warmup_fraction"] == 0.0
    assert table[0]["lr_schedule"] == "cosine"
    # A single seed has no interval: the point estimates decide, and the entry says so.
    for cell in comparison["cells"]:
        cell["speedup_ci"] = [None, None]
    single = progression(fits, comparison)
    assert single[0]["curriculum"] == "short" and single[0]["clear"] is None
    assert "(no interval: one seed)" in single[0]["basis"]
    assert decide(fits, comparison, 2e4)["speedup_interval"] is None
    assert np.isfinite(single[-1]["speedup"])


def test_cli_prints_the_progression_and_the_interval(fits_dir, tmp_path):
    from typer.testing import CliRunner

    from curriscale.cli.app import app

    args = ["recommend", str(fits_dir), "--size", "2e4", "--out", str(tmp_path / "m.json")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    assert "speedup trend of short (cosine) there:" in printed
    assert "n12000: short, warmup 0.10 - short (cosine) pays: speedup" in printed
    assert "long, warmup 0.40 - long (cosine) pays" in printed
