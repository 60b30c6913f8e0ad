"""Model shape bookkeeping: parameter counts, FLOPs per token, the size ladder, causality."""

import pytest
import torch

from curriscale.errors import CurriscaleError
from curriscale.train.model import GPT, SIZES, GPTConfig


@pytest.mark.parametrize("size", sorted(SIZES))
def test_counted_parameters_match_the_formula(size):
    config = GPTConfig.from_size(size, vocab_size=300, seq_len=64)
    model = GPT(config)
    assert model.n_params() == config.n_params()
    assert model.non_embedding_params() == config.non_embedding_params()
    assert config.n_params() - config.non_embedding_params() == 300 * config.d_model


def test_hand_count_of_the_smallest_size():
    config = GPTConfig.from_size("s0", vocab_size=257, seq_len=128)
    d, h = 32, 96  # hidden = 16 * ceil(8 * 32 / 3 / 16)
    assert (config.n_layer, config.d_model, config.hidden_dim, config.n_head) == (1, d, h, 2)
    per_layer = 4 * d * d + 3 * d * h + 2 * d
    assert config.non_embedding_params() == per_layer + d == 13408
    assert config.n_params() == 13408 + 257 * d
    # 6N (N = every matmul weight, tied head included) + 12 * n_layer * d_model * seq_len.
    assert config.flops_per_token() == 6 * (13408 + 257 * 32) + 12 * 1 * 32 * 128


def test_ladder_spans_twelve_thousand_to_two_million_and_grows():
    counts = [GPTConfig.from_size(s, 512, 128).non_embedding_params() for s in sorted(SIZES)]
    assert counts == sorted(counts)
    assert 12_000 <= counts[0] <= 15_000 and 2_000_000 <= counts[-1] <= 2_500_000


def test_unknown_size_names_the_option():
    with pytest.raises(CurriscaleError, match="--size 'huge'"):
        GPTConfig.from_size("huge", 300, 64)


def test_future_tokens_do_not_change_past_logits():
    torch.manual_seed(0)
    model = GPT(GPTConfig.from_size("s1", 50, 16))
    x = torch.randint(0, 50, (2, 16))
    y = x.clone()
    y[:, 10:] = (y[:, 10:] + 1) % 50
    out_x, out_y = model(x), model(y)
    assert out_x.shape == (2, 16, 50)
    assert torch.allclose(out_x[:, :10], out_y[:, :10], atol=1e-6)
    assert not torch.allclose(out_x[:, 10:], out_y[:, 10:])
