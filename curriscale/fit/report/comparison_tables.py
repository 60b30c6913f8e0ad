"""The tables of the curriculum comparison: per cell, per task level, per tier, per seed.

Each reads `comparison.json` (`compare`): differences are curriculum - static mix over seed
means, with the bootstrap intervals the comparison computed.
"""

from __future__ import annotations

from curriscale.fit.report.cells import Table, effect, fmt, fold, with_ci
from curriscale.fit.runs import Grid
from curriscale.fit.units import human


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
