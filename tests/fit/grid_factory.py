"""Synthetic grids in the trainer's run-folder format, with known effects planted.

The baseline (static mix) follows L(N, t) = E + A N^-alpha + B t^-beta. A curriculum runs the same
curve `speedup(N)` times faster: L_cur(N, t) = L_base(N, speedup(N) * t), so it needs exactly
T / speedup tokens to reach the baseline's final loss. speedup(N) = (N_cross / N)^gamma, so it
helps below `crossover` and hurts above it. Accuracy on level k rises with size as a logistic in
log N centred on `critical[k]`, and in training time as 1 - exp(-t / tau(N)) with tau falling in N.

`chance` plants a guess rate per level: the level's accuracy then rises from chance (not from 0)
towards `final_accuracy(N, critical, chance)`, and config.json records it as the trainer does
(`eval_chance_accuracy` / `ood_chance_accuracy`). A level whose critical size lies far beyond the
grid's sizes stays at chance; so does a level given a chance but no critical size (only its
accuracy is written, with its own noise stream). `diverge_at` makes every run's training loss climb over the last part
of training (a divergence no LR-annealing law can describe). `positions` writes
`positions.parquet`: per eval checkpoint, the loss per token position from a planted temporal law
(`TEMPORAL`, the step in units of `TEMPORAL_STEP`), with its own noise stream.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from curriscale.io import sha256_file

E, A, ALPHA, B, BETA = 1.5, 40.0, 0.35, 30.0, 0.3
BUDGET = 1_000_000
STEPS = 100
TEMPORAL = {"a0": 2.0, "a1": 0.2, "a2": 2.5, "b0": -0.3, "b1": 0.1, "b2": -0.05}
TEMPORAL_STEP = 10.0


def position_loss(step, position):
    """The planted temporal law: a0(t) / (1 + a1(t) p) + a2(t), a_k(t) = a_k (t / TEMPORAL_STEP)^b_k."""
    t = np.asarray(step, float) / TEMPORAL_STEP
    a0, a1, a2 = (TEMPORAL[f"a{k}"] * t ** TEMPORAL[f"b{k}"] for k in range(3))
    return a0 / (1.0 + a1 * position) + a2


def base_loss(n, tokens):
    return E + A * np.power(n, -ALPHA) + B * np.power(tokens, -BETA)


def planted_speedup(n, crossover=1e5, gamma=0.2):
    return np.power(crossover / n, gamma)


def final_accuracy(n, critical, chance=0.05, top=0.95):
    return chance + (top - chance) / (1.0 + np.power(critical / n, 3.0))


def tau(n):
    """Training-time constant of accuracy, in tokens: bigger models learn sooner."""
    return 2e5 * np.power(1e5 / n, 0.5)


def write_manifest(folder: Path, name: str, kind: str, n_tiers: int = 3, warmup: float = 0.5) -> Path:
    """A small schema-valid manifest with real tier files, enough for the recommender to copy.

    A curriculum's schedule starts on tier 1 alone and turns to the even mix at `warmup`."""
    folder.mkdir(parents=True, exist_ok=True)
    tiers = []
    for i in range(n_tiers):
        rel = f"tier={i:02d}/part-00000.parquet"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame({"id": [f"d{i}"], "text": [f"text {i}"], "difficulty": [float(i)]})
        frame.to_parquet(folder / rel)
        entry = {
            "path": rel,
            "rows": 1,
            "bytes": (folder / rel).stat().st_size,
            "sha256": sha256_file(folder / rel),
        }
        tiers.append(
            {"index": i, "name": f"tier={i:02d}", "bounds": [i, i + 1], "label": None, "documents": 1, "tokens": 2,
             "files": [entry]}
        )  # fmt: skip
    even = [1 / n_tiers] * n_tiers
    if kind == "static":
        schedule, params = [{"start": 0, "end": BUDGET, "weights": even}], {}
    else:
        half = round(BUDGET * warmup)
        schedule = [
            {"start": 0, "end": half, "weights": [0.0, 1.0] + [0.0] * (n_tiers - 2)},
            {"start": half, "end": BUDGET, "weights": even},
        ]
        params = {"start_fraction": 0.2, "warmup_fraction": warmup}
    manifest = {
        "format": "curriscale.manifest", "version": 1, "name": name, "created_by": "tests", "seed": 0,
        "difficulty": {"columns": {"difficulty": 1.0}, "normalise": "rank"},
        "tiers": tiers, "token_unit": "whitespace",
        "pacing": {"kind": kind, "params": params, "unit": "tokens", "total": BUDGET, "sampling": "cumulative",
                   "tier_weights": "size"},
        "schedule": schedule, "lr_schedule": None,
        "consumption": [{"tier": i, "expected_tokens": 0.0, "epochs": 0.0} for i in range(n_tiers)],
        "divergence_from_static": 0.0, "rejected": {"documents": 0, "reasons": {}, "files": []},
        "inputs": [], "scorers": [], "recipe": {}, "recipe_hash": "0" * 64,
    }  # fmt: skip
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def write_grid(
    root: Path,
    sizes=(12e3, 25e3, 50e3, 100e3, 200e3, 400e3),
    curricula=None,
    lr_schedules=("cosine",),
    seeds=(0, 1, 2),
    crossover=1e5,
    gamma=0.2,
    critical=None,
    noise=0.002,
    lr_effect=None,
    rng_seed=0,
    steps=STEPS,
    budget=BUDGET,
    chance=None,
    diverge_at=None,
    answer_loss=False,
    positions=False,
    planted=None,
    warmups=None,
) -> Path:
    """Write RUNS/runs.parquet and one run folder per cell; returns root.

    curricula maps name -> pacing kind; lr_effect maps lr schedule -> extra multiplier on speedup;
    chance maps level -> chance accuracy (recorded in config.json; None: not recorded, accuracy
    rises from 0); diverge_at is the fraction of training after which the training loss climbs,
    to 1.5x at the end; answer_loss adds `answer_loss_level_<k>` (-log accuracy) per level;
    positions writes each run's positions.parquet (see the module docstring); planted maps a
    curriculum to its own (crossover, gamma) (a negative gamma: it pays above the crossover), so
    the best curriculum can change with size; warmups maps a curriculum to its manifest's warmup.
    """
    curricula = curricula or {"static-mix": "static", "ladder": "linear"}
    critical = critical or {1: 3e4, 2: 1.5e5}
    lr_effect = lr_effect or {}
    rng = np.random.default_rng(rng_seed)
    # Never-learned levels draw their noise from their own stream, so planting them leaves every
    # other draw (loss noise, and with it the measured speedups) as it was.
    guess_rng = np.random.default_rng([rng_seed, 1])
    position_rng = np.random.default_rng([rng_seed, 2])
    guessed = [level for level in (chance or {}) if level not in critical]
    root.mkdir(parents=True, exist_ok=True)
    planted, warmups = planted or {}, warmups or {}
    manifests = {
        name: write_manifest(root / "manifests" / name, name, kind, warmup=warmups.get(name, 0.5))
        for name, kind in curricula.items()
    }
    n_steps = steps
    steps = np.arange(1, n_steps + 1)
    tokens = steps * (budget // n_steps)
    eval_steps = set(np.linspace(n_steps / 8, n_steps, 8).round().astype(int))
    index = []
    for n in sizes:
        for name, kind in curricula.items():
            for lr_name in lr_schedules:
                for seed in seeds:
                    s = (
                        1.0
                        if kind == "static"
                        else planted_speedup(n, *planted.get(name, (crossover, gamma)))
                        * lr_effect.get(lr_name, 1.0)
                    )
                    shift = 1.0 + noise * rng.standard_normal()
                    loss = base_loss(n, s * tokens) * shift
                    lr = 1e-3 * (
                        0.5 * (1 + np.cos(np.pi * steps / n_steps))
                        if lr_name == "cosine"
                        else np.ones(n_steps)
                    )
                    is_eval = np.isin(steps, list(eval_steps))
                    train_loss = loss + 0.01
                    if diverge_at is not None:
                        late = np.clip((steps / n_steps - diverge_at) / (1 - diverge_at), 0, 1)
                        train_loss = train_loss * (1 + 0.5 * late)
                    frame = {
                        "step": steps,
                        "tokens": tokens,
                        "flops": 6.0 * n * tokens,
                        "lr": lr,
                        "train_loss": train_loss,
                        "eval_loss": np.where(is_eval, loss, np.nan),
                        "ood_eval_loss": np.where(is_eval, loss + 0.5, np.nan),
                    }
                    accs = []
                    for level, n_crit in critical.items():
                        learnt = 1 - np.exp(-s * tokens / tau(n))
                        if chance is None:
                            acc = final_accuracy(n, n_crit) * learnt
                        else:
                            floor = chance[level]
                            acc = floor + (final_accuracy(n, n_crit, chance=floor) - floor) * learnt
                        acc = np.clip(acc + noise * rng.standard_normal(), 0, 1)
                        accs.append(acc)
                        frame[f"accuracy_level_{level}"] = np.where(is_eval, acc, np.nan)
                        if answer_loss:
                            frame[f"answer_loss_level_{level}"] = np.where(
                                is_eval, -np.log(np.clip(acc, 1e-3, 1.0)), np.nan
                            )
                        frame[f"eval_loss_level_{level}"] = np.where(is_eval, loss + 0.1 * level, np.nan)
                        frame[f"ood_accuracy_level_{level}"] = np.where(is_eval, acc / 2, np.nan)
                        frame[f"documents_tier_{level}"] = np.where(
                            is_eval, tokens / 100 * (level if kind != "static" else 1), np.nan
                        )
                    for level in guessed:
                        acc = np.clip(chance[level] + noise * guess_rng.standard_normal(n_steps), 0, 1)
                        accs.append(acc)
                        frame[f"accuracy_level_{level}"] = np.where(is_eval, acc, np.nan)
                        frame[f"ood_accuracy_level_{level}"] = np.where(is_eval, acc, np.nan)
                    frame["mean_accuracy"] = np.where(is_eval, np.mean(accs, axis=0), np.nan)
                    run_dir = f"{name}-n{int(n)}-{lr_name}-s{seed}"
                    folder = root / run_dir
                    folder.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame(frame).to_parquet(folder / "metrics.parquet")
                    if positions:
                        step, position = (g.ravel() for g in np.meshgrid(sorted(eval_steps), np.arange(32.0)))
                        jitter = np.exp(0.002 * position_rng.standard_normal(len(step)))
                        table = {"step": step, "position": position.astype(int)}
                        pd.DataFrame(table | {"loss": position_loss(step, position) * jitter}).to_parquet(
                            folder / "positions.parquet"
                        )
                    config = {
                        "size": f"n{int(n)}",
                        "n_params": int(n) * 2,
                        "non_embedding_params": int(n),
                        "curriculum": name,
                        "manifest": str(manifests[name].relative_to(root)),
                        "lr_schedule": lr_name,
                        "lr": 1e-3,
                        "seed": seed,
                        "budget_tokens": budget,
                        "batch_size": 16,
                        "seq_len": 128,
                    }
                    if chance is not None:
                        recorded = {str(level): float(c) for level, c in chance.items()}
                        config |= {"eval_chance_accuracy": recorded, "ood_chance_accuracy": recorded}
                    (folder / "config.json").write_text(json.dumps(config))
                    (folder / "done.json").write_text("{}")
                    index.append(
                        {
                            "cell": run_dir,
                            "run_dir": run_dir,
                            "size": f"n{int(n)}",
                            "curriculum": name,
                            "lr_schedule": lr_name,
                            "seed": seed,
                            "n_params": int(n) * 2,
                            "non_embedding_params": int(n),
                            "budget_tokens": budget,
                            "final_eval_loss": float(loss[-1]),
                            "final_mean_accuracy": float(np.mean(accs, axis=0)[-1]),
                            "status": "done",
                        }
                    )
    pd.DataFrame(index).to_parquet(root / "runs.parquet")
    return root
