import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.errors import CurriscaleError
from curriscale.scorers import calibrate as calibrate_module
from curriscale.scorers.calibrate import (
    GradedCorpus,
    calibrate,
    fit_calibration,
    leave_one_origin_out,
    load_graded,
    load_sources,
)
from curriscale.scorers.reading_age import FORMULAS, ReadingAge, combine

CORPORA = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora"
EASY = ["The cat is on the mat.", "I like my red ball.", "We go to the park.", "The dog can run fast."]
HARD = [
    "Notwithstanding considerable methodological uncertainties, the commission's deliberations culminated "
    "in comprehensive recommendations.",
    "Contemporary epistemological frameworks problematise conventional distinctions between observation "
    "and theoretical interpretation.",
    "The pharmaceutical corporation's quarterly financial disclosures revealed substantial extraordinary "
    "liabilities.",
    "Intergovernmental negotiations concerning environmental sustainability frequently encounter "
    "insurmountable jurisdictional complications.",
]


def write_tiny_corpora(root: Path) -> tuple[Path, Path]:
    """A 4-topic OneStopEnglish-like file with aligned sentence pairs beside it, and a CEFR-like
    folder, all from the sentences above."""
    ose = root / "ose.jsonl"
    with open(ose, "w") as handle:
        for topic, (easy, hard) in enumerate(zip(EASY, HARD, strict=True)):
            for level, text in ((0, easy), (1, easy + " " + hard), (2, hard)):
                handle.write(
                    json.dumps(
                        {"id": f"t{topic}-{level}", "text": text, "level_num": level, "quality_flag": None}
                    )
                    + "\n"
                )
        handle.write(
            json.dumps({"id": "bad-0", "text": HARD[0], "level_num": 0, "quality_flag": "other topic"}) + "\n"
        )
    aligned = root / "Sentence-Aligned"
    aligned.mkdir()
    for name in ("ADV-ELE", "ADV-INT", "ELE-INT"):
        first, second = (HARD, EASY) if name.startswith("ADV") else (EASY, HARD)
        blocks = [f"{a}\n{b}\n*******\n" for a, b in zip(first, second, strict=True)]
        (aligned / f"{name}.txt").write_text("".join(blocks))
    cefr = root / "cefr"
    cefr.mkdir()
    for split in ("train", "dev", "test"):
        lines = [f"{t}\t1\t2" for t in EASY] + [f"{t}\t5\t6" for t in HARD]
        (cefr / f"CEFR-SP_Wikiauto_{split}.txt").write_text("\n".join(lines) + "\n")
    return ose, cefr


def test_load_graded_reads_levels_groups_and_drops_flagged_topics(tmp_path):
    ose_path, cefr_path = write_tiny_corpora(tmp_path)
    ose = load_graded("onestopenglish", ose_path)
    assert len(ose.texts) == 12 and "bad" not in set(ose.groups)
    assert ose.levels.tolist()[:3] == [0.0, 1.0, 2.0]
    cefr = load_graded("cefr", cefr_path)
    assert len(cefr.texts) == 24 and cefr.levels[0] == 1.5 and cefr.levels[-1] == 5.5
    assert (cefr.split == "test").sum() == 8
    pairs = load_graded("onestopenglish_pairs", tmp_path)
    assert len(pairs.texts) == 24 and pairs.paired and pairs.origin == ose.origin != cefr.origin
    assert pairs.texts[:2] == [HARD[0], EASY[0]] and pairs.levels[:2].tolist() == [2.0, 0.0]
    assert len(set(pairs.groups)) == 12


def test_load_graded_errors_name_file_and_line(tmp_path):
    with pytest.raises(CurriscaleError, match="unknown graded corpus"):
        load_graded("wikipedia", tmp_path)
    with pytest.raises(CurriscaleError, match="at least one"):
        load_sources([])
    bad = tmp_path / "CEFR-SP_Wikiauto_train.txt"
    bad.write_text("ok sentence\t1\t1\nbroken line without levels\n")
    with pytest.raises(CurriscaleError, match=r"CEFR-SP_Wikiauto_train.txt:2: expected"):
        load_graded("cefr", tmp_path)
    (tmp_path / "ADV-ELE.txt").write_text("one\ntwo\n*******\nthree\n*******\n")
    with pytest.raises(CurriscaleError, match=r"ADV-ELE.txt:5: expected 2 sentences"):
        load_graded("onestopenglish_pairs", tmp_path)


def _synthetic(name: str, origin: str, levels: np.ndarray, paired: bool = False) -> GradedCorpus:
    groups = (
        np.repeat(np.arange(len(levels) // 2), 2).astype(str)
        if paired
        else np.arange(len(levels)).astype(str)
    )
    texts = [""] * len(levels)
    return GradedCorpus(name, texts, levels, groups, np.full(len(levels), "all"), origin, paired)


def test_fit_recovers_a_known_direction_and_years_scale():
    rng = np.random.default_rng(0)
    n = 400
    levels = rng.integers(0, 3, n).astype(float)
    features = {
        "signal": levels + rng.normal(0, 0.5, n),
        "noise": rng.normal(0, 1, n),
        "fk_grade": 4 + 3 * levels + rng.normal(0, 1, n),
    }
    corpus = _synthetic("graded", "a", levels)
    coeffs = fit_calibration([(corpus, features)], features=("signal", "noise"), alpha=0.1)
    weights = dict(zip(coeffs["features"], coeffs["weights"], strict=True))
    assert weights["signal"] > 5 * abs(weights["noise"])
    # Years: the same mean as Flesch-Kincaid grade + 5 over the calibration texts.
    assert combine(features, coeffs).mean() == pytest.approx(features["fk_grade"].mean() + 5)


def test_paired_source_learns_only_from_differences_within_a_pair():
    # Across pairs the "offset" feature tracks level, but within every pair it is constant: a paired
    # source must give it no weight, and learn "signal", which changes with the version.
    rng = np.random.default_rng(1)
    base = np.repeat(rng.normal(0, 3, 300), 2)
    levels = np.tile([0.0, 1.0], 300) + np.repeat(rng.integers(0, 2, 300), 2)
    features = {"signal": levels - base + rng.normal(0, 0.3, 600), "offset": base, "fk_grade": levels}
    corpus = _synthetic("pairs", "a", levels, paired=True)
    coeffs = fit_calibration([(corpus, features)], features=("signal", "offset"), alpha=0.01)
    signal, offset = coeffs["weights"]
    assert signal > 0 and abs(offset) < 0.05 * signal


def test_leave_one_origin_out_holds_out_every_source_of_an_origin(monkeypatch):
    rng = np.random.default_rng(2)
    levels = rng.integers(0, 3, 200).astype(float)
    good = {"x": levels + rng.normal(0, 0.5, 200), "fk_grade": levels}
    flipped = {"x": -levels + rng.normal(0, 0.5, 200), "fk_grade": levels}  # graded the other way round
    sources = [
        (_synthetic("a1", "a", levels), flipped),
        (_synthetic("a2", "a", levels), flipped),
        (_synthetic("b", "b", levels), good),
    ]
    fitted_on = []
    real_fit = calibrate_module.fit_calibration
    monkeypatch.setattr(
        calibrate_module,
        "fit_calibration",
        lambda seen, **options: fitted_on.append([c.name for c, _ in seen]) or real_fit(seen, **options),
    )
    held = leave_one_origin_out(sources, features=("x",), alpha=0.1)
    assert fitted_on == [["b"], ["b"], ["a1", "a2"]]
    # Each source is scored by a fit that grades the other way round: none was in its own fit.
    assert all(np.corrcoef(held[name], levels)[0, 1] < -0.8 for name in ("a1", "a2", "b"))
    lonely = leave_one_origin_out(sources[:1], features=("x",))
    assert np.isnan(lonely["a1"]).all()


def test_calibrate_writes_coefficients_the_scorer_uses(tmp_path):
    ose, cefr = write_tiny_corpora(tmp_path)
    out = tmp_path / "coeffs.json"
    coeffs = calibrate([("onestopenglish", ose), ("onestopenglish_pairs", tmp_path), ("cefr", cefr)], out)
    assert json.loads(out.read_text()) == coeffs
    assert (
        coeffs["fitted_on"] == "onestopenglish (12 texts), onestopenglish_pairs (24 texts), cefr (24 texts)"
    )
    ages = ReadingAge(coefficients=str(out)).score(EASY + HARD)["reading_age"]
    assert ages[:4].max() < ages[4:].min()


def test_cli_calibrate(tmp_path):
    ose, cefr = write_tiny_corpora(tmp_path)
    out = tmp_path / "c.json"
    args = ["scorers", "calibrate", "--corpus", "onestopenglish", "--data", str(ose), "--corpus", "cefr"]
    result = CliRunner().invoke(app, [*args, "--data", str(cefr), "--out", str(out), "--alpha", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["alpha"] == 1.0
    assert "wrote" in result.output
    mismatched = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert isinstance(mismatched.exception, CurriscaleError)
    assert "2 --corpus but 1 --data" in str(mismatched.exception)


@pytest.mark.skipif(not (CORPORA / "onestopenglish").is_dir(), reason="needs ../shared/corpora")
def test_shipped_reading_age_orders_onestopenglish_levels():
    corpus = load_graded("onestopenglish", CORPORA / "onestopenglish")
    first = corpus.subset(np.isin(corpus.groups, np.unique(corpus.groups)[:30]))
    ages = ReadingAge().score(first.texts)["reading_age"]
    ordered = []
    for topic in np.unique(first.groups):
        idx = np.flatnonzero(first.groups == topic)
        by_level = ages[idx[np.argsort(first.levels[idx])]]
        ordered.extend(np.diff(by_level) > 0)
    assert len(ordered) == 60 and np.mean(ordered) > 0.95


def test_cli_calibrate_with_chosen_features_and_unknown_feature(tmp_path):
    ose, _ = write_tiny_corpora(tmp_path)
    out = tmp_path / "c.json"
    base = ["scorers", "calibrate", "--corpus", "onestopenglish", "--data", str(ose), "--out", str(out)]
    assert CliRunner().invoke(app, [*base, "--features", "fk_grade,mtld"]).exit_code == 0
    assert json.loads(out.read_text())["features"] == ["fk_grade", "mtld"]
    assert ReadingAge(coefficients=str(out)).score(["The cat sat on the mat."])["reading_age"].shape == (1,)
    result = CliRunner().invoke(app, [*base, "--features", "shoe_size"])
    assert "unknown features ['shoe_size']" in str(result.exception)


@pytest.mark.skipif(not (CORPORA / "cefr_sp_wikiauto").is_dir(), reason="needs ../shared/corpora")
def test_fit_on_onestopenglish_transfers_to_cefr_better_than_every_formula():
    ose, cefr = load_sources(
        [("onestopenglish", CORPORA / "onestopenglish"), ("cefr", CORPORA / "cefr_sp_wikiauto")]
    )
    held = leave_one_origin_out([ose, cefr])["cefr"]
    levels, values = cefr[0].levels, cefr[1]
    rho = spearmanr(held, levels).statistic
    best_formula = max(abs(spearmanr(values[name], levels).statistic) for name in FORMULAS)
    assert rho > best_formula + 0.05
