"""Fixtures shared by the trainer's and grid's tests."""

import os

import pytest


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch):
    """A stand-in for Slurm's sbatch (none here), first on PATH: datatrove writes its script and
    submits it as it would on a cluster; this records each call's options in `<sbatch>.calls` and
    answers with a job id (101, 102, ...). Returns the sbatch path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(
        "#!/bin/bash\n"
        'n=$(( $(cat "$0.count" 2>/dev/null || echo 100) + 1 ))\n'
        'echo $n > "$0.count"\n'
        'echo "$n ${*:1:$#-1}" >> "$0.calls"\n'
        'echo "Submitted batch job $n"\n'
    )
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return sbatch
