"""Small file helpers every stage shares: atomic, durable writes and content hashes.

Every file curriscale writes goes through `atomic_output`: the bytes land in a temporary file in the
same folder and are renamed into place only when complete, so an interrupted run never leaves a
half-written file that a rerun would mistake for a finished one. The file is fsynced before the
rename and its folder after it, so a power cut cannot leave the new name pointing at lost bytes.
Whole folders (a build, an exported dataset) are swapped in the same way by `replace_folder`.
A writer killed with SIGKILL never reaches its cleanup and leaves its temporary behind (a hidden
`.<name>.<random>.tmp`, as large as the file was when it died); the next writer of that file or
folder removes it with `remove_temporaries`.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        fsync_path(tmp_path)
        os.replace(tmp_path, path)
        fsync_path(path.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_temporaries(folder: str | os.PathLike, name: str | None = None) -> None:
    """Delete the temporaries that killed writers of `folder/name` (of any file when `name` is None) left.

    Matches what `atomic_output` creates, `.<name>.<random>.tmp`, files or folders alike. Call it
    only where no live process can be writing such a file: while holding the folder's lock
    (`curriscale.locking.folder_lock`), or for a file only the caller ever writes.
    """
    for stale in Path(folder).glob(f".{glob.escape(name) if name else '*'}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            remove_tree(stale)
        else:
            stale.unlink(missing_ok=True)


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file's data, or a folder's entries (renames, new files), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Delete a folder, or only the link if `path` is a symlink (never what a planted link points at)."""
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def replace_folder(new: Path, target: Path) -> None:
    """Swap the complete folder `new` in as `target`, keeping a complete old one until the swap is done.

    The old `target` is renamed away (to `.<name>.old` beside it), `new` is renamed in, the parent
    folder is fsynced so both renames are on disk, and only then is the old one removed: at any
    crash point the complete old or the complete new data exists under a known name.
    """
    old = target.with_name(f".{target.name}.old")
    remove_tree(old)
    if target.exists() or target.is_symlink():
        os.replace(target, old)
    os.replace(new, target)
    fsync_path(target.parent)
    remove_tree(old)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON (stable bytes for the same object)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so large shards need no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
