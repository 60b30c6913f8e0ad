"""Export a curriculum for trainers that never import curriscale, one module per format.

Every format writes the same document stream (`stream.ExportStream`: documents in schedule order
until the schedule is spent), so "train on the export front to back" is the curriculum, and the
exports of one curriculum hold the same documents whatever their format or tokenizer. Each export
folder holds `export.json` (written last: what was exported, counts, the stage table, the sha256 of
every file) and `curriculum.manifest.json`, a byte copy of the manifest it came from;
`curriscale verify EXPORT` checks one against the other (`verify.verify_export`).

| format   | for                        | module       |
| tokens   | np.memmap / nanoGPT        | `tokens`     |
| jsonl    | anything reading JSON      | `text`       |
| hf       | HF Trainer, TRL, datasets  | `text`       |
| megatron | Megatron-LM, NeMo          | `megatron`   |
| litdata  | litdata, litgpt            | `litdata`    |
| deepspeed| DeepSpeed data efficiency  | `deepspeed`  |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curriscale import __version__
from curriscale.builders.exports.deepspeed import export_deepspeed
from curriscale.builders.exports.litdata import export_litdata
from curriscale.builders.exports.megatron import export_megatron
from curriscale.builders.exports.sidecars import MANIFEST_COPY, SIDECAR, checksums, copy_manifest
from curriscale.builders.exports.stream import ExportStream, Progress
from curriscale.builders.exports.text import export_hf, export_jsonl
from curriscale.builders.exports.tokens import export_tokens
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json, remove_temporaries
from curriscale.locking import folder_lock

_EXPORTERS = {
    "tokens": export_tokens,
    "jsonl": export_jsonl,
    "hf": export_hf,
    "megatron": export_megatron,
    "litdata": export_litdata,
    "deepspeed": export_deepspeed,
}
FORMATS = tuple(_EXPORTERS)
TOKEN_FORMATS = ("tokens", "megatron", "litdata", "deepspeed")  # formats that write token ids

__all__ = ["FORMATS", "TOKEN_FORMATS", "check_format", "export_curriculum"]


def check_format(fmt: str) -> None:
    """Raise `CurriscaleError` unless `fmt` is one of `FORMATS`."""
    if fmt not in FORMATS:
        raise CurriscaleError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _listed(files: dict[str, Any]) -> list[str]:
    """Every path a format's `files` entry names (strings, or lists of them)."""
    paths = []
    for value in files.values():
        paths += value if isinstance(value, list) else [value]
    return paths


def _tokenizer_spec(tokenizer: Any) -> str | None:
    """How export.json names the tokenizer, so `verify` can rebuild the stream: "bytes", an absolute
    tokenizer.json path, or None for an object passed in code."""
    if not isinstance(tokenizer, str | Path):
        return None
    if tokenizer == "bytes":
        return tokenizer
    return str(Path(tokenizer).resolve())


def export_curriculum(
    manifest: str | Path,
    fmt: str,
    out: str | Path,
    *,
    tokenizer: Any = None,
    budget_tokens: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    chunk_tokens: int | None = None,
    train_batch_size: int | None = None,
) -> dict[str, Any]:
    """Write the curriculum's document stream, in schedule order, in one of `FORMATS`.

    Args:
        manifest: the curriculum folder or its `manifest.json`.
        fmt: one of `FORMATS`.
        out: output folder (created); files are written atomically, `export.json` last.
        tokenizer: "bytes", a `tokenizer.json` path, a `tokenizers.Tokenizer` or an `Encoder`; the
            token formats default to "bytes". It encodes the documents; it changes which documents
            are drawn only together with `budget_tokens`.
        budget_tokens: count progress in the tokenizer's tokens and stretch the schedule over this
            many (the stream `curriscale train` reads with the same budget); default: the schedule's
            own total in the manifest's unit, the same documents for every format and tokenizer.
        seed: the stream's seed, as for `CurriculumSampler`.
        progress: optional callback with the progress fraction, for progress bars.
        chunk_tokens: litdata only: tokens per chunk (default ~16M).
        train_batch_size: deepspeed only (required): documents per optimizer step.

    Returns:
        The `export.json` content: format, counts, stage table, checksums, format-specific fields.

    Raises:
        CurriscaleError: unknown format, unreadable manifest or tokenizer, a missing option or
            package (`datasets` for hf), another process writing into `out` (`folder_lock`).
    """
    check_format(fmt)
    if fmt == "deepspeed" and (not train_batch_size or train_batch_size < 1):
        raise CurriscaleError(
            "--format deepspeed needs --train-batch-size (documents per optimizer step, DeepSpeed's "
            "train_batch_size): its curriculum schedule counts steps"
        )
    if fmt in TOKEN_FORMATS and tokenizer is None:
        tokenizer = "bytes"
    stream = ExportStream(manifest, tokenizer=tokenizer, budget_tokens=budget_tokens, seed=seed)
    out = Path(out)
    with folder_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        # export.json marks a finished export: drop an old one first, so an interrupted rerun never
        # leaves new data files beside a stale sidecar.
        (out / SIDECAR).unlink(missing_ok=True)
        remove_temporaries(out)  # a killed export's half-written files (we hold the folder's lock)
        details = _EXPORTERS[fmt](
            stream, out, progress, chunk_tokens=chunk_tokens, train_batch_size=train_batch_size
        )
        source = copy_manifest(stream.manifest, out)
        summary = {
            "format": fmt,
            "created_by": f"curriscale {__version__}",
            **source,
            "tokenizer": _tokenizer_spec(tokenizer),
            **stream.summary(),
            **details,
        }
        summary["checksums"] = checksums(out, [MANIFEST_COPY, *_listed(details["files"])])
        atomic_write_json(out / SIDECAR, summary)
        return summary
