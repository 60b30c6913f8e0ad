"""Train a tiny GPT-2 with the Hugging Face Trainer on a curriscale JSONL or HF export.

This script does not import curriscale. Make an export with either of

    curriscale export curriculum/ --format jsonl --out export/
    curriscale export curriculum/ --format hf --out export/

then run

    python examples/train_hf_trainer.py export/ --steps 200 [--tokenizer tokenizer.json]

The model is built from a GPT2Config (no download). Text is tokenised as UTF-8 bytes (ids 0-255,
EOS 256) unless a tokenizers JSON file is given. The curriculum is the export's order, so the
training data is an IterableDataset of packed blocks read front to back: the Trainer gives an
iterable dataset no sampler at all (its default RandomSampler would shuffle a map-style dataset),
and with one dataloader process the blocks arrive in file order, which keeps easy-to-hard (or
whatever the schedule says) intact. `train_sampling_strategy="sequential"` is set as well, for
anyone who swaps in a map-style dataset. tests/builders/test_export_hf_trainer.py checks that the
batches the model is trained on are the manifest's documents in order. TRL's trainers subclass
this Trainer: hand them the same dataset (or a map-style one with the same argument).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast, Trainer, TrainingArguments


def ordered_texts(export: Path) -> Iterator[str]:
    """Document texts in curriculum order, from curriculum.jsonl or the `ordered` HF dataset."""
    jsonl = export / "curriculum.jsonl"
    if jsonl.exists():
        with jsonl.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)["text"]
        return
    import datasets

    yield from datasets.load_from_disk(str(export / "ordered"))["text"]


class PackedBlocks(torch.utils.data.IterableDataset):
    """Documents joined with EOS and cut into consecutive blocks of `block` token ids."""

    def __init__(self, export: Path, encode, eos_id: int, block: int):
        self.export, self.encode, self.eos_id, self.block = export, encode, eos_id, block

    def __iter__(self):
        buffer: list[int] = []
        for text in ordered_texts(self.export):
            buffer += self.encode(text) + [self.eos_id]
            while len(buffer) >= self.block:
                ids = torch.tensor(buffer[: self.block])
                buffer = buffer[self.block :]
                # GPT2LMHeadModel shifts labels itself.
                yield {"input_ids": ids, "labels": ids}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="folder written by `curriscale export --format jsonl|hf`")
    parser.add_argument("--tokenizer", type=Path, help="tokenizers JSON file (default: UTF-8 bytes)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, default=Path("hf-trainer-run"))
    return parser.parse_args(argv)


def build_trainer(args: argparse.Namespace) -> Trainer:
    """The Trainer this example runs: a tiny GPT-2 on the export's packed blocks, in order."""
    if args.tokenizer:
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(args.tokenizer))
        eos_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
        vocab_size = len(tokenizer)

        def encode(text: str) -> list[int]:
            return tokenizer(text, add_special_tokens=False)["input_ids"]
    else:
        eos_id, vocab_size = 256, 257

        def encode(text: str) -> list[int]:
            return list(text.encode("utf-8"))

    config = GPT2Config(
        vocab_size=vocab_size, n_positions=args.seq_len, n_embd=64, n_layer=2, n_head=4,
        bos_token_id=eos_id, eos_token_id=eos_id,
    )  # fmt: skip
    model = GPT2LMHeadModel(config)
    order = {"train_sampling_strategy": "sequential"}  # transformers 5; older ones have no such field
    if "train_sampling_strategy" not in TrainingArguments.__dataclass_fields__:
        order = {}
    training = TrainingArguments(
        **order,
        output_dir=str(args.out),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=max(1, args.steps // 20),
        logging_steps=max(1, args.steps // 10),
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,  # one process reads the blocks front to back
        seed=0,
    )
    data = PackedBlocks(args.export, encode, eos_id, args.seq_len)
    return Trainer(model=model, args=training, train_dataset=data)


def main() -> None:
    args = parse_args()
    result = build_trainer(args).train()
    print(f"trained {result.global_step} steps, final train loss {result.training_loss:.4f}")


if __name__ == "__main__":
    main()
