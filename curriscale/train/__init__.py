"""Training: a compact GPT that consumes curriculum manifests, and the scaling-grid runner.

    from curriscale.train import TrainConfig, train, run_grid
    result = train(TrainConfig(out="runs/s2", manifest="curriculum/manifest.json", size="s2",
                               budget_tokens=2_000_000, eval_path="spectrum/eval.jsonl"))

Modules: `model` (GPT, size ladder, parameter/FLOP counts), `tokenizer`, `schedules` (LR),
`data` (token source interface), `evaluate`, `checkpoint`, `records` (metrics tables), `trainer`
(the loop), `setup` (checks and parts before step 1), `run_header` (config.json), `device` and
`distributed` (GPUs, torchrun), `memory` (will it fit), `throughput` (tokens/s, MFU), `averaging`
(EMA of weights), `run_start` (rerun checks, a growth run's start), `growth` (depth/width growth),
`hf_export` (LlamaForCausalLM folders), `grid` with `grid_plan`, `grid_resources`, `grid_executors`,
`grid_slots`, `grid_index` and `launch` (cells on executors, GPUs, torchrun).
Importing this package does not import torch until a name is used.
"""

from curriscale.lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "curriscale.train.config",
    "RunResult": "curriscale.train.config",
    "train": "curriscale.train.trainer",
    "run_grid": "curriscale.train.grid",
    "export_hf": "curriscale.train.hf_export",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
