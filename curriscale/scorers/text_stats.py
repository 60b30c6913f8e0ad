"""Cheap text statistics: length, sentence length, compressibility, lexical diversity, word rarity.

Recent curriculum work found compression ratio, MTLD and Flesch reading ease the most useful cheap
difficulty signals, so they are computed here at tokeniser speed: each text is tokenised once with
regular expressions, and word frequencies come from wordfreq's packaged English list, looked up once
per distinct word per process (`words.Vocabulary`), not once per occurrence.

Words and sentences follow textstat's rules (see `words.py`), so `n_words` and `n_sentences` are
the counts the classic readability formulas in `reading_age` use.

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

import math
import zlib

import numpy as np
import pyarrow as pa

from curriscale.scorers.base import Scorer
from curriscale.scorers.words import Vocabulary, WordBatch, count_sentences, mtld, rarity_of, words_of

# Per process, not per scorer, so a scorer pickled into pipeline workers does not carry the table.
VOCABULARY = Vocabulary(lambda word: (rarity_of(word),))


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
        batch = WordBatch.of(texts, VOCABULARY)
        n_words = batch.lengths
        n_sentences = np.array([count_sentences(t) if n else 0 for t, n in zip(texts, n_words, strict=True)])
        with np.errstate(divide="ignore", invalid="ignore"):
            per_sentence = np.where(n_words > 0, n_words / np.maximum(n_sentences, 1), np.nan)
        return {
            "n_chars": np.array([len(t) for t in texts], dtype=np.int64),
            "n_words": n_words,
            "n_sentences": n_sentences.astype(np.int64),
            "words_per_sentence": per_sentence,
            "compression_ratio": np.array([compression_ratio(t) for t in texts], dtype=np.float64),
            "mtld": np.array([mtld(ids.tolist()) for ids in batch.doc_ids()], dtype=np.float64),
            "word_rarity": batch.doc_mean(0),
        }

    def reject_reason(self, text: str) -> str | None:
        """Why this scorer gives `text` a NaN (`no words`, `no words without digits`), or None."""
        words = words_of(text.lower())
        if not words:
            return "no words"
        if all(math.isnan(rarity_of(word)) for word in words):
            return "no words without digits"
        return None
