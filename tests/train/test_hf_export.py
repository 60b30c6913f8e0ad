"""The Hugging Face export computes the same logits and loads with AutoModelForCausalLM."""

import torch

from curriscale.train.hf_export import to_llama
from curriscale.train.model import GPT, GPTConfig


def test_llama_logits_match_ours():
    torch.manual_seed(0)
    model = GPT(GPTConfig.from_size("s1", 120, 24)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    llama = to_llama(model)
    x = torch.randint(0, 120, (2, 24))
    with torch.no_grad():
        torch.testing.assert_close(llama(input_ids=x).logits, model(x), atol=1e-5, rtol=1e-5)
