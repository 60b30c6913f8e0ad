"""The report's answer to "which curriculum should each size train?": `recommend`'s progression drawn.

`fit.progression` picks, at every grid size, the arm (curriculum and LR schedule) whose speedup
over the static mix clearly pays, or the static mix when none does. This section draws that pick
against size: at each size the best arm's speedup with its 95% interval, filled where it pays and
hollow where the static mix stays the pick, labelled with the pick; and tables the entries with
the pacing speed (warmup fraction) and the reason in words.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from curriscale.fit.report import canvas
from curriscale.fit.report.cells import Table, fmt, with_ci
from curriscale.fit.report.page import section, titled
from curriscale.fit.runs import Grid

HOW_TO_READ = (
    "At each model size, the best arm's speedup over the static mix (bars: 95% interval over seeds). "
    "Filled: its interval lies above 1 and its final loss is lower, so the size should train it (the "
    "label names it); hollow: no arm clearly pays, so the size keeps the static mix (the label says "
    "so and the point shows the best arm's evidence)."
)


def progression_section(grid: Grid, entries: list[dict]) -> dict:
    """The section: one figure and the table of `fit.progression` entries (one per size)."""
    paying = [e["non_embedding_params"] for e in entries if not e["no_curriculum"]]
    line = (
        f"A curriculum pays at {len(paying)} of the {len(entries)} sizes; the rest keep the static mix."
        if paying
        else f"No curriculum clearly pays at any of the {len(entries)} sizes: each keeps the static mix."
    )
    return section(
        "progression",
        "Which curriculum each size should train",
        [line],
        figures=[(progression_figure(grid, entries), HOW_TO_READ)],
        tables=[
            titled(
                "The pick per size (`curriscale recommend` chooses the same way)", progression_table(entries)
            )
        ],
    )


def progression_figure(grid: Grid, entries: list[dict]) -> bytes:
    """The best arm's speedup against size, filled where it is the pick, labelled with the pick."""
    fig, axes = canvas.figure(1, 1, panel=(5.6, 3.0), left=0.9, right=0.2)
    ax = axes[0][0]
    values, best_arms = [1.0], {}
    for entry in entries:
        n, speedup = entry["non_embedding_params"], entry["speedup"]
        if speedup is None or not np.isfinite(speedup) or speedup <= 0:
            continue
        best = entry["best_arm"]["curriculum"]
        colour = best_arms[best] = canvas.colour(grid, best)
        low, high = (v if v is not None else speedup for v in entry["speedup_ci"])
        face = "white" if entry["no_curriculum"] else colour
        # A bootstrap percentile interval need not contain the point estimate: clip the bars at it.
        error = [[max(speedup - low, 0.0)], [max(high - speedup, 0.0)]]
        ax.errorbar([n], [speedup], yerr=error, color=colour, marker="o",
                    markersize=7, markerfacecolor=face, capsize=3)  # fmt: skip
        pick = "static mix" if entry["no_curriculum"] else f"{entry['curriculum']} ({entry['lr_schedule']})"
        ax.annotate(
            pick, (n, max(high, speedup)), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7
        )
        values += [v for v in (speedup, low, high) if v > 0]
    ax.axhline(1.0, color="black", linewidth=0.9)
    ax.set_ylim(min(values) / 1.3, max(values) * 1.4)
    ax.set_xlabel("non-embedding params")
    ax.set_ylabel("best arm's speedup (x)")
    canvas.log_axes(ax, "xy")
    handles = [
        Line2D([], [], color=c, marker="o", linestyle="", label=f"best arm: {name}")
        for name, c in best_arms.items()
    ]
    handles.append(
        Line2D(
            [], [], color="grey", marker="o", markerfacecolor="white", linestyle="", label="static mix kept"
        )
    )
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    return canvas.png(fig)


def progression_table(entries: list[dict]) -> Table:
    """One row per size: the pick, its LR schedule and pacing speed, the evidence and why."""
    headers = ["size", "non-embedding params", "train", "LR schedule", "warmup fraction",
               "best arm's speedup [95% CI]", "Δ eval loss [95% CI]", "why"]  # fmt: skip
    rows = [
        [
            fmt(e["size"]),
            fmt(e["non_embedding_params"]),
            "static mix" if e["no_curriculum"] else fmt(e["curriculum"]),
            fmt(e["lr_schedule"]),
            fmt(e.get("warmup_fraction")),
            with_ci(e["speedup"], e["speedup_ci"]),
            with_ci(e["eval_loss_diff"], e["eval_loss_diff_ci"]),
            e["basis"],
        ]
        for e in entries
    ]
    return headers, rows
