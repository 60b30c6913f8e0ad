"""`curriscale generate`: synthetic corpora; a thin wrapper over `curriscale.curricula.spectrum`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.errors import CurriscaleError

generate_app = typer.Typer(help="Generate synthetic corpora.", no_args_is_help=True)


def _numbers(text: str, option: str, kind: type = int) -> tuple:
    try:
        return tuple(kind(part) for part in text.split(","))
    except ValueError:
        raise CurriscaleError(
            f"option {option}: expected comma-separated {kind.__name__}s, got {text!r}"
        ) from None


def _span(text: str, option: str) -> tuple[int, int]:
    """Parse "2-5" (or "3") into (2, 5)."""
    parts = text.split("-")
    if len(parts) not in (1, 2) or not all(part.strip().isdigit() for part in parts):
        raise CurriscaleError(f"option {option}: expected MIN-MAX such as 2-5, got {text!r}")
    return (int(parts[0]), int(parts[-1]))


@generate_app.command("spectrum")
def spectrum(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for train/eval/ood files and spectrum.json.")
    ],
    docs: Annotated[int, typer.Option(help="Training documents per level.")] = 1000,
    eval_docs: Annotated[int, typer.Option(help="Documents per level in each of eval and ood.")] = 200,
    seed: Annotated[int, typer.Option(help="Seeds every random choice, including the fact table.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
    levels: Annotated[str, typer.Option(help="Comma-separated levels to generate (0-5).")] = "0,1,2,3,4,5",
    level_weights: Annotated[
        str | None,
        typer.Option(help="Comma-separated train shares, one per level (total stays docs x levels)."),
    ] = None,
    names: Annotated[int, typer.Option(help="Person names in train/eval.")] = 40,
    ood_names: Annotated[int, typer.Option(help="Held-out person names for ood.")] = 16,
    places: Annotated[int, typer.Option(help="Rooms (levels 3-4).")] = 10,
    objects: Annotated[int, typer.Option(help="Objects hidden in containers (level 4).")] = 12,
    fact_subjects: Annotated[int, typer.Option(help="Countries in the cloze fact table (level 2).")] = 24,
    hops: Annotated[str, typer.Option(help="Multi-hop chain length MIN-MAX (level 4).")] = "2-3",
    steps: Annotated[str, typer.Option(help="Arithmetic steps MIN-MAX (level 5).")] = "2-5",
    distractors: Annotated[str, typer.Option(help="Distractor sentences MIN-MAX (level 3).")] = "2-4",
    ood_extra_hops: Annotated[int, typer.Option(help="ood chains are up to this many hops longer.")] = 1,
    ood_extra_steps: Annotated[int, typer.Option(help="ood problems have up to this many more steps.")] = 1,
    nsp_easy: Annotated[
        float, typer.Option(help="Share of level-1 negatives that are garbled (easy).")
    ] = 0.5,
    max_operand: Annotated[int, typer.Option(help="Largest number in one arithmetic step.")] = 9,
    max_total: Annotated[int, typer.Option(help="Largest running total in a word problem.")] = 30,
) -> None:
    """Generate the six-level synthetic task spectrum: DIR/train, DIR/eval and DIR/ood.

    Levels: 0 simple sentences, 1 next-sentence prediction, 2 cloze over a fact table, 3 one-fact
    QA, 4 multi-hop QA, 5 multi-step arithmetic. ood uses held-out names, longer chains, more steps.

    Example: curriscale generate spectrum --out data/ --docs 5000 --seed 0 --format parquet --hops 2-3
    """
    from curriscale.curricula.spectrum import SpectrumConfig, write_spectrum

    config = SpectrumConfig(
        docs_per_level=docs,
        eval_per_level=eval_docs,
        levels=_numbers(levels, "--levels"),
        level_weights=_numbers(level_weights, "--level-weights", float) if level_weights else None,
        seed=seed,
        n_names=names,
        ood_names=ood_names,
        n_places=places,
        n_objects=objects,
        fact_subjects=fact_subjects,
        hops=_span(hops, "--hops"),
        steps=_span(steps, "--steps"),
        qa_distractors=_span(distractors, "--distractors"),
        ood_extra_hops=ood_extra_hops,
        ood_extra_steps=ood_extra_steps,
        nsp_easy_fraction=nsp_easy,
        max_operand=max_operand,
        max_total=max_total,
    )
    paths = write_spectrum(out, config, fmt=fmt)
    for split, path in paths.items():
        console.info(f"{split}: {path}")


def register(app: typer.Typer) -> None:
    """Add the `generate` command group to the root app."""
    app.add_typer(generate_app, name="generate")
