"""The report: parsed HTML (sections, decodable PNGs, table sizes), Markdown summary, CLI."""

import base64
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from grid_factory import write_grid
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.fit.report import write_report

SIZES = (2e4, 5e4, 2e5)
SECTIONS = [
    "summary",
    "comparison",
    "speedup",
    "loss-curves",
    "scaling",
    "critical",
    "annealing",
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
    write_grid(root / "runs", sizes=SIZES, seeds=(0, 1), critical={1: 5e4}, steps=30)
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
    assert len(images) == 5
    for src in images:
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        width, height = struct.unpack(">II", png[16:24])
        assert width > 200 and height > 150

    def rows(section, index):
        return page.sections[section]["tables"][index][1:]  # without the header row

    assert len(rows("comparison", 0)) == len(SIZES)  # one curriculum x one LR schedule x sizes
    assert [r[2] for r in rows("comparison", 0)] == ["20k", "50k", "200k"]
    assert len(rows("comparison", 1)) == len(SIZES) * 2  # accuracy and examples seen for level 1
    assert len(rows("scaling", 0)) == 2 * 2  # two curricula x (eval_loss, eval_loss_level_1)
    assert [r[:3] for r in rows("annealing", 0)] == [["ladder", "20k", "ladder-n20000-cosine-s0"]]
    assert len(rows("per-seed", 0)) == len(SIZES) * 2
    assert len(rows("runs", 0)) == 2 * len(SIZES) * 2
    assert len(rows("critical", 1)) == 2 * len(SIZES)  # threshold steps: curricula x sizes
    speedups = [float(r[4].split()[0]) for r in rows("comparison", 0)]
    assert speedups == pytest.approx([(1e5 / n) ** 0.2 for n in SIZES], rel=0.05)


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
