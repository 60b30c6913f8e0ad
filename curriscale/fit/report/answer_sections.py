"""The sections a reader sees first, in order: the answer, then what was compared.

The verdict (three lines from `verdict.summarise` and the task levels' line) and the headline
figure fit the first screen; loss against tokens, speedup against size, the curriculum each size
should train and averaged against raw weights follow, then what was compared: the curricula's
pacing schedules and the LR schedules drawn, and tables of curricula, sizes, seeds and budgets.
"""

from __future__ import annotations

from curriscale.fit.report import answer_figures, compared_figure, comparison_tables, grid_tables
from curriscale.fit.report.page import section, titled
from curriscale.fit.report.progression_section import progression_section
from curriscale.fit.report.text import HOW_TO_READ, interaction_text
from curriscale.fit.report.verdict import level_verdict
from curriscale.fit.runs import Grid


def answer_sections(grid: Grid, docs: dict, summary: str) -> list[dict]:
    """Verdict, headline, loss curves, speedup and the pick per size, averaging (when there is one),
    what was compared.

    Args:
        grid: the loaded grid.
        docs: the fits folder's JSON documents (`fits`, `comparison`, `critical_points`) and the
            per-size `progression` (`fit.progression`).
        summary: the verdict's three lines (`verdict.summarise`).
    """
    comparison, critical = docs["comparison"], docs["critical_points"]
    sections = [
        section("verdict", "Verdict", summary.splitlines() + level_verdict(critical, comparison)),
        _headline(grid, critical),
        section(
            "loss-curves",
            "Eval loss against training tokens",
            figures=[(answer_figures.loss_curves(grid), HOW_TO_READ["loss"])],
        ),
    ]
    if comparison["cells"]:
        sections.append(
            section(
                "speedup",
                f"Speedup over the static mix ({comparison['baseline']}) against model size",
                interaction_text(grid, comparison),
                figures=[(answer_figures.speedup_vs_size(grid, comparison), HOW_TO_READ["speedup"])],
            )
        )
        sections.append(progression_section(grid, docs["progression"]))
    if comparison.get("averaging"):
        sections.append(_averaging(grid, comparison))
    return [*sections, _compared(grid, docs["fits"])]


def _headline(grid: Grid, critical: dict) -> dict:
    """Accuracy per task level against size, or a line saying the runs measure none."""
    headline = answer_figures.headline(grid, critical)
    return section(
        "headline",
        "Accuracy per task level against model size",
        figures=[(headline, HOW_TO_READ["headline"])] if headline else [],
        text=[] if headline else ["The runs measure no accuracy per task level."],
    )


def _averaging(grid: Grid, comparison: dict) -> dict:
    """Final metrics of the runs' moving average of weights against their raw weights."""
    return section(
        "averaging",
        "Averaged (EMA) against raw weights",
        [
            "Runs trained with --ema-decay also evaluate a moving average of their weights. Δ is "
            "averaged - raw over the same runs (negative loss: the average is better); intervals "
            "resample the runs."
        ],
        tables=[
            titled(
                "Final eval loss and mean accuracy, averaged against raw",
                comparison_tables.averaging_table(comparison, grid),
            )
        ],
    )


def _compared(grid: Grid, fits: dict) -> dict:
    """What was compared: the grid in one line, the schedules drawn, curricula and sizes tabled."""
    png = compared_figure.compared(grid)
    schedules = {
        name: compared_figure.curriculum_manifest(grid, name)
        for name in sorted(grid.runs["curriculum"].unique())
    }
    return section(
        "compared",
        "What was compared",
        [grid_tables.grid_line(grid)],
        figures=[(png, HOW_TO_READ["compared"])] if png else [],
        tables=[
            titled("Curricula", grid_tables.curricula_table(grid, fits, schedules)),
            titled("Sizes, LR schedules, budgets and seeds", grid_tables.grid_table(grid)),
        ],
    )
