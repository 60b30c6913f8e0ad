"""The report's tables: each a (headers, rows of strings) pair built from the fits' JSON.

Shared by `report.html` and `summary.md`, so both show the same numbers, formatted the same way:
four significant digits, intervals in brackets, `-` for missing values, token counts and sizes as
`26.8k`. An accuracy difference where neither arm is clearly above chance is marked `(at chance)`.

Not identified. A fitted parameter is shown as `not identified`, instead of a value and an
interval, when the data do not pin it down (`identified`): its 95% bootstrap interval spans more
than `NOT_IDENTIFIED_SPAN` (a factor of 1000, three orders of magnitude) between two positive
ends, or an end of that interval sits at a bound of the parameter's search range
(`diagnostics.at_bound`: the resamples piled up there), or the fit is flagged degenerate because
the parameter itself sits at a bound.
Such numbers (`A 2087 [7e-10, 1e+09]`) describe the optimiser, not the data.

Folding. Rows that differ only in their size column (documents drawn per tier, which depend on the
manifest and the budget, not on the model) are shown once, with the sizes listed (`fold`).
"""

from __future__ import annotations

import os
from pathlib import Path

from curriscale.fit.diagnostics import at_bound
from curriscale.fit.runs import Grid, resolve_manifest
from curriscale.fit.units import human

Table = tuple[list[str], list[list[str]]]
# A positive interval wider than this factor does not identify its parameter.
NOT_IDENTIFIED_SPAN = 1e3
NOT_IDENTIFIED = "not identified"


def comparison_table(comparison: dict) -> Table:
    """One row per cell: speedup and the main final-metric differences with intervals."""
    metrics = ["eval_loss", "ood_eval_loss", "mean_accuracy", "ood_mean_accuracy"]
    headers = ["curriculum", "LR", "size", "seeds", "speedup [95% CI]"] + [f"Δ {m}" for m in metrics]
    rows = [
        [
            c["curriculum"],
            c["lr_schedule"],
            human(c["non_embedding_params"]),
            str(c["n_seeds"]),
            with_ci(c["speedup"], c["speedup_ci"]),
        ]
        + [effect(c["effects"][m]) if m in c["effects"] else "-" for m in metrics]
        for c in comparison["cells"]
    ]
    return headers, rows


def level_table(comparison: dict) -> Table:
    """Per-level accuracy (with its chance level), per cell."""
    return _effects_table(comparison, ("accuracy_level_", "ood_accuracy_level_"), chance=True)


def documents_table(comparison: dict) -> Table:
    """Documents drawn per tier, per cell; rows that repeat across sizes folded into one."""
    headers, rows = _effects_table(comparison, ("documents_tier_",), chance=False)
    return headers, fold(rows, 2, {human(c["non_embedding_params"]) for c in comparison["cells"]})


def _effects_table(comparison: dict, prefixes: tuple[str, ...], chance: bool) -> Table:
    """One row per cell and metric starting with one of `prefixes`: both means and the difference."""
    headers = ["curriculum", "LR", "size", "metric", "chance", "curriculum mean", "static mean", "Δ [95% CI]"]
    rows = [
        [
            c["curriculum"],
            c["lr_schedule"],
            human(c["non_embedding_params"]),
            metric,
            fmt(e.get("chance")),
            fmt(e["curriculum"]),
            fmt(e["baseline"]),
            effect(e),
        ]
        for c in comparison["cells"]
        for metric, e in sorted(c["effects"].items(), key=lambda item: _metric_order(item[0]))
        if metric.startswith(prefixes)
    ]
    if not chance:
        headers, rows = headers[:4] + headers[5:], [r[:4] + r[5:] for r in rows]
    return headers, rows


def _metric_order(metric: str) -> tuple:
    """`accuracy_level_2` before `accuracy_level_10`: by name, then by the number at the end."""
    stem, _, number = metric.rpartition("_")
    return (stem, int(number)) if number.isdigit() else (metric, 0)


def fold(rows: list[list[str]], column: int, every: set[str] | None = None) -> list[list[str]]:
    """Rows equal in every cell but `column` merged into one, their `column` values listed.

    The first such row's position is kept. The merged cell reads `all sizes` when it lists
    every value in `every`, else the values joined by commas.
    """
    groups: dict[tuple, list[str]] = {}
    for row in rows:
        key = tuple(row[:column] + row[column + 1 :])
        groups.setdefault(key, []).append(row[column])
    out = []
    for key, values in groups.items():
        merged = "all sizes" if every and len(values) > 1 and set(values) == every else ", ".join(values)
        out.append([*key[:column], merged, *key[column:]])
    return out


def has_at_chance(comparison: dict) -> bool:
    """Whether any accuracy difference in the comparison is between two at-chance arms."""
    return any(e.get("at_chance") for c in comparison["cells"] for e in c["effects"].values())


def crossover_table(comparison: dict) -> Table:
    """Sizes where the final-loss difference and the speedup change sign."""

    def sizes(values: list) -> str:
        return ", ".join(human(v) for v in values) or "none"

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
            human(r["non_embedding_params"]),
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


def identified(fit: dict, name: str) -> bool:
    """Whether the data pin a fitted parameter down (see the module docstring for the rule)."""
    reason = fit.get("metrics", {}).get("degenerate_reason") or ""
    if f"{name} = " in reason and "at the bound" in reason.split(f"{name} = ", 1)[1].split(";", 1)[0]:
        return False
    low, high = (fit.get("ci") or {}).get(name) or (None, None)
    if low is None or high is None:
        return True  # no interval: nothing says it is not
    if at_bound(fit, name, low) or at_bound(fit, name, high):
        return False
    return not (low > 0 and high > 0 and high / low > NOT_IDENTIFIED_SPAN)


def param_cell(fit: dict, name: str) -> str:
    """A fitted parameter as `value [lo, hi]`, or `not identified` (see `identified`)."""
    if not identified(fit, name):
        return NOT_IDENTIFIED
    return with_ci(fit["params"][name], (fit.get("ci") or {}).get(name))


def averaging_table(comparison: dict, grid: Grid | None = None) -> Table:
    """Averaged (EMA) against raw weights per curriculum, LR schedule and size: final eval loss.

    With `grid`, a last column gives the raw final eval loss (seed mean) of the same curriculum and
    size under the grid's other LR schedules: averaging at a constant LR is meant to stand in for
    LR decay, so that is the comparison to make.
    """
    headers = ["curriculum", "LR", "size", "runs", "raw eval loss", "averaged eval loss",
               "Δ averaged - raw [95% CI]", "Δ mean accuracy [95% CI]"]  # fmt: skip
    if grid is not None:
        headers.append("raw eval loss, other LR schedules")
    rows = []
    for r in comparison.get("averaging", []):
        loss, accuracy = r["effects"].get("eval_loss"), r["effects"].get("mean_accuracy")
        if loss is None:
            continue
        row = [
            r["curriculum"],
            r["lr_schedule"],
            human(r["non_embedding_params"]),
            str(r["n_seeds"]),
            fmt(loss["raw"]),
            fmt(loss["averaged"]),
            with_ci(loss["diff"], loss["ci"]),
            with_ci(accuracy["diff"], accuracy["ci"]) if accuracy else "-",
        ]
        if grid is not None:
            runs = grid.runs
            others = runs[(runs["curriculum"] == r["curriculum"]) & (runs["lr_schedule"] != r["lr_schedule"])
                          & (runs["non_embedding_params"] == r["non_embedding_params"])]  # fmt: skip
            means = others.groupby("lr_schedule")["eval_loss"].mean()
            row.append(", ".join(f"{lr} {fmt(float(v))}" for lr, v in means.items()) or "-")
        rows.append(row)
    return headers, rows


def curricula_table(grid: Grid, fits: dict, schedules: dict) -> Table:
    """One row per curriculum: its role, pacing (kind and parameters), tiers and manifest."""
    headers = ["curriculum", "role", "pacing", "tiers", "difficulty score", "manifest"]
    rows = []
    for name, info in sorted(fits.get("curricula", {}).items()):
        manifest = schedules.get(name) or {}
        run = grid.runs.loc[grid.runs["curriculum"] == name, "run"].iloc[0]
        path = resolve_manifest(grid.configs.get(run, {}), grid.root / run, grid.root)
        # Named from the grid folder's parent, where a project keeps its grid and its curricula.
        where = os.path.relpath(path.resolve(), grid.root.resolve().parent) if path else "not found"
        pacing = manifest.get("pacing") or {"kind": info.get("pacing_kind") or "?"}
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in (pacing.get("params") or {}).items())  # fmt: skip
        difficulty = ", ".join((manifest.get("difficulty") or {}).get("columns", {})) or "-"
        rows.append(
            [
                name,
                "baseline (static mix)" if name == fits.get("baseline") else "curriculum",
                pacing["kind"] + (f" ({params})" if params else ""),
                str(len(manifest["tiers"])) if "tiers" in manifest else "-",
                difficulty,
                Path(where).as_posix(),
            ]
        )
    return headers, rows


def grid_table(grid: Grid) -> Table:
    """One row per size: parameters, LR schedules with peak LRs, budget, seeds and runs finished."""
    headers = ["size", "non-embedding params", "params", "LR schedules (peak LR)", "token budget",
               "tokens trained", "seeds", "runs"]  # fmt: skip
    rows = []
    for n, runs in grid.runs.groupby("non_embedding_params", sort=True):
        configs = [grid.configs.get(r, {}) for r in runs["run"]]
        params = {c.get("n_params") for c in configs} - {None}
        peaks = {}
        for lr, config in zip(runs["lr_schedule"], configs, strict=True):
            peaks.setdefault(lr, set()).add(config.get("lr"))
        schedules = ", ".join(
            lr + (f" ({', '.join(f'{v:g}' for v in sorted(p - {None}))})" if p - {None} else "")
            for lr, p in sorted(peaks.items())
        )
        budgets = sorted({v for v in runs["budget_tokens"] if v == v and v is not None})
        rows.append(
            [
                ", ".join(sorted(runs["size"].astype(str).unique())),
                human(n),
                ", ".join(human(v) for v in sorted(params)) or "-",
                schedules,
                ", ".join(human(v) for v in budgets) or "-",
                ", ".join(human(v) for v in sorted(runs["final_tokens"].unique())),
                ", ".join(str(int(v)) for v in sorted(runs["seed"].unique())),
                str(len(runs)),
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
