"""Packing fast path vs the simple reference: concatenate every document + EOS, cut, keep every R-th.

`PackedStream` copies only the sequences a shard keeps and takes documents as views of their row
group; these tests hold it to the plain definition of the stream, for every shard, with answer masks,
and across resumes (including a state taken between two sequences of one long document).
"""

from __future__ import annotations

import json
from itertools import islice

import numpy as np
import pytest
from manifest_factory import write_curriculum
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from curriscale.curricula.encoding import Encoder, make_encoder
from curriscale.curricula.packing import PackedStream
from curriscale.curricula.sampler import CurriculumSampler

LADDER = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory):
    return write_curriculum(tmp_path_factory.mktemp("ladder"), [40, 30, 20], LADDER)


@pytest.fixture(scope="module")
def bpe(ladder):
    texts = [d["text"] for d in islice(CurriculumSampler(ladder, seed=0).documents(), 200)]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def reference_stream(ladder, tokenizer, seq_len: int, documents: int):
    """Sequences and answer masks of the global stream, built the plain way from document texts.

    The document order comes from a sampler whose encoder goes through the generic per-text path
    (`encode_batch` lists, no Arrow shortcut), so the order itself is checked too.
    """
    encoder = make_encoder(tokenizer)
    plain = Encoder(
        encoder.encode_batch, encoder.eos_id, encoder.vocab_size, "plain", encoder.encode_with_ends
    )
    sampler = CurriculumSampler(ladder, seed=4, encoder=plain)
    tokens, answers = [], []
    for draw in islice(sampler, documents):
        document = draw.document()
        ids, ends = encoder.encode_with_ends([document["text"]])
        tokens += [*ids[0].tolist(), encoder.eos_id]
        prompt = document["prompt"]
        answers += [*(ends[0] > len(prompt) + 1 if prompt is not None else [False] * len(ids[0])), False]
    width = seq_len + 1
    cut = len(tokens) // width * width
    sequences = np.asarray(tokens[:cut], dtype=np.int64).reshape(-1, width)
    return sequences, np.asarray(answers[:cut], dtype=bool).reshape(-1, width)


def packed(ladder, tokenizer, seq_len: int, masks: bool = False) -> PackedStream:
    sampler = CurriculumSampler(ladder, seed=4, encoder=make_encoder(tokenizer), answer_masks=masks)
    return PackedStream(sampler, seq_len)


@pytest.mark.parametrize("tokenizer_name", ["bytes", "bpe"])
@pytest.mark.parametrize("seq_len", [3, 16, 100])
def test_every_shard_is_every_rth_reference_sequence(ladder, bpe, tokenizer_name, seq_len):
    tokenizer = bpe if tokenizer_name == "bpe" else "bytes"
    sequences, answers = reference_stream(ladder, tokenizer, seq_len, 400)
    assert len(sequences) > 40 and answers.any()
    for num_shards in (1, 2, 3, 8):
        for shard in {0, 1 % num_shards, num_shards - 1}:
            expected = sequences[shard::num_shards]
            stream = packed(ladder, tokenizer, seq_len).iter_shard(shard, num_shards)
            got = list(islice(stream, len(expected)))
            assert all(s.dtype == np.int64 for s in got)
            np.testing.assert_array_equal(np.stack(got), expected)
            head = slice(0, 20)  # masks on a prefix: the mask path shares the cutting code
            stream = packed(ladder, tokenizer, seq_len, masks=True).iter_shard(shard, num_shards)
            pairs = list(islice(stream, len(expected[head])))
            np.testing.assert_array_equal(np.stack([s for s, _ in pairs]), expected[head])
            np.testing.assert_array_equal(np.stack([m for _, m in pairs]), answers[shard::num_shards][head])


@pytest.mark.parametrize("masks", [False, True])
def test_a_shard_resumes_exactly_from_every_position(ladder, masks):
    # seq_len 4: most documents span several sequences, so many states fall inside a document and
    # leave a tail holding whole sequences still to cut.
    def items(stream, n):
        if masks:
            return [(s.tolist(), m.tolist()) for s, m in islice(stream, n)]
        return [s.tolist() for s in islice(stream, n)]

    shard, num_shards, seq_len = 1, 3, 4
    uninterrupted = items(packed(ladder, "bytes", seq_len, masks).iter_shard(shard, num_shards), 120)
    first = packed(ladder, "bytes", seq_len, masks)
    long_tails = 0
    for k, _ in enumerate(islice(first.iter_shard(shard, num_shards), 100)):
        state = json.loads(json.dumps(first.state_dict()))
        long_tails += len(state["buffer"]) > seq_len + 1
        resumed = packed(ladder, "bytes", seq_len, masks)
        resumed.load_state_dict(state)
        assert items(resumed.iter_shard(shard, num_shards), 5) == uninterrupted[k + 1 : k + 6]
    assert long_tails > 10
