"""Train a tiny language model on a curriscale token export, with plain PyTorch and np.memmap.

This script does not import curriscale: an export is a flat token file plus a JSON sidecar, the same
shape nanoGPT reads. Make one with

    curriscale export curriculum/ --format tokens --out export/ --tokenizer bytes

then run

    python examples/train_plain_pytorch.py export/ --steps 200

The curriculum IS the file order, so batches are read front to back, never shuffled: batch i is
the B windows of seq_len + 1 tokens starting at i*B*seq_len + r*seq_len (r < B), nanoGPT's
input/target pairs laid end to end. `export.json` says which stage each token is in.

With `--eval DIR` (a folder in the same layout, e.g. a grid's `{eval_export}`) it measures the
mean next-token loss on that fixed set `--evals` times; with `--out DIR` it writes `log.csv`
(step, tokens, train_loss, val_loss at each evaluation) and `params.json` (parameter counts). That
makes it a trainer a curriscale grid can run as an external command (examples/grid_external/).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn


class TinyGPT(nn.Module):
    """Token + position embeddings, a few causal self-attention blocks, a linear head."""

    def __init__(self, vocab_size: int, seq_len: int, dim: int = 64, layers: int = 2, heads: int = 4):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Embedding(seq_len, dim)
        block = nn.TransformerEncoderLayer(
            dim, heads, 4 * dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(length, device=ids.device))
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=ids.device)
        return self.head(self.blocks(x, mask=causal, is_causal=True))

    def counts(self) -> dict:
        """All parameters, and those outside the token/position embeddings and the output head."""
        total = sum(p.numel() for p in self.parameters())
        embedding = self.tokens.weight.numel() + self.positions.weight.numel() + self.head.weight.numel()
        return {"n_params": total, "non_embedding_params": total - embedding}


def batches(tokens: np.ndarray, batch_size: int, seq_len: int):
    """(step, first token index, inputs, targets) in file order; the tail that fills no batch is dropped."""
    per_batch = batch_size * seq_len
    rows = np.arange(batch_size)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    for step in range((len(tokens) - 1) // per_batch):
        start = step * per_batch
        window = torch.from_numpy(tokens[start + rows].astype(np.int64))
        yield step, start, window[:, :-1], window[:, 1:]


def stage_of(token: int, stages: list[dict]) -> int:
    """The schedule stage a token index falls in, from the sidecar's stage table."""
    current = stages[0]["stage"]
    for stage in stages:
        if stage["first_token"] <= token:
            current = stage["stage"]
    return current


def lr_factor(step: int, steps: int, schedule: str) -> float:
    """The multiplier on --lr: 1 when constant; cosine: 2% linear warm-up, then down to a tenth."""
    if schedule == "constant":
        return 1.0
    warmup = max(1, steps // 50)
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.45 * (1 + math.cos(math.pi * min(step, steps) / steps))


def read_tokens(folder: Path) -> tuple[dict, np.ndarray]:
    meta = json.loads((folder / "export.json").read_text())
    return meta, np.memmap(folder / meta["files"]["tokens"], dtype=meta["dtype"], mode="r")


@torch.no_grad()
def evaluate(model: nn.Module, tokens: np.ndarray, windows: int, batch_size: int, seq_len: int) -> float:
    """Mean next-token loss on `windows` windows of seq_len + 1 tokens spread evenly over the eval set."""
    model.eval()
    starts = np.linspace(0, len(tokens) - seq_len - 1, windows).astype(np.int64)
    total, count = 0.0, 0
    for first in range(0, windows, batch_size):
        rows = starts[first : first + batch_size, None] + np.arange(seq_len + 1)[None, :]
        window = torch.from_numpy(tokens[rows].astype(np.int64))
        inputs, targets = window[:, :-1], window[:, 1:]
        logits = model(inputs)
        total += nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum"
        ).item()
        count += targets.numel()
    model.train()
    return total / max(count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="folder written by `curriscale export --format tokens`")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval", type=Path, help="a fixed eval set in the same token layout")
    parser.add_argument(
        "--evals", type=int, default=4, help="evaluations, evenly spaced, the last at the end"
    )
    parser.add_argument(
        "--eval-windows", type=int, default=256, help="eval windows, spread over the eval set"
    )
    parser.add_argument("--out", type=Path, help="write log.csv and params.json here")
    args = parser.parse_args()

    meta, tokens = read_tokens(args.export)
    print(f"read {len(tokens)} tokens dtype {meta['dtype']} vocab {meta['vocab_size']} eos {meta['eos_id']}")
    eval_tokens = read_tokens(args.eval)[1] if args.eval else None

    torch.manual_seed(args.seed)
    model = TinyGPT(meta["vocab_size"], args.seq_len, args.d_model, args.n_layer, args.n_head)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    steps = min(args.steps, (len(tokens) - 1) // (args.batch_size * args.seq_len))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, steps, args.lr_schedule))
    eval_at = {round(k * steps / args.evals) for k in range(1, args.evals + 1)}
    rows, losses, loss = [], [], math.nan
    for step, first_token, inputs, targets in batches(tokens, args.batch_size, args.seq_len):
        if step == steps:
            break
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss = loss.item()
        losses.append(loss)
        if step % args.log_every == 0:
            print(f"step {step} stage {stage_of(first_token, meta['stages'])} loss {loss:.4f}")
        done = step + 1  # updates so far
        if eval_tokens is not None and done in eval_at:
            val = evaluate(model, eval_tokens, args.eval_windows, args.batch_size, args.seq_len)
            rows.append({"step": done, "tokens": done * args.batch_size * args.seq_len,
                         "train_loss": float(np.mean(losses)), "val_loss": val})  # fmt: skip
            losses = []
            print(f"eval at step {done}: val_loss {val:.4f}")
    print(f"final loss {loss:.4f}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "log.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, ["step", "tokens", "train_loss", "val_loss"])
            writer.writeheader()
            writer.writerows(rows)
        (args.out / "params.json").write_text(json.dumps(model.counts()))


if __name__ == "__main__":
    main()
