"""Encoded row groups on disk, so a curriculum is tokenized once instead of once per rank and epoch.

Every data-parallel rank replays the whole stream to know where its sequences begin, and with a BPE
tokenizer encoding is nearly all of the stream's cost: R ranks encode every document R times, again
every epoch, and again in every run of a grid. With a cache folder, the first reader of a row group
stores its ids (uint16/uint32 plus row offsets, and token ends when answer masks need them); every
later reader loads them, which costs about what reading the Parquet text does.

An entry is keyed by the tokenizer's fingerprint (a hash of its whole JSON) and the row group's
content (its tier file's sha256 from the manifest, and the group's index), so a changed tokenizer or
a rebuilt tier never meets stale ids. Entries are written to a temporary file and renamed into
place, so ranks that store the same entry at once do no harm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from curriscale.curricula.encoding import Encoder, TokenRows
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output


class TokenCache:
    """Loads a row group's `TokenRows` from the cache folder, or encodes and stores them.

    Args:
        folder: the cache folder (shared by every rank and run that uses the same tokenizer).
        encoder: an encoder with a `fingerprint`; entries live in a subfolder named after it.
    """

    def __init__(self, folder: str | Path, encoder: Encoder):
        if encoder.fingerprint is None:
            raise CurriscaleError(f"tokenizer {encoder.name}: has no fingerprint to key a token cache by")
        self.encoder = encoder
        self.folder = Path(folder) / encoder.fingerprint[:16]

    def encode_rows(self, key: str, texts: pa.ChunkedArray, with_ends: bool = False) -> TokenRows:
        """`encoder.encode_rows(texts, with_ends)` for the row group `key` names, cached."""
        path = self.folder / f"{key}{'-ends' if with_ends else ''}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as stored:
                return TokenRows(stored["ids"], stored["offsets"], stored["ends"] if with_ends else None)
        rows = self.encoder.encode_rows(texts, with_ends)
        arrays = {"ids": rows.ids, "offsets": rows.offsets}
        if with_ends:
            arrays["ends"] = rows.ends
        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return rows
