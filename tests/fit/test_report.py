"""The report: parsed HTML (sections, decodable PNGs, table sizes), Markdown summary, CLI."""

import base64
import copy
import itertools
import json
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
from curriscale.fit import plots
from curriscale.fit.report import write_report
from curriscale.fit.report_text import scaling_caption
from curriscale.fit.runs import load_grid

SIZES = (2e4, 5e4, 2e5)
SECTIONS = [
    "summary",
    "comparison",
    "speedup",
    "loss-curves",
    "scaling",
    "critical",
    "annealing",
    "temporal",
    "per-seed",
    "runs",
]


class Page(HTMLParser):
    """Sections in order, and per section its images and tables (rows of cell texts)."""

    def __init__(self):
        super().__init__()
        self.sections, self.external = {}, []
        self.current = self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.current = self.sections.setdefault(attrs["id"], {"images": [], "tables": [], "text": []})
        elif tag == "img":
            self.current["images"].append(attrs["src"])
        elif tag in ("link", "script") or (tag == "img" and not attrs["src"].startswith("data:")):
            self.external.append(tag)
        elif tag == "table":
            self.current["tables"].append([])
        elif tag == "tr":
            self.current["tables"][-1].append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.current["tables"][-1][-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        elif self.current is not None and data.strip():
            self.current["text"].append(data.strip())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    # Level 1 is yes/no and learned from ~50k; level 2 picks among four and is never learned; the
    # training loss diverges late, so the LR-annealing fit is degenerate.
    write_grid(
        root / "runs", sizes=SIZES, seeds=(0, 1), critical={1: 5e4}, steps=30, chance={1: 0.5, 2: 0.25},
        diverge_at=0.7, positions=True,
    )  # fmt: skip
    # LR-annealing fits are slow: leave the learning rate logged in one cell only.
    for metrics in (root / "runs").glob("*/metrics.parquet"):
        if not metrics.parent.name.startswith("ladder-n20000-"):
            pd.read_parquet(metrics).assign(lr=np.nan).to_parquet(metrics)
    summary = write_report(root / "runs", root / "out", bootstrap=10)
    page = Page()
    page.feed((root / "out" / "report.html").read_text())
    return root, summary, page


def test_summary_states_the_planted_effects(report):
    root, summary, _ = report
    lines = summary.splitlines()
    assert len(lines) == 3
    # At 200k the planted speedup is (1e5 / 2e5) ** 0.2 = 0.87: the curriculum never catches up.
    assert lines[0].startswith("At 200k params the curriculum 'ladder' (cosine) never reached")
    ratio = float(lines[0].split("reached the curriculum's in ")[1].split("x")[0])
    assert ratio == pytest.approx((1e5 / 2e5) ** 0.2, rel=0.03)
    assert "changes sign at ~" in lines[1] and "k params ('ladder', cosine)" in lines[1]
    markdown = (root / "out" / "summary.md").read_text()
    assert all(line in markdown for line in lines)
    assert "| curriculum | LR | size | seeds | speedup [95% CI] |" in markdown


def test_html_sections_images_and_tables(report):
    _, summary, page = report
    assert list(page.sections) == SECTIONS
    assert page.external == []
    assert page.sections["summary"]["text"][1:] == summary.splitlines()
    images = [src for s in page.sections.values() for src in s["images"]]
    assert len(images) == 6
    for src in images:
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        width, height = struct.unpack(">II", png[16:24])
        assert width > 200 and height > 150

    def rows(section, index):
        return page.sections[section]["tables"][index][1:]  # without the header row

    assert len(rows("comparison", 0)) == len(SIZES)  # one curriculum x one LR schedule x sizes
    assert [r[2] for r in rows("comparison", 0)] == ["20k", "50k", "200k"]
    assert len(rows("comparison", 1)) == len(SIZES) * 3  # accuracy of two levels, examples seen of one
    assert len(rows("scaling", 0)) == 2 * 2  # two curricula x (eval_loss, eval_loss_level_1)
    assert [r[:3] for r in rows("annealing", 0)] == [["ladder", "20k", "ladder-n20000-cosine-s0"]]
    assert len(rows("per-seed", 0)) == len(SIZES) * 2
    temporal = rows("temporal", 0)
    assert len(temporal) == 2 * len(SIZES) * 2  # one prediction per run
    assert all(abs(float(r[8].rstrip("%"))) < 1.0 and r[10] == "no" for r in temporal)  # error under 1%
    assert len(rows("runs", 0)) == 2 * len(SIZES) * 2
    assert len(rows("critical", 0)) == 2  # two accuracy levels: chance and threshold
    assert len(rows("critical", 2)) == 2 * len(SIZES)  # threshold steps, level 1: curricula x sizes
    speedups = [float(r[4].split()[0]) for r in rows("comparison", 0)]
    assert speedups == pytest.approx([(1e5 / n) ** 0.2 for n in SIZES], rel=0.05)


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
    assert any(line.startswith("Level 2 stayed at chance") for line in critical["text"])
    _, learned, guessed = critical["tables"][0]
    assert learned[:2] == ["1", "0.5"] and float(learned[4]) > 0.7 and learned[5] == ""
    assert guessed[:2] == ["2", "0.25"] and guessed[4:] == ["-", "at chance: no threshold, no critical point"]
    # Threshold crossings as token counts and whole steps.
    header, *steps = critical["tables"][2]
    assert header[6:8] == ["tokens to cross", "step"]
    crossed = [r for r in steps if r[6] != "-"]
    assert crossed and all(r[6].endswith("k") and r[7].isdigit() for r in crossed)


def test_one_lr_schedule_has_no_empty_interaction_table(report):
    _, _, page = report
    speedup = page.sections["speedup"]
    assert "One LR schedule (cosine): no curriculum x LR interaction to measure." in speedup["text"]
    assert len(speedup["tables"]) == 1  # the crossovers; no header without rows
    for section in page.sections.values():
        assert all(len(table) > 1 for table in section["tables"])


def test_degenerate_annealing_fit_is_flagged(report):
    root, _, page = report
    annealing = page.sections["annealing"]
    assert any(line.startswith("1 of 1 fits are degenerate") for line in annealing["text"])
    [row] = annealing["tables"][0][1:]
    assert row[-1].startswith("yes: ") and "fit error" in row[-1]
    fits = json.loads((root / "out" / "fits" / "fits.json").read_text())
    assert fits["lr_annealing"][0]["fit"]["metrics"]["degenerate"] is True


def test_scaling_caption_and_legend(report):
    root, _, page = report
    assert "Bands: 95% bootstrap band of each fitted curve." in page.sections["scaling"]["text"][1]
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
    # Every curriculum is in the legend, fitted or not.
    grid = load_grid(root / "runs")
    for document, labels in (
        (unfitted, {"ladder", "static-mix"}),
        (fits, {"ladder", "static-mix", "ladder fit: alpha=", "static-mix fit: alpha="}),
    ):
        [ax] = plots.scaling_figure(grid, document).axes
        legend = {t.get_text().split("alpha=")[0] + ("alpha=" if "alpha=" in t.get_text() else "")
                  for t in ax.get_legend().get_texts()}  # fmt: skip
        assert legend == labels


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
    plots._log(ax, axis)
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


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed")
def test_report_renders_in_headless_chromium(report, tmp_path):
    root, _, _ = report
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1200,3000",
         (root / "out" / "report.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The page rendered: text and embedded plots, not a blank or error page (which is one colour).
    pixels = plt.imread(shot)[..., :3]
    assert pixels.std() > 0.05 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100
