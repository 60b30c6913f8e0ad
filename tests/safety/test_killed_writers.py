"""A writer killed mid-write leaves a hidden temporary; the next run of the same command removes it.

SIGKILL skips `atomic_output`'s cleanup, so a killed export (or scoring task) left its half-written
`.<name>.<random>.tmp` beside its output, as large as the file had grown, and no rerun removed it:
benchmarks/soak.py found one in a resumed export folder. Real processes, real SIGKILLs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import curriscale, start
from manifest_factory import write_curriculum

from curriscale.io import sha256_file

# A process that dies inside atomic_output, exactly where a writer killed mid-write would.
DIE_WHILE_WRITING = """
import sys, time
from curriscale.io import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a part")
    print("writing", flush=True)
    time.sleep(600)
"""


def files(folder: Path) -> dict[str, str | None]:
    """Every path under `folder`, hidden ones too, with its SHA-256 (None for a folder)."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p) if p.is_file() else None for p in folder.rglob("*")
    }


def wait_for(folder: Path, pattern: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll until `folder` holds something matching `pattern` (while `process` still runs)."""
    deadline = time.monotonic() + timeout
    while not list(folder.glob(pattern)):
        assert process.poll() is None, (
            f"the export ended before its temporary appeared: {process.stderr.read()}"
        )
        assert time.monotonic() < deadline, f"no {pattern} in {folder} within {timeout} s"
        time.sleep(0.001)


@pytest.mark.parametrize(
    ("fmt", "budget", "temporary"),
    [
        ("jsonl", 100_000, ".curriculum.jsonl.*.tmp"),
        ("tokens", 1_000_000, ".tokens.bin.*.tmp"),
        ("hf", 100_000, ".hf.*.tmp"),  # the scratch folder of the ordered dataset
    ],
)
def test_an_export_killed_while_writing_leaves_nothing_behind_once_rerun(tmp_path, fmt, budget, temporary):
    manifest = write_curriculum(tmp_path / "cur", [300, 300], [[1.0, 0.0], [0.5, 0.5]])
    args = ("export", manifest, "--format", fmt, "--budget-tokens", budget, "--out")
    out, clean = tmp_path / "out", tmp_path / "clean"
    export = start(*args, out)
    wait_for(out, temporary, export)
    export.kill()
    export.wait(timeout=60)
    assert list(out.glob(temporary)), "the kill should have left the temporary (what the rerun must clear)"
    assert curriscale(*args, out).returncode == 0
    assert curriscale(*args, clean).returncode == 0
    resumed, expected = files(out), files(clean)
    assert resumed.keys() == expected.keys()  # no temporary left, nothing missing
    if fmt != "hf":  # a saved dataset's files carry fresh fingerprints; the others are the same bytes
        assert resumed == expected
    assert json.loads((out / "export.json").read_text())["documents"] > 0


def test_a_scoring_task_removes_the_part_its_killed_run_was_writing(tmp_path):
    corpus = tmp_path / "in.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": f"The cat sat on mat {i}."}) + "\n" for i in range(50))
    )
    part = tmp_path / "out" / "scored" / "part-00000.parquet"
    writer = subprocess.Popen(
        [sys.executable, "-c", DIE_WHILE_WRITING, str(part)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline() == "writing\n"
    writer.kill()
    writer.wait(timeout=60)
    (stale,) = part.parent.glob(".part-00000.parquet.*.tmp")
    result = curriscale("score", corpus, "--out", tmp_path / "out", "--scorer", "text_stats")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert [p.name for p in part.parent.iterdir()] == ["part-00000.parquet"]
    assert json.loads((tmp_path / "out" / "score_stats.json").read_text())["scored"] == 50
