"""Tokens per second and model FLOPs utilisation (MFU) of the training steps, evaluation excluded.

MFU is the share of the hardware's peak that the model's own arithmetic uses: training FLOPs per
token (`GPTConfig.flops_per_token`, 6N plus attention, and a distillation teacher's forward pass
when there is one) times tokens per second, over the peak of every device in the run
(`device.peak_flops` x world size). Evaluation and checkpoint time is left out (`resume`), and so
is each process's first step (warm-up, compilation: `restart`), so the figures describe steady
training steps. They are wall-clock measurements: the only columns of metrics.parquet that differ
between two identical runs.
"""

from __future__ import annotations

import time

import torch

from curriscale.train.device import synchronize


class Throughput:
    """Measures training tokens/s and MFU between log rows, and over the whole run."""

    def __init__(self, device: torch.device, flops_per_token: float, peak_flops: float, tokens: int):
        self.device, self.flops_per_token, self.peak_flops = device, flops_per_token, peak_flops
        self._tokens, self._time = tokens, time.perf_counter()
        self.total_tokens, self.total_seconds = 0, 0.0

    def measure(self, tokens: int) -> dict[str, float]:
        """`tokens_per_s` and `mfu` since the last call (or `resume`), `tokens` being the run's count."""
        synchronize(self.device)
        now = time.perf_counter()
        seconds, done = max(now - self._time, 1e-9), tokens - self._tokens
        self.total_tokens, self.total_seconds = self.total_tokens + done, self.total_seconds + seconds
        self._tokens, self._time = tokens, now
        return self._rates(done, seconds)

    def resume(self) -> None:
        """Restart the clock after work that is not training (evaluation, a checkpoint)."""
        self._time = time.perf_counter()

    def restart(self, tokens: int) -> None:
        """Count from here: after warm-up work that is not a training step's (compilation)."""
        synchronize(self.device)
        self._tokens, self._time = tokens, time.perf_counter()

    def summary(self) -> dict[str, float]:
        """The whole run's training tokens/s and MFU (for done.json)."""
        return self._rates(self.total_tokens, max(self.total_seconds, 1e-9))

    def _rates(self, tokens: int, seconds: float) -> dict[str, float]:
        if tokens == 0:  # nothing timed since the clock started (the first, untimed step)
            return {"tokens_per_s": float("nan"), "mfu": float("nan")}
        rate = tokens / seconds
        return {"tokens_per_s": rate, "mfu": rate * self.flops_per_token / self.peak_flops}
