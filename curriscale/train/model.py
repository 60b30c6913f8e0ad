"""A compact decoder-only GPT: pre-norm RMSNorm, rotary positions, SwiGLU MLP, tied embeddings.

The layout is Llama's on purpose (no biases, RMSNorm, rotate-half RoPE, SwiGLU, tied input and
output embeddings), so a trained model maps one-to-one onto `transformers.LlamaForCausalLM` (see
`hf_export.py`) and the model-difficulty scorer can load it. Attention uses torch's fused
`scaled_dot_product_attention` with a causal mask.

Sizes come from one knob, `GPTConfig.from_size(name)`, on two ladders (non-embedding parameters):

- CPU ladder "s0".."s7": ~13k to ~2.3M, the range the prototype found informative on 2 CPU cores;
  head width 16, so width and head count grow together.
- GPU ladder, log-spaced, head width 64 (128 for "b1"), MLP width ~8/3 d_model as in Llama:
  "m10" 6 x 384 (10.6M), "m30" 10 x 512 (31.6M), "m100" 14 x 768 (99.1M), "m300" 24 x 1024
  (302M), "b1" 20 x 2048 (1.01B). Each non-embedding count is n_layer * (4 d^2 + 3 d h + 2 d) + d.
- any shape: "L<n_layer>-D<d_model>" or "L<n_layer>-D<d_model>-H<n_head>" (e.g. "L12-D768-H12");
  without H the heads are 64 wide when d_model is a multiple of 64 and at least 256, else 16 wide.

Compute accounting (Kaplan et al. 2020, with Chinchilla's attention term): a training token costs
`6 * N` FLOPs for the weight matmuls (forward 2N, backward 4N), where N counts every weight used as a
matmul, including the tied embedding matrix in its role as output projection (so N = n_params()),
plus `12 * n_layer * d_model * seq_len` for the attention scores and the weighted sum of values.
A forward pass alone (a distillation teacher's) costs a third of that.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from curriscale.errors import CurriscaleError

# name -> (n_layer, d_model, n_head); the MLP width follows from d_model (see GPTConfig.from_shape).
SIZES: dict[str, tuple[int, int, int]] = {
    "s0": (1, 32, 2),
    "s1": (2, 32, 2),
    "s2": (2, 48, 3),
    "s3": (3, 64, 4),
    "s4": (4, 96, 6),
    "s5": (4, 128, 8),
    "s6": (5, 160, 10),
    "s7": (6, 176, 11),
    "m10": (6, 384, 6),
    "m30": (10, 512, 8),
    "m100": (14, 768, 12),
    "m300": (24, 1024, 16),
    "b1": (20, 2048, 16),
}
SHAPE_PATTERN = re.compile(r"L(\d+)-D(\d+)(?:-H(\d+))?")


@dataclass
class GPTConfig:
    """Shape of the model; everything else (parameter and FLOP counts) is derived from it."""

    vocab_size: int = 512
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    hidden_dim: int = 176
    seq_len: int = 128
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    @classmethod
    def from_size(cls, size: str, vocab_size: int, seq_len: int) -> GPTConfig:
        """The config for a ladder name ("s0".."s7", "m10".."b1") or a shape "L<n>-D<d>[-H<h>]"."""
        if size in SIZES:
            return cls.from_shape(*SIZES[size], vocab_size=vocab_size, seq_len=seq_len)
        match = SHAPE_PATTERN.fullmatch(str(size))
        if match is None:
            raise CurriscaleError(
                f"--size {size!r}: unknown model size; choose one of {', '.join(SIZES)} "
                "or a shape L<n_layer>-D<d_model>[-H<n_head>], e.g. L12-D768-H12"
            )
        n_layer, d_model, n_head = (None if g is None else int(g) for g in match.groups())
        return cls.from_shape(n_layer, d_model, n_head, vocab_size=vocab_size, seq_len=seq_len)

    @classmethod
    def from_shape(
        cls, n_layer: int, d_model: int, n_head: int | None = None, *, vocab_size: int, seq_len: int
    ) -> GPTConfig:
        """A config with `n_head` heads (default: see the module docstring) and a SwiGLU width of
        ~8/3 d_model rounded up to a multiple of 16."""
        if n_head is None:
            n_head = d_model // 64 if d_model >= 256 and d_model % 64 == 0 else d_model // 16
        if n_layer < 1 or n_head < 1 or d_model % n_head or (d_model // n_head) % 2:
            raise CurriscaleError(
                f"shape n_layer={n_layer}, d_model={d_model}, n_head={n_head}: needs n_layer >= 1 and "
                "d_model divisible by n_head into an even head width (default heads: 16 or 64 wide)"
            )
        hidden_dim = 16 * math.ceil(8 * d_model / 3 / 16)
        return cls(vocab_size, n_layer, d_model, n_head, hidden_dim, seq_len)

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    def non_embedding_params(self) -> int:
        """Parameters outside the (tied) token embedding: attention, MLP and norm weights."""
        d, h = self.d_model, self.hidden_dim
        per_layer = 4 * d * d + 3 * d * h + 2 * d  # q,k,v,o + gate,up,down + two norm weights
        return self.n_layer * per_layer + d  # + the final norm

    def n_params(self) -> int:
        """All parameters, the tied embedding counted once."""
        return self.non_embedding_params() + self.vocab_size * self.d_model

    def flops_per_token(self) -> int:
        """Training FLOPs per token: 6 N (N = n_params) plus 12 * n_layer * d_model * seq_len."""
        return 6 * self.n_params() + 12 * self.n_layer * self.d_model * self.seq_len

    def forward_flops_per_token(self) -> int:
        """Forward-pass FLOPs per token, a third of `flops_per_token`: 2 N plus 4 * n_layer * d_model
        * seq_len (what a distillation teacher costs per token, see `distill.py`)."""
        return 2 * self.n_params() + 4 * self.n_layer * self.d_model * self.seq_len


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def rope_tables(head_dim: int, seq_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and signed sin tables (seq_len, head_dim) for Llama's rotate-half RoPE.

    Llama rotates x as x * cos + cat(-x2, x1) * sin. With the first half of sin negated this is
    x * cos + roll(x, half) * signed_sin: three kernels (roll, mul, addcmul) instead of five.
    """
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return torch.cat([angles, angles], dim=-1).cos(), torch.cat([-angles.sin(), angles.sin()], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(x * cos, torch.roll(x, x.shape[-1] // 2, dims=-1), signed_sin)


class Attention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.head_dim = config.n_head, config.head_dim
        # One fused matmul for q, k and v: on small CPU models, fewer larger matmuls are faster.
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.o_proj = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        batch, time, width = x.shape
        qkv = self.qkv(x).view(batch, time, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(qkv[:2], cos, sin)  # one rotation for q and k together: fewer kernels
        v = qkv[2]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(batch, time, width))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.gate_up = nn.Linear(config.d_model, 2 * config.hidden_dim, bias=False)
        self.down_proj = nn.Linear(config.hidden_dim, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model, config.norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = RMSNorm(config.d_model, config.norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class GPT(nn.Module):
    """Decoder-only transformer; `forward(idx)` returns logits (batch, time, vocab)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        cos, sin = rope_tables(config.head_dim, config.seq_len, config.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the projections that write into the residual stream.
        for name, param in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def n_params(self) -> int:
        """Counted parameters (the tied embedding once); equals `config.n_params()`."""
        return sum(p.numel() for p in self.parameters())

    def non_embedding_params(self) -> int:
        return self.n_params() - self.embed.weight.numel()

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        time = idx.shape[1]
        if time > self.config.seq_len:
            raise ValueError(f"sequence of {time} tokens exceeds seq_len={self.config.seq_len}")
        cos, sin = self.rope_cos[:time], self.rope_sin[:time]
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x, cos, sin)
        return F.linear(self.norm(x), self.embed.weight)  # tied output projection
