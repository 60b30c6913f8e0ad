"""`curriscale recommend`: a thin wrapper over `curriscale.fit.recommend.recommend_curriculum`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


def recommend(
    fits: Annotated[Path, typer.Argument(help="Folder written by `curriscale fit RUNS --out FITS`.")],
    size: Annotated[float, typer.Option("--size", help="Target model size in non-embedding parameters.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Manifest to write (tier files are linked beside it).")
    ],
) -> None:
    """Recommend a curriculum (or none) for a model size and write it as a manifest.

    The pick extrapolates the grid's power laws and speedup trend to SIZE; the manifest is the
    chosen curriculum's, with a `recommendation` field holding the decision and the evidence.

    Example: curriscale recommend fits/ --size 2e6 --out recommended/manifest.json
    """
    from curriscale.fit.recommend import recommend_curriculum

    decision = recommend_curriculum(fits, size, out)["recommendation"]
    what = (
        "no curriculum (static mix)"
        if decision["no_curriculum"]
        else f"curriculum {decision['curriculum']!r}"
    )
    console.info(
        f"{size:g} params: {what}, pacing {decision['pacing']['kind']}, LR schedule {decision['lr_schedule']}"
    )
    console.info(f"based on {decision['basis']}")
    interval = decision.get("speedup_interval")
    if interval:
        low, high = interval["ci"]
        console.info(
            f"speedup trend of {interval['curriculum']} ({interval['lr_schedule']}) there: "
            f"{interval['speedup']:.2f}x [{low:.2f}, {high:.2f}] (95%, {interval['sizes']} sizes)"
        )
    for entry in decision.get("progression", []):
        warmup = entry.get("warmup_fraction")
        speed = f", warmup {warmup:.2f}" if warmup is not None else ""
        console.info(f"  {entry['size']}: {entry['curriculum']}{speed} - {entry['basis']}")
    for warning in decision["warnings"]:
        console.warning(warning)
    console.info(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the `recommend` command to the root app."""
    app.command("recommend")(recommend)
