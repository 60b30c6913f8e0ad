"""jsonl and hf: the documents themselves, in stream order.

- jsonl: `curriculum.jsonl`, one document per line (id, text, tier, stage, carried columns).
- hf: `ordered/`, one ordered `datasets.Dataset` (`load_from_disk`); `tiers/<tier>/`, one dataset per
  tier; `interleave.json`, per-stage tier probabilities for `datasets.interleave_datasets`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.builders.exports.stream import ExportStream, Progress
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output, atomic_write_json, remove_tree, replace_folder


def export_jsonl(stream: ExportStream, out: Path, progress: Progress | None, **_: object) -> dict:
    with atomic_output(out / "curriculum.jsonl") as tmp, open(tmp, "wb") as handle:
        for items in stream.batches(progress):
            for item in items:
                document = item.draw.document()
                document["stage"] = item.draw.stage
                handle.write(orjson.dumps(document, default=str, option=orjson.OPT_APPEND_NEWLINE))
    return {"files": {"documents": "curriculum.jsonl"}}


def _ordered_schema(stream: ExportStream) -> pa.Schema:
    """One schema for documents of every tier: id, text, tier, stage, then the carried columns."""
    manifest = stream.manifest
    files = [path for tier in manifest.tiers for path in manifest.tier_files(tier["index"])]
    carried = pa.unify_schemas([pq.read_schema(path) for path in files], promote_options="permissive")
    fixed = [pa.field("id", pa.string()), pa.field("text", pa.string())]
    fixed += [pa.field("tier", pa.int64()), pa.field("stage", pa.int64())]
    names = {field.name for field in fixed}
    return pa.schema(fixed + [field for field in carried if field.name not in names])


def _save_dataset(dataset: Any, target: Path) -> None:
    """`save_to_disk` into a staging folder beside `target`, then swap it in (`replace_folder`).

    A crash at any point leaves the complete old dataset or the complete new one, never half of one.
    """
    staging = target.with_name(f".{target.name}.tmp")
    remove_tree(staging)
    dataset.save_to_disk(str(staging))
    replace_folder(staging, target)


def export_hf(stream: ExportStream, out: Path, progress: Progress | None, **_: object) -> dict:
    try:
        import datasets
    except ImportError as error:
        raise CurriscaleError(
            "--format hf needs the Hugging Face datasets package: pip install datasets"
        ) from error
    schema = _ordered_schema(stream)
    # Named like atomic_output's temporaries, so a rerun removes the one a killed export left.
    with tempfile.TemporaryDirectory(dir=out, prefix=".hf.", suffix=".tmp") as scratch:
        # Stream rows into an Arrow file that datasets memory-maps: the export never sits in RAM.
        arrow = Path(scratch) / "ordered.arrow"
        with pa.OSFile(str(arrow), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for items in stream.batches(progress):
                rows = [{**item.draw.document(), "stage": item.draw.stage} for item in items]
                writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
            writer.write_batch(pa.RecordBatch.from_pylist([], schema=schema))
        _save_dataset(datasets.Dataset.from_file(str(arrow)), out / "ordered")
        tier_dirs = []
        for tier in stream.manifest.tiers:
            files = [str(path) for path in stream.manifest.tier_files(tier["index"])]
            tier_dirs.append(f"tiers/{tier['name']}")
            dataset = (
                datasets.Dataset.from_parquet(files, cache_dir=scratch)
                if files
                else datasets.Dataset.from_dict({})
            )
            _save_dataset(dataset, out / tier_dirs[-1])
    total = stream.sampler.total
    interleave = {
        "tiers": tier_dirs,
        "stages": [
            {
                "stage": row["stage"],
                "start_fraction": row["start"] / total,
                "end_fraction": row["end"] / total,
                "probabilities": row["weights"],
            }
            for row in stream.stages.rows
        ],
    }
    atomic_write_json(out / "interleave.json", interleave)
    return {"files": {"ordered": "ordered", "tiers": tier_dirs, "interleave": "interleave.json"}}
