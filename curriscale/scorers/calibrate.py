"""Calibrate `reading_age` on human-graded text: a few robust features, one strongly regularised fit.

A ridge fitted to one corpus's editing style transferred worse than Flesch-Kincaid alone to text
graded by other people, so the calibration is built to transfer:

* few features that every readability formula is made of and that mean the same for a sentence
  and for an article: log words per sentence, syllables per word, word rarity (wordfreq);
* each corpus is standardised on its own (features to z-scores, levels to rank z-scores), so a
  corpus's length or level scale cannot leak into the weights, and corpora weigh equally;
* a strong ridge penalty (`alpha=10`), which pulls the weights towards each feature's own
  correlation with level instead of fitting one corpus's quirks.

The standardised score is then put on a years scale: the same mean and spread as Flesch-Kincaid
grade + 5 years (grade 1 is about age 6) over the calibration corpora. The result is a handful of
numbers (`features`, `center`, `scale`, `weights`, `intercept`) that `reading_age.combine` applies.

Graded corpora (`load_graded`):
    onestopenglish  `onestopenglish.jsonl` (a file, or its folder): 3 levels of the same texts;
                    texts flagged in its SOURCE.md as belonging to another topic are dropped.
    cefr            the CEFR-SP Wiki-Auto folder: `CEFR-SP_Wikiauto_{train,dev,test}.txt`,
                    `sentence<TAB>level A<TAB>level B`; the level is the annotators' mean and only
                    the train split is used for fitting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json
from curriscale.scorers.reading_age import readability_counts, readability_features

DEFAULT_FEATURES = ("log_words_per_sentence", "syllables_per_word", "word_rarity")
DEFAULT_ALPHA = 10.0
YEARS_OFFSET = 5.0  # US grade g is read at about age g + 5
CORPORA = ("onestopenglish", "cefr")


@dataclass
class GradedCorpus:
    """Texts with human difficulty levels; `groups` ties versions of one text, `split` a data split."""

    name: str
    texts: list[str]
    levels: np.ndarray
    groups: np.ndarray
    split: np.ndarray

    def subset(self, mask: np.ndarray) -> GradedCorpus:
        texts = [t for t, keep in zip(self.texts, mask, strict=True) if keep]
        return GradedCorpus(self.name, texts, self.levels[mask], self.groups[mask], self.split[mask])


def load_graded(corpus: str, data: str | Path) -> GradedCorpus:
    """Read a graded corpus (`onestopenglish` or `cefr`, see module docstring).

    Raises:
        CurriscaleError: unknown corpus name, missing file or malformed line.
    """
    path = Path(data)
    if corpus == "onestopenglish":
        file = path / "onestopenglish.jsonl" if path.is_dir() else path
        if not file.is_file():
            raise CurriscaleError(f"onestopenglish: no file {file}")
        rows = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise CurriscaleError(f"{file}:{number}: malformed JSON: {error}") from error
        # A flagged topic's elementary text belongs to another topic (see the corpus's SOURCE.md).
        flagged = {r["id"].rsplit("-", 1)[0] for r in rows if r.get("quality_flag")}
        rows = [r for r in rows if r["id"].rsplit("-", 1)[0] not in flagged]
        return GradedCorpus(
            corpus,
            [r["text"] for r in rows],
            np.array([r["level_num"] for r in rows], dtype=np.float64),
            np.array([r["id"].rsplit("-", 1)[0] for r in rows]),
            np.full(len(rows), "all"),
        )
    if corpus == "cefr":
        texts, levels, split = [], [], []
        for name in ("train", "dev", "test"):
            file = path / f"CEFR-SP_Wikiauto_{name}.txt"
            if not file.is_file():
                raise CurriscaleError(f"cefr: no file {file}")
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                parts = line.split("\t")
                if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
                    raise CurriscaleError(f"{file}:{number}: expected sentence<TAB>level<TAB>level")
                texts.append(parts[0])
                levels.append((int(parts[1]) + int(parts[2])) / 2)
                split.append(name)
        ids = np.array([str(i) for i in range(len(texts))])
        return GradedCorpus(corpus, texts, np.array(levels), ids, np.array(split))
    raise CurriscaleError(f"unknown graded corpus {corpus!r}; choose one of {', '.join(CORPORA)}")


def corpus_features(corpus: GradedCorpus) -> dict[str, np.ndarray]:
    """Every reading-age feature of every text of `corpus` (see `readability_features`)."""
    return readability_features(readability_counts(corpus.texts))


def _rank_z(values: np.ndarray) -> np.ndarray:
    ranks = rankdata(values)
    return (ranks - ranks.mean()) / ranks.std()


def fit_calibration(
    sources: list[tuple[dict[str, np.ndarray], np.ndarray]],
    features: tuple[str, ...] = DEFAULT_FEATURES,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, Any]:
    """Fit reading-age coefficients on graded sources, each standardised on its own.

    Args:
        sources: (features from `corpus_features`, human levels) per graded source.
        features: feature names to combine.
        alpha: ridge penalty on the standardised weights.

    Returns:
        The coefficients dict `reading_age.combine` applies (without provenance fields).
    """
    raws, targets, weights, centers, scales, fk = [], [], [], [], [], []
    for values, levels in sources:
        unknown = sorted(set(features) - set(values))
        if unknown:
            raise CurriscaleError(
                f"calibrate: unknown features {unknown}; available: {', '.join(sorted(values))}"
            )
        matrix = np.column_stack([values[name] for name in features])
        keep = np.isfinite(matrix).all(axis=1) & np.isfinite(values["fk_grade"])
        matrix, levels = matrix[keep], levels[keep]
        raws.append(matrix)
        centers.append(matrix.mean(axis=0))
        scales.append(matrix.std(axis=0))
        targets.append(_rank_z(levels))
        weights.append(np.full(len(levels), 1 / len(levels)))  # every source weighs the same
        fk.append(values["fk_grade"][keep])
    x = np.vstack([(m - c) / s for m, c, s in zip(raws, centers, scales, strict=True)])
    y, w = np.concatenate(targets), np.concatenate(weights) / len(sources)
    beta = np.linalg.solve(x.T @ (w[:, None] * x) + alpha * np.eye(len(features)), x.T @ (w * y))
    # At scoring time there is no source: standardise with the sources' average center and scale.
    center, scale = np.mean(centers, axis=0), np.sqrt(np.mean(np.square(scales), axis=0))
    score = ((np.vstack(raws) - center) / scale) @ beta
    fk_all = np.concatenate(fk)
    # Years: the mean and spread of Flesch-Kincaid grade + 5 over the (equally weighted) sources.
    fk_mean, score_mean = np.sum(w * fk_all), np.sum(w * score)
    stretch = np.sqrt(np.sum(w * (fk_all - fk_mean) ** 2) / np.sum(w * (score - score_mean) ** 2))
    return {
        "features": list(features),
        "center": center.tolist(),
        "scale": scale.tolist(),
        "weights": (beta * stretch).tolist(),
        "intercept": float(fk_mean + YEARS_OFFSET - stretch * score_mean),
        "alpha": alpha,
    }


def calibrate(corpora: list[tuple[str, str | Path]], out: str | Path | None = None, **options: Any) -> dict:
    """Fit reading-age coefficients on graded corpora and write them as JSON.

    Args:
        corpora: (corpus name, data path) pairs, e.g. `[("onestopenglish", "corpora/onestopenglish")]`.
        out: JSON file to write atomically (skipped when None).
        **options: `features`, `alpha` for `fit_calibration`.

    Returns:
        The coefficients, with `fitted_on` naming the corpora and their sizes.
    """
    if not corpora:
        raise CurriscaleError("calibrate: give at least one --corpus NAME --data PATH pair")
    sources, fitted_on = [], []
    for name, data in corpora:
        corpus = load_graded(name, data)
        if name == "cefr":  # dev and test stay unseen, for validation
            corpus = corpus.subset(corpus.split == "train")
        sources.append((corpus_features(corpus), corpus.levels))
        fitted_on.append(f"{name} ({len(corpus.texts)} texts)")
    coeffs = fit_calibration(sources, **options) | {"fitted_on": ", ".join(fitted_on)}
    if out is not None:
        atomic_write_json(out, coeffs)
    return coeffs
