"""Where the trainer's tokens come from: a small interface, and the manifest-backed default.

The trainer needs an iterable of packed token sequences (`seq_len + 1` ids each, in curriculum
order) that can report and restore its position (`state_dict` / `load_state_dict`), so a resumed
run continues on exactly the sequence where it stopped. `curriscale.curricula.dataset.
CurriculumDataset` is that source for a manifest; anything else with the same three methods
plugs in through `train(..., source_factory=...)`.

A source may yield `(tokens, answer_mask)` pairs instead of bare tensors; the mask marks answer
tokens, which the trainer's `answer_loss_weight` up-weights. A source with a `tier_draws` attribute
(documents drawn per tier) has it logged at every evaluation as `documents_tier_<k>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import torch

from curriscale.errors import CurriscaleError


class TokenSource(Protocol):
    """Packed training sequences with a restorable position."""

    def __iter__(self) -> Iterator[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


# (manifest path, seed, tokenizer, seq_len, budget_tokens, answer_mask=bool, token_cache=folder) -> TokenSource
SourceFactory = Callable[..., TokenSource]


def manifest_source(
    manifest: str,
    seed: int,
    tokenizer: Any,
    seq_len: int,
    budget_tokens: int,
    answer_mask: bool = False,
    token_cache: str | None = None,
) -> TokenSource:
    """The default source: `CurriculumDataset` over a manifest; `answer_mask` asks for (tokens, mask)
    pairs; `token_cache` is a folder of encoded row groups shared by ranks and runs (see
    `curricula.token_cache`)."""
    if not Path(manifest).exists():
        raise CurriscaleError(f"--manifest {manifest}: file not found")
    try:
        from curriscale.curricula.dataset import CurriculumDataset
    except ImportError as error:
        raise CurriscaleError(f"the manifest reader is not available: {error}") from error
    return CurriculumDataset(
        manifest, seed, tokenizer, seq_len, budget_tokens, answer_mask=answer_mask, token_cache=token_cache
    )


class Batches:
    """Groups a source's sequences into (inputs, targets, answer_mask) batches.

    The source's iterator is created once and kept, so its `state_dict()` after k batches points at
    the next unread sequence.
    """

    def __init__(self, source: TokenSource, batch_size: int, seq_len: int):
        self.source, self.batch_size, self.seq_len = source, batch_size, seq_len
        self._iterator: Iterator | None = None

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
        """The next full batch, or None when the source is exhausted (a partial batch is dropped)."""
        if self._iterator is None:
            self._iterator = iter(self.source)
        tokens, masks = [], []
        for _ in range(self.batch_size):
            item = next(self._iterator, None)
            if item is None:
                return None
            sequence, mask = item if isinstance(item, tuple) else (item, None)
            if sequence.shape[-1] != self.seq_len + 1:
                raise CurriscaleError(
                    f"data source yielded a sequence of {sequence.shape[-1]} tokens; expected seq_len + 1 = {self.seq_len + 1}"
                )
            tokens.append(sequence)
            masks.append(mask)
        batch = torch.stack(tokens).long()
        mask = None if any(m is None for m in masks) else torch.stack(masks)[:, 1:].bool()
        return batch[:, :-1], batch[:, 1:], mask

    def tier_draws(self) -> dict[str, int]:
        """`documents_tier_<k>` counts when the source reports them (`CurriculumDataset` does)."""
        counts = getattr(self.source, "tier_draws", None)
        return {} if counts is None else {f"documents_tier_{k}": int(n) for k, n in enumerate(counts)}

    def state_dict(self) -> dict[str, Any]:
        return self.source.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.source.load_state_dict(state)
        self._iterator = None
