"""Reader throughput: documents/s, and packed tokens/s per data-parallel rank, vs plain baselines.

Builds a curriculum (reading-age ladder preset) in a temporary folder from WikiText-2 paragraphs
(../shared/corpora, when present) or from generated rows, then times, in one process:

    baseline scan  sequential pyarrow scan of every tier file, row group by row group, to Python
                   (id, text): the cost of touching each document once with no sampling
    documents      CurriculumSampler.documents(): schedule-weighted, block-shuffled draws
    encode         the tokenizer alone on every document text (bytes: UTF-8 per text; BPE: one
                   `encode_batch`): what feeding each token once costs, with no sampling or packing
    packed         CurriculumDataset's stream (PackedStream over CurriculumSampler, seq_len 512),
                   shard 0 of R for R = 1, 2, 8 ranks: every rank replays the global stream and
                   keeps every R-th sequence, so each run covers the same global tokens (`--tokens`
                   for BPE, ten times that for the much faster bytes and cached BPE) and its figure
                   is the KEPT tokens per second of one rank's process

Tokenizers: "bytes", and a byte-level BPE (vocab `--vocab`) trained on the documents, encoding on
the fly ("bpe") or reading a token cache filled by one earlier pass ("bpe_cached"; see
`curriscale.curricula.token_cache`).

Usage: python benchmarks/bench_reader.py [--tokens 4000000] [--draws 200000] [--rows 20000]
Ends with one JSON line: {"bench": "reader", "docs_per_s": ..., "ratio_vs_baseline": ...,
"kept_tokens_per_s": {"bytes": {"1": ..., "2": ..., "8": ...}, "bpe": {...}}, ...}. Rates are given
per wall second (what a trainer sees; BPE uses both cores) and per CPU second (the steadier figure
on a shared machine); ratios compare CPU rates: ratio_vs_baseline is documents vs the scan,
ratio_vs_encode is the R = 1 stream vs its tokenizer alone.
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

WIKITEXT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "wikitext2"
SEQ_LEN = 512
WORLD_SIZES = (1, 2, 8)
STREAMS = ("bytes", "bpe", "bpe_cached")


def generated_texts(n: int, seed: int = 0) -> list[str]:
    """`n` documents of 10-70 words from a 5,000-word vocabulary."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    lengths = rng.integers(10, 70, n)
    words = vocabulary[rng.zipf(1.3, lengths.sum()) % len(vocabulary)]
    return [" ".join(chunk) + "." for chunk in np.split(words, np.cumsum(lengths)[:-1])]


def corpus_texts(rows: int) -> tuple[str, list[str]]:
    """WikiText-2 valid + test paragraphs (non-empty lines) when the shared corpora exist, else generated."""
    if (WIKITEXT / "valid.txt").is_file():
        lines = [
            line.strip()
            for name in ("valid.txt", "test.txt")
            for line in (WIKITEXT / name).read_text(encoding="utf-8").splitlines()
        ]
        return "wikitext2", [line for line in lines if line]
    return "generated", generated_texts(rows)


def scored_table(texts: list[str], seed: int = 0) -> pa.Table:
    """The texts with ids and a random reading age, as the scoring step would write them."""
    rng = np.random.default_rng(seed)
    ids = [f"d{i:07d}" for i in range(len(texts))]
    return pa.table({"id": ids, "text": texts, "reading_age": rng.uniform(5, 18, len(texts))})


def train_bpe(texts: list[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE with an <|endoftext|> token, as curriscale's trainer builds them."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    return bpe


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
    parser.add_argument("--rows", type=int, default=20_000, help="generated documents (without the corpora)")
    parser.add_argument("--draws", type=int, default=200_000)
    parser.add_argument("--tokens", type=int, default=4_000_000, help="global BPE tokens per timed run")
    parser.add_argument("--vocab", type=int, default=8_000, help="BPE vocabulary size")
    args = parser.parse_args()

    corpus, texts = corpus_texts(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pq.write_table(scored_table(texts), folder / "scored.parquet")
        manifest = build_curriculum(
            folder / "scored.parquet", load_recipe("reading-age-ladder"), folder / "cur"
        )
        files = [path for i in range(len(manifest.tiers)) for path in manifest.tier_files(i)]
        tokenizers = {"bytes": "bytes", "bpe": train_bpe(texts, args.vocab)}

        def scan() -> int:
            rows = 0
            for path in files:
                parquet = pq.ParquetFile(path)
                for g in range(parquet.num_row_groups):
                    rows += len(parquet.read_row_group(g, columns=["id", "text"]).to_pylist())
            return rows

        def documents() -> int:
            return sum(1 for _ in islice(CurriculumSampler(manifest, seed=0).documents(), args.draws))

        def encode(tokenizer) -> int:
            return sum(len(ids) for ids in make_encoder(tokenizer).encode_batch(texts))

        def packed(name: str, world_size: int, tokens: int) -> int:
            cache = folder / "tokens" if name == "bpe_cached" else None
            encoder = make_encoder(tokenizers["bpe" if cache else name])
            sampler = CurriculumSampler(manifest, seed=0, encoder=encoder, token_cache=cache)
            sequences = PackedStream(sampler, SEQ_LEN).iter_shard(0, world_size)
            return sum(len(s) for s in islice(sequences, tokens // (SEQ_LEN + 1) // world_size))

        baseline = timed("baseline scan docs", scan)
        docs = timed("sampler docs", documents)
        encoded = {
            name: timed(f"{name} encode alone, tokens", lambda t=t: encode(t))
            for name, t in tokenizers.items()
        }
        cold = timed(
            "bpe_cached packed, filling the cache, tokens", lambda: packed("bpe_cached", 1, args.tokens)
        )
        kept = {}
        for name in STREAMS:
            tokens = args.tokens * (1 if name == "bpe" else 10)
            for world_size in WORLD_SIZES:
                label = f"{name} packed, rank 0 of {world_size}, kept tokens"
                kept[name, world_size] = timed(label, lambda n=name, r=world_size, t=tokens: packed(n, r, t))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def per_rank(which: int) -> dict[str, dict[str, int]]:
        return {name: {str(r): round(kept[name, r][which]) for r in WORLD_SIZES} for name in STREAMS}

    print(
        json.dumps(
            {
                "bench": "reader",
                "corpus": corpus,
                "documents": len(texts),
                "docs_per_s": round(docs[0]),
                "docs_per_cpu_s": round(docs[1]),
                "baseline_scan_docs_per_cpu_s": round(baseline[1]),
                "ratio_vs_baseline": round(docs[1] / baseline[1], 3),
                "packed_bytes_tokens_per_s": round(kept["bytes", 1][0]),
                "packed_bytes_tokens_per_cpu_s": round(kept["bytes", 1][1]),
                "packed_bpe_tokens_per_s": round(kept["bpe", 1][0]),
                "packed_bpe_tokens_per_cpu_s": round(kept["bpe", 1][1]),
                "kept_tokens_per_s": per_rank(0),
                "kept_tokens_per_cpu_s": per_rank(1),
                "bpe_filling_cache_tokens_per_s": round(cold[0]),
                "encode_tokens_per_cpu_s": {name: round(encoded[name][1]) for name in tokenizers},
                "ratio_vs_encode": {
                    name: round(kept[name, 1][1] / encoded[name.split("_")[0]][1], 3) for name in STREAMS
                },
                "peak_rss_mb": round(peak_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
