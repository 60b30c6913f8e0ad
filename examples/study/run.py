"""The curriculum study, end to end in one command: where does a curriculum pay at equal compute?

    python examples/study/run.py --out study-out            # the full study (see README.md for its cost)
    python examples/study/run.py --out study-quick --quick  # the same pipeline, tiny (about a minute)
    python examples/study/run.py --out graded-out --corpus graded  # the second corpus (GRADED.yaml)

Stages, each through the package's public functions, each resuming when rerun into the same folder:

1. generate the synthetic task spectrum (six levels; train, eval and ood splits) into OUT/data, or
   with `--corpus graded` split OneStopEnglish's human-graded articles (three levels; graded.py);
2. score it (reading age and compression ratio, recorded in every tier for analysis);
3. build one curriculum per `manifests` entry of the grid from recipes/<name>.yaml (recipes/graded/
   for the graded corpus; tiers are the levels, so difficulty is known, not estimated);
4. write OUT/grid.yaml (the grid template, with --quick's overrides) and run the grid into OUT/runs;
5. fit it (`fit_grid`) into OUT/fits, and compare the curricula on the averaged weights for the
   LR treatments that keep an average (OUT/fits/comparison_averaged.json, the same comparison code
   run on the `ema_` metrics);
6. write the report (OUT/report.html) and the per-size progression (`recommend`'s
   OUT/fits/progression.json);
7. write OUT/RESULTS.md from those JSON files (`study_results.py`; rerun alone with --results-only).

Every random choice is seeded (data, tokenizer, sampling, initialisation, bootstrap), so a rerun
gives the same fits.json bytes.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# --quick: the same pipeline on a corpus, grid and bootstrap small enough for a test.
QUICK = {
    "data": {"docs_per_level": 60, "eval_per_level": 8},
    "grid": {
        "sizes": ["s0", "s1", "s2"],
        "manifests": {"static": "curricula/static/manifest.json", "warmup": "curricula/warmup/manifest.json"},
        "seeds": [0, 1],
        "budget": {"tokens": 8192},
        "train": {"batch_size": 8, "seq_len": 128, "n_evals": 4, "threads": 1},
    },
    # GROWTH.yaml's arms from s0 into s1, at s1's compute for 8,192 tokens.
    "growth": {
        "sizes": ["s1"],
        "seeds": [0, 1],
        "budget": {"flops": 3.7e9},
        "growth": [
            {"from": "s0", "grow": "depth", "at": 0.5},
            {"from": "s0", "grow": "distill", "to": "s1", "at": 0.5, "temperature": 2.0, "weight": 0.5},
        ],
        "lr": {"s0": 1.0e-2, "s1": 8.0e-3},
        "train": {"batch_size": 8, "seq_len": 128, "n_evals": 4, "threads": 1},
    },  # fmt: skip
    "bootstrap": 40,
}
FULL = {"data": {"docs_per_level": 5000, "eval_per_level": 100}, "grid": {}, "growth": {}, "bootstrap": 200}
# The second corpus (`--corpus graded`): real text graded by teachers; no growth arms.
GRADED_QUICK = {
    "data": {"eval_articles": 10, "paragraphs_per_level": 10},
    "grid": QUICK["grid"] | {"sizes": ["s0", "s1"]},
    "bootstrap": 40,
}
GRADED_FULL = {"data": {"eval_articles": 29, "paragraphs_per_level": 100}, "grid": {}, "bootstrap": 200}
CORPORA = HERE.parents[2] / "shared" / "corpora"


def study_plan(corpus: str, quick: bool) -> dict:
    """The data, grid overrides and bootstrap size of one corpus, full or --quick."""
    if corpus == "graded":
        return GRADED_QUICK if quick else GRADED_FULL
    return QUICK if quick else FULL


def study_grid(template: Path, plan: dict, part: str = "grid") -> dict:
    """The grid to run (`part`: "grid" or "growth"): the template with the plan's overrides."""
    from curriscale.yaml12 import load_yaml

    grid = load_yaml(template.read_text())
    grid.update(copy.deepcopy(plan[part]))
    return grid


def run_study(
    out: Path,
    quick: bool = False,
    workers: int = 2,
    template: Path = HERE / "GRID.yaml",
    growth_template: Path | None = HERE / "GROWTH.yaml",
    corpus: str = "spectrum",
    corpora: Path = CORPORA,
) -> Path:
    """Run every stage into `out` (the growth arms too, unless `growth_template` is None); returns
    the path of RESULTS.md. `corpus` is "spectrum" (synthetic) or "graded" (OneStopEnglish from
    `corpora`)."""
    from study_results import averaged_comparison, write_progression, write_results

    from curriscale.builders.build import build_curriculum
    from curriscale.builders.score import score_corpus
    from curriscale.curricula.recipe import load_recipe
    from curriscale.fit.grid_fit import fit_grid
    from curriscale.fit.report import write_report
    from curriscale.io import atomic_write_json, atomic_write_text
    from curriscale.train.grid import run_grid

    plan = study_plan(corpus, quick)
    grid = study_grid(template, plan)
    growth = study_grid(growth_template, plan, "growth") if growth_template else None
    budget = grid["budget"]["tokens"]
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    step = lambda what: print(f"[{time.monotonic() - started:7.1f}s] {what}", flush=True)  # noqa: E731

    data, levels, recipes = write_data(out / "data", corpus, plan["data"], corpora, step)
    step("scoring: reading age and compression ratio")
    score_corpus(
        [out / "data" / "train.jsonl"],
        out / "scored",
        scorers=["reading_age", "compression"],
        datatrove_logs=False,
    )
    for name in dict.fromkeys([*grid["manifests"], *(growth["manifests"] if growth else [])]):
        step(f"building the {name} curriculum ({recipes.relative_to(HERE)}/{name}.yaml)")
        recipe = load_recipe(recipes / f"{name}.yaml").with_overrides(budget_tokens=budget, seed=0)
        build_curriculum(out / "scored", recipe, out / "curricula" / name)
    atomic_write_text(out / "grid.yaml", yaml.safe_dump(grid, sort_keys=False))
    atomic_write_json(out / "study_plan.json", {"quick": quick, "data": data, "levels": levels, "grid": grid,
                                                 "bootstrap": plan["bootstrap"]})  # fmt: skip

    n_cells = len(grid["sizes"]) * len(grid["manifests"]) * len(grid["lr_schedules"]) * len(grid["seeds"])
    step(f"training {n_cells} cells on {workers} worker(s)")
    run_grid(out / "grid.yaml", out / "runs", workers=workers)

    step("fitting scaling laws and comparing the curricula")
    fits = out / "fits"
    fit_grid(out / "runs", fits, bootstrap=plan["bootstrap"], seed=0, annealing=not quick)
    averaged = averaged_comparison(out / "runs", n_boot=plan["bootstrap"], seed=0)
    if averaged is not None:
        atomic_write_json(fits / "comparison_averaged.json", averaged)
    step("writing the report and the per-size progression")
    write_report(out / "runs", out, fits=fits)
    write_progression(fits)
    if growth:
        run_growth(out, growth, workers, plan["bootstrap"], step)
    results = write_results(out)
    step(f"wrote {results}")
    return results


def write_data(folder: Path, corpus: str, options: dict, corpora: Path, step) -> tuple[dict, dict, Path]:
    """Write the corpus's train/eval/ood JSONL into `folder`; returns (what was written, for the plan;
    level number -> name; the folder of its recipes)."""
    from graded import LEVELS, write_graded

    from curriscale.curricula.spectrum import TASKS, SpectrumConfig, write_spectrum

    if corpus == "graded":
        step(f"splitting OneStopEnglish (from {corpora}) by article")
        return write_graded(corpora, folder, **options), LEVELS, HERE / "recipes" / "graded"
    step("generating the synthetic task spectrum")
    write_spectrum(folder, SpectrumConfig(seed=0, **options))
    return {"corpus": "spectrum", **options}, TASKS, HERE / "recipes"


def run_growth(out: Path, growth: dict, workers: int, bootstrap: int, step) -> None:
    """Train the growth grid into OUT/growth and write fits/growth.json (grown against fresh)."""
    from curriscale.fit.growth import compare_growth
    from curriscale.fit.runs import load_grid
    from curriscale.io import atomic_write_json, atomic_write_text
    from curriscale.train.grid import run_grid

    atomic_write_text(out / "growth.yaml", yaml.safe_dump(growth, sort_keys=False))
    arms = len(growth["sizes"]) + len(growth["growth"])
    step(f"training the growth arms: {arms} arms x {len(growth['seeds'])} seeds at equal compute")
    run_grid(out / "growth.yaml", out / "growth", workers=workers)
    arms = compare_growth(load_grid(out / "growth"), n_boot=bootstrap, seed=0)
    atomic_write_json(out / "fits" / "growth.json", {"grid": growth, "arms": arms})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (rerun to resume)")
    parser.add_argument("--quick", action="store_true", help="a tiny run of the same pipeline")
    parser.add_argument("--workers", type=int, default=2, help="grid cells trained at once (1 thread each)")
    parser.add_argument(
        "--corpus",
        choices=["spectrum", "graded"],
        default="spectrum",
        help="spectrum: synthetic task levels (GRID.yaml); graded: OneStopEnglish (GRADED.yaml)",
    )
    parser.add_argument(
        "--corpora", type=Path, default=CORPORA, help="where onestopenglish/ and cefr_sp_wikiauto/ are"
    )
    parser.add_argument("--grid", type=Path, help="the grid template (default: by corpus)")
    parser.add_argument("--results-only", action="store_true", help="rewrite RESULTS.md from OUT/fits")
    parser.add_argument("--no-growth", action="store_true", help="leave out the growth arms (GROWTH.yaml)")
    args = parser.parse_args(argv)
    if args.results_only:
        from study_results import write_results

        print(write_results(args.out))
        return 0
    graded = args.corpus == "graded"
    missing = [name for name in ("onestopenglish", "cefr_sp_wikiauto") if not (args.corpora / name).is_dir()]
    if graded and missing:
        parser.error(f"--corpus graded needs {', '.join(missing)} in {args.corpora} (see --corpora)")
    template = args.grid or HERE / ("GRADED.yaml" if graded else "GRID.yaml")
    growth = None if args.no_growth or graded else HERE / "GROWTH.yaml"
    run_study(args.out, args.quick, args.workers, template, growth, args.corpus, args.corpora)
    return 0


if __name__ == "__main__":
    sys.exit(main())
