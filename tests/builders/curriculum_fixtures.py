"""Tiny scored corpora for the builder tests (imported by test_build/test_verify/test_inspect).

`write_scored` lays out a folder exactly as `curriscale score` does: scored/part-*.parquet,
rejected/part-*.parquet and score_stats.json. Difficulty columns are random but seeded, and a few
documents have a missing reading age so the builder has something to reject.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TASKS = ["simple_sentences", "next_sentence", "cloze", "qa_fact", "qa_multihop", "problem_solving"]
MISSING = (3, 17)  # rows whose reading_age is NaN (or null): the builder must reject them


def scored_table(n: int, seed: int = 0) -> pa.Table:
    """`n` scored documents with id, text, level, task, prompt/answer, reading_age, flesch_ease."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 6, n)
    reading_age = rng.uniform(5.0, 18.0, n)
    reading_age[MISSING[0]] = np.nan
    lengths = rng.integers(1, 40, n)
    words = np.array("the cat sat on a mat while Anna read the book in the garden".split())
    texts = [" ".join(words[rng.integers(0, len(words), k)]) for k in lengths]
    answers = [None if lv == 0 else "garden" for lv in level]
    reading_age_col = pa.array(reading_age, mask=np.arange(n) == MISSING[1])
    return pa.table(
        {
            "id": [f"doc-{i:05d}" for i in range(n)],
            "text": texts,
            "level": pa.array(level, pa.int64()),
            "task": [TASKS[lv] for lv in level],
            "prompt": [None if a is None else t for a, t in zip(answers, texts, strict=True)],
            "answer": answers,
            "reading_age": reading_age_col,
            "flesch_ease": 120.0 - 5.0 * np.nan_to_num(reading_age, nan=10.0) + rng.normal(0, 1, n),
        }
    )


def write_scored(root: Path, n: int = 600, seed: int = 0, parts: int = 2) -> Path:
    """Write a `curriscale score`-style folder with `n` scored rows and 2 scoring rejects."""
    table = scored_table(n, seed)
    (root / "scored").mkdir(parents=True)
    (root / "rejected").mkdir()
    bounds = np.linspace(0, n, parts + 1).astype(int)
    for i in range(parts):
        pq.write_table(
            table.slice(bounds[i], bounds[i + 1] - bounds[i]), root / f"scored/part-{i:05d}.parquet"
        )
    rejects = pa.table(
        {
            "id": ["bad-0", "bad-1"],
            "text": ["", "   "],
            "reason": ["empty text", "empty text"],
            "source": ["in.jsonl:4", "in.jsonl:9"],
        }
    )
    pq.write_table(rejects, root / "rejected/part-00000.parquet")
    stats = {
        "documents_in": n + 2,
        "scored": n,
        "rejected": 2,
        "scorers": [{"name": "reading_age", "version": "1", "params": {}}],
    }
    (root / "score_stats.json").write_text(json.dumps(stats))
    return root


def recipe_dict(**changes) -> dict:
    """A small valid recipe (reading-age quintiles, linear pacing); keyword args replace fields."""
    recipe = {
        "name": "test-ladder",
        "difficulty": "reading_age",
        "tiers": {"quantiles": 5},
        "pacing": {"kind": "linear", "params": {"start_fraction": 0.2}},
        "budget": {"tokens": 100_000},
        "seed": 0,
    }
    recipe.update(changes)
    return recipe
