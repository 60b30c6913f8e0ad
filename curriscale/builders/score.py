"""Score a corpus: read every document, run the scorers, write scored and rejected Parquet.

`score_corpus` plans the inputs (failing fast on a missing file or a wrong text field), then runs
a two-step datatrove pipeline, `CorpusReader` -> `ScoreShard`, on a datatrove executor: local
(tasks x workers processes), Slurm (an sbatch job array) or Ray. Resuming is datatrove's: a rerun
with the same logging folder skips the tasks that completed. Once every task is done,
`finalize_scoring` gives all part files one schema and writes `score_stats.json`.

Output layout (DIR = `out_dir`; one part per task, concatenated in rank order = input order):

    DIR/scored/part-00000.parquet    id, text, carried fields, truncated, one column per scorer output
    DIR/rejected/part-00000.parquet  id, text (first 2,000 chars), reason, source (file:line)
    DIR/score_stats.json             inputs (path, documents, sha256), counts, reasons, scorers, files
    DIR/logs/                        datatrove logs, completions, stats; score_config.json; counts/
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from loguru import logger

from curriscale.builders.inputs import TXT_SPLITS, plan_inputs
from curriscale.builders.readers import CorpusReader
from curriscale.builders.score_executors import ProgressPoller, SlurmSubmission, run_here, submit_slurm
from curriscale.builders.score_shard import ScoreShard, conform, scored_schema, write_parquet
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json, sha256_file
from curriscale.locking import folder_lock
from curriscale.scorers.base import Scorer

DEFAULT_SCORERS = ("text_stats", "reading_age")
EXECUTORS = ("local", "slurm", "ray")
MAX_CHARS = 100_000  # scorers see at most this many characters of a document (see `truncated`)
CONFIG_NAME = "score_config.json"


@dataclass
class ScoreStats:
    """Counts of a finished scoring run; `data` is the full `score_stats.json`."""

    documents_in: int
    scored: int
    rejected: int
    rejected_reasons: dict[str, int]
    truncated: int
    path: Path
    data: dict = field(repr=False)


def resolve_scorers(scorers: Sequence[Scorer | str] | None) -> list[Scorer]:
    """Scorer instances from instances or registry specs (`name`, `name:k=v`, `module:Attr`)."""
    specs = list(scorers) if scorers else list(DEFAULT_SCORERS)
    resolved = []
    for spec in specs:
        if isinstance(spec, str):
            from curriscale.scorers.registry import get_scorer

            spec = get_scorer(spec)
        resolved.append(spec)
    seen: dict[str, str] = {}
    for scorer in resolved:
        for column in scorer.columns():
            if column in seen or column in {"id", "text", "truncated"}:
                owner = seen.get(column, "the pipeline")
                raise CurriscaleError(f"scorer {scorer.name!r}: column {column!r} is also written by {owner}")
            seen[column] = repr(scorer.name)
    return resolved


def _provenance(scorer: Scorer) -> dict[str, Any]:
    record = scorer.provenance() if hasattr(scorer, "provenance") else {"name": scorer.name, "params": {}}
    record.setdefault("version", getattr(scorer, "version", "0"))
    return json.loads(json.dumps(record, default=str))  # JSON-safe: paths and such become strings


def _write_config(logging_dir: Path, config: dict) -> None:
    """Record the run's settings; refuse to resume into a folder scored with other settings."""
    path = logging_dir / CONFIG_NAME
    if path.is_file():
        previous = json.loads(path.read_text())
        if previous != config:
            changed = sorted(k for k in config.keys() | previous.keys() if config.get(k) != previous.get(k))
            raise CurriscaleError(
                f"{logging_dir.parent}: already holds a scoring run with different {', '.join(changed)}; "
                "use another --out (or delete it) to start afresh"
            )
        return
    atomic_write_json(path, config)


def score_corpus(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    scorers: Sequence[Scorer | str] | None = None,
    text_field: str = "text",
    id_field: str = "id",
    tasks: int = 1,
    workers: int = 1,
    executor: str = "local",
    batch_size: int = 256,
    max_chars: int = MAX_CHARS,
    logging_dir: str | os.PathLike | None = None,
    executor_options: dict[str, Any] | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    datatrove_logs: bool = True,
    txt_split: str = "none",
) -> ScoreStats | SlurmSubmission:
    """Score every document of `inputs` and write `out_dir/scored`, `rejected` and `score_stats.json`.

    Args:
        inputs: JSONL (.jsonl, .jsonl.gz), Parquet or .txt files, folders of them, or saved datasets.
        out_dir: output folder; rerunning into it resumes (only unfinished tasks run again).
        scorers: Scorer instances or registry specs; default `text_stats` and `reading_age`.
        text_field: field/column holding the text.
        id_field: field/column holding the id (missing ids become `<file stem>-<line/row>`).
        tasks: datatrove tasks (output parts); each task holds its part in memory until it writes.
        workers: tasks run at once (local); for slurm/ray, values > 1 cap concurrent tasks.
        executor: "local", "slurm" (needs `executor_options={"partition": ...}`) or "ray".
        batch_size: documents per scorer call.
        max_chars: characters of each document the scorers see; longer ones are marked `truncated`.
        logging_dir: datatrove logging folder (default `out_dir/logs`); the same one resumes.
        executor_options: extra keyword arguments for the datatrove executor (e.g. `time`, `partition`).
        dry_run: slurm only: write the sbatch scripts and pickled pipeline but do not call sbatch.
        on_progress: called as `(documents_done, documents_expected)` about twice a second (local/ray).
        datatrove_logs: False silences datatrove's log lines (here and in local worker processes).
        txt_split: a `.txt` file is one document ("none"), or one per "paragraph" (blank-line
            separated) or "line"; recorded in `score_stats.json`.

    Returns:
        `ScoreStats` when scoring finished here; `SlurmSubmission` for the slurm executor.

    Raises:
        CurriscaleError: for a missing/unreadable input, a bad option, an out_dir scored differently,
            or another process writing into out_dir (`folder_lock`).

    With `workers > 1` datatrove starts worker processes with forkserver: call this from under
    `if __name__ == "__main__":` in a script.
    """
    _check_options(tasks, workers, batch_size, max_chars, txt_split, executor, dry_run)
    out = Path(out_dir)
    logs = Path(logging_dir) if logging_dir else out / "logs"
    scorer_objects = resolve_scorers(scorers)
    infos, units = plan_inputs(list(inputs), text_field, tasks, txt_split)
    config = {
        "inputs": [asdict(info) for info in infos],
        "scorers": [_provenance(s) for s in scorer_objects],
        "score_columns": [c for s in scorer_objects for c in s.columns()],
        "text_field": text_field,
        "id_field": id_field,
        "tasks": tasks,
        "batch_size": batch_size,
        "max_chars": max_chars,
        # Recorded only when set, so folders scored before the option existed still resume.
        **({"txt_split": txt_split} if txt_split != "none" else {}),
    }
    with folder_lock(out):  # a second scoring run into `out` would interleave its parts with ours
        _write_config(logs, config)
        pipeline = [
            CorpusReader(units, text_field, id_field, datatrove_logs, txt_split),
            ScoreShard(str(out), str(logs), scorer_objects, batch_size, max_chars),
        ]
        if executor == "slurm":
            finalize = functools.partial(_finalize_step, out_dir=str(out), logging_dir=str(logs))
            return submit_slurm(pipeline, finalize, logs, tasks, workers, executor_options or {}, dry_run)
        if not datatrove_logs:
            logger.disable("datatrove")
        expected = sum(info.expected_documents for info in infos)
        try:
            with ProgressPoller(logs / "counts", expected, on_progress):
                run_here(executor, pipeline, logs, tasks, workers, executor_options or {})
        finally:
            logger.enable("datatrove")
        return finalize_scoring(out, logs)


def _check_options(
    tasks: int, workers: int, batch_size: int, max_chars: int, txt_split: str, executor: str, dry_run: bool
) -> None:
    """Refuse a bad option of `score_corpus` before anything is read or written."""
    for option, value in {
        "tasks": tasks,
        "workers": workers,
        "batch_size": batch_size,
        "max_chars": max_chars,
    }.items():
        if value < 1:
            raise CurriscaleError(f"{option} must be at least 1, got {value}")
    if txt_split not in TXT_SPLITS:
        raise CurriscaleError(f"unknown txt_split {txt_split!r} (choose from {', '.join(TXT_SPLITS)})")
    if executor not in EXECUTORS:
        raise CurriscaleError(f"unknown executor {executor!r} (choose from {', '.join(EXECUTORS)})")
    if dry_run and executor != "slurm":
        raise CurriscaleError("--dry-run applies to the slurm executor only")
    if executor == "ray":
        try:
            import ray  # noqa: F401  (only checking that it is there)
        except ImportError as error:
            raise CurriscaleError("the ray executor needs Ray: pip install curriscale[ray]") from error


def _is_complete(logs: Path, rank: int) -> bool:
    """Whether datatrove marked task `rank` complete (a rerun skips it)."""
    return (logs / "completions" / f"{rank:05d}").is_file()


def finished_tasks(
    out_dir: str | os.PathLike, logging_dir: str | os.PathLike | None = None
) -> tuple[int, int]:
    """`(finished, planned)` scoring tasks of the run in `out_dir`; `(0, 0)` before it was planned.

    A finished task's part is kept and a rerun skips it; an unfinished one starts again from its start.
    """
    logs = Path(logging_dir) if logging_dir else Path(out_dir) / "logs"
    if not (logs / CONFIG_NAME).is_file():
        return 0, 0
    tasks = json.loads((logs / CONFIG_NAME).read_text())["tasks"]
    return sum(_is_complete(logs, rank) for rank in range(tasks)), tasks


def longest_truncated(out_dir: str | os.PathLike, limit: int = 3) -> list[tuple[str, int]]:
    """`(id, characters)` of the longest scored documents that the scorers saw only the start of.

    For a console warning after scoring; reads the scored parts' `truncated` rows only.
    """
    parts = sorted((Path(out_dir) / "scored").glob("part-*.parquet"))
    tables = [pq.read_table(p, columns=["id", "text"], filters=[("truncated", "==", True)]) for p in parts]
    found = pa.concat_tables(tables) if tables else pa.table({"id": [], "text": []})
    lengths = pc.utf8_length(found.column("text")).to_pylist()
    return sorted(zip(found.column("id").to_pylist(), lengths, strict=True), key=lambda x: -x[1])[:limit]


def _unify_parts(paths: list[Path], score_columns: list[str]) -> None:
    """Give every scored part the same schema (carried fields can differ between tasks)."""
    schemas = [pq.read_schema(p).remove_metadata() for p in paths]
    target = scored_schema(schemas, score_columns)
    for path, schema in zip(paths, schemas, strict=True):
        if not schema.equals(target):
            write_parquet(conform(pq.read_table(path), target), path)


def _file_record(out: Path, path: Path) -> dict[str, Any]:
    rows = pq.ParquetFile(path).metadata.num_rows
    return {
        "path": path.relative_to(out).as_posix(),
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def _duplicate_ids(parts: list[Path]) -> int:
    """Scored documents whose id another scored document has too (the same file given twice, say)."""
    ids = pa.concat_tables([pq.read_table(part, columns=["id"]) for part in parts]).column("id")
    return len(ids) - pc.count_distinct(ids).as_py()


def _finalize_step(data, rank: int = 0, world_size: int = 1, out_dir: str = "", logging_dir: str = ""):
    """Pipeline step of the Slurm job that runs `finalize_scoring` after the scoring tasks."""
    finalize_scoring(out_dir, logging_dir)
    return data


def finalize_scoring(out_dir: str | os.PathLike, logging_dir: str | os.PathLike | None = None) -> ScoreStats:
    """Check every task finished, unify the part schemas, and write `score_stats.json`.

    Raises:
        CurriscaleError: when tasks are missing (rerun the same command to resume them).
    """
    out = Path(out_dir)
    logs = Path(logging_dir) if logging_dir else out / "logs"
    config = json.loads((logs / CONFIG_NAME).read_text())
    ranks = range(config["tasks"])
    missing = [r for r in ranks if not _is_complete(logs, r)]
    if missing:
        raise CurriscaleError(
            f"{out}: tasks {missing} did not finish (logs in {logs / 'logs'}); rerun the same command to resume"
        )
    counts = [json.loads((logs / "counts" / f"{r:05d}.json").read_text()) for r in ranks]
    scored_paths = [out / "scored" / f"part-{r:05d}.parquet" for r in ranks]
    rejected_paths = [out / "rejected" / f"part-{r:05d}.parquet" for r in ranks]
    for rank, part in enumerate(zip(scored_paths, rejected_paths, strict=True)):
        if not all(path.is_file() for path in part):
            raise CurriscaleError(
                f"{out}: task {rank} is marked complete but its output is gone; "
                f"delete {logs / 'completions' / f'{rank:05d}'} and rerun to redo it"
            )
    _unify_parts(scored_paths, config["score_columns"])
    totals = {key: sum(c[key] for c in counts) for key in ("documents_in", "scored", "rejected", "truncated")}
    reasons = sum((Counter(c["rejected_reasons"]) for c in counts), Counter())
    per_input = sum((Counter(c["per_input"]) for c in counts), Counter())
    files = {
        "scored": [_file_record(out, p) for p in scored_paths],
        "rejected": [_file_record(out, p) for p in rejected_paths],
    }
    rows = {kind: sum(f["rows"] for f in records) for kind, records in files.items()}
    if totals["documents_in"] != totals["scored"] + totals["rejected"] or rows != {
        "scored": totals["scored"],
        "rejected": totals["rejected"],
    }:
        raise RuntimeError(
            f"scoring lost documents: counts {totals}, rows written {rows}"
        )  # a bug, not the user's
    inputs = []
    for index, info in enumerate(config["inputs"]):
        record = {k: v for k, v in info.items() if k != "expected_documents"}
        inputs.append({**record, "documents": per_input.get(str(index), 0)})
    data = {
        "inputs": inputs,
        **totals,
        "duplicate_ids": _duplicate_ids(scored_paths),
        "rejected_reasons": dict(sorted(reasons.items())),
        "scorers": config["scorers"],
        "columns": config["score_columns"],
        **{k: config[k] for k in ("text_field", "id_field", "max_chars", "tasks")},
        "txt_split": config.get("txt_split", "none"),  # absent from runs scored before the option
        "files": files,
    }
    path = out / "score_stats.json"
    atomic_write_json(path, data)
    return ScoreStats(
        totals["documents_in"],
        totals["scored"],
        totals["rejected"],
        data["rejected_reasons"],
        totals["truncated"],
        path,
        data,
    )
