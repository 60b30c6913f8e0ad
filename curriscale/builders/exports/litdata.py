"""litdata: chunks that litdata's `StreamingDataset` reads with its `TokensLoader` (what litgpt trains on).

The layout is litdata's own optimize output for token streams, written directly (litdata is not
needed to export): `index.json` and `chunk-0-<k>.bin` files, each a uint32 item count, uint32 byte
offsets, then the items' ids (`no_header_numpy`, uint16 or uint32). An item is one document with its
EOS; a chunk holds whole documents, about `chunk_tokens` tokens, chunks in stream order.

`StreamingDataset(dir, item_loader=TokensLoader(block_size=seq_len + 1), shuffle=False)` then yields
consecutive blocks in curriculum order (with a DataLoader of 0 or 1 worker: more workers each read
their own share of the chunks and take turns). TokensLoader cuts blocks inside each chunk, so the
last `len(chunk) % block_size` tokens of every chunk are skipped: fewer than one block per chunk.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curriscale.builders.exports.sidecars import DOCUMENTS, DocumentTable
from curriscale.builders.exports.stream import ExportStream, Progress
from curriscale.curricula.encoding import token_dtype
from curriscale.io import atomic_output, atomic_write_text

CHUNK_TOKENS = 1 << 24  # litgpt's own prepare scripts use ~16M-token chunks
# litdata's _NUMPY_DTYPES_MAPPING index of the item dtype, as in "no_header_numpy:<index>".
NUMPY_CODES = {np.dtype(np.uint16): 5, np.dtype(np.uint32): 6}
# The data_spec litdata writes for a plain array item: torch's pytree leaf, serialised.
LEAF_SPEC = '[1, {"type": null, "context": null, "children_spec": []}]'


def _write_chunk(path: Path, items: list[np.ndarray], dtype: np.dtype) -> int:
    """One chunk file: item count, byte offsets from the file start, the items; returns its size."""
    header = 4 * (len(items) + 2)
    lengths = np.array([len(item) * dtype.itemsize for item in items], dtype=np.int64)
    offsets = header + np.concatenate([[0], np.cumsum(lengths)])
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(np.uint32(len(items)).tobytes())
        handle.write(offsets.astype(np.uint32).tobytes())
        handle.write(np.concatenate(items).astype(dtype).tobytes())
    return int(offsets[-1])


def export_litdata(
    stream: ExportStream, out: Path, progress: Progress | None, chunk_tokens: int | None = None, **_: object
) -> dict:
    chunk_tokens = chunk_tokens or CHUNK_TOKENS
    encoder = stream.encoder
    dtype = token_dtype(encoder.vocab_size)
    if dtype.itemsize * chunk_tokens >= 2**32 - 4096:
        chunk_tokens = (2**32 - 4096) // dtype.itemsize // 2  # offsets are uint32
    for stale in out.glob("chunk-*.bin"):  # a previous export's chunks (unlink never follows a link)
        stale.unlink()
    eos = np.array([encoder.eos_id], dtype=np.int64)
    documents = DocumentTable()
    chunks, table, pending, pending_tokens = [], [], [], 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        name = f"chunk-0-{len(chunks)}.bin"
        size = _write_chunk(out / name, pending, dtype)
        chunks.append(
            {"chunk_bytes": size, "chunk_size": len(pending), "dim": pending_tokens, "filename": name}
        )
        first = table[-1]["first_document"] + table[-1]["documents"] if table else 0
        table.append(
            {"filename": name, "first_document": first, "documents": len(pending), "tokens": pending_tokens}
        )
        pending, pending_tokens = [], 0

    for items in stream.batches(progress, with_ids=True):
        documents.add(items)
        for item in items:
            pending.append(np.concatenate([item.ids, eos]))
            pending_tokens += len(item.ids) + 1
            if pending_tokens >= chunk_tokens:
                flush()
    if pending:
        flush()
    documents.write(out / DOCUMENTS)
    config = {
        "chunk_bytes": None,
        "chunk_size": chunk_tokens,
        "compression": None,
        "data_format": [f"no_header_numpy:{NUMPY_CODES[dtype]}"],
        "data_spec": LEAF_SPEC,
        "encryption": None,
        "item_loader": "TokensLoader",
    }
    index = {"chunks": chunks, "config": config, "updated_at": "0"}
    atomic_write_text(out / "index.json", json.dumps(index, sort_keys=True))
    return {
        "dtype": dtype.name,
        "vocab_size": encoder.vocab_size,
        "eos_id": encoder.eos_id,
        "chunks": table,
        "files": {
            "index": "index.json",
            "chunks": [chunk["filename"] for chunk in chunks],
            "documents": DOCUMENTS,
        },
    }
