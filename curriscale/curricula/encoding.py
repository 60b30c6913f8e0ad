"""Turn "some tokenizer" into one small batch encoder the reader and the exporters share.

The reader counts schedule progress in real tokens and packs sequences, and the exporters write
token ids; both need the same three things from a tokenizer: encode a batch of texts, the id that
separates documents (EOS), and the vocabulary size (to pick uint16 or uint32 on disk). Users hand
us a `tokenizers.Tokenizer` (or a transformers fast tokenizer wrapping one), a path to a
`tokenizer.json`, the word "bytes" (UTF-8 bytes, ids 0-255, EOS = 256), or any callable text -> ids.
This module imports neither torch nor curriscale's trainer, so frameworks other than torch can use it.

The reader encodes a whole Parquet row group at once into `TokenRows`: one flat id array plus row
offsets, in the smallest dtype the vocabulary fits. For "bytes" that array is a zero-copy view of
the Arrow text buffer, so a document's ids cost nothing until a packed sequence copies them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError

EOS_TOKEN = "<|endoftext|>"
BYTE_VOCAB = 257  # 256 byte values + EOS


# ids per text, and per token the character offset where it ends (to mark answer tokens).
IdsAndEnds = tuple[list[np.ndarray], list[np.ndarray]]


@dataclass(frozen=True)
class TokenRows:
    """Token ids of a batch of texts, flat: text i has `ids[offsets[i]:offsets[i + 1]]` (no EOS).

    `ends`, when asked for, gives per token the character offset where it ends in its text (the
    same layout as `ids`); answer masks need it.
    """

    ids: np.ndarray
    offsets: np.ndarray
    ends: np.ndarray | None = None

    def row(self, i: int) -> np.ndarray:
        """Text i's ids: a view in the compact dtype (uint8 for bytes), not a copy."""
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        """Token count of each text."""
        return np.diff(self.offsets)

    @classmethod
    def from_rows(
        cls, rows: list[np.ndarray], dtype: np.dtype, ends: list[np.ndarray] | None = None
    ) -> TokenRows:
        """Flatten one id array per text (and their ends) into `TokenRows` of `dtype` ids."""
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in rows], out=offsets[1:])
        ids = np.concatenate(rows).astype(dtype) if rows else np.empty(0, dtype)
        flat_ends = None
        if ends is not None:
            flat_ends = np.concatenate(ends).astype(np.int64) if ends else np.empty(0, np.int64)
        return cls(ids, offsets, flat_ends)


@dataclass(frozen=True)
class Encoder:
    """A batch encoder: `encode_batch(texts)` gives one int64 id array per text (no EOS appended).

    `encode_with_ends`, when the tokenizer reports offsets, also gives each token's end offset in
    characters; answer masks need it (a token belongs to the answer if it ends past the prompt).
    """

    encode_batch: Callable[[Sequence[str]], list[np.ndarray]]
    eos_id: int
    vocab_size: int
    name: str
    encode_with_ends: Callable[[Sequence[str]], IdsAndEnds] | None = None
    # A faster `encode_rows` straight from the Arrow column, when the tokenizer allows one.
    encode_column: Callable[[pa.ChunkedArray, bool], TokenRows] | None = None
    # Identifies the tokenizer's exact behaviour (a hash of its JSON), to key cached ids by.
    fingerprint: str | None = None

    def encode_rows(self, texts: pa.ChunkedArray, with_ends: bool = False) -> TokenRows:
        """Encode a text column of a row group into flat `TokenRows` (with `ends` if asked for).

        Ids are stored as uint16 or uint32 (`token_dtype`), uint8 for bytes: a cached row group
        then takes a fraction of the memory of int64 ids.
        """
        if self.encode_column is not None:
            return self.encode_column(texts, with_ends)
        strings = texts.to_pylist()
        if not with_ends:
            return TokenRows.from_rows(self.encode_batch(strings), token_dtype(self.vocab_size))
        if self.encode_with_ends is None:
            raise CurriscaleError(f"tokenizer {self.name}: reports no token offsets")
        ids, ends = self.encode_with_ends(strings)
        return TokenRows.from_rows(ids, token_dtype(self.vocab_size), ends)


def _encode_bytes(texts: Sequence[str]) -> list[np.ndarray]:
    return [np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64) for text in texts]


def _encode_bytes_with_ends(texts: Sequence[str]) -> IdsAndEnds:
    ids = _encode_bytes(texts)
    # A byte ends inside character k+1 when k characters started before it: count UTF-8 lead bytes.
    return ids, [np.cumsum((row & 0xC0) != 0x80) for row in ids]


def _encode_bytes_column(texts: pa.ChunkedArray, with_ends: bool) -> TokenRows:
    """UTF-8 bytes of a string column without a Python string per row: Arrow already holds them."""
    array = texts.combine_chunks().cast(pa.large_string())  # one layout: int64 offsets
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.empty(0, np.uint8) if data_buffer is None else np.frombuffer(data_buffer, dtype=np.uint8)
    ids, offsets = data[offsets[0] : offsets[-1]], offsets - offsets[0]
    if not with_ends:
        return TokenRows(ids, offsets)
    # As `_encode_bytes_with_ends`, on the flat array: characters started so far, minus those
    # started in earlier rows.
    started = np.cumsum((ids & 0xC0) != 0x80)
    before = np.concatenate([[0], started])[offsets[:-1]]
    return TokenRows(ids, offsets, started - np.repeat(before, np.diff(offsets)))


def _from_tokenizers(tokenizer: Any, eos_id: int | None, name: str) -> Encoder:
    if eos_id is None:
        eos_id = tokenizer.token_to_id(EOS_TOKEN)
    if eos_id is None:
        raise CurriscaleError(f"tokenizer {name}: has no {EOS_TOKEN} token; pass eos_id explicitly")

    def encode_batch(texts: Sequence[str]) -> list[np.ndarray]:
        # encode_batch runs in Rust threads: much faster than one call per text.
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [np.asarray(encoding.ids, dtype=np.int64) for encoding in encodings]

    def encode_with_ends(texts: Sequence[str]) -> IdsAndEnds:
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ids = [np.asarray(encoding.ids, dtype=np.int64) for encoding in encodings]
        ends = [np.asarray([end for _, end in encoding.offsets], dtype=np.int64) for encoding in encodings]
        return ids, ends

    fingerprint = hashlib.sha256(tokenizer.to_str().encode("utf-8")).hexdigest()
    return Encoder(
        encode_batch,
        int(eos_id),
        int(tokenizer.get_vocab_size()),
        name,
        encode_with_ends,
        fingerprint=fingerprint,
    )


def make_encoder(tokenizer: Any, eos_id: int | None = None, vocab_size: int | None = None) -> Encoder:
    """Build an `Encoder` from what the user passed.

    Args:
        tokenizer: an `Encoder`, "bytes", a path to a `tokenizer.json`, a `tokenizers.Tokenizer`, a
            transformers fast tokenizer, or a callable text -> sequence of ids.
        eos_id: the document separator; looked up as `<|endoftext|>` for tokenizers (the
            tokenizer's eos_token for transformers), required for a plain callable.
        vocab_size: required for a plain callable (it decides the on-disk dtype of exports).

    Raises:
        CurriscaleError: unreadable tokenizer file, or a callable without eos_id / vocab_size.
    """
    if isinstance(tokenizer, Encoder):
        return tokenizer
    if isinstance(tokenizer, str) and tokenizer == "bytes":
        return Encoder(_encode_bytes, 256, BYTE_VOCAB, "bytes", _encode_bytes_with_ends, _encode_bytes_column)
    if isinstance(tokenizer, (str, Path)):
        from tokenizers import Tokenizer

        path = Path(tokenizer)
        if not path.is_file():
            raise CurriscaleError(f"--tokenizer {path}: file not found (give a tokenizer.json or 'bytes')")
        try:
            loaded = Tokenizer.from_file(str(path))
        except Exception as error:  # tokenizers raises a bare Exception on malformed files
            raise CurriscaleError(f"--tokenizer {path}: not a tokenizers JSON file: {error}") from error
        return _from_tokenizers(loaded, eos_id, str(path))
    if hasattr(tokenizer, "encode_batch") and hasattr(tokenizer, "token_to_id"):
        return _from_tokenizers(tokenizer, eos_id, type(tokenizer).__name__)
    if hasattr(tokenizer, "backend_tokenizer"):  # a transformers fast tokenizer wraps a `tokenizers` one
        eos_id = eos_id if eos_id is not None else tokenizer.eos_token_id
        return _from_tokenizers(tokenizer.backend_tokenizer, eos_id, type(tokenizer).__name__)
    if callable(tokenizer):
        if eos_id is None or vocab_size is None:
            raise CurriscaleError("a callable tokenizer needs eos_id= and vocab_size= as well")

        def encode_batch(texts: Sequence[str]) -> list[np.ndarray]:
            return [np.asarray(tokenizer(text), dtype=np.int64) for text in texts]

        return Encoder(encode_batch, int(eos_id), int(vocab_size), getattr(tokenizer, "__name__", "callable"))
    raise CurriscaleError(f"tokenizer {tokenizer!r}: expected 'bytes', a tokenizer.json path, or a callable")


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocab < 65536), else uint32: the nanoGPT / Megatron convention."""
    return np.dtype(np.uint16) if vocab_size < 1 << 16 else np.dtype(np.uint32)
