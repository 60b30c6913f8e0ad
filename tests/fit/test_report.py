"""The report: parsed HTML (order, figures, collapsed details, tables), Markdown summary, CLI, browser."""

import base64
import copy
import html
import itertools
import json
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from grid_factory import write_grid
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.fit.report import answer_figures, canvas, fit_figures, run_name, text, write_report
from curriscale.fit.report.cells import fold, identified, param_cell
from curriscale.fit.report.text import scaling_caption
from curriscale.fit.runs import load_grid
from curriscale.fit.units import human

SIZES = (2e4, 5e4, 2e5)
MAIN = ["verdict", "headline", "loss-curves", "speedup", "progression", "averaging", "compared"]
DETAILS = ["comparison", "scaling", "critical", "annealing", "temporal", "per-seed", "runs"]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars",
]  # fmt: skip


class Page(HTMLParser):
    """Sections in order; per section its figures (src, size, caption), tables, text (headings
    left out), and whether it sits inside a collapsed <details>."""

    def __init__(self):
        super().__init__()
        self.sections, self.external, self.title = {}, [], ""
        self.current = self.cell = self.caption = None
        self.in_title = self.in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title":
            self.in_title = True
        elif tag in ("h2", "summary", "caption"):
            self.in_heading = True
        elif tag == "section":
            self.current = self.sections.setdefault(
                attrs["id"], {"images": [], "tables": [], "text": [], "captions": [], "collapsed": False}
            )
        elif tag == "details" and self.current is not None:
            self.current["collapsed"] = "open" not in attrs
        elif tag == "img":
            self.current["images"].append(attrs)
            if not attrs["src"].startswith("data:"):
                self.external.append(tag)
        elif tag in ("link", "script", "iframe", "object"):
            self.external.append(tag)
        elif tag == "figcaption":
            self.caption = ""
        elif tag == "table":
            self.current["tables"].append([])
        elif tag == "tr":
            self.current["tables"][-1].append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in ("h2", "summary", "caption"):
            self.in_heading = False
        elif tag in ("td", "th"):
            self.current["tables"][-1][-1].append(self.cell)
            self.cell = None
        elif tag == "figcaption":
            self.current["captions"].append(self.caption)
            self.caption = None

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        elif self.in_heading:
            return
        elif self.caption is not None:
            self.caption += data
        elif self.cell is not None:
            self.cell += data
        elif self.current is not None and data.strip():
            self.current["text"].append(data.strip())


def add_averaged_metrics(runs_dir):
    """Give every run `ema_*` metrics, as `--ema-decay` does: the average 0.02 lower in eval loss."""
    for metrics in runs_dir.glob("*/metrics.parquet"):
        frame = pd.read_parquet(metrics)
        frame = frame.assign(
            ema_eval_loss=frame["eval_loss"] - 0.02, ema_mean_accuracy=frame["mean_accuracy"] + 0.01
        )
        frame.to_parquet(metrics)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    # Level 1 is yes/no and learned from ~50k; level 2 picks among four and is never learned; the
    # training loss diverges late, so the LR-annealing fit is degenerate.
    write_grid(
        root / "runs", sizes=SIZES, seeds=(0, 1), critical={1: 5e4}, steps=30, chance={1: 0.5, 2: 0.25},
        diverge_at=0.7, positions=True,
    )  # fmt: skip
    add_averaged_metrics(root / "runs")
    # LR-annealing fits are slow: leave the learning rate logged in one cell only.
    for metrics in (root / "runs").glob("*/metrics.parquet"):
        if not metrics.parent.name.startswith("ladder-n20000-"):
            pd.read_parquet(metrics).assign(lr=np.nan).to_parquet(metrics)
    summary = write_report(root / "runs", root / "out", bootstrap=10)
    page = Page()
    page.feed((root / "out" / "report.html").read_text())
    return root, summary, page


def test_summary_is_a_verdict_with_where_how_much_and_how_sure(report):
    root, summary, _ = report
    verdict, amount, sure = summary.splitlines()
    # The planted speedup (1e5 / N) ** 0.2 helps below 100k and hurts above.
    assert verdict == (
        "Verdict: the curriculum 'ladder' helped at 20k and 50k params and hurt at 200k, in final eval loss "
        "against the static mix 'static-mix'."
    )
    assert amount.startswith("By how much: 'ladder' at 200k params (the largest size): eval loss +0.0")
    speedup = float(amount.split("speedup ")[1].split("x")[0])
    assert speedup == pytest.approx((1e5 / 2e5) ** 0.2, rel=0.03)
    assert "at 20k: eval loss -0.0" in amount and "changes sign at ~1" in amount
    assert sure.startswith(
        "How sure: 2 seeds per arm; the 95% interval of the final-loss difference excludes 0 in 3 of 3"
    )
    markdown = (root / "out" / "summary.md").read_text()
    assert all(line in markdown for line in summary.splitlines())
    assert "| curriculum | LR | size | seeds | speedup [95% CI] |" in markdown


def test_one_seed_verdict_is_tentative_and_says_why():
    comparison = {"baseline": "static", "crossover": [], "cells": [
        {"curriculum": "ladder", "lr_schedule": "cosine", "non_embedding_params": n, "n_seeds": 1,
         "baseline_n_seeds": 1, "speedup": s, "speedup_ci": [None, None],
         "effects": {"eval_loss": {"diff": d, "baseline": 3.0, "curriculum": 3.0 + d, "ci": [None, None]}}}
        for n, s, d in ((1e5, 1.2, -0.01), (1e6, 0.9, 0.02))
    ]}  # fmt: skip
    from curriscale.fit.report import summarise

    verdict, _, sure = summarise(comparison).splitlines()
    assert verdict.startswith(
        "Verdict (tentative: one seed per arm): the curriculum 'ladder' helped at 100k params"
    )
    assert sure.startswith("How sure: not yet. One seed per arm gives no interval")


def test_report_leads_with_the_answer_and_collapses_the_details(report):
    root, summary, page = report
    assert list(page.sections) == MAIN + DETAILS
    assert page.external == []  # one self-contained file: no script, no link, no remote image
    assert not any(page.sections[s]["collapsed"] for s in MAIN)
    assert all(page.sections[s]["collapsed"] for s in DETAILS)
    # The title names the run by its folder, never the absolute path.
    assert page.title == f"curriscale report: {root.name}/runs" and str(root) not in page.title
    verdict = page.sections["verdict"]["text"]
    assert verdict[:3] == summary.splitlines()
    assert verdict[3].startswith("Task levels learned above chance: 1 (best 0.9") and verdict[3].endswith(
        "at chance: 2."
    )
    assert verdict[4].startswith("Accuracy, curriculum - static mix at 200k params: level 1 'ladder' +0.0")


def test_every_figure_is_sharp_and_has_a_how_to_read_line(report):
    _, _, page = report
    figures = [(name, image) for name, s in page.sections.items() for image in s["images"]]
    # headline, loss curves, speedup, pick per size, what was compared, scaling, temporal (the annealing fit is degenerate)
    assert [name for name, _ in figures] == [
        "headline",
        "loss-curves",
        "speedup",
        "progression",
        "compared",
        "scaling",
        "temporal",
    ]
    for name, image in figures:
        png = base64.b64decode(image["src"].removeprefix("data:image/png;base64,"), validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        width, height = struct.unpack(">II", png[16:24])
        # Drawn at twice the size the page shows it at.
        assert (int(image["width"]) * 2, int(image["height"]) * 2) == pytest.approx((width, height), abs=2), (
            name
        )
        assert int(image["width"]) > 300 and int(image["height"]) > 150
    captions = [c for s in page.sections.values() for c in s["captions"]]
    assert len(captions) == len(figures) and all(c.startswith("How to read this: ") for c in captions)


def test_a_long_legend_wraps_inside_the_figure(tmp_path):
    # Six arms with long names: one legend row ran past both edges of the figure.
    names = {
        f"{n}-curriculum-with-a-long-name": kind for n, kind in (("static", "static"), ("ladder", "linear"))
    }
    runs = write_grid(tmp_path / "runs", sizes=SIZES, seeds=(0,), steps=20, curricula=names,
                      lr_schedules=("cosine", "constant", "wsd"))  # fmt: skip
    fig = answer_figures.headline_figure(load_grid(runs), {"levels": [], "critical_sizes": []})
    fig.canvas.draw()
    legend, panels = (
        fig.legends[0].get_window_extent(),
        [ax.get_window_extent() for ax in fig.axes if ax.get_visible()],
    )
    assert len(fig.legends[0].get_texts()) == 7 and fig.legends[0]._ncols < 7  # wrapped
    assert 0 <= legend.x0 and legend.x1 <= fig.bbox.width and legend.y1 <= fig.bbox.height
    assert all(legend.y0 >= panel.y1 for panel in panels)  # above the panels, not over them


def test_headline_marks_chance_threshold_and_critical_sizes(report):
    root, _, _ = report
    grid = load_grid(root / "runs")
    critical = json.loads((root / "out" / "fits" / "critical_points.json").read_text())
    fig = answer_figures.headline_figure(grid, critical)
    level1, level2 = (ax for ax in fig.axes if ax.get_visible())
    assert level1.get_title() == "level 1" and level2.get_title() == "level 2: at chance"
    horizontal = sorted(
        line.get_ydata()[0] for line in level1.get_lines() if line.get_linestyle() in ("--", ":")
    )
    threshold = critical["levels"][0]["threshold"]
    assert horizontal == pytest.approx(sorted([0.5, threshold]))
    markers = [line for line in level1.get_lines() if line.get_marker() == "v"]
    assert len(markers) == 2  # one critical size per curriculum on the learned level
    assert not [line for line in level2.get_lines() if line.get_marker() == "v"]
    # A panel around chance is not stretched to show seed noise as a trend.
    low, high = level2.get_ylim()
    assert high - low >= answer_figures.MIN_ACCURACY_SPAN
    assert {t.get_text() for t in fig.legends[0].get_texts()} == {
        "ladder",
        "static-mix",
        "chance",
        "threshold",
        "critical size",
    }


def test_the_pick_per_size_follows_the_planted_speedup(report):
    _, _, page = report
    progression = page.sections["progression"]
    # The planted speedup (1e5 / N) ** 0.2 is above 1 below 100k params, below 1 above.
    assert progression["text"] == ["A curriculum pays at 2 of the 3 sizes; the rest keep the static mix."]
    header, *rows = progression["tables"][0]
    assert header[:3] == ["size", "non-embedding params", "train"]
    assert [row[2] for row in rows] == ["ladder", "ladder", "static mix"]
    assert rows[0][7].startswith("ladder (cosine) pays: speedup 1.")
    assert rows[2][7].startswith("no arm clearly pays; the best, ladder (cosine): speedup 0.")
    assert (
        len(progression["images"]) == 1 and "Filled: its interval lies above 1" in progression["captions"][0]
    )


def test_speedup_axis_is_labelled_and_reads_below_one(report):
    _, _, page = report
    speedup = page.sections["speedup"]
    assert "below 1: slower" in speedup["captions"][0]
    assert "One LR schedule (cosine): no curriculum x LR interaction to measure." in speedup["text"]


def test_what_was_compared_lists_curricula_sizes_and_budgets(report):
    _, _, page = report
    compared = page.sections["compared"]
    assert compared["text"][0].startswith(
        "2 curricula x 3 sizes (20k-200k non-embedding params) x 1 LR schedule x 2 seeds: 12 finished runs, 1M-token budget"
    )
    curricula, sizes = compared["tables"]
    assert curricula[0] == ["curriculum", "role", "pacing", "tiers", "difficulty score", "manifest"]
    assert curricula[1][:4] == [
        "ladder",
        "curriculum",
        "linear (start_fraction=0.2, warmup_fraction=0.5)",
        "3",
    ]
    assert curricula[2][:3] == ["static-mix", "baseline (static mix)", "static"]
    assert curricula[1][5] == "runs/manifests/ladder/manifest.json"
    assert [r[1] for r in sizes[1:]] == ["20k", "50k", "200k"]
    assert all(
        r[3] == "cosine (0.001)" and r[4] == "1M" and r[6] == "0, 1" and r[7] == "4" for r in sizes[1:]
    )


def test_detail_tables_fold_repeated_rows(report):
    _, _, page = report
    comparison = page.sections["comparison"]["tables"]
    cells, levels, documents = comparison[:3]
    assert len(cells) - 1 == len(SIZES)  # one curriculum x one LR schedule x sizes
    assert [r[2] for r in cells[1:]] == ["20k", "50k", "200k"]
    speedups = [float(r[4].split()[0]) for r in cells[1:]]
    assert speedups == pytest.approx([(1e5 / n) ** 0.2 for n in SIZES], rel=0.05)
    assert len(levels) - 1 == len(SIZES) * 4  # accuracy and OOD accuracy of two levels
    # Documents drawn per tier do not depend on the model: one row for every size.
    assert documents[0][:4] == ["curriculum", "LR", "size", "metric"] and "chance" not in documents[0]
    assert documents[1:] == [
        ["ladder", "cosine", "all sizes", "documents_tier_1", "1e+04", "1e+04", "0 [0, 0]"]
    ]
    assert fold([["a", "1", "x"], ["a", "2", "x"], ["a", "3", "y"]], 1) == [
        ["a", "1, 2", "x"],
        ["a", "3", "y"],
    ]


def test_chance_is_shown_and_at_chance_levels_are_marked(report):
    _, _, page = report
    header, *levels = page.sections["comparison"]["tables"][1]
    assert header[4] == "chance"
    accuracy = {(r[2], r[3]): r for r in levels if r[3].startswith("accuracy_level_")}
    assert all(accuracy[(size, "accuracy_level_2")][4] == "0.25" for size in ("20k", "50k", "200k"))
    assert all(
        accuracy[(size, "accuracy_level_2")][7].endswith("(at chance)") for size in ("20k", "50k", "200k")
    )
    assert accuracy[("20k", "accuracy_level_1")][7].endswith("(at chance)")  # 0.53 on yes/no at 20k
    assert not accuracy[("200k", "accuracy_level_1")][7].endswith("(at chance)")
    assert any(line.startswith("(at chance): neither arm") for line in page.sections["comparison"]["text"])
    critical = page.sections["critical"]
    assert critical["text"][0].startswith(
        "A level counts as learned when some run's seed-mean final accuracy reaches chance + 10%"
    )
    assert any(
        line.startswith("Level 2 stayed at chance: the best seed-mean final accuracy was")
        for line in critical["text"]
    )
    assert not any("learned from" in line for s in page.sections.values() for line in s["text"])
    _, learned, guessed = critical["tables"][0]
    assert learned[:2] == ["1", "0.5"] and float(learned[4]) > 0.7 and learned[5] == ""
    assert guessed[:2] == ["2", "0.25"] and guessed[4:] == ["-", "at chance: no threshold, no critical point"]
    # Threshold crossings as token counts and whole steps.
    header, *steps = critical["tables"][2]
    assert header[6:8] == ["tokens to cross", "step"]
    crossed = [r for r in steps if r[6] != "-"]
    assert crossed and all(r[6].endswith("k") and r[7].isdigit() for r in crossed)


def test_no_table_is_a_header_over_nothing(report):
    _, _, page = report
    assert len(page.sections["speedup"]["tables"]) == 0
    for section in page.sections.values():
        assert all(len(table) > 1 for table in section["tables"])


def test_averaged_and_raw_weights_are_compared_per_cell(report):
    root, _, page = report
    comparison = json.loads((root / "out" / "fits" / "comparison.json").read_text())
    rows = comparison["averaging"]
    assert [(r["curriculum"], r["non_embedding_params"]) for r in rows] == [
        (name, int(n)) for name in ("ladder", "static-mix") for n in SIZES
    ]
    for row in rows:
        loss = row["effects"]["eval_loss"]
        assert row["n_seeds"] == 2 and loss["diff"] == pytest.approx(-0.02)
        assert loss["averaged"] == pytest.approx(loss["raw"] - 0.02)
        assert row["effects"]["mean_accuracy"]["diff"] == pytest.approx(0.01)
    header, *table = page.sections["averaging"]["tables"][0]
    assert header[4:7] == ["raw eval loss", "averaged eval loss", "Δ averaged - raw [95% CI]"]
    assert len(table) == 6 and all(r[6].startswith("-0.02") for r in table)


def test_no_averaging_section_without_averaged_runs(tmp_path):
    runs = write_grid(tmp_path / "runs", sizes=SIZES, seeds=(0, 1), steps=20)
    write_report(runs, tmp_path / "out", bootstrap=5, annealing=False, temporal_fraction=None)
    page = Page()
    page.feed((tmp_path / "out" / "report.html").read_text())
    assert "averaging" not in page.sections
    assert json.loads((tmp_path / "out" / "fits" / "comparison.json").read_text())["averaging"] == []
    # The LR-annealing law was left out by the caller: the report says so, not that runs lack an LR.
    assert json.loads((tmp_path / "out" / "fits" / "fits.json").read_text())["lr_annealing_left_out"] is True
    [line] = page.sections["annealing"]["text"]
    assert line.startswith("Left out: the fit was run without it (`fit --no-annealing`")


def test_unidentified_parameters_are_not_shown_as_numbers():
    fit = {
        "law": "power",
        "params": {"E": 1.9, "A": 2087.0, "alpha": 0.31},
        "ci": {"E": [1.7, 2.0], "A": [7e-10, 1e9], "alpha": [0.2, 0.45]},
        "metrics": {"degenerate": False, "degenerate_reason": None},
    }
    assert param_cell(fit, "A") == "not identified"
    assert param_cell(fit, "E") == "1.9 [1.7, 2]"
    assert param_cell(fit, "alpha") == "0.31 [0.2, 0.45]"
    # A parameter the degenerate verdict puts at a bound is not identified either, interval or not.
    at_bound = copy.deepcopy(fit) | {"ci": {}}
    at_bound["metrics"] = {
        "degenerate": True,
        "degenerate_reason": "E = 9e-07 is at the bound of its range; fit error 21.9% > 3%",
    }
    assert [param_cell(at_bound, p) for p in ("E", "A", "alpha")] == [
        "not identified",
        "2087",
        "0.31",
    ]
    # An interval ending at a bound of the search range: the resamples piled up there.
    at_edge = copy.deepcopy(fit) | {"ci": {"alpha": [0.09, 5.0]}}
    at_edge["metrics"]["bounds"] = {"alpha": [1e-4, 5.0]}
    assert param_cell(at_edge, "alpha") == "not identified"
    at_edge["ci"]["alpha"] = [0.09, 0.9]
    assert param_cell(at_edge, "alpha") == "0.31 [0.09, 0.9]"
    # Just under the span is still a number.
    assert identified({"ci": {"x": [1.0, 999.0]}}, "x")
    assert not identified({"ci": {"x": [1.0, 1001.0]}}, "x")


def test_annealing_text_counts_what_the_figure_draws(report):
    root, _, page = report
    annealing = page.sections["annealing"]
    # The fixture's one fit is degenerate: no figure, and one sentence why.
    assert annealing["images"] == []
    assert annealing["text"][0].startswith(
        "The law was fitted to 1 cell(s) (curriculum x size) and describes none of them"
    )
    [row] = annealing["tables"][0][1:]
    assert row[-1].startswith("yes: ") and "fit error" in row[-1]
    grid = load_grid(root / "runs")
    fits = json.loads((root / "out" / "fits" / "fits.json").read_text())
    assert fits["lr_annealing"][0]["fit"]["metrics"]["degenerate"] is True
    # Eight fits, two of them degenerate: the text's counts are the figure's panels.
    entry = fits["lr_annealing"][0]
    good = copy.deepcopy(entry)
    good["fit"]["metrics"] |= {"degenerate": False, "degenerate_reason": None}
    many = copy.deepcopy(fits) | {"lr_annealing": [copy.deepcopy(good) for _ in range(6)] + [entry, entry]}
    [line] = text.annealing_text(many)
    assert line.startswith("8 cell(s) fitted") and "the figure shows all 8" in line
    assert "2 of the 8 fits are degenerate" in line and "2 of them drawn" in line
    fig = fit_figures.annealing_figure(grid, many)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 8 and sum(ax.get_title().endswith("(degenerate)") for ax in panels) == 2
    more = copy.deepcopy(many) | {"lr_annealing": [good] * 14}
    assert "the figure shows the first 12 of 14" in text.annealing_text(more)[0]
    assert len([ax for ax in fit_figures.annealing_figure(grid, more).axes if ax.get_visible()]) == 12


def test_scaling_caption_and_legend(report):
    root, _, page = report
    assert "Bands: 95% bootstrap band of each fitted curve." in page.sections["scaling"]["text"][0]
    assert page.sections["scaling"]["text"][1].startswith(
        "'not identified': the data do not pin the parameter down"
    )
    fits = json.loads((root / "out" / "fits" / "fits.json").read_text())
    unbanded = copy.deepcopy(fits)
    for row in unbanded["scaling"]:
        row["fit"].get("band", {}).pop("lo", None)
    assert "Bands" not in scaling_caption(unbanded) and "lines: power-law fits" in scaling_caption(unbanded)
    unfitted = copy.deepcopy(fits)
    for row in unfitted["scaling"]:
        row["fit"] = {"skipped": "data: the power law has 3 parameters but only 3 loss values"}
    assert scaling_caption(unfitted) == (
        "Points: final eval loss per run. No power law was fitted (see the table for why)."
    )
    unidentified = copy.deepcopy(fits)
    for row in unidentified["scaling"]:
        if "ci" in row["fit"]:
            row["fit"]["ci"]["alpha"] = [1e-4, 5.0]
    # Every curriculum is in the legend, fitted or not, with its exponent where it is identified.
    grid = load_grid(root / "runs")
    for document, labels in (
        (unfitted, {"ladder", "static-mix"}),
        (fits, {"ladder", "static-mix", "ladder fit: alpha=", "static-mix fit: alpha="}),
        (
            unidentified,
            {
                "ladder",
                "static-mix",
                "ladder fit: alpha not identified",
                "static-mix fit: alpha not identified",
            },
        ),
    ):
        [ax] = fit_figures.scaling_figure(grid, document).axes
        legend = {re.sub(r"alpha=[0-9.]+", "alpha=", t.get_text()) for t in ax.get_legend().get_texts()}
        assert legend == labels


def test_run_name_is_the_folder_with_a_generic_name_qualified(tmp_path):
    assert run_name(tmp_path / "study-7") == "study-7"
    assert run_name(tmp_path / "demo-out" / "runs") == "demo-out/runs"


def test_counts_that_round_up_take_the_next_unit():
    assert [human(v) for v in (999, 999_990, 26_784, 1.5e6, 999_999_999)] == [
        "999",
        "1M",
        "26.8k",
        "1.5M",
        "1G",
    ]


@pytest.mark.parametrize(
    "low, high, axis",
    [(26_784, 150_976, "x"), (2e4, 2e5, "x"), (1e4, 4e6, "x"), (50e3, 80e3, "x"), (1.45, 2.8, "y"), (0.73, 1.0, "y")],
)  # fmt: skip
def test_log_axes_label_major_ticks_without_overlap(low, high, axis):
    fig = Figure(figsize=(3.6, 2.9))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([low, high], [low, high])
    ax.set(**{f"{axis}lim": (low, high)})
    canvas.log_axes(ax, axis)
    fig.canvas.draw()
    target = ax.xaxis if axis == "x" else ax.yaxis
    assert all(not t.get_text() for t in target.get_ticklabels(minor=True))
    labels = [t for t in target.get_ticklabels() if t.get_text() and low <= _tick_value(t, axis) <= high]
    assert len(labels) >= 2, [t.get_text() for t in target.get_ticklabels()]
    boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.x0 if axis == "x" else b.y0)
    for a, b in itertools.pairwise(boxes):
        assert (a.x1 < b.x0) if axis == "x" else (a.y1 < b.y0), [t.get_text() for t in labels]


def _tick_value(label, axis):
    x, y = label.get_position()
    return x if axis == "x" else y


def test_cli_report_reuses_fits_and_user_errors_exit_2(report, tmp_path):
    root, summary, _ = report
    result = CliRunner().invoke(
        app, ["report", str(root / "runs"), "--out", str(tmp_path), "--fits", str(root / "out" / "fits")]
    )
    assert result.exit_code == 0, result.output
    assert "".join(summary.splitlines()[0].split()) in "".join(result.output.split())
    assert (tmp_path / "report.html").stat().st_size > 10_000
    command = [
        sys.executable,
        "-c",
        "from curriscale.cli.app import main; main()",
        "report",
        str(tmp_path / "none"),
        "--out",
        str(tmp_path),
    ]
    failed = subprocess.run(command, capture_output=True, text=True)
    assert failed.returncode == 2
    # Rich wraps long paths wherever it likes: compare without whitespace.
    assert "runs.parquet:gridindexnotfound" in "".join(failed.stderr.split())


# Appended to a copy of the page for the browser test only: writes where the verdict and the
# headline figure were laid out into the DOM, which --dump-dom then prints.
LAYOUT_PROBE = """<script>
(function () {
  function box(el) { var r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }
  var out = {viewport: [window.innerWidth, window.innerHeight],
             verdict: box(document.getElementById("verdict")),
             verdictText: document.querySelector("#verdict p").textContent,
             headline: box(document.querySelector("#headline img"))};
  var pre = document.createElement("pre"); pre.id = "layout"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def _chromium(*args, tmp_path):
    command = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed")
def test_first_viewport_shows_the_verdict_and_the_headline_figure(report, tmp_path):
    root, summary, _ = report
    viewport = (1280, 800)
    page = (root / "out" / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", LAYOUT_PROBE + "</body>"))
    dom = _chromium(
        f"--window-size={viewport[0]},{viewport[1]}", "--dump-dom", probe.as_uri(), tmp_path=tmp_path
    ).stdout
    layout = json.loads(html.unescape(re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S).group(1)))
    # The layout is that of a 1280-pixel-wide window (headless chromium reports a shorter inner
    # height than the screenshot's: the page has no height-dependent layout, so positions hold).
    assert layout["viewport"][0] == viewport[0]
    assert layout["verdictText"] == summary.splitlines()[0]
    verdict, headline = layout["verdict"], layout["headline"]
    assert 0 <= verdict["top"] < verdict["bottom"] <= headline["top"] < headline["bottom"] <= viewport[1]
    assert headline["right"] - headline["left"] > 400
    # The screenshot of the first viewport shows the figure there: a plot, not blank or broken.
    shot = tmp_path / "shot.png"
    _chromium(f"--window-size={viewport[0]},{viewport[1]}", f"--screenshot={shot}", (root / "out" / "report.html").as_uri(),
              tmp_path=tmp_path)  # fmt: skip
    pixels = plt.imread(shot)[..., :3]
    assert pixels.shape[:2] == (viewport[1], viewport[0])
    region = pixels[
        int(headline["top"]) : int(headline["bottom"]), int(headline["left"]) : int(headline["right"])
    ]
    assert region.std() > 0.05 and len(np.unique(region.reshape(-1, 3), axis=0)) > 50
    # Lines in the curricula's colours (matplotlib's C0 blue and C1 orange) are drawn in it.
    for colour in ((0.12, 0.47, 0.71), (1.0, 0.5, 0.05)):
        assert (np.abs(region - colour).max(axis=-1) < 0.08).sum() > 50, colour


def test_a_grid_without_accuracies_or_manifests_still_reports(tmp_path):
    runs = write_grid(tmp_path / "runs", sizes=SIZES, seeds=(0,), steps=20, curricula={"ladder": "linear"})
    for metrics in runs.glob("*/metrics.parquet"):
        frame = pd.read_parquet(metrics)
        frame.drop(columns=[c for c in frame if "accuracy" in c]).to_parquet(metrics)
    shutil.rmtree(runs / "manifests")
    summary = write_report(runs, tmp_path / "out", bootstrap=0, annealing=False, temporal_fraction=None)
    assert summary == "No curriculum comparison: the grid has one curriculum ('ladder'): nothing to compare."
    page = Page()
    page.feed((tmp_path / "out" / "report.html").read_text())
    assert list(page.sections) == ["verdict", "headline", "loss-curves", "compared", *DETAILS]
    assert page.sections["headline"]["text"] == ["The runs measure no accuracy per task level."]
    # No manifest to draw: the LR schedule alone; the curricula table says the manifest is missing.
    assert len(page.sections["compared"]["images"]) == 1
    assert page.sections["compared"]["tables"][0][1][5] == "not found"
