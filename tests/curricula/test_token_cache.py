"""The token cache: the stream is the same with or without it, cold or warm, and warm means no encoding."""

from __future__ import annotations

import dataclasses
from itertools import islice

import numpy as np
import pytest
from manifest_factory import write_curriculum
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from curriscale.curricula.dataset import CurriculumDataset
from curriscale.curricula.encoding import make_encoder
from curriscale.curricula.packing import PackedStream
from curriscale.curricula.sampler import CurriculumSampler
from curriscale.curricula.token_cache import TokenCache
from curriscale.errors import CurriscaleError

LADDER = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory):
    return write_curriculum(tmp_path_factory.mktemp("ladder"), [40, 30, 20], LADDER)


def bpe_tokenizer(ladder, vocab_size: int) -> Tokenizer:
    texts = [d["text"] for d in islice(CurriculumSampler(ladder, seed=0).documents(), 200)]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def stream(ladder, encoder, shard=0, num_shards=1, masks=False, **kwargs):
    sampler = CurriculumSampler(ladder, seed=6, encoder=encoder, answer_masks=masks, **kwargs)
    items = islice(PackedStream(sampler, 16).iter_shard(shard, num_shards), 150)
    return [(s.tolist(), m.tolist()) for s, m in items] if masks else [s.tolist() for s in items]


@pytest.mark.parametrize("masks", [False, True])
def test_cold_and_warm_cache_give_the_uncached_stream(ladder, tmp_path, masks):
    encoder = make_encoder(bpe_tokenizer(ladder, 300))
    for shard, num_shards in [(0, 1), (1, 3)]:
        expected = stream(ladder, encoder, shard, num_shards, masks)
        assert stream(ladder, encoder, shard, num_shards, masks, token_cache=tmp_path) == expected  # cold
        assert stream(ladder, encoder, shard, num_shards, masks, token_cache=tmp_path) == expected  # warm
    groups = sum(len(tier.groups) for tier in CurriculumSampler(ladder).tiers)
    assert len(list(tmp_path.glob("*/*.npz"))) == groups  # one entry per row group


def test_a_warm_cache_encodes_nothing(ladder, tmp_path):
    encoder = make_encoder(bpe_tokenizer(ladder, 300))
    expected = stream(ladder, encoder, token_cache=tmp_path)

    def refuse(texts):
        raise AssertionError("a warm cache must not encode")

    refusing = dataclasses.replace(encoder, encode_batch=refuse, encode_with_ends=refuse)
    assert stream(ladder, refusing, token_cache=tmp_path) == expected
    dataset = CurriculumDataset(ladder, 6, refusing, 16, token_cache=tmp_path)
    assert [s.tolist() for s in islice(iter(dataset), 150)] == expected


def test_another_tokenizer_gets_its_own_entries(ladder, tmp_path):
    small, large = (make_encoder(bpe_tokenizer(ladder, size)) for size in (280, 320))
    assert small.fingerprint != large.fingerprint
    stream(ladder, small, token_cache=tmp_path)
    assert stream(ladder, large, token_cache=tmp_path) == stream(ladder, large)
    assert len(list(tmp_path.iterdir())) == 2


def test_bytes_and_callables_are_not_cached(ladder, tmp_path):
    def encode(text):
        return list(text.encode())

    for encoder in (make_encoder("bytes"), make_encoder(encode, eos_id=256, vocab_size=257)):
        assert stream(ladder, encoder, token_cache=tmp_path) == stream(ladder, make_encoder("bytes"))
    assert not list(tmp_path.iterdir())
    with pytest.raises(CurriscaleError, match="fingerprint"):
        TokenCache(tmp_path, make_encoder("bytes"))


def test_entries_are_plain_npz(ladder, tmp_path):
    encoder = make_encoder(bpe_tokenizer(ladder, 300))
    stream(ladder, encoder, token_cache=tmp_path)
    entry = next(tmp_path.glob("*/*.npz"))
    with np.load(entry) as stored:
        assert stored["ids"].dtype == np.uint16 and stored["offsets"][0] == 0
