"""Pack the curriculum's documents into fixed-length token sequences (plain Python, no torch).

Documents are concatenated in stream order with an EOS id after each, and cut into consecutive,
non-overlapping chunks of `seq_len + 1` ids (inputs are chunk[:-1], targets chunk[1:]), so every
token lands in exactly one sequence. A document longer than a chunk spills into the next ones; the
leftover tail waits in a buffer, which is part of the resumable state.

With answer masks on (the sampler's `answer_masks=True`), each sequence comes with a boolean mask
of the same length marking answer tokens, packed and buffered the same way.

Sharding works on the sequence stream: sequences k, k+N, ... go to shard k, so N shards together
see every sequence of the single-process stream exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from curriscale.curricula.sampler import CurriculumSampler
from curriscale.errors import CurriscaleError

# A packed sequence, or (sequence, answer mask) when the sampler marks answers.
Packed = np.ndarray | tuple[np.ndarray, np.ndarray]


class PackedStream:
    """Sequences of `seq_len + 1` token ids cut from a sampler's documents.

    Args:
        sampler: a `CurriculumSampler` built with an encoder (its ids are packed).
        seq_len: model context length; each sequence holds `seq_len + 1` ids.
    """

    def __init__(self, sampler: CurriculumSampler, seq_len: int):
        if sampler.encoder is None:
            raise CurriscaleError("packing needs a tokenizer: pass one to the sampler")
        if seq_len < 1:
            raise CurriscaleError(f"seq_len={seq_len}: must be at least 1")
        self.sampler, self.seq_len = sampler, int(seq_len)
        self.buffer = np.empty(0, dtype=np.int64)
        self.mask_buffer = np.empty(0, dtype=bool)
        self.sequences = 0  # sequences cut so far from the global stream

    def __iter__(self) -> Iterator[Packed]:
        return self.iter_shard(0, 1)

    def iter_shard(self, shard: int, num_shards: int) -> Iterator[Packed]:
        """Sequences `shard`, `shard + num_shards`, ... (int64 arrays of seq_len + 1 ids, with masks)."""
        if not 0 <= shard < num_shards:
            raise CurriscaleError(f"shard {shard} is outside 0..{num_shards - 1}")
        width, eos, with_masks = self.seq_len + 1, [self.sampler.encoder.eos_id], self.sampler.answer_masks
        for draw in self.sampler:
            tokens = np.concatenate([self.buffer, draw.token_ids(), eos])
            masks = np.concatenate([self.mask_buffer, draw.answer_mask(), [False]]) if with_masks else None
            full = len(tokens) // width
            if full == 0:
                self._keep(tokens, masks, 0)
            for i in range(full):
                # Update the state before yielding: a state_dict() taken while the consumer holds
                # this sequence must point at the one after it.
                self._keep(tokens, masks, (i + 1) * width)
                index, self.sequences = self.sequences, self.sequences + 1
                if index % num_shards == shard:
                    cut = slice(i * width, (i + 1) * width)
                    yield (tokens[cut], masks[cut]) if with_masks else tokens[cut]

    def _keep(self, tokens: np.ndarray, masks: np.ndarray | None, start: int) -> None:
        """Buffer the not-yet-packed tail `tokens[start:]` (and its mask)."""
        self.buffer = tokens[start:]
        if masks is not None:
            self.mask_buffer = masks[start:]

    def state_dict(self) -> dict[str, Any]:
        """Sampler state plus the partial-sequence buffer."""
        return {
            "sampler": self.sampler.state_dict(),
            "seq_len": self.seq_len,
            "sequences": self.sequences,
            "buffer": self.buffer.tolist(),
            "mask_buffer": self.mask_buffer.tolist(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`; seq_len must match."""
        if state.get("seq_len") != self.seq_len:
            raise CurriscaleError(
                f"packed state has seq_len={state.get('seq_len')}, this stream {self.seq_len}"
            )
        self.sampler.load_state_dict(state["sampler"])
        self.sequences = int(state["sequences"])
        self.buffer = np.asarray(state["buffer"], dtype=np.int64)
        self.mask_buffer = np.asarray(state.get("mask_buffer", []), dtype=bool)
