"""`train(TrainConfig) -> RunResult`: one resumable, deterministic training run on a manifest.

The loop is nanoGPT's: set the scheduled learning rate, then for each micro-batch forward and
backward, then clip and take an AdamW step. Around it sit the things a scaling grid needs:

- budget by tokens or FLOPs (FLOPs / model.flops_per_token);
- evaluation at `n_evals` log- or evenly spaced steps (always including the last), each followed by
  a checkpoint and a rewrite of `metrics.parquet` / `positions.parquet` (see `records.py`);
- exact resume: a rerun finds `checkpoint/` and continues from its step with the restored model,
  optimizer, RNG and data position, giving the same losses as an uninterrupted run;
- a non-finite loss stops the run with `CurriscaleError` before anything is saved, so the last
  checkpoint on disk is the last good one;
- `lr.parquet` has the learning rate of every step, for the LR-annealing scaling law;
- `done.json` marks a finished run: a rerun returns its result immediately;
- any device (`device.py`) and data parallelism under torchrun (`distributed.py`): every process
  takes its shard of the one curriculum stream and `batch_size / (processes x grad_accum)` sequences
  per micro-batch, so 1 or N processes compute the same steps (up to float summation order). Only
  rank 0 evaluates and writes; the checkpoint holds every rank's data position;
- tokens/s and MFU at every logged row (`throughput.py`);
- distillation (`distill.py`): with a teacher run, each micro-batch's loss mixes in a KL term to its
  logits, and the teacher's forward pass is counted in the FLOPs.

Every option is checked, and the tokenizer, model, schedule, data source and eval sets are set up
(`setup.py`), before anything is written into the run folder, so a bad option leaves no trace. A
folder that already holds a run is resumed or returned only if the new request matches the stored
one, and a growth run starts from its source run's grown checkpoint (both in `run_start.py`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from curriscale.devices import resolve_device
from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json, remove_temporaries
from curriscale.locking import folder_lock
from curriscale.train.checkpoint import checkpoint_dir, load_checkpoint, rank_samplers, save_checkpoint
from curriscale.train.config import RunResult, TrainConfig
from curriscale.train.data import SourceFactory, manifest_source
from curriscale.train.device import autocast, configure
from curriscale.train.distributed import Distributed
from curriscale.train.evaluate import evaluate
from curriscale.train.records import Records
from curriscale.train.run_header import write_run_header
from curriscale.train.setup import Run, resolve_request, set_up
from curriscale.train.tensorboard_log import open_board
from curriscale.train.throughput import Throughput


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

    Under `torchrun`, every process calls this with the same config; they form one data-parallel run.

    Args:
        config: the run; see `TrainConfig`.
        source_factory: builds the token source; the default reads `config.manifest` with
            `CurriculumDataset`.
        on_progress: called on rank 0 with (step, total_steps) after every step (e.g. a progress bar).

    Raises:
        CurriscaleError: bad options, a device that is not there, unreadable inputs, a run that
            does not fit in memory, or a non-finite loss.
    """
    config = copy.deepcopy(config)  # filled in below (growth, schedule); the caller's stays as given
    dist = Distributed.from_environment()
    if dist.local_world_size > 1 and ":" in config.device:
        raise CurriscaleError(
            f"--device {config.device} under torchrun: each process takes its own GPU (cuda:<LOCAL_RANK>); "
            "give --device cuda and choose GPUs with CUDA_VISIBLE_DEVICES"
        )
    device = resolve_device(config.device, default_index=dist.local_rank)
    configure(device)
    request = resolve_request(config, device)
    if (Path(config.out) / "done.json").is_file():
        return RunResult.load(config.out)
    # Rank 0 alone writes the run folder, so it alone holds the folder's lock: the other ranks are
    # this same run, and a second run's rank 0 is refused.
    with folder_lock(config.out) if dist.is_main else contextlib.nullcontext():
        dist.start(device)
        try:
            run = set_up(config, request, source_factory, dist, device)
            step = _resume(run)  # a damaged or foreign checkpoint stops the run before anything is written
            dist.barrier()  # every rank has read the folder before rank 0 writes into it
            if dist.is_main:  # it holds the folder's lock: no live writer of ours is in the folder
                remove_temporaries(run.run_dir)  # what a killed run's unfinished writes left
                write_run_header(run)
            return _train_loop(run, step, on_progress)
        finally:
            dist.stop()


def _train_loop(run: Run, step: int, on_progress: Callable[[int, int], None] | None) -> RunResult:
    """Train from `step` (a restored checkpoint's, or 0) to the end of the plan; write done.json (rank 0)."""
    config, dist, model = run.config, run.dist, run.model
    records = Records(run.run_dir)
    records.truncate(step)  # rows past the checkpoint are recomputed identically
    board = open_board(run.run_dir, step) if dist.is_main else None  # TensorBoard, when installed
    forward = torch.compile(model) if config.compile else model  # ~2x faster steps, minutes to compile
    forward = dist.wrap(forward)
    checkpoints = eval_steps(run.total_steps, config.n_evals, config.eval_spacing)
    flops_per_token = run.flops_per_token  # a distillation teacher's forward pass included
    meter = Throughput(
        run.device, flops_per_token, run.peak_flops * dist.world_size, step * run.tokens_per_step
    )
    loss_sum, since_log, first_step = _zero(run.device), 0, step + 1
    model.train()
    while step < run.total_steps:
        lr = run.schedule(step)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        loss_sum += _train_step(run, forward, step)
        if run.average is not None:
            run.average.update(model)
        step, since_log = step + 1, since_log + 1
        if step == first_step:  # this process's first step (warm-up, compilation) is not timed
            meter.restart(step * run.tokens_per_step)
        if on_progress and dist.is_main:
            on_progress(step, run.total_steps)
        evaluating = step in checkpoints
        if not evaluating and step % config.log_every:
            continue
        tokens = run.start.tokens + step * run.tokens_per_step
        row = {
            "step": step,
            "tokens": tokens,
            "flops": run.start.flops + step * run.tokens_per_step * float(flops_per_token),
            "lr": lr,
            "train_loss": _mean_train_loss(run, loss_sum, since_log, step),
            **(run.teacher.log(dist, since_log) if run.teacher else {}),
            **meter.measure(step * run.tokens_per_step),
        }
        loss_sum, since_log = _zero(run.device), 0
        if evaluating:
            _evaluate_and_save(run, records, row)
            meter.resume()
        else:
            records.add(row)
        if board:
            board.add(records.rows[-1])  # the row as recorded, with eval metrics at evaluations
    if board:
        board.close()
    return _finish(run, records, step, meter)


def _zero(device: torch.device) -> torch.Tensor:
    """A loss accumulator on the device (float64 where the device has it: sums of many steps)."""
    return torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)


def _resume(run: Run) -> int:
    """Restore the newest checkpoint (or a growth run's start) on every rank; return its step."""
    folder = checkpoint_dir(run.run_dir)
    if folder is not None:
        average = run.average.model if run.average is not None else None
        state = load_checkpoint(folder, run.model, run.optimizer, average)
        samplers, step = rank_samplers(state, run.dist.world_size, folder), state["step"]
        if run.average is not None:
            run.average.updates = state["average_updates"]
    elif run.start.samplers is not None:
        samplers, step = rank_samplers({"samplers": run.start.samplers}, run.dist.world_size, run.run_dir), 0
    else:
        return 0
    run.batches.load_state_dict(samplers[run.dist.rank])
    return step


def _train_step(run: Run, forward: torch.nn.Module, step: int) -> torch.Tensor:
    """One optimizer step over `grad_accum` micro-batches; returns this rank's mean loss (detached).

    Each micro-batch's loss is divided by grad_accum, and DDP averages gradients over ranks, so the
    gradient is that of the mean loss over the global batch, as in one process with the whole batch.
    Gradients are synchronised only on the last micro-batch (DDP's `no_sync` on the others).
    """
    config, accum = run.config, run.config.grad_accum
    step_loss = _zero(run.device)
    for micro in range(accum):
        batch = run.batches.next()
        if batch is None:
            raise CurriscaleError(f"{config.manifest}: data ran out at step {step} of {run.total_steps}")
        inputs, targets, answer_mask = (None if t is None else t.to(run.device) for t in batch)
        last = micro == accum - 1
        sync = forward.no_sync() if run.dist.active and not last else contextlib.nullcontext()
        with sync:
            with autocast(run.device, config.dtype):
                logits = forward(inputs)
            # Flattened (tokens, vocab) logits: the (batch, vocab, time) layout costs a copy.
            nll = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none")
            loss = nll.mean()
            objective = (
                _weighted_loss(nll, answer_mask, config.answer_loss_weight)
                if config.answer_loss_weight != 1
                else loss
            )
            if run.teacher is not None:  # distillation: CE mixed with a KL term to the teacher
                objective = run.teacher.objective(objective, logits, inputs, accum)
            (objective / accum).backward()
        step_loss += loss.detach() / accum
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip)
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    return step_loss


def _weighted_loss(nll: torch.Tensor, answer_mask: torch.Tensor | None, weight: float) -> torch.Tensor:
    """Mean loss with answer tokens counted `weight` times (normalised per micro-batch)."""
    if answer_mask is None:
        raise CurriscaleError("answer_loss_weight != 1 needs a data source that marks answer tokens")
    weights = 1.0 + (weight - 1.0) * answer_mask.flatten().float()
    return (nll * weights).sum() / weights.sum()


def _mean_train_loss(run: Run, loss_sum: torch.Tensor, steps: int, step: int) -> float:
    """The mean training loss of the last `steps` steps over all ranks; stops the run if not finite.

    Checked at log rows rather than every step (a per-step check would wait for the GPU each step);
    no checkpoint is written after a bad step, so the last one on disk is the last good one.
    """
    loss = run.dist.sum(loss_sum.clone()).item() / (steps * run.dist.world_size)
    if not np.isfinite(loss):
        raise CurriscaleError(
            f"{run.run_dir}: training loss is {loss} by step {step} (lr={run.schedule(step - 1):.3g}); "
            f"stopped. The last good checkpoint is {checkpoint_dir(run.run_dir) or 'none (no checkpoint yet)'}"
        )
    return loss


def _evaluate_and_save(run: Run, records: Records, row: dict) -> None:
    """Rank 0 evaluates and records; every rank hands its data position to the checkpoint."""
    error, failure = None, None
    if run.dist.is_main:
        try:
            metrics, positions = _evaluate_checked(run, row["step"])
            records.add({**row, **metrics, **run.batches.tier_draws()}, positions)
        except Exception as caught:  # noqa: BLE001 - any failure (e.g. out of memory) must reach every rank
            failure, error = caught, str(caught) if isinstance(caught, CurriscaleError) else repr(caught)
    error = run.dist.broadcast(error)  # the other ranks stop too, instead of waiting forever
    if failure is not None:
        raise failure
    if error is not None:
        raise CurriscaleError(f"{run.run_dir}: rank 0 failed while evaluating: {error}")
    samplers = run.dist.gather(run.batches.state_dict())
    if run.dist.is_main:
        # Tables first: a kill between the two leaves rows past the checkpoint, which a resume drops
        # and recomputes; the other order would leave a checkpoint whose rows were never written.
        records.write()
        state = {"step": row["step"], "tokens": row["tokens"], "flops": row["flops"], "samplers": samplers}
        average = None
        if run.average is not None:
            state["average_updates"], average = run.average.updates, run.average.model
        save_checkpoint(run.run_dir, run.model, run.optimizer, state, average)


def _evaluate_checked(run: Run, step: int) -> tuple[dict, np.ndarray | None]:
    """Eval (and OOD) metrics and per-position losses; stops the run on non-finite weights or loss."""
    metrics, positions = _evaluate_model(run, run.model)
    if run.average is not None:
        metrics.update(_evaluate_model(run, run.average.model, prefix="ema_")[0])
    finite = all(np.isfinite(v) for k, v in metrics.items() if "loss" in k)
    if not finite or not all(torch.isfinite(p).all() for p in run.model.parameters()):
        raise CurriscaleError(
            f"{run.run_dir}: non-finite weights or eval loss at step {step}; stopped. "
            f"The last good checkpoint is {checkpoint_dir(run.run_dir) or 'none (no checkpoint yet)'}"
        )
    return metrics, positions


def _evaluate_model(run: Run, model: torch.nn.Module, prefix: str = "") -> tuple[dict, np.ndarray | None]:
    """One model's eval and OOD metrics (names prefixed with `prefix`) and per-position eval losses."""
    metrics, positions = {}, None
    with autocast(run.device, run.config.dtype):
        if run.eval_set is not None:
            metrics, positions = evaluate(model, run.eval_set, prefix=prefix)
        if run.ood_set is not None:
            metrics.update(evaluate(model, run.ood_set, prefix=f"{prefix}ood_")[0])
    return metrics, positions


def _finish(run: Run, records: Records, step: int, meter: Throughput) -> RunResult:
    """Rank 0 exports and writes done.json; the other ranks wait for it and read it back."""
    if run.dist.is_main:
        if run.config.export_hf:
            from curriscale.train.hf_export import export_hf

            export_hf(run.run_dir, run.run_dir / "hf")
        result = RunResult(
            str(run.run_dir), step, records.last("tokens"), records.last("flops"), records.final_metrics(),
            meter.summary(),
        )  # fmt: skip
        atomic_write_json(run.run_dir / "done.json", result.__dict__)
    run.dist.barrier()
    return result if run.dist.is_main else RunResult.load(run.run_dir)
