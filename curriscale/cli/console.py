"""Shared rich console and progress bars for every CLI command (respects `--quiet`)."""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

_state = {"quiet": False}
out = Console()
err = Console(stderr=True)


def set_quiet(quiet: bool) -> None:
    """Silence informational output and progress bars."""
    _state["quiet"] = quiet


def warning(message: str) -> None:
    """Print a one-line warning to stderr (even under `--quiet`: it says a result may mislead)."""
    err.print(f"[bold yellow]warning:[/] {_one_line(message)}", highlight=False, soft_wrap=True)


def info(message: str) -> None:
    """Print an informational line unless `--quiet`."""
    if not _state["quiet"]:
        out.print(message)


def error(message: str) -> None:
    """Print a one-line error to stderr."""
    err.print(f"[bold red]error:[/] {_one_line(message)}", highlight=False, soft_wrap=True)


def interrupted(message: str) -> None:
    """Print the one line of a command stopped by Ctrl-C (what it kept, how to resume) to stderr."""
    err.print(f"[bold yellow]interrupted:[/] {_one_line(message)}", highlight=False, soft_wrap=True)


def _one_line(message: str) -> str:
    """`message` on one line (a library's own error may span several), shown as written, not as markup.

    Without the escape, rich would read `[x]` in a path or a field name as a style and drop it.
    """
    return escape(re.sub(r"\s*\n\s*", " ", message.strip()))


def progress() -> Progress:
    """A progress bar (disabled under `--quiet`); use as a context manager."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=_state["quiet"],
        transient=False,
    )
