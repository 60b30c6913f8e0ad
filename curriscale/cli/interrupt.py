"""Ctrl-C: exit 130 with one line that says what was kept and how to resume.

typer turns a KeyboardInterrupt raised inside a command into `Exit(130)`, and with
`standalone_mode=False` (which `app.main` needs to print its own errors) it *returns* that code
instead of exiting, so an interrupted `score` used to exit 0 and `score ... && build ...` carried
on. A long-running command wraps its work in `resumable(...)`: the interrupt then surfaces as
`Interrupted`, which typer does not catch, and `app.main` prints its message and exits 130.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for a command ended by Ctrl-C


class Interrupted(Exception):
    """A command stopped by Ctrl-C; the message says what it kept and how to go on."""


@contextlib.contextmanager
def resumable(kept: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C inside the block into `Interrupted`, its message built by `kept()` at that moment.

    Args:
        kept: describes what survives on disk, e.g. "kept the checkpoint at step 40 in runs/x".
    """
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(f"{kept()}; rerun the same command to resume") from None
