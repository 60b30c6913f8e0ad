"""Recommendations from a grid whose curriculum pays below 1e5 parameters and costs above it."""

import json
import shutil

import pytest
from grid_factory import write_grid
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.errors import CurriscaleError
from curriscale.fit.grid_fit import fit_grid
from curriscale.fit.recommend import decide, extrapolation, recommend_curriculum, speedup_trend
from curriscale.io import sha256_file


@pytest.fixture(scope="module")
def fits_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    write_grid(root / "runs", sizes=(12e3, 25e3, 50e3, 200e3, 400e3), seeds=(0, 1), critical={1: 3e4})
    fit_grid(root / "runs", root / "fits", bootstrap=10, annealing=False)
    return root / "fits"


def test_small_model_gets_the_curriculum_written_beside_copied_tiers(fits_dir, tmp_path):
    out = tmp_path / "small" / "manifest.json"
    manifest = recommend_curriculum(fits_dir, 2e4, out)
    decision = manifest["recommendation"]
    assert decision["curriculum"] == "ladder" and not decision["no_curriculum"]
    assert decision["predicted_speedup"]["ladder/cosine"] == pytest.approx((1e5 / 2e4) ** 0.2, rel=0.1)
    assert (
        decision["predicted_eval_loss"]["ladder/cosine"]
        < decision["predicted_eval_loss"]["static-mix/cosine"]
    )
    assert decision["pacing"]["kind"] == "linear"
    assert manifest["lr_schedule"]["kind"] == decision["lr_schedule"] == "cosine"  # what training follows
    assert decision["warmup_fraction"] == pytest.approx(0.5)
    assert decision["starting_tier"] == 1 and decision["starting_tiers"] == [1]
    assert not decision["extrapolated"] and decision["warnings"] == []
    assert decision["predicted_eval_loss_missing"] == {}
    assert decision["basis"].startswith("the speedup trend and the power laws")
    # Provenance by name and hash: no path leaves the manifest's folder.
    source = fits_dir.parent / "runs" / "manifests" / "ladder" / "manifest.json"
    assert decision["source_manifest"] == {
        "curriculum": "ladder",
        "name": "ladder",
        "sha256": sha256_file(source),
    }
    assert str(fits_dir.parent) not in json.dumps(decision)
    # The written manifest is the chosen one plus the recommendation and the chosen LR schedule
    # (the source pairs none), and every file it lists exists under the output folder.
    written = json.loads(out.read_text())
    source = json.loads((fits_dir.parent / "runs" / "manifests" / "ladder" / "manifest.json").read_text())
    assert source["lr_schedule"] is None and written["lr_schedule"] == {"kind": "cosine", "params": {}}
    unchanged = ("recommendation", "lr_schedule")
    assert {k: v for k, v in written.items() if k not in unchanged} == {
        k: v for k, v in source.items() if k not in unchanged
    }
    for tier in written["tiers"]:
        for entry in tier["files"]:
            assert (out.parent / entry["path"]).is_file()


def test_large_model_gets_no_curriculum(fits_dir, tmp_path):
    decision = recommend_curriculum(fits_dir, 1e6, tmp_path / "big.json")["recommendation"]
    assert decision["no_curriculum"] and decision["curriculum"] == "static-mix"
    assert decision["predicted_speedup"]["ladder/cosine"] == pytest.approx((1e5 / 1e6) ** 0.2, rel=0.1)
    assert decision["pacing"]["kind"] == "static" and decision["warmup_fraction"] == 0.0
    assert decision["extrapolated"]
    assert decision["warnings"] == [
        "1M params is 2.5x beyond the largest size in the grid (400k): extrapolated"
    ]


def test_extrapolation_warning_says_how_far():
    sizes = [26_784, 55_536, 150_976]
    assert (
        extrapolation(2e6, sizes)
        == "2M params is 13x beyond the largest size in the grid (151k): extrapolated"
    )
    assert (
        extrapolation(5e3, sizes)
        == "5k params is 5.4x below the smallest size in the grid (26.8k): extrapolated"
    )
    assert extrapolation(1e5, sizes) is None and extrapolation(1e5, []) is None


def test_copied_tree_keeps_working(tmp_path):
    write_grid(tmp_path / "a" / "runs", sizes=(1e4, 2e4, 4e4), seeds=(0,), critical={1: 3e4}, steps=20)
    fit_grid(tmp_path / "a" / "runs", tmp_path / "a" / "fits", bootstrap=0, annealing=False)
    shutil.move(tmp_path / "a", tmp_path / "b")  # the original paths are gone
    manifest = recommend_curriculum(tmp_path / "b" / "fits", 3e4, tmp_path / "rec" / "manifest.json")
    assert manifest["recommendation"]["source_manifest"]["name"] in {"ladder", "static-mix"}


def test_decide_needs_both_signals_to_agree():
    fits = {"scaling": []}  # no power laws: the speedup trend alone decides
    cells = [
        {"curriculum": "c", "lr_schedule": "const", "non_embedding_params": n, "speedup": s}
        for n, s in [(1e4, 2.0), (1e5, 1.0)]
    ]
    assert speedup_trend(cells, 1e3)[("c", "const")] == pytest.approx(4.0)
    comparison = {"baseline": "static", "cells": cells}
    assert decide(fits, comparison, 1e3)["curriculum"] == "c"
    assert decide(fits, comparison, 1e6)["curriculum"] == "static"


def test_user_errors(fits_dir, tmp_path):
    with pytest.raises(CurriscaleError, match="fits.json: not found"):
        recommend_curriculum(tmp_path, 1e5, tmp_path / "m.json")
    with pytest.raises(CurriscaleError, match="positive"):
        recommend_curriculum(fits_dir, 0, tmp_path / "m.json")
    source = fits_dir.parent / "runs" / "manifests" / "static-mix" / "manifest.json"
    with pytest.raises(CurriscaleError, match="refusing to overwrite"):
        recommend_curriculum(fits_dir, 1e6, source)
    # A different file already at a tier's place is never overwritten.
    clash = tmp_path / "clash"
    (clash / "tier=00").mkdir(parents=True)
    (clash / "tier=00" / "part-00000.parquet").write_bytes(b"other")
    with pytest.raises(CurriscaleError, match="exists with different content"):
        recommend_curriculum(fits_dir, 1e6, clash / "manifest.json")


def test_output_beside_the_source_manifest_reuses_its_tiers(fits_dir):
    folder = fits_dir.parent / "runs" / "manifests" / "static-mix"
    before = sorted(p.name for p in folder.rglob("*"))
    recommend_curriculum(fits_dir, 1e6, folder / "recommended.json")
    assert sorted(p.name for p in folder.rglob("*")) == sorted([*before, "recommended.json"])


def test_cli_fit_then_recommend(tmp_path):
    runs = write_grid(tmp_path / "runs", sizes=(1e4, 2e4), seeds=(0,), critical={1: 3e4}, steps=20)
    runner = CliRunner()
    fitted = runner.invoke(
        app, ["fit", str(runs), "--out", str(tmp_path / "fits"), "--bootstrap", "5", "--no-annealing"]
    )
    assert fitted.exit_code == 0, fitted.output
    assert "thecurriculum'ladder'helpedateverysize(10kand20kparams)" in "".join(fitted.output.split())
    fits = json.loads((tmp_path / "fits" / "fits.json").read_text())
    assert {row["fit"]["skipped"] for row in fits["scaling"]} == {"2 sizes; a power law needs 3"}
    out = tmp_path / "rec" / "manifest.json"
    chosen = runner.invoke(app, ["recommend", str(tmp_path / "fits"), "--size", "5e3", "--out", str(out)])
    assert chosen.exit_code == 0, chosen.output
    printed = "".join(chosen.output.split())
    assert "curriculum'ladder',pacinglinear" in printed
    assert "warning:5kparamsis2xbelowthesmallestsizeinthegrid(10k):extrapolated" in printed
    assert "basedonthespeeduptrendalone:nopowerlawoffinalevallosswasfitted(2sizes;apowerlawneeds3)" in printed
    decision = json.loads(out.read_text())["recommendation"]
    assert decision["curriculum"] == "ladder" and decision["predicted_eval_loss"] == {}
    assert decision["predicted_eval_loss_missing"] == {
        "ladder/cosine": "2 sizes; a power law needs 3", "static-mix/cosine": "2 sizes; a power law needs 3"
    }  # fmt: skip
    assert decision["lr_schedule"] == "cosine"
