"""tokens: one flat token file for np.memmap loaders (nanoGPT style), with a Megatron index beside it.

`tokens.bin` holds uint16 ids when the vocabulary has < 65,536 ids, else uint32, with EOS after
every document; `tokens.offsets.npy` the int64 start of every document plus the end; `tokens.idx`
a Megatron `MMIDIDX` index over the same `.bin`, so `tokens` is also a Megatron data prefix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curriscale.builders.exports.indexed import IndexedWriter
from curriscale.builders.exports.sidecars import DOCUMENTS, DocumentTable
from curriscale.builders.exports.stream import ExportStream, Progress
from curriscale.curricula.encoding import token_dtype
from curriscale.io import atomic_output


def write_stream(stream: ExportStream, prefix: Path, dtype: np.dtype, progress: Progress | None) -> list[int]:
    """Write the stream as an indexed dataset at `prefix` (one sequence per document, EOS appended)
    and the document table beside it; return the sequence lengths."""
    eos = np.array([stream.encoder.eos_id], dtype=np.int64)
    documents = DocumentTable()
    with IndexedWriter(prefix, dtype) as writer:
        for items in stream.batches(progress, with_ids=True):
            documents.add(items)
            for item in items:
                writer.add(np.concatenate([item.ids, eos]))
    documents.write(prefix.parent / DOCUMENTS)
    return writer.sizes


def export_tokens(stream: ExportStream, out: Path, progress: Progress | None, **_: object) -> dict:
    encoder = stream.encoder
    dtype = token_dtype(encoder.vocab_size)
    sizes = write_stream(stream, out / "tokens", dtype, progress)
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
    with atomic_output(out / "tokens.offsets.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, offsets)
    return {
        "dtype": dtype.name,
        "vocab_size": encoder.vocab_size,
        "eos_id": encoder.eos_id,
        "files": {
            "tokens": "tokens.bin",
            "offsets": "tokens.offsets.npy",
            "megatron_index": "tokens.idx",
            "documents": DOCUMENTS,
        },
    }
