"""The installed `curriscale` command: usage mistakes are one-line errors with exit code 2."""

import subprocess
import sys

import pytest

MISTAKES = [
    ["build", "scored", "--recipe", "static-mix"],  # missing --out
    ["verify", "--nope"],  # unknown option
    ["nosuchcommand"],
    ["train", "--budget-tokens", "abc"],  # not an integer
]


def run(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from curriscale.cli.app import main; sys.argv[0] = 'curriscale'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


@pytest.mark.parametrize("args", MISTAKES, ids=lambda a: " ".join(a))
def test_usage_mistakes_exit_2_without_a_traceback(args):
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_a_missing_input_file_names_the_file(tmp_path):
    result = run("verify", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "nowhere" in result.stderr and "Traceback" not in result.stderr
