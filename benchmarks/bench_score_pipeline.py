"""Throughput of `curriscale score` on 10k real paragraphs, against calling the scorer directly.

The baseline is the scorer's own batched `score()` over the same texts in the same batches: the
ratio (pipeline docs/s / direct docs/s) is what reading, hashing, checking, datatrove, Parquet
writing and each task's own lazy scorer loading cost on top (the direct run is warmed up first). Paragraphs are WikiText-2 valid+test lines from ../shared/corpora (skipped if absent).

    python benchmarks/bench_score_pipeline.py [--docs 10000] [--scorer text_stats] [--tasks 2 --workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"


def paragraphs(limit: int) -> list[str]:
    """Distinct WikiText-2 paragraphs (no headings), repeated with a suffix if there are too few."""
    lines = []
    for name in ("valid.txt", "test.txt"):
        for line in (CORPORA / "wikitext2" / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) > 80 and not line.startswith("="):
                lines.append(line)
    # distinct texts: textstat caches per text, so repeats would flatter the scorers
    return [
        lines[i % len(lines)] + (f" ({i // len(lines)})" if i >= len(lines) else "") for i in range(limit)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--scorer", default="text_stats")
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    if not (CORPORA / "wikitext2").is_dir():
        print(json.dumps({"bench": "score_pipeline", "skipped": f"{CORPORA / 'wikitext2'} not found"}))
        return
    from loguru import logger

    from curriscale.builders.score import score_corpus
    from curriscale.builders.score_shard import batched
    from curriscale.scorers.registry import get_scorer

    logger.disable("datatrove")
    texts = paragraphs(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "paragraphs.jsonl"
        data.write_text("".join(json.dumps({"id": f"p{i}", "text": t}) + "\n" for i, t in enumerate(texts)))

        scorer = get_scorer(args.scorer)
        scorer.score(texts[:8])  # load whatever the scorer loads lazily, outside the timing
        start = time.perf_counter()
        for batch in batched(texts, args.batch_size):
            scorer.score(batch)
        direct = time.perf_counter() - start

        start = time.perf_counter()
        stats = score_corpus(
            [data],
            Path(tmp) / "out",
            [args.scorer],
            tasks=args.tasks,
            workers=args.workers,
            batch_size=args.batch_size,
        )
        pipeline = time.perf_counter() - start
    assert stats.documents_in == len(texts) == stats.scored + stats.rejected
    print(
        json.dumps(
            {
                "bench": "score_pipeline",
                "scorer": args.scorer,
                "docs": len(texts),
                "tasks": args.tasks,
                "workers": args.workers,
                "pipeline_docs_per_s": round(len(texts) / pipeline, 1),
                "direct_docs_per_s": round(len(texts) / direct, 1),
                "ratio_vs_baseline": round(direct / pipeline, 3),
                "rejected": stats.rejected,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
