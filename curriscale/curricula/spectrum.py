"""The synthetic task spectrum: a six-level complexity ladder for scaling-grid experiments.

Level 0 simple sentences, 1 next-sentence prediction, 2 cloze over a memorised fact table, 3
one-fact question answering, 4 multi-hop question answering, 5 multi-step arithmetic (the
generators live in `spectrum_levels.py`, the vocabulary in `spectrum_words.py`). Three splits:

- `train` and `eval` draw from the same distribution (same names, same fact table);
- `ood` uses held-out person names that never occur in train and eval (levels 0, 1, 3, 5), longer
  multi-hop chains (level 4) and more arithmetic steps (level 5). Its cloze level keeps the fact
  table (the facts are what is memorised) and so matches the eval distribution.

Documents stay short (at most ~110 words and punctuation marks at the defaults), so with a
whole-word tokenizer every question fits a 128-token context; a byte tokenizer does not.

Every document has `id`, `text`, `level`, `task`; question levels (1-5) also `prompt` and `answer`
with `text == prompt + " " + answer`, so a trainer can score exact-match accuracy on the answer.
The output depends only on the config: the same seed gives the same bytes. Each (split, level) has
its own random stream, so changing one level's count leaves the other levels' documents unchanged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from curriscale.curricula import spectrum_words as words
from curriscale.curricula.spectrum_levels import LEVELS, MULTIHOP_CHAINS, World
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output, atomic_write_json

SPLITS = ("train", "eval", "ood")
TASKS = {level: task for level, (task, _) in LEVELS.items()}
FORMATS = ("jsonl", "parquet")


@dataclass(frozen=True)
class SpectrumConfig:
    """How much of the spectrum to generate, and how hard each level is.

    Attributes:
        docs_per_level: training documents per level (before `level_weights` reshapes the mix).
        eval_per_level: documents per level in each of `eval` and `ood`.
        levels: which levels to generate.
        level_weights: relative share of each level in `train` (aligned with `levels`); the total
            stays `docs_per_level * len(levels)`. None means equal shares.
        seed: seeds every random choice, including the fact table and the held-out names.
        n_names: person names used in train and eval (the vocabulary's entity count).
        ood_names: further person names held out for the `ood` split.
        n_places: rooms that people travel to (levels 3-4).
        n_objects: objects hidden in containers (level 4).
        fact_subjects: countries in the level-2 fact table (four facts each).
        hops: min and max supporting facts per multi-hop chain (level 4); the two distractor
            chains in each document keep this range in every split.
        steps: min and max arithmetic steps per word problem (level 5).
        qa_distractors: min and max distractor sentences around the one supporting fact (level 3).
        ood_extra_hops: `ood` chains have `hops[1] + 1` to `hops[1] + ood_extra_hops` hops.
        ood_extra_steps: `ood` problems have `steps[1] + 1` to `steps[1] + ood_extra_steps` steps.
        nsp_easy_fraction: share of level-1 negatives that are easy (garbled word order) rather
            than subtle (another event's consequence); subtle-only negatives stay at chance.
        max_operand: largest number added or subtracted in one step (level 5).
        max_total: largest running total a word problem may reach (level 5).
    """

    docs_per_level: int = 1000
    eval_per_level: int = 200
    levels: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    level_weights: tuple[float, ...] | None = None
    seed: int = 0
    n_names: int = 40
    ood_names: int = 16
    n_places: int = 10
    n_objects: int = 12
    fact_subjects: int = 24
    hops: tuple[int, int] = (2, 3)
    steps: tuple[int, int] = (2, 5)
    qa_distractors: tuple[int, int] = (2, 4)
    ood_extra_hops: int = 1
    ood_extra_steps: int = 1
    nsp_easy_fraction: float = 0.5
    max_operand: int = 9
    max_total: int = 30

    def __post_init__(self) -> None:
        for name in ("levels", "level_weights", "hops", "steps", "qa_distractors"):
            if getattr(self, name) is not None:  # accept lists (e.g. from JSON) but store tuples
                object.__setattr__(self, name, tuple(getattr(self, name)))
        _validate(self)

    @property
    def ood_hops(self) -> tuple[int, int]:
        return _extend(self.hops, self.ood_extra_hops)

    @property
    def ood_steps(self) -> tuple[int, int]:
        return _extend(self.steps, self.ood_extra_steps)

    def train_counts(self) -> dict[int, int]:
        """Training documents per level: `level_weights` shares of the total, summing exactly."""
        total = self.docs_per_level * len(self.levels)
        weights = np.asarray(self.level_weights or [1.0] * len(self.levels), dtype=float)
        exact = total * weights / weights.sum()
        counts = np.floor(exact).astype(int)
        # Largest remainders get the leftover documents, so the counts add up to the total.
        counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
        return dict(zip(self.levels, counts.tolist(), strict=True))


def _extend(span: tuple[int, int], extra: int) -> tuple[int, int]:
    return (span[1] + 1, span[1] + extra) if extra > 0 else span


def _check(condition: bool, option: str, message: str) -> None:
    if not condition:
        raise CurriscaleError(f"spectrum option {option}: {message}")


def _validate(c: SpectrumConfig) -> None:
    _check(c.docs_per_level >= 0, "docs_per_level", "must be >= 0")
    _check(c.eval_per_level >= 0, "eval_per_level", "must be >= 0")
    _check(len(c.levels) > 0 and set(c.levels) <= set(LEVELS), "levels", "must be a non-empty subset of 0-5")
    _check(len(set(c.levels)) == len(c.levels), "levels", "has duplicates")
    if c.level_weights is not None:
        _check(len(c.level_weights) == len(c.levels), "level_weights", "needs one weight per level")
        _check(
            min(c.level_weights) >= 0 and sum(c.level_weights) > 0, "level_weights", "must be >= 0, not all 0"
        )
    for option in ("hops", "steps", "qa_distractors"):
        span = getattr(c, option)
        _check(len(span) == 2 and 0 <= span[0] <= span[1], option, f"needs min <= max, got {span}")
    _check(c.hops[0] >= 1 and c.steps[0] >= 1, "hops/steps", "need at least 1")
    _check(c.ood_extra_hops >= 0 and c.ood_extra_steps >= 0, "ood_extra_hops/steps", "must be >= 0")
    _check(0.0 <= c.nsp_easy_fraction <= 1.0, "nsp_easy_fraction", "must be in [0, 1]")
    _check(c.max_operand >= 1, "max_operand", "must be >= 1")
    _check(c.max_total >= 2 * c.max_operand, "max_total", "must be >= 2 * max_operand")
    people = c.qa_distractors[1] + 1
    _check(c.n_names >= people, "n_names", f"level 3 needs {people} distinct names per document")
    _check(c.ood_names >= people, "ood_names", f"level 3 needs {people} distinct names per document")
    _check(
        c.n_names + c.ood_names <= len(words.NAMES), "n_names", f"plus ood_names exceeds {len(words.NAMES)}"
    )
    rooms = max(people, MULTIHOP_CHAINS)
    _check(rooms <= c.n_places <= len(words.PLACES), "n_places", f"must be in [{rooms}, {len(words.PLACES)}]")
    _check(
        MULTIHOP_CHAINS <= c.n_objects <= len(words.OBJECTS),
        "n_objects",
        f"must be in [{MULTIHOP_CHAINS}, {len(words.OBJECTS)}]",
    )
    _check(
        1 <= c.fact_subjects <= len(words.COUNTRIES),
        "fact_subjects",
        f"must be in [1, {len(words.COUNTRIES)}]",
    )
    # Containers per level-4 document: distractor chains at most hops[1] long, the asked one ood-long.
    containers = (MULTIHOP_CHAINS - 1) * (c.hops[1] - 1) + c.ood_hops[1] - 1
    _check(
        containers <= len(words.CONTAINERS), "hops", f"{c.hops} with ood_extra_hops needs too many containers"
    )


def _shuffled(rng: np.random.Generator, pool: tuple[str, ...], k: int) -> tuple[str, ...]:
    return tuple(pool[i] for i in rng.permutation(len(pool))[:k])


def build_worlds(config: SpectrumConfig) -> dict[str, World]:
    """Draw the per-seed names, places, objects and fact table, and derive each split's `World`."""
    rng = np.random.default_rng([config.seed, 0])
    names = _shuffled(rng, words.NAMES, len(words.NAMES))
    places = _shuffled(rng, words.PLACES, config.n_places)
    objects = _shuffled(rng, words.OBJECTS, config.n_objects)
    subjects = _shuffled(rng, words.COUNTRIES, config.fact_subjects)
    facts = {}
    for relation, (_, pool) in words.FACT_RELATIONS.items():
        # A city is the capital of one country only; other relations may repeat objects.
        if relation == "capital":
            picks = rng.permutation(len(pool))[: len(subjects)]
        else:
            picks = rng.integers(len(pool), size=len(subjects))
        facts[relation] = tuple(pool[i] for i in picks)
    train = World(
        names=names[: config.n_names],
        facts=facts,
        subjects=subjects,
        places=places,
        objects=objects,
        hops=config.hops,
        distractor_hops=config.hops,
        steps=config.steps,
        qa_distractors=config.qa_distractors,
        nsp_easy_fraction=config.nsp_easy_fraction,
        max_operand=config.max_operand,
        max_total=config.max_total,
    )
    ood = replace(
        train, names=names[len(names) - config.ood_names :], hops=config.ood_hops, steps=config.ood_steps
    )
    return {"train": train, "eval": train, "ood": ood}


def generate_spectrum(config: SpectrumConfig) -> dict[str, list[dict]]:
    """Generate the three splits.

    Args:
        config: sizes, seed and difficulty knobs.

    Returns:
        `{"train": [...], "eval": [...], "ood": [...]}`; each document is a dict with `id`
        (e.g. "train-L3-000042"), `text`, `level`, `task`, `prompt` and `answer` (None at level 0),
        ordered by level, then index.
    """
    worlds = build_worlds(config)
    counts = {
        "train": config.train_counts(),
        **{s: dict.fromkeys(config.levels, config.eval_per_level) for s in SPLITS[1:]},
    }
    out: dict[str, list[dict]] = {}
    for split_index, split in enumerate(SPLITS):
        docs = []
        for level in sorted(config.levels):
            n = counts[split][level]
            task, generate = LEVELS[level]
            # One stream per (seed, split, level): levels do not shift each other's documents.
            rng = np.random.default_rng([config.seed, 1 + split_index, level])
            prompts, answers, texts = generate(rng, n, worlds[split])
            width = max(6, len(str(max(n - 1, 0))))
            docs += [
                {
                    "id": f"{split}-L{level}-{i:0{width}d}",
                    "text": t,
                    "level": level,
                    "task": task,
                    "prompt": p,
                    "answer": a,
                }
                for i, (p, a, t) in enumerate(zip(prompts, answers, texts, strict=True))
            ]
        out[split] = docs
    return out


def write_spectrum(out_dir: str | Path, config: SpectrumConfig, fmt: str = "jsonl") -> dict[str, Path]:
    """Generate the spectrum and write `train`, `eval` and `ood` files plus `spectrum.json`.

    Args:
        out_dir: folder to write into (created if missing).
        config: what to generate.
        fmt: "jsonl" (one JSON object per line, prompt/answer null at level 0) or "parquet".

    Returns:
        The written data file per split. `spectrum.json` records the config and the per-split,
        per-level document counts.
    """
    if fmt not in FORMATS:
        raise CurriscaleError(f"spectrum option format: {fmt!r} is not one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    splits = generate_spectrum(config)
    paths = {}
    for split, docs in splits.items():
        paths[split] = out_dir / f"{split}.{fmt}"
        with atomic_output(paths[split]) as tmp:
            _write_jsonl(tmp, docs) if fmt == "jsonl" else _write_parquet(tmp, docs)
    levels = {split: Counter(str(d["level"]) for d in docs) for split, docs in splits.items()}
    atomic_write_json(
        out_dir / "spectrum.json", {"config": asdict(config), "tasks": TASKS, "documents": levels}
    )
    return paths


def _write_jsonl(path: Path, docs: list[dict]) -> None:
    import orjson  # several times faster than json.dumps; compact, UTF-8, same bytes every run

    path.write_bytes(b"".join(orjson.dumps(doc) + b"\n" for doc in docs))


def _write_parquet(path: Path, docs: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [("id", pa.string()), ("text", pa.string()), ("level", pa.int64()), ("task", pa.string()),
         ("prompt", pa.string()), ("answer", pa.string())]
    )  # fmt: skip
    pq.write_table(pa.Table.from_pylist(docs, schema=schema), path)
