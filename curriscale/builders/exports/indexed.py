"""Megatron's indexed dataset (`MMIDIDX` `.bin` + `.idx`), written without importing Megatron.

The layout is the one `megatron.core.datasets.indexed_dataset.IndexedDataset` reads (and
DeepSpeed's `MMapIndexedDataset`, a copy of the same code): a `.bin` of concatenated sequences,
and an `.idx` holding the magic `MMIDIDX\\x00\\x00`, version 1 (uint64), the dtype code (uint8), the
sequence count and document-boundary count (uint64 each), then int32 sequence lengths, int64 byte
pointers into the `.bin`, and int64 document boundaries. Here every sequence is one document.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from curriscale.io import atomic_output

MAGIC = b"MMIDIDX\x00\x00"
# Megatron's DType codes. uint32 has none: ids below 2**31 read back unchanged as int32 (code 4).
CODES = {
    np.dtype(np.uint8): 1,
    np.dtype(np.int8): 2,
    np.dtype(np.int16): 3,
    np.dtype(np.int32): 4,
    np.dtype(np.int64): 5,
    np.dtype(np.float64): 6,
    np.dtype(np.float32): 7,
    np.dtype(np.uint16): 8,
    np.dtype(np.uint32): 4,
}


def megatron_dtype(vocab_size: int) -> np.dtype:
    """Megatron's own choice (`DType.optimal_dtype`): uint16 below 65,500 ids, else int32."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


def write_index(path: Path, sizes: np.ndarray, dtype: np.dtype) -> None:
    """Write the `.idx` for sequences of `sizes` elements of `dtype`, one document per sequence.

    DeepSpeed's copy of the format numbers dtypes 6-8 differently (uint16, uint32, uint64); codes
    1-5 (uint8, int8, int16, int32, int64) mean the same to both, so files for both use those.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    pointers = np.zeros(len(sizes), dtype=np.int64)
    if len(sizes):
        pointers[1:] = np.cumsum(sizes[:-1]) * np.dtype(dtype).itemsize
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(MAGIC)
        handle.write(struct.pack("<Q", 1))  # index version
        handle.write(struct.pack("<B", CODES[np.dtype(dtype)]))
        handle.write(struct.pack("<Q", len(sizes)))  # sequences
        handle.write(struct.pack("<Q", len(sizes) + 1))  # document boundaries
        handle.write(sizes.astype(np.int32).tobytes())
        handle.write(pointers.tobytes())
        handle.write(np.arange(len(sizes) + 1, dtype=np.int64).tobytes())


def read_index(path: Path) -> tuple[np.dtype, np.ndarray, np.ndarray, np.ndarray]:
    """(dtype, sizes, byte pointers, document boundaries) of an `.idx`; ValueError when malformed."""
    raw = Path(path).read_bytes()
    if raw[:9] != MAGIC or len(raw) < 34:
        raise ValueError("not a Megatron MMIDIDX index")
    version, code, n_sequences, n_documents = struct.unpack("<QBQQ", raw[9:34])
    if version != 1:
        raise ValueError(f"index version {version}, expected 1")
    dtype = next(d for d, c in CODES.items() if c == code and d != np.dtype(np.uint32))
    expected = 34 + n_sequences * 12 + n_documents * 8
    if len(raw) != expected:
        raise ValueError(f"{len(raw)} bytes, header says {expected}")
    sizes = np.frombuffer(raw, np.int32, n_sequences, 34)
    pointers = np.frombuffer(raw, np.int64, n_sequences, 34 + sizes.nbytes)
    documents = np.frombuffer(raw, np.int64, n_documents, 34 + sizes.nbytes + pointers.nbytes)
    return dtype, sizes, pointers, documents


class IndexedWriter:
    """Streams sequences into `<prefix>.bin` and writes `<prefix>.idx` on close (both atomically)."""

    FLUSH = 1 << 20  # elements buffered before a write: bounded memory, few syscalls

    def __init__(self, prefix: Path, dtype: np.dtype):
        self.prefix, self.dtype = Path(prefix), np.dtype(dtype)
        self.sizes: list[int] = []
        self._pending: list[np.ndarray] = []
        self._count = 0
        self._output = atomic_output(self.prefix.with_name(self.prefix.name + ".bin"))
        self._handle: BinaryIO = open(self._output.__enter__(), "wb")  # noqa: SIM115

    def add(self, sequence: np.ndarray) -> None:
        self._pending.append(sequence)
        self.sizes.append(len(sequence))
        self._count += len(sequence)
        if self._count >= self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            np.concatenate(self._pending).astype(self.dtype).tofile(self._handle)
        self._pending, self._count = [], 0

    def close(self) -> None:
        self._flush()
        self._handle.close()
        self._output.__exit__(None, None, None)
        write_index(self.prefix.with_name(self.prefix.name + ".idx"), np.asarray(self.sizes), self.dtype)

    def abort(self, error: BaseException) -> None:
        self._handle.close()
        self._output.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> IndexedWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is None:
            self.close()
        else:
            self.abort(error)
