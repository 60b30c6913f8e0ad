"""`CurriculumDataset`: a manifest as a torch IterableDataset, for our trainer and anyone's.

Without a tokenizer it yields documents (dicts: id, text, tier, every tier-file column) in schedule
order; with a tokenizer and `seq_len` it yields packed `torch.LongTensor`s of `seq_len + 1` ids
(shift by one for inputs/targets), documents separated by EOS, and schedule progress counted in that
tokenizer's tokens. The stream itself lives in the torch-free `sampler` and `packing` modules.

Sharding: the global stream is defined once; with R ranks and W DataLoader workers per rank, shard
`rank * W + worker` keeps items shard, shard + R*W, ... (documents, or packed sequences), so the
shards together hold exactly the single-process stream. Rank and world size come from the arguments
or, when torch.distributed is initialised, from it.

Resume: `state_dict()` after k items restores, via `load_state_dict()`, a stream whose next item is
item k + 1 of the uninterrupted run (sampler Generator, tier cursors and epochs, packing buffer).
The state lives in the object that iterates, so take it from the dataset you iterate in-process
(num_workers=0, as curriscale's trainer does). DataLoader worker copies keep their own state: each
shard resumes exactly from its own `state_dict()`, so a loader that saves and restores per-worker
dataset state can resume too; a plain DataLoader's main-process copy never advances.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from curriscale.curricula.encoding import make_encoder
from curriscale.curricula.packing import PackedStream
from curriscale.curricula.sampler import CurriculumSampler
from curriscale.errors import CurriscaleError


class CurriculumDataset(IterableDataset):
    """Documents or packed token sequences of a curriculum manifest, in schedule order.

    Args:
        manifest: a `manifest.json` path, its folder, or a loaded manifest.
        seed: the stream's seed (tier choice and shuffles).
        tokenizer: None (yield documents), "bytes", a `tokenizer.json` path, a
            `tokenizers.Tokenizer`, or a callable text -> ids (then also pass eos_id, vocab_size).
        seq_len: with a tokenizer, yield packed sequences of seq_len + 1 ids.
        budget_tokens: the trainer's budget; progress = consumed / budget maps onto the schedule.
        eos_id: document separator (default: the tokenizer's `<|endoftext|>`).
        vocab_size: only for a callable tokenizer.
        rank, world_size: distributed shard (default: torch.distributed if initialised, else 0 / 1).
        stop_at_end: end once the schedule is complete instead of continuing with its last interval.
        columns: tier-file columns to read (default all).
        answer_mask: with seq_len, yield (tokens, answer mask) pairs; the mask (bool, same length)
            marks answer tokens of question documents, for an answer-loss weight.
        token_cache: a folder for encoded row groups, shared by ranks, epochs and runs: with a
            `tokenizers` tokenizer, each row group is then encoded once rather than by every rank.

    Example:
        >>> ds = CurriculumDataset("curriculum/manifest.json", seed=0, tokenizer="bytes", seq_len=128)
        >>> batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=8)))  # (8, 129) int64
    """

    def __init__(
        self,
        manifest: str | Path | Any,
        seed: int = 0,
        tokenizer: Any = None,
        seq_len: int | None = None,
        budget_tokens: int | None = None,
        *,
        eos_id: int | None = None,
        vocab_size: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        stop_at_end: bool = False,
        columns: Sequence[str] | None = None,
        answer_mask: bool = False,
        token_cache: str | Path | None = None,
    ):
        super().__init__()
        if seq_len is not None and tokenizer is None:
            raise CurriscaleError("seq_len needs a tokenizer (e.g. tokenizer='bytes')")
        if answer_mask and seq_len is None:
            raise CurriscaleError("answer_mask needs packed sequences: pass seq_len and a tokenizer")
        encoder = None if tokenizer is None else make_encoder(tokenizer, eos_id, vocab_size)
        self.sampler = CurriculumSampler(
            manifest,
            seed,
            encoder=encoder,
            budget_tokens=budget_tokens,
            stop_at_end=stop_at_end,
            columns=columns,
            answer_masks=answer_mask,
            token_cache=token_cache,
        )
        self.packed = None if seq_len is None else PackedStream(self.sampler, seq_len)
        self.rank, self.world_size = rank, world_size

    def shard(self) -> tuple[int, int]:
        """(this iterator's shard, number of shards) from rank, world size and DataLoader worker."""
        rank, world_size = self.rank, self.world_size
        if rank is None or world_size is None:
            distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
            rank = rank if rank is not None else (torch.distributed.get_rank() if distributed else 0)
            world_size = (
                world_size
                if world_size is not None
                else (torch.distributed.get_world_size() if distributed else 1)
            )
        worker = get_worker_info()
        workers, worker_id = (1, 0) if worker is None else (worker.num_workers, worker.id)
        return rank * workers + worker_id, world_size * workers

    def __iter__(self) -> Iterator[torch.Tensor | tuple[torch.Tensor, torch.Tensor] | dict[str, Any]]:
        shard, num_shards = self.shard()
        if self.packed is None:
            yield from self.sampler.documents(shard, num_shards)
            return
        for item in self.packed.iter_shard(shard, num_shards):
            if isinstance(item, tuple):
                yield torch.from_numpy(item[0]), torch.from_numpy(item[1])
            else:
                yield torch.from_numpy(item)

    @property
    def tier_draws(self) -> list[int]:
        """Documents drawn from each tier so far by the global stream (every shard replays it)."""
        return list(self.sampler.tier_draws)

    def state_dict(self) -> dict[str, Any]:
        """The stream position (plain Python types; fits in torch.save or JSON)."""
        return self.sampler.state_dict() if self.packed is None else self.packed.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where `state_dict()` was taken."""
        if self.packed is None:
            self.sampler.load_state_dict(state)
        else:
            self.packed.load_state_dict(state)
