"""Ctrl-C in datatrove's pool of worker processes: the parent alone handles it.

A terminal sends Ctrl-C's SIGINT to every process of the foreground group, so the workers of
datatrove's local executor (a `multiprocess` Pool, used when workers > 1) get it too, and each
printed a KeyboardInterrupt traceback. A worker that ignores SIGINT leaves the interrupt to the
parent, which stops the pool (SIGTERM to every worker), keeps what finished and prints one line.
"""

from __future__ import annotations

import signal


def leave_ctrl_c_to_parent() -> None:
    """Ignore SIGINT in this process if it is a pool worker; elsewhere do nothing.

    Pool workers are daemon processes; the main process and the tasks of the Slurm and Ray
    executors are not, so they still stop on Ctrl-C themselves. Call it only in a process that
    starts no children of its own: they would inherit the ignored signal.
    """
    import multiprocess  # datatrove's pool is multiprocess's, not the standard library's

    if multiprocess.current_process().daemon:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
