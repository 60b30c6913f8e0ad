"""GPU slots on one machine: a running grid cell holds its GPUs through advisory file locks.

The local executor runs `visible GPUs // GPUs per cell` cells at once; each one claims free slots
before it starts its training processes and hands them `CUDA_VISIBLE_DEVICES`. A slot is the file
`<folder>/gpu-slot-<k>.lock`, held with a non-blocking `fcntl.flock` for the cell's lifetime. The
kernel drops a flock when the last descriptor of the open file closes, so a crashed or killed cell
frees its GPUs without any cleanup, and a stale lock file on disk means nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def visible_gpus() -> tuple[str, ...]:
    """The CUDA devices this process may use, named as `CUDA_VISIBLE_DEVICES` names them."""
    import torch

    count = torch.cuda.device_count()
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    # Keep the names the parent was given (indices or UUIDs), so a child sees the same GPUs.
    names = [name.strip() for name in listed.split(",")] if listed else [str(k) for k in range(count)]
    return tuple(names[:count])


@dataclass
class Claim:
    """Slots held by this process: their open lock files and the GPUs they stand for."""

    files: list[IO[bytes]]
    gpus: list[str]

    @property
    def cuda_visible_devices(self) -> str:
        return ",".join(self.gpus)

    @property
    def fds(self) -> tuple[int, ...]:
        """The lock descriptors, to pass to a child so the slots stay held while either process lives."""
        return tuple(file.fileno() for file in self.files)

    def release(self) -> None:
        for file in self.files:
            file.close()  # closing the last descriptor drops the flock


@dataclass(frozen=True)
class GpuSlots:
    """One lock file per visible GPU in `folder`; slot k stands for `gpus[k]`."""

    folder: Path
    gpus: tuple[str, ...]

    def try_claim(self, count: int) -> Claim | None:
        """Lock `count` free slots at once, or none (returns None) when fewer are free."""
        self.folder.mkdir(parents=True, exist_ok=True)
        held = Claim([], [])
        for slot, gpu in enumerate(self.gpus):
            file = open(self.folder / f"gpu-slot-{slot}.lock", "ab")  # stays open while held
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                continue
            held.files.append(file)
            held.gpus.append(gpu)
            if len(held.gpus) == count:
                return held
        held.release()
        return None

    @contextlib.contextmanager
    def claim(self, count: int, poll: float = 1.0) -> Iterator[Claim]:
        """Wait until `count` slots are free, hold them for the block, then release them.

        The executor starts no more cells than there are slot sets, so the wait is short: it
        covers a finishing cell's processes still exiting, or another grid sharing the folder.
        """
        while (held := self.try_claim(count)) is None:
            time.sleep(poll)
        try:
            yield held
        finally:
            held.release()
