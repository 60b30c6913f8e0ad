"""Checkpoints: everything a run needs to continue exactly where it stopped.

`RUN/checkpoint/` holds `model.safetensors` (weights), `optimizer.pt` (AdamW moments) and
`state.pt` (step, tokens, torch RNG state, the data source's position). The `.pt` files hold only
tensors and plain Python values, so they load with `torch.load(..., weights_only=True)`: no pickled
code runs when a checkpoint is opened.

A checkpoint is written to `checkpoint.new/` and swapped in by renames, so a crash mid-write keeps
the previous complete checkpoint (found as `checkpoint.old/` if the crash hit between the renames).
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from curriscale.errors import CurriscaleError
from curriscale.io import fsync_path


def save_checkpoint(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    average: torch.nn.Module | None = None,
) -> None:
    """Write model, optimizer and trainer state (plus the torch RNG state) as `run_dir/checkpoint`,
    and the averaged weights (`averaging.py`) as `average.safetensors` when the run keeps them.

    Tensors are written from wherever they live (a GPU included); `load_checkpoint` maps them to the
    CPU first, so a checkpoint loads on any device.
    """
    final, new, old = run_dir / "checkpoint", run_dir / "checkpoint.new", run_dir / "checkpoint.old"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    files = {"model.safetensors": model, "average.safetensors": average}
    for name, weights in files.items():
        if weights is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in weights.state_dict().items()}, new / name)
    torch.save(optimizer.state_dict(), new / "optimizer.pt")
    torch.save({**state, "torch_rng": torch.get_rng_state()}, new / "state.pt")
    for path in new.iterdir():
        fsync_path(path)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    fsync_path(run_dir)  # the renames reach the disk before the old checkpoint goes
    shutil.rmtree(old, ignore_errors=True)


def checkpoint_dir(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    for name in ("checkpoint", "checkpoint.old"):
        if (run_dir / name / "state.pt").is_file():
            return run_dir / name
    return None


def load_weights(folder: Path, model: torch.nn.Module, name: str = "model.safetensors") -> None:
    """Load weights (`model.safetensors`, or `name`) from a checkpoint folder into `model`."""
    try:
        model.load_state_dict(load_file(folder / name, device="cpu"))
    except (RuntimeError, OSError, SafetensorError) as error:
        raise CurriscaleError(f"{folder}/{name}: damaged or not this model's weights: {error}") from error


def load_state(folder: Path) -> dict[str, Any]:
    """The trainer state of a checkpoint (`state.pt`), mapped to the CPU."""
    return _load(folder / "state.pt")


def load_checkpoint(
    folder: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    average: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Restore model, optimizer, torch RNG (and the averaged weights) from `folder`; return the
    trainer state dict."""
    load_weights(folder, model)
    if average is not None:
        load_weights(folder, average, "average.safetensors")
    try:
        # Moments are mapped to the CPU and moved by load_state_dict to each parameter's device.
        optimizer.load_state_dict(_load(folder / "optimizer.pt"))
    except (ValueError, KeyError, RuntimeError) as error:
        raise CurriscaleError(
            f"{folder}/optimizer.pt: does not fit the model's optimizer: {error}"
        ) from error
    state = load_state(folder)
    torch.set_rng_state(state.pop("torch_rng"))
    return state


def rank_samplers(state: dict[str, Any], world_size: int, folder: Path) -> list[dict[str, Any]]:
    """Every rank's data position from a checkpoint state, checked against this launch's world size.

    Each rank reads its own shard of the stream, so a position only continues on as many processes
    as wrote it. Checkpoints from before data parallelism hold one `sampler`.
    """
    samplers = state.get("samplers") or [state["sampler"]]
    if len(samplers) != world_size:
        how = (
            "plain `curriscale train` (one process)"
            if len(samplers) == 1
            else f"torchrun --nproc_per_node {len(samplers)}"
        )
        raise CurriscaleError(
            f"{folder} was written by {len(samplers)} process(es), this launch has {world_size}: resume with {how}"
        )
    return samplers


def _load(path: Path) -> dict[str, Any]:
    """torch.load with no pickled code (weights_only) onto the CPU; a damaged file is named."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise CurriscaleError(
            f"{path}: damaged checkpoint file ({error}); move {path.parent} away to restart the run"
        ) from error
