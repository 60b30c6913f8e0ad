"""`curriscale export`: a thin wrapper over `curriscale.builders.exports.export_curriculum`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


def export(
    directory: Annotated[
        Path, typer.Argument(help="Curriculum folder (holding manifest.json) or the manifest.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="tokens, jsonl, hf, megatron, litdata or deepspeed (described above)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="A tokenizers JSON file, or 'bytes' (UTF-8 bytes, EOS 256). Formats of token ids "
            "default to bytes."
        ),
    ] = None,
    budget_tokens: Annotated[
        int | None,
        typer.Option(
            help="Count progress in the tokenizer's tokens and stretch the schedule over this many "
            "(the stream `curriscale train` reads with that budget). Default: the schedule's own "
            "total, the same documents for every format and tokenizer."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the document stream.")] = 0,
    chunk_tokens: Annotated[
        int | None, typer.Option(help="litdata: tokens per chunk (default ~16M).")
    ] = None,
    train_batch_size: Annotated[
        int | None,
        typer.Option(
            help="deepspeed (required): documents per optimizer step, DeepSpeed's train_batch_size."
        ),
    ] = None,
) -> None:
    """Export the curriculum in schedule order for trainers that do not use curriscale.

    tokens: tokens.bin (uint16 or uint32 ids, EOS after each document; np.memmap it), tokens.offsets.npy (document starts) and tokens.idx (a Megatron index for the data prefix "tokens").

    jsonl: curriculum.jsonl, one document per line. hf: datasets folders ordered/ and tiers/ plus interleave.json.

    megatron: curriculum.bin/.idx (the stream, for IndexedDataset), tiers/*.bin/.idx and blends/stage_NN.txt (per-stage --data-path weights), megatron.json.

    litdata: index.json + chunk-0-*.bin for StreamingDataset(..., item_loader=TokensLoader(block_size), shuffle=False).

    deepspeed: dataset.bin/.idx (every document once), the curriscale_tier difficulty index, ds_config.json (data_efficiency block) and deepspeed.json (where DeepSpeed's schedule differs).

    Every format writes export.json (counts, the stage table, the sha256 of every file) and curriculum.manifest.json, a copy of the manifest: `curriscale verify EXPORT` checks them.

    Example: curriscale export curriculum/ --format megatron --out export/ --tokenizer tokenizer.json
    """
    from curriscale.builders.exports import check_format, export_curriculum

    check_format(fmt)  # before the progress bar starts
    if fmt == "deepspeed" and not train_batch_size:
        export_curriculum(directory, fmt, out)  # raises the one-line error naming --train-batch-size

    if fmt == "hf":
        with contextlib.suppress(ImportError):  # without datasets the library names the pip install
            import datasets

            datasets.disable_progress_bars()  # our own bar below covers the export
    with console.progress() as bar:
        task = bar.add_task(f"exporting {fmt}", total=100)
        summary = export_curriculum(
            directory,
            fmt,
            out,
            tokenizer=tokenizer,
            budget_tokens=budget_tokens,
            seed=seed,
            chunk_tokens=chunk_tokens,
            train_batch_size=train_batch_size,
            progress=lambda fraction: bar.update(task, completed=round(100 * fraction)),
        )
    stages = len(summary["stages"])
    console.info(
        f"wrote {summary['documents']:,} documents, {summary['tokens']:,} tokens "
        f"({summary['token_unit']}) in {stages} stages to {out}"
    )


def register(app: typer.Typer) -> None:
    """Add the `export` command to the root app."""
    app.command("export")(export)
