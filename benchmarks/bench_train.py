"""Training throughput: curriscale's GPT vs transformers' GPT2LMHeadModel of the same shape.

Both models train (forward, backward, AdamW step) on the same pre-built batches with the same
thread count; tokens/s and MFU (model FLOPs per second over a float32 matmul peak measured here in
this run) are reported for each, and their ratio. A second measurement takes the data from a real
`CurriculumDataset` (one tier of tinyshakespeare from ../shared/corpora, or generated text when
that folder is absent) to report the share of step time spent waiting for data.

Usage: python benchmarks/bench_train.py [--size s3] [--threads 2] [--steps 30]
Ends by printing one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

from curriscale.curricula.manifest import write_manifest
from curriscale.io import sha256_file
from curriscale.train.data import Batches, manifest_source
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.tokenizer import train_tokenizer

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "tinyshakespeare"


def matmul_peak(seconds: float = 2.0, n: int = 512) -> float:
    """Sustained float32 matmul FLOP/s on this CPU with the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(5):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start)


def gpt2_like(config: GPTConfig):
    """GPT2LMHeadModel with our width, depth, heads and context; its MLP width matches our parameter count."""
    from transformers import GPT2Config, GPT2LMHeadModel

    hf = GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.seq_len, n_embd=config.d_model, n_layer=config.n_layer,
        n_head=config.n_head, n_inner=3 * config.hidden_dim // 2, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    return GPT2LMHeadModel(hf)


def interleaved_step_times(runners: dict, batches: list[torch.Tensor], steps: int) -> dict[str, float]:
    """Median seconds per training step of each runner, alternating runners step by step.

    The machine is shared, so its load drifts; alternating gives every runner the same conditions.
    A runner is (model, logits function, autocast dtype or None).
    """
    optimizers = {
        name: torch.optim.AdamW(model.parameters(), lr=1e-3) for name, (model, _, _) in runners.items()
    }
    times = {name: [] for name in runners}
    for i in range(steps + 3):
        batch = batches[i % len(batches)]
        for name, (model, logits_of, dtype) in runners.items():
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                logits = logits_of(model, batch[:, :-1])
            loss = F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten())
            optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[name].step()
            if i >= 3:  # warmup steps excluded
                times[name].append(time.perf_counter() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def bench_manifest(folder: Path, texts: list[str]) -> Path:
    """A one-tier manifest over `texts` (enough for the data-loading measurement)."""
    rel = "tier=00/part-00000.parquet"
    (folder / rel).parent.mkdir(parents=True)
    table = pa.table(
        {"id": [f"d{i}" for i in range(len(texts))], "text": texts, "difficulty": [0.0] * len(texts)}
    )
    pq.write_table(table, folder / rel)
    file = {
        "path": rel,
        "rows": len(texts),
        "bytes": (folder / rel).stat().st_size,
        "sha256": sha256_file(folder / rel),
    }
    tokens = sum(len(t.split()) for t in texts)
    write_manifest(folder, {
        "format": "curriscale.manifest", "version": 1, "name": "bench", "created_by": "bench_train", "seed": 0,
        "difficulty": {"columns": {"difficulty": 1.0}, "normalise": "rank"},
        "tiers": [{"index": 0, "name": "tier=00", "bounds": [0, 0], "label": None, "documents": len(texts),
                   "tokens": tokens, "files": [file]}],
        "token_unit": "whitespace",
        "pacing": {"kind": "static", "params": {}, "unit": "tokens", "total": tokens, "sampling": "cumulative",
                   "tier_weights": "size"},
        "schedule": [{"start": 0, "end": tokens, "weights": [1.0]}], "lr_schedule": None,
        "consumption": [{"tier": 0, "expected_tokens": float(tokens), "epochs": 1.0}], "divergence_from_static": 0.0,
        "rejected": {"documents": 0, "reasons": {}, "files": []},
        "inputs": [{"path": "bench", "documents": len(texts), "sha256": "0" * 64}], "scorers": [], "recipe": {},
        "recipe_hash": "0" * 64,
    })  # fmt: skip
    return folder / "manifest.json"


def corpus_texts() -> tuple[list[str], str]:
    source = CORPUS / "input.txt"
    if source.is_file():
        paragraphs = [p.strip() for p in source.read_text().split("\n\n") if p.strip()]
        return paragraphs, "tinyshakespeare"
    return [
        f"document {i}: " + "the quick brown fox jumps over the lazy dog. " * (1 + i % 9) for i in range(5000)
    ], "generated"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="s3")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument(
        "--compile", action="store_true", help="also time torch.compile'd ours (minutes to compile)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    texts, corpus = corpus_texts()
    tokenizer = train_tokenizer(texts[:2000], vocab_size=512)
    config = GPTConfig.from_size(args.size, tokenizer.get_vocab_size(), args.seq_len)
    batches = [torch.randint(0, config.vocab_size, (args.batch_size, args.seq_len + 1)) for _ in range(8)]
    tokens_per_step = args.batch_size * args.seq_len
    peak = matmul_peak()

    ours, baseline = GPT(config), gpt2_like(config)
    runners = {
        "ours": (ours, lambda m, x: m(x), None),
        "baseline": (baseline, lambda m, x: m(input_ids=x).logits, None),
        "ours_bf16": (GPT(config), lambda m, x: m(x), torch.bfloat16),
    }
    compile_seconds = None
    if args.compile:
        compiled = torch.compile(GPT(config))
        start = time.perf_counter()
        compiled(batches[0][:, :-1]).sum().backward()
        compile_seconds = time.perf_counter() - start
        runners["ours_compiled"] = (compiled, lambda m, x: m(x), None)
    times = interleaved_step_times(runners, batches, args.steps)
    ours_time, hf_time = times["ours"], times["baseline"]
    hf_params = sum(p.numel() for p in baseline.parameters())
    hf_flops = 6 * hf_params + 12 * config.n_layer * config.d_model * config.seq_len

    with tempfile.TemporaryDirectory() as tmp:
        source = manifest_source(str(bench_manifest(Path(tmp), texts)), 0, tokenizer, args.seq_len, 10**9)
        loader = Batches(source, args.batch_size, args.seq_len)
        loader.next()  # opens files and fills the first row group, a one-off cost
        start = time.perf_counter()
        for _ in range(args.steps):
            loader.next()
        load_time = (time.perf_counter() - start) / args.steps

    ours_tps, hf_tps = tokens_per_step / ours_time, tokens_per_step / hf_time
    print(json.dumps({
        "bench": "train", "size": args.size, "n_params": config.n_params(), "threads": args.threads,
        "batch": [args.batch_size, args.seq_len], "matmul_peak_gflops": round(peak / 1e9, 2),
        "tokens_per_s": round(ours_tps), "mfu": round(ours_tps * config.flops_per_token() / peak, 4),
        "baseline": "transformers.GPT2LMHeadModel", "baseline_tokens_per_s": round(hf_tps),
        "baseline_mfu": round(hf_tps * hf_flops / peak, 4), "ratio_vs_baseline": round(ours_tps / hf_tps, 3),
        "bf16_tokens_per_s": round(tokens_per_step / times["ours_bf16"]),
        "compiled_tokens_per_s": round(tokens_per_step / times["ours_compiled"]) if args.compile else None,
        "compiled_ratio_vs_baseline": round(hf_time / times["ours_compiled"], 3) if args.compile else None,
        "compile_seconds": round(compile_seconds, 1) if args.compile else None,
        "data_corpus": corpus, "data_seconds_per_step": round(load_time, 5),
        "data_share_of_step": round(load_time / (load_time + ours_time), 4),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
