"""The sections collapsed under "Details", in order: the numbers behind the answer.

The comparison per cell, task level and tier; the scaling laws; critical points and thresholds;
the LR-annealing and temporal laws with their figures; per-seed results; every run. Each shows its
tables with a line of text on how to read them, or why they are empty.
"""

from __future__ import annotations

from curriscale.fit.report import comparison_tables, fit_figures, fit_tables, grid_tables, text
from curriscale.fit.report.page import section, titled
from curriscale.fit.report.text import HOW_TO_READ
from curriscale.fit.runs import Grid


def detail_sections(grid: Grid, docs: dict) -> list[dict]:
    """The detail sections, each collapsed.

    Args:
        grid: the loaded grid.
        docs: the fits folder's JSON documents: `fits`, `comparison`, `critical_points`.
    """
    fits, comparison, critical = docs["fits"], docs["comparison"], docs["critical_points"]
    skipped = f"Skipped (unfinished): {', '.join(grid.skipped) or 'none'}."
    return [
        _comparison(grid, comparison, critical),
        _scaling(grid, fits),
        _critical(grid, critical),
        _law_section(
            "annealing",
            "LR-annealing law fit vs data",
            text.annealing_text(fits),
            fit_figures.annealing_fit(grid, fits) if text.annealing_drawn(fits) else None,
            fit_tables.annealing_table(fits),
        ),
        _law_section(
            "temporal",
            "Temporal law: final loss predicted from the first part of training",
            text.temporal_text(fits),
            fit_figures.temporal_fit(grid, fits),
            fit_tables.temporal_table(fits),
        ),
        section(
            "per-seed", "Per-seed results", tables=[comparison_tables.per_seed_table(comparison)], detail=True
        ),
        section("runs", "Runs", [skipped], tables=[grid_tables.runs_table(grid)], detail=True),
    ]


def _comparison(grid: Grid, comparison: dict, critical: dict) -> dict:
    """Curriculum against static mix per cell: speedups, differences per metric, level and tier."""
    if comparison["cells"]:
        lines = [
            "Differences are curriculum - static mix over seed means; intervals resample seeds.",
            *text.chance_text(grid, critical, comparison),
        ]
    else:
        lines = [f"No comparison: {comparison.get('note')}."]
    return section(
        "comparison",
        f"Curriculum vs static mix per cell ({comparison['baseline'] or 'none'})",
        lines,
        tables=[
            titled(
                "Speedup and final-metric differences per cell",
                comparison_tables.comparison_table(comparison),
            ),
            titled(
                "Accuracy per task level, with its chance level", comparison_tables.level_table(comparison)
            ),
            titled(
                "Training documents drawn per tier (rows equal across sizes shown once)",
                comparison_tables.documents_table(comparison),
            ),
            titled(
                "Sizes where the curriculum's advantage changes sign",
                comparison_tables.crossover_table(comparison),
            ),
            titled(
                "Change of the curriculum's effect between LR schedules",
                comparison_tables.interaction_table(comparison),
            ),
        ],
        detail=True,
    )


def _scaling(grid: Grid, fits: dict) -> dict:
    """The power law per curriculum, drawn and tabled, and the joint law where budgets vary."""
    return section(
        "scaling",
        "Scaling laws",
        [text.scaling_caption(fits), text.NOT_IDENTIFIED_NOTE],
        figures=[(fit_figures.scaling_curves(grid, fits), HOW_TO_READ["scaling"])],
        tables=[
            titled("Power law E + A N^-alpha per curriculum and metric", fit_tables.scaling_table(fits)),
            titled(
                "Joint law E + A/N^alpha + B/D^beta (grids with 3+ token budgets per size)",
                fit_tables.chinchilla_table(fits),
            ),
        ],
        detail=True,
    )


def _critical(grid: Grid, critical: dict) -> dict:
    """Which levels were learned, their thresholds, critical sizes and tokens to cross."""
    return section(
        "critical",
        "Critical points and thresholds",
        text.critical_text(grid, critical),
        tables=[
            titled("Chance, best accuracy and threshold per level", fit_tables.level_chance_table(critical)),
            titled("Critical size per curriculum and level", fit_tables.critical_table(critical)),
            titled("Tokens to cross each level's threshold, per size", fit_tables.threshold_table(critical)),
        ],
        detail=True,
    )


def _law_section(id_: str, title: str, lines: list[str], png: bytes | None, table: tuple) -> dict:
    """A law's section: its text, its figure when one is drawn, its table of fits."""
    return section(
        id_, title, lines, figures=[(png, HOW_TO_READ[id_])] if png else [], tables=[table], detail=True
    )
