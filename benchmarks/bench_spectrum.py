"""Spectrum generation speed, and whether a reading-age scorer orders the six levels.

    generate   `generate_spectrum` for N training documents (N/6 per level) plus eval and ood
    write      `write_spectrum` of the same config to JSONL (generation + serialisation + files)
    baseline   the I/O floor: serialising (orjson) and writing the already generated documents
    ordering   mean `reading_age` and words per sentence per level on 300 training documents
               per level (the curriculum's reading-age ladder relies on the levels rising)

Target: 100k documents in a few seconds on one core.

Usage: python benchmarks/bench_spectrum.py [--docs 100000]
Ends with one JSON line: {"bench": "spectrum", "docs_per_s": ..., "ratio_vs_baseline": ..., ...}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from curriscale.curricula.spectrum import SpectrumConfig, generate_spectrum, write_spectrum


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="training documents in total")
    args = parser.parse_args()
    config = SpectrumConfig(docs_per_level=args.docs // 6, eval_per_level=200)

    cpu_start = time.process_time()  # CPU time too: wall time on a shared machine includes waiting
    splits, generate_s = timed(lambda: generate_spectrum(config))
    generate_cpu_s = time.process_time() - cpu_start
    n_docs = sum(len(docs) for docs in splits.values())
    with tempfile.TemporaryDirectory() as tmp:
        _, write_s = timed(lambda: write_spectrum(Path(tmp) / "spectrum", config))

        def baseline() -> None:
            for split, docs in splits.items():
                (Path(tmp) / f"{split}.jsonl").write_bytes(
                    b"".join(orjson.dumps(doc) + b"\n" for doc in docs)
                )

        _, baseline_s = timed(baseline)

    from curriscale.scorers.registry import get_scorer

    sample = generate_spectrum(SpectrumConfig(docs_per_level=300, eval_per_level=0))["train"]
    scorers = get_scorer("reading_age"), get_scorer("text_stats")
    reading_age, words_per_sentence = [], []
    for level in range(6):
        texts = [d["text"] for d in sample if d["level"] == level]
        reading_age.append(round(float(np.mean(scorers[0].score(texts)["reading_age"])), 2))
        words_per_sentence.append(round(float(np.mean(scorers[1].score(texts)["words_per_sentence"])), 2))
    print(
        f"{n_docs} documents: generate {generate_s:.2f}s ({generate_cpu_s:.2f}s CPU), write {write_s:.2f}s, I/O floor {baseline_s:.2f}s"
    )
    print(f"reading age by level {reading_age}; words per sentence {words_per_sentence}")
    figures = {
        "bench": "spectrum",
        "documents": n_docs,
        "generate_s": round(generate_s, 3),
        "generate_cpu_s": round(generate_cpu_s, 3),
        "write_s": round(write_s, 3),
        "docs_per_s": round(n_docs / write_s),
        "baseline_s": round(baseline_s, 3),
        "ratio_vs_baseline": round(write_s / baseline_s, 2),
        "reading_age_by_level": reading_age,
        "reading_age_monotone": reading_age == sorted(reading_age),
        "words_per_sentence_by_level": words_per_sentence,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
