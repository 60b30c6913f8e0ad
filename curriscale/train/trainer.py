"""`train(TrainConfig) -> RunResult`: one resumable, deterministic training run on a manifest.

The loop is nanoGPT's: fetch a batch, set the scheduled learning rate, forward, backward, clip,
AdamW step. Around it sit the things a scaling grid needs:

- budget by tokens or FLOPs (FLOPs / model.flops_per_token);
- evaluation at `n_evals` log- or evenly spaced steps (always including the last), each followed by
  a checkpoint and a rewrite of `metrics.parquet` / `positions.parquet` (see `records.py`);
- exact resume: a rerun finds `checkpoint/` and continues from its step with the restored model,
  optimizer, RNG and data position, giving the same losses as an uninterrupted run;
- a non-finite loss stops the run with `CurriscaleError` before anything is saved, so the last
  checkpoint on disk is the last good one;
- `lr.parquet` has the learning rate of every step, for the LR-annealing scaling law;
- `done.json` marks a finished run: a rerun returns its result immediately.

Every option is checked, and the tokenizer, model, schedule, data source and eval sets are set up,
before anything is written into the run folder, so a bad option leaves no trace. A folder that
already holds a run is resumed or returned only if the new request matches the stored one, and a
growth run starts from its source run's grown checkpoint (both in `run_start.py`).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json
from curriscale.train.checkpoint import checkpoint_dir, load_checkpoint, save_checkpoint
from curriscale.train.config import RunResult, TrainConfig
from curriscale.train.data import Batches, SourceFactory, manifest_source
from curriscale.train.evaluate import EvalSet, evaluate
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.records import Records, write_lr_table
from curriscale.train.run_start import RunStart, adopt_source_run, check_rerun, grow_from_run, run_tokenizer
from curriscale.train.schedules import EXTRA_PARAMS, LRSchedule, resolve_schedule
from curriscale.train.tokenizer import save_tokenizer


def eval_steps(total_steps: int, n_evals: int, spacing: str) -> list[int]:
    """Steps (after that many updates) at which to evaluate; the last step is always one."""
    if spacing == "log":
        points = np.geomspace(max(1.0, total_steps / 64), total_steps, n_evals)
    else:
        points = np.linspace(total_steps / n_evals, total_steps, n_evals)
    return sorted({max(1, int(round(p))) for p in points} | {total_steps})


def train(
    config: TrainConfig,
    source_factory: SourceFactory = manifest_source,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run (or resume, or return the finished) training run described by `config`.

    Args:
        config: the run; see `TrainConfig`.
        source_factory: builds the token source; the default reads `config.manifest` with
            `CurriculumDataset`.
        on_progress: called with (step, total_steps) after every step (e.g. a progress bar).

    Raises:
        CurriscaleError: bad options, unreadable inputs, or a non-finite loss.
    """
    config = copy.deepcopy(config)  # filled in below (growth, schedule); the caller's stays as given
    run_dir = Path(config.out)
    config.check_inputs()
    requested = config.request()
    source_config = adopt_source_run(config) if config.init_from else None
    kind, lr_params, lr_source = resolve_schedule(
        config.lr_schedule, config.manifest, config.warmup_fraction, config.min_lr_ratio, config.lr_params
    )
    config.lr_schedule, config.warmup_fraction = kind, lr_params["warmup_fraction"]
    config.min_lr_ratio = lr_params["min_lr_ratio"]
    config.lr_params = {k: v for k, v in lr_params.items() if k in EXTRA_PARAMS}
    # The schedule the run would really use is what must match: "no --lr-schedule" and
    # "--lr-schedule cosine" are the same run when the manifest pairs none.
    lr_fields = ("lr_schedule", "warmup_fraction", "min_lr_ratio", "lr_params")
    requested.update(json.loads(json.dumps({k: getattr(config, k) for k in lr_fields})))
    check_rerun(run_dir, requested)
    if (run_dir / "done.json").is_file():
        return RunResult.load(run_dir)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    start = grow_from_run(config, source_config) if source_config is not None else None
    tokenizer, new_tokenizer = run_tokenizer(config, run_dir)
    if start is None:
        start = RunStart(
            GPT(GPTConfig.from_size(config.size, tokenizer.get_vocab_size(), config.seq_len)), config.size
        )
    model, start_tokens, start_flops = start.model, start.tokens, start.flops
    flops_per_token = model.config.flops_per_token()
    budget_tokens = config.budget_tokens or int(config.budget_flops // flops_per_token)
    tokens_per_step = config.batch_size * config.seq_len
    plan_steps = (budget_tokens - start_tokens) // tokens_per_step
    total_steps = max(1, round(config.stop_fraction * plan_steps))
    if plan_steps < 1:
        raise CurriscaleError(
            f"budget of {budget_tokens} tokens is less than one batch ({tokens_per_step} tokens)"
        )
    schedule = LRSchedule(kind, config.lr, total_steps, **lr_params)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=schedule(0),
        betas=(0.9, 0.95),
    )
    weighted = config.answer_loss_weight != 1
    batches = Batches(
        source_factory(
            config.manifest, config.seed, tokenizer, config.seq_len, budget_tokens, answer_mask=weighted
        ),
        config.batch_size,
        config.seq_len,
    )
    eval_set = EvalSet.load(config.eval_path, tokenizer, config.seq_len) if config.eval_path else None
    ood_set = EvalSet.load(config.ood_path, tokenizer, config.seq_len) if config.ood_path else None

    # Set up without error: only now is anything written into the run folder.
    run_dir.mkdir(parents=True, exist_ok=True)
    if new_tokenizer:
        save_tokenizer(tokenizer, run_dir / "tokenizer.json")
    atomic_write_json(
        run_dir / "config.json",
        {
            **config.to_dict(),
            "request": requested,
            "lr_schedule_source": lr_source,
            "size": start.size,
            **_model_record(model.config),
            **_manifest_summary(config.manifest),
            "budget_tokens": budget_tokens,
            "total_steps": total_steps,
            "start_tokens": start_tokens,
            "tokenizer": "tokenizer.json",
            "lr_schedule_params": schedule.to_dict(),
            **_eval_summary("eval", eval_set),
            **_eval_summary("ood", ood_set),
        },
    )
    # Every step's learning rate (step k = the k-th update, as in metrics.parquet): the LR-annealing
    # law sums it over all steps, and train rows are logged only every `log_every` steps.
    write_lr_table(run_dir / "lr.parquet", schedule)

    step = 0
    records = Records(run_dir)
    ckpt = checkpoint_dir(run_dir)
    if ckpt is not None:
        state = load_checkpoint(ckpt, model, optimizer)
        step = state["step"]
        batches.load_state_dict(state["sampler"])
    elif start.sampler is not None:
        batches.load_state_dict(start.sampler)
    records.truncate(step)  # rows past the checkpoint are recomputed identically

    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if config.dtype == "bfloat16"
        else contextlib.nullcontext()
    )
    # Compiling fuses the many small kernels of a small model (~2x faster steps on CPU) but costs
    # minutes of compile time up front: worth it for long grid cells, not for short runs.
    forward = torch.compile(model) if config.compile else model
    checkpoints = eval_steps(total_steps, config.n_evals, config.eval_spacing)
    loss_sum, loss_count = 0.0, 0
    model.train()
    while step < total_steps:
        batch = batches.next()
        if batch is None:
            raise CurriscaleError(f"{config.manifest}: data ran out at step {step} of {total_steps}")
        inputs, targets, answer_mask = batch
        lr = schedule(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast:
            logits = forward(inputs)
        # Flattened (tokens, vocab) logits: the (batch, vocab, time) layout costs a copy.
        nll = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none")
        loss = nll.mean()
        if not torch.isfinite(loss):
            raise CurriscaleError(
                f"{run_dir}: training loss is {loss.item()} at step {step} (lr={lr:.3g}); stopped. "
                f"The last good checkpoint is {checkpoint_dir(run_dir) or 'none (no checkpoint yet)'}"
            )
        objective = _weighted_loss(nll, answer_mask, config.answer_loss_weight) if weighted else loss
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        if on_progress:
            on_progress(step, total_steps)
        loss_sum, loss_count = loss_sum + loss.item(), loss_count + 1

        tokens = start_tokens + step * tokens_per_step
        row = {
            "step": step,
            "tokens": tokens,
            "flops": start_flops + step * tokens_per_step * float(flops_per_token),
            "lr": lr,
        }
        if step in checkpoints:
            metrics, positions = _evaluate_checked(model, eval_set, ood_set, run_dir, step)
            records.add(
                {**row, "train_loss": loss_sum / loss_count, **metrics, **batches.tier_draws()}, positions
            )
            loss_sum, loss_count = 0.0, 0
            save_checkpoint(
                run_dir,
                model,
                optimizer,
                {"step": step, "tokens": tokens, "flops": row["flops"], "sampler": batches.state_dict()},
            )
            records.write()
        elif step % config.log_every == 0:
            records.add({**row, "train_loss": loss_sum / loss_count})
            loss_sum, loss_count = 0.0, 0

    if config.export_hf:
        from curriscale.train.hf_export import export_hf

        export_hf(run_dir, run_dir / "hf")
    result = RunResult(
        str(run_dir), step, records.last("tokens"), records.last("flops"), records.final_metrics()
    )
    atomic_write_json(run_dir / "done.json", result.__dict__)
    return result


def _weighted_loss(nll: torch.Tensor, answer_mask: torch.Tensor | None, weight: float) -> torch.Tensor:
    """Mean loss with answer tokens counted `weight` times."""
    if answer_mask is None:
        raise CurriscaleError("answer_loss_weight != 1 needs a data source that marks answer tokens")
    weights = 1.0 + (weight - 1.0) * answer_mask.flatten().float()
    return (nll * weights).sum() / weights.sum()


def _evaluate_checked(
    model: GPT, eval_set: EvalSet | None, ood_set: EvalSet | None, run_dir: Path, step: int
) -> tuple[dict, np.ndarray | None]:
    """Eval (and OOD) metrics and per-position losses; stops the run on non-finite weights or loss."""
    metrics, positions = {}, None
    if eval_set is not None:
        metrics, positions = evaluate(model, eval_set)
    if ood_set is not None:
        metrics.update(evaluate(model, ood_set, prefix="ood_")[0])
    finite = all(np.isfinite(v) for k, v in metrics.items() if "loss" in k)
    if not finite or not all(torch.isfinite(p).all() for p in model.parameters()):
        raise CurriscaleError(
            f"{run_dir}: non-finite weights or eval loss at step {step}; stopped. "
            f"The last good checkpoint is {checkpoint_dir(run_dir) or 'none (no checkpoint yet)'}"
        )
    return metrics, positions


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


def _model_record(model_config: GPTConfig) -> dict:
    """The model's shape and counts, for config.json."""
    return {
        "n_params": model_config.n_params(),
        "non_embedding_params": model_config.non_embedding_params(),
        "flops_per_token": model_config.flops_per_token(),
        "model": model_config.to_dict(),
    }


def _manifest_summary(manifest: str | None) -> dict:
    """The manifest's name (the curriculum) and pacing, for config.json; empty when unreadable."""
    try:
        data = json.loads(Path(manifest).read_text())
        return {"curriculum": data.get("name"), "pacing": data.get("pacing")}
    except (OSError, TypeError, ValueError, AttributeError):
        return {"curriculum": None}
