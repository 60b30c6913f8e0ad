"""Bootstrap intervals cover the truth at about their nominal rate, and are reproducible.

24 replicate datasets from a known power law (25 sizes, 1% noise), 24 resamples each, 90% percentile
intervals. With 24 replicates the binomial standard error of a coverage near 0.9 is ~0.06, so each
parameter's coverage must lie in [0.7, 1.0] and the mean over the three parameters in [0.78, 0.98].
"""

from __future__ import annotations

import numpy as np

from curriscale.fit.api import fit_law

TRUTH = {"E": 1.7, "A": 400.0, "alpha": 0.3}
SIZES = np.logspace(4, 9, 25)


def power_data(seed: int) -> dict[str, np.ndarray]:
    curve = TRUTH["E"] + TRUTH["A"] * SIZES ** -TRUTH["alpha"]
    return {"x": SIZES, "loss": curve * np.exp(np.random.default_rng(seed).normal(0.0, 0.01, len(SIZES)))}


def test_bootstrap_intervals_cover_the_truth_at_about_the_nominal_rate():
    replicates = 24
    covered = {name: 0 for name in TRUTH}
    for r in range(replicates):
        fit = fit_law(
            "power",
            power_data(100 + r),
            bootstrap=24,
            seed=r,
            confidence=0.9,
            heldout_fraction=0.0,
            n_starts=4,
        )
        for name, truth in TRUTH.items():
            low, high = fit.ci[name]
            covered[name] += low <= truth <= high
    rates = {name: count / replicates for name, count in covered.items()}
    assert all(0.7 <= rate <= 1.0 for rate in rates.values()), rates
    assert 0.78 <= np.mean(list(rates.values())) <= 0.98, rates


def test_bootstrap_is_seeded_and_reported():
    first = fit_law("power", power_data(7), bootstrap=20, seed=3)
    second = fit_law("power", power_data(7), bootstrap=20, seed=3)
    other = fit_law("power", power_data(7), bootstrap=20, seed=4)
    assert first.ci == second.ci
    assert first.ci != other.ci
    assert set(first.ci) == {"E", "A", "alpha"}
    assert first.metrics["bootstrap"] == 20 and first.metrics["seed"] == 3
    assert first.ci["alpha"][0] < first.params["alpha"] < first.ci["alpha"][1]
