"""deepspeed: the difficulty index and `data_efficiency` config of DeepSpeed's curriculum data sampler.

DeepSpeed's sampler (`data_efficiency.data_sampling.curriculum_learning`) draws every global batch
uniformly from all samples whose metric is at most the current difficulty, and its schedule raises
that difficulty over optimizer steps. The export maps the manifest onto that:

- `dataset.bin/.idx`: every tier's documents once, tier after tier (int32 ids, EOS appended; the
  Megatron/DeepSpeed indexed format), so sample i is document i; `dataset.documents.parquet` says
  which document and tier each sample is.
- metric `curriscale_tier`: a tier's rank in the order the schedule first gives it weight (1 = the
  first tier the curriculum opens; for easy-to-hard ladders the tier order). DeepSpeed's own index
  files, `curriscale_tier/curriscale_tier_index_to_sample_percentile_merged` and
  `..._index_to_metric`, list the samples of each metric value.
- the pacing as `fixed_discrete`: per stage, the highest rank among the tiers it samples, changing at
  the step where the stage ends in the exported stream (documents / `train_batch_size`).

Where DeepSpeed cannot follow the manifest, `deepspeed.json` says so per stage: its pool only grows
(a tier once opened stays, so exclusive or hard-to-easy stages do not map), and inside the pool it
samples documents uniformly, so a tier's share is its size, not the manifest's weight.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.builders.exports.indexed import IndexedWriter
from curriscale.builders.exports.stream import ExportStream, Progress
from curriscale.builders.exports.tiers import tier_documents
from curriscale.io import atomic_output, atomic_write_json, remove_tree

METRIC = "curriscale_tier"
INDEX_TO_SAMPLE = f"{METRIC}/{METRIC}_index_to_sample_percentile_merged"
INDEX_TO_METRIC = f"{METRIC}/{METRIC}_index_to_metric"
POOL_DOCUMENTS = "dataset.documents.parquet"


def tier_ranks(stage_weights: list[np.ndarray]) -> list[int | None]:
    """Per tier, its rank (1, 2, ...) in the order the schedule first weights it; None if never."""
    first = {}
    for stage, weights in enumerate(stage_weights):
        for tier in np.flatnonzero(weights > 0):
            first.setdefault(int(tier), stage)
    order = sorted(first, key=lambda tier: (first[tier], tier))
    ranks = {tier: rank + 1 for rank, tier in enumerate(order)}
    return [ranks.get(tier) for tier in range(len(stage_weights[0]))]


def _write_pool(stream: ExportStream, out: Path) -> list[int]:
    """dataset.bin/.idx and its documents table; returns the documents per tier."""
    eos = np.array([stream.encoder.eos_id], dtype=np.int64)
    ids, tiers, counts = [], [], []
    with IndexedWriter(out / "dataset", np.dtype(np.int32)) as writer:
        for tier in stream.manifest.tiers:
            before = len(ids)
            for names, rows in tier_documents(stream.manifest, tier["index"], stream.encoder):
                ids += names
                for row in rows:
                    writer.add(np.concatenate([row, eos]))
            tiers += [tier["index"]] * (len(ids) - before)
            counts.append(len(ids) - before)
    table = pa.table({"id": pa.array(ids, pa.string()), "tier": pa.array(tiers, pa.int32())})
    with atomic_output(out / POOL_DOCUMENTS) as tmp:
        pq.write_table(table, tmp)
    return counts


def _write_metric_index(out: Path, ranks: list[int | None], counts: list[int]) -> None:
    """DeepSpeed's index_to_sample / index_to_metric pair: one row per metric value, ascending."""
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    values = sorted({rank for rank in ranks if rank is not None})
    with (
        IndexedWriter(out / INDEX_TO_SAMPLE, np.dtype(np.int64)) as samples,
        IndexedWriter(out / INDEX_TO_METRIC, np.dtype(np.int64)) as metric,
    ):
        for value in values:
            members = [t for t, rank in enumerate(ranks) if rank == value]
            samples.add(np.concatenate([np.arange(starts[t], starts[t + 1]) for t in members]))
            metric.add(np.array([value], dtype=np.int64))


def _stage_mapping(
    stream: ExportStream, ranks: list[int | None], counts: list[int], train_batch_size: int
) -> list[dict]:
    """Per stage: DeepSpeed's difficulty, the step it ends at, and its weights against the manifest's.

    The difficulty is a running maximum because DeepSpeed's pool only grows; the pool's weights are
    the open tiers' sizes, since DeepSpeed samples documents uniformly inside it.
    """
    stages, ceiling = [], 0
    for row in stream.stages.rows:
        opened = [ranks[t] for t in np.flatnonzero(np.asarray(row["weights"]) > 0)]
        ceiling = max(ceiling, *opened)
        pool = np.array(
            [
                count if rank is not None and rank <= ceiling else 0
                for rank, count in zip(ranks, counts, strict=True)
            ],
            dtype=float,
        )
        deepspeed_weights = (pool / pool.sum()).tolist()
        difference = float(np.max(np.abs(np.asarray(deepspeed_weights) - np.asarray(row["weights"]))))
        end = row["first_document"] + row["documents"]
        stages.append(
            {
                "stage": row["stage"],
                "difficulty": ceiling,
                "last_step": max(1, round(end / train_batch_size)),
                "manifest_weights": row["weights"],
                "deepspeed_weights": deepspeed_weights,
                "max_weight_difference": round(difference, 6),
            }
        )
    return stages


def _fixed_discrete(stages: list[dict]) -> tuple[list[int], list[int]]:
    """The `fixed_discrete` schedule: each distinct difficulty and the last step before the next."""
    difficulties, max_steps = [], []
    for stage in stages:
        if difficulties and difficulties[-1] == stage["difficulty"]:
            max_steps[-1] = stage["last_step"]  # consecutive stages at one difficulty merge
        else:
            difficulties.append(stage["difficulty"])
            max_steps.append(stage["last_step"])
    max_steps = max_steps[:-1]
    if not max_steps:  # fixed_discrete needs one boundary: a single difficulty from step 1 on
        difficulties, max_steps = difficulties * 2, [1]
    return difficulties, max_steps


def _ds_config(
    stream: ExportStream, out: Path, stages: list[dict], counts: list[int], train_batch_size: int
) -> dict:
    """ds_config.json: `train_batch_size` and the `data_efficiency` block that samples the pool."""
    difficulties, max_steps = _fixed_discrete(stages)
    curriculum = {
        "enabled": True,
        "data_cluster_path": str((out / "clusters").resolve()),
        "curriculum_metrics": {
            METRIC: {
                "index_to_sample_path": str((out / INDEX_TO_SAMPLE).resolve()),
                "index_to_metric_path": str((out / INDEX_TO_METRIC).resolve()),
                "difficulty_type": "value",
                "clustering_type": "schedule_based",
                "min_difficulty": difficulties[0],
                "max_difficulty": max(difficulties),
                "schedule_type": "fixed_discrete",
                "schedule_config": {"difficulty": difficulties, "max_step": max_steps},
            }
        },
    }
    return {
        "train_batch_size": train_batch_size,
        "data_efficiency": {
            "enabled": True,
            "seed": stream.seed,
            "data_sampling": {
                "enabled": True,
                "num_epochs": max(1, math.ceil(stream.stages.documents / max(1, sum(counts)))),
                "num_workers": 0,
                "curriculum_learning": curriculum,
            },
        },
    }


def _differences(stages: list[dict], ranks: list[int | None]) -> list[str]:
    """Where DeepSpeed's sampler departs from the manifest, in words; empty if it follows exactly."""
    differences = []
    if any(stage["max_weight_difference"] > 1e-6 for stage in stages):
        differences.append(
            "inside its pool DeepSpeed samples documents uniformly, so each open tier gets a share "
            "proportional to its size; see each stage's deepspeed_weights against manifest_weights"
        )
    if any(
        rank is not None and rank <= stage["difficulty"] and stage["manifest_weights"][t] == 0
        for stage in stages
        for t, rank in enumerate(ranks)
    ):
        differences.append(
            "DeepSpeed's pool only grows: a tier the manifest stops sampling (exclusive or "
            "hard-to-easy stages) stays in the pool"
        )
    return differences


def export_deepspeed(
    stream: ExportStream,
    out: Path,
    progress: Progress | None,
    train_batch_size: int | None = None,
    **_: object,
) -> dict:
    """Write the pool, DeepSpeed's difficulty index, `ds_config.json` and the `deepspeed.json` notes.

    Args:
        stream: the curriculum to export; its stage table is filled by running through it once.
        out: the export folder.
        progress: reports documents as the stream is read, or None.
        train_batch_size: documents per optimizer step; turns stage ends into DeepSpeed steps.

    Returns:
        The format's part of export.json: dtype, vocabulary, EOS id and the files written.
    """
    assert train_batch_size, "export_curriculum checks it"
    for _ in stream.batches(progress):  # the stage table: where each stage ends in documents
        pass
    remove_tree(out / METRIC)  # fresh, and never a planted link's target
    (out / METRIC).mkdir()
    counts = _write_pool(stream, out)
    ranks = tier_ranks(stream.sampler.stage_weights)
    _write_metric_index(out, ranks, counts)
    stages = _stage_mapping(stream, ranks, counts, train_batch_size)
    atomic_write_json(out / "ds_config.json", _ds_config(stream, out, stages, counts, train_batch_size))
    differences = _differences(stages, ranks)
    atomic_write_json(
        out / "deepspeed.json",
        {
            "metric": METRIC,
            "tier_metric": ranks,
            "pool_documents": counts,
            "curriculum_documents": stream.stages.documents,
            "train_batch_size": train_batch_size,
            "train_steps": math.ceil(stream.stages.documents / train_batch_size),
            "stages": stages,
            "exact": not differences,
            "differences": differences,
        },
    )
    return {
        "dtype": "int32",
        "vocab_size": stream.encoder.vocab_size,
        "eos_id": stream.encoder.eos_id,
        "files": {
            "dataset": ["dataset.bin", "dataset.idx"],
            "dataset_documents": POOL_DOCUMENTS,
            "metric": METRIC,
            "config": "ds_config.json",
            "mapping": "deepspeed.json",
        },
    }
