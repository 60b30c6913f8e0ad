"""The Hugging Face export computes the same logits and loads with AutoModelForCausalLM."""

import json

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


def test_exported_run_loads_in_the_model_difficulty_scorer(tmp_path):
    from train_task import write_task_manifest

    from curriscale.scorers.model_difficulty import load_causal_lm
    from curriscale.train.checkpoint import load_weights
    from curriscale.train.config import TrainConfig
    from curriscale.train.hf_export import export_hf
    from curriscale.train.trainer import train

    manifest = write_task_manifest(tmp_path / "cur", docs_per_level=20)
    config = TrainConfig(out=str(tmp_path / "run"), manifest=str(manifest), size="s0", seq_len=32, batch_size=4,
                         budget_tokens=3 * 128, n_evals=1, threads=1)  # fmt: skip
    train(config)
    folder = export_hf(tmp_path / "run", tmp_path / "hf")
    hf_model, hf_tokenizer = load_causal_lm(str(folder))
    ours = GPT(GPTConfig(**json.loads((tmp_path / "run" / "config.json").read_text())["model"]))
    load_weights(tmp_path / "run" / "checkpoint", ours)
    ids = torch.tensor([[0, *hf_tokenizer("capital fr: paris", add_special_tokens=False)["input_ids"]]])
    assert ids.shape[1] == 1 + len("capital fr: paris")  # the exported tokenizer is the run's (bytes)
    with torch.no_grad():
        torch.testing.assert_close(hf_model(input_ids=ids).logits, ours(ids), atol=1e-5, rtol=1e-5)
