"""Validate reading_age against human readability judgments, next to Flesch-Kincaid and the other formulas.

Two independently graded sources in ../shared/corpora:
    onestopenglish    189 Guardian texts, each rewritten at 3 levels (3 flagged topics dropped)
    cefr_sp_wikiauto  7,453 Wikipedia sentences with CEFR levels (train/dev/test split)

Reported (one JSON line):
    pairs        fraction of correctly ordered level pairs of the same OneStopEnglish text
    rho_ose      Spearman with level over all OneStopEnglish texts
    rho_cefr     Spearman with level on the CEFR test split (rho_cefr_dev: on the dev split)
For reading_age, OneStopEnglish numbers come from topic-wise 5-fold cross-validation (no text is
scored by a calibration that saw any version of it; the CEFR train split is in every fit), and
CEFR numbers from the fit on all OneStopEnglish texts plus the CEFR train split. Transfer: fitted on
one source only, tested on the other.

Usage: python benchmarks/validate_reading_age.py [--corpora ../shared/corpora]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from curriscale.scorers.calibrate import corpus_features, fit_calibration, load_graded
from curriscale.scorers.reading_age import FORMULAS, combine, load_coefficients

FOLDS = 5


def _pair_outcomes(score: np.ndarray, levels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For every (easier, harder) version pair of one text: does `score` put it in the right order?"""
    outcomes = []
    for group in np.unique(groups):
        idx = np.flatnonzero(groups == group)
        easier, harder = np.meshgrid(idx, idx, indexing="ij")
        mask = levels[easier] < levels[harder]
        outcomes.append(score[easier[mask]] < score[harder[mask]])
    return np.concatenate(outcomes)


def ordered_pairs(score: np.ndarray, levels: np.ndarray, groups: np.ndarray) -> float:
    """Share of (easier, harder) version pairs of one text that `score` puts in the right order."""
    return float(np.mean(_pair_outcomes(score, levels, groups)))


def rho(score: np.ndarray, levels: np.ndarray) -> float:
    return float(spearmanr(score, levels).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
    parser.add_argument("--corpora", type=Path, default=default)
    args = parser.parse_args()

    ose = load_graded("onestopenglish", args.corpora / "onestopenglish")
    cefr = load_graded("cefr", args.corpora / "cefr_sp_wikiauto")
    f_ose, f_cefr = corpus_features(ose), corpus_features(cefr)
    train, dev, test = cefr.split == "train", cefr.split == "dev", cefr.split == "test"
    cefr_train = ({k: v[train] for k, v in f_cefr.items()}, cefr.levels[train])
    cefr_dev = {k: v[dev] for k, v in f_cefr.items()}
    cefr_test = {k: v[test] for k, v in f_cefr.items()}

    def metrics(ose_score: np.ndarray, cefr_score: np.ndarray) -> dict:
        return {
            "pairs": round(ordered_pairs(ose_score, ose.levels, ose.groups), 4),
            "rho_ose": round(rho(ose_score, ose.levels), 4),
            "rho_cefr": round(rho(cefr_score, cefr.levels[test]), 4),
        }

    # Topic-wise cross-validation on OneStopEnglish, the CEFR train split in every fit.
    topics = np.random.default_rng(0).permutation(np.unique(ose.groups))
    cv_score = np.empty(len(ose.texts))
    for fold in np.array_split(topics, FOLDS):
        held = np.isin(ose.groups, fold)
        seen = ({k: v[~held] for k, v in f_ose.items()}, ose.levels[~held])
        cv_score[held] = combine({k: v[held] for k, v in f_ose.items()}, fit_calibration([seen, cefr_train]))
    joint = fit_calibration([(f_ose, ose.levels), cefr_train])
    only_ose, only_cefr = fit_calibration([(f_ose, ose.levels)]), fit_calibration([cefr_train])
    shipped = load_coefficients()

    sign = {"flesch_ease": -1.0}  # reading ease: higher = easier
    formulas = {
        name: metrics(sign.get(name, 1.0) * f_ose[name], sign.get(name, 1.0) * cefr_test[name])
        for name in FORMULAS
    }
    # Which OneStopEnglish pairs each gets right that the other gets wrong (the totals are close).
    right_ra, right_fk = (
        _pair_outcomes(score, ose.levels, ose.groups) for score in (cv_score, f_ose["fk_grade"])
    )
    result = {
        "bench": "validate_reading_age",
        "reading_age": metrics(cv_score, combine(cefr_test, joint))
        | {
            "rho_cefr_dev": round(rho(combine(cefr_dev, joint), cefr.levels[dev]), 4),
            "pairs_only_reading_age_right": int(np.sum(right_ra & ~right_fk)),
            "pairs_only_fk_right": int(np.sum(right_fk & ~right_ra)),
        },
        "fk_grade": formulas["fk_grade"]
        | {"rho_cefr_dev": round(rho(cefr_dev["fk_grade"], cefr.levels[dev]), 4)},
        "transfer": {
            "fit_ose_test_cefr": {"rho_cefr": round(rho(combine(cefr_test, only_ose), cefr.levels[test]), 4)},
            "fit_cefr_test_ose": {
                k: v
                for k, v in metrics(combine(f_ose, only_cefr), combine(cefr_test, only_cefr)).items()
                if k != "rho_cefr"
            },
        },
        "shipped_coefficients": metrics(combine(f_ose, shipped), combine(cefr_test, shipped))
        | {"ose_in_sample": True},
        "formulas": formulas,
        "n": {
            "ose_texts": len(ose.texts),
            "ose_topics": len(topics),
            "cefr_train": int(train.sum()),
            "cefr_test": int(test.sum()),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
