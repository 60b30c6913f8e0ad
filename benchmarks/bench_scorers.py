"""Scorer throughput on 10k real paragraphs, and reading_age against textstat called per document.

Paragraphs come from ../shared/corpora: WikiText-2 (valid + test), OneStopEnglish, GSM8K questions
and tinyshakespeare speeches, de-duplicated (textstat caches per text, so every text is distinct).

Baseline: textstat 0.7 called once per document for the metrics reading_age outputs (the six
formulas, syllables per word, difficult words), with the same offline CMU dictionary. reading_age
computes those plus its word-frequency features, starting with an empty word table. parse_depth needs the
`spacy` extra (the dev extra includes it) and is the slow one: about 100 docs/s.

Usage: python benchmarks/bench_scorers.py [--docs 10000] [--corpora ../shared/corpora]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from curriscale.scorers.reading_age import VOCABULARY, textstat_offline
from curriscale.scorers.registry import get_scorer

BATCH = 256


def paragraphs(corpora: Path, limit: int) -> list[str]:
    """Distinct real paragraphs, WikiText first, interleaved with the other sources."""
    wiki = [
        line.strip()
        for name in ("valid.txt", "test.txt")
        for line in (corpora / "wikitext2" / name).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("=")
    ]
    ose = [
        paragraph.strip()
        for line in (corpora / "onestopenglish" / "onestopenglish.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
        for paragraph in json.loads(line)["text"].split("\n")
        if len(paragraph.split()) >= 5
    ]
    gsm = [
        json.loads(line)["question"]
        for name in ("train.jsonl", "test.jsonl")
        for line in (corpora / "gsm8k" / name).read_text(encoding="utf-8").splitlines()
    ]
    speeches = (corpora / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8").split("\n\n")
    unique = dict.fromkeys(text for source in (wiki, ose, gsm, speeches) for text in source if text.strip())
    texts = list(unique)[:limit]
    if len(texts) < limit:
        raise SystemExit(f"only {len(texts)} distinct paragraphs in {corpora}")
    return texts


def docs_per_second(spec: str, texts: list[str]) -> float:
    scorer = get_scorer(spec)
    scorer.score(["Warm-up text so models and word lists load before timing."])
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        scorer.score(texts[i : i + BATCH])
    return len(texts) / (time.perf_counter() - start)


def textstat_metrics() -> tuple:
    """textstat's functions for the metrics reading_age outputs, with the dictionaries loaded."""
    textstat = textstat_offline()
    textstat.flesch_kincaid_grade("Warm-up text so the dictionaries load before timing.")
    return (
        textstat.flesch_kincaid_grade,
        textstat.flesch_reading_ease,
        textstat.dale_chall_readability_score,
        textstat.smog_index,
        textstat.coleman_liau_index,
        textstat.automated_readability_index,
        textstat.avg_syllables_per_word,
        textstat.difficult_words,
    )


def reading_age_vs_textstat(texts: list[str], chunks: int = 8) -> tuple[float, float]:
    """(reading_age docs/s, textstat per-document docs/s), timed chunk by chunk in turn so both
    see the same machine load; reading_age starts with an empty word table."""
    scorer, metrics = get_scorer("reading_age"), textstat_metrics()
    scorer.score(["Warm-up text so the word lists load before timing."])
    VOCABULARY.clear()
    ours = theirs = 0.0
    for chunk in np.array_split(np.arange(len(texts)), chunks):
        part = [texts[i] for i in chunk]
        start = time.perf_counter()
        for i in range(0, len(part), BATCH):
            scorer.score(part[i : i + BATCH])
        middle = time.perf_counter()
        for text in part:
            for metric in metrics:
                metric(text)
        ours, theirs = ours + middle - start, theirs + time.perf_counter() - middle
    return len(texts) / ours, len(texts) / theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument(
        "--corpora", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
    )
    args = parser.parse_args()
    texts = paragraphs(args.corpora, args.docs)

    # The comparison runs first, in a clean process: run after the model scorers (spaCy, fastText
    # loaded) it measured 2.8x instead of 4.2x on 3,000 documents (likely the garbage collector
    # walking the models' objects on every collection of reading_age's many small allocations).
    reading_age, baseline = reading_age_vs_textstat(texts)
    rates = {spec: docs_per_second(spec, texts) for spec in ("text_stats", "task_type", "parse_depth")}
    rates["reading_age"] = reading_age
    result = {
        "bench": "scorers",
        "docs": len(texts),
        "words": sum(len(t.split()) for t in texts),
        "docs_per_s": {name: round(rate, 1) for name, rate in rates.items()},
        "textstat_per_doc_docs_per_s": round(baseline, 1),
        "reading_age_vs_textstat_ratio": round(rates["reading_age"] / baseline, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
