"""Calibrate `reading_age` on human-graded text, and check it by leave-one-origin-out validation.

A ridge fitted to one corpus's editing style once transferred worse than Flesch-Kincaid alone to
text graded by other people, so the calibration is built to transfer, and judged by transfer:

* features that mean the same for a sentence and for an article: log words per sentence,
  syllables per word and the distribution of word frequencies (`reading_age.py`);
* each source is standardised on its own (features to z-scores, levels to rank z-scores), so a
  source's length or level scale cannot leak into the weights;
* every *origin* weighs the same: sources cut from the same texts (OneStopEnglish's articles and
  its aligned sentences) share one origin's weight, so one editor's style cannot outvote another's;
* paired sources (versions of one sentence) only say which version is harder: their features and
  levels are centred within each pair, so the fit learns what changes when a text is simplified;
* a ridge penalty; which features and how much penalty were chosen by leave-one-origin-out
  validation (`leave_one_origin_out`; `benchmarks/validate_reading_age.py` reports it): fitted
  on the other origins, scored on the held-out one, never by the fit to the sources themselves.

The standardised score is then put on a years scale: the same mean and spread as Flesch-Kincaid
grade + 5 years (grade 1 is about age 6) over the calibration sources. The result is a handful of
numbers (`features`, `center`, `scale`, `weights`, `intercept`) that `reading_age.combine` applies.

Graded corpora (`load_graded`; licences in each corpus's SOURCE.md):
    onestopenglish        `onestopenglish.jsonl` (a file, or its folder): 189 Guardian articles, each
                          rewritten at 3 levels (CC BY-SA 4.0); texts flagged in its SOURCE.md as
                          belonging to another topic are dropped.
    onestopenglish_pairs  the same corpus's `Sentence-Aligned/{ADV-ELE,ADV-INT,ELE-INT}.txt`: about
                          6,000 sentence pairs, one sentence in two versions of different level.
    cefr                  the CEFR-SP Wiki-Auto folder (CC BY-SA 3.0):
                          `CEFR-SP_Wikiauto_{train,dev,test}.txt`, `sentence<TAB>level A<TAB>level B`;
                          the level is the two annotators' mean.
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
from curriscale.scorers.reading_age import combine, readability_counts, readability_features

# Chosen by leave-one-origin-out validation (benchmarks/validate_reading_age.py --select).
DEFAULT_FEATURES = (
    "log_words_per_sentence",
    "syllables_per_word",
    "share_below_zipf_3.5",
    "share_below_zipf_4.5",
)
DEFAULT_ALPHA = 0.3
YEARS_OFFSET = 5.0  # US grade g is read at about age g + 5
CORPORA = ("onestopenglish", "onestopenglish_pairs", "cefr")
OSE_LEVELS = {"ELE": 0.0, "INT": 1.0, "ADV": 2.0}


@dataclass
class GradedCorpus:
    """Texts with human difficulty levels.

    `groups` ties versions of one text (a topic, a sentence pair); `split` is the data split;
    `origin` names the texts the corpus was cut from; `paired` says its levels compare only within
    a group.
    """

    name: str
    texts: list[str]
    levels: np.ndarray
    groups: np.ndarray
    split: np.ndarray
    origin: str
    paired: bool = False

    def subset(self, mask: np.ndarray) -> GradedCorpus:
        texts = [t for t, keep in zip(self.texts, mask, strict=True) if keep]
        return GradedCorpus(
            self.name, texts, self.levels[mask], self.groups[mask], self.split[mask], self.origin, self.paired
        )


def _read_lines(file: Path, corpus: str) -> list[str]:
    if not file.is_file():
        raise CurriscaleError(f"{corpus}: no file {file}")
    # Split on newlines only: str.splitlines also splits on control characters that stand for
    # mangled quotes inside OneStopEnglish's aligned sentences.
    return file.read_text(encoding="utf-8").rstrip("\n").split("\n")


def _load_onestopenglish(path: Path) -> GradedCorpus:
    file = path / "onestopenglish.jsonl" if path.is_dir() else path
    rows = []
    for number, line in enumerate(_read_lines(file, "onestopenglish"), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise CurriscaleError(f"{file}:{number}: malformed JSON: {error}") from error
    # A flagged topic's elementary text belongs to another topic (see the corpus's SOURCE.md).
    flagged = {r["id"].rsplit("-", 1)[0] for r in rows if r.get("quality_flag")}
    rows = [r for r in rows if r["id"].rsplit("-", 1)[0] not in flagged]
    return GradedCorpus(
        "onestopenglish",
        [r["text"] for r in rows],
        np.array([r["level_num"] for r in rows], dtype=np.float64),
        np.array([r["id"].rsplit("-", 1)[0] for r in rows]),
        np.full(len(rows), "all"),
        origin="onestopenglish",
    )


def _load_onestopenglish_pairs(path: Path) -> GradedCorpus:
    """Blocks of two lines (the levels the file name gives, in its order) ending in `*******`."""
    folder = path / "Sentence-Aligned" if (path / "Sentence-Aligned").is_dir() else path
    texts, levels, groups = [], [], []
    for name in ("ADV-ELE", "ADV-INT", "ELE-INT"):
        file = folder / f"{name}.txt"
        block: list[str] = []
        for number, line in enumerate(_read_lines(file, "onestopenglish_pairs"), 1):
            if not line.startswith("*******"):
                block.append(line.strip())
                continue
            if len(block) != 2:
                raise CurriscaleError(
                    f"{file}:{number}: expected 2 sentences before *******, got {len(block)}"
                )
            texts.extend(block)
            levels.extend(OSE_LEVELS[level] for level in name.split("-"))
            groups.extend([f"{name}:{number}"] * 2)
            block = []
    return GradedCorpus(
        "onestopenglish_pairs",
        texts,
        np.array(levels),
        np.array(groups),
        np.full(len(texts), "all"),
        origin="onestopenglish",
        paired=True,
    )


def _load_cefr(path: Path) -> GradedCorpus:
    texts, levels, split = [], [], []
    for name in ("train", "dev", "test"):
        file = path / f"CEFR-SP_Wikiauto_{name}.txt"
        for number, line in enumerate(_read_lines(file, "cefr"), 1):
            parts = line.split("\t")
            if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
                raise CurriscaleError(f"{file}:{number}: expected sentence<TAB>level<TAB>level")
            texts.append(parts[0])
            levels.append((int(parts[1]) + int(parts[2])) / 2)
            split.append(name)
    ids = np.array([str(i) for i in range(len(texts))])
    return GradedCorpus("cefr", texts, np.array(levels), ids, np.array(split), origin="cefr")


_LOADERS = {
    "onestopenglish": _load_onestopenglish,
    "onestopenglish_pairs": _load_onestopenglish_pairs,
    "cefr": _load_cefr,
}


def load_graded(corpus: str, data: str | Path) -> GradedCorpus:
    """Read a graded corpus (one of `CORPORA`, see the module docstring).

    Raises:
        CurriscaleError: unknown corpus name, missing file or malformed line.
    """
    if corpus not in _LOADERS:
        raise CurriscaleError(f"unknown graded corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
    return _LOADERS[corpus](Path(data))


Source = tuple[GradedCorpus, dict[str, np.ndarray]]  # a corpus and its features (`corpus_features`)


def corpus_features(corpus: GradedCorpus) -> dict[str, np.ndarray]:
    """Every reading-age feature of every text of `corpus` (see `readability_features`)."""
    return readability_features(readability_counts(corpus.texts))


def _rank_z(values: np.ndarray) -> np.ndarray:
    ranks = rankdata(values)
    return (ranks - ranks.mean()) / ranks.std()


def _centre_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """`values` (rows) minus the mean of their group."""
    _, index = np.unique(groups, return_inverse=True)
    sizes = np.bincount(index)
    means = np.column_stack(
        [np.bincount(index, column) / sizes for column in values.reshape(len(values), -1).T]
    )
    return values - means[index].reshape(values.shape)


def _source_weights(sources: list[Source]) -> np.ndarray:
    """Weight of each source: origins weigh the same, and so do the sources within an origin."""
    origins = [corpus.origin for corpus, _ in sources]
    return np.array([1 / (len(set(origins)) * origins.count(origin)) for origin in origins])


def fit_calibration(
    sources: list[Source], features: tuple[str, ...] = DEFAULT_FEATURES, alpha: float = DEFAULT_ALPHA
) -> dict[str, Any]:
    """Fit reading-age coefficients on graded sources, each standardised on its own.

    Args:
        sources: (graded corpus, its features from `corpus_features`) pairs.
        features: feature names to combine.
        alpha: ridge penalty on the standardised weights.

    Returns:
        The coefficients dict `reading_age.combine` applies (without provenance fields).
    """
    raws, xs, ys, ws, centers, scales, fks = [], [], [], [], [], [], []
    for (corpus, values), share in zip(sources, _source_weights(sources), strict=True):
        unknown = sorted(set(features) - set(values))
        if unknown:
            raise CurriscaleError(
                f"calibrate: unknown features {unknown}; available: {', '.join(sorted(values))}"
            )
        matrix = np.column_stack([values[name] for name in features])
        keep = np.isfinite(matrix).all(axis=1) & np.isfinite(values["fk_grade"])
        matrix, levels, groups = matrix[keep], corpus.levels[keep], corpus.groups[keep]
        center, scale = matrix.mean(axis=0), matrix.std(axis=0)
        x, y = (matrix - center) / scale, _rank_z(levels)
        if corpus.paired:  # only the difference between versions of one sentence says anything
            x, y = _centre_within(x, groups), _centre_within(levels, groups)
            y = y / y.std()
        raws.append(matrix)
        xs.append(x)
        ys.append(y)
        ws.append(np.full(len(y), share / len(y)))  # every text of a source weighs the same
        centers.append(center)
        scales.append(scale)
        fks.append(values["fk_grade"][keep])
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    beta = np.linalg.solve(x.T @ (w[:, None] * x) + alpha * np.eye(len(features)), x.T @ (w * y))
    # At scoring time there is no source: standardise with the sources' average center and scale.
    center, scale = np.mean(centers, axis=0), np.sqrt(np.mean(np.square(scales), axis=0))
    score = ((np.vstack(raws) - center) / scale) @ beta
    fk_all = np.concatenate(fks)
    # Years: the weighted mean and spread of Flesch-Kincaid grade + 5 over the sources.
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


def leave_one_origin_out(sources: list[Source], **options: Any) -> dict[str, np.ndarray]:
    """Each source scored by a calibration fitted without its origin (`fit_calibration` options).

    Holding out an origin, not a source, keeps sentences cut from an article out of the fit that
    scores the article. With one origin only there is nothing to fit on: every score is NaN.
    """
    scores = {}
    for corpus, values in sources:
        others = [(c, v) for c, v in sources if c.origin != corpus.origin]
        held = combine(values, fit_calibration(others, **options)) if others else np.nan
        scores[corpus.name] = np.broadcast_to(held, corpus.levels.shape).astype(np.float64)
    return scores


def load_sources(corpora: list[tuple[str, str | Path]]) -> list[Source]:
    """Read graded corpora and compute their features: (corpus name, data path) pairs in, sources out."""
    if not corpora:
        raise CurriscaleError("calibrate: give at least one --corpus NAME --data PATH pair")
    return [(corpus, corpus_features(corpus)) for corpus in (load_graded(n, d) for n, d in corpora)]


def calibrate(corpora: list[tuple[str, str | Path]], out: str | Path | None = None, **options: Any) -> dict:
    """Fit reading-age coefficients on every text of the graded corpora and write them as JSON.

    Args:
        corpora: (corpus name, data path) pairs, e.g. `[("onestopenglish", "corpora/onestopenglish")]`.
        out: JSON file to write atomically (skipped when None).
        **options: `features`, `alpha` for `fit_calibration`.

    Returns:
        The coefficients, with `fitted_on` naming the corpora and their sizes.
    """
    sources = load_sources(corpora)
    fitted_on = ", ".join(f"{corpus.name} ({len(corpus.texts)} texts)" for corpus, _ in sources)
    coeffs = fit_calibration(sources, **options) | {"fitted_on": fitted_on}
    if out is not None:
        atomic_write_json(out, coeffs)
    return coeffs
