"""The study's second corpus (OneStopEnglish): an honest split, and the --quick pipeline end to end.

Needs ../shared/corpora (the corpora are not copied into the project); skipped cleanly without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STUDY = Path(__file__).resolve().parents[1] / "examples" / "study"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
pytestmark = pytest.mark.skipif(
    not (CORPORA / "onestopenglish").is_dir() or not (CORPORA / "cefr_sp_wikiauto").is_dir(),
    reason="needs ../shared/corpora",
)
sys.path.insert(0, str(STUDY))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_split_is_by_article_and_loses_no_unflagged_version(tmp_path):
    from graded import write_graded

    counts = write_graded(CORPORA, tmp_path, eval_articles=20, paragraphs_per_level=30, seed=3)
    train, held, ood = (_jsonl(tmp_path / f"{name}.jsonl") for name in ("train", "eval", "ood"))
    source = _jsonl(CORPORA / "onestopenglish" / "onestopenglish.jsonl")
    kept = [row for row in source if not row["quality_flag"]]
    # No article is on both sides: an eval paragraph's article never appears in training at any level.
    train_topics = {doc["topic"] for doc in train}
    eval_ids = {doc["id"].rsplit("-p", 1)[0] for doc in held}
    eval_topics = {row["topic"] for row in kept if row["id"] in eval_ids}
    assert eval_topics and not train_topics & eval_topics
    # Every unflagged version of a training article is in train.jsonl, with its level.
    assert len(train) == sum(row["topic"] in train_topics for row in kept) == counts["train_documents"]
    assert counts["flagged_left_out"] == len(source) - len(kept) > 0
    assert {doc["level"] for doc in train} == {0, 1, 2}
    assert sorted(doc["level"] for doc in held) == [0] * 30 + [1] * 30 + [2] * 30
    assert len(train_topics) + counts["eval_articles"] == len({row["topic"] for row in kept})
    # CEFR levels 1..6 (two annotators) become 0..5; every test sentence is kept.
    assert len(ood) == counts["ood_sentences"] == 762 and {doc["level"] for doc in ood} <= set(range(6))
    # The seed decides the split; the same seed gives the same bytes.
    again = tmp_path / "again"
    write_graded(CORPORA, again, eval_articles=20, paragraphs_per_level=30, seed=3)
    assert (again / "eval.jsonl").read_bytes() == (tmp_path / "eval.jsonl").read_bytes()


def test_quick_graded_study_compares_the_curricula_per_reading_level(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(STUDY / "run.py"), "--out", str(out), "--quick", "--corpus", "graded",
         "--corpora", str(CORPORA)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    manifest = json.loads((out / "curricula" / "warmup" / "manifest.json").read_text())
    assert len(manifest["tiers"]) == 3  # elementary, intermediate, advanced
    comparison = json.loads((out / "fits" / "comparison.json").read_text())
    text = (out / "RESULTS.md").read_text()
    assert "OneStopEnglish" in text and "no growth.json" in text  # no growth arms on this corpus
    ood = text.split("## On text unlike the training text (ood)")[1].split("\n## ")[0]
    for cell in comparison["cells"]:
        # Every level's eval loss is compared, and every raw cell's ood difference is in the table.
        assert {f"eval_loss_level_{k}" for k in range(3)} <= set(cell["effects"])
        if cell["lr_schedule"] == "cosine":
            diff = cell["effects"]["ood_eval_loss"]
            assert f"| {cell['curriculum']} | cosine | raw | {cell['size']} | {diff['diff']:+.3f} [" in ood
