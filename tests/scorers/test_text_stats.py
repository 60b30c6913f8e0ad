import numpy as np
import pyarrow as pa

from curriscale.scorers.text_stats import TextStats


def test_score_columns_lengths_and_values():
    scorer = TextStats()
    texts = ["The cat sat on the mat. The dog sat on the log too!", "aaaa " * 200, "Short one here."]
    out = scorer.score(texts)
    assert set(out) == set(scorer.columns())
    assert all(len(v) == 3 for v in out.values())
    assert out["n_chars"].tolist() == [len(t) for t in texts]
    assert out["n_words"].tolist() == [13, 200, 3]
    assert out["n_sentences"].tolist() == [2, 1, 1]
    assert out["words_per_sentence"][0] == 6.5
    # A repeated word compresses far better than prose.
    assert out["compression_ratio"][1] < 0.1 < out["compression_ratio"][0]
    assert scorer.columns()["n_words"] == pa.int64()


def test_bad_input_gives_nan_only_where_meaningless_with_a_reason():
    scorer = TextStats()
    texts = [
        "",
        "   \n",
        "!!! ???",
        "12 345",
        "\ud800 broken surrogate text",
        "Le chat est assis sur le tapis.",
    ]
    out = scorer.score(texts)
    assert np.isnan(out["mtld"][:3]).all() and np.isnan(out["word_rarity"][:4]).all()
    assert np.isfinite(out["mtld"][3:]).all() and np.isfinite(out["word_rarity"][4:]).all()
    assert np.isfinite(out["compression_ratio"][1:]).all()
    assert [scorer.reject_reason(t) for t in texts] == [
        "no words",
        "no words",
        "no words",
        "no words without digits",
        None,
        None,
    ]


def test_ten_megabyte_document_scores():
    # Few, long words keep the test fast; test_reading_age scores 10 MB of ordinary prose.
    text = ("Supercalifragilistic" * 50 + ". ") * 10_000
    out = TextStats().score([text])
    assert len(text) > 10_000_000
    assert out["n_words"][0] == 10_000 and out["n_sentences"][0] == 1  # one-word runs are not sentences
    assert 0 < out["compression_ratio"][0] < 0.01
    assert out["mtld"][0] > 0 and np.isfinite(out["word_rarity"][0])
