"""`curriscale score`: a thin wrapper over `curriscale.builders.score.score_corpus`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.cli.interrupt import resumable
from curriscale.errors import CurriscaleError

# The likely cause when every document was rejected for the same kind of reason.
LIKELY_CAUSES = {
    "malformed JSON": "the input is not JSON Lines (a CSV or plain text named .jsonl?)",
    "missing text field": "the text is in another field (set --text-field)",
    "text is not a string": "--text-field names a field that holds no text",
    "binary or invalid UTF-8": "the input is not UTF-8 text",
}


class TxtSplit(str, Enum):
    none = "none"
    paragraph = "paragraph"
    line = "line"


def score(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="JSONL (.jsonl, .jsonl.gz), Parquet or .txt files, folders of them, or saved HF datasets."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; rerunning into it resumes.")],
    scorer: Annotated[
        list[str] | None,
        typer.Option(
            "--scorer",
            "-s",
            help="Scorer spec, repeatable: name, name:key=value,..., or module:Attr. "
            "Default: text_stats and reading_age.",
        ),
    ] = None,
    text_field: Annotated[str, typer.Option(help="Field/column holding the text.")] = "text",
    id_field: Annotated[str, typer.Option(help="Field/column holding the id.")] = "id",
    tasks: Annotated[int, typer.Option(help="datatrove tasks (one output part each).")] = 1,
    workers: Annotated[int, typer.Option(help="Tasks run at once (slurm/ray: a cap, 1 = no cap).")] = 1,
    executor: Annotated[str, typer.Option(help="local, slurm or ray.")] = "local",
    batch_size: Annotated[int, typer.Option(help="Documents per scorer call.")] = 256,
    max_chars: Annotated[int, typer.Option(help="Characters of a document the scorers see.")] = 100_000,
    txt_split: Annotated[
        TxtSplit,
        typer.Option(
            help="A .txt file is one document (none), or one per paragraph (blank-line separated) or line."
        ),
    ] = TxtSplit.none,
    slurm_partition: Annotated[str | None, typer.Option(help="Slurm partition (slurm executor).")] = None,
    slurm_time: Annotated[str, typer.Option(help="Slurm time limit per task.")] = "24:00:00",
    dry_run: Annotated[bool, typer.Option(help="Slurm: write the sbatch scripts, do not submit.")] = False,
    verbose: Annotated[bool, typer.Option(help="Show datatrove's own log lines.")] = False,
) -> None:
    """Score every document with the given scorers; write scored/ and rejected/ Parquet and score_stats.json.

    Every input document ends up in DIR/scored/part-*.parquet (id, text, carried fields, truncated,
    scorer columns) or DIR/rejected/part-*.parquet (id, text, reason, source as file:line).

    Example: curriscale score data/train.jsonl data/extra/ --out scored/ --scorer reading_age --tasks 4 --workers 2
    """
    from curriscale.builders.score import score_corpus

    options = (
        {"partition": slurm_partition, "time": slurm_time} if executor == "slurm" and slurm_partition else {}
    )
    with resumable(lambda: _kept(out)), console.progress() as bar:
        tasks_shown: list = []  # the bar appears with the first report, not before input checks pass

        def on_progress(done: int, expected: int) -> None:
            if not tasks_shown:
                tasks_shown.append(bar.add_task("scoring documents", total=None))
            # expected is a line-count estimate; the last report sets it to the true count
            bar.update(tasks_shown[0], completed=done, total=max(expected, done))

        result = score_corpus(
            inputs,
            out,
            scorer or None,
            text_field=text_field,
            id_field=id_field,
            tasks=tasks,
            workers=workers,
            executor=executor,
            batch_size=batch_size,
            max_chars=max_chars,
            executor_options=options,
            dry_run=dry_run,
            on_progress=on_progress,
            datatrove_logs=verbose,
            txt_split=txt_split.value,
        )
    if executor == "slurm":
        what = "would submit" if result.dry_run else "submitted"
        console.info(
            f"{what} {len(result.scripts)} sbatch scripts; see {result.logging_dir}/launch_script.slurm"
        )
        return
    rejected_dir = result.path.parent / "rejected"
    reasons = ", ".join(f"{k}: {v}" for k, v in result.rejected_reasons.items()) or "none"
    if result.documents_in and not result.scored:
        raise CurriscaleError(
            f"no document could be scored: all {result.rejected:,} rejected ({reasons}); likely cause: "
            f"{_likely_cause(result.rejected_reasons)}; the rejected lines are in {rejected_dir}/"
        )
    where = f"; see {rejected_dir}/" if result.rejected else ""
    console.info(
        f"{result.documents_in} documents: {result.scored} scored, {result.rejected} rejected ({reasons}){where}"
    )
    if result.truncated:
        _warn_truncated(result.path.parent, result.truncated, max_chars, txt_split)
    if result.data["duplicate_ids"]:
        console.warning(
            f"{result.data['duplicate_ids']:,} scored documents share their id with another "
            "(the same input given twice?); ids stay as they are"
        )
    console.out.print(str(result.path))


def _likely_cause(reasons: dict[str, int]) -> str:
    """What most likely went wrong when nothing could be scored, from the commonest reason."""
    commonest = max(reasons, key=reasons.get)
    return LIKELY_CAUSES.get(
        commonest,
        "see the reasons (is the input in the format its extension says, and is --text-field right?)",
    )


def _warn_truncated(out: Path, count: int, max_chars: int, txt_split: TxtSplit) -> None:
    """Name the longest documents the scorers saw only the start of, and how to score all of them."""
    from curriscale.builders.score import longest_truncated

    longest = ", ".join(
        f"{doc_id} ({chars:,} characters, {chars - max_chars:,} cut)"
        for doc_id, chars in longest_truncated(out)
    )
    split = " split .txt files with --txt-split paragraph or line, or" if txt_split is TxtSplit.none else ""
    documents = "1 document is" if count == 1 else f"{count:,} documents are"
    console.warning(
        f"{documents} longer than --max-chars {max_chars:,} and were scored on their first "
        f"{max_chars:,} characters only: {longest}; to score all of them,{split} raise --max-chars"
    )


def _kept(out: Path) -> str:
    """What an interrupted scoring run leaves for a rerun: the parts of its finished tasks."""
    from curriscale.builders.score import finished_tasks

    finished, tasks = finished_tasks(out)
    if not tasks:
        return f"nothing was written to {out} yet"
    return f"{finished} of {tasks} scoring tasks finished and are kept in {out}"


def register(app: typer.Typer) -> None:
    """Add the `score` command to the root app."""
    app.command("score")(score)
