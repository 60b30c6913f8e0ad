"""Export a run as a Hugging Face `LlamaForCausalLM` folder (config, safetensors, tokenizer).

The model's layout is Llama's (RMSNorm, rotate-half RoPE, SwiGLU, no biases, tied embeddings), so
the export is a renaming plus splitting the fused q/k/v and gate/up matrices. The folder loads with
`AutoModelForCausalLM.from_pretrained(folder)` and `AutoTokenizer.from_pretrained(folder)`, which is
what the model-difficulty scorer does (`--scorer model_difficulty:model=RUN/hf`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from curriscale.errors import CurriscaleError
from curriscale.train.checkpoint import checkpoint_dir, load_weights
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.tokenizer import eos_id, load_tokenizer, write_hf_tokenizer_files


def llama_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """Our parameter names and shapes mapped onto LlamaForCausalLM's."""
    out = {"model.embed_tokens.weight": model.embed.weight, "model.norm.weight": model.norm.weight}
    for i, block in enumerate(model.blocks):
        prefix = f"model.layers.{i}."
        q, k, v = block.attn.qkv.weight.chunk(3, dim=0)
        gate, up = block.mlp.gate_up.weight.chunk(2, dim=0)
        out.update(
            {
                prefix + "input_layernorm.weight": block.attn_norm.weight,
                prefix + "self_attn.q_proj.weight": q,
                prefix + "self_attn.k_proj.weight": k,
                prefix + "self_attn.v_proj.weight": v,
                prefix + "self_attn.o_proj.weight": block.attn.o_proj.weight,
                prefix + "post_attention_layernorm.weight": block.mlp_norm.weight,
                prefix + "mlp.gate_proj.weight": gate,
                prefix + "mlp.up_proj.weight": up,
                prefix + "mlp.down_proj.weight": block.mlp.down_proj.weight,
            }
        )
    return {name: tensor.detach().clone().contiguous() for name, tensor in out.items()}


def to_llama(model: GPT, eos: int = 0):
    """A `transformers.LlamaForCausalLM` computing the same logits as `model`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    c: GPTConfig = model.config
    config = LlamaConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.d_model,
        intermediate_size=c.hidden_dim,
        num_hidden_layers=c.n_layer,
        num_attention_heads=c.n_head,
        num_key_value_heads=c.n_head,
        max_position_embeddings=c.seq_len,
        rms_norm_eps=c.norm_eps,
        rope_theta=c.rope_theta,
        hidden_act="silu",
        tie_word_embeddings=True,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    llama = LlamaForCausalLM(config)
    missing, unexpected = llama.load_state_dict(llama_state_dict(model), strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise RuntimeError(f"Llama mapping mismatch: missing={missing}, unexpected={unexpected}")
    llama.tie_weights()
    return llama.eval()


def export_hf(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the newest checkpoint of `run_dir` as a Hugging Face model folder `out_dir`."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    folder = checkpoint_dir(run_dir)
    if folder is None or not (run_dir / "config.json").is_file():
        raise CurriscaleError(f"{run_dir}: not a run directory with config.json and a checkpoint")
    model = GPT(GPTConfig(**json.loads((run_dir / "config.json").read_text())["model"]))
    load_weights(folder, model)
    tokenizer = load_tokenizer(run_dir / "tokenizer.json")
    to_llama(model, eos_id(tokenizer)).save_pretrained(out_dir)
    write_hf_tokenizer_files(tokenizer, out_dir)
    return out_dir
