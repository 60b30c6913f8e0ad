"""Tokenizer: deterministic BPE, plain bytes, round trips, saved files."""

import pytest

from curriscale.errors import CurriscaleError
from curriscale.train.tokenizer import eos_id, load_tokenizer, save_tokenizer, train_tokenizer

TEXTS = [f"the cat number {i} sat on the mat near the door" for i in range(200)]


def test_bpe_training_is_deterministic_and_merges(tmp_path):
    a, b = train_tokenizer(TEXTS, 300), train_tokenizer(TEXTS, 300)
    assert a.to_str() == b.to_str()
    assert 257 < a.get_vocab_size() <= 300
    assert len(a.encode("the cat sat").ids) < len("the cat sat")


def test_plain_bytes_has_one_token_per_byte_and_round_trips(tmp_path):
    tokenizer = train_tokenizer([], 257)
    text = "héllo wörld"
    assert tokenizer.get_vocab_size() == 257 and eos_id(tokenizer) == 0
    assert len(tokenizer.encode(text).ids) == len(text.encode("utf-8"))
    save_tokenizer(tokenizer, tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert loaded.decode(loaded.encode(text).ids) == text


def test_bad_tokenizer_files_name_the_path(tmp_path):
    with pytest.raises(CurriscaleError, match="not found"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(CurriscaleError, match="bad.json"):
        load_tokenizer(tmp_path / "bad.json")
    with pytest.raises(CurriscaleError, match="vocab_size=100"):
        train_tokenizer(TEXTS, 100)


def test_specs_name_bytes_a_bpe_on_the_manifest_or_a_file(tmp_path):
    from train_task import write_task_manifest

    from curriscale.train.tokenizer import tokenizer_from_spec

    manifest = write_task_manifest(tmp_path / "cur", docs_per_level=100)
    assert tokenizer_from_spec("bytes", []).get_vocab_size() == 257
    bpe = tokenizer_from_spec("bpe:300", [manifest])
    assert bpe.get_vocab_size() > 257
    assert len(bpe.encode("capital fr: paris").ids) < len(
        "capital fr: paris"
    )  # merges learned from tier text
    save_tokenizer(bpe, tmp_path / "tok.json")
    assert tokenizer_from_spec(str(tmp_path / "tok.json"), []).to_str() == bpe.to_str()
    with pytest.raises(CurriscaleError, match="bpe:<vocab size>"):
        tokenizer_from_spec("bpe:many", [manifest])
