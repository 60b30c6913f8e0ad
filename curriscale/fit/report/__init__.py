"""`curriscale report RUNS --out DIR`: one self-contained HTML page and a Markdown summary.

`report.html` leads with the answer. Its first screen is the verdict (did the curriculum help,
where, by how much, how sure: `summarise`) and the headline figure (accuracy per task level against
model size per curriculum, thresholds and critical sizes marked); then loss against tokens, speedup
against size, the curriculum each size should train (`fit.progression`, as `recommend` picks it),
averaged against raw weights (when runs kept an average), and what was compared
(pacing schedules drawn, LR schedules, sizes, seeds, budgets). The detail tables and the fits'
figures follow, each collapsed in a `<details>` element. Every figure has a one-line "how to read
this". The page is one file, with its figures embedded; its title names the grid by its folder
(`run_name`), not by an absolute path.

`summary.md` holds the verdict and every table. The numbers come from the fits folder
(`curriscale fit`), written into `DIR/fits/` when not given, so the report and the JSON always agree.

The modules, from the page down: `answer_sections` (what a reader sees first) and
`detail_sections` (what is collapsed) build the sections, and `page` lays them out as HTML and as
Markdown. `verdict` writes the verdict, `text` the how-to-read lines and notes;
`comparison_tables`, `fit_tables` and `grid_tables` build the tables, `cells` writes each value;
`answer_figures`, `compared_figure` and `fit_figures` draw the figures on `canvas`.
"""

from __future__ import annotations

import json
from pathlib import Path

from curriscale.errors import CurriscaleError
from curriscale.fit.grid_fit import fit_grid
from curriscale.fit.manifests import curriculum_pacings
from curriscale.fit.progression import progression
from curriscale.fit.report.answer_sections import answer_sections
from curriscale.fit.report.detail_sections import detail_sections
from curriscale.fit.report.page import html_page, markdown_page, run_name
from curriscale.fit.report.verdict import summarise
from curriscale.fit.runs import load_grid
from curriscale.fit.temporal_grid import TEMPORAL_FRACTION
from curriscale.io import atomic_write_text

__all__ = ["run_name", "summarise", "write_report"]


def write_report(
    runs_dir: str | Path,
    out_dir: str | Path,
    fits: str | Path | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    baseline: str | None = None,
    annealing: bool = True,
    temporal_fraction: float | None = TEMPORAL_FRACTION,
) -> str:
    """Write `report.html` and `summary.md` for a grid; return the three-line summary.

    Args:
        runs_dir: the grid folder.
        out_dir: where to write the report.
        fits: a folder written by `fit_grid`; default: fit now into `out_dir/fits`.
        bootstrap, seed, baseline, annealing, temporal_fraction: passed to `fit_grid` when
            fitting now.

    Returns:
        The summary: three lines of plain text.
    """
    out = Path(out_dir)
    fits_dir = Path(fits) if fits is not None else out / "fits"
    if fits is None:
        fit_grid(
            runs_dir,
            fits_dir,
            bootstrap=bootstrap,
            seed=seed,
            baseline=baseline,
            annealing=annealing,
            temporal_fraction=temporal_fraction,
        )
    docs = {name: _read(fits_dir / f"{name}.json") for name in ("fits", "comparison", "critical_points")}
    docs["progression"] = progression(
        docs["fits"], docs["comparison"], curriculum_pacings(fits_dir, docs["fits"])
    )
    grid = load_grid(runs_dir)
    summary = summarise(docs["comparison"])
    sections = answer_sections(grid, docs, summary) + detail_sections(grid, docs)
    atomic_write_text(out / "report.html", html_page(grid, sections))
    atomic_write_text(out / "summary.md", markdown_page(grid, sections))
    return summary


def _read(path: Path) -> dict:
    """A fits-folder JSON document; a missing or malformed one says how to write it."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CurriscaleError(
            f"{path}: not found (write it with `curriscale fit RUNS --out {path.parent}`)"
        ) from None
    except json.JSONDecodeError as error:
        raise CurriscaleError(f"{path}: malformed JSON: {error}") from None
