"""Build a curriculum: scored Parquet + recipe -> tier Parquet files + `manifest.json`.

Two streaming passes keep memory bounded by a few numeric arrays, not by the corpus:

1. Read only the recipe's difficulty columns from every input file, compute the difficulty of all
   documents (global ranks for a composite) and assign tiers (quantile edges need the whole array).
2. Stream the full rows by record batch, append a `difficulty` column, split each batch by tier
   and append it to that tier's shard writer. Within a tier, documents keep their input order.
   This pass runs over groups of input files (`tier_pass.py`): in this process, or with
   `workers > 1` on a datatrove `LocalPipelineExecutor` (same bytes either way).

Output (OUT = `out_dir`):

    OUT/tier=NN/part-NNNNN.parquet   every scored column + `difficulty`, row groups of 8,192 rows
    OUT/rejected/part-00000.parquet  id, text, reason, source: scoring rejects + unplaceable rows
    OUT/manifest.json                see curriscale.curricula.manifest

Reliability: everything is written into a hidden sibling folder `.OUT.partial` and swapped into
place only when complete; a rerun after a crash deletes the leftover and rebuilds. Output bytes
depend only on the inputs and the recipe (no timestamps, fixed batch and row-group sizes), so the
rerun is byte-identical to an uninterrupted build.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale import __version__
from curriscale.builders.difficulty import compute_difficulty, needed_columns
from curriscale.builders.shards import REJECT_SCHEMA, ShardWriter, file_entry
from curriscale.builders.tier_pass import (
    WORK_DIR,
    InputFile,
    WriteTiers,
    column_or_nulls,
    plan_groups,
    write_group,
)
from curriscale.builders.tiers import TierAssignment, assign_tiers
from curriscale.curricula.manifest import MANIFEST_NAME, Manifest, write_manifest
from curriscale.curricula.pacing import consumption, divergence_from_static, materialise_schedule
from curriscale.curricula.recipe import Recipe
from curriscale.errors import CurriscaleError
from curriscale.io import fsync_path, replace_folder, sha256_file
from curriscale.locking import folder_lock

ScoredSource = str | os.PathLike | Sequence[str | os.PathLike]


@dataclass
class ScoredInput:
    """The scored files of a build; `root` is what the manifest's input paths are relative to."""

    root: Path
    scored: list[Path]
    rejected: list[Path]
    stats: dict | None

    def rows(self) -> int:
        """Documents in the scored files, from the Parquet footers; a file that is not Parquet is named."""
        total = 0
        for file in self.scored:
            try:
                total += pq.ParquetFile(file).metadata.num_rows
            except (pa.ArrowInvalid, OSError) as error:
                raise CurriscaleError(
                    f"{file}: not a readable Parquet file ({error}); build takes the output of `curriscale score`"
                ) from error
        return total


def resolve_scored(scored: ScoredSource) -> ScoredInput:
    """Find the Parquet inputs: a `score` output folder, a folder of Parquet, a file, or a list."""
    if isinstance(scored, str | os.PathLike):
        path = Path(scored)
        if path.is_file():
            return ScoredInput(path.parent, [path], [], None)
        if not path.is_dir():
            raise CurriscaleError(f"{path}: scored input not found")
        if (path / "scored").is_dir():
            stats_path = path / "score_stats.json"
            stats = json.loads(stats_path.read_text("utf-8")) if stats_path.is_file() else None
            files = sorted((path / "scored").glob("*.parquet"))
            if not files:
                raise CurriscaleError(f"{path / 'scored'}: no Parquet files")
            return ScoredInput(path, files, sorted((path / "rejected").glob("*.parquet")), stats)
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise CurriscaleError(f"{path}: no Parquet files (expected scored/*.parquet or *.parquet)")
        return ScoredInput(path, files, [], None)
    files = [Path(f) for f in scored]
    for file in files:
        if not file.is_file():
            raise CurriscaleError(f"{file}: scored input not found")
    if not files:
        raise CurriscaleError("no scored input files given")
    return ScoredInput(Path(os.path.commonpath([f.resolve().parent for f in files])), files, [], None)


def _read_difficulty_columns(inputs: ScoredInput, recipe: Recipe) -> pa.Table:
    """Pass 1: just the columns the recipe needs, from every file, in input order."""
    columns = needed_columns(recipe)
    tables = []
    for file in inputs.scored:
        names = pq.read_schema(file).names
        for column in columns:
            if column not in names:
                field = "tiers.column" if column == recipe.tiers.column else f"difficulty.columns.{column}"
                raise CurriscaleError(f"{recipe.source}: {field}: column {column!r} not in {file}")
        tables.append(pq.read_table(file, columns=columns))
    return pa.concat_tables(tables)


def _relative(inputs: ScoredInput, file: Path) -> str:
    return Path(os.path.relpath(file.resolve(), inputs.root.resolve())).as_posix()


def _prepare_output(out: Path) -> Path:
    """Check `out` is new, empty or a previous curriculum; clear leftovers of a killed build."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise CurriscaleError(
            f"{out}: exists, is not empty and holds no {MANIFEST_NAME}; choose a new folder"
        )
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(out.parent / f".{out.name}.old", ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def _input_files(inputs: ScoredInput) -> list[InputFile]:
    files, offset = [], 0
    for path in inputs.scored:
        rows = pq.ParquetFile(path).metadata.num_rows
        files.append(InputFile(str(path), _relative(inputs, path), offset, rows))
        offset += rows
    return files


def _output_schema(inputs: ScoredInput) -> pa.Schema:
    """Every input column (unified over the files), then `difficulty` (replacing any old one)."""
    schema = pa.unify_schemas([pq.read_schema(f) for f in inputs.scored])
    if "difficulty" in schema.names:
        schema = schema.remove(schema.get_field_index("difficulty"))
    return schema.append(pa.field("difficulty", pa.float64()))


def _copy_scoring_rejects(inputs: ScoredInput, partial: Path) -> tuple[list[list], Counter]:
    """Carry the scoring run's rejects over unchanged (they come first in rejected/)."""
    writer, reasons = ShardWriter(partial, "rejected", REJECT_SCHEMA, prefix=".scoring-"), Counter()
    for file in inputs.rejected:
        table = pq.read_table(file)
        table = pa.table({f.name: column_or_nulls(table, f) for f in REJECT_SCHEMA}, schema=REJECT_SCHEMA)
        reasons.update(table.column("reason").to_pylist())
        writer.add(table)
    return writer.close(), reasons


def _finalise_parts(root: Path, subdir: str, part_lists: list[list[list]]) -> list[dict]:
    """Rename every task's parts to part-00000.parquet, ... in task order; return manifest entries."""
    entries = []
    for relative, rows in (part for parts in part_lists for part in parts):
        final = f"{subdir}/part-{len(entries):05d}.parquet"
        os.replace(root / relative, root / final)
        fsync_path(root / final)  # the folder is swapped into place by rename: its files must be on disk
        entries.append(file_entry(root, final, rows))
    if entries:
        fsync_path(root / subdir)
    return entries


def build_curriculum(
    scored: ScoredSource,
    recipe: Recipe,
    out_dir: str | os.PathLike,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Cut scored documents into difficulty tiers and write the curriculum folder.

    Args:
        scored: A `curriscale score` output folder (scored/, rejected/, score_stats.json), a folder
            of Parquet files, one Parquet file, or a list of them.
        recipe: The parsed recipe (see `curriscale.curricula.recipe.load_recipe`).
        out_dir: The curriculum folder to create (or replace, if it holds a previous build).
        workers: Processes for the tier pass; above 1 (and with more than one input group) it runs
            on a datatrove `LocalPipelineExecutor`. The output bytes do not depend on it.
        progress: Called with the number of rows done (after each batch when workers == 1).

    Returns:
        The written, validated `Manifest`.

    Raises:
        CurriscaleError: for unreadable inputs, a recipe that places no document, an `out_dir` that
            holds something else, or another process writing into `out_dir` (`folder_lock`).
    """
    with folder_lock(out_dir):
        return _build(resolve_scored(scored), recipe, Path(out_dir), workers, progress)


def _build(
    inputs: ScoredInput, recipe: Recipe, out: Path, workers: int, progress: Callable[[int], None] | None
) -> Manifest:
    """`build_curriculum` while holding the lock of `out`: the two passes, the manifest, the swap."""
    inputs.rows()  # fails early, naming any input that is not Parquet
    difficulty, assignment = _assign(inputs, recipe)
    n_tiers = len(assignment.bounds)

    partial = _prepare_output(out)
    work = partial / WORK_DIR
    work.mkdir()
    np.save(work / "difficulty.npy", difficulty)
    np.save(work / "tier.npy", assignment.tier)
    del difficulty
    scoring_parts, reasons = _copy_scoring_rejects(inputs, partial)
    schema = _output_schema(inputs)
    summaries = _write_tiers(inputs, partial, schema, n_tiers, assignment.reason, workers, progress)
    shutil.rmtree(work)

    documents = [sum(s["tiers"][i]["rows"] for s in summaries) for i in range(n_tiers)]
    tokens = np.array([sum(s["tiers"][i]["tokens"] for s in summaries) for i in range(n_tiers)], np.int64)
    if sum(documents) == 0:
        shutil.rmtree(partial)
        raise CurriscaleError(f"{recipe.source}: no document could be placed in a tier ({assignment.reason})")
    for summary in summaries:
        reasons.update(summary["rejected"]["reasons"])
    rejected_files = _finalise_parts(
        partial, "rejected", [scoring_parts] + [s["rejected"]["parts"] for s in summaries]
    )
    tiers = [
        {
            "index": i,
            "name": f"tier={i:02d}",
            "bounds": assignment.bounds[i],
            "label": assignment.labels[i],
            "documents": documents[i],
            "tokens": int(tokens[i]),
            "files": _finalise_parts(partial, f"tier={i:02d}", [s["tiers"][i]["parts"] for s in summaries]),
        }
        for i in range(n_tiers)
    ]
    rejected = {
        "documents": sum(f["rows"] for f in rejected_files),
        "reasons": dict(sorted(reasons.items())),
        "files": rejected_files,
    }
    data = _manifest_data(inputs, recipe, schema, tiers, tokens, rejected)
    write_manifest(partial, data)
    replace_folder(partial, out)
    return Manifest(root=out.resolve(), data=data)


def _assign(inputs: ScoredInput, recipe: Recipe) -> tuple[np.ndarray, TierAssignment]:
    """First pass: every document's difficulty (NaN where it has none) and tier, from the key columns."""
    key_table = _read_difficulty_columns(inputs, recipe)
    labels = key_table.column(recipe.tiers.column) if recipe.tiers.column else None
    if recipe.difficulty is None:  # a pure categorical ladder: difficulty is the rung
        assignment = assign_tiers(recipe.tiers, np.zeros(key_table.num_rows), labels)
        difficulty = np.where(assignment.tier >= 0, assignment.tier, np.nan).astype(np.float64)
        return difficulty, assignment
    difficulty = compute_difficulty(key_table, recipe)
    return difficulty, assign_tiers(recipe.tiers, difficulty, labels)


def _write_tiers(
    inputs: ScoredInput,
    partial: Path,
    schema: pa.Schema,
    n_tiers: int,
    reason: str,
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[dict]:
    """Second pass: each group of input files written into tier parts (datatrove tasks when
    `workers` > 1), reading the tiers the first pass saved in the work folder; one summary a group."""
    work, groups = partial / WORK_DIR, plan_groups(_input_files(inputs))
    if workers > 1 and len(groups) > 1:
        from datatrove.executor import LocalPipelineExecutor

        step = WriteTiers(str(partial), groups, schema, n_tiers, reason)
        LocalPipelineExecutor(
            [step], tasks=len(groups), workers=min(workers, len(groups)), logging_dir=str(work / "logs")
        ).run()
        missing = [g for g in range(len(groups)) if not (work / f"group-{g:05d}.json").is_file()]
        if missing:
            raise CurriscaleError(f"{partial}: tier tasks {missing} failed; see {work / 'logs'}")
        if progress:
            progress(sum(f.rows for group in groups for f in group))
        return [json.loads((work / f"group-{g:05d}.json").read_text()) for g in range(len(groups))]
    summaries, done = [], 0
    for g, group in enumerate(groups):
        report = (lambda rows, base=done: progress(base + rows)) if progress else None
        summaries.append(write_group(partial, g, group, schema, work, n_tiers, reason, report))
        done += sum(f.rows for f in group)
    return summaries


def _manifest_data(
    inputs: ScoredInput,
    recipe: Recipe,
    schema: pa.Schema,
    tiers: list[dict],
    tokens: np.ndarray,
    rejected: dict,
) -> dict:
    """The manifest document (DESIGN.md's contract; schema in curricula/manifest.schema.json)."""
    schedule = materialise_schedule(recipe.pacing, tokens, recipe.total)
    if recipe.difficulty is None:
        difficulty_meta = {
            "columns": {recipe.tiers.column: 1.0},
            "normalise": "order",
            "order": recipe.tiers.order,
        }
    else:
        difficulty_meta = {"columns": recipe.difficulty, "normalise": recipe.normalise}
    return {
        "format": "curriscale.manifest",
        "version": 1,
        "name": recipe.name,
        "created_by": f"curriscale {__version__}",
        "seed": recipe.seed,
        "difficulty": difficulty_meta,
        "tiers": tiers,
        "token_unit": "n_tokens" if "n_tokens" in schema.names else "whitespace",
        "pacing": recipe.pacing.to_dict(recipe.total),
        "schedule": schedule,
        "lr_schedule": recipe.lr_schedule,
        "consumption": consumption(schedule, tokens, recipe.budget_tokens),
        "divergence_from_static": divergence_from_static(schedule, tokens),
        "rejected": rejected,
        "inputs": [
            {
                "path": _relative(inputs, f),
                "documents": pq.ParquetFile(f).metadata.num_rows,
                "sha256": sha256_file(f),
            }
            for f in inputs.scored + inputs.rejected
        ],
        "scorers": (inputs.stats or {}).get("scorers", []),
        "recipe": recipe.to_dict(),
        "recipe_hash": recipe.hash(),
    }
