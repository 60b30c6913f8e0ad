"""Tiny curricula for the reader and exporter tests: tier Parquet files plus a manifest.json.

Written directly in the manifest v1 format of the team brief, so the reader is tested without
depending on the builder. Documents have distinct ids and varied lengths; the whitespace token
counts recorded in the manifest are exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.io import sha256_file


def tier_texts(tier: int, n: int) -> list[str]:
    """`n` distinct documents of `tier`; length varies so packing and counting are exercised.

    Even-numbered documents are questions: `text == prompt(i) + " " + answer(i)`.
    """
    return [f"{prompt(tier, i)} {answer(i)}" if answer(i) else prompt(tier, i) for i in range(n)]


def prompt(tier: int, i: int) -> str:
    return f"tier {tier} doc {i} " + " ".join(["word"] * (i % 7)) + " é."


def answer(i: int) -> str | None:
    return None if i % 2 else f"a{i}"


def write_curriculum(
    folder: Path,
    sizes: list[int],
    schedule_weights: list[list[float]],
    rows_per_group: int = 8,
    files_per_tier: int = 2,
    total: int | None = None,
    token_unit: str = "whitespace",
) -> Path:
    """Write tiers of `sizes` documents and a schedule of equal-length intervals; return manifest path.

    `token_unit` "n_tokens" makes the manifest count tokens by the `n_tokens` column (characters here).
    """
    folder.mkdir(parents=True, exist_ok=True)
    tiers, all_tokens = [], 0
    for t, n in enumerate(sizes):
        texts = tier_texts(t, n)
        table = pa.table(
            {
                "id": [f"t{t}-{i:04d}" for i in range(n)],
                "text": texts,
                "difficulty": [float(t) + i / max(n, 1) for i in range(n)],
                "level": pa.array([t] * n, pa.int64()),
                "prompt": [prompt(t, i) if answer(i) else None for i in range(n)],
                "answer": [answer(i) for i in range(n)],
                "n_tokens": [len(text) for text in texts],  # a stand-in for a scorer's token counts
            }
        )
        files, step = [], -(-n // files_per_tier)
        for f in range(files_per_tier):
            part = table.slice(f * step, step)
            rel = f"tier={t:02d}/part-{f:05d}.parquet"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, folder / rel, row_group_size=rows_per_group)
            files.append(
                {
                    "path": rel,
                    "rows": part.num_rows,
                    "bytes": (folder / rel).stat().st_size,
                    "sha256": sha256_file(folder / rel),
                }
            )
        tokens = sum(len(text) if token_unit == "n_tokens" else len(text.split()) for text in texts)
        all_tokens += tokens
        tiers.append(
            {
                "index": t,
                "name": f"tier={t:02d}",
                "bounds": [t, t + 1],
                "label": None,
                "documents": n,
                "tokens": tokens,
                "files": files,
            }
        )
    total = int(total if total is not None else all_tokens)
    k = len(schedule_weights)
    schedule = [
        {"start": total * i // k, "end": total * (i + 1) // k, "weights": w}
        for i, w in enumerate(schedule_weights)
    ]
    manifest = {
        "format": "curriscale.manifest",
        "version": 1,
        "name": "test-curriculum",
        "created_by": "curriscale tests",
        "seed": 0,
        "difficulty": {"columns": {"difficulty": 1.0}, "normalise": "rank"},
        "tiers": tiers,
        "token_unit": token_unit,
        "pacing": {
            "kind": "discrete",
            "params": {},
            "unit": "tokens",
            "total": total,
            "sampling": "cumulative",
            "tier_weights": "size",
        },
        "schedule": schedule,
        "lr_schedule": None,
        "consumption": [{"tier": t["index"], "expected_tokens": 0.0, "epochs": 0.0} for t in tiers],
        "divergence_from_static": 0.0,
        "rejected": {"documents": 0, "reasons": {}, "files": []},
        "inputs": [{"path": "scored", "documents": sum(sizes), "sha256": "0" * 64}],
        "scorers": [],
        "recipe": {},
        "recipe_hash": "0" * 64,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path
