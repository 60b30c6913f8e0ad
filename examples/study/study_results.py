"""The study's RESULTS.md, written from the fits folder alone (fits.json and its companions).

Nothing is recomputed here that the fitter computes: speedups, final-metric differences and their
95% intervals come from `comparison.json` (`curriscale.fit.compare`), the per-level thresholds from
`critical_points.json`, the per-size progression from `curriscale.fit.recommend.progression`. Two
helpers feed them:

- `averaged_comparison`: for LR treatments that keep an average of the weights (`ema_decay`), the
  model one keeps is the average, so the curricula are compared on the averaged weights too: the
  same `compare_grid`, run on a view of the grid whose metrics are the `ema_` ones.
- `write_progression`: `recommend`'s per-size table, with each curriculum's pacing speed read from
  its manifest, into fits/progression.json.

The growth arms (GROWTH.yaml: grown or distilled against fresh at equal compute) come from
fits/growth.json (`curriscale.fit.growth.compare_growth`).

A cell "beats the static mix" when the 95% interval of its final eval-loss difference lies below 0;
it "loses" when that interval lies above 0; otherwise the difference is not resolved. With 3 seeds
per arm these intervals cover about 85% (see compare.py): read them as such.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from curriscale.curricula.spectrum import TASKS
from curriscale.io import atomic_write_json, atomic_write_text

AVERAGED = "ema_"
NUMBERS = {3: "three", 6: "six"}


def averaged_comparison(runs_dir: Path, n_boot: int, seed: int) -> dict | None:
    """`compare_grid` on the averaged weights of the runs that kept an average; None if none did."""
    from curriscale.fit.compare import compare_grid
    from curriscale.fit.runs import load_grid

    grid = load_grid(runs_dir)
    column = AVERAGED + "eval_loss"
    if column not in grid.runs or grid.runs[column].isna().all():
        return None
    runs = grid.runs[grid.runs[column].notna()].copy()
    curves = grid.curves[grid.curves["run"].isin(runs["run"])].copy()
    for frame in (runs, curves):
        averaged = [c for c in frame.columns if c.startswith(AVERAGED)]
        twins = {c[len(AVERAGED) :] for c in averaged}
        # Model metrics without an averaged twin would be the raw model's: leave them out.
        model_metrics = [c for c in frame.columns if _is_model_metric(c) and c not in twins]
        frame.drop(columns=model_metrics, inplace=True)
        for c in averaged:
            frame[c[len(AVERAGED) :]] = frame.pop(c)
    view = dataclasses.replace(grid, runs=runs.reset_index(drop=True), curves=curves)
    comparison = compare_grid(view, n_boot=n_boot, seed=seed)
    comparison["weights"] = "averaged (ema_ metrics)"
    return comparison


def _is_model_metric(column: str) -> bool:
    prefixes = ("eval_loss", "ood_", "accuracy_level_", "mean_accuracy", "answer_loss_level_")
    return column.startswith(prefixes)


def write_progression(fits_dir: Path) -> Path:
    """`recommend`'s per-size progression (curriculum, pacing speed, interval) into progression.json."""
    from curriscale.fit.recommend import curriculum_pacings, progression

    fits = json.loads((fits_dir / "fits.json").read_text())
    comparison = json.loads((fits_dir / "comparison.json").read_text())
    pacings = curriculum_pacings(fits_dir, fits)
    document = {"raw": progression(fits, comparison, pacings)}
    averaged = fits_dir / "comparison_averaged.json"
    if averaged.is_file():
        document["averaged"] = progression(fits, json.loads(averaged.read_text()), pacings)
    atomic_write_json(fits_dir / "progression.json", document)
    return fits_dir / "progression.json"


# ---- RESULTS.md -------------------------------------------------------------------------------


def write_results(out: Path) -> Path:
    """Write OUT/RESULTS.md from OUT/fits and OUT/study_plan.json; returns its path."""
    out = Path(out)
    fits_dir = out / "fits"
    read = lambda name: json.loads((fits_dir / name).read_text())  # noqa: E731
    plan = json.loads((out / "study_plan.json").read_text())
    fits, comparison, critical = read("fits.json"), read("comparison.json"), read("critical_points.json")
    averaged = read("comparison_averaged.json") if (fits_dir / "comparison_averaged.json").is_file() else None
    progression = read("progression.json") if (fits_dir / "progression.json").is_file() else {}
    growth = read("growth.json") if (fits_dir / "growth.json").is_file() else None
    text = render(plan, fits, comparison, averaged, critical, progression, growth)
    atomic_write_text(out / "RESULTS.md", text)
    return out / "RESULTS.md"


def render(plan, fits, comparison, averaged, critical, progression, growth=None) -> str:
    """RESULTS.md as text (pure: the same JSON gives the same bytes)."""
    grid = plan["grid"]
    # Level number -> name (the spectrum's tasks, or the graded corpus's reading levels).
    names = {int(level): name for level, name in plan.get("levels", TASKS).items()}
    ema = {t["name"] for t in grid["lr_schedules"] if isinstance(t, dict) and "ema_decay" in t}
    rows = _rows(comparison, averaged, ema)
    lines = [
        "# Curriculum study: results" + (" (--quick: a smoke run, not evidence)" if plan["quick"] else ""),
        "",
        "Written by `python examples/study/run.py` from `fits/` (comparison.json, "
        "comparison_averaged.json, critical_points.json, progression.json); every figure below is "
        "read from those files.",
        "",
        "## What ran",
        "",
        *_setup(plan, fits, names),
        "",
        "## Speedup and final-loss difference per cell",
        "",
        "Speedup: tokens the static mix needs to reach the worse of the two final eval losses, over the "
        "tokens the curriculum needs (above 1: the curriculum is faster). Difference: curriculum minus "
        "static mix in final eval loss (negative: the curriculum ends better). Brackets: 95% bootstrap "
        "intervals over seeds (about 85% coverage with 3 seeds). Treatments that keep an average of the "
        "weights are compared on the averaged weights (the model one keeps) and, in their own rows, "
        "on the raw weights.",
        "",
        "| curriculum | LR treatment | weights | size | non-emb. params | speedup [95%] | final-loss diff [95%] | verdict |",
        "|---|---|---|---|---:|---|---|---|",
    ]
    lines += [
        f"| {r['curriculum']} | {r['lr_schedule']} | {r['weights']} | {r['size']} | {r['n']:,} "
        f"| {_fmt_ratio(r['speedup'], r['speedup_ci'])} | {_fmt_diff(r['diff'], r['diff_ci'])} | {r['verdict']} |"
        for r in rows
    ]
    lines += ["", "## Does any curriculum beat the static mix at equal compute?", "", *_wins(rows)]
    lines += [
        "",
        "## Which levels each curriculum changes, and at which sizes",
        "",
        *_levels(comparison, averaged, ema, names),
    ]
    lines += ["", "## On text unlike the training text (ood)", "", *_ood(rows)]
    lines += ["", "## Does the effect grow or shrink with size?", "", *_trends(rows)]
    lines += ["", "## Curriculum progression per size (`recommend`)", "", *_progression(progression)]
    lines += [
        "",
        "## When each level is learned, and what each arm fed it",
        "",
        *_thresholds(critical, names),
    ]
    lines += ["", *_consumption(comparison, names)]
    lines += ["", "## Start small and grow, or train the large model fresh?", "", *_growth(growth)]
    lines += ["", "## Conclusion", "", *_conclusion(rows, plan)]
    return "\n".join(lines).rstrip() + "\n"


def _rows(comparison: dict, averaged: dict | None, ema: set[str]) -> list[dict]:
    """One row per compared cell; averaged-weight rows first for treatments that keep an average."""
    rows = []
    sources = [("raw", comparison)] + ([("averaged", averaged)] if averaged else [])
    for weights, source in sources:
        for cell in source.get("cells", []):
            if weights == "averaged" and cell["lr_schedule"] not in ema:
                continue
            loss = cell["effects"].get("eval_loss", {})
            ood = cell["effects"].get("ood_eval_loss", {})
            row = {
                "curriculum": cell["curriculum"],
                "lr_schedule": cell["lr_schedule"],
                "weights": weights,
                "size": cell["size"],
                "n": int(cell["non_embedding_params"]),
                "speedup": cell["speedup"],
                "speedup_ci": cell.get("speedup_ci") or [None, None],
                "diff": loss.get("diff"),
                "diff_ci": loss.get("ci") or [None, None],
                "ood": ood.get("diff"),
                "ood_ci": ood.get("ci") or [None, None],
                "n_seeds": cell["n_seeds"],
            }
            row["verdict"] = _verdict(row)
            rows.append(row)
    order = {"averaged": 0, "raw": 1}
    return sorted(rows, key=lambda r: (r["curriculum"], r["lr_schedule"], order[r["weights"]], r["n"]))


def _verdict(row: dict) -> str:
    low, high = row["diff_ci"]
    if low is None:
        return "no interval (one seed)"
    if high < 0:
        return "**beats static**"
    if low > 0:
        return "loses to static"
    return "not resolved"


def _kept(rows: list[dict]) -> list[dict]:
    """The rows that judge each arm: averaged weights where the treatment keeps an average."""
    averaged = {(r["curriculum"], r["lr_schedule"]) for r in rows if r["weights"] == "averaged"}
    return [
        r for r in rows if r["weights"] == "averaged" or (r["curriculum"], r["lr_schedule"]) not in averaged
    ]


def _setup(plan: dict, fits: dict, names: dict[int, str]) -> list[str]:
    grid = plan["grid"]
    treatments = []
    for t in grid["lr_schedules"]:
        if isinstance(t, str):
            treatments.append(f"`{t}`")
            continue
        extra = ", ".join(f"{k}={v}" for k, v in (t.get("params") or {}).items())
        if "ema_decay" in t:
            extra = ", ".join(filter(None, [extra, f"EMA of the weights, decay {t['ema_decay']}"]))
        treatments.append(f"`{t['name']}` ({t['kind']}{', ' + extra if extra else ''})")
    curricula = []
    for name, entry in fits["curricula"].items():
        curricula.append(f"`{name}` ({entry.get('pacing_kind')})")
    budget = ", ".join(f"{k} {v:,}" for k, v in grid["budget"].items())
    return [
        f"- Data: {_data(plan['data'], names)}",
        f"- Curricula (tiers = the {NUMBERS.get(len(names), len(names))} levels): {', '.join(curricula)}; baseline `{fits['baseline']}`.",
        f"- LR treatments: {', '.join(treatments)}.",
        f"- Sizes: {', '.join(grid['sizes'])} ({', '.join(f'{n:,}' for n in fits['sizes'])} non-embedding "
        f"parameters); seeds {grid['seeds']}; budget per cell: {budget} (every arm of a size gets the "
        "same tokens, so the same FLOPs); per-size peak LR "
        f"{grid.get('lr')}; tokenizer {grid.get('tokenizer')}; training {grid.get('train')}.",
        f"- Cells: {len(grid['sizes']) * len(grid['manifests']) * len(grid['lr_schedules']) * len(grid['seeds'])}; "
        f"finished runs left out: {len(fits.get('skipped_runs') or {})}.",
    ]


def _data(data: dict, names: dict[int, str]) -> str:
    levels = ", ".join(f"{k} {v}" for k, v in names.items())
    if data.get("corpus") == "onestopenglish":
        return (
            f"OneStopEnglish, articles rewritten by teachers at three reading levels ({levels}): "
            f"{data['train_documents']:,} training documents ({data['train_articles']} articles x their "
            f"levels; {data['flagged_left_out']} versions flagged as another article's text left out), "
            f"eval on {data['eval_paragraphs']} paragraphs of {data['eval_articles']} held-out articles "
            f"(split by article, seed {data['seed']}), ood on {data['ood_sentences']} CEFR-SP sentences "
            "graded A1..C2 by teachers (levels 0..5)."
        )
    return (
        f"the synthetic task spectrum, {data['docs_per_level']:,} training documents per level "
        f"(levels {levels}), {data['eval_per_level']} eval and ood documents per level."
    )


def _wins(rows: list[dict]) -> list[str]:
    kept = _kept(rows)
    wins = [r for r in kept if r["verdict"] == "**beats static**"]
    losses = [r for r in kept if r["verdict"] == "loses to static"]
    lines = []
    if wins:
        lines.append("Yes, in these cells (final-loss interval below 0):")
        lines += [f"- {_name(r)} at {r['size']}: {_fmt_diff(r['diff'], r['diff_ci'])}, speedup "
                  f"{_fmt_ratio(r['speedup'], r['speedup_ci'])}" for r in wins]  # fmt: skip
    else:
        lines.append(
            f"No. In none of the {len(kept)} curriculum cells does the 95% interval of the final eval-loss "
            "difference lie below 0."
        )
    lines.append(
        f"The static mix is clearly better in {len(losses)} of {len(kept)} cells; "
        f"{len(kept) - len(wins) - len(losses)} are not resolved at this number of seeds."
    )
    return lines


def _name(row: dict) -> str:
    weights = " (averaged weights)" if row["weights"] == "averaged" else ""
    return f"`{row['curriculum']}` under `{row['lr_schedule']}`{weights}"


def _levels(comparison: dict, averaged: dict | None, ema: set[str], names: dict[int, str]) -> list[str]:
    """Per-level accuracy (above chance) and eval-loss differences whose interval excludes 0."""
    lines = []
    sources = [(comparison, lambda c: c["lr_schedule"] not in ema or averaged is None, "")]
    if averaged:
        sources.append((averaged, lambda c: c["lr_schedule"] in ema, " (averaged weights)"))
    found: dict[tuple[str, str], list[str]] = {}
    for source, keep, label in sources:
        for cell in source.get("cells", []):
            if not keep(cell):
                continue
            for metric, effect in sorted(cell["effects"].items(), key=lambda kv: _level_key(kv[0])):
                level = _level_of(metric)
                ci = effect.get("ci") or [None, None]
                if level is None or ci[0] is None or (ci[0] <= 0 <= ci[1]) or effect.get("at_chance"):
                    continue
                what = "accuracy" if metric.startswith("accuracy") else "eval loss"
                found.setdefault((cell["curriculum"], cell["lr_schedule"] + label), []).append(
                    f"level {level} ({names.get(level, '?')}) {what} {_fmt_diff(effect['diff'], ci)} at {cell['size']}"
                )
    if not found:
        return ["No per-level accuracy (above chance) or per-level eval loss differs from the static mix "
                "with an interval excluding 0, in any cell."]  # fmt: skip
    for (name, lr), effects in sorted(found.items()):
        lines.append(f"- `{name}` under `{lr}`: " + "; ".join(effects) + ".")
    lines.append("")
    lines.append("Accuracies count only where one arm is clearly above chance (compare.py's `at_chance`).")
    return lines


def _ood(rows: list[dict]) -> list[str]:
    """Final eval-loss difference on the ood set, per judged cell (averaged weights where kept)."""
    kept = [r for r in _kept(rows) if r["ood"] is not None]
    if not kept:
        return ["(no ood set in this grid)"]
    lines = [
        "Curriculum minus static mix in final eval loss on the ood set (negative: the curriculum "
        "generalises better), with its 95% interval.",
        "",
        "| curriculum | LR treatment | weights | size | ood loss diff [95%] |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['curriculum']} | {r['lr_schedule']} | {r['weights']} | {r['size']} "
              f"| {_fmt_diff(r['ood'], r['ood_ci'])} |" for r in kept]  # fmt: skip
    return lines


def _level_of(metric: str) -> int | None:
    for prefix in ("accuracy_level_", "eval_loss_level_"):
        if metric.startswith(prefix) and metric[len(prefix) :].isdigit():
            return int(metric[len(prefix) :])
    return None


def _level_key(metric: str) -> tuple:
    level = _level_of(metric)
    return (level if level is not None else -1, metric)


def _trends(rows: list[dict]) -> list[str]:
    """Per arm: the slope of log speedup against log size, and where the loss difference changes sign."""
    import numpy as np

    lines = []
    arms: dict[tuple, list[dict]] = {}
    for row in _kept(rows):
        arms.setdefault((row["curriculum"], row["lr_schedule"], row["weights"]), []).append(row)
    for (name, lr, weights), group in sorted(arms.items()):
        points = [
            (math.log(r["n"]), math.log(r["speedup"])) for r in group if r["speedup"] and r["speedup"] > 0
        ]
        if len({x for x, _ in points}) < 2:
            lines.append(f"- `{name}` under `{lr}`: fewer than two sizes with a speedup.")
            continue
        x, y = np.array(points).T
        slope = float(np.polyfit(x, y, 1)[0])
        speedups = ", ".join(f"{r['size']} {r['speedup']:.2f}x" for r in group if r["speedup"])
        small, large = min(group, key=lambda r: r["n"]), max(group, key=lambda r: r["n"])
        (a_lo, a_hi), (b_lo, b_hi) = small["speedup_ci"], large["speedup_ci"]
        if None in (a_lo, a_hi, b_lo, b_hi):
            verdict = "no interval to tell a trend from noise (one seed)"
        elif b_lo > a_hi or a_lo > b_hi:
            direction = "grows" if b_lo > a_hi else "shrinks"
            verdict = f"it {direction} with size ({small['size']} and {large['size']} intervals disjoint)"
        else:
            verdict = f"no clear trend ({small['size']} and {large['size']} intervals overlap)"
        lines.append(
            f"- `{name}` under `{lr}`{' (averaged weights)' if weights == 'averaged' else ''}: speedup {speedups}; "
            f"slope {slope:+.3f} in log speedup per log N; {verdict}."
        )
    return lines or ["No curriculum cell to trend."]


def _progression(progression: dict) -> list[str]:
    if not progression:
        return ["(no progression.json)"]
    lines = [
        "At each size, the arm with the largest speedup whose 95% interval lies above 1 (and whose final "
        "loss is lower); otherwise the static mix, with the best arm's interval as the evidence.",
        "",
        "| weights | size | non-emb. params | pick | LR | pacing | warmup fraction | speedup [95%] | basis |",
        "|---|---|---:|---|---|---|---:|---|---|",
    ]
    for weights, table in progression.items():
        for e in table:
            warmup = "" if e.get("warmup_fraction") is None else f"{e['warmup_fraction']:.2f}"
            lines.append(
                f"| {weights} | {e['size']} | {e['non_embedding_params']:,} | {e['curriculum']} | {e['lr_schedule']} "
                f"| {e['pacing']['kind']} | {warmup} | {_fmt_ratio(e['speedup'], e['speedup_ci'])} | {e['basis']} |"
            )
    return lines


def _thresholds(critical: dict, names: dict[int, str]) -> list[str]:
    """Tokens at which each level's accuracy crosses its threshold, per arm and size (seed means)."""
    rows = critical.get("threshold_steps") or []
    learned = [lv for lv in critical.get("levels", []) if not lv.get("at_chance")]
    if not rows and not critical.get("levels"):
        return ["The eval set has no questions (plain text), so no level has an accuracy threshold to cross; "
                "what each level learned is its eval loss, below."]  # fmt: skip
    if not rows:
        return ["No level rose clearly above chance in any run, so no level has a threshold to cross."]
    learned_names = ", ".join(f"{lv['level']} ({names.get(lv['level'], '?')})" for lv in learned)
    lines = [
        f"Levels learned above chance: {learned_names}. "
        "Tokens (thousands) at which the seed-mean accuracy crossed halfway between chance and the best "
        "accuracy; `-` where no seed crossed.",
        "",
        "| level | LR | size | " + " | ".join(sorted({r["curriculum"] for r in rows})) + " |",
        "|---|---|---|" + "---:|" * len({r["curriculum"] for r in rows}),
    ]
    curricula = sorted({r["curriculum"] for r in rows})
    table: dict[tuple, dict] = {}
    for r in rows:
        table.setdefault((r["level"], r["lr_schedule"], r["size"]), {})[r["curriculum"]] = r
    for (level, lr, size), arms in sorted(
        table.items(), key=lambda kv: (kv[0][0], kv[0][1], _size_key(kv[0][2]))
    ):
        cells = []
        for name in curricula:
            tokens = (arms.get(name) or {}).get("tokens")
            cells.append("-" if tokens is None or not math.isfinite(tokens) else f"{tokens / 1e3:,.0f}")
        lines.append(f"| {level} | {lr} | {size} | " + " | ".join(cells) + " |")
    return lines


def _size_key(size: str) -> tuple:
    return (len(size), size)


def _consumption(comparison: dict, names: dict[int, str]) -> list[str]:
    """Documents drawn per level against what was learned of it at the largest size (seed means):
    final accuracy where the eval set has questions, else final eval loss on the level's text."""
    cells = comparison.get("cells") or []
    if not cells:
        return []
    largest = max(c["non_embedding_params"] for c in cells)
    questions = any(metric.startswith("accuracy_level_") for c in cells for metric in c["effects"])
    metric, what, digits = (
        ("accuracy_level_", "accuracy", 2) if questions else ("eval_loss_level_", "eval loss", 3)
    )
    lines = [
        "Tier consumption against level learned, at the largest size: documents drawn from each level "
        f"and final {what} on it (seed means; curriculum / static mix).",
        "",
        f"| curriculum | LR | level | documents drawn | final {what} |",
        "|---|---|---|---|---|",
    ]
    for cell in sorted(cells, key=lambda c: (c["curriculum"], c["lr_schedule"])):
        if cell["non_embedding_params"] != largest:
            continue
        for level in sorted(names):
            docs = cell["effects"].get(f"documents_tier_{level}")
            end = cell["effects"].get(f"{metric}{level}")
            if docs is None and end is None:
                continue
            drawn = f"{docs['curriculum']:,.0f} / {docs['baseline']:,.0f}" if docs else "-"
            learned = f"{end['curriculum']:.{digits}f} / {end['baseline']:.{digits}f}" if end else "-"
            if end and end.get("at_chance"):
                learned += " (at chance)"
            lines.append(
                f"| {cell['curriculum']} | {cell['lr_schedule']} | {level} ({names[level]}) | {drawn} | {learned} |"
            )
    return lines


def _conclusion(rows: list[dict], plan: dict) -> list[str]:
    kept = _kept(rows)
    wins = [r for r in kept if r["verdict"] == "**beats static**"]
    losses = [r for r in kept if r["verdict"] == "loses to static"]
    best = max(kept, key=lambda r: r["speedup"] or 0, default=None)
    lines = []
    if plan["quick"]:
        lines.append("This is a --quick smoke run (tiny corpus, budget and grid): the numbers only show that "
                     "the pipeline runs; they are not evidence either way.")  # fmt: skip
    if wins:
        where = "; ".join(f"{_name(r)} at {r['size']}" for r in wins)
        lines.append(
            f"A curriculum beats the static mix at equal compute in {len(wins)} of {len(kept)} cells: {where}."
        )
    else:
        lines.append(
            f"No setting beats the static mix at equal compute: in none of the {len(kept)} curriculum cells "
            "(curriculum x LR treatment x size) is the final eval loss lower with an interval excluding 0."
        )
    if losses:
        lines.append(f"The static mix is clearly better in {len(losses)} of them.")
    if best is not None and best["speedup"]:
        lines.append(
            f"The largest speedup measured: {_name(best)} at {best['size']}, "
            f"{_fmt_ratio(best['speedup'], best['speedup_ci'])}."
        )
    return lines


def _growth(growth: dict | None) -> list[str]:
    """Each grown arm against the fresh size it ends nearest, at equal compute (fits/growth.json)."""
    if not growth or not growth["arms"]:
        return ["(no growth.json: the growth arms were not run)"]
    grid = growth["grid"]
    lines = [
        f"GROWTH.yaml: a small model trains on the first half of the {', '.join(grid['manifests'])} curriculum, "
        "then a larger model continues on the rest: grown from it (`depth`: a zero-initialised block after "
        "each block) or trained fresh with a KL term to its logits (`distill`, the teacher's forward pass "
        f"counted). Every arm spends the same FLOPs ({float(grid['budget']['flops']):.3g}; the table shows what each "
        f"spent); {len(grid['seeds'])} seeds. Difference: grown minus fresh (negative loss: growing pays); "
        "brackets: 95% bootstrap intervals over seeds.",
        "",
        "| curriculum | LR | grown arm | vs fresh | FLOPs grown / fresh | final eval loss grown | fresh "
        "| loss diff [95%] | mean accuracy diff [95%] | verdict |",
        "|---|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for arm in growth["arms"]:
        loss, accuracy = arm["effects"].get("eval_loss"), arm["effects"].get("mean_accuracy")
        if loss is None:
            continue
        low, high = loss["ci"]
        verdict = ("no interval" if low is None else "**growing pays**" if high < 0
                   else "fresh is better" if low > 0 else "not resolved")  # fmt: skip
        ratio = arm["flops"]["grown"] / arm["flops"]["fresh"]
        lines.append(
            f"| {arm['curriculum']} | {arm['lr_schedule']} | {arm['size']} | {arm['fresh']} | {ratio:.3f} "
            f"| {loss['grown']:.3f} | {loss['fresh']:.3f} | {_fmt_diff(loss['diff'], loss['ci'])} "
            f"| {_fmt_diff(accuracy['diff'], accuracy['ci']) if accuracy else '-'} | {verdict} |"
        )
    return lines


def _fmt_ratio(value, ci) -> str:
    if value is None:
        return "-"
    interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and ci[0] is not None else ""
    return f"{value:.2f}x{interval}"


def _fmt_diff(value, ci) -> str:
    if value is None:
        return "-"
    interval = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci and ci[0] is not None else ""
    return f"{value:+.3f}{interval}"
