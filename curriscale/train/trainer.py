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
already holds a run (config.json) is resumed or returned only if the new request matches the one
stored there (`request` in config.json); otherwise the run stops naming the differing fields.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_write_json
from curriscale.train.checkpoint import checkpoint_dir, load_checkpoint, load_weights, save_checkpoint
from curriscale.train.config import PATH_FIELDS, RunResult, TrainConfig, config_differences
from curriscale.train.data import Batches, SourceFactory, manifest_source
from curriscale.train.evaluate import EvalSet, evaluate
from curriscale.train.growth import grow_model
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.records import Records, write_lr_table
from curriscale.train.schedules import EXTRA_PARAMS, LRSchedule, resolve_schedule
from curriscale.train.tokenizer import load_tokenizer, save_tokenizer, tokenizer_from_spec


def eval_steps(total_steps: int, n_evals: int, spacing: str) -> list[int]:
    """Steps (after that many updates) at which to evaluate; the last step is always one."""
    if spacing == "log":
        points = np.geomspace(max(1.0, total_steps / 64), total_steps, n_evals)
    else:
        points = np.linspace(total_steps / n_evals, total_steps, n_evals)
    return sorted({max(1, int(round(p))) for p in points} | {total_steps})


def _run_tokenizer(config: TrainConfig, run_dir: Path) -> tuple[Tokenizer, bool]:
    """The run's tokenizer, and whether it is new (to be saved into the run folder).

    A run being resumed (its config.json matched the request) reads its own copy, so it continues
    with the same ids; anything else left in a folder without a run is not trusted.
    """
    own = run_dir / "tokenizer.json"
    if (run_dir / "config.json").is_file() and own.is_file():
        return load_tokenizer(own), False
    return tokenizer_from_spec(config.tokenizer or "bytes", [config.manifest]), True


@dataclass
class _Start:
    """Where a run starts: a fresh model at token 0, or a grown one where its source run stopped."""

    model: GPT
    size: str
    tokens: int = 0
    flops: float = 0.0
    sampler: dict | None = None


def _adopt_source_run(config: TrainConfig) -> dict:
    """For a growth run: check the source run; adopt its manifest, token plan, context and tokenizer.

    `config` is updated in place so config.json records what the grown run really uses. Returns the
    source run's config.json.
    """
    source = Path(config.init_from)
    if not (source / "config.json").is_file() or checkpoint_dir(source) is None:
        raise CurriscaleError(f"--init-from {source}: not a run directory with config.json and a checkpoint")
    source_config = json.loads((source / "config.json").read_text())
    config.manifest = config.manifest or source_config["manifest"]
    config.budget_tokens, config.budget_flops = source_config["budget_tokens"], None
    config.seq_len = source_config["seq_len"]  # the data position is counted in these sequences
    config.tokenizer = str(source / "tokenizer.json")
    return source_config


def _grow_from_run(config: TrainConfig, source_config: dict) -> _Start:
    """Grow the source run's newest checkpoint (see `_adopt_source_run`)."""
    folder = checkpoint_dir(Path(config.init_from))
    small = GPT(GPTConfig(**source_config["model"]))
    load_weights(folder, small)
    state = torch.load(folder / "state.pt", weights_only=True)
    model = grow_model(small, config.grow, seed=config.seed)
    size = f"{source_config['size']}+{config.grow}"
    return _Start(model, size, state["tokens"], state["flops"], state["sampler"])


def _stored_request(stored: dict, requested: dict) -> dict:
    """The request a run folder's config.json records, to compare a rerun's request with.

    A config.json written before the request was stored has the request as its top-level fields,
    except the ones the run derived: the tokenizer (its copy), a grown run's adopted plan and a
    FLOPs budget's token count. Those are not compared; paths are made absolute as in a request.
    """
    if "request" in stored:
        return stored["request"]
    derived = {"tokenizer"}
    if requested.get("init_from") is not None:
        derived |= {"size", "manifest", "seq_len", "budget_tokens", "budget_flops"}
    if requested.get("budget_flops") is not None:
        derived.add("budget_tokens")
    legacy = {k: stored[k] for k in requested if k in stored and k not in derived}
    for key in PATH_FIELDS:
        if legacy.get(key) is not None:
            legacy[key] = str(Path(legacy[key]).resolve())
    return {**{k: requested[k] for k in derived if k in requested}, **legacy}


def _check_rerun(run_dir: Path, requested: dict) -> None:
    """Refuse a run folder that holds a run with another config (see the module docstring)."""
    path = run_dir / "config.json"
    if not path.is_file():
        return
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CurriscaleError(f"{path}: unreadable ({error}); use another --out") from error
    changed = config_differences(_stored_request(stored, requested), requested)
    if changed:
        raise CurriscaleError(
            f"{run_dir} holds a run with a different config ({', '.join(changed)}); use another --out"
        )


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
    source_config = _adopt_source_run(config) if config.init_from else None
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
    _check_rerun(run_dir, requested)
    if (run_dir / "done.json").is_file():
        return RunResult.load(run_dir)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    start = _grow_from_run(config, source_config) if source_config is not None else None
    tokenizer, new_tokenizer = _run_tokenizer(config, run_dir)
    if start is None:
        start = _Start(
            GPT(GPTConfig.from_size(config.size, tokenizer.get_vocab_size(), config.seq_len)), config.size
        )
    model, start_tokens, start_flops = start.model, start.tokens, start.flops
    model_config = model.config
    flops_per_token = model_config.flops_per_token()
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
            "n_params": model_config.n_params(),
            "non_embedding_params": model_config.non_embedding_params(),
            "flops_per_token": flops_per_token,
            "model": model_config.to_dict(),
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
            metrics, positions = _evaluate_all(model, eval_set, ood_set)
            finite = all(np.isfinite(v) for k, v in metrics.items() if "loss" in k)
            if not finite or not all(torch.isfinite(p).all() for p in model.parameters()):
                raise CurriscaleError(
                    f"{run_dir}: non-finite weights or eval loss at step {step}; stopped. "
                    f"The last good checkpoint is {checkpoint_dir(run_dir) or 'none (no checkpoint yet)'}"
                )
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


def _evaluate_all(
    model: GPT, eval_set: EvalSet | None, ood_set: EvalSet | None
) -> tuple[dict, np.ndarray | None]:
    metrics, positions = {}, None
    if eval_set is not None:
        metrics, positions = evaluate(model, eval_set)
    if ood_set is not None:
        metrics.update(evaluate(model, ood_set, prefix="ood_")[0])
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


def _manifest_summary(manifest: str | None) -> dict:
    """The manifest's name (the curriculum) and pacing, for config.json; empty when unreadable."""
    try:
        data = json.loads(Path(manifest).read_text())
        return {"curriculum": data.get("name"), "pacing": data.get("pacing")}
    except (OSError, TypeError, ValueError, AttributeError):
        return {"curriculum": None}
