"""`curriscale demo`: one whole curriculum experiment on data the project generates itself.

The demo runs every stage of the product once, for real, at a size that fits two CPU cores:

1. generate the synthetic task spectrum (six levels, train / eval / out-of-distribution splits);
2. score it (reading age and text statistics);
3. build two curricula from the same scored corpus: a reading-age ladder and the static mix;
4. train a small grid: several model sizes on each curriculum, equal tokens per size;
5. fit a power law of final loss against model size per curriculum, find each level's critical size
   and compare the curricula;
6. write report.html, plots, fits.json and both manifests, and print a three-line summary.

`--quick` is sized, by measurement on 2 CPU cores, to show learning in about three minutes: two
task levels learned well above chance and a critical size, on one seed and one LR schedule (so no
intervals and no LR-annealing fit); the full demo uses more tokens, sizes and seeds so the
comparison has intervals worth reading. README.md gives the figures a quick run measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from curriscale.io import atomic_write_json, atomic_write_text

# Training-document shares of the six levels (simple sentences, next sentence, cloze, one-fact QA,
# multi-hop QA, arithmetic). Levels 3-5 are not learned in a few million tokens at these sizes
# (one-fact QA's answer loss stayed at log(10), uniform over the rooms, after 3M tokens at 151k
# params; multi-hop and arithmetic needed 4-6M tokens in the prototype) yet hold three quarters of the
# tokens of an equal mix. Measured at 1.2M tokens: with equal shares next-sentence (chance 0.51)
# reached 0.64 at best (static mix) and stayed at chance at every size on the ladder; with these
# shares it rises with size to 0.79 (ladder) and 0.99 (static) at 151k params, and cloze is learned
# at every size. The eval sets keep every level at its full count.
LEARNABLE_MIX = [1.0, 2.0, 1.0, 0.5, 0.25, 0.25]


@dataclass
class DemoPlan:
    """How big the demo is. `quick()` and `full()` are the two shipped plans.

    Attributes:
        docs_per_level / eval_per_level / level_weights: the spectrum (see `SpectrumConfig`).
        sizes / budget_tokens / seeds / lr_schedule / lr: the grid (one peak LR for every size).
        annealing: fit the LR-annealing law; its point is one set of parameters across LR
            schedules, so a one-schedule grid can describe a curve with it but not test it.
        workers: cells trained at once, each on cores / workers threads. For these sizes one
            thread per cell beats two: 28k tokens/s at 151k params on one thread, and two threads
            fell to 3k tokens/s when another process shared the two cores (OpenMP spin-waits).
    """

    docs_per_level: int
    eval_per_level: int
    sizes: list[str]
    budget_tokens: int
    seeds: list[int]
    level_weights: list[float] | None = None
    recipes: dict[str, str] = field(
        default_factory=lambda: {"reading_age": "reading-age-ladder", "static": "static-mix"}
    )
    lr_schedule: str = "cosine"
    lr: float = 1e-2
    annealing: bool = True
    vocab_size: int = 1024
    workers: int = 2
    seed: int = 0

    @classmethod
    def quick(cls) -> DemoPlan:
        # Four sizes: a power law has three parameters, so three sizes would leave nothing to fit.
        # 1.2M tokens at a peak LR of 1e-2: 0.3M tokens learned no level; 2e-2 (at 55k params)
        # and 5e-3 (at 55k and 151k) learned less than 1e-2. Cloze is learned from 13k params,
        # next-sentence from ~27-55k. One seed, one schedule: the comparison has no intervals and the
        # LR-annealing law is left out (it could describe the single cosine curve, not test it).
        return cls(
            docs_per_level=1000,
            eval_per_level=100,
            sizes=["s0", "s1", "s2", "s3"],
            budget_tokens=1_200_000,
            seeds=[0],
            level_weights=LEARNABLE_MIX,
            annealing=False,
        )

    @classmethod
    def full(cls) -> DemoPlan:
        # Five sizes (a break fit needs five) up to 443k params, three seeds for intervals, more
        # tokens than quick. Measured: 2,300 s of CPU time in all (32 min wall on 2 cores shared
        # with other jobs, so ~21 min idle); next-sentence seed means rise with size to 0.91-0.95
        # at 443k params. Still one LR schedule, so no annealing fit.
        return cls(
            docs_per_level=4000,
            eval_per_level=200,
            sizes=["s0", "s1", "s2", "s3", "s4"],
            budget_tokens=1_600_000,
            seeds=[0, 1, 2],
            level_weights=LEARNABLE_MIX,
            annealing=False,
        )


@dataclass
class DemoResult:
    """Where the demo put things, and what it found."""

    out: Path
    report: Path
    fits: Path
    manifests: dict[str, Path]
    summary: list[str]


Step = Callable[[str], None]


def run_demo(out: str | Path, plan: DemoPlan, on_step: Step | None = None) -> DemoResult:
    """Run the whole experiment into `out`; each stage resumes if its output is already there.

    Args:
        out: output folder.
        plan: sizes, budgets and seeds (`DemoPlan.quick()` or `DemoPlan.full()`).
        on_step: called with a short description as each stage starts.
    """
    from curriscale.builders.build import build_curriculum
    from curriscale.builders.score import score_corpus
    from curriscale.curricula.recipe import load_recipe
    from curriscale.curricula.spectrum import SpectrumConfig, write_spectrum
    from curriscale.fit.grid_fit import fit_grid
    from curriscale.fit.report import write_report
    from curriscale.train.grid import run_grid

    announce = on_step or (lambda message: None)
    out = Path(out)
    atomic_write_json(out / "demo_plan.json", asdict(plan))

    announce("generating the synthetic task spectrum")
    data = out / "data"
    write_spectrum(
        data,
        SpectrumConfig(
            docs_per_level=plan.docs_per_level,
            eval_per_level=plan.eval_per_level,
            level_weights=plan.level_weights,
            seed=plan.seed,
        ),
    )

    announce("scoring: reading age and text statistics")
    scored = out / "scored"
    score_corpus([data / "train.jsonl"], scored, scorers=["text_stats", "reading_age"])

    manifests = {}
    for name, preset in plan.recipes.items():
        announce(f"building the {name} curriculum ({preset})")
        recipe = load_recipe(preset).with_overrides(budget_tokens=plan.budget_tokens, seed=plan.seed)
        build_curriculum(scored, recipe, out / "curricula" / name)
        manifests[name] = out / "curricula" / name / "manifest.json"

    announce(f"training {len(plan.sizes)} sizes x {len(manifests)} curricula x {len(plan.seeds)} seed(s)")
    grid = {
        "sizes": plan.sizes,
        "manifests": {name: str(path.relative_to(out)) for name, path in manifests.items()},
        "lr_schedules": [plan.lr_schedule],
        "seeds": plan.seeds,
        "budget": {"tokens": plan.budget_tokens},
        "eval": "data/eval.jsonl",
        "ood": "data/ood.jsonl",
        "tokenizer": f"bpe:{plan.vocab_size}",
        "lr": plan.lr,
    }
    atomic_write_text(out / "grid.yaml", yaml.safe_dump(grid, sort_keys=False))
    runs = out / "runs"
    run_grid(out / "grid.yaml", runs, workers=plan.workers)

    announce("fitting scaling laws and comparing the curricula")
    fit_grid(runs, out / "fits", annealing=plan.annealing)
    announce("writing the report")
    summary = write_report(runs, out, fits=out / "fits")
    return DemoResult(
        out=out,
        report=out / "report.html",
        fits=out / "fits" / "fits.json",
        manifests=manifests,
        summary=summary.splitlines(),
    )
