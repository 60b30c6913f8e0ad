"""Cheap text statistics: length, sentence length, compressibility, lexical diversity, word rarity.

Recent curriculum work found compression ratio, MTLD and Flesch reading ease the most useful cheap
difficulty signals, so they are computed here for every document at tokeniser speed: each text is
tokenised once with regular expressions, and word frequencies come from a dictionary built once per
process from wordfreq's packaged English list (no per-word library calls).

Words and sentences follow textstat's rules, so `n_words` and `n_sentences` are the counts the
classic readability formulas in `reading_age` use: punctuation is removed (apostrophes of
contractions kept) and the text split on whitespace; a sentence is a run of text ending in `.`, `!`
or `?`, and runs of two words or fewer (list markers, initials, "e.g.") do not count as sentences.

Output columns:
    n_chars            characters, whitespace included
    n_words            words
    n_sentences        sentences (at least 1 when the text has a word)
    words_per_sentence n_words / n_sentences
    compression_ratio  zlib-compressed size / UTF-8 size (lower = more repetitive; short texts > 1)
    mtld               lexical diversity (MTLD, McCarthy & Jarvis 2010, threshold 0.72, both directions)
    word_rarity        mean -ln(unigram frequency) of the words, English wordfreq list; unknown words
                       count as the list's rarest frequency. Tokens with digits are skipped.

Bad input: the scorer never raises on a string. `words_per_sentence`, `mtld` and `word_rarity` are
NaN exactly when the text has no word to measure (empty, whitespace or punctuation only; for
`word_rarity` also numbers only); `reject_reason(text)` then says why, for the pipeline's
`"text_stats: <why>"` rejection. Non-English text is scored (length, compression and MTLD are
language-neutral) but its `word_rarity` is measured against English frequencies, so it looks rare.
Lone surrogates (invalid UTF-8 smuggled into a str) are counted, not encoded, so they cannot crash.
"""

from __future__ import annotations

import functools
import math
import re
import zlib

import numpy as np
import pyarrow as pa

from curriscale.scorers.base import Scorer

# textstat's punctuation rules: apostrophes survive only inside contractions (don't, it's, we'll).
_NONCONTRACTION_APOSTROPHE = re.compile(r"'(?!(?:[tsd]|ve|ll|re))")
_PUNCTUATION = re.compile(r"[^\w\s']")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")
_DIGIT = re.compile(r"\d")
_CURLY_APOSTROPHE = str.maketrans({"\u2019": "'", "\u2018": "'"})
MTLD_THRESHOLD = 0.72
RARITY_FLOOR = 1e-8  # about the rarest frequency in wordfreq's English list


def words_of(text: str) -> list[str]:
    """The words of `text` as textstat counts them (case kept, punctuation removed)."""
    text = _NONCONTRACTION_APOSTROPHE.sub("", text.translate(_CURLY_APOSTROPHE))
    return _PUNCTUATION.sub("", text).split()


def count_sentences(text: str) -> int:
    """Sentences by textstat's rule: runs ending in .!? with more than two words (at least 1)."""
    runs = _SENTENCE.findall(text)
    short = sum(1 for run in runs if len(_PUNCTUATION.sub("", run).split()) <= 2)
    return max(1, len(runs) - short) if text else 0


def mtld(words: list[str], threshold: float = MTLD_THRESHOLD) -> float:
    """Measure of textual lexical diversity of lower-cased `words`: mean length of word runs whose
    type-token ratio stays above `threshold`, averaged over a forward and a backward pass.
    NaN for no words.

    A text whose ratio never falls to the threshold (every word distinct, typical of one short
    sentence) would divide by zero; it gets the value it would have with one repeated word.
    """
    if not words:
        return math.nan
    return (_mtld_pass(words, threshold) + _mtld_pass(words[::-1], threshold)) / 2


def _mtld_pass(words: list[str], threshold: float) -> float:
    factors, types, tokens = 0.0, set(), 0
    for token in words:
        tokens += 1
        types.add(token)
        if len(types) / tokens <= threshold:
            factors, types, tokens = factors + 1, set(), 0
    if tokens:
        factors += (1 - len(types) / tokens) / (1 - threshold)
    floor = 1 / (len(words) * (1 - threshold))  # the partial factor of one repeat in the whole text
    return len(words) / max(factors, floor)


@functools.cache
def _rarity_table() -> dict[str, float]:
    """-ln(frequency) for every word of wordfreq's English list, built once per process."""
    from wordfreq import get_frequency_dict

    return {word: -math.log(freq) for word, freq in get_frequency_dict("en").items()}


def word_rarity(words: list[str]) -> float:
    """Mean -ln(unigram frequency) over lower-cased `words` without digits; NaN when there are none."""
    table, floor = _rarity_table(), -math.log(RARITY_FLOOR)
    # Only words missing from the table need the digit check (wordfreq lists no raw numbers).
    values = [table.get(w, floor) for w in words if w in table or not _DIGIT.search(w)]
    return math.fsum(values) / len(values) if values else math.nan


def compression_ratio(text: str) -> float:
    """zlib-compressed size over raw UTF-8 size; NaN for an empty text."""
    raw = text.encode("utf-8", "surrogatepass")
    return len(zlib.compress(raw, 6)) / len(raw) if raw else math.nan


class TextStats(Scorer):
    """Lengths, words per sentence, compression ratio, MTLD and word rarity (see module docstring)."""

    name = "text_stats"
    version = "1"

    def __init__(self) -> None:
        super().__init__()  # no parameters: `text_stats:anything=1` is an error, not silently ignored

    def columns(self) -> dict[str, pa.DataType]:
        ints = {c: pa.int64() for c in ("n_chars", "n_words", "n_sentences")}
        floats = ("words_per_sentence", "compression_ratio", "mtld", "word_rarity")
        return ints | {c: pa.float64() for c in floats}

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        tokenised = [words_of(t) for t in texts]
        lowered = [[w.lower() for w in words] for words in tokenised]
        n_words = np.array([len(w) for w in tokenised], dtype=np.int64)
        n_sentences = np.array(
            [count_sentences(t) if len(w) else 0 for t, w in zip(texts, tokenised, strict=True)]
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            per_sentence = np.where(n_words > 0, n_words / np.maximum(n_sentences, 1), np.nan)
        return {
            "n_chars": np.array([len(t) for t in texts], dtype=np.int64),
            "n_words": n_words,
            "n_sentences": n_sentences.astype(np.int64),
            "words_per_sentence": per_sentence,
            "compression_ratio": np.array([compression_ratio(t) for t in texts], dtype=np.float64),
            "mtld": np.array([mtld(w) for w in lowered], dtype=np.float64),
            "word_rarity": np.array([word_rarity(w) for w in lowered], dtype=np.float64),
        }

    def reject_reason(self, text: str) -> str | None:
        """Why this scorer gives `text` a NaN (`no words`, `no words without digits`), or None."""
        words = [w.lower() for w in words_of(text)]
        if not words:
            return "no words"
        if math.isnan(word_rarity(words)):
            return "no words without digits"
        return None
