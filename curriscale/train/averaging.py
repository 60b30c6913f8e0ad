"""An exponential moving average (EMA) of the model's weights, evaluated as a model of its own.

Why: a decaying learning rate lets the last, hardest curriculum stages arrive while the LR is near
zero, so they barely move the weights (Luo et al. 2025). Averaging the weights of recent steps
instead of decaying the LR reduces the noise of a constant LR without that cost. With
`ema_decay`, the trainer keeps the average next to the raw weights and evaluates both at every
checkpoint; the average's metrics carry an `ema_` prefix (`ema_eval_loss`, `ema_accuracy_level_1`,
...), so a grid can compare "averaged" with "raw" at equal compute.

The first updates use a smaller decay, min(decay, (1 + t) / (10 + t)) at update t, so the average
is not dominated by the random initial weights in short runs (the warm-up used by TensorFlow's and
timm's EMA). The average lives with the evaluating process (rank 0), is saved in the checkpoint as
`average.safetensors`, and resumes exactly.
"""

from __future__ import annotations

import copy

import torch


class WeightAverage:
    """EMA of a model's parameters (buffers are copied: they are not trained).

    Args:
        model: the trained model; its weights are the average's start.
        decay: the EMA decay in (0, 1): each update keeps `decay` of the average.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average towards `model`'s current weights."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averaged, current = list(self.model.parameters()), list(model.parameters())
        torch._foreach_lerp_(averaged, current, 1.0 - decay)
