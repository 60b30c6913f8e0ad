"""Growth keeps the function: logits before and after growing agree within 1e-5."""

import pytest
import torch

from curriscale.train.growth import grow_model
from curriscale.train.model import GPT, GPTConfig


@pytest.mark.parametrize("how", ["depth", "width"])
def test_growth_preserves_logits(how):
    torch.manual_seed(0)
    small = GPT(GPTConfig.from_size("s1", 100, 32))
    with torch.no_grad():  # move away from the init so every weight matters
        for p in small.parameters():
            p.add_(0.2 * torch.randn_like(p))
    big = grow_model(small, how, seed=1)
    x = torch.randint(0, 100, (3, 32))
    expected = {"depth": (4, 32), "width": (2, 64)}[how]
    assert (big.config.n_layer, big.config.d_model) == expected
    assert big.n_params() > small.n_params()
    torch.testing.assert_close(big(x), small(x), atol=1e-5, rtol=0)


def test_grown_model_trains_its_new_weights():
    torch.manual_seed(0)
    big = grow_model(GPT(GPTConfig.from_size("s0", 50, 16)), "depth")
    x = torch.randint(0, 50, (2, 17))
    loss = torch.nn.functional.cross_entropy(big(x[:, :-1]).transpose(1, 2), x[:, 1:])
    loss.backward()
    # The inserted block's zero output projection still receives a gradient.
    assert big.blocks[1].attn.o_proj.weight.grad.abs().sum() > 0
