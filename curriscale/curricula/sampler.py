"""The curriculum stream in plain Python: which document comes next, and why.

A manifest says, for every stretch of training, how likely each difficulty tier is. The sampler
turns that into one deterministic stream of documents:

1. The schedule position is the number of tokens consumed so far, in manifest units (scaled by
   `total / budget_tokens` when a trainer's budget differs, so progress fractions line up).
2. The position picks the schedule interval; a seeded numpy Generator picks a tier by that
   interval's weights.
3. The tier hands over its next document from a shuffled order (`tier_reader`): each epoch
   shuffles the order of the tier's Parquet row groups and the rows inside each group (seeded by
   seed, tier, epoch), and an exhausted tier simply starts its next epoch.

Only one row group per tier is held in memory, so memory stays bounded however large the tiers are.
The whole state is a handful of integers plus the Generator state, which is what makes exact resume
(`state_dict` / `load_state_dict`) and sharding cheap: every shard replays the same global stream
and keeps draws k, k+N, ... This module imports no torch; `curriscale.curricula.dataset` wraps it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curriscale.curricula.encoding import Encoder
from curriscale.curricula.manifest import Manifest, load_manifest
from curriscale.curricula.tier_reader import Measured, RowGroup, TierReader
from curriscale.curricula.token_cache import TokenCache
from curriscale.errors import CurriscaleError

STATE_FORMAT = "curriscale.sampler"
TOKEN_UNITS = ("whitespace", "n_tokens")  # manifest units the sampler can count without a tokenizer


class Draw:
    """One step of the global stream: draw `index` took row `row` of a cached group of `tier`."""

    __slots__ = ("index", "tier", "stage", "group", "row", "n_tokens")

    def __init__(self, index: int, tier: int, stage: int, group: RowGroup, row: int, n_tokens: int):
        self.index, self.tier, self.stage = index, tier, stage
        self.group, self.row, self.n_tokens = group, row, n_tokens

    def document(self) -> dict[str, Any]:
        """The document as a dict: every column of the tier file (id, text, ...) plus `tier`."""
        return self.group.document(self.row)

    def token_ids(self) -> np.ndarray:
        """The document's token ids as int64 (no EOS); only when the sampler has an encoder."""
        return self.token_view().astype(np.int64)

    def token_view(self) -> np.ndarray:
        """The document's token ids as a read-only view in the encoder's compact dtype (no copy)."""
        if self.group.ids is None:
            raise CurriscaleError("token ids need a tokenizer: pass encoder= to the sampler")
        return self.group.ids.row(self.row)

    def answer_mask(self) -> np.ndarray:
        """Per token of `token_ids()`: True where it belongs to the answer (question documents)."""
        if self.group.masks is None:
            raise CurriscaleError("answer masks need answer_masks=True on the sampler")
        offsets = self.group.ids.offsets
        return self.group.masks[offsets[self.row] : offsets[self.row + 1]]


class _Uniforms:
    """Uniform [0, 1) numbers from a seeded Generator, drawn 4,096 at a time (one numpy call each).

    The state is the Generator state at the start of the current block plus the offset in it, so a
    restored stream regenerates the same block and continues at the same number.
    """

    BLOCK = 4096

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(seed)
        self._refill()

    def _refill(self) -> None:
        self._block_start = self._rng.bit_generator.state
        self._block = self._rng.random(self.BLOCK).tolist()
        self._offset = 0

    def next(self) -> float:
        if self._offset == self.BLOCK:
            self._refill()
        self._offset += 1
        return self._block[self._offset - 1]

    def state(self) -> dict[str, Any]:
        return {"block_start": self._block_start, "offset": self._offset}

    def load_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["block_start"]
        self._refill()
        self._offset = int(state["offset"])


class CurriculumSampler:
    """The global, deterministic document stream of a manifest.

    Args:
        manifest: a `manifest.json` path, its folder, or a loaded `Manifest`.
        seed: drives tier choice and every shuffle; the same seed gives the same stream.
        encoder: count progress in this tokenizer's tokens (and keep each document's ids);
            without it, progress is counted in the manifest's own `token_unit` (whitespace words,
            or the `n_tokens` column the scorer wrote).
        budget_tokens: the trainer's token budget; position = consumed / budget * schedule total.
            Default: the schedule total itself (needed when the pacing unit is steps).
        stop_at_end: end the stream when the position reaches the schedule total (exports use it);
            otherwise it continues with the last interval's weights and the trainer decides.
        columns: tier-file columns to read (default all; "id" and "text" are always read).
        answer_masks: also mark answer tokens (those ending past `prompt` + one space, the
            evaluator's rule) so a trainer can weight the answer loss; needs a tokenizer with offsets.
        token_cache: a folder keeping encoded row groups (see `curricula.token_cache`), shared by ranks,
            epochs and runs; used with `tokenizers` tokenizers (bytes cost nothing to encode, and a
            plain callable has no fingerprint to key the cache by).
    """

    def __init__(
        self,
        manifest: str | Path | Manifest,
        seed: int = 0,
        *,
        encoder: Encoder | None = None,
        budget_tokens: int | None = None,
        stop_at_end: bool = False,
        columns: Sequence[str] | None = None,
        answer_masks: bool = False,
        token_cache: str | Path | None = None,
    ):
        # load_manifest validates the schema and refuses paths that leave the manifest folder.
        self.manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
        data = self.manifest.data
        pacing = data["pacing"]
        self.total = float(pacing["total"])
        if budget_tokens is None and pacing["unit"] != "tokens":
            raise CurriscaleError(
                f"manifest pacing.unit is {pacing['unit']!r}: pass budget_tokens (--budget-tokens) so token progress maps onto it"
            )
        if budget_tokens is not None and budget_tokens <= 0:
            raise CurriscaleError(f"budget_tokens={budget_tokens}: must be positive")
        self.scale = self.total / budget_tokens if budget_tokens else 1.0
        self.seed, self.encoder, self.stop_at_end = int(seed), encoder, stop_at_end
        self.token_unit = data["token_unit"]
        if encoder is None and self.token_unit not in TOKEN_UNITS:
            raise CurriscaleError(
                f"manifest token_unit {self.token_unit!r}: pass a tokenizer (counts known: {', '.join(TOKEN_UNITS)})"
            )
        if answer_masks and (encoder is None or encoder.encode_with_ends is None):
            raise CurriscaleError(
                "answer_masks needs a tokenizer that reports offsets ('bytes' or tokenizers)"
            )
        self.answer_masks = answer_masks
        use_cache = token_cache is not None and encoder is not None and encoder.fingerprint is not None
        self.token_cache = TokenCache(token_cache, encoder) if use_cache else None
        self._file_hashes = {
            self.manifest.root / entry["path"]: entry["sha256"]
            for tier in data["tiers"]
            for entry in tier["files"]
        }
        if columns is not None:
            needed = ["n_tokens"] if self.token_unit == "n_tokens" else []
            needed += ["prompt"] if answer_masks else []
            columns = list(dict.fromkeys(["id", "text", *needed, *columns]))
        self.tiers = [
            TierReader(tier["index"], self.manifest.tier_files(tier["index"]), columns)
            for tier in data["tiers"]
        ]
        self._ends = [float(interval["end"]) for interval in data["schedule"]]
        self.stage_weights = self._usable_weights(data["schedule"])
        self._cumulative = [np.cumsum(w).tolist() for w in self.stage_weights]
        self._uniforms = _Uniforms(self.seed)
        self.draws = 0
        self.consumed = 0
        self.tier_draws = [0] * len(self.tiers)  # documents drawn from each tier so far

    def _usable_weights(self, schedule: list[dict]) -> list[np.ndarray]:
        """Interval weights with empty tiers zeroed and the rest renormalised."""
        has_rows = np.array([bool(tier.groups) for tier in self.tiers], dtype=float)
        usable = []
        for k, interval in enumerate(schedule):
            weights = np.asarray(interval["weights"], dtype=float) * has_rows
            if weights.sum() <= 0:
                raise CurriscaleError(
                    f"{self.manifest.root / 'manifest.json'}: schedule[{k}] gives weight only to empty tiers"
                )
            usable.append(weights / weights.sum())
        return usable

    def _measure(self, table: pa.Table, source: tuple[Path, int]) -> Measured:
        """Tokens per row in the unit that drives the schedule position (and ids, with a tokenizer).

        `source` (tier file, row group index) keys the group's ids in the token cache.
        """
        if self.encoder is None:
            if self.token_unit == "n_tokens":  # the builder counted with the scoring model's tokenizer
                counts = table.column("n_tokens")
            else:
                counts = pc.count_substring_regex(table.column("text"), r"\S+")
            return pc.fill_null(counts, 0).to_pylist(), None, None
        # One batched call per row group (Rust threads for `tokenizers`); +1 for the EOS separator.
        texts = table.column("text")
        if self.token_cache is None:
            tokens = self.encoder.encode_rows(texts, with_ends=self.answer_masks)
        else:
            key = f"{self._file_hashes[source[0]]}-{source[1]}"
            tokens = self.token_cache.encode_rows(key, texts, with_ends=self.answer_masks)
        counts = tokens.lengths()
        if not self.answer_masks:
            return (counts + 1).tolist(), tokens, None
        # A token is part of the answer when it ends past the prompt and its separating space;
        # documents without a prompt have no answer (their limit is never passed).
        limits = np.full(table.num_rows, np.iinfo(np.int64).max)
        if "prompt" in table.column_names:
            prompts = table.column("prompt").cast(pa.large_string())  # an all-null column has type null
            chars = pc.fill_null(pc.utf8_length(prompts), -1).to_numpy()
            limits = np.where(chars >= 0, chars + 1, limits)
        masks = tokens.ends > np.repeat(limits, counts)
        return (counts + 1).tolist(), tokens, masks

    @property
    def position(self) -> float:
        """Schedule position of the next draw, in manifest units."""
        return self.consumed * self.scale

    def stage_at(self, position: float) -> int:
        """Index of the schedule interval containing `position` (the last one past the end)."""
        return min(bisect.bisect_right(self._ends, position), len(self._ends) - 1)

    def draw(self) -> Draw | None:
        """The next document of the global stream, or None once a `stop_at_end` stream is done."""
        position = self.position
        if self.stop_at_end and position >= self.total:
            return None
        stage = self.stage_at(position)
        cumulative = self._cumulative[stage]
        tier = min(
            bisect.bisect_right(cumulative, self._uniforms.next() * cumulative[-1]), len(cumulative) - 1
        )
        group, row = self.tiers[tier].next(self.seed, self._measure)
        draw = Draw(self.draws, tier, stage, group, row, group.lengths[row])
        self.draws += 1
        self.consumed += draw.n_tokens
        self.tier_draws[tier] += 1
        return draw

    def __iter__(self) -> Iterator[Draw]:
        while (draw := self.draw()) is not None:
            yield draw

    def documents(self, shard: int = 0, num_shards: int = 1) -> Iterator[dict[str, Any]]:
        """Documents of draws `shard`, `shard + num_shards`, ...; the state advances as they are taken."""
        if not 0 <= shard < num_shards:
            raise CurriscaleError(f"shard {shard} is outside 0..{num_shards - 1}")
        for draw in self:
            if draw.index % num_shards == shard:
                yield draw.document()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the stream exactly: JSON- and torch.save-friendly."""
        return {
            "format": STATE_FORMAT,
            "version": 1,
            "seed": self.seed,
            "draws": self.draws,
            "consumed": self.consumed,
            "tier_draws": list(self.tier_draws),
            "rng": self._uniforms.state(),
            "tiers": [tier.state() for tier in self.tiers],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a `state_dict()`; the next draw is the one that followed it."""
        if state.get("format") != STATE_FORMAT or len(state.get("tiers", [])) != len(self.tiers):
            raise CurriscaleError(
                f"sampler state does not fit this manifest ({len(self.tiers)} tiers): {str(state)[:80]}"
            )
        self.seed, self.draws, self.consumed = int(state["seed"]), int(state["draws"]), int(state["consumed"])
        self.tier_draws = [int(n) for n in state["tier_draws"]]
        self._uniforms.load_state(state["rng"])
        for tier, tier_state in zip(self.tiers, state["tiers"], strict=True):
            tier.load_state(tier_state)


def iter_curriculum(
    manifest: str | Path | Manifest,
    seed: int = 0,
    *,
    budget_tokens: int | None = None,
    stop_at_end: bool = True,
    shard: int = 0,
    num_shards: int = 1,
) -> Iterator[dict[str, Any]]:
    """Documents of a manifest in schedule order, for any framework (no torch needed).

    The iterator ends when the schedule is complete (`stop_at_end=False` continues with the last
    interval's weights forever). Arguments are those of `CurriculumSampler`; shard k of N keeps
    draws k, k + N, ...

    Example:
        >>> for doc in iter_curriculum("curriculum/manifest.json", seed=0):
        ...     print(doc["tier"], doc["text"][:40])
    """
    sampler = CurriculumSampler(manifest, seed, budget_tokens=budget_tokens, stop_at_end=stop_at_end)
    return sampler.documents(shard, num_shards)
