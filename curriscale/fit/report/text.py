"""The report's explanatory text: captions and notes, each a list of lines for one section.

Each function reads the fits' JSON (and the grid where it needs names) and says what a figure
shows, why a table is empty, or what to beware of; `answer_sections` and `detail_sections` place
the lines.
"""

from __future__ import annotations

from curriscale.fit.diagnostics import DEGENERATE_FIT_ERROR
from curriscale.fit.report import fit_figures
from curriscale.fit.runs import CHANCE_MARGIN, Grid
from curriscale.fit.units import human

# Beside the scaling-law tables: what "not identified" in a parameter's cell means.
NOT_IDENTIFIED_NOTE = (
    "'not identified': the data do not pin the parameter down: its 95% bootstrap interval spans more "
    "than a factor of 1000 or ends at a bound of the parameter's search range, or the fitted value "
    "itself sits at such a bound."
)
# One line per figure: how to read it.
HOW_TO_READ = {
    "headline": (
        "One panel per task level: each curriculum's final accuracy against model size (dots: seed "
        "mean, bars: seed range). Dashed grey: chance; dotted grey: the level's threshold (halfway from "
        "chance to the best accuracy any run reached); ▼: the curriculum's critical size (where accuracy "
        "rises fastest with size, or the fitted break). A curve above another means more learned at "
        "that size; a ▼ further left means the level is learned at a smaller size."
    ),
    "loss": (
        "One panel per model size: eval loss against training tokens, one line per curriculum (band: "
        "seed range). Lower is better; where a curriculum's line sits below the static mix's it is "
        "ahead at that point of training."
    ),
    "speedup": (
        "Speedup = tokens the static mix needs to reach a loss / tokens the curriculum needs (bars: 95% "
        "interval over seeds). Above 1: the curriculum gets there faster; below 1: slower; a vertical "
        "line marks the size where it crosses 1."
    ),
    "compared": (
        "Each curriculum's pacing schedule: the share of sampled training data from each difficulty tier "
        "(light: easiest, dark: hardest) over the course of training; a flat stack is a static mix. "
        "Last panel: each LR schedule's learning rate relative to its peak."
    ),
    "scaling": (
        "Final eval loss of each run against model size (log-log), with each curriculum's fitted power "
        "law E + A N^-alpha and its 95% bootstrap band. Steeper (larger alpha) means more gain per added "
        "parameter."
    ),
    "annealing": (
        "Training loss (dots) and the LR-annealing law's curve (lines, one colour per LR schedule) per "
        "curriculum and size. A solid line through the dots is a law that describes the run; a dashed "
        "one is a degenerate fit."
    ),
    "temporal": (
        "Loss per token position at the checkpoints the law was fitted on (light to dark: early to "
        "late) and, at the last checkpoint, the observed losses (black) against the law's prediction "
        "from the early checkpoints (dashed red). The title gives the error of the predicted final loss."
    ),
}


def chance_text(grid: Grid, critical: dict, comparison: dict) -> list[str]:
    """How to read accuracies against chance; empty when there is nothing to warn about."""
    lines = []
    if not grid.chance_recorded and grid.chance:
        lines.append(
            "The runs record no chance accuracy (eval_chance_accuracy in config.json): chance is "
            "taken as 0, so a level answered by guessing (yes/no, a few entities) can look learned."
        )
    if _has_at_chance(comparison):
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
    """How levels count as learned, the levels that stayed at chance, and how thresholds are set."""
    margin = critical.get("chance_margin", CHANCE_MARGIN)
    lines = [
        f"A level counts as learned when some run's seed-mean final accuracy reaches chance + {margin:.0%} "
        "of the room above chance (0.55 on a yes/no level, 0.1 where chance is 0)."
    ]
    if not grid.chance_recorded and grid.chance:
        lines.append("The runs record no chance accuracy: chance is taken as 0.")
    for e in critical.get("levels", []):
        if e["at_chance"]:
            by = e["best_by"]
            lines.append(
                f"Level {e['level']} stayed at chance: the best seed-mean final accuracy was {e['best']:.3g} "
                f"('{by['curriculum']}', {by['lr_schedule']}, {human(by['non_embedding_params'])} params) "
                f"against chance {e['chance']:.3g}; no threshold or critical size."
            )
    if any(not e["at_chance"] for e in critical.get("levels", [])):
        lines.append(
            "Thresholds sit halfway between chance and the best final accuracy any curriculum reached "
            "on the level, the same for every curriculum and size; tokens to cross are interpolated "
            "between checkpoints. Critical size: the BNSL break where a break law was fitted (5 sizes "
            "or more), else the steepest step, the midpoint of the two adjacent sizes between which "
            "accuracy rises fastest."
        )
    return lines


def annealing_text(fits: dict) -> list[str]:
    """Whether the annealing law was fitted, how many fits are drawn and which are degenerate.

    The counts are those of `fit_figures.annealing_panels` and `annealing_drawn`, so the text says
    exactly what the figure shows.
    """
    fitted = [e for e in fits["lr_annealing"] if "params" in e["fit"]]
    if fits.get("lr_annealing_left_out"):
        return [
            "Left out: the fit was run without it (`fit --no-annealing`; the demos leave it out because "
            "their grids have one LR schedule, on which the law can describe the loss curve but cannot be "
            "tested against another schedule)."
        ]
    if not fits["lr_annealing"]:
        return ["Not fitted: no run logs learning rate and training loss over enough steps."]
    if not fitted:
        return [
            f"No fit: the law could not be fitted to any of the {len(fits['lr_annealing'])} cells (see the table)."
        ]
    degenerate = _degenerate_fits(fits)
    why = (f"a parameter at its bound, fit error above {DEGENERATE_FIT_ERROR:.0%}, or no convergence; "
           "the table gives each reason")  # fmt: skip
    if not annealing_drawn(fits):
        return [
            f"The law was fitted to {len(fitted)} cell(s) (curriculum x size) and describes none of them: "
            f"every fit is degenerate ({why}). No figure is drawn: the curves would not be a law. This is "
            "usual for runs too short or too noisy to show the learning-rate decay in their loss."
        ]
    drawn = len(fit_figures.annealing_panels(fits))
    shown = f"all {drawn}" if drawn == len(fitted) else f"the first {drawn} of {len(fitted)}"
    line = f"{len(fitted)} cell(s) fitted (curriculum x size, all LR schedules of a cell in one fit); the figure shows {shown}."
    if degenerate:
        panels = sum(e["fit"]["metrics"].get("degenerate", False) for e in fit_figures.annealing_panels(fits))
        line += (
            f" {len(degenerate)} of the {len(fitted)} fits are degenerate ({why}), {panels} of them drawn "
            "(dashed, titled 'degenerate'): do not read their parameters."
        )
    return [line]


def annealing_drawn(fits: dict) -> bool:
    """Whether the LR-annealing figure is drawn: some fit has parameters and is not degenerate."""
    return any(
        "params" in e["fit"] and not e["fit"]["metrics"].get("degenerate") for e in fits["lr_annealing"]
    )


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
    drawn, fitted = len(fit_figures.temporal_panels(fits)), sum("fit" in r for r in temporal["runs"])
    if drawn:
        lines.append(
            f"The figure shows {'all ' + str(drawn) if drawn == fitted else f'the first {drawn} of {fitted}'} runs predicted."
        )
    for cell in temporal["cells"]:
        lines.append(
            f"{cell['curriculum']} ({cell['lr_schedule']}), {human(cell['non_embedding_params'])}: "
            f"mean |error| of the predicted final loss {cell['mean_abs_final_loss_error']:.2%} "
            f"over {len(cell['runs'])} run(s)."
        )
    return lines


def _has_at_chance(comparison: dict) -> bool:
    """Whether any accuracy difference in the comparison is between two at-chance arms."""
    return any(e.get("at_chance") for c in comparison["cells"] for e in c["effects"].values())


def _degenerate_fits(fits: dict) -> list[dict]:
    """The LR-annealing entries whose fit is flagged degenerate."""
    return [e for e in fits["lr_annealing"] if e["fit"].get("metrics", {}).get("degenerate")]
