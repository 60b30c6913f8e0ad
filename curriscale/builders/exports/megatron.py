"""megatron: Megatron-LM / NeMo indexed datasets (`.bin` + `.idx`) for the curriculum.

What Megatron does with a data prefix decides the layout. `IndexedDataset` reads documents in file
order, but `GPTDataset` (what pretrain_gpt.py and NeMo train on) shuffles documents and samples with
its seed, and has no switch to turn that off; `BlendedDataset` mixes its prefixes by fixed weights,
deterministically. So the export carries both the exact stream and the mapping stock Megatron can
follow:

- `curriculum.bin/.idx`: the whole stream in curriculum order, one sequence per document (EOS
  appended), stage boundaries in `megatron.json` as document and token ranges. Read in order with
  `IndexedDataset` (or an ordered sampler of your own): this is the curriculum exactly.
- `tiers/<tier>.bin/.idx`: each tier's documents once; `blends/stage_NN.txt`: for each pacing stage,
  the `--data-path` weights over the tiers (`--data-args-path` reads the file), and
  `megatron.json` the stage's token count. Training one Megatron phase per stage with its blend keeps
  the stage's tier mixture and the stage order; what it gives up is the curriculum's own draw order
  inside a stage (Megatron shuffles) and which documents are drawn (Megatron's epochs over each tier,
  not curriscale's). Weights are token shares, since Megatron blends samples of equal length while
  the manifest's weights are per document drawn; they are measured on the exported stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curriscale.builders.exports.indexed import IndexedWriter, megatron_dtype
from curriscale.builders.exports.sidecars import DOCUMENTS
from curriscale.builders.exports.stream import ExportStream, Progress
from curriscale.builders.exports.tiers import tier_documents
from curriscale.builders.exports.tokens import write_stream
from curriscale.io import atomic_write_json, atomic_write_text, remove_tree


def blend_of(row: dict, tiers: list[str]) -> list[list]:
    """[[weight, prefix], ...] over tiers with tokens in the stage: token shares of the stage."""
    total = sum(row["tier_tokens"])
    return [
        [round(tokens / total, 8), prefix]
        for tokens, prefix in zip(row["tier_tokens"], tiers, strict=True)
        if tokens
    ]


def export_megatron(stream: ExportStream, out: Path, progress: Progress | None, **_: object) -> dict:
    encoder = stream.encoder
    dtype = megatron_dtype(encoder.vocab_size)
    write_stream(stream, out / "curriculum", dtype, progress)
    eos = np.array([encoder.eos_id], dtype=np.int64)
    for folder in ("tiers", "blends"):  # a fresh folder: no stale files, and never a planted link's target
        remove_tree(out / folder)
        (out / folder).mkdir()
    tiers = []
    for tier in stream.manifest.tiers:
        prefix = f"tiers/{tier['name']}"
        with IndexedWriter(out / prefix, dtype) as tier_writer:
            for _, rows in tier_documents(stream.manifest, tier["index"], encoder):
                for ids in rows:
                    tier_writer.add(np.concatenate([ids, eos]))
        sizes = tier_writer.sizes
        tiers.append(
            {"tier": tier["index"], "prefix": prefix, "documents": len(sizes), "tokens": int(sum(sizes))}
        )
    prefixes = [tier["prefix"] for tier in tiers]
    stages, cumulative = [], 0
    for row in stream.stages.rows:
        cumulative += row["tokens"]
        blend = blend_of(row, prefixes)
        name = f"blends/stage_{row['stage']:02d}.txt"
        # Absolute prefixes: Megatron resolves --data-path against its own working directory.
        atomic_write_text(
            out / name, " ".join(f"{weight} {(out / prefix).resolve()}" for weight, prefix in blend) + "\n"
        )
        stages.append(
            {
                "stage": row["stage"],
                "first_document": row["first_document"],
                "documents": row["documents"],
                "first_token": row["first_token"],
                "tokens": row["tokens"],
                "cumulative_tokens": cumulative,
                "blend": blend,
                "data_args": name,
            }
        )
    atomic_write_json(
        out / "megatron.json",
        {
            "curriculum_prefix": "curriculum",
            "dtype": dtype.name,
            "eos_id": encoder.eos_id,
            "tiers": tiers,
            "stages": stages,
            "train_samples": "a stage's tokens // seq_length samples; cumulative_tokens // seq_length "
            "is --train-samples at the stage's end",
        },
    )
    return {
        "dtype": dtype.name,
        "vocab_size": encoder.vocab_size,
        "eos_id": encoder.eos_id,
        "files": {
            "curriculum": ["curriculum.bin", "curriculum.idx"],
            "documents": DOCUMENTS,
            "tiers": "tiers",
            "blends": "blends",
            "megatron": "megatron.json",
        },
    }
