"""One writer per output folder: an advisory lock that a second writer meets at once.

Two commands writing into one folder (two builds, a train and a grid cell, an export run twice)
would interleave their files and leave a folder that neither wrote. Every library function that
writes an output folder holds `folder_lock(folder)` while it works; a second one fails at once
with `CurriscaleError` naming the folder and the holder's pid.

The lock is a non-blocking `fcntl.flock` on `.<name>.lock` beside the folder, not inside it: a
build swaps its whole folder in by a rename, which would carry a lock file inside it away. The
kernel drops a flock when the holder's last descriptor closes, so a killed holder frees the folder
by itself; the pid left in its file is only a name for the message, never a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from curriscale.errors import CurriscaleError


def lock_path(folder: str | os.PathLike) -> Path:
    """The lock file of `folder`; resolved first, so two spellings of one folder share it."""
    folder = Path(folder).resolve()
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the write lock of `folder` for the block; yields the lock file's path.

    The lock file is removed on release, so a finished command leaves nothing beside its folder.

    Raises:
        CurriscaleError: when another process holds it, naming the folder and that process's pid.
    """
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, folder)
    try:
        os.ftruncate(fd, 0)  # a killed holder's pid may still be there
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)  # still locked: whoever opened this file will see it is gone
        os.close(fd)  # closing the descriptor drops the flock


def _acquire(path: Path, folder: str | os.PathLike) -> int:
    """Open and lock `path`; return the descriptor, or raise naming the holder."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise CurriscaleError(
                f"{folder}: another curriscale process (pid {holder}) is writing into this folder; "
                "wait for it to finish or choose another folder"
            ) from None
        # A releasing holder unlinks the file before unlocking it: a lock on that unlinked file
        # guards nothing, so lock the file now at `path` instead.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)
