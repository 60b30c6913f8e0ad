"""Pack the curriculum's documents into fixed-length token sequences (plain Python, no torch).

Documents are concatenated in stream order with an EOS id after each, and cut into consecutive,
non-overlapping chunks of `seq_len + 1` ids (inputs are chunk[:-1], targets chunk[1:]), so every
token lands in exactly one sequence. A document longer than a chunk spills into the next ones; the
leftover tail waits in a buffer, which is part of the resumable state.

With answer masks on (the sampler's `answer_masks=True`), each sequence comes with a boolean mask
of the same length marking answer tokens, packed and buffered the same way.

Sharding works on the sequence stream: sequences k, k+N, ... go to shard k, so N shards together
see every sequence of the single-process stream exactly once. Every shard replays the whole stream
to know where sequences begin, but only copies the ids of the sequences it keeps: a skipped
sequence costs a little arithmetic, not a copy (documents arrive as views of their row group).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from curriscale.curricula.sampler import CurriculumSampler
from curriscale.errors import CurriscaleError

# A packed sequence, or (sequence, answer mask) when the sampler marks answers.
Packed = np.ndarray | tuple[np.ndarray, np.ndarray]
# What follows a document in the stream: its EOS id, and that id's answer-mask value (False).
Ends = tuple[np.ndarray, np.ndarray]


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
        # The not-yet-packed tail, as views in stream order (ids, and answer masks alongside).
        self._pieces: list[np.ndarray] = []
        self._mask_pieces: list[np.ndarray] = []
        self.sequences = 0  # sequences cut so far from the global stream

    def __iter__(self) -> Iterator[Packed]:
        return self.iter_shard(0, 1)

    def iter_shard(self, shard: int, num_shards: int) -> Iterator[Packed]:
        """Sequences `shard`, `shard + num_shards`, ... (int64 arrays of seq_len + 1 ids, with masks)."""
        if not 0 <= shard < num_shards:
            raise CurriscaleError(f"shard {shard} is outside 0..{num_shards - 1}")
        width, with_masks = self.seq_len + 1, self.sampler.answer_masks
        pending = 0
        for doc, doc_mask, ends in self._documents(with_masks):
            self._pieces += (doc, ends[0])
            if with_masks:
                self._mask_pieces += (doc_mask, ends[1])
            added = len(doc) + len(ends[0])
            pending += added
            if pending < width:
                continue
            # This document completes sequences first .. first + full - 1. All but the first lie
            # inside doc + EOS; the first also takes the earlier tail (`head` ids, fewer than width).
            first, full, head = self.sequences, pending // width, pending - added
            head_pieces, head_masks = self._pieces[:-2], self._mask_pieces[:-2]
            # Only this shard's sequences are copied out; the others are just counted past.
            for index in range(first + (shard - first) % num_shards, first + full, num_shards):
                start = (index - first) * width - head  # where the sequence starts in doc + EOS
                sequence = _cut(head_pieces if start < 0 else [], doc, ends[0], start, width)
                if with_masks:
                    mask = _cut(head_masks if start < 0 else [], doc_mask, ends[1], start, width)
                # Update the state before yielding: a state_dict() taken while the consumer holds
                # this sequence must point at the one after it.
                self.sequences = index + 1
                self._keep_tail(doc, doc_mask, start + width, ends)
                yield (sequence, mask) if with_masks else sequence
            self.sequences = first + full
            self._keep_tail(doc, doc_mask, full * width - head, ends)
            pending -= full * width

    def _documents(self, with_masks: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None, Ends]]:
        """Each draw's ids and mask, and the EOS that follows; first the unpacked tail as one piece.

        A state taken between two sequences cut from one long document leaves a tail holding more
        sequences: handing it over as one piece (with nothing after it) lets them be cut like any.
        """
        if self._pieces:
            tail = _join(self._pieces, np.int64)
            tail_mask = _join(self._mask_pieces, bool) if with_masks else None
            self._pieces, self._mask_pieces = [], []
            yield tail, tail_mask, (tail[:0], np.zeros(0, dtype=bool))
        ends = (np.array([self.sampler.encoder.eos_id], dtype=np.int64), np.zeros(1, dtype=bool))
        for draw in self.sampler:
            yield draw.token_view(), draw.answer_mask() if with_masks else None, ends

    def _keep_tail(self, doc: np.ndarray, doc_mask: np.ndarray | None, cut: int, ends: Ends) -> None:
        """Keep doc + EOS from position `cut` on as the unpacked tail (views, no copy), with its mask."""
        self._pieces = [doc[cut:], ends[0]] if cut <= len(doc) else []
        if doc_mask is not None:
            self._mask_pieces = [doc_mask[cut:], ends[1]] if cut <= len(doc) else []

    def state_dict(self) -> dict[str, Any]:
        """Sampler state plus the partial-sequence buffer."""
        return {
            "sampler": self.sampler.state_dict(),
            "seq_len": self.seq_len,
            "sequences": self.sequences,
            "buffer": _join(self._pieces, np.int64).tolist(),
            "mask_buffer": _join(self._mask_pieces, bool).tolist(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`; seq_len must match."""
        if state.get("seq_len") != self.seq_len:
            raise CurriscaleError(
                f"packed state has seq_len={state.get('seq_len')}, this stream {self.seq_len}"
            )
        self.sampler.load_state_dict(state["sampler"])
        self.sequences = int(state["sequences"])
        self._pieces = [np.asarray(state["buffer"], dtype=np.int64)]
        self._mask_pieces = [np.asarray(state.get("mask_buffer", []), dtype=bool)]


def _cut(head: list[np.ndarray], doc: np.ndarray, end: np.ndarray, start: int, width: int) -> np.ndarray:
    """Items [start, start + width) of doc + end, after all of `head` when start is negative.

    The result has the dtype of `end` (int64 ids or bool masks), whatever the documents' dtype.
    """
    stop = start + width
    parts = [*head, doc[max(start, 0) : stop]]
    if stop > len(doc):
        parts.append(end)
    return np.concatenate(parts, dtype=end.dtype)


def _join(pieces: list[np.ndarray], dtype: type) -> np.ndarray:
    """The pieces as one array (empty when there are none)."""
    return np.concatenate(pieces, dtype=dtype) if pieces else np.empty(0, dtype=dtype)
