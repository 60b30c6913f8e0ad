"""Recovery errors and fit time of curriscale's law fitter against scipy.optimize.curve_fit.

Data are drawn from known laws with multiplicative log-normal noise. For each law we report the
relative error of every recovered parameter (worst over seeds), and for power and chinchilla the
same for curve_fit (least squares on the raw loss, started from one generic guess, as a typical
notebook fit would) plus the wall time ratio. Dynamics laws report prediction errors: the
LR-annealing law fitted on a cosine curve and evaluated on WSD and step-decay curves, the temporal
law fitted on early checkpoints and evaluated on later ones. Bootstrap coverage of 90% intervals is
measured over replicate datasets.

Usage: python benchmarks/bench_fit.py [--quick]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from scipy.optimize import curve_fit

from curriscale.fit.api import fit_law
from curriscale.fit.laws import get_law

NOISE = 0.005


def noisy(values, rng, sigma=NOISE):
    return values * np.exp(rng.normal(0.0, sigma, len(values)))


def relative_errors(params: dict, truth: dict) -> dict:
    return {name: abs(params[name] - value) / abs(value) for name, value in truth.items()}


def worst(errors: list[dict]) -> dict:
    return {name: round(max(e[name] for e in errors), 5) for name in errors[0]}


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def baseline(fn, x, y, p0, names):
    """curve_fit from a generic start; a failure counts as infinite error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            popt, _ = curve_fit(fn, x, y, p0=p0, maxfev=20000)
            return dict(zip(names, popt, strict=True))
        except (RuntimeError, ValueError):
            return {name: np.inf for name in names}


def bench_power(seeds):
    truth = {"E": 1.7, "A": 400.0, "alpha": 0.3}
    x = np.logspace(4, 9, 30)
    ours, base, t_ours, t_base = [], [], 0.0, 0.0
    for seed in seeds:
        y = noisy(1.7 + 400 * x**-0.3, np.random.default_rng(seed))
        fit, elapsed = timed(lambda y=y: fit_law("power", {"x": x, "loss": y}, heldout_fraction=0.0))
        ours.append(relative_errors(fit.params, truth))
        t_ours += elapsed
        params, elapsed = timed(lambda y=y: baseline(power, x, y, (1.0, 1.0, 0.5), list(truth)))
        base.append(relative_errors(params, truth))
        t_base += elapsed
    return worst(ours), worst(base), t_ours / len(seeds), t_base / len(seeds)


def power(x, e, a, alpha):
    return e + a * x**-alpha


def chinchilla(nd, e, a, b, alpha, beta):
    return e + a * nd[0] ** -alpha + b * nd[1] ** -beta


def bench_outliers(seeds):
    """Alpha error with 2 of 30 points corrupted by +30% (a diverged or mislogged run)."""
    x = np.logspace(4, 9, 30)
    ours, base = [], []
    for seed in seeds:
        y = noisy(1.7 + 400 * x**-0.3, np.random.default_rng(seed))
        y[[7, 21]] *= 1.3
        fit = fit_law("power", {"x": x, "loss": y}, heldout_fraction=0.0)
        ours.append(abs(fit.params["alpha"] - 0.3) / 0.3)
        base.append(abs(baseline(power, x, y, (1.0, 1.0, 0.5), ["E", "A", "alpha"])["alpha"] - 0.3) / 0.3)
    return round(max(ours), 4), round(max(base), 4)


def bench_chinchilla(seeds):
    truth = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    n, d = np.repeat(np.logspace(6, 9, 10), 25), np.tile(np.logspace(8, 11, 25), 10)
    ours, base, t_ours, t_base = [], [], 0.0, 0.0
    for seed in seeds:
        y = noisy(1.69 + 406.4 * n**-0.34 + 410.7 * d**-0.28, np.random.default_rng(seed))
        fit, elapsed = timed(
            lambda y=y: fit_law("chinchilla", {"n": n, "d": d, "loss": y}, heldout_fraction=0.0)
        )
        ours.append(relative_errors(fit.params, truth))
        t_ours += elapsed
        params, elapsed = timed(
            lambda y=y: baseline(chinchilla, (n, d), y, (1.0, 100.0, 100.0, 0.5, 0.5), list(truth))
        )
        base.append(relative_errors(params, truth))
        t_base += elapsed
    return worst(ours), worst(base), t_ours / len(seeds), t_base / len(seeds)


def bench_bnsl(seeds):
    x = np.logspace(3, 9, 40)
    curve = 0.5 + 10 * x**-0.05 * (1 + (x / 1e6) ** (1 / 0.3)) ** (-0.4 * 0.3)
    factors, counts = [], []
    for seed in seeds:
        fit = fit_law("bnsl", {"x": x, "loss": noisy(curve, np.random.default_rng(seed))})
        counts.append(len(fit.breaks))
        factors.append(max(fit.breaks[0] / 1e6, 1e6 / fit.breaks[0]) if fit.breaks else np.inf)
    return round(max(factors), 4), counts


def schedule(kind, steps, peak=1e-3, warmup=100):
    lr = np.where(steps <= warmup, peak * steps / warmup, peak)
    progress = np.clip((steps - warmup) / (len(steps) - warmup), 0, 1)
    if kind == "cosine":
        lr = np.where(steps <= warmup, lr, peak * (0.1 + 0.45 * (1 + np.cos(np.pi * progress))))
    elif kind == "wsd":
        lr = np.where(progress < 0.8, lr, peak * (1 - 0.99 * (progress - 0.8) / 0.2))
    elif kind == "step":
        lr = np.where(
            steps <= warmup, lr, peak * np.where(progress < 0.5, 1.0, np.where(progress < 0.75, 0.3, 0.1))
        )
    return lr


def bench_annealing(seeds):
    truth = {"L0": 2.0, "A": 1.5, "C": 0.5, "alpha": 0.5, "lam": 0.999}
    steps = np.arange(1, 3001)
    law = get_law("lr-annealing")

    def curve(lr):
        return law.evaluate(law.from_params(truth), law.prepare({"step": steps.astype(float), "lr": lr}))[0]

    params, cross = [], []
    for seed in seeds:
        cosine = schedule("cosine", steps)
        loss = np.full(len(steps), np.nan)
        rows = np.arange(9, len(steps), 10)
        loss[rows] = noisy(curve(cosine)[rows], np.random.default_rng(seed), 0.003)
        fit = fit_law("lr-annealing", {"step": steps, "lr": cosine, "loss": loss})
        params.append(relative_errors(fit.params, truth))
        for kind in ("wsd", "step"):
            lr = schedule(kind, steps)
            truth_curve = curve(lr)
            pred = fit.predict({"step": steps, "lr": lr})
            cross.append(float(np.mean(np.abs(pred - truth_curve) / truth_curve)))
    return worst(params), round(max(cross), 5)


def bench_temporal(seeds):
    truth = {"a0": 3.0, "a1": 0.2, "a2": 2.5, "b0": -0.3, "b1": 0.1, "b2": -0.08}
    steps = np.round(np.logspace(2, 4, 12))
    step, position = (g.ravel() for g in np.meshgrid(steps, np.arange(0.0, 128.0, 4.0), indexing="ij"))
    law = get_law("temporal", step_ref=1000.0)
    clean = law.evaluate(law.from_params(truth), law.prepare({"step": step, "position": position}))[0]
    early = step <= steps[7]
    errors, trends = [], []
    for seed in seeds:
        loss = noisy(clean, np.random.default_rng(seed))
        fit = fit_law("temporal", {"step": step[early], "position": position[early], "loss": loss[early]})
        pred = fit.predict({"step": step[~early], "position": position[~early]})
        errors.append(float(np.mean(np.abs(pred - clean[~early]) / clean[~early])))
        trends.append(relative_errors(fit.params, {k: truth[k] for k in ("b0", "b1", "b2")}))
    return round(max(errors), 5), worst(trends)


def bench_coverage(replicates, resamples):
    truth = {"E": 1.7, "A": 400.0, "alpha": 0.3}
    x = np.logspace(4, 9, 25)
    covered = dict.fromkeys(truth, 0)
    for r in range(replicates):
        y = noisy(1.7 + 400 * x**-0.3, np.random.default_rng(1000 + r), 0.01)
        fit = fit_law(
            "power", {"x": x, "loss": y}, bootstrap=resamples, seed=r, confidence=0.9, heldout_fraction=0.0
        )
        for name, value in truth.items():
            covered[name] += fit.ci[name][0] <= value <= fit.ci[name][1]
    return {name: round(count / replicates, 3) for name, count in covered.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and replicates")
    args = parser.parse_args()
    seeds = range(2) if args.quick else range(5)
    power, power_base, t_power, t_power_base = bench_power(seeds)
    chin, chin_base, t_chin, t_chin_base = bench_chinchilla(seeds)
    outlier_ours, outlier_base = bench_outliers(seeds)
    break_factor, break_counts = bench_bnsl(seeds)
    anneal_params, anneal_cross = bench_annealing(seeds)
    temporal_error, temporal_trends = bench_temporal(seeds)
    coverage = bench_coverage(*((10, 20) if args.quick else (40, 40)))
    print(
        json.dumps(
            {
                "bench": "fit",
                "seeds": len(seeds),
                "power_rel_error": power,
                "power_rel_error_curve_fit": power_base,
                "chinchilla_rel_error": chin,
                "chinchilla_rel_error_curve_fit": chin_base,
                "chinchilla_250pt_fit_s": round(t_chin, 3),
                "power_2_outliers_alpha_rel_error": outlier_ours,
                "power_2_outliers_alpha_rel_error_curve_fit": outlier_base,
                "power_fit_s": round(t_power, 3),
                "time_ratio_vs_curve_fit": {
                    "power": round(t_power / t_power_base, 2),
                    "chinchilla": round(t_chin / t_chin_base, 2),
                },
                "bnsl_break_factor_max": break_factor,
                "bnsl_auto_break_counts": break_counts,
                "lr_annealing_rel_error": anneal_params,
                "lr_annealing_cross_schedule_mre_max": anneal_cross,
                "temporal_later_checkpoints_mre_max": temporal_error,
                "temporal_trend_rel_error": temporal_trends,
                "bootstrap_coverage_90": coverage,
            }
        )
    )


if __name__ == "__main__":
    main()
