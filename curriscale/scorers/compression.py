"""Compression ratio as a difficulty signal: how much a general-purpose compressor can squeeze a text.

Zhang et al. 2025 found compression ratio among the best cheap difficulty signals for curricula:
repetitive, formulaic text compresses well (easy), dense varied text does not (hard). This scorer
computes it alone, without the word tables `text_stats` loads, so it can score a corpus at zlib
speed and be a recipe's difficulty column (`difficulty: zlib_ratio`, higher = harder).

Each document's UTF-8 bytes (lone surrogates kept as `surrogatepass` bytes, so bad input cannot
crash the scorer) are compressed as a raw DEFLATE stream: no zlib header or checksum, so a short
text is not charged six bytes of framing. The compressed sizes of the whole batch are collected in
one array and the ratios are one numpy division. zlib itself dominates the cost (~15 us for a
100-word document at level 9).

Output columns:
    zlib_ratio   compressed bytes / UTF-8 bytes (raw DEFLATE at `level`); NaN for an empty text
    zlib_bytes   compressed bytes (0 for an empty text)

`text_stats` has a `compression_ratio` column of its own (zlib with its header, level 6); the two
differ by the framing and level and use different column names, so both scorers can run together.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError
from curriscale.scorers.base import Scorer


def deflate_size(data: bytes | memoryview, level: int) -> int:
    """Bytes of `data` compressed as a raw DEFLATE stream (zlib without header and checksum)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return len(compressor.compress(data)) + len(compressor.flush())


class Compression(Scorer):
    """Raw-DEFLATE compression ratio of each text (see the module docstring).

    Args:
        level: zlib compression level, 1 (fast) to 9 (best, the default).
    """

    name = "compression"
    version = "1"

    def __init__(self, level: int = 9) -> None:
        if not (isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 9):
            raise CurriscaleError(f"scorer compression: level must be an integer from 1 to 9, got {level!r}")
        super().__init__(level=level)
        self.level = level

    def columns(self) -> dict[str, pa.DataType]:
        return {"zlib_ratio": pa.float64(), "zlib_bytes": pa.int64()}

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
        raw = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        packed = np.fromiter(
            (deflate_size(data, self.level) if data else 0 for data in encoded),
            dtype=np.int64,
            count=len(encoded),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(raw > 0, packed / np.maximum(raw, 1), np.nan)
        return {"zlib_ratio": ratio.astype(np.float64), "zlib_bytes": packed}

    def reject_reason(self, text: str) -> str | None:
        """`empty text` for the one input without a ratio."""
        return "empty text" if not text else None
