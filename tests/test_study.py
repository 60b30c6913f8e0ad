"""The curriculum study's one command, on its --quick plan: every output exists and agrees with fits/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

STUDY = Path(__file__).resolve().parents[1] / "examples" / "study"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, str(STUDY / "run.py"), "--out", str(out), "--quick"],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_stage_wrote_its_output(study):
    out, log = study
    for path in ("fits/fits.json", "fits/comparison.json", "fits/comparison_averaged.json",
                 "fits/critical_points.json", "fits/progression.json", "report.html", "RESULTS.md",
                 "grid.yaml", "study_plan.json", "runs/runs.parquet"):  # fmt: skip
        assert (out / path).is_file(), path
    for name in ("static", "warmup"):
        manifest = _json(out / "curricula" / name / "manifest.json")
        assert len(manifest["tiers"]) == 6  # the six levels
    assert _json(out / "curricula" / "warmup" / "manifest.json")["pacing"]["kind"] == "warmup"
    assert "wrote" in log.splitlines()[-1]


def test_results_table_has_every_cell_with_the_fitters_numbers(study):
    out, _ = study
    plan = _json(out / "study_plan.json")["grid"]
    comparison, averaged = (
        _json(out / "fits" / "comparison.json"),
        _json(out / "fits" / "comparison_averaged.json"),
    )
    text = (out / "RESULTS.md").read_text()
    section = text.split("## Speedup and final-loss difference per cell")[1].split("\n## ")[0]
    rows = [line.split(" | ") for line in section.splitlines() if re.match(r"\| (warmup|static) \| ", line)]
    table = {(r[0].strip("| "), r[1], r[2], r[3]): r for r in rows}
    curricula = [c for c in plan["manifests"] if c != comparison["baseline"]]
    treatments = [t["name"] for t in plan["lr_schedules"]]
    # Every (curriculum, LR treatment, size) cell, raw weights, plus averaged rows for the EMA treatment.
    assert len(comparison["cells"]) == len(curricula) * len(treatments) * len(plan["sizes"])
    for weights, source in (("raw", comparison), ("averaged", averaged)):
        for cell in source["cells"]:
            if weights == "averaged" and cell["lr_schedule"] != "constant-ema":
                continue
            row = table[(cell["curriculum"], cell["lr_schedule"], weights, cell["size"])]
            assert row[5].startswith(f"{cell['speedup']:.2f}x [{cell['speedup_ci'][0]:.2f}, ")
            diff = cell["effects"]["eval_loss"]
            assert row[6].startswith(f"{diff['diff']:+.3f} [{diff['ci'][0]:+.3f}, {diff['ci'][1]:+.3f}]")
    assert len(table) == len(comparison["cells"]) + len(plan["sizes"]) * len(curricula)
    # The averaged comparison is the raw comparison's code on the ema_ metrics: other numbers.
    assert averaged["weights"].startswith("averaged") and averaged["baseline"] == comparison["baseline"]


def test_conclusion_follows_the_verdicts_and_results_are_a_pure_function_of_fits(study):
    out, _ = study
    text = (out / "RESULTS.md").read_text()
    verdicts = re.findall(r"\| (\*\*beats static\*\*|loses to static|not resolved|no interval \(one seed\)) \|$",
                          text, flags=re.M)  # fmt: skip
    assert verdicts
    conclusion = text.split("## Conclusion")[1]
    assert "smoke run" in conclusion
    if "**beats static**" in verdicts:
        assert "A curriculum beats the static mix" in conclusion
    else:
        assert "No setting beats the static mix at equal compute" in conclusion
    progression = _json(out / "fits" / "progression.json")
    assert [e["size"] for e in progression["raw"]] == ["s0", "s1", "s2"]
    assert all(e["pacing"]["kind"] in ("static", "warmup") for e in progression["raw"])
    before = text
    done = subprocess.run([sys.executable, str(STUDY / "run.py"), "--out", str(out), "--results-only"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "RESULTS.md").read_text() == before


def test_growth_arms_are_set_against_fresh_at_equal_compute(study):
    out, _ = study
    growth = _json(out / "fits" / "growth.json")
    arms = {arm["size"]: arm for arm in growth["arms"]}
    # QUICK's growth grid: s0 grown by depth (nearest fresh: s1) and distilled into s1.
    assert set(arms) == {"s0+depth", "s0+distill-s1"}
    assert {arm["fresh"] for arm in arms.values()} == {"s1"}
    for arm in arms.values():
        # Budgets round to whole steps, and QUICK's is about 8 steps of s1: equal within one step.
        assert arm["n_seeds"] == 2 and arm["flops"]["grown"] == pytest.approx(arm["flops"]["fresh"], rel=0.15)
    section = (out / "RESULTS.md").read_text().split("## Start small and grow")[1].split("\n## ")[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| full-ladder | ")]
    assert sorted(row[2] for row in rows) == ["s0+depth", "s0+distill-s1"]
    for row in rows:
        loss = arms[row[2]]["effects"]["eval_loss"]
        assert row[7].startswith(f"{loss['diff']:+.3f} [{loss['ci'][0]:+.3f}, ")
