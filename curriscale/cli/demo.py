"""`curriscale demo`: the whole experiment on generated data, ending with a three-line summary."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console


@contextlib.contextmanager
def _stderr_to(log_path: Path) -> Iterator[None]:
    """Send file descriptor 2 (ours and every worker process's) to a log file for the block.

    datatrove's executors log every task at INFO level to stderr; the demo keeps its terminal for
    its own step lines and puts that detail in `OUT/demo.log` instead.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder (reruns resume).")] = Path("demo-out"),
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller corpus, sizes and budget: a few minutes.")
    ] = False,
) -> None:
    """Generate, score, build, train, fit and report one curriculum experiment end to end.

    Example: curriscale demo --quick --out demo-out
    """
    from curriscale.demo import DemoPlan, run_demo

    plan = DemoPlan.quick() if quick else DemoPlan.full()
    started = time.monotonic()

    def announce(message: str) -> None:
        console.info(f"[{time.monotonic() - started:6.0f}s] {message}")

    with _stderr_to(out / "demo.log"):
        result = run_demo(out, plan, on_step=announce)
    minutes = (time.monotonic() - started) / 60
    console.out.print(f"\nReport: {result.report}  (fits: {result.fits}; took {minutes:.1f} min)")
    for line in result.summary:
        console.out.print(f"  {line}")


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the root app."""
    app.command("demo")(demo)
