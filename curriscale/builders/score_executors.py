"""Where the scoring pipeline runs: datatrove's local, Ray or Slurm executor, plus progress.

Local and Ray run to completion here; Slurm submits a job array for the scoring tasks and a
dependent one-task job that runs `finalize_scoring` when they all succeeded. A Slurm dry run
writes everything datatrove would (pickled executor, `launch_script.slurm`, `ranks_to_run.json`)
and records the sbatch calls instead of making them.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from curriscale.errors import CurriscaleError


@dataclass
class SlurmSubmission:
    """What the Slurm executor submitted (or, in a dry run, would submit): scripts and sbatch args."""

    logging_dir: Path
    scripts: list[str]
    sbatch_args: list[list[str]]
    dry_run: bool


def run_here(executor: str, pipeline: list, logs: Path, tasks: int, workers: int, options: dict) -> None:
    """Run the pipeline to completion on this machine (local processes or a Ray cluster)."""
    if executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        LocalPipelineExecutor(
            pipeline, tasks=tasks, workers=min(workers, tasks), logging_dir=str(logs), **options
        ).run()
        return
    from datatrove.executor.ray import RayPipelineExecutor

    concurrency = workers if workers > 1 else -1
    RayPipelineExecutor(pipeline, tasks=tasks, workers=concurrency, logging_dir=str(logs), **options).run()


def submit_slurm(
    pipeline: list, finalize: Callable, logs: Path, tasks: int, workers: int, options: dict, dry_run: bool
) -> SlurmSubmission:
    """Submit the scoring job array plus a dependent single-task job running `finalize` (a pipeline step)."""
    from datatrove.executor.slurm import SlurmPipelineExecutor

    if "partition" not in options:
        raise CurriscaleError("the slurm executor needs a partition (--slurm-partition or executor_options)")
    options = {"time": "24:00:00", "job_name": "curriscale-score", **options}
    if "venv_path" not in options and "env_command" not in options and sys.prefix != sys.base_prefix:
        options["venv_path"] = str(Path(sys.prefix) / "bin" / "activate")  # the job runs in this same venv
    concurrency = workers if workers > 1 else -1
    score_job = SlurmPipelineExecutor(
        pipeline, tasks=tasks, workers=concurrency, logging_dir=str(logs), **options
    )
    final_options = {**options, "job_name": f"{options['job_name']}-finalize", "cpus_per_task": 1}
    final_job = SlurmPipelineExecutor(
        [finalize], tasks=1, depends=score_job, logging_dir=str(logs / "finalize"), **final_options
    )
    scripts: list[str] = []
    sbatch_args: list[list[str]] = []

    def record(contents: str, _retriever, *args: str) -> str:
        scripts.append(contents)
        sbatch_args.append(list(args))
        return str(len(scripts))  # a stand-in job id, so dependencies still read sensibly

    if dry_run:
        with mock.patch("datatrove.executor.slurm.launch_slurm_job", record):
            final_job.run()
    else:
        final_job.run()
        for executor in (score_job, final_job):
            scripts.append((Path(executor.logging_dir.path) / "launch_script.slurm").read_text())
    return SlurmSubmission(logs, scripts, sbatch_args, dry_run)


class ProgressPoller:
    """Report documents done by polling the tasks' progress/count files from a background thread."""

    def __init__(self, counts_dir: Path, expected: int, callback: Callable[[int, int], None] | None):
        self.counts_dir, self.expected, self.callback = counts_dir, expected, callback
        self.stop = threading.Event()

    def poll(self) -> int:
        done = 0
        for path in self.counts_dir.glob("*.progress"):
            try:
                done += int(path.read_text() or 0)
            except (OSError, ValueError):  # a task is rewriting or removing it right now
                pass
        for path in self.counts_dir.glob("*.json"):
            try:
                done += json.loads(path.read_text())["documents_in"]
            except (OSError, ValueError, KeyError):
                pass
        return done

    def _loop(self) -> None:
        while not self.stop.wait(0.5):
            self.callback(self.poll(), self.expected)

    def __enter__(self) -> ProgressPoller:
        if self.callback:
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, error_type, *exc) -> None:
        if self.callback:
            self.stop.set()
            self.thread.join()
            done = self.poll()
            # The estimate was only an estimate: a finished run ends the bar at the true count; an
            # interrupted or failed one leaves it where it stopped.
            self.callback(done, done if error_type is None else max(self.expected, done))
