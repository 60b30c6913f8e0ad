"""Checkpoints: everything a run needs to continue exactly where it stopped.

`RUN/checkpoint/` holds `model.safetensors` (weights), `optimizer.pt` (AdamW moments) and
`state.pt` (step, tokens, torch RNG state, the data source's position). The `.pt` files hold only
tensors and plain Python values, so they load with `torch.load(..., weights_only=True)`: no pickled
code runs when a checkpoint is opened.

A checkpoint is written to `checkpoint.new/` and swapped in by renames, so a crash mid-write keeps
the previous complete checkpoint (found as `checkpoint.old/` if the crash hit between the renames).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from curriscale.errors import CurriscaleError


def save_checkpoint(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Write model, optimizer and trainer state (plus the torch RNG state) as `run_dir/checkpoint`."""
    final, new, old = run_dir / "checkpoint", run_dir / "checkpoint.new", run_dir / "checkpoint.old"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, new / "model.safetensors")
    torch.save(optimizer.state_dict(), new / "optimizer.pt")
    torch.save({**state, "torch_rng": torch.get_rng_state()}, new / "state.pt")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def checkpoint_dir(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    for name in ("checkpoint", "checkpoint.old"):
        if (run_dir / name / "state.pt").is_file():
            return run_dir / name
    return None


def load_weights(folder: Path, model: torch.nn.Module) -> None:
    """Load `model.safetensors` from a checkpoint folder into `model` (shapes must match)."""
    try:
        model.load_state_dict(load_file(folder / "model.safetensors"))
    except (RuntimeError, OSError) as error:
        raise CurriscaleError(f"{folder}/model.safetensors: does not fit the model: {error}") from error


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, optimizer and torch RNG from `folder`; return the trainer state dict."""
    load_weights(folder, model)
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    state = torch.load(folder / "state.pt", weights_only=True)
    torch.set_rng_state(state.pop("torch_rng"))
    return state
