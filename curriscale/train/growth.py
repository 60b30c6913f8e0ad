"""Model growth: build a larger GPT from a trained smaller one, computing the same function.

"Learn the easy tiers small, then grow": a small model trains on the first stages of a manifest,
then a grown copy continues on the later ones. Both growths keep the logits unchanged at the moment
of growth (up to float rounding), so no training is lost:

- depth: a fresh block is inserted after every trained one (the depth doubles). Its two output
  projections (attention `o_proj`, MLP `down_proj`) start at zero, so the block adds nothing to the
  residual stream until training moves them (cf. Gong et al. 2019 stacking; Wang et al. 2023 LiGO).
- width: d_model, heads and MLP width double by zero-padding (Net2Net's function-preserving spirit,
  Chen et al. 2016). New residual dimensions start at zero: new embedding columns and every output
  row writing into them are zero; new heads and hidden units read the old dimensions with random
  weights but write nothing back. RMSNorm divides by the RMS over all dimensions, which the zero
  padding shrinks by sqrt(d/d'): norm weights are scaled by sqrt(d/d') and eps by d/d' to compensate.

A third way to grow does not reuse the weights: `distill` trains a fresh model of another size on
the rest of the plan, taught by the small one's logits (`distill.py`). `GrowthPlan` reads a grid's
`growth` entry of any of the three kinds (`grid_plan.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch

from curriscale.errors import CurriscaleError
from curriscale.train.model import GPT, GPTConfig

KINDS = ("depth", "width", "distill")


@dataclass(frozen=True)
class GrowthPlan:
    """A grid `growth` entry: `start` trains on the first `at` of the plan, then grows by `how`.

    `{from: s1, grow: depth, at: 0.5}` (or width) grows the trained model; `{from: s1, grow:
    distill, to: s3, at: 0.5, temperature: 2.0, weight: 0.5}` trains a fresh `to` model on the rest,
    taught by the trained one (temperature and weight default to `TrainConfig`'s).
    """

    start: str
    how: str
    at: float = 0.5
    to: str | None = None
    temperature: float | None = None
    weight: float | None = None

    @classmethod
    def parse(cls, entry: Any, where: str) -> GrowthPlan:
        """Check a grid's growth entry; errors name `where` (e.g. "grid.yaml: growth[0]")."""
        if not isinstance(entry, dict) or "from" not in entry or entry.get("grow") not in KINDS:
            raise CurriscaleError(f"{where}: write {{from: <size>, grow: depth|width|distill, at: 0.5}}")
        allowed = {"from", "grow", "at"} | (
            {"to", "temperature", "weight"} if entry["grow"] == "distill" else set()
        )
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise CurriscaleError(
                f"{where}.{unknown[0]}: unknown field for grow {entry['grow']} (allowed: {', '.join(sorted(allowed))})"
            )
        if entry["grow"] == "distill" and "to" not in entry:
            raise CurriscaleError(f"{where}: grow distill needs 'to', the size of the fresh model it teaches")
        at = entry.get("at", 0.5)
        if not isinstance(at, (int, float)) or not 0 < at < 1:
            raise CurriscaleError(f"{where}.at: {at!r} is not a fraction in (0, 1)")
        for key in ("from", "to"):
            if key in entry:  # an unknown size fails before anything is written
                try:
                    GPTConfig.from_size(str(entry[key]), vocab_size=257, seq_len=1)
                except CurriscaleError as error:
                    raise CurriscaleError(f"{where}.{key}: {error}") from error
        to = None if entry.get("to") is None else str(entry["to"])
        return cls(
            str(entry["from"]), entry["grow"], float(at), to, entry.get("temperature"), entry.get("weight")
        )

    @property
    def tag(self) -> str:
        """`depth`, `width` or `distill-<to>`: the second stage in cell names."""
        return f"distill-{self.to}" if self.how == "distill" else self.how

    @property
    def label(self) -> str:
        """The grown cells' size column, e.g. `s1+depth` or `s1+distill-s3`."""
        return f"{self.start}+{self.tag}"

    @property
    def lr_size(self) -> str:
        """The size whose learning rate the second stage uses: a distilled model's own, else `start`'s."""
        return self.to if self.how == "distill" else self.start

    def second_stage(self, small: GPTConfig) -> tuple[GPTConfig, int]:
        """(the second stage's model, extra FLOPs per token on top of training it): a distilled
        model also pays the teacher's forward pass."""
        if self.how != "distill":
            return grown_config(small, self.how), 0
        return GPTConfig.from_size(self.to, small.vocab_size, small.seq_len), small.forward_flops_per_token()

    def second_stage_fields(self, first_stage_out: str) -> dict[str, Any]:
        """The second stage's `TrainConfig` fields that start it from the first stage's run."""
        if self.how != "distill":
            return {"init_from": first_stage_out, "grow": self.how}
        options = {"distill_temperature": self.temperature, "distill_weight": self.weight}
        return {
            "distill_from": first_stage_out,
            "size": self.to,
            **{k: float(v) for k, v in options.items() if v is not None},
        }


def grown_config(config: GPTConfig, how: str) -> GPTConfig:
    """The config after growing by `how` ("depth": 2x layers; "width": 2x d_model, heads, MLP)."""
    if how == "depth":
        return replace(config, n_layer=2 * config.n_layer)
    return replace(
        config,
        d_model=2 * config.d_model,
        n_head=2 * config.n_head,
        hidden_dim=2 * config.hidden_dim,
        norm_eps=config.norm_eps / 2,
    )


@torch.no_grad()
def grow_model(small: GPT, how: str, seed: int = 0) -> GPT:
    """Return a new, larger GPT computing the same logits as `small` (see module docstring)."""
    torch.manual_seed(seed)
    big = GPT(grown_config(small.config, how))
    old, new = small.state_dict(), big.state_dict()
    if how == "depth":
        _grow_depth(old, new, small.config.n_layer)
    else:
        _grow_width(old, new, small.config)
    big.load_state_dict(new)
    return big


def _grow_depth(old: dict, new: dict, n_layer: int) -> None:
    for name in ("embed.weight", "norm.weight"):
        new[name].copy_(old[name])
    for i in range(n_layer):
        for name, tensor in old.items():
            if name.startswith(f"blocks.{i}."):
                new[name.replace(f"blocks.{i}.", f"blocks.{2 * i}.", 1)].copy_(tensor)
        inserted = f"blocks.{2 * i + 1}."
        new[inserted + "attn.o_proj.weight"].zero_()
        new[inserted + "mlp.down_proj.weight"].zero_()


def _grow_width(old: dict, new: dict, config: GPTConfig) -> None:
    d, h, n_head, head_dim = config.d_model, config.hidden_dim, config.n_head, config.head_dim
    norm_scale = math.sqrt(d / (2 * d))
    new["embed.weight"][:, d:].zero_()
    new["embed.weight"][:, :d].copy_(old["embed.weight"])
    for name, tensor in old.items():
        if name.endswith("norm.weight"):
            new[name].fill_(norm_scale)
            new[name][:d].copy_(tensor * norm_scale)
        elif name.endswith("attn.qkv.weight"):
            # Rows are (q|k|v, head, head_dim); the old heads are the first n_head of each part.
            view = new[name].view(3, 2 * n_head, head_dim, 2 * d)
            view[:, :n_head, :, :d].copy_(tensor.view(3, n_head, head_dim, d))
        elif name.endswith("mlp.gate_up.weight"):
            new[name].view(2, 2 * h, 2 * d)[:, :h, :d].copy_(tensor.view(2, h, d))
        elif name.endswith(("attn.o_proj.weight", "mlp.down_proj.weight")):
            # Only the old inputs may write, and only into the old residual dimensions.
            new[name].zero_()
            new[name][:d, : tensor.shape[1]].copy_(tensor)
