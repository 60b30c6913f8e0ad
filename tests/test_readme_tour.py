"""The README's tour, from `generate` to `train`, run as written on a smaller corpus and budget.

It checks what a newcomer would otherwise find out the slow way: every command succeeds, and the
`train` example scores every eval and OOD question (a byte tokenizer at seq_len 128 left 60% cut).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
STEPS = (
    "curriscale generate spectrum",
    "curriscale score spectrum",
    "curriscale build scored --recipe reading-age-ladder",
)
SMALLER = {"--docs": "300", "--budget-tokens": "4096"}


def tour_command(prefix: str) -> list[str]:
    """The README command starting with `prefix` (continuation lines joined), at the smaller scale."""
    text = README.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    words = shlex.split(line.split("#")[0])
    for i, word in enumerate(words[:-1]):
        words[i + 1] = SMALLER.get(word, words[i + 1])
    return [sys.executable, "-m", "curriscale", "--quiet", *words[1:]]


def test_the_tour_trains_with_every_question_scored(tmp_path):
    for prefix in STEPS:
        done = subprocess.run(tour_command(prefix), cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (prefix, done.stderr)
    train = [*tour_command("curriscale train --manifest curricula/ladder"), "--n-evals", "1"]
    done = subprocess.run(train, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"questions exceed seq_len", done.stderr), done.stderr
    config = json.loads((tmp_path / "runs" / "one" / "config.json").read_text())
    assert config["eval_questions"] > 0 and config["ood_questions"] > 0
    assert config["eval_questions_cut"] == config["ood_questions_cut"] == 0
