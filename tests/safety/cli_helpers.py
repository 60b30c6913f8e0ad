"""Helpers for the safety tests: run the real CLI in a subprocess, snapshot a folder tree.

`snapshot` records every file's bytes and every symlink's target under a folder, so a test can
assert that a command left everything outside its own folders byte-identical.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "curricula"))
sys.path.insert(0, str(REPO / "tests" / "builders"))


def curriscale(*args: str | os.PathLike, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m curriscale ARGS` in a fresh process (quiet), with its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "curriscale", "--quiet", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def start(*args: str | os.PathLike) -> subprocess.Popen:
    """`python -m curriscale ARGS` started in the background (for races and kills)."""
    return subprocess.Popen(
        [sys.executable, "-m", "curriscale", "--quiet", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, bytes | str]:
    """Relative path -> file bytes (or "-> target" for a symlink) of everything under `root`.

    Folders in `skip` (the command's own input and output) are left out; symlinks are not followed.
    """
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in files + [d for d in dirs if (here / d).is_symlink()]:
            path = here / name
            key = path.relative_to(root).as_posix()
            found[key] = f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
        found[here.relative_to(root).as_posix() + "/"] = b""
    return found


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed command (exit 2); fails the test otherwise."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]
