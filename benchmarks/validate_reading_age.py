"""Validate reading_age against human readability judgments, next to every classic formula.

Three graded sources in ../shared/corpora, from two independent origins:
    onestopenglish        189 Guardian texts, each rewritten at 3 levels (3 flagged topics dropped)
    onestopenglish_pairs  ~6,000 sentence pairs aligned across those levels (same origin)
    cefr                  7,453 Wikipedia sentences with CEFR levels (all splits)

Metrics (higher = better): `rho` Spearman with level over all texts of a source; `pairs` the share
of (easier, harder) versions of one text a score puts in the right order (ties count half).
Rows: every classic formula; `reading_age` as shipped (fitted on all sources: in-sample); `loso`,
the same recipe scored by leave-one-origin-out (fitted without the held-out origin: the honest
figure); `v1` and `v1_loso`, the previous recipe (3 features, alpha 10, OSE + CEFR train split;
it never saw the sentence pairs, so its LOSO has no figure for them).

Usage:
    python benchmarks/validate_reading_age.py            # the tables and one JSON line
    python benchmarks/validate_reading_age.py --select   # forward feature selection by LOSO
    python benchmarks/validate_reading_age.py --fit      # refit the packaged coefficients
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from curriscale.io import atomic_write_json
from curriscale.scorers.calibrate import (
    DEFAULT_ALPHA,
    DEFAULT_FEATURES,
    Source,
    fit_calibration,
    leave_one_origin_out,
    load_sources,
)
from curriscale.scorers.reading_age import COEFFS_FILE, FORMULAS, combine

V1 = {"features": ("log_words_per_sentence", "syllables_per_word", "word_rarity"), "alpha": 10.0}
CANDIDATES = (
    "log_words_per_sentence",
    "syllables_per_word",
    "letters_per_word",
    "word_rarity",
    "rarity_p90",
    "share_below_zipf_3.5",
    "share_below_zipf_4.5",
    "difficult_words",
)
ALPHAS = (0.03, 0.1, 0.3, 1.0, 3.0)
SIGN = {"flesch_ease": -1.0}  # reading ease: higher = easier


def ordered_pairs(score: np.ndarray, levels: np.ndarray, groups: np.ndarray) -> float:
    """Share of (easier, harder) version pairs of one text that `score` puts in the right order."""
    _, index = np.unique(groups, return_inverse=True)
    order = np.argsort(index, kind="stable")
    outcomes = []
    for members in np.split(order, np.flatnonzero(np.diff(index[order])) + 1):
        easier, harder = np.meshgrid(members, members, indexing="ij")
        mask = levels[easier] < levels[harder]
        low, high = score[easier[mask]], score[harder[mask]]
        outcomes.append(np.where(low == high, 0.5, low < high))
    return float(np.mean(np.concatenate(outcomes)))


def metrics(source: Source, score: np.ndarray) -> dict[str, float]:
    """`rho` (not for paired sources: their levels compare only within a pair) and `pairs` (where
    a source has versions of one text)."""
    corpus, _ = source
    result = {}
    if not corpus.paired:
        keep = np.isfinite(score)
        result["rho"] = round(float(spearmanr(score[keep], corpus.levels[keep]).statistic), 4)
    if len(np.unique(corpus.groups)) < len(corpus.groups):
        result["pairs"] = round(ordered_pairs(score, corpus.levels, corpus.groups), 4)
    return result


def loso_criterion(sources: list[Source], features: tuple[str, ...], alpha: float) -> float:
    """Mean held-out figure: each source's Spearman, or its pair accuracy when it is paired."""
    held = leave_one_origin_out(sources, features=features, alpha=alpha)
    figures = [metrics(s, held[s[0].name]) for s in sources]
    return float(np.mean([f.get("rho", f.get("pairs")) for f in figures]))


def select(sources: list[Source]) -> tuple[tuple[str, ...], float]:
    """Forward selection: add the (feature, alpha) that most raises `loso_criterion`, while it
    rises by more than 0.002 (smaller gains are noise on these sizes)."""
    chosen: tuple[str, ...] = ()
    best, alpha = -1.0, DEFAULT_ALPHA
    while True:
        trials = [
            (loso_criterion(sources, (*chosen, f), a), f, a)
            for f in CANDIDATES
            if f not in chosen
            for a in ALPHAS
        ]
        score, feature, trial_alpha = max(trials) if trials else (best, "", alpha)
        if score <= best + 0.002:
            return chosen, alpha
        chosen, best, alpha = (*chosen, feature), score, trial_alpha
        print(f"LOSO {score:.4f}: {', '.join(chosen)} (alpha {alpha})")


def v1_coefficients(sources: list[Source]) -> tuple[dict, dict[str, np.ndarray]]:
    """The previous recipe: fitted on OneStopEnglish and the CEFR train split; and its LOSO scores."""
    fitted = []
    for corpus, values in sources:
        if corpus.name == "onestopenglish_pairs":
            continue
        keep = corpus.split == "train" if corpus.name == "cefr" else np.full(len(corpus.texts), True)
        fitted.append((corpus.subset(keep), {k: v[keep] for k, v in values.items()}))
    v1_sources = [s for s in sources if s[0].name != "onestopenglish_pairs"]
    return fit_calibration(fitted, **V1), leave_one_origin_out(v1_sources, **V1)


def table(rows: dict[str, dict[str, dict[str, float]]], sources: list[Source]) -> str:
    """One line per scorer, one column per (source, metric)."""
    columns = [(c.name, m) for c, v in sources for m in metrics((c, v), v["fk_grade"])]
    lines = [f"{'':14s}" + "".join(f"{s + ' ' + m:>28s}" for s, m in columns)]
    for name, figures in rows.items():
        cells = [figures.get(s, {}).get(m) for s, m in columns]
        lines.append(f"{name:14s}" + "".join(f"{'-' if c is None else f'{c:.3f}':>28s}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
    parser.add_argument("--corpora", type=Path, default=default)
    parser.add_argument("--select", action="store_true", help="forward feature selection by LOSO")
    parser.add_argument("--fit", action="store_true", help=f"refit and write {COEFFS_FILE.name}")
    args = parser.parse_args()
    ose = args.corpora / "onestopenglish"
    sources = load_sources(
        [("onestopenglish", ose), ("onestopenglish_pairs", ose), ("cefr", args.corpora / "cefr_sp_wikiauto")]
    )
    if args.select:
        features, alpha = select(sources)
        print(json.dumps({"bench": "select_reading_age", "features": features, "alpha": alpha}))
        return
    shipped = fit_calibration(sources)
    if args.fit:
        fitted_on = ", ".join(f"{c.name} ({len(c.texts)} texts)" for c, _ in sources)
        atomic_write_json(COEFFS_FILE, shipped | {"fitted_on": fitted_on})
        print(f"wrote {COEFFS_FILE}")
    held = leave_one_origin_out(sources, features=DEFAULT_FEATURES, alpha=DEFAULT_ALPHA)
    v1, v1_held = v1_coefficients(sources)
    scores = {name: {c.name: SIGN.get(name, 1.0) * v[name] for c, v in sources} for name in FORMULAS}
    scores |= {
        "reading_age": {c.name: combine(v, shipped) for c, v in sources},
        "loso": held,
        "v1": {c.name: combine(v, v1) for c, v in sources},
        "v1_loso": v1_held,
    }
    rows = {
        name: {c.name: metrics((c, v), per_source[c.name]) for c, v in sources if c.name in per_source}
        for name, per_source in scores.items()
    }
    print(table(rows, sources))
    print(
        json.dumps(
            {
                "bench": "validate_reading_age",
                "features": list(DEFAULT_FEATURES),
                "alpha": DEFAULT_ALPHA,
                "figures": rows,
                "n": {c.name: len(c.texts) for c, _ in sources},
            }
        )
    )


if __name__ == "__main__":
    main()
