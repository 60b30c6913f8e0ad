"""`curriscale export`: a thin wrapper over `curriscale.builders.export.export_curriculum`."""

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
        str, typer.Option("--format", "-f", help="tokens (.bin + index), jsonl, or hf (datasets).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="A tokenizers JSON file, or 'bytes' (UTF-8 bytes, EOS 256). tokens defaults to bytes."
        ),
    ] = None,
    budget_tokens: Annotated[
        int | None,
        typer.Option(
            help="Tokens to export, in the tokenizer's tokens; the schedule is stretched over them. "
            "Default: the schedule's total, converted to the tokenizer's unit."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the document stream.")] = 0,
) -> None:
    """Export the curriculum in schedule order for trainers that do not use curriscale.

    tokens: tokens.bin (uint16 or uint32 ids, EOS after each document; np.memmap it), tokens.offsets.npy (document starts) and tokens.idx (a Megatron index for the data prefix "tokens").

    jsonl: curriculum.jsonl, one document per line. hf: datasets folders ordered/ and tiers/ plus interleave.json.

    Every format writes export.json: counts, dtype and ids where relevant, and the stage table.

    Example: curriscale export curriculum/ --format tokens --out export/ --tokenizer bytes --budget-tokens 2000000
    """
    from curriscale.builders.export import check_format, export_curriculum

    check_format(fmt)  # before the progress bar starts

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
