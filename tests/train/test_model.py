"""Model shape bookkeeping: parameter counts, FLOPs per token, the size ladder, causality."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from curriscale.errors import CurriscaleError
from curriscale.train.model import GPT, SIZES, GPTConfig


def meta_model(config: GPTConfig) -> GPT:
    """The model on the meta device: shapes without memory, so even the 1B size costs nothing."""
    with torch.device("meta"):
        return GPT(config)


@pytest.mark.parametrize("size", list(SIZES))
def test_counted_parameters_match_the_formula(size):
    config = GPTConfig.from_size(size, vocab_size=300, seq_len=64)
    model = meta_model(config)
    assert model.n_params() == config.n_params()
    assert model.non_embedding_params() == config.non_embedding_params()
    assert config.n_params() - config.non_embedding_params() == 300 * config.d_model


@pytest.mark.parametrize("size", ["s0", "s7", "m10", "m100", "b1", "L3-D96-H2"])
def test_counted_training_flops_match_the_formula(size):
    """torch's FLOP counter over a real forward + backward (on meta tensors) against flops_per_token.

    The formula's 6N counts every parameter; the counter sees matmuls only, so the two differ by
    exactly 6 x the RMSNorm weights per token (elementwise work the formula does not model).
    """
    seq_len = 64
    config = GPTConfig.from_size(size, vocab_size=1000, seq_len=seq_len)
    model = meta_model(config)
    tokens = torch.zeros((1, seq_len), dtype=torch.long, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        logits = model(tokens)
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens.flatten()).backward()
    norm_weights = (2 * config.n_layer + 1) * config.d_model
    assert counter.get_total_flops() == seq_len * (config.flops_per_token() - 6 * norm_weights)


def test_hand_count_of_the_smallest_size():
    config = GPTConfig.from_size("s0", vocab_size=257, seq_len=128)
    d, h = 32, 96  # hidden = 16 * ceil(8 * 32 / 3 / 16)
    assert (config.n_layer, config.d_model, config.hidden_dim, config.n_head) == (1, d, h, 2)
    per_layer = 4 * d * d + 3 * d * h + 2 * d
    assert config.non_embedding_params() == per_layer + d == 13408
    assert config.n_params() == 13408 + 257 * d
    # 6N (N = every matmul weight, tied head included) + 12 * n_layer * d_model * seq_len.
    assert config.flops_per_token() == 6 * (13408 + 257 * 32) + 12 * 1 * 32 * 128


def test_ladders_grow_from_twelve_thousand_to_a_billion():
    counts = [GPTConfig.from_size(s, 512, 128).non_embedding_params() for s in SIZES]
    assert counts == sorted(counts)
    cpu = [GPTConfig.from_size(f"s{i}", 512, 128).non_embedding_params() for i in range(8)]
    assert 12_000 <= cpu[0] <= 15_000 and 2_000_000 <= cpu[-1] <= 2_500_000
    gpu = [
        GPTConfig.from_size(s, 512, 128).non_embedding_params() / 1e6
        for s in ("m10", "m30", "m100", "m300", "b1")
    ]
    # Log-spaced about 10M, 30M, 100M, 300M, 1B: the counts the model docstring documents.
    assert gpu == pytest.approx([10.6, 31.6, 99.1, 302.4, 1008.0], rel=0.005)
    assert all(GPTConfig.from_size(s, 512, 128).head_dim in (64, 128) for s in ("m10", "m300", "b1"))


def test_a_custom_shape_is_a_size():
    config = GPTConfig.from_size("L12-D768-H12", vocab_size=1000, seq_len=128)
    assert (config.n_layer, config.d_model, config.n_head, config.hidden_dim) == (12, 768, 12, 2048)
    assert GPTConfig.from_size("L2-D96", 1000, 128).n_head == 6  # under 256 wide: 16-wide heads
    assert GPTConfig.from_size("L2-D512", 1000, 128).n_head == 8  # 64-wide heads
    with pytest.raises(CurriscaleError, match="divisible"):
        GPTConfig.from_size("L2-D100-H3", 1000, 128)


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
