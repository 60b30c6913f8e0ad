"""Reader throughput: documents/s and packed tokens/s of the curriculum stream, vs a plain Parquet scan.

Builds a curriculum (reading-age ladder preset) from generated scored rows in a temporary folder,
then times, in one process:

    baseline       sequential pyarrow scan of every tier file, row group by row group, to Python
                   (id, text): the cost of touching each document once with no sampling
    documents      CurriculumSampler.documents(): schedule-weighted, block-shuffled draws
    packed_bytes   PackedStream with the bytes tokenizer, seq_len 512
    packed_bpe     PackedStream with a byte-level BPE (vocab 2,000) trained on a sample

Usage: python benchmarks/bench_reader.py [--rows 200000] [--draws 200000]
Ends with one JSON line: {"bench": "reader", "docs_per_s": ..., "ratio_vs_baseline": ..., ...};
rates are given per wall second and per CPU second (the steadier figure on a shared machine), and
the ratio compares CPU rates. The packed BPE rate is bounded by the tokenizer itself.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from curriscale.builders.build import build_curriculum
from curriscale.curricula.encoding import make_encoder
from curriscale.curricula.packing import PackedStream
from curriscale.curricula.recipe import load_recipe
from curriscale.curricula.sampler import CurriculumSampler


def scored_rows(n: int, seed: int = 0) -> pa.Table:
    """`n` documents of 10-70 words from a 5,000-word vocabulary, with a reading age."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    lengths = rng.integers(10, 70, n)
    words = vocabulary[rng.zipf(1.3, lengths.sum()) % len(vocabulary)]
    cuts = np.cumsum(lengths)[:-1]
    texts = [" ".join(chunk) + "." for chunk in np.split(words, cuts)]
    return pa.table(
        {"id": [f"d{i:07d}" for i in range(n)], "text": texts, "reading_age": rng.uniform(5, 18, n)}
    )


def timed(label: str, count_fn) -> tuple[float, float]:
    """(items per wall second, items per CPU second): on a shared machine the CPU rate is the steadier one."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = count_fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label}: {count:,} in {wall:.2f} s wall, {cpu:.2f} s CPU = {count / wall:,.0f}/s ({count / cpu:,.0f}/CPU s)"
    )
    return count / wall, count / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--draws", type=int, default=200_000)
    parser.add_argument("--tokens", type=int, default=5_000_000, help="packed tokens to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table = scored_rows(args.rows)
        pq.write_table(table, folder / "scored.parquet")
        manifest = build_curriculum(
            folder / "scored.parquet", load_recipe("reading-age-ladder"), folder / "cur"
        )
        files = [path for i in range(len(manifest.tiers)) for path in manifest.tier_files(i)]

        def scan() -> int:
            rows = 0
            for path in files:
                parquet = pq.ParquetFile(path)
                for g in range(parquet.num_row_groups):
                    rows += len(parquet.read_row_group(g, columns=["id", "text"]).to_pylist())
            return rows

        def documents() -> int:
            return sum(1 for _ in islice(CurriculumSampler(manifest, seed=0).documents(), args.draws))

        def packed(tokenizer) -> int:
            sampler = CurriculumSampler(manifest, seed=0, encoder=make_encoder(tokenizer))
            return sum(len(s) for s in islice(PackedStream(sampler, 512), args.tokens // 513))

        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        bpe.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=2000,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        bpe.train_from_iterator(table.column("text").to_pylist()[:20_000], trainer=trainer)

        baseline = timed("baseline scan docs", scan)
        docs = timed("sampler docs", documents)
        packed_bytes = timed("packed bytes tokens", lambda: packed("bytes"))
        packed_bpe = timed("packed bpe tokens", lambda: packed(bpe))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "bench": "reader",
                "rows": args.rows,
                "docs_per_s": round(docs[0]),
                "docs_per_cpu_s": round(docs[1]),
                "baseline_scan_docs_per_cpu_s": round(baseline[1]),
                "ratio_vs_baseline": round(docs[1] / baseline[1], 3),
                "packed_bytes_tokens_per_s": round(packed_bytes[0]),
                "packed_bytes_tokens_per_cpu_s": round(packed_bytes[1]),
                "packed_bpe_tokens_per_s": round(packed_bpe[0]),
                "packed_bpe_tokens_per_cpu_s": round(packed_bpe[1]),
                "peak_rss_mb": round(peak_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
