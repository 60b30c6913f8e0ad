"""Build throughput and memory: rows/s and peak RSS of `build_curriculum`, vs a naive pandas build.

Generates scored Parquet (8 part files, like a `curriscale score` run: id, text of 10-90 words,
level, task, reading_age, model_nll, n_words, word_rarity) in a temporary folder, then runs each
measurement in a fresh subprocess so its peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is
its own:

    curriscale  build_curriculum with the reading-age-ladder preset (5 quantile tiers) at N/4 and N
                rows (memory should stay flat: only the difficulty column is held whole)
    composite   build_curriculum with the composite preset (global ranks of three columns), N rows
    2 workers   the reading-age build with workers=2 (datatrove LocalPipelineExecutor), N rows
    baseline    pandas: read every file whole, sort by reading age, qcut into 5 tiers, groupby and
                write one Parquet per tier (what one would write by hand)

Each run reports wall time and CPU time: on a shared machine rows per CPU-second is the figure that
does not depend on what else is running (`load_average` in the JSON says how busy it was).

Usage: python benchmarks/bench_build.py [--rows 1000000]
Ends with one JSON line: {"bench": "build", "rows_per_s": ..., "peak_rss_mb": ..., ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PARTS = 8
TASKS = ["simple_sentences", "next_sentence", "cloze", "qa_fact", "qa_multihop", "problem_solving"]


def write_scored(root: Path, n: int, seed: int = 0) -> Path:
    """A `curriscale score`-style folder with `n` generated scored rows in `PARTS` files."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    # A pool of distinct texts, each prefixed with its document id so no two texts are equal.
    pool = pa.array(
        [" ".join(vocabulary[rng.integers(0, 5000, rng.integers(10, 90))]) for _ in range(20_000)]
    )
    (root / "scored").mkdir(parents=True)
    for part, rows in enumerate(np.array_split(np.arange(n), PARTS)):
        ids = pa.array([f"doc-{i:08d}" for i in rows])
        texts = pc.binary_join_element_wise(ids, pc.take(pool, rng.integers(0, len(pool), len(rows))), " ")
        level = rng.integers(0, 6, len(rows))
        table = pa.table(
            {
                "id": ids,
                "text": texts,
                "level": level,
                "task": pc.take(pa.array(TASKS), level),
                "reading_age": rng.normal(10 + level, 2.0),
                "model_nll": rng.gamma(4.0, 1.0, len(rows)),
                "n_words": pc.count_substring_regex(texts, r"\S+"),
                "word_rarity": rng.uniform(0, 1, len(rows)),
                "words_per_sentence": rng.uniform(4, 30, len(rows)),
            }
        )
        pq.write_table(table, root / "scored" / f"part-{part:05d}.parquet")
    (root / "score_stats.json").write_text(json.dumps({"documents_in": n, "scorers": []}))
    return root


# Both scripts print wall seconds, CPU seconds (this process and its children: the machine may be
# shared, so rows per CPU-second is the contention-free figure) and peak RSS of the largest process.
MEASURE = """
def report(start, rows):
    import json, resource, time
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    rss = max(own.ru_maxrss, kids.ru_maxrss) / 1024
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": cpu, "rows": rows, "rss_mb": rss}))
"""

CURRISCALE = (
    MEASURE
    + """
import sys, time
from curriscale.builders.build import build_curriculum
from curriscale.curricula.recipe import load_recipe
start = time.perf_counter()
manifest = build_curriculum(sys.argv[1], load_recipe(sys.argv[2]), sys.argv[3], workers=int(sys.argv[4]))
report(start, sum(t["documents"] for t in manifest.tiers) + manifest.data["rejected"]["documents"])
"""
)

BASELINE = (
    MEASURE
    + """
import sys, time
from pathlib import Path
import pandas as pd
start = time.perf_counter()
frame = pd.concat([pd.read_parquet(f) for f in sorted(Path(sys.argv[1], "scored").glob("*.parquet"))])
frame = frame.sort_values("reading_age", kind="stable")
frame["tier"] = pd.qcut(frame["reading_age"], 5, labels=False)
for tier, group in frame.groupby("tier"):
    out = Path(sys.argv[3], f"tier={tier:02d}")
    out.mkdir(parents=True, exist_ok=True)
    group.drop(columns="tier").to_parquet(out / "part-00000.parquet", index=False)
report(start, len(frame))
"""
)


def measure(script: str, scored: Path, recipe: str, out: Path, workers: int = 1) -> dict:
    """Run one build in a fresh interpreter; return its seconds, CPU seconds, rows and peak RSS (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(scored), recipe, str(out), str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rows_per_s"] = result["rows"] / result["seconds"]
    result["rows_per_cpu_s"] = result["rows"] / result["cpu_seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
        tmp = Path(tmp)
        small = write_scored(tmp / "small", args.rows // 4)
        large = write_scored(tmp / "large", args.rows)
        input_mb = sum(f.stat().st_size for f in (large / "scored").iterdir()) / 2**20
        quarter = measure(CURRISCALE, small, "reading-age-ladder", tmp / "out_small")
        full = measure(CURRISCALE, large, "reading-age-ladder", tmp / "out_large")
        composite = measure(CURRISCALE, large, "composite", tmp / "out_composite")
        parallel = measure(CURRISCALE, large, "reading-age-ladder", tmp / "out_parallel", workers=2)
        # datatrove's workers are children of its forkserver, not of the measured process: their CPU
        # time and RSS are invisible to getrusage, so only the wall time of this run means anything.
        parallel["rows_per_cpu_s"], parallel["rss_mb"] = float("nan"), float("nan")
        baseline = measure(BASELINE, large, "-", tmp / "out_pandas")
    runs = [
        ("quarter", quarter),
        ("full", full),
        ("composite", composite),
        ("2 workers", parallel),
        ("pandas", baseline),
    ]
    for name, result in runs:
        print(
            f"{name:>10}: {result['rows']:>9,} rows  {result['seconds']:6.2f} s  "
            f"{result['rows_per_s']:>9,.0f} rows/s  {result['rows_per_cpu_s']:>9,.0f} rows/CPU-s  "
            f"peak RSS {result['rss_mb']:7.0f} MB",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "bench": "build",
                "rows": full["rows"],
                "input_mb": round(input_mb, 1),
                "rows_per_s": round(full["rows_per_s"]),
                "rows_per_cpu_s": round(full["rows_per_cpu_s"]),
                "rows_per_s_2_workers": round(parallel["rows_per_s"]),
                "composite_rows_per_s": round(composite["rows_per_s"]),
                "peak_rss_mb": round(full["rss_mb"]),
                "peak_rss_mb_quarter": round(quarter["rss_mb"]),
                "rss_ratio_full_vs_quarter": round(full["rss_mb"] / quarter["rss_mb"], 3),
                "baseline_rows_per_s": round(baseline["rows_per_s"]),
                "baseline_peak_rss_mb": round(baseline["rss_mb"]),
                "baseline_rows_per_cpu_s": round(baseline["rows_per_cpu_s"]),
                "ratio_vs_baseline": round(full["rows_per_s"] / baseline["rows_per_s"], 3),
                "ratio_vs_baseline_cpu": round(full["rows_per_cpu_s"] / baseline["rows_per_cpu_s"], 3),
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
