"""Training: a compact GPT that consumes curriculum manifests, and the scaling-grid runner.

    from curriscale.train import TrainConfig, train, run_grid
    result = train(TrainConfig(out="runs/s2", manifest="curriculum/manifest.json", size="s2",
                               budget_tokens=2_000_000, eval_path="spectrum/eval.jsonl"))

Modules: `model` (GPT, size ladder, parameter/FLOP counts), `tokenizer`, `schedules` (LR),
`data` (token source interface), `evaluate`, `checkpoint`, `records` (metrics tables),
`trainer`, `growth` (depth/width growth), `hf_export` (LlamaForCausalLM folders), `grid`.
Importing this package does not import torch until a name is used.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "TrainConfig": "curriscale.train.config",
    "RunResult": "curriscale.train.config",
    "train": "curriscale.train.trainer",
    "run_grid": "curriscale.train.grid",
    "export_hf": "curriscale.train.hf_export",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'curriscale.train' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = list(_EXPORTS)
