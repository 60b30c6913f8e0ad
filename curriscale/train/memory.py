"""Will the run fit? A training-memory estimate, checked against the device's free memory before step 1.

A run that cannot fit should say so with its numbers, not die with an out-of-memory error an hour in.
The estimate counts, for one process (one rank):

- weights, gradients and AdamW's two moments in float32: 4 + 4 + 8 bytes per parameter;
- under bfloat16 autocast, the weights' bf16 copies autocast keeps for the step: 2 bytes per parameter;
- with data parallelism, DDP's gradient buckets: another 4 bytes per parameter; with `--ema-decay`,
  the averaged weights (on rank 0): another 4;
- activations saved for the backward pass, per token of the micro-batch and per layer: the float32
  residual stream twice (8 d bytes), and in the compute dtype (a bytes: 4 or 2) the two norm outputs,
  q/k/v, the rotated q and k, the attention output, the MLP's gate and up, their product and the
  SiLU output: a (9 d + 4 h), h the MLP width. Attention itself is fused (SDPA), so no seq_len^2 term;
- the logits: per token, vocab x (a for the model's output + 4 for the float copy + 4 for the
  log-softmax cross-entropy saves + 4 for their gradient);
- transients: the backward pass holds the gradients of about one layer's activations besides the
  saved ones (counted twice: incoming and outgoing), and the foreach AdamW step two float32
  temporaries per parameter.

Measured against the peak resident memory of real training steps on a CPU (`python
benchmarks/bench_memory.py`), the estimate is 0.8-1.0x: allocator caching comes on top.

It is an estimate: allocator fragmentation and library workspaces come on top, so a run is refused
only when the estimate alone exceeds free memory, and the margin is printed (`summary`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from curriscale.train.model import GPTConfig

GIB = 1024**3


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per component for one process; `total` is their sum."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int
    extra: int  # bf16 weight copies, DDP gradient buckets, averaged weights
    transient: int  # backward's activation gradients and the optimizer step's temporaries

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}

    def summary(self) -> str:
        """One line: the total and its largest parts, in GiB."""
        parts = ", ".join(
            f"{name} {value / GIB:.2f}"
            for name, value in asdict(self).items()
            if value >= 0.005 * GIB or name in ("weights", "activations")
        )
        return f"{self.total / GIB:.2f} GiB ({parts})"


def estimate_memory(
    model: GPTConfig, micro_batch: int, dtype: str = "float32", world_size: int = 1, averaged: bool = False
) -> MemoryEstimate:
    """The training-memory estimate of the module docstring for `micro_batch` sequences of `model.seq_len`."""
    params = model.n_params()
    act = 2 if dtype == "bfloat16" else 4
    tokens = micro_batch * model.seq_len
    d, h = model.d_model, model.hidden_dim
    per_token_layer = 8 * d + act * (9 * d + 4 * h)
    extra = (2 * params if dtype == "bfloat16" else 0) + (4 * params if world_size > 1 else 0)
    extra += 4 * params if averaged else 0
    return MemoryEstimate(
        weights=4 * params,
        gradients=4 * params,
        optimizer=8 * params,
        activations=tokens * (model.n_layer * per_token_layer + 4 * d),
        logits=tokens * model.vocab_size * (act + 12),
        extra=extra,
        transient=2 * tokens * per_token_layer + 8 * params,
    )
