"""Scorer throughput on 10k real paragraphs, and reading_age against textstat called per document.

Paragraphs come from ../shared/corpora: WikiText-2 (valid + test), OneStopEnglish, GSM8K questions
and tinyshakespeare speeches, de-duplicated (textstat caches per text, so every text is distinct).

Baseline: textstat 0.7 called once per document for the metrics reading_age outputs (the six
formulas, syllables per word, difficult words), with the same offline CMU dictionary. reading_age
computes those plus word rarity and MTLD, starting with an empty word table.

Usage: python benchmarks/bench_scorers.py [--docs 10000] [--corpora ../shared/corpora]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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


def textstat_per_document(texts: list[str]) -> float:
    textstat = textstat_offline()
    metrics = (
        textstat.flesch_kincaid_grade,
        textstat.flesch_reading_ease,
        textstat.dale_chall_readability_score,
        textstat.smog_index,
        textstat.coleman_liau_index,
        textstat.automated_readability_index,
        textstat.avg_syllables_per_word,
        textstat.difficult_words,
    )
    textstat.flesch_kincaid_grade("Warm-up text so the dictionaries load before timing.")
    start = time.perf_counter()
    for text in texts:
        for metric in metrics:
            metric(text)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument(
        "--corpora", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
    )
    args = parser.parse_args()
    texts = paragraphs(args.corpora, args.docs)

    rates = {spec: docs_per_second(spec, texts) for spec in ("text_stats", "task_type")}
    VOCABULARY.clear()  # reading_age starts with no word looked up, like textstat
    rates["reading_age"] = docs_per_second("reading_age", texts)
    baseline = textstat_per_document(texts)
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
