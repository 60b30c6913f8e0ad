"""`curriscale demo`: one whole curriculum experiment on data the project generates itself.

The demo runs every stage of the product once, for real, at a size that fits two CPU cores:

1. generate the synthetic task spectrum (six levels, train / eval / out-of-distribution splits);
2. score it (reading age and text statistics);
3. build two curricula from the same scored corpus: a reading-age ladder and the static mix;
4. train a small grid: several model sizes on each curriculum, equal tokens per size;
5. fit a power law of final loss against model size per curriculum, and compare the curricula;
6. write report.html, plots, fits.json and both manifests, and print a three-line summary.

`--quick` shrinks the corpus, the sizes and the token budget so the whole run takes a few minutes;
the full demo uses more tokens, sizes and seeds so the comparison has intervals worth reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from curriscale.io import atomic_write_json, atomic_write_text


@dataclass
class DemoPlan:
    """How big the demo is. `quick()` and `full()` are the two shipped plans."""

    docs_per_level: int
    eval_per_level: int
    sizes: list[str]
    budget_tokens: int
    seeds: list[int]
    recipes: dict[str, str] = field(
        default_factory=lambda: {"reading_age": "reading-age-ladder", "static": "static-mix"}
    )
    lr_schedule: str = "cosine"
    vocab_size: int = 1024
    workers: int = 1
    seed: int = 0

    @classmethod
    def quick(cls) -> DemoPlan:
        # Four sizes: a power law has three parameters, so three sizes would leave nothing to fit.
        return cls(
            docs_per_level=1000,
            eval_per_level=100,
            sizes=["s0", "s1", "s2", "s3"],
            budget_tokens=300_000,
            seeds=[0],
        )

    @classmethod
    def full(cls) -> DemoPlan:
        return cls(
            docs_per_level=4000,
            eval_per_level=200,
            sizes=["s1", "s2", "s3", "s4", "s5"],
            budget_tokens=800_000,
            seeds=[0, 1],
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
            docs_per_level=plan.docs_per_level, eval_per_level=plan.eval_per_level, seed=plan.seed
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
    }
    atomic_write_text(out / "grid.yaml", yaml.safe_dump(grid, sort_keys=False))
    runs = out / "runs"
    run_grid(out / "grid.yaml", runs, workers=plan.workers)

    announce("fitting scaling laws and comparing the curricula")
    fit_grid(runs, out / "fits")
    announce("writing the report")
    summary = write_report(runs, out, fits=out / "fits")
    return DemoResult(
        out=out,
        report=out / "report.html",
        fits=out / "fits" / "fits.json",
        manifests=manifests,
        summary=summary.splitlines(),
    )
