"""Pacing shapes, schedule materialisation, consumption and divergence from the static mix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curriscale.curricula.pacing import (
    KINDS,
    Pacing,
    competence,
    consumption,
    divergence_from_static,
    materialise_schedule,
    weights_at,
)
from curriscale.errors import CurriscaleError

EQUAL = np.array([100, 100, 100, 100, 100])
PROGRESS = np.linspace(0.0, 1.0, 201)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("sampling", ["cumulative", "exclusive"])
def test_weights_are_a_distribution_and_unlocking_is_monotone(kind, sampling):
    pacing = Pacing.create(kind, sampling=sampling)
    sizes = np.array([50, 300, 120, 80, 200])
    unlocked_before = set()
    for t in PROGRESS:
        weights = weights_at(pacing, t, sizes)
        assert weights.min() >= 0 and math.isclose(weights.sum(), 1.0)
        if sampling == "cumulative":
            unlocked = set(np.flatnonzero(weights))
            assert unlocked_before <= unlocked, (kind, t)
            unlocked_before = unlocked
    if kind != "static":  # every curriculum starts on a single tier
        assert np.count_nonzero(weights_at(pacing, 0.0, sizes)) == 1


@pytest.mark.parametrize("kind", ["linear", "root", "competence", "exponential", "baby_steps", "steps"])
def test_curricula_start_easy_and_end_on_the_static_mix(kind):
    pacing = Pacing.create(kind)
    np.testing.assert_allclose(weights_at(pacing, 0.0, EQUAL), [1, 0, 0, 0, 0])
    np.testing.assert_allclose(weights_at(pacing, 1.0, EQUAL), [0.2] * 5)


def test_anti_curriculum_is_the_reverse_of_its_shape():
    anti, linear = Pacing.create("anti", {"shape": "linear"}), Pacing.create("linear")
    for t in PROGRESS:
        np.testing.assert_allclose(weights_at(anti, t, EQUAL), weights_at(linear, t, EQUAL)[::-1])
    np.testing.assert_allclose(weights_at(anti, 0.0, EQUAL), [0, 0, 0, 0, 1])


def test_static_mix_is_constant_and_weighted_by_size():
    sizes = np.array([10, 30, 60])
    schedule = materialise_schedule(Pacing.create("static"), sizes, total=1000)
    assert schedule == [{"start": 0, "end": 1000, "weights": [0.1, 0.3, 0.6]}]
    assert divergence_from_static(schedule, sizes) == pytest.approx(0.0)


def test_ceiling_raise_reaches_the_top_at_warmup_fraction():
    pacing = Pacing.create("ceiling_raise", {"warmup_fraction": 0.1})
    schedule = materialise_schedule(pacing, EQUAL, total=1_000_000)
    assert schedule[0]["weights"] == [1.0, 0.0, 0.0, 0.0, 0.0]
    top = next(iv for iv in schedule if iv["weights"][-1] > 0)
    assert top["start"] == 100_000 and top["end"] == 1_000_000
    assert top["weights"] == pytest.approx([0.2] * 5)
    # The ceiling climbs one tier per quarter of the warmup; easy text is only slightly over-used.
    assert [iv["start"] for iv in schedule] == [0, 25_000, 50_000, 75_000, 100_000]
    assert divergence_from_static(schedule, EQUAL) < 0.05


def test_competence_matches_platanios():
    c0, s = 0.01, 0.3
    assert competence(s, c0) == pytest.approx(math.sqrt(s * (1 - c0**2) + c0**2))
    assert competence(1.0, c0) == 1.0 and competence(0.0, c0) == pytest.approx(c0)
    assert competence(s, c0, degree=3) == pytest.approx((s * (1 - c0**3) + c0**3) ** (1 / 3))


def test_baby_steps_add_one_tier_per_equal_phase():
    schedule = materialise_schedule(Pacing.create("baby_steps", {"full_at": 0.5}), EQUAL, total=1000)
    assert [iv["start"] for iv in schedule] == [0, 100, 200, 300, 400]
    assert [np.count_nonzero(iv["weights"]) for iv in schedule] == [1, 2, 3, 4, 5]


def test_exclusive_sampling_uses_only_the_newest_tier():
    pacing = Pacing.create("baby_steps", sampling="exclusive")
    schedule = materialise_schedule(pacing, EQUAL, total=500)
    assert [iv["weights"].index(1.0) for iv in schedule] == [0, 1, 2, 3, 4]
    assert all(sorted(iv["weights"]) == [0, 0, 0, 0, 1] for iv in schedule)


def test_explicit_tier_weights_and_empty_tiers():
    pacing = Pacing.create("static", tier_weights=[1.0, 1.0, 2.0])
    np.testing.assert_allclose(weights_at(pacing, 0.5, np.array([10, 10, 10])), [0.25, 0.25, 0.5])
    # An empty tier gets nothing and pacing moves over the remaining ones.
    linear = Pacing.create("linear")
    np.testing.assert_allclose(weights_at(linear, 0.0, np.array([0, 10, 10])), [0, 1, 0])
    with pytest.raises(CurriscaleError, match="tier_weights: has 2 entries but the curriculum has 3"):
        weights_at(Pacing.create("static", tier_weights=[1.0, 1.0]), 0.0, np.array([1, 1, 1]))


def test_schedule_covers_the_budget_and_merges_neighbours():
    schedule = materialise_schedule(Pacing.create("root"), EQUAL, total=777_777, n_intervals=500)
    assert schedule[0]["start"] == 0 and schedule[-1]["end"] == 777_777
    assert all(a["end"] == b["start"] for a, b in zip(schedule, schedule[1:], strict=False))
    assert all(a["weights"] != b["weights"] for a, b in zip(schedule, schedule[1:], strict=False))
    assert all(math.isclose(sum(iv["weights"]), 1.0) for iv in schedule)


def test_consumption_and_divergence():
    sizes = np.array([1000, 1000])
    schedule = [
        {"start": 0, "end": 50, "weights": [1.0, 0.0]},
        {"start": 50, "end": 100, "weights": [0.5, 0.5]},
    ]
    used = consumption(schedule, sizes, budget_tokens=4000)
    assert used == [
        {"tier": 0, "expected_tokens": 3000.0, "epochs": 3.0},
        {"tier": 1, "expected_tokens": 1000.0, "epochs": 1.0},
    ]
    assert divergence_from_static(schedule, sizes) == pytest.approx(0.25)
    assert consumption(schedule, sizes, budget_tokens=None)[0]["expected_tokens"] is None


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("cosine", {}, r"pacing\.kind: unknown pacing 'cosine'"),
        ("linear", {"speed": 2}, r"pacing\.params\.speed: unknown parameter for linear"),
        (
            "ceiling_raise",
            {"warmup_fraction": 0},
            r"pacing\.params\.warmup_fraction: must be a number in \(0, 1\]",
        ),
        ("root", {"degree": -1}, r"pacing\.params\.degree: must be a positive number"),
        ("steps", {"boundaries": [0.5, 0.2]}, r"pacing\.params\.boundaries: must be increasing"),
        ("anti", {"shape": "zigzag"}, r"pacing\.params\.shape: must be one of"),
        ("exponential", {"start_fraction": 0}, r"pacing\.params\.start_fraction"),
    ],
)
def test_bad_pacing_names_the_field(kind, params, message):
    with pytest.raises(CurriscaleError, match=message):
        Pacing.create(kind, params)


# Curricula as a warmup: one ordered pass over the tiers, then the static mix.
SIZES = np.array([50, 300, 120, 80, 200])


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.37, 1.0])
def test_warmup_is_one_easy_to_hard_pass_then_the_static_mix(fraction):
    pacing = Pacing.create("warmup", {"warmup_fraction": fraction}, sampling="exclusive")
    total = 1_000_000
    schedule = materialise_schedule(pacing, SIZES, total)
    static = SIZES / SIZES.sum()
    end = round(fraction * total)
    warm = [iv for iv in schedule if iv["start"] < end]
    # Easy first: one tier at a time, in tier order, each for a slot proportional to its size.
    assert [int(np.argmax(iv["weights"])) for iv in warm] == [0, 1, 2, 3, 4]
    assert all(sorted(iv["weights"])[-2:] == [0.0, 1.0] for iv in warm)
    slots = np.array([iv["end"] - iv["start"] for iv in warm])
    np.testing.assert_allclose(slots / end, static, atol=2 / end)  # whole units
    # After the warmup: exactly the static mix, to the end.
    after = [iv for iv in schedule if iv["start"] >= end]
    assert (after == [{"start": end, "end": total, "weights": static.round(12).tolist()}]) or fraction == 1.0
    for t in np.linspace(fraction, 1.0, 7):
        np.testing.assert_allclose(weights_at(pacing, t, SIZES), static)
    # Only the order differs: over the whole run it draws what the static mix draws.
    assert divergence_from_static(schedule, SIZES) == pytest.approx(0.0, abs=1e-5)


def test_warmup_differs_from_the_ceiling_raise_only_during_the_warmup():
    """Both end on the static mix at the warmup fraction; the ceiling raise over-draws easy tiers."""
    warmup = Pacing.create("warmup", {"warmup_fraction": 0.3}, sampling="exclusive")
    ceiling = Pacing.create("ceiling_raise", {"warmup_fraction": 0.3})
    for t in (0.3, 0.5, 0.99):
        np.testing.assert_allclose(weights_at(warmup, t, SIZES), weights_at(ceiling, t, SIZES))
    raised = materialise_schedule(ceiling, SIZES, 10_000)
    assert divergence_from_static(raised, SIZES) > 0.05
    assert divergence_from_static(materialise_schedule(warmup, SIZES, 10_000), SIZES) < 1e-3


def test_cumulative_warmup_mixes_each_slot_with_the_easier_tiers():
    pacing = Pacing.create("warmup", {"warmup_fraction": 0.5}, sampling="cumulative")
    sizes = np.array([100, 100, 200])  # slots end at 1/8, 1/4 and 1/2 of the budget
    np.testing.assert_allclose(weights_at(pacing, 0.0, sizes), [1, 0, 0])
    np.testing.assert_allclose(weights_at(pacing, 0.2, sizes), [0.5, 0.5, 0])
    np.testing.assert_allclose(weights_at(pacing, 0.3, sizes), [0.25, 0.25, 0.5])
    np.testing.assert_allclose(weights_at(pacing, 0.5, sizes), [0.25, 0.25, 0.5])


def test_warmup_fraction_must_be_a_fraction():
    with pytest.raises(
        CurriscaleError, match=r"pacing\.params\.warmup_fraction: must be a number in \(0, 1\]"
    ):
        Pacing.create("warmup", {"warmup_fraction": 0})
