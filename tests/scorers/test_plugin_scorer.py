"""The example plug-in under examples/plugin_scorer, installed for real and found by entry point."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "plugin_scorer"
CLI = [sys.executable, "-c", "from curriscale.cli.app import main; main()"]


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """Environment whose PYTHONPATH holds the example installed into a temporary target folder."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    shutil.copytree(EXAMPLE, source)  # build in a copy: pip leaves build/ and egg-info behind
    target = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}


def run(args, env):
    return subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout


def test_entry_point_discovery(plugin_env):
    code = (
        "from curriscale.scorers.registry import available_scorers, get_scorer; "
        "print(available_scorers()['char_mix'].__name__); "
        "s = get_scorer('char_mix:digits=false'); print(sorted(s.columns())); "
        "print(s.score(['AB 12!'])['upper_share'].tolist())"
    )
    assert run([sys.executable, "-c", code], plugin_env).split("\n")[:3] == [
        "CharMix",
        "['punct_share', 'upper_share']",
        "[0.4]",
    ]


def test_scorers_list_shows_the_plugin(plugin_env):
    output = run([*CLI, "scorers", "list"], plugin_env)
    assert "char_mix" in output and "plug-in" in output and "punct_share" in output


@pytest.mark.skipif(
    not (REPO / "curriscale" / "builders" / "score.py").is_file(), reason="scoring pipeline absent"
)
def test_score_a_corpus_through_the_plugin(plugin_env, tmp_path):
    data = tmp_path / "docs.jsonl"
    docs = [
        {"id": "a", "text": "Hello World!"},
        {"id": "b", "text": "all lower case here"},
        {"id": "c", "text": "  "},
    ]
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "out"
    run([*CLI, "--quiet", "score", str(data), "--out", str(out), "--scorer", "char_mix"], plugin_env)
    scored = pq.read_table(sorted((out / "scored").glob("*.parquet"))).to_pydict()
    assert scored["id"] == ["a", "b"]
    assert scored["upper_share"] == [pytest.approx(2 / 11), 0.0]  # H, W of 11 visible characters
    stats = json.loads((out / "score_stats.json").read_text())
    assert stats["rejected"] == 1 and [s["name"] for s in stats["scorers"]] == ["char_mix"]
