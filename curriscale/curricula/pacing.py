"""Pacing: which difficulty tiers are sampled, and how much, at each point of training.

A pacing function is a small pure function of training progress t in [0, 1] (a fraction of the
token or step budget). Most kinds first say how much of the data is *unlocked* (a competence c(t)
in [0, 1], as in Platanios et al. 2019: the easiest c(t) of the data, measured by tier mass), then
the sampling rule turns the unlocked tiers into weights: `cumulative` samples every unlocked tier in
proportion to its base weight (its size, or an explicit list), `exclusive` only the newest one.

Curricula as a warmup. Every kind that unlocks the last tier before the end of training (`full_at`
or `warmup_fraction` below 1) is, with cumulative sampling and size weights, a warmup curriculum:
from that point on it samples the static mix. They differ in what the warmup draws. `ceiling_raise`
(and the competence kinds) mix every unlocked tier, so the easy tiers are drawn more than the static
mix draws them. `warmup` is one ordered pass: during the first `warmup_fraction` of the budget each
tier is sampled alone (`sampling: exclusive`), easiest first, for a slot proportional to its base
weight, then the static mix. Its warmup draws every tier in the static mix's proportions, so over
the whole run it consumes exactly what the static mix consumes (divergence 0): only the order
differs, the design that tells an ordering effect from a mixture effect (Zhang et al. 2025,
"curriculum as warmup"). With `sampling: cumulative`, a `warmup` slot mixes its tier with the
easier ones (a ceiling raise paced by tier mass).

`materialise_schedule` evaluates the function on a grid and writes the piecewise-constant table
the manifest carries ([start, end) intervals with per-tier weights), so a trainer needs no
curriscale code to follow it. `consumption` and `divergence_from_static` summarise what the
schedule does to the data: how many tokens (and epochs) of each tier it draws, and how far the
integrated data distribution departs from the static size-weighted mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curriscale.errors import CurriscaleError

# Competence shapes: c(s) for s = t / full_at in [0, 1], from c0 = start_fraction up to 1.


def linear(s: float, c0: float) -> float:
    """Linear competence: c0 + (1 - c0) s."""
    return c0 + (1.0 - c0) * s


def root(s: float, c0: float, degree: float = 2.0) -> float:
    """DeepSpeed `fixed_root`: c0 + (1 - c0) s^(1/degree); unlocks fast, then slows."""
    return c0 + (1.0 - c0) * s ** (1.0 / degree)


def competence(s: float, c0: float, degree: float = 2.0) -> float:
    """Platanios et al. 2019: c = (s (1 - c0^p) + c0^p)^(1/p); p = 2 is their root competence."""
    return min(1.0, (s * (1.0 - c0**degree) + c0**degree) ** (1.0 / degree))


def exponential(s: float, c0: float) -> float:
    """Geometric growth from c0 to 1 (Hacohen & Weinshall 2019): c0^(1 - s)."""
    return c0 ** (1.0 - s)


SHAPES = {"linear": linear, "root": root, "competence": competence, "exponential": exponential}

# Every kind with its parameters and their defaults; anything else is a recipe error.
KINDS: dict[str, dict[str, Any]] = {
    "linear": {"start_fraction": 0.2, "full_at": 1.0},
    "root": {"start_fraction": 0.2, "full_at": 1.0, "degree": 2.0},
    "competence": {"start_fraction": 0.01, "full_at": 1.0, "degree": 2.0},
    "exponential": {"start_fraction": 0.2, "full_at": 1.0},
    "steps": {"boundaries": [0.25, 0.5, 0.75], "fractions": None},
    "baby_steps": {"full_at": 1.0},
    "anti": {"shape": "linear", "start_fraction": 0.2, "full_at": 1.0, "degree": 2.0},
    "static": {},
    "ceiling_raise": {"warmup_fraction": 0.1},
    "warmup": {"warmup_fraction": 0.2},
}


@dataclass(frozen=True)
class Pacing:
    """A pacing kind with its parameters, unit and sampling rule (as recorded in the manifest).

    Attributes:
        kind: One of `KINDS`.
        params: The kind's parameters, defaults filled in.
        unit: "tokens" or "steps": what the schedule positions count.
        sampling: "cumulative" (all unlocked tiers) or "exclusive" (only the newest).
        tier_weights: "size" (by tier tokens) or an explicit list with one weight per tier.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    unit: str = "tokens"
    sampling: str = "cumulative"
    tier_weights: str | list[float] = "size"

    @classmethod
    def create(cls, kind: str, params: dict | None = None, where: str = "pacing", **rest: Any) -> Pacing:
        """Check `kind`/`params` and fill in defaults; errors name the field under `where`."""
        if kind not in KINDS:
            raise CurriscaleError(f"{where}.kind: unknown pacing {kind!r} (choose from {', '.join(KINDS)})")
        params = dict(params or {})
        for key in params:
            if key not in KINDS[kind]:
                allowed = ", ".join(KINDS[kind]) or "none"
                raise CurriscaleError(
                    f"{where}.params.{key}: unknown parameter for {kind} (allowed: {allowed})"
                )
        full = {**KINDS[kind], **params}
        _check_params(kind, full, f"{where}.params")
        return cls(kind=kind, params=full, **rest)

    def to_dict(self, total: int) -> dict[str, Any]:
        """The manifest's `pacing` object."""
        return {
            "kind": self.kind,
            "params": self.params,
            "unit": self.unit,
            "total": int(total),
            "sampling": self.sampling,
            "tier_weights": self.tier_weights,
        }


def _check_params(kind: str, p: dict, where: str) -> None:
    def fraction(key: str, low_open: bool = False) -> None:
        value = p[key]
        ok = isinstance(value, int | float) and (0 < value <= 1 if low_open else 0 <= value <= 1)
        if not ok:
            raise CurriscaleError(
                f"{where}.{key}: must be a number in {'(0' if low_open else '[0'}, 1], got {value!r}"
            )

    for key in ("full_at", "warmup_fraction"):
        if key in p:
            fraction(key, low_open=True)
    if "start_fraction" in p:
        fraction("start_fraction", low_open="exponential" in (kind, p.get("shape")))
    if "degree" in p and not (isinstance(p["degree"], int | float) and p["degree"] > 0):
        raise CurriscaleError(f"{where}.degree: must be a positive number, got {p['degree']!r}")
    if kind == "anti" and p["shape"] not in SHAPES:
        raise CurriscaleError(f"{where}.shape: must be one of {', '.join(SHAPES)}, got {p['shape']!r}")
    if kind == "steps":
        bounds = p["boundaries"]
        if not isinstance(bounds, list) or any(not 0 < b < 1 for b in bounds) or bounds != sorted(bounds):
            raise CurriscaleError(
                f"{where}.boundaries: must be increasing fractions in (0, 1), got {bounds!r}"
            )
        fractions = p["fractions"]
        if fractions is not None and (
            len(fractions) != len(bounds) + 1 or fractions != sorted(fractions) or fractions[-1] != 1
        ):
            raise CurriscaleError(
                f"{where}.fractions: must be {len(bounds) + 1} non-decreasing fractions ending at 1"
            )


def _competence(pacing: Pacing, t: float) -> float:
    """Unlocked fraction of data mass for the competence-style kinds (incl. the shape of `anti`)."""
    p = pacing.params
    if pacing.kind == "steps":
        fractions = p["fractions"] or [
            (i + 1) / (len(p["boundaries"]) + 1) for i in range(len(p["boundaries"]) + 1)
        ]
        return fractions[int(np.searchsorted(p["boundaries"], t, side="right"))]
    shape = p["shape"] if pacing.kind == "anti" else pacing.kind
    s = min(1.0, t / p["full_at"])
    args = (p["degree"],) if shape in ("root", "competence") else ()
    return SHAPES[shape](s, p["start_fraction"], *args)


def _n_unlocked(pacing: Pacing, t: float, mass: np.ndarray) -> int:
    """How many tiers (in pacing order) are unlocked at progress t; at least one."""
    n = len(mass)
    if pacing.kind == "static":
        return n
    if pacing.kind == "baby_steps":  # Spitkovsky et al.: one more tier per equal phase
        return min(n, 1 + math.floor(t / pacing.params["full_at"] * n + 1e-9))
    if pacing.kind == "ceiling_raise":  # the ceiling climbs tier by tier, top reached at warmup
        return min(n, 1 + math.floor(t / pacing.params["warmup_fraction"] * (n - 1) + 1e-9))
    if pacing.kind == "warmup":  # one slot per tier over the warmup, each as long as its mass
        slots_end = np.cumsum(mass) / mass.sum()
        return min(n, 1 + int(np.sum(slots_end <= t / pacing.params["warmup_fraction"] + 1e-12)))
    # A tier is unlocked once competence covers half of it: the step function that best follows
    # Platanios' continuous "easiest c(t) of the data" without starving the hardest tier.
    midpoints = np.cumsum(mass) - mass / 2
    return max(1, int(np.sum(midpoints <= _competence(pacing, t) + 1e-12)))


def base_weights(pacing: Pacing, tier_sizes: np.ndarray) -> np.ndarray:
    """Per-tier base weights (normalised): tier sizes, or the explicit `tier_weights` list."""
    sizes = np.asarray(tier_sizes, dtype=np.float64)
    raw = sizes if pacing.tier_weights == "size" else np.asarray(pacing.tier_weights, dtype=np.float64)
    if len(raw) != len(sizes):
        raise CurriscaleError(
            f"pacing.tier_weights: has {len(raw)} entries but the curriculum has {len(sizes)} tiers"
        )
    raw = np.where(sizes > 0, raw, 0.0)  # an empty tier can never be sampled
    if raw.sum() <= 0:
        raise CurriscaleError("pacing.tier_weights: every non-empty tier has weight 0")
    return raw / raw.sum()


def weights_at(pacing: Pacing, t: float, tier_sizes: np.ndarray) -> np.ndarray:
    """Per-tier sampling weights at progress `t` in [0, 1] (sums to 1).

    Empty or zero-weight tiers are skipped: pacing moves over the tiers that can be sampled.
    """
    base = base_weights(pacing, tier_sizes)
    active = np.flatnonzero(base > 0)
    if pacing.kind == "anti":  # hard to easy: the same shapes over the reversed tier order
        active = active[::-1]
    if pacing.kind == "warmup" and t >= pacing.params["warmup_fraction"] - 1e-12:
        return base  # after the warmup: the static mix, whatever the sampling rule
    k = _n_unlocked(pacing, t, base[active])
    weights = np.zeros_like(base)
    if pacing.sampling == "exclusive":
        weights[active[k - 1]] = 1.0
    else:
        weights[active[:k]] = base[active[:k]] / base[active[:k]].sum()
    return weights


def materialise_schedule(
    pacing: Pacing, tier_sizes: np.ndarray, total: int, n_intervals: int = 1000
) -> list[dict[str, Any]]:
    """Evaluate the pacing on a grid of `n_intervals` and merge equal neighbours.

    Each interval takes the weights at its start, so unlocking can lag by at most 1/n_intervals of
    the budget (a `warmup_fraction` or boundary on the grid is exact). A `warmup` pacing's slot
    ends are added to the grid, so its slots are exact and its warmup draws the static proportions.

    Returns:
        A list of {"start", "end", "weights"} covering [0, total) in the pacing's unit.
    """
    grid = sorted(
        {round(i * total / n_intervals) for i in range(n_intervals)}
        | {0}
        | _slot_ends(pacing, tier_sizes, total)
    )
    schedule: list[dict[str, Any]] = []
    for start, end in zip(grid, grid[1:] + [int(total)], strict=True):
        # A warmup's slot ends are rounded to whole units: probe half a unit in, inside the interval.
        probe = (start + 0.5) / total if pacing.kind == "warmup" else start / total
        weights = [round(float(w), 12) for w in weights_at(pacing, probe, tier_sizes)]
        if schedule and schedule[-1]["weights"] == weights:
            schedule[-1]["end"] = end
        else:
            schedule.append({"start": int(start), "end": int(end), "weights": weights})
    return schedule


def _slot_ends(pacing: Pacing, tier_sizes: np.ndarray, total: int) -> set[int]:
    """Positions where a `warmup` pacing moves to its next tier (none for the other kinds)."""
    if pacing.kind != "warmup":
        return set()
    base = base_weights(pacing, tier_sizes)
    ends = pacing.params["warmup_fraction"] * np.cumsum(base[base > 0])
    return {int(round(e * total)) for e in ends if 0 < round(e * total) < total}


def integrated_distribution(schedule: list[dict[str, Any]]) -> np.ndarray:
    """The share of the whole budget each tier receives under a schedule."""
    total = schedule[-1]["end"]
    return sum((iv["end"] - iv["start"]) / total * np.asarray(iv["weights"]) for iv in schedule)


def consumption(
    schedule: list[dict[str, Any]], tier_tokens: np.ndarray, budget_tokens: float | None
) -> list[dict[str, Any]]:
    """Expected tokens drawn per tier over the budget and the epochs that means for each tier.

    `budget_tokens` is None when the budget is in steps without a known tokens-per-step; the
    figures are then recorded as null.
    """
    shares = integrated_distribution(schedule)
    rows = []
    for i, (share, tokens) in enumerate(zip(shares, tier_tokens, strict=True)):
        expected = None if budget_tokens is None else float(share * budget_tokens)
        epochs = None if expected is None or tokens == 0 else expected / float(tokens)
        rows.append({"tier": i, "expected_tokens": expected, "epochs": epochs})
    return rows


def divergence_from_static(schedule: list[dict[str, Any]], tier_tokens: np.ndarray) -> float:
    """Total-variation distance between the schedule's integrated mix and the static size mix."""
    static = np.asarray(tier_tokens, dtype=np.float64) / float(np.sum(tier_tokens))
    return float(min(1.0, 0.5 * np.abs(integrated_distribution(schedule) - static).sum()))
