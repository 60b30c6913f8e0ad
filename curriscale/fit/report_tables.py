"""The report's tables: each a (headers, rows of strings) pair built from the fits' JSON.

Shared by `report.html` and `summary.md`, so both show the same numbers, formatted the same way:
four significant digits, intervals in brackets, `-` for missing values, token counts and sizes as
`26.8k`. An accuracy difference where neither arm is clearly above chance is marked `(at chance)`.
"""

from __future__ import annotations

from curriscale.fit import plots
from curriscale.fit.runs import Grid

Table = tuple[list[str], list[list[str]]]


def comparison_table(comparison: dict) -> Table:
    """One row per cell: speedup and the main final-metric differences with intervals."""
    metrics = ["eval_loss", "ood_eval_loss", "mean_accuracy", "ood_mean_accuracy"]
    headers = ["curriculum", "LR", "size", "seeds", "speedup [95% CI]"] + [f"Δ {m}" for m in metrics]
    rows = [
        [
            c["curriculum"],
            c["lr_schedule"],
            plots.human(c["non_embedding_params"]),
            str(c["n_seeds"]),
            with_ci(c["speedup"], c["speedup_ci"]),
        ]
        + [effect(c["effects"][m]) if m in c["effects"] else "-" for m in metrics]
        for c in comparison["cells"]
    ]
    return headers, rows


def level_table(comparison: dict) -> Table:
    """Per-level accuracy (with its chance level) and documents drawn per tier, per cell."""
    headers = ["curriculum", "LR", "size", "metric", "chance", "curriculum mean", "static mean", "Δ [95% CI]"]
    rows = [
        [
            c["curriculum"],
            c["lr_schedule"],
            plots.human(c["non_embedding_params"]),
            metric,
            fmt(e.get("chance")),
            fmt(e["curriculum"]),
            fmt(e["baseline"]),
            effect(e),
        ]
        for c in comparison["cells"]
        for metric, e in sorted(c["effects"].items())
        if metric.startswith(("accuracy_level_", "documents_tier_"))
    ]
    return headers, rows


def has_at_chance(comparison: dict) -> bool:
    """Whether any accuracy difference in the comparison is between two at-chance arms."""
    return any(e.get("at_chance") for c in comparison["cells"] for e in c["effects"].values())


def crossover_table(comparison: dict) -> Table:
    """Sizes where the final-loss difference and the speedup change sign."""

    def sizes(values: list) -> str:
        return ", ".join(plots.human(v) for v in values) or "none"

    rows = [
        [r["curriculum"], r["lr_schedule"], sizes(r["eval_loss_crossover"]), sizes(r["speedup_crossover"])]
        for r in comparison["crossover"]
    ]
    return ["curriculum", "LR", "final-loss crossover", "speedup crossover"], rows


def interaction_table(comparison: dict) -> Table:
    """How each curriculum's effect changes from the reference LR schedule."""
    headers = ["curriculum", "size", "LR vs reference", "Δ final-loss effect", "Δ log speedup"]
    rows = [
        [
            r["curriculum"],
            plots.human(r["non_embedding_params"]),
            f"{r['lr_schedule']} vs {r['reference']}",
            with_ci(r["eval_loss_change"], r["eval_loss_change_ci"]),
            with_ci(r["log_speedup_change"], r["log_speedup_change_ci"]),
        ]
        for r in comparison["lr_interaction"]
    ]
    return headers, rows


def scaling_table(fits: dict) -> Table:
    """Power-law parameters with intervals and fit diagnostics (or why a fit was skipped)."""
    headers = ["curriculum", "LR", "metric", "E", "A", "alpha", "fit error", "held-out error", "converged",
               "degenerate"]  # fmt: skip
    rows = []
    for r in fits["scaling"]:
        fit = r["fit"]
        if "params" not in fit:
            rows.append([r["curriculum"], r["lr_schedule"], r["metric"], fit["skipped"], *[""] * 6])
            continue
        params = [with_ci(fit["params"][p], fit["ci"].get(p)) for p in ("E", "A", "alpha")]
        m = fit["metrics"]
        rows.append(
            [
                r["curriculum"],
                r["lr_schedule"],
                r["metric"],
                *params,
                fmt(m["fit_error"]),
                fmt(m.get("heldout_error")),
                str(m["converged"]),
                degenerate_cell(m),
            ]
        )
    return headers, rows


def level_chance_table(critical: dict) -> Table:
    """Per accuracy level: chance, best final accuracy and who reached it, the shared threshold."""
    headers = ["level", "chance", "best final accuracy", "reached by", "threshold", "note"]
    rows = []
    for e in critical.get("levels", []):
        by = e["best_by"]
        rows.append(
            [
                str(e["level"]),
                fmt(e["chance"]),
                fmt(e["best"]),
                f"{by['curriculum']} ({by['lr_schedule']}), {plots.human(by['non_embedding_params'])}",
                fmt(e["threshold"]),
                "at chance: no threshold, no critical point" if e["at_chance"] else "",
            ]
        )
    return headers, rows


def critical_table(critical: dict) -> Table:
    """Critical size per curriculum, level and quantity: steepest step and BNSL break."""
    headers = ["curriculum", "LR", "level", "quantity", "steepest step", "BNSL break [95% CI]"]
    rows = []
    for e in critical["critical_sizes"]:
        fit = e["bnsl"]
        if e.get("at_chance"):
            brk = "at chance: none"
        elif "breaks" in fit and fit["breaks"]:
            ci = [plots.human(v) for v in fit["ci"]["d1"]] if "d1" in fit.get("ci", {}) else None
            brk = plots.human(fit["breaks"][0]) + (f" [{ci[0]}, {ci[1]}]" if ci else "")
        else:
            brk = fit.get("skipped", "no break")
        step = plots.human(e["steepest_step"]) if e["steepest_step"] else "-"
        rows.append([e["curriculum"], e["lr_schedule"], str(e["level"]), e["quantity"], step, brk])
    return headers, rows


def threshold_table(critical: dict) -> Table:
    """Tokens (and step) at which each size first crossed its level's threshold."""
    headers = ["curriculum", "LR", "level", "size", "chance", "threshold", "tokens to cross", "step",
               "seeds reaching"]  # fmt: skip
    rows = [
        [
            r["curriculum"],
            r["lr_schedule"],
            str(r["level"]),
            plots.human(r["non_embedding_params"]),
            fmt(r.get("chance")),
            fmt(r["threshold"]),
            "-" if r["tokens"] is None else plots.human(r["tokens"]),
            "-" if r["step"] is None else f"{r['step']:.0f}",
            f"{r['reached']}/{r['n_seeds']}",
        ]
        for r in critical["threshold_steps"]
    ]
    return headers, rows


def annealing_table(fits: dict) -> Table:
    """LR-annealing law parameters per cell, degenerate fits marked with the reason."""
    headers = ["curriculum", "size", "runs", "L0", "A", "C", "alpha", "lam", "fit error", "degenerate"]
    rows = []
    for e in fits["lr_annealing"]:
        fit = e["fit"]
        values = (
            [fmt(fit["params"][p]) for p in ("L0", "A", "C", "alpha", "lam")]
            if "params" in fit
            else [fit["skipped"], "", "", "", ""]
        )
        metrics = fit.get("metrics", {})
        error = fmt(metrics["fit_error"]) if "fit_error" in metrics else ""
        rows.append(
            [
                e["curriculum"],
                plots.human(e["non_embedding_params"]),
                ", ".join(e["runs"]),
                *values,
                error,
                degenerate_cell(metrics) if "params" in fit else "",
            ]
        )
    return headers, rows


def temporal_table(fits: dict) -> Table:
    """Per run: the temporal law's final-loss prediction from the first part of training."""
    headers = ["curriculum", "LR", "size", "seed", "fitted to step", "final step", "observed final loss",
               "predicted", "error", "position MRE", "degenerate"]  # fmt: skip
    rows = []
    for r in (fits.get("temporal") or {}).get("runs", []):
        identity = [r["curriculum"], r["lr_schedule"], plots.human(r["non_embedding_params"]), str(r["seed"])]
        if "fit" not in r:
            rows.append([*identity, r["skipped"], *[""] * 6])
            continue
        rows.append(
            [
                *identity,
                f"{r['fitted_until_step']:g}",
                f"{r['final_step']:g}",
                fmt(r["final_loss_observed"]),
                fmt(r["final_loss_predicted"]),
                f"{r['final_loss_error']:+.2%}",
                f"{r['final_positions_error']:.2%}",
                degenerate_cell(r["fit"]["metrics"]),
            ]
        )
    return headers, rows


def degenerate_cell(metrics: dict) -> str:
    """`yes: <reason>` for a degenerate fit, `no` otherwise (the same words in every table)."""
    return f"yes: {metrics['degenerate_reason']}" if metrics.get("degenerate") else "no"


def degenerate_fits(fits: dict) -> list[dict]:
    """The LR-annealing entries whose fit is flagged degenerate."""
    return [e for e in fits["lr_annealing"] if e["fit"].get("metrics", {}).get("degenerate")]


def per_seed_table(comparison: dict) -> Table:
    """Runs paired by seed: final eval losses, difference and speedup."""
    headers = ["curriculum", "LR", "size", "seed", "eval loss", "static eval loss", "Δ", "speedup"]
    rows = [
        [
            r["curriculum"],
            r["lr_schedule"],
            str(r["size"]),
            str(r["seed"]),
            fmt(r["eval_loss"]),
            fmt(r["baseline_eval_loss"]),
            fmt(r["diff"]),
            fmt(r["speedup"]),
        ]
        for r in comparison["per_seed"]
    ]
    return headers, rows


def runs_table(grid: Grid) -> Table:
    """Every finished run with its final metrics."""
    columns = ["run", "curriculum", "size", "lr_schedule", "seed", "non_embedding_params", "eval_loss"]
    columns += [c for c in ("mean_accuracy", "ood_eval_loss") if c in grid.runs]
    return columns, [[fmt(v) for v in row] for row in grid.runs[columns].itertuples(index=False)]


def effect(e: dict) -> str:
    """A comparison effect as `diff [lo, hi]`, with `(at chance)` when both arms stayed at chance."""
    return with_ci(e["diff"], e["ci"]) + (" (at chance)" if e.get("at_chance") else "")


def with_ci(value, ci) -> str:
    """`1.234 [1.1, 1.4]`, or the value alone when there is no interval."""
    if value is None:
        return "-"
    if not ci or None in ci:
        return fmt(value)
    return f"{fmt(value)} [{fmt(ci[0])}, {fmt(ci[1])}]"


def fmt(value) -> str:
    """Four significant digits for floats, `-` for missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
