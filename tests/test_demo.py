"""The demo end to end on a tiny plan: every stage runs and its outputs agree with each other."""

import json
import math
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from curriscale.curricula.manifest import load_manifest
from curriscale.demo import DemoPlan, run_demo


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    # The quick plan (its level mix, LR, workers, no annealing fit) on a tiny corpus and budget.
    plan = replace(DemoPlan.quick(), docs_per_level=80, eval_per_level=10, budget_tokens=24_000)
    steps = []
    result = run_demo(tmp_path_factory.mktemp("demo"), plan, on_step=steps.append)
    return plan, result, steps


def test_demo_runs_every_stage_in_order(demo):
    _, _, steps = demo
    assert [s.split()[0] for s in steps] == [
        "generating",
        "scoring:",
        "building",
        "building",
        "training",
        "fitting",
        "writing",
    ]


def test_demo_plan_reaches_the_data_and_the_runs(demo):
    plan, result, _ = demo
    # The level mix shapes the training split only; eval keeps every level at its full count.
    spectrum = json.loads((result.out / "data" / "spectrum.json").read_text())
    train = {int(level): n for level, n in spectrum["documents"]["train"].items()}
    assert sum(train.values()) == 6 * plan.docs_per_level
    assert [train[level] / train[0] for level in range(6)] == plan.level_weights
    assert set(spectrum["documents"]["eval"].values()) == {plan.eval_per_level}
    for run in (result.out / "runs" / "cells").iterdir():
        config = json.loads((run / "config.json").read_text())
        assert config["lr"] == plan.lr and config["budget_tokens"] == plan.budget_tokens
    # The quick plan leaves the LR-annealing law out: one schedule cannot test it.
    assert json.loads(result.fits.read_text())["lr_annealing"] == []


def test_demo_manifests_are_valid_and_differ_only_in_pacing(demo):
    plan, result, _ = demo
    manifests = {name: load_manifest(path) for name, path in result.manifests.items()}
    assert set(manifests) == set(plan.recipes)
    ladder, static = manifests["reading_age"], manifests["static"]
    assert ladder.pacing["kind"] == "ceiling_raise" and static.pacing["kind"] == "static"
    # Same corpus, same tiers: every generated training document is placed in both, none lost.
    docs = 6 * plan.docs_per_level
    for manifest in manifests.values():
        placed = sum(tier["documents"] for tier in manifest.tiers)
        assert placed + manifest.data["rejected"]["documents"] == docs
    # The ladder starts on the easiest tier only; the static mix samples every tier from the start.
    assert ladder.weights_at(0.0)[0] == 1.0 and ladder.weights_at(0.0)[1:].sum() == 0
    assert (static.weights_at(0.0) > 0).all()


def test_demo_fits_a_power_law_per_curriculum(demo):
    plan, result, _ = demo
    fits = json.loads(result.fits.read_text())
    overall = {e["curriculum"]: e["fit"] for e in fits["scaling"] if e["metric"] == "eval_loss"}
    assert set(overall) == set(plan.recipes)
    for fit in overall.values():
        # Fitted on the four sizes (not skipped), with every parameter of E + A N^-alpha finite.
        assert fit["law"] == "power" and fit["metrics"]["n_points"] == len(plan.sizes)
        assert set(fit["params"]) == {"E", "A", "alpha"}
        assert all(math.isfinite(v) for v in fit["params"].values())


def test_demo_report_embeds_plots_and_summary_has_three_lines(demo):
    _, result, _ = demo
    parser = _Images()
    parser.feed(result.report.read_text())
    assert parser.images and all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert len(result.summary) == 3 and all(line.strip() for line in result.summary)
