"""Export a curriculum for trainers that never import curriscale: token .bin, ordered JSONL, HF datasets.

Every format walks the same stream as `CurriculumSampler(stop_at_end=True)`: documents in schedule
order until the budget is spent, so "train on the export front to back" is the curriculum. Each
export folder holds an `export.json` sidecar (what was exported, how many documents and tokens, and
the stage table: where each schedule interval starts in the stream, with its tier weights).

- tokens: `tokens.bin` (uint16 when the vocabulary has < 65536 ids, else uint32; EOS after every
  document) for `np.memmap` loaders such as nanoGPT's; `tokens.offsets.npy` (int64 start of every
  document, plus the end); `tokens.idx`, a Megatron `MMIDIDX` index, so `tokens` is a Megatron
  data prefix.
- jsonl: `curriculum.jsonl`, one document per line (id, text, tier, stage, carried columns).
- hf: `ordered/`, one ordered `datasets.Dataset` (`load_from_disk`); `tiers/tier=NN/`, one dataset per
  tier; `interleave.json`, per-stage tier probabilities for `datasets.interleave_datasets`.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale import __version__
from curriscale.curricula.encoding import Encoder, make_encoder, token_dtype
from curriscale.curricula.manifest import Manifest, load_manifest
from curriscale.curricula.sampler import CurriculumSampler, Draw
from curriscale.curricula.tier_reader import reading_tier_file
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output, atomic_write_json, remove_temporaries, remove_tree, replace_folder
from curriscale.locking import folder_lock

FORMATS = ("tokens", "jsonl", "hf")
Progress = Callable[[float], None]  # called with the schedule progress fraction in [0, 1]
_FLUSH_TOKENS = 1 << 20  # write the .bin in ~1M-token chunks: bounded memory, few syscalls
_MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
# Megatron's dtype codes; uint32 has none, but ids below 2**31 read back unchanged as int32 (code 4).
_MEGATRON_CODES = {np.dtype(np.uint16): 8, np.dtype(np.uint32): 4}


class _StageTable:
    """Records where each schedule interval begins in the exported stream."""

    def __init__(self, sampler: CurriculumSampler):
        self.sampler, self.rows, self.documents, self.tokens = sampler, [], 0, 0

    def add(self, draw: Draw) -> None:
        # Position only grows, so stages arrive in order and each opens exactly once.
        if not self.rows or self.rows[-1]["stage"] != draw.stage:
            interval = self.sampler.manifest.schedule[draw.stage]
            self.rows.append(
                {
                    "stage": draw.stage,
                    "start": interval["start"],
                    "end": interval["end"],
                    "weights": self.sampler.stage_weights[draw.stage].tolist(),
                    "first_document": self.documents,
                    "first_token": self.tokens,
                    "documents": 0,
                    "tokens": 0,
                }
            )
        self.rows[-1]["documents"] += 1
        self.rows[-1]["tokens"] += draw.n_tokens
        self.documents += 1
        self.tokens += draw.n_tokens


def _walk(sampler: CurriculumSampler, stages: _StageTable, progress: Progress | None) -> Iterator[Draw]:
    """Draws of the whole stream, recorded in the stage table, reporting progress now and then."""
    for draw in sampler:
        stages.add(draw)
        if progress is not None and draw.index % 4096 == 0:
            progress(min(sampler.position / sampler.total, 1.0))
        yield draw
    if progress is not None:
        progress(1.0)


def _export_tokens(
    sampler: CurriculumSampler, out: Path, stages: _StageTable, progress: Progress | None
) -> dict:
    encoder = sampler.encoder
    dtype = token_dtype(encoder.vocab_size)
    eos = np.array([encoder.eos_id], dtype=np.int64)
    sizes, chunk, pending = [], [], 0
    with atomic_output(out / "tokens.bin") as tmp, open(tmp, "wb") as handle:
        for draw in _walk(sampler, stages, progress):
            ids = draw.token_ids()
            chunk += [ids, eos]
            sizes.append(len(ids) + 1)
            pending += len(ids) + 1
            if pending >= _FLUSH_TOKENS:
                np.concatenate(chunk).astype(dtype).tofile(handle)
                chunk, pending = [], 0
        if chunk:
            np.concatenate(chunk).astype(dtype).tofile(handle)
    sizes = np.asarray(sizes, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    with atomic_output(out / "tokens.offsets.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, offsets)
    _write_megatron_index(out / "tokens.idx", sizes, dtype)
    return {
        "dtype": dtype.name,
        "vocab_size": encoder.vocab_size,
        "eos_id": encoder.eos_id,
        "files": {"tokens": "tokens.bin", "offsets": "tokens.offsets.npy", "megatron_index": "tokens.idx"},
    }


def _write_megatron_index(path: Path, sizes: np.ndarray, dtype: np.dtype) -> None:
    """Megatron-LM's MMIDIDX index: one sequence per document, byte pointers into tokens.bin."""
    pointers = np.zeros(len(sizes), dtype=np.int64)
    pointers[1:] = np.cumsum(sizes[:-1]) * dtype.itemsize
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(_MEGATRON_MAGIC)
        handle.write(struct.pack("<Q", 1))  # index version
        handle.write(struct.pack("<B", _MEGATRON_CODES[dtype]))
        handle.write(struct.pack("<Q", len(sizes)))  # sequences
        handle.write(struct.pack("<Q", len(sizes) + 1))  # document boundaries
        handle.write(sizes.astype(np.int32).tobytes())
        handle.write(pointers.tobytes())
        handle.write(np.arange(len(sizes) + 1, dtype=np.int64).tobytes())


def _export_jsonl(
    sampler: CurriculumSampler, out: Path, stages: _StageTable, progress: Progress | None
) -> dict:
    with atomic_output(out / "curriculum.jsonl") as tmp, open(tmp, "wb") as handle:
        for draw in _walk(sampler, stages, progress):
            document = draw.document()
            document["stage"] = draw.stage
            handle.write(orjson.dumps(document, default=str, option=orjson.OPT_APPEND_NEWLINE))
    return {"files": {"documents": "curriculum.jsonl"}}


def _ordered_schema(sampler: CurriculumSampler) -> pa.Schema:
    """One schema for documents of every tier: id, text, tier, stage, then the carried columns."""
    files = [path for index in range(len(sampler.tiers)) for path in sampler.manifest.tier_files(index)]
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


def _export_hf(sampler: CurriculumSampler, out: Path, stages: _StageTable, progress: Progress | None) -> dict:
    try:
        import datasets
    except ImportError as error:
        raise CurriscaleError(
            "--format hf needs the Hugging Face datasets package: pip install datasets"
        ) from error
    schema = _ordered_schema(sampler)
    # Named like atomic_output's temporaries, so a rerun removes the one a killed export left.
    with tempfile.TemporaryDirectory(dir=out, prefix=".hf.", suffix=".tmp") as scratch:
        # Stream rows into an Arrow file that datasets memory-maps: the export never sits in RAM.
        arrow = Path(scratch) / "ordered.arrow"
        with pa.OSFile(str(arrow), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            rows = []
            for draw in _walk(sampler, stages, progress):
                rows.append({**draw.document(), "stage": draw.stage})
                if len(rows) == 8192:
                    writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
                    rows = []
            writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
        _save_dataset(datasets.Dataset.from_file(str(arrow)), out / "ordered")
        tier_dirs = []
        for index, tier in enumerate(sampler.manifest.tiers):
            files = [str(path) for path in sampler.manifest.tier_files(index)]
            tier_dirs.append(f"tiers/{tier['name']}")
            dataset = (
                datasets.Dataset.from_parquet(files, cache_dir=scratch)
                if files
                else datasets.Dataset.from_dict({})
            )
            _save_dataset(dataset, out / tier_dirs[-1])
    total = sampler.total
    interleave = {
        "tiers": tier_dirs,
        "stages": [
            {
                "stage": row["stage"],
                "start_fraction": row["start"] / total,
                "end_fraction": row["end"] / total,
            }
            | {"probabilities": row["weights"]}
            for row in stages.rows
        ],
    }
    atomic_write_json(out / "interleave.json", interleave)
    return {"files": {"ordered": "ordered", "tiers": tier_dirs, "interleave": "interleave.json"}}


_EXPORTERS = {"tokens": _export_tokens, "jsonl": _export_jsonl, "hf": _export_hf}


def check_format(fmt: str) -> None:
    """Raise `CurriscaleError` unless `fmt` is one of `FORMATS`."""
    if fmt not in FORMATS:
        raise CurriscaleError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")


def schedule_in_encoder_tokens(manifest: Manifest, encoder: Encoder, sample_rows: int = 2000) -> int:
    """The schedule's total, converted from the manifest's unit to the encoder's tokens.

    A manifest counts in its own unit (whitespace words, say) and an export may count bytes or BPE
    tokens; exporting "the whole schedule" needs the total in the export's unit. Tokens per unit is
    measured on up to `sample_rows` documents of each tier and weighted by the tokens the schedule
    expects to draw from that tier (by the tier's size when the manifest records no consumption).
    """
    expected = [use["expected_tokens"] for use in manifest.data.get("consumption", [])]
    if not any(expected):  # no consumption recorded: weigh tiers by their size
        expected = [tier["tokens"] for tier in manifest.tiers]
    ratios, weights = [], []
    for tier, weight in zip(manifest.tiers, expected, strict=True):
        files = manifest.tier_files(tier["index"])
        if not files or not weight:
            continue
        counted = manifest.data["token_unit"] == "n_tokens"  # else whitespace words
        columns = ["text", "n_tokens"] if counted else ["text"]
        with reading_tier_file(files[0]):
            sample = pq.ParquetFile(files[0]).read_row_group(0, columns=columns).slice(0, sample_rows)
        texts = sample.column("text").to_pylist()
        units = (
            sum(n or 0 for n in sample.column("n_tokens").to_pylist())
            if counted
            else sum(len(text.split()) for text in texts)
        )
        tokens = sum(len(ids) + 1 for ids in encoder.encode_batch(texts))  # +1: the EOS separator
        if units:
            ratios.append(tokens / units)
            weights.append(weight)
    ratio = float(np.average(ratios, weights=weights)) if ratios else 1.0
    return max(1, round(manifest.total * ratio))


def export_curriculum(
    manifest: str | Path,
    fmt: str,
    out: str | Path,
    *,
    tokenizer: Any = None,
    budget_tokens: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the curriculum's document stream, in schedule order, in one of `FORMATS`.

    Args:
        manifest: the curriculum folder or its `manifest.json`.
        fmt: "tokens", "jsonl" or "hf".
        out: output folder (created); files are written atomically, `export.json` last.
        tokenizer: "bytes", a `tokenizer.json` path, or a `tokenizers.Tokenizer`; "tokens" defaults to
            "bytes". With a tokenizer, progress through the schedule is counted in its tokens.
        budget_tokens: tokens to export, in the tokenizer's tokens (progress = consumed / budget);
            default the schedule total, converted to the tokenizer's tokens when it counts in
            another unit than the manifest (`schedule_in_encoder_tokens`; export.json then says
            `budget_estimated: true`).
        seed: the stream's seed, as for `CurriculumSampler`.
        progress: optional callback with the progress fraction, for progress bars.

    Returns:
        The `export.json` content: format, counts, stage table, and format-specific fields.

    Raises:
        CurriscaleError: unknown format, unreadable manifest or tokenizer, `datasets` missing for hf,
            another process writing into `out` (`folder_lock`).
    """
    check_format(fmt)
    if fmt == "tokens" and tokenizer is None:
        tokenizer = "bytes"
    encoder = None if tokenizer is None else make_encoder(tokenizer)
    estimated = budget_tokens is None and encoder is not None
    if estimated:
        budget_tokens = schedule_in_encoder_tokens(load_manifest(manifest), encoder)
    sampler = CurriculumSampler(
        manifest, seed, encoder=encoder, budget_tokens=budget_tokens, stop_at_end=True
    )
    out = Path(out)
    with folder_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        # export.json marks a finished export: drop an old one first, so an interrupted rerun never
        # leaves new data files beside a stale sidecar.
        (out / "export.json").unlink(missing_ok=True)
        remove_temporaries(out)  # a killed export's half-written files (we hold the folder's lock)
        stages = _StageTable(sampler)
        details = _EXPORTERS[fmt](sampler, out, stages, progress)
        summary = {
            "format": fmt,
            "created_by": f"curriscale {__version__}",
            "manifest": sampler.manifest.name,
            "seed": seed,
            "budget_tokens": budget_tokens,
            "budget_estimated": estimated,
            "token_unit": encoder.name if encoder else sampler.manifest.data["token_unit"],
            "documents": stages.documents,
            "tokens": stages.tokens,
            "stages": stages.rows,
            **details,
        }
        atomic_write_json(out / "export.json", summary)
        return summary
