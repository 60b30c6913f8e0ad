"""The verdict: did the curriculum help, where, by how much, and how sure.

`summarise` writes it in three lines from the comparison alone; the CLI prints them, and they
open `report.html` and `summary.md`. `level_verdict` adds where on the task levels: which levels
were learned above chance, and the curriculum's accuracy edge on them at the largest size.
"""

from __future__ import annotations

import numpy as np

from curriscale.fit.units import human


def summarise(comparison: dict) -> str:
    """The verdict in three lines: did the curriculum help and where, by how much, how sure.

    1. `Verdict: ...`: per curriculum (and LR schedule), the sizes where it ended with a lower
       final eval loss than the static mix and those where it ended higher; with intervals (two
       seeds or more per arm) a size counts only when the 95% interval excludes 0, else it is "no
       clear difference". With one seed the signs are all there is, and the verdict says
       "tentative".
    2. `By how much: ...`: at the largest size (and at the best one, when different), the
       final-loss difference (absolute and relative) and the speedup, and where the advantage
       changes sign.
    3. `How sure: ...`: seeds per arm and how many cells' intervals exclude 0.

    A grid of one curriculum gets one line saying there is nothing to compare.

    Args:
        comparison: `comparison.json` as `compare` writes it.

    Returns:
        The three lines (or the one), joined by newlines.
    """
    if not comparison["cells"]:
        return f"No curriculum comparison: {comparison['note']}."
    cells, base = comparison["cells"], comparison["baseline"]
    arms = sorted({(c["curriculum"], c["lr_schedule"]) for c in cells})
    several = len({lr for _, lr in arms}) > 1
    seeds = min(min(c["n_seeds"], c["baseline_n_seeds"]) for c in cells)
    verdicts, amounts = [], []
    for name, lr in arms:
        arm = sorted((c for c in cells if (c["curriculum"], c["lr_schedule"]) == (name, lr)),
                     key=lambda c: c["non_embedding_params"])  # fmt: skip
        label = f"'{name}'" + (f" ({lr})" if several else "")
        verdicts.append(label + " " + _arm_verdict(arm))
        amounts.append(_arm_amount(label, arm, comparison["crossover"], name, lr))
    tentative = " (tentative: one seed per arm)" if seeds < 2 else ""
    first = (
        f"Verdict{tentative}: the curriculum {'; '.join(verdicts)}, in final eval loss against the static "
        f"mix '{base}'."
    )
    second = "By how much: " + " ".join(amounts)
    diffs = [c["effects"]["eval_loss"] for c in cells]
    if seeds < 2:
        third = (
            "How sure: not yet. One seed per arm gives no interval, and the spread between seeds can be as "
            "large as these differences: rerun the grid with 3 or more seeds."
        )
    else:
        clear = sum(_side(d) != 0 for d in diffs)
        third = (
            f"How sure: {seeds} seeds per arm; the 95% interval of the final-loss difference excludes 0 in "
            f"{clear} of {len(cells)} cells"
            + (" (with under 5 seeds read these intervals as roughly 85-90% ones)." if seeds < 5 else ".")
        )
    return "\n".join([first, second, third])


def _side(effect: dict) -> int:
    """-1 when the curriculum's final loss is lower, +1 when higher, 0 when the interval holds 0.

    Without an interval (one seed) the sign of the difference is all there is.
    """
    low, high = effect["ci"]
    if low is None or high is None:
        return int(np.sign(effect["diff"]))
    return -1 if high < 0 else 1 if low > 0 else 0


def _arm_verdict(cells: list[dict]) -> str:
    """`helped at 20k and 50k params and hurt at 200k`, and the like, for one curriculum's cells."""
    sides = [_side(c["effects"]["eval_loss"]) for c in cells]

    def at(side: int) -> str:
        return _sizes([c["non_embedding_params"] for c, s in zip(cells, sides, strict=True) if s == side])

    better, worse, unclear = (sides.count(v) for v in (-1, 1, 0))
    if better == len(cells):
        return f"helped at every size ({at(-1)} params)"
    if worse == len(cells):
        return f"did not help: it ended worse than the static mix at every size ({at(1)} params)"
    if not better and not worse:
        return "made no clear difference at any size"
    parts = [f"helped at {at(-1)} params"] if better else []
    parts += [f"hurt at {at(1)}" + ("" if better else " params")] if worse else []
    parts += [f"made no clear difference at {at(0)}"] if unclear else []
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def _arm_amount(label: str, cells: list[dict], crossover: list[dict], name: str, lr: str) -> str:
    """The final-loss difference and speedup at the largest and the best size, and the crossover."""
    largest = cells[-1]
    best = min(cells, key=lambda c: c["effects"]["eval_loss"]["diff"])
    text = (
        f"{label} at {human(largest['non_embedding_params'])} params (the largest size): {_amount(largest)}"
    )
    if best is not largest:
        text += f"; at {human(best['non_embedding_params'])}: {_amount(best)}"
    text += "."
    crossings = [n for r in crossover if (r["curriculum"], r["lr_schedule"]) == (name, lr)
                 for n in r["eval_loss_crossover"]]  # fmt: skip
    if crossings:
        text += " The advantage changes sign at ~" + ", ".join(human(n) for n in crossings) + " params."
    return text


def _amount(cell: dict) -> str:
    """`eval loss -0.044 (-1.4%), speedup 1.38x` for one cell (the speedup figure says what it is)."""
    effect = cell["effects"]["eval_loss"]
    relative = effect["diff"] / effect["baseline"] if effect["baseline"] else float("nan")
    s = cell["speedup"]
    return f"eval loss {effect['diff']:+.3g} ({relative:+.1%}), speedup " + (
        "undefined" if s is None else f"{s:.2f}x"
    )


def _sizes(values: list[float]) -> str:
    """`20k`, `20k and 50k`, `20k, 50k and 200k`."""
    names = [human(v) for v in values]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def level_verdict(critical: dict, comparison: dict) -> list[str]:
    """Where on the task levels: which were learned, and the curriculum's accuracy edge on them.

    One line saying which levels rose clearly above chance (and which did not), then per learned
    level the accuracy difference (curriculum - static mix) at the largest size, with its interval.
    Empty when the runs measure no per-level accuracy.
    """
    levels = critical.get("levels", [])
    if not levels:
        return []
    learned = [e for e in levels if not e["at_chance"]]
    guessed = [str(e["level"]) for e in levels if e["at_chance"]]
    if not learned:
        return [
            f"Task levels: none was learned clearly above chance (levels {', '.join(guessed)}), so accuracy "
            "cannot tell the curricula apart yet: train longer or larger models."
        ]
    line = "Task levels learned above chance: " + ", ".join(
        f"{e['level']} (best {e['best']:.2f} against chance {e['chance']:.2f})" for e in learned
    )
    line += f"; at chance: {', '.join(guessed)}." if guessed else "."
    lines = [line]
    cells = comparison.get("cells", [])
    if not cells:
        return lines
    largest = max(c["non_embedding_params"] for c in cells)
    several = len({c["lr_schedule"] for c in cells}) > 1
    parts = []
    for cell in (c for c in cells if c["non_embedding_params"] == largest):
        arm = f"'{cell['curriculum']}'" + (f" ({cell['lr_schedule']})" if several else "")
        for e in learned:
            effect = cell["effects"].get(f"accuracy_level_{e['level']}")
            if effect is None:
                continue
            parts.append(f"level {e['level']} {arm} {_accuracy_effect(effect)}"
                         + (" (both at chance at this size)" if effect.get("at_chance") else ""))  # fmt: skip
    if parts:
        lines.append(
            f"Accuracy, curriculum - static mix at {human(largest)} params: " + "; ".join(parts) + "."
        )
    return lines


def _accuracy_effect(effect: dict) -> str:
    """`+0.031 [+0.012, +0.050]` (accuracy, three decimals), the interval left out when there is none."""
    low, high = effect["ci"]
    interval = "" if low is None or high is None else f" [{low:+.3f}, {high:+.3f}]"
    return f"{effect['diff']:+.3f}{interval}"
