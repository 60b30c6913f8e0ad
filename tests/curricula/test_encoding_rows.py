"""Row-group encoding (`Encoder.encode_rows`): flat ids equal to the per-text reference encoders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from curriscale.curricula.encoding import Encoder, TokenRows, make_encoder

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
TEXTS = ["tier 0 doc 1 word é.", "", "a b  c", "日本語 ok", "emoji 🙂 end", "\n\ttabs\n"]


def real_texts() -> list[str]:
    """OneStopEnglish texts (curly quotes, dashes, non-ASCII) when the shared corpora are present."""
    path = CORPORA / "onestopenglish" / "onestopenglish.jsonl"
    if not path.is_file():
        pytest.skip("../shared/corpora is absent")
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def assert_rows_equal(rows: TokenRows, ids: list[np.ndarray], ends: list[np.ndarray] | None = None) -> None:
    assert rows.lengths().tolist() == [len(row) for row in ids]
    for i, row in enumerate(ids):
        assert rows.row(i).tolist() == row.tolist()
    if ends is not None:
        np.testing.assert_array_equal(rows.ends, np.concatenate(ends))


@pytest.mark.parametrize("source", ["samples", "corpus"])
def test_bytes_rows_equal_per_text_encoding(source):
    texts = TEXTS if source == "samples" else real_texts()
    encoder = make_encoder("bytes")
    ids, ends = encoder.encode_with_ends(texts)
    # Arrow columns come chunked, sliced, and as string or large_string: all read the same.
    column = pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])])
    sliced = pa.chunked_array([pa.array(["skip me", *texts], pa.large_string())]).slice(1)
    for texts_column in (column, sliced):
        assert_rows_equal(encoder.encode_rows(texts_column), ids)
        assert_rows_equal(encoder.encode_rows(texts_column, with_ends=True), ids, ends)
    assert encoder.encode_rows(column).ids.dtype == np.uint8  # a view of Arrow's bytes, not a copy


def test_generic_rows_come_from_encode_batch():
    def encode_batch(texts):
        return [np.array([len(word) for word in text.split()], dtype=np.int64) for text in texts]

    encoder = Encoder(encode_batch, eos_id=0, vocab_size=70_000, name="words")
    rows = encoder.encode_rows(pa.chunked_array([pa.array(TEXTS)]))
    assert_rows_equal(rows, encode_batch(TEXTS))
    assert rows.ids.dtype == np.uint32 and rows.ends is None  # vocab >= 65536: the wide dtype


def test_tokenizer_rows_with_ends(tmp_path):
    from curriscale.train.tokenizer import train_tokenizer

    encoder = make_encoder(train_tokenizer(TEXTS * 10, vocab_size=300))
    ids, ends = encoder.encode_with_ends(TEXTS)
    rows = encoder.encode_rows(pa.chunked_array([pa.array(TEXTS)]), with_ends=True)
    assert_rows_equal(rows, ids, ends)
    assert rows.ids.dtype == np.uint16
