"""The report's explanatory text: captions and notes, each a list of lines for one section.

Each function reads the fits' JSON (and the grid where it needs names) and says what a figure
shows, why a table is empty, or what to beware of; `curriscale.fit.report` places the lines.
"""

from __future__ import annotations

from curriscale.fit import plots, report_tables
from curriscale.fit.diagnostics import DEGENERATE_FIT_ERROR
from curriscale.fit.runs import Grid


def chance_text(grid: Grid, critical: dict, comparison: dict) -> list[str]:
    """How to read accuracies against chance; empty when there is nothing to warn about."""
    lines = []
    if not grid.chance_recorded and grid.chance:
        lines.append(
            "The runs record no chance accuracy (eval_chance_accuracy in config.json): chance is "
            "taken as 0, so a level answered by guessing (yes/no, a few entities) can look learned."
        )
    if report_tables.has_at_chance(comparison):
        margin = critical.get("chance_margin", 0.1)
        lines.append(
            f"(at chance): neither arm reached chance + {margin:.0%} of the room above it; the "
            "difference is between guess rates (or a model that has not learned the answer format), "
            "not an effect on the skill."
        )
    return lines


def interaction_text(grid: Grid, comparison: dict) -> list[str]:
    """Why the LR-interaction table is empty, when it is."""
    if comparison["lr_interaction"] or not comparison["cells"]:
        return []
    schedules = sorted(grid.runs["lr_schedule"].unique())
    if len(schedules) == 1:
        return [f"One LR schedule ({schedules[0]}): no curriculum x LR interaction to measure."]
    return ["No curriculum was compared with the static mix under more than one LR schedule at a size: "
            "no LR interaction to measure."]  # fmt: skip


def scaling_caption(fits: dict) -> str:
    """What the scaling figure's lines and bands are, saying so when there are none."""
    rows = [r for r in fits["scaling"] if r["metric"] == "eval_loss"]
    fitted = [r for r in rows if "params" in r["fit"]]
    if not fitted:
        return "Points: final eval loss per run. No power law was fitted (see the table for why)."
    banded = any("lo" in r["fit"].get("band", {}) for r in fitted)
    caption = "Points: final eval loss per run; lines: power-law fits (legend: alpha)."
    return caption + (" Bands: 95% bootstrap band of each fitted curve." if banded else "")


def critical_text(grid: Grid, critical: dict) -> list[str]:
    """The figure's legend in words and the levels that stayed at chance."""
    lines = ["Solid: BNSL break; dotted: steepest step; dashed grey: chance accuracy."]
    lines += [
        e["note"][0].upper() + e["note"][1:] + "." for e in critical.get("levels", []) if e["at_chance"]
    ]
    if any(not e["at_chance"] for e in critical.get("levels", [])):
        lines.append(
            "Thresholds sit halfway between chance and the best final accuracy any curriculum reached "
            "on the level, the same for every curriculum and size; tokens to cross are interpolated "
            "between checkpoints."
        )
    return lines


def annealing_text(fits: dict, plotted: bool) -> list[str]:
    """Whether the annealing law was fitted, and which fits are degenerate."""
    if not plotted:
        return ["No run logs learning rate and training loss over enough steps."]
    degenerate = report_tables.degenerate_fits(fits)
    if not degenerate:
        return []
    fitted = [e for e in fits["lr_annealing"] if "params" in e["fit"]]
    return [
        f"{len(degenerate)} of {len(fitted)} fits are degenerate (a parameter at its bound, fit error "
        f"above {DEGENERATE_FIT_ERROR:.0%}, or no convergence; see the table): the law does not describe those curves, "
        "so do not read their parameters. Their panels are titled 'degenerate'."
    ]


def temporal_text(fits: dict) -> list[str]:
    """How the temporal prediction was made and how far off it was, or why there is none."""
    temporal = fits.get("temporal")
    if temporal is None:
        return ["The temporal law was not fitted (--temporal-fraction 0)."]
    if not temporal["runs"]:
        return ["No run wrote per-position losses (positions.parquet)."]
    lines = [
        f"Per run, the per-position reciprocal law L(p, t) = a0(t) / (1 + a1(t) p) + a2(t) is fitted on "
        f"the checkpoints up to {temporal['fraction']:.0%} of training and predicts the last checkpoint; "
        "the final loss is the mean over positions."
    ]
    for cell in temporal["cells"]:
        lines.append(
            f"{cell['curriculum']} ({cell['lr_schedule']}), {plots.human(cell['non_embedding_params'])}: "
            f"mean |error| of the predicted final loss {cell['mean_abs_final_loss_error']:.2%} "
            f"over {len(cell['runs'])} run(s)."
        )
    return lines
