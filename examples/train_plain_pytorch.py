"""Train a tiny language model on a curriscale token export, with plain PyTorch and np.memmap.

This script does not import curriscale: an export is a flat token file plus a JSON sidecar, the same
shape nanoGPT reads. Make one with

    curriscale export curriculum/ --format tokens --out export/ --tokenizer bytes

then run

    python examples/train_plain_pytorch.py export/ --steps 200

The curriculum IS the file order, so batches are read front to back, never shuffled: windows
[i*B, (i+1)*B) of length seq_len + 1 form batch i. `export.json` says which stage each token is in.
"""

from __future__ import annotations

import argparse
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


def batches(tokens: np.ndarray, batch_size: int, seq_len: int):
    """(step, first token index, inputs, targets) in file order; the tail that fills no batch is dropped."""
    width = seq_len + 1
    per_batch = batch_size * width
    for step in range(len(tokens) // per_batch):
        start = step * per_batch
        window = torch.from_numpy(tokens[start : start + per_batch].astype(np.int64)).view(batch_size, width)
        yield step, start, window[:, :-1], window[:, 1:]


def stage_of(token: int, stages: list[dict]) -> int:
    """The schedule stage a token index falls in, from the sidecar's stage table."""
    current = stages[0]["stage"]
    for stage in stages:
        if stage["first_token"] <= token:
            current = stage["stage"]
    return current


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="folder written by `curriscale export --format tokens`")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    meta = json.loads((args.export / "export.json").read_text())
    tokens = np.memmap(args.export / meta["files"]["tokens"], dtype=meta["dtype"], mode="r")
    print(f"read {len(tokens)} tokens dtype {meta['dtype']} vocab {meta['vocab_size']} eos {meta['eos_id']}")

    torch.manual_seed(args.seed)
    model = TinyGPT(meta["vocab_size"], args.seq_len)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    loss = math.nan
    for step, first_token, inputs, targets in batches(tokens, args.batch_size, args.seq_len):
        if step == args.steps:
            break
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss = loss.item()
        if step % args.log_every == 0:
            print(f"step {step} stage {stage_of(first_token, meta['stages'])} loss {loss:.4f}")
    print(f"final loss {loss:.4f}")


if __name__ == "__main__":
    main()
