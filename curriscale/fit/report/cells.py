"""How a report table writes a value: numbers, intervals, effects, fitted parameters, folded rows.

Every table of `report.html` and `summary.md` is a `Table`, (headers, rows of strings), built
with these helpers so both show the same numbers the same way: four significant digits, intervals
in brackets, `-` for missing values. An accuracy difference where neither arm is clearly above
chance is marked `(at chance)`.

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

from collections.abc import Sequence

from curriscale.fit.diagnostics import at_bound

Table = tuple[list[str], list[list[str]]]
# A positive interval wider than this factor does not identify its parameter.
NOT_IDENTIFIED_SPAN = 1e3
NOT_IDENTIFIED = "not identified"


def fmt(value: object) -> str:
    """Four significant digits for floats, `-` for missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def with_ci(value: float | None, ci: Sequence[float | None] | None) -> str:
    """`1.234 [1.1, 1.4]`, or the value alone when there is no interval."""
    if value is None:
        return "-"
    if not ci or None in ci:
        return fmt(value)
    return f"{fmt(value)} [{fmt(ci[0])}, {fmt(ci[1])}]"


def effect(e: dict) -> str:
    """A comparison effect as `diff [lo, hi]`, with `(at chance)` when both arms stayed at chance."""
    return with_ci(e["diff"], e["ci"]) + (" (at chance)" if e.get("at_chance") else "")


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


def degenerate_cell(metrics: dict) -> str:
    """`yes: <reason>` for a degenerate fit, `no` otherwise (the same words in every table)."""
    return f"yes: {metrics['degenerate_reason']}" if metrics.get("degenerate") else "no"


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
