"""Data parallelism: the process group a `torchrun` launch sets up, and the few collectives the trainer uses.

`torchrun --nproc_per_node N curriscale train ...` starts N copies of the same command with RANK,
WORLD_SIZE and LOCAL_RANK in their environment. `Distributed.from_environment` joins them into one
process group (NCCL on CUDA, gloo on CPU) and is a no-op single-process context otherwise, so the
trainer has one code path: every collective below returns its input unchanged when world_size is 1.

What the trainer relies on (see trainer.py): every rank builds the same model from the same seed
(DDP also broadcasts rank 0's weights), reads its own shard of the one global curriculum stream,
and averages gradients; rank 0 alone writes the run folder, after gathering every rank's sampler
state into the checkpoint.
"""

from __future__ import annotations

import datetime
import gc
import inspect
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from curriscale.errors import CurriscaleError


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run: rank, world size, and the local rank that picks its GPU."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1  # processes of this run on this machine

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder and reports progress."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(cls) -> Distributed:
        """The launch's ranks from torchrun's environment variables (single process when absent)."""
        try:
            world_size = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
        except ValueError as error:
            raise CurriscaleError(
                f"torchrun's RANK / WORLD_SIZE / LOCAL_RANK are not integers: {error}"
            ) from error
        return cls(rank, world_size, local_rank, local_world_size)

    def start(self, device: torch.device) -> None:
        """Join the process group (NCCL for CUDA, gloo otherwise); no-op for one process."""
        if not self.active or dist.is_initialized():
            return
        backend = "nccl" if device.type == "cuda" else "gloo"  # (device.configure set this rank's GPU)
        # Rank 0 evaluates and writes checkpoints while the others wait at a barrier: allow long waits.
        dist.init_process_group(backend, timeout=datetime.timedelta(hours=2))

    def stop(self) -> None:
        """Leave the process group; every object using it (DDP's reducer) must be gone first."""
        if self.active and dist.is_initialized():
            # A DDP wrapper left to the garbage collector outlives the group; gloo then aborts the
            # process at exit ("terminate called without an active exception"), seen under load.
            gc.collect()
            dist.destroy_process_group()

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """`model` under DistributedDataParallel when there are several processes, else itself."""
        if not self.active:
            return model
        # The rotary tables are the only buffers, constant and equal on every rank: no need to
        # broadcast them before every forward (the flag's name changed in torch 2.13).
        parameters = inspect.signature(DistributedDataParallel).parameters
        no_sync = "forward_sync_buffers" if "forward_sync_buffers" in parameters else "broadcast_buffers"
        return DistributedDataParallel(model, **{no_sync: False})

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """The sum of `value` over ranks (in place where distributed)."""
        if self.active:
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank (picklable plain values only)."""
        if not self.active:
            return [obj]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank."""
        if not self.active:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]
