"""The tables of the fitted laws: scaling, joint, critical points and thresholds, annealing, temporal.

Each reads `fits.json` or `critical_points.json` (`grid_fit`, `critical`). A fit that was skipped
shows why in place of its parameters; a degenerate one says so in its last column
(`cells.degenerate_cell`), and a parameter the data do not pin down reads `not identified`.
"""

from __future__ import annotations

from curriscale.fit.report.cells import NOT_IDENTIFIED, Table, degenerate_cell, fmt, identified, param_cell
from curriscale.fit.units import human


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
        params = [param_cell(fit, p) for p in ("E", "A", "alpha")]
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


def chinchilla_table(fits: dict) -> Table:
    """The joint law L(N, D) per curriculum and LR schedule, where the grid has several budgets."""
    names = ("E", "A", "B", "alpha", "beta")
    headers = ["curriculum", "LR", *names, "fit error", "held-out error", "degenerate"]
    rows = []
    for r in fits.get("chinchilla", []):
        fit = r["fit"]
        if "params" not in fit:
            rows.append([r["curriculum"], r["lr_schedule"], fit["skipped"], *[""] * (len(headers) - 3)])
            continue
        m = fit["metrics"]
        rows.append([r["curriculum"], r["lr_schedule"], *[param_cell(fit, p) for p in names],
                     fmt(m["fit_error"]), fmt(m.get("heldout_error")), degenerate_cell(m)])  # fmt: skip
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
                f"{by['curriculum']} ({by['lr_schedule']}), {human(by['non_embedding_params'])}",
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
            ci = fit.get("ci", {}).get("d1")
            if not identified(fit, "d1"):
                brk = NOT_IDENTIFIED
            elif ci and None not in ci:
                brk = f"{human(fit['breaks'][0])} [{human(ci[0])}, {human(ci[1])}]"
            else:
                brk = human(fit["breaks"][0])
            if fit.get("metrics", {}).get("degenerate"):
                brk += " (degenerate fit)"
        else:
            brk = fit.get("skipped", "no break")
        step = human(e["steepest_step"]) if e["steepest_step"] else "-"
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
            human(r["non_embedding_params"]),
            fmt(r.get("chance")),
            fmt(r["threshold"]),
            "-" if r["tokens"] is None else human(r["tokens"]),
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
            [param_cell(fit, p) for p in ("L0", "A", "C", "alpha", "lam")]
            if "params" in fit
            else [fit["skipped"], "", "", "", ""]
        )
        metrics = fit.get("metrics", {})
        error = fmt(metrics["fit_error"]) if "fit_error" in metrics else ""
        rows.append(
            [
                e["curriculum"],
                human(e["non_embedding_params"]),
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
        identity = [r["curriculum"], r["lr_schedule"], human(r["non_embedding_params"]), str(r["seed"])]
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
