"""A tiny synthetic task for the trainer tests: two levels written as a curriculum manifest.

Level 1 is a fact table to memorise ("capital fr: paris"), level 2 copies a random 3-letter word
("copy bad: bad"), which needs attention to an earlier position. Each level is one tier; the
manifest (v1 format of the team brief) samples them by `weights`. The eval file has the same
documents' distribution with prompt/answer split, so exact-match accuracy is measurable.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.io import sha256_file

CAPITALS = {"fr": "paris", "de": "berlin", "it": "rome", "es": "madrid", "pt": "lisbon"}
LETTERS = "abcdefgh"


def document(rng: random.Random, level: int) -> dict:
    if level == 1:
        country = rng.choice(sorted(CAPITALS))
        prompt, answer = f"capital {country}:", CAPITALS[country]
    else:
        word = "".join(rng.choice(LETTERS) for _ in range(3))
        prompt, answer = f"copy {word}:", word
    return {"text": f"{prompt} {answer}", "prompt": prompt, "answer": answer, "level": level}


def write_eval(path: Path, n: int, seed: int = 123) -> Path:
    rng = random.Random(seed)
    path.write_text("".join(json.dumps(document(rng, 1 + i % 2)) + "\n" for i in range(n)))
    return path


def write_task_manifest(
    folder: Path, docs_per_level: int = 300, weights=((0.5, 0.5),), name: str = "task"
) -> Path:
    """Tier per level plus a manifest whose schedule has one equal-length interval per `weights` row."""
    rng = random.Random(0)
    tiers = []
    for tier, level in enumerate((1, 2)):
        docs = [document(rng, level) for _ in range(docs_per_level)]
        table = pa.table(
            {
                "id": [f"L{level}-{i:05d}" for i in range(len(docs))],
                "text": [d["text"] for d in docs],
                "difficulty": [float(level)] * len(docs),
                "level": pa.array([level] * len(docs), pa.int64()),
                "prompt": [d["prompt"] for d in docs],
                "answer": [d["answer"] for d in docs],
            }
        )
        rel = f"tier={tier:02d}/part-00000.parquet"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / rel, row_group_size=64)
        file = {
            "path": rel,
            "rows": table.num_rows,
            "bytes": (folder / rel).stat().st_size,
            "sha256": sha256_file(folder / rel),
        }
        tokens = sum(len(t.split()) for t in table.column("text").to_pylist())
        tiers.append(
            {
                "index": tier,
                "name": f"tier={tier:02d}",
                "bounds": [level, level],
                "label": str(level),
                "documents": len(docs),
                "tokens": tokens,
                "files": [file],
            }
        )
    total = 1000.0
    k = len(weights)
    manifest = {
        "format": "curriscale.manifest",
        "version": 1,
        "name": name,
        "created_by": "curriscale tests",
        "seed": 0,
        "difficulty": {"columns": {"difficulty": 1.0}, "normalise": "rank"},
        "tiers": tiers,
        "token_unit": "whitespace",
        "pacing": {
            "kind": "discrete",
            "params": {},
            "unit": "tokens",
            "total": total,
            "sampling": "cumulative",
            "tier_weights": "size",
        },
        "schedule": [
            {"start": total * i / k, "end": total * (i + 1) / k, "weights": list(w)}
            for i, w in enumerate(weights)
        ],
        "lr_schedule": None,
        "consumption": [{"tier": t["index"], "expected_tokens": 0.0, "epochs": 0.0} for t in tiers],
        "divergence_from_static": 0.0,
        "rejected": {"documents": 0, "reasons": {}, "files": []},
        "inputs": [{"path": "scored", "documents": 2 * docs_per_level, "sha256": "0" * 64}],
        "scorers": [],
        "recipe": {},
        "recipe_hash": "0" * 64,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path
