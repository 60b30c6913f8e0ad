"""Learning-rate schedules as pure functions of the step.

Every schedule starts with a linear warmup from ~0 to the peak `lr` over `warmup_steps`, then:

- `cosine`:   half-cosine from lr down to min_lr (= lr * min_lr_ratio) at the last step;
- `wsd`:      warmup-stable-decay: flat at lr, then a linear decay to min_lr over the last
              `decay_fraction` of training (Hu et al. 2024, MiniCPM);
- `linear`:   linear decay from lr to min_lr;
- `constant`: flat at lr;
- `step`:     lr times `step_gamma` at each of the fractions in `step_milestones`.

`lr_array` materialises the per-step values, which the LR-annealing scaling law (Tissue et al. 2024)
needs next to the losses.

Which schedule a run uses (`resolve_schedule`): the one asked for (`--lr-schedule`, source
"option"); else the one the manifest pairs with its pacing (the recipe's `lr_schedule:` section,
source "manifest"), whose parameters replace the run's warmup_fraction / min_lr_ratio; else cosine
(source "default"). Explicit `lr_params` apply on top in every case.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curriscale.curricula.recipe import LR_SCHEDULE_PARAMS, check_lr_schedule
from curriscale.errors import CurriscaleError

SCHEDULES = tuple(LR_SCHEDULE_PARAMS)  # one list of kinds, shared with the recipe check
# Parameters besides warmup_fraction and min_lr_ratio (TrainConfig fields): TrainConfig.lr_params.
EXTRA_PARAMS = ("decay_fraction", "step_milestones", "step_gamma")


@dataclass(frozen=True)
class LRSchedule:
    """A named schedule with its parameters; `schedule(step)` returns the learning rate at a step."""

    kind: str
    lr: float
    total_steps: int
    warmup_fraction: float = 0.02
    min_lr_ratio: float = 0.1
    decay_fraction: float = 0.2
    step_milestones: tuple[float, ...] = field(default=(0.5, 0.75))
    step_gamma: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise CurriscaleError(f"--lr-schedule {self.kind!r}: choose one of {', '.join(SCHEDULES)}")
        if self.total_steps < 1:
            raise CurriscaleError(f"the run has {self.total_steps} steps; raise the token budget")

    @property
    def warmup_steps(self) -> int:
        return max(1, round(self.warmup_fraction * self.total_steps))

    def __call__(self, step: int) -> float:
        """Learning rate for optimizer step `step` (0-based)."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        min_lr = self.lr * self.min_lr_ratio
        # Progress through the post-warmup part, 0 at the end of warmup, 1 at the last step.
        span = max(1, self.total_steps - 1 - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        if self.kind == "cosine":
            return min_lr + 0.5 * (self.lr - min_lr) * (1 + math.cos(math.pi * progress))
        if self.kind == "linear":
            return self.lr - (self.lr - min_lr) * progress
        if self.kind == "wsd":
            decay_start = self.total_steps - max(1, round(self.decay_fraction * self.total_steps))
            if step < decay_start:
                return self.lr
            return self.lr - (self.lr - min_lr) * (step - decay_start + 1) / (self.total_steps - decay_start)
        if self.kind == "step":
            passed = sum(step >= round(m * self.total_steps) for m in self.step_milestones)
            return self.lr * self.step_gamma**passed
        return self.lr  # constant

    def to_dict(self) -> dict:
        return asdict(self)


def lr_array(schedule: LRSchedule) -> np.ndarray:
    """The learning rate at every step 0..total_steps-1 (float64)."""
    return np.array([schedule(step) for step in range(schedule.total_steps)], dtype=np.float64)


def manifest_lr_schedule(manifest: str | Path) -> dict[str, Any] | None:
    """The LR schedule a manifest pairs with its pacing (`{kind, params}`, checked), or None."""
    path = Path(manifest)
    path = path / "manifest.json" if path.is_dir() else path
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CurriscaleError(f"{path}: cannot read manifest: {error}") from error
    if not isinstance(data, dict):
        raise CurriscaleError(f"{path}: not a manifest (a JSON object)")
    try:
        return check_lr_schedule(data.get("lr_schedule"), f"{path}: lr_schedule")
    except CurriscaleError as error:  # the schema lets other tools write any kind: say how to go on
        raise CurriscaleError(f"{error}; or give a schedule (--lr-schedule, a grid's lr_schedules)") from None


def resolve_schedule(
    kind: str | None,
    manifest: str | Path | None,
    warmup_fraction: float,
    min_lr_ratio: float,
    lr_params: dict[str, Any],
) -> tuple[str, dict[str, Any], str]:
    """The schedule a run uses: (kind, LRSchedule keyword parameters, source); see the module docstring.

    Args:
        kind: the schedule asked for, or None to take the manifest's (else cosine).
        manifest: the run's manifest, read only when `kind` is None.
        warmup_fraction, min_lr_ratio, lr_params: the run's own parameters.

    Returns:
        kind, the parameters (warmup_fraction, min_lr_ratio and any of `EXTRA_PARAMS`) and where the
        schedule came from: "option", "manifest" or "default".
    """
    params: dict[str, Any] = {"warmup_fraction": warmup_fraction, "min_lr_ratio": min_lr_ratio}
    if kind is not None:
        source = "option"
    else:
        paired = manifest_lr_schedule(manifest) if manifest is not None else None
        kind, source = ("cosine", "default") if paired is None else (paired["kind"], "manifest")
        params.update(paired["params"] if paired else {})
    params.update(lr_params)
    if "step_milestones" in params:
        params["step_milestones"] = tuple(params["step_milestones"])
    return kind, params, source
