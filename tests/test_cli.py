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


def help_text(*command: str) -> str:
    from typer.testing import CliRunner

    from curriscale.cli.app import app

    result = CliRunner().invoke(app, [*command, "--help"], prog_name="curriscale", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", ["demo", "score", "train", "grid", "fit", "fit law", "build"])
def test_help_shows_flags_without_a_type(command):
    text = help_text(*command.split())
    assert "<bool>" not in text and "--help " in text
    if command == "demo":
        assert "  --quick  " in text


def test_help_says_what_train_requires_and_fit_shows_the_readme_form():
    # train's --manifest and budget are optional to the parser (--init-from inherits them); the help says so
    train = "".join(help_text("train").split())  # without spaces: click may wrap lines at a hyphen
    assert "--manifest<str>Curriculummanifest.json;requiredunless--init-from" in train
    assert "--budget-tokens<int>Trainingtokens;thisor--budget-flopsisrequiredunless--init-from" in train
    assert help_text("fit").startswith("Usage: curriscale fit RUNS --out FITS")  # as the README writes it
