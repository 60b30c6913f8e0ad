"""Train a litgpt model config on a curriscale litdata export, in curriculum order.

This script does not import curriscale. Make an export with

    curriscale export curriculum/ --format litdata --out export/ --tokenizer bytes

then run

    python examples/train_litgpt.py export/ --steps 50 --model pythia-14m

It reads the export with litdata's `StreamingDataset(..., item_loader=TokensLoader(block_size),
shuffle=False)` and one loader process, so blocks arrive in file order: the curriculum. (litgpt's own
`litgpt pretrain --data LitData` shuffles its training set, which would undo the curriculum, hence a
loop of our own.) The model is `litgpt.GPT(Config.from_name(--model, ...))`, shrunk with
--layers/--width to fit a CPU and given the export's vocabulary; no weights are downloaded.
Without litgpt installed (`pip install litgpt`) a small plain-PyTorch GPT stands in for it, so
the data path can still be tried; the script says which model it trained.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import litdata.streaming.dataset as litdata_streaming
import torch
from litdata import StreamingDataLoader, StreamingDataset
from litdata.streaming.item_loader import TokensLoader
from torch import nn


class TinyGPT(nn.Module):
    """The stand-in when litgpt is missing: embeddings, causal encoder blocks, a linear head."""

    def __init__(self, vocab_size: int, seq_len: int, dim: int, layers: int, heads: int):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(vocab_size, dim), nn.Embedding(seq_len, dim)
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


def build_model(args: argparse.Namespace, vocab_size: int) -> tuple[nn.Module, str]:
    try:
        from litgpt import GPT, Config
    except ImportError:
        model = TinyGPT(vocab_size, args.seq_len, args.width, args.layers, args.heads)
        return model, "torch (litgpt is not installed: pip install litgpt)"
    config = Config.from_name(
        args.model,
        n_layer=args.layers,
        n_embd=args.width,
        n_head=args.heads,
        block_size=args.seq_len,
        vocab_size=vocab_size,
        padded_vocab_size=vocab_size,
    )
    return GPT(config), f"litgpt {args.model} ({args.layers} layers, width {args.width})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="folder written by `curriscale export --format litdata`")
    parser.add_argument("--model", default="pythia-14m", help="a litgpt config name")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--log-every", type=int, default=10)
    args = parser.parse_args()

    meta = json.loads((args.export / "export.json").read_text())
    torch.manual_seed(0)
    model, described = build_model(args, meta["vocab_size"])
    print(f"model: {described}")
    # litdata asks PyPI for a newer release of itself whenever a dataset is made; training reads
    # local files only, so that call is switched off.
    litdata_streaming._check_version_and_prompt_upgrade = lambda version: None
    # block_size = seq_len + 1: inputs and their next-token targets come from one block.
    dataset = StreamingDataset(
        str(args.export), item_loader=TokensLoader(block_size=args.seq_len + 1), shuffle=False
    )
    loader = StreamingDataLoader(dataset, batch_size=args.batch_size, num_workers=0, drop_last=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    loss = math.nan
    for step, block in enumerate(loader):
        if step == args.steps:
            break
        block = block.long()
        logits = model(block[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), block[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss = loss.item()
        if step % args.log_every == 0:
            print(f"step {step} loss {loss:.4f}")
    print(f"final loss {loss:.4f}")


if __name__ == "__main__":
    main()
