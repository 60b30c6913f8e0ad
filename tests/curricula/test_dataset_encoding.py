"""Tokenizers the reader and exporters accept: bytes, tokenizers, transformers, plain callables."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from curriscale.curricula.encoding import make_encoder, token_dtype
from curriscale.errors import CurriscaleError

TEXTS = ["tier 0 doc 1 word é.", "", "a b  c"]


@pytest.fixture(scope="module")
def bpe():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(TEXTS * 10, trainer=trainer)
    return tokenizer


def test_bytes_encoder_and_character_ends():
    encoder = make_encoder("bytes")
    assert (encoder.eos_id, encoder.vocab_size) == (256, 257)
    ids, ends = encoder.encode_with_ends(["aé b"])
    assert ids[0].tolist() == list("aé b".encode())
    assert ends[0].tolist() == [1, 2, 2, 3, 4]  # both bytes of "é" end inside character 2


def test_tokenizers_and_transformers_tokenizers_agree(bpe, tmp_path):
    from transformers import PreTrainedTokenizerFast

    bpe.save(str(tmp_path / "tokenizer.json"))
    wrapped = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>")
    encoders = [make_encoder(bpe), make_encoder(str(tmp_path / "tokenizer.json")), make_encoder(wrapped)]
    expected = [e.ids for e in bpe.encode_batch(TEXTS, add_special_tokens=False)]
    for encoder in encoders:
        assert [row.tolist() for row in encoder.encode_batch(TEXTS)] == expected
        assert (encoder.eos_id, encoder.vocab_size) == (0, bpe.get_vocab_size())
    ids, ends = encoders[0].encode_with_ends(TEXTS)
    assert [len(e) for e in ends] == [len(i) for i in ids] and ends[0][-1] == len(TEXTS[0])


def test_callable_needs_eos_and_vocab():
    with pytest.raises(CurriscaleError, match="eos_id"):
        make_encoder(lambda text: [1, 2])
    encoder = make_encoder(lambda text: [len(word) for word in text.split()], eos_id=0, vocab_size=70_000)
    assert [row.tolist() for row in encoder.encode_batch(["ab c"])] == [[2, 1]]
    assert encoder.encode_with_ends is None and token_dtype(encoder.vocab_size) == np.uint32
    assert token_dtype(65_535) == np.uint16


def test_missing_tokenizer_file_names_it(tmp_path):
    with pytest.raises(CurriscaleError, match="nope.json"):
        make_encoder(str(tmp_path / "nope.json"))
