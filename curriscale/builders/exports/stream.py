"""The one document stream every export format writes, and the stage table that describes it.

Which documents an export holds depends on the manifest, the seed and what counts as progress
through the schedule, and on nothing else, so every format of one curriculum holds the same
documents in the same order:

- By default the stream is counted in the manifest's own unit (whitespace words, or the scorer's
  `n_tokens`) and runs exactly the schedule's total: this is the stream `iter_curriculum` yields.
  A tokenizer then only encodes the documents; it does not change which ones are drawn.
- With `budget_tokens` and a tokenizer, progress is counted in that tokenizer's tokens and the
  schedule is stretched over the budget: the stream the trainer reads with the same settings.
- A manifest whose unit curriscale cannot count (neither of the above) is counted in the
  tokenizer's tokens, over the schedule's total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curriscale.curricula.encoding import Encoder, make_encoder
from curriscale.curricula.manifest import Manifest, load_manifest
from curriscale.curricula.sampler import TOKEN_UNITS, CurriculumSampler, Draw
from curriscale.errors import CurriscaleError

Progress = Callable[[float], None]  # called with the schedule progress fraction in [0, 1]
BATCH = 1024  # documents encoded per call when the tokenizer does not drive the stream


@dataclass
class Item:
    """One exported document: its draw (document(), tier, stage) and its token ids (no EOS) if encoded."""

    draw: Draw
    ids: np.ndarray | None

    @property
    def n_tokens(self) -> int:
        """Tokens this document takes in the export: ids + EOS, or the counting unit without ids."""
        return len(self.ids) + 1 if self.ids is not None else self.draw.n_tokens


class StageTable:
    """Where each schedule interval begins in the exported stream, and what it holds per tier."""

    def __init__(self, sampler: CurriculumSampler):
        self.sampler, self.rows = sampler, []
        self.documents = self.tokens = 0

    def add(self, item: Item) -> None:
        draw = item.draw
        # Position only grows, so stages arrive in order and each opens exactly once.
        if not self.rows or self.rows[-1]["stage"] != draw.stage:
            interval = self.sampler.manifest.schedule[draw.stage]
            tiers = len(self.sampler.tiers)
            self.rows.append(
                {
                    "stage": draw.stage,
                    "start": interval["start"],
                    "end": interval["end"],
                    "weights": self.sampler.stage_weights[draw.stage].tolist(),
                    "first_document": self.documents,
                    "first_token": self.tokens,
                    "documents": 0,
                    "tokens": 0,
                    "tier_documents": [0] * tiers,
                    "tier_tokens": [0] * tiers,
                }
            )
        row, n = self.rows[-1], item.n_tokens
        row["documents"] += 1
        row["tokens"] += n
        row["tier_documents"][draw.tier] += 1
        row["tier_tokens"][draw.tier] += n
        self.documents += 1
        self.tokens += n


class ExportStream:
    """The export's document stream: a `CurriculumSampler` plus, when asked, each document's ids.

    Args:
        manifest: curriculum folder, its manifest.json, or a loaded `Manifest`.
        tokenizer: "bytes", a tokenizer.json path, a `tokenizers.Tokenizer` or an `Encoder`; None
            for formats that hold text only.
        budget_tokens: see the module docstring; None runs the schedule's total in its own unit.
        seed: the stream's seed.
    """

    def __init__(
        self,
        manifest: str | Path | Manifest,
        *,
        tokenizer: Any = None,
        budget_tokens: int | None = None,
        seed: int = 0,
    ):
        self.manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
        self.encoder: Encoder | None = None if tokenizer is None else make_encoder(tokenizer)
        unit = self.manifest.data["token_unit"]
        countable = unit in TOKEN_UNITS
        if not countable and self.encoder is None:
            raise CurriscaleError(
                f"manifest token_unit {unit!r}: pass --tokenizer, the unit curriscale cannot count alone"
            )
        by_encoder = self.encoder is not None and (budget_tokens is not None or not countable)
        self.counted_in = self.encoder.name if by_encoder else unit
        self.budget = budget_tokens
        self.seed = seed
        self.sampler = CurriculumSampler(
            self.manifest,
            seed,
            encoder=self.encoder if by_encoder else None,
            budget_tokens=budget_tokens,
            stop_at_end=True,
        )
        self._by_encoder, self._with_ids = by_encoder, False
        self.stages = StageTable(self.sampler)

    @property
    def token_unit(self) -> str:
        """The unit of the export's token counts: the tokenizer's when it encodes, else the counting unit."""
        return self.encoder.name if self._by_encoder or self._with_ids else self.counted_in

    def summary(self) -> dict[str, Any]:
        """The stream's part of export.json."""
        return {
            "seed": self.seed,
            "counted_in": self.counted_in,
            "budget_tokens": self.budget,
            "token_unit": self.token_unit,
            "documents": self.stages.documents,
            "tokens": self.stages.tokens,
            "stages": self.stages.rows,
        }

    def batches(self, progress: Progress | None = None, with_ids: bool = False) -> Iterator[list[Item]]:
        """The whole stream in order, a batch of items at a time, recorded in `self.stages`."""
        if with_ids and self.encoder is None:
            raise CurriscaleError("this format writes token ids: pass a tokenizer")
        self._with_ids = with_ids
        sampler, batch = self.sampler, []
        for draw in sampler:
            batch.append(draw)
            if len(batch) == BATCH:
                yield self._items(batch, with_ids)
                batch = []
                if progress is not None:
                    progress(min(sampler.position / sampler.total, 1.0))
        if batch:
            yield self._items(batch, with_ids)
        if progress is not None:
            progress(1.0)

    def _items(self, draws: list[Draw], with_ids: bool) -> list[Item]:
        if not with_ids:
            ids: list[np.ndarray | None] = [None] * len(draws)
        elif self._by_encoder:
            ids = [draw.token_view() for draw in draws]
        else:
            ids = self.encoder.encode_batch([draw.document()["text"] for draw in draws])
        items = [Item(draw, row) for draw, row in zip(draws, ids, strict=True)]
        for item in items:
            self.stages.add(item)
        return items
