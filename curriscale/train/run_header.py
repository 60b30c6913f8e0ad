"""The run folder's header, written by rank 0 once set-up has succeeded: tokenizer, config.json, lr.parquet.

config.json holds the request as given and as resolved, the model's shape and counts, the plan
(budget, steps, batch split), the eval sets' question counts and chance accuracies, and where the
run executes (device, world size, memory estimate, the peak FLOP/s its MFU is measured against).
"""

from __future__ import annotations

import json
from pathlib import Path

from curriscale.io import atomic_write_json
from curriscale.run_format import run_marker
from curriscale.train import device as devices
from curriscale.train.evaluate import EvalSet
from curriscale.train.records import write_lr_table
from curriscale.train.setup import Run
from curriscale.train.tokenizer import save_tokenizer


def write_run_header(run: Run) -> None:
    """Rank 0: the tokenizer copy, config.json and lr.parquet, written once set-up has succeeded."""
    config, run_dir, model_config = run.config, run.run_dir, run.model.config
    run_dir.mkdir(parents=True, exist_ok=True)
    if run.new_tokenizer:
        save_tokenizer(run.tokenizer, run_dir / "tokenizer.json")
    atomic_write_json(
        run_dir / "config.json",
        {
            **run_marker(),
            **config.to_dict(),
            "request": run.request,
            "lr_schedule_source": run.lr_source,
            "size": run.start.size,
            "n_params": model_config.n_params(),
            "non_embedding_params": model_config.non_embedding_params(),
            "flops_per_token": model_config.flops_per_token(),
            "model": model_config.to_dict(),
            **_manifest_summary(config.manifest),
            "budget_tokens": run.budget_tokens,
            "total_steps": run.total_steps,
            "start_tokens": run.start.tokens,
            "tokenizer": "tokenizer.json",
            "lr_schedule_params": run.schedule.to_dict(),
            **_eval_summary("eval", run.eval_set),
            **_eval_summary("ood", run.ood_set),
            **_execution_summary(run),
            **({"distill_teacher": run.teacher.record()} if run.teacher else {}),
        },
    )
    # Every step's learning rate (step k = the k-th update, as in metrics.parquet): the LR-annealing
    # law sums it over all steps, and train rows are logged only every `log_every` steps.
    write_lr_table(run_dir / "lr.parquet", run.schedule)


def _execution_summary(run: Run) -> dict:
    """Where and how the run executes: device, processes, batch split, memory, the MFU's peak."""
    return {
        "device": str(run.device),
        "device_name": devices.device_name(run.device),
        "world_size": run.dist.world_size,
        "global_batch_sequences": run.config.batch_size,
        "global_batch_tokens": run.tokens_per_step,
        "micro_batch": run.micro_batch,
        "memory_estimate_bytes": run.memory.to_dict(),
        "peak_flops": run.peak_flops * run.dist.world_size,
        "peak_flops_per_device": run.peak_flops,
        "peak_flops_source": run.peak_source,
    }


def _eval_summary(prefix: str, eval_set: EvalSet | None) -> dict:
    """config.json's facts about an eval set: question counts and each level's chance accuracy.

    `<prefix>_questions_cut` counts questions longer than seq_len, which have no accuracy (a non-zero
    count means a bigger seq_len or a BPE tokenizer is needed to measure every level).
    `<prefix>_chance_accuracy` maps each level (as in `accuracy_level_<k>`) to the accuracy of always
    giving that level's most frequent answer: the baseline an accuracy has to beat.
    """
    if eval_set is None:
        return {f"{prefix}_questions": 0, f"{prefix}_questions_cut": 0, f"{prefix}_chance_accuracy": {}}
    return {
        f"{prefix}_questions": eval_set.questions,
        f"{prefix}_questions_cut": eval_set.questions_cut,
        f"{prefix}_chance_accuracy": eval_set.chance_accuracy,
    }


def _manifest_summary(manifest: str | None) -> dict:
    """The manifest's name (the curriculum) and pacing, for config.json; empty when unreadable."""
    try:
        data = json.loads(Path(manifest).read_text())
        return {"curriculum": data.get("name"), "pacing": data.get("pacing")}
    except (OSError, TypeError, ValueError, AttributeError):
        return {"curriculum": None}
