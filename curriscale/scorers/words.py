"""Words, sentences and per-word properties for the cheap scorers, computed once per batch.

Words and sentences follow textstat's rules, so counts match the classic readability formulas:
punctuation is removed (apostrophes of contractions kept) and the text split on whitespace; a
sentence is a run of text ending in `.`, `!` or `?`, and runs of two words or fewer (list markers,
initials, "e.g.") do not count as sentences.

Speed: a `Vocabulary` gives every distinct lower-cased word an integer id once per process and
computes its properties (syllables, rarity, ...) once, into a numpy table. A batch is then one dict
lookup per word, and every per-document sum is one `np.bincount` over the whole batch.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

_NONCONTRACTION_APOSTROPHE = re.compile(r"'(?!(?:[tsd]|ve|ll|re))")
_PUNCTUATION = re.compile(r"[^\w\s']")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")
_DIGIT = re.compile(r"\d")
MTLD_THRESHOLD = 0.72
RARITY_FLOOR = 1e-8  # about the rarest frequency in wordfreq's English list


def words_of(text: str) -> list[str]:
    """The words of `text` as textstat counts them (case kept, punctuation removed)."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")  # curly apostrophes; faster than translate
    text = _NONCONTRACTION_APOSTROPHE.sub("", text)
    return _PUNCTUATION.sub("", text).split()


def count_sentences(text: str) -> int:
    """Sentences by textstat's rule: runs ending in .!? with more than two words (at least 1)."""
    runs = _SENTENCE.findall(text)
    short = sum(1 for run in runs if len(_PUNCTUATION.sub("", run).split(maxsplit=2)) <= 2)
    return max(1, len(runs) - short) if text else 0


def mtld(tokens: Sequence, threshold: float = MTLD_THRESHOLD) -> float:
    """Measure of textual lexical diversity (McCarthy & Jarvis 2010) of a token sequence (words or
    word ids): mean length of runs whose type-token ratio stays above `threshold`, averaged over a
    forward and a backward pass. NaN for no tokens.

    A text whose ratio never falls to the threshold (every word distinct, typical of one short
    sentence) would divide by zero; it gets the value it would have with one repeated word.
    """
    if not len(tokens):
        return math.nan
    tokens = list(tokens)
    return (_mtld_pass(tokens, threshold) + _mtld_pass(tokens[::-1], threshold)) / 2


def _mtld_pass(tokens: list, threshold: float) -> float:
    factors, types, count = 0.0, set(), 0
    for token in tokens:
        count += 1
        types.add(token)
        if len(types) <= threshold * count:
            factors, types, count = factors + 1, set(), 0
    if count:
        factors += (1 - len(types) / count) / (1 - threshold)
    floor = 1 / (len(tokens) * (1 - threshold))  # the partial factor of one repeat in the whole text
    return len(tokens) / max(factors, floor)


@functools.cache
def _frequencies() -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en")


def rarity_of(word: str) -> float:
    """-ln(unigram frequency) of a lower-cased word in wordfreq's English list; the rarest listed
    frequency for unknown words; NaN for words with digits (numbers are not vocabulary)."""
    frequency = _frequencies().get(word)
    if frequency is None:
        return math.nan if _DIGIT.search(word) else -math.log(RARITY_FLOOR)
    return -math.log(frequency)


def rarity_of_zipf(zipf: float) -> float:
    """The `rarity_of` value of a word at `zipf` on wordfreq's Zipf scale (log10 of occurrences per
    billion words): Zipf 3 is one per million words, Zipf 6 one per thousand."""
    return (9 - zipf) * math.log(10)


class Vocabulary:
    """Distinct words -> ids, with one row of numeric properties per word, computed once.

    Args:
        properties: word -> tuple of floats (the row).
        max_words: the table is emptied before a batch when it has grown beyond this.
    """

    def __init__(self, properties: Callable[[str], tuple[float, ...]], max_words: int = 2_000_000) -> None:
        self.properties = properties
        self.max_words = max_words
        self._index: dict[str, int] = {}
        self._rows: list[tuple[float, ...]] = []
        self._table = np.empty((0, 0))

    def clear(self) -> None:
        """Forget every word (benchmarks use it to start cold)."""
        self._index, self._rows, self._table = {}, [], np.empty((0, 0))

    def lookup(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids of `words`, property table indexed by id)."""
        if len(self._index) > self.max_words:
            self.clear()
        index = self._index
        new = set(words).difference(index)
        for word in new:
            index[word] = len(self._rows)
            self._rows.append(self.properties(word))
        if new or len(self._table) != len(self._rows):
            self._table = np.array(self._rows, dtype=np.float64).reshape(len(self._rows), -1)
        return np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=len(words)), self._table


@dataclass
class WordBatch:
    """The lower-cased words of a batch of texts, flattened, with ids into a `Vocabulary`."""

    words: list[str]
    ids: np.ndarray
    table: np.ndarray
    lengths: np.ndarray  # words per document
    doc: np.ndarray  # document index of each word

    @classmethod
    def of(cls, texts: list[str], vocabulary: Vocabulary) -> WordBatch:
        per_doc = [words_of(text.lower()) for text in texts]
        words = [word for doc_words in per_doc for word in doc_words]
        ids, table = vocabulary.lookup(words)
        lengths = np.array([len(w) for w in per_doc], dtype=np.int64)
        return cls(words, ids, table, lengths, np.repeat(np.arange(len(texts)), lengths))

    def doc_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-document sums of a per-word array."""
        return np.bincount(self.doc, weights=values, minlength=len(self.lengths))

    def doc_ids(self) -> list[np.ndarray]:
        """Each document's word ids."""
        return np.split(self.ids, np.cumsum(self.lengths)[:-1])

    def _finite(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """(values of a property column per word, mask of the finite ones)."""
        values = self.table[self.ids, column] if len(self.ids) else np.empty(0)
        return values, np.isfinite(values)

    def doc_mean(self, column: int) -> np.ndarray:
        """Per-document mean of a property column over words where it is finite (NaN if none)."""
        values, finite = self._finite(column)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.doc_sum(np.where(finite, values, 0.0)) / self.doc_sum(finite.astype(np.float64))

    def doc_share_above(self, column: int, threshold: float) -> np.ndarray:
        """Per-document share of words whose property exceeds `threshold`, among words where it is
        finite (NaN if none)."""
        values, finite = self._finite(column)
        above = finite & (np.where(finite, values, -np.inf) > threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.doc_sum(above.astype(np.float64)) / self.doc_sum(finite.astype(np.float64))

    def doc_quantile(self, column: int, q: float) -> np.ndarray:
        """Per-document `q`-quantile of a property column over words where it is finite (NaN if none).

        The lower of the two values around the quantile is taken (numpy's `method="lower"`), so the
        result is always a word's own value. One sort for the whole batch: by document, then value.
        """
        values, finite = self._finite(column)
        values, doc = values[finite], self.doc[finite]
        ordered = values[np.lexsort((values, doc))]
        counts = np.bincount(doc, minlength=len(self.lengths))
        starts = np.cumsum(counts) - counts
        picks = starts + np.floor(q * np.maximum(counts - 1, 0)).astype(np.int64)
        result = np.full(len(self.lengths), np.nan)
        result[counts > 0] = ordered[picks[counts > 0]]
        return result
