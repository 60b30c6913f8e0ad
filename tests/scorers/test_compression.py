"""The compression scorer: raw-DEFLATE ratio per text, checked against zlib directly, usable as a difficulty."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pyarrow as pa
import pytest

from curriscale.builders.build import build_curriculum
from curriscale.builders.score import score_corpus
from curriscale.curricula.recipe import Recipe
from curriscale.errors import CurriscaleError
from curriscale.scorers.compression import Compression
from curriscale.scorers.registry import get_scorer

TEXTS = [
    "The cat sat on the mat. The cat sat on the mat. The cat sat on the mat.",
    "Quartz glyph jocks vex wizard nymph; bold Sphinx of black quartz, judge my vow!",
    "a",
    "",
    "Zürich straße naïve café — 東京 😀",
    "\ud800 a lone surrogate",
    "ab" * 5000,
]


def reference(text: str, level: int) -> float:
    """The ratio straight from zlib: raw DEFLATE (wbits -15) of the UTF-8 bytes over their count."""
    data = text.encode("utf-8", "surrogatepass")
    if not data:
        return float("nan")
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return len(compressor.compress(data) + compressor.flush()) / len(data)


@pytest.mark.parametrize("level", [1, 6, 9])
def test_ratios_equal_zlib_computed_directly(level):
    out = Compression(level=level).score(TEXTS)
    expected = np.array([reference(t, level) for t in TEXTS])
    np.testing.assert_array_equal(np.isnan(out["zlib_ratio"]), np.isnan(expected))
    np.testing.assert_allclose(out["zlib_ratio"], expected, rtol=0, atol=0, equal_nan=True)
    sizes = [len(t.encode("utf-8", "surrogatepass")) for t in TEXTS]
    np.testing.assert_array_equal(out["zlib_bytes"], np.nan_to_num(expected * sizes).round().astype(int))
    assert out["zlib_ratio"].dtype == np.float64 and out["zlib_bytes"].dtype == np.int64


def test_columns_batch_shape_and_order():
    scorer = get_scorer("compression:level=6")
    assert scorer.columns() == {"zlib_ratio": pa.float64(), "zlib_bytes": pa.int64()}
    assert scorer.provenance() == {"name": "compression", "version": "1", "params": {"level": 6}}
    out = scorer.score(TEXTS[:2] + TEXTS[:2][::-1])
    assert out["zlib_ratio"][0] == out["zlib_ratio"][3] and out["zlib_ratio"][1] == out["zlib_ratio"][2]
    # Repetition compresses; a pangram does not; a long repeat compresses to almost nothing.
    ratio = scorer.score(TEXTS)["zlib_ratio"]
    assert ratio[6] < 0.01 < ratio[0] < ratio[1]
    assert {k: len(v) for k, v in scorer.score([]).items()} == {"zlib_ratio": 0, "zlib_bytes": 0}
    assert scorer.reject_reason("") == "empty text" and scorer.reject_reason("x") is None


def test_bad_level_is_an_error_naming_it():
    with pytest.raises(CurriscaleError, match="level must be an integer from 1 to 9, got 0"):
        get_scorer("compression:level=0")


def test_a_recipe_orders_tiers_by_compression_ratio(tmp_path):
    rng = np.random.default_rng(0)
    words = "the cat sat on a mat while Anna read the book in the garden by the old river".split()
    docs = []
    for i in range(120):  # from one word repeated (compressible) to many different words
        vocabulary = words[: 1 + i % len(words)]
        docs.append({"id": f"d{i}", "text": " ".join(rng.choice(vocabulary, 40))})
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    score_corpus(
        [tmp_path / "docs.jsonl"], tmp_path / "scored", scorers=["compression"], datatrove_logs=False
    )
    recipe = Recipe.from_dict(
        {
            "name": "by-compression",
            "difficulty": "zlib_ratio",
            "tiers": {"quantiles": 3},
            "pacing": {"kind": "warmup", "params": {"warmup_fraction": 0.5}, "sampling": "exclusive"},
            "budget": {"tokens": 10000},
        }
    )
    build_curriculum(tmp_path / "scored", recipe, tmp_path / "curriculum")
    manifest = json.loads((tmp_path / "curriculum" / "manifest.json").read_text())
    bounds = [tier["bounds"] for tier in manifest["tiers"]]
    assert bounds[0][1] <= bounds[1][0] + 1e-9 and bounds[1][1] <= bounds[2][0] + 1e-9
    assert manifest["schedule"][0]["weights"][0] == 1.0  # the most compressible tier first
    assert manifest["divergence_from_static"] == pytest.approx(0.0, abs=1e-3)
