"""model_difficulty throughput against a one-document-at-a-time transformers loop, same model.

Both sides score the same real paragraphs (from ../shared/corpora via bench_scorers.paragraphs)
with the same model, truncation window and dtype: the baseline calls `model(ids, labels=ids)` per
document; the scorer tokenises once, sorts by length and packs padded batches. Their mean NLLs
must agree (checked and printed), so the ratio compares like with like.

Usage: python benchmarks/bench_model_difficulty.py [--model smollm2-135m|PATH] [--docs 200]
Prints one JSON line: {"bench": "model_difficulty", "tokens_per_s": ..., "baseline_tokens_per_s": ...,
"ratio_vs_baseline": ..., "max_abs_nll_diff": ...}. Without the [smollm] extra, pass --model PATH
to a local HF model folder (for example a run exported by `curriscale train --export-hf`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_scorers import paragraphs  # noqa: E402

from curriscale.scorers.model_difficulty import ModelDifficulty  # noqa: E402

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def baseline(model, tokenizer, texts: list[str], max_tokens: int) -> tuple[np.ndarray, int]:
    """Mean NLL per document, one forward pass per document, no padding."""
    nlls, tokens = [], 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[:, :max_tokens]
        tokens += ids.shape[1]
        with torch.no_grad():
            nlls.append(model(input_ids=ids, labels=ids).loss.item() if ids.shape[1] > 1 else np.nan)
    return np.array(nlls), tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    texts = paragraphs(CORPORA, args.docs)
    scorer = ModelDifficulty(model=args.model, max_tokens=args.max_tokens)
    scorer.score(["warm up: load the model before timing"])
    model, tokenizer = scorer._models[args.model]

    start = time.perf_counter()
    reference, tokens = baseline(model, tokenizer, texts, args.max_tokens)
    baseline_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = scorer.score(texts)["model_nll"]
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "bench": "model_difficulty",
                "model": args.model,
                "docs": len(texts),
                "tokens": tokens,
                "tokens_per_s": round(tokens / seconds, 1),
                "baseline_tokens_per_s": round(tokens / baseline_seconds, 1),
                "ratio_vs_baseline": round(baseline_seconds / seconds, 2),
                # ~2 FLOPs per parameter per token: how close the one-at-a-time loop already is to
                # this CPU's matmul peak, i.e. how much batching can still win.
                "baseline_gflop_per_s": round(
                    2 * model.num_parameters() * tokens / baseline_seconds / 1e9, 1
                ),
                "max_abs_nll_diff": float(np.nanmax(np.abs(ours - reference))),
            }
        )
    )


if __name__ == "__main__":
    main()
