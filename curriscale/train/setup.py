"""Everything a training run needs before its first step, checked and built without writing anything.

`resolve_request` settles what the run computes (the LR schedule from the option or the manifest,
the dtype for the device) and refuses a folder holding another run; `set_up` then builds the
tokenizer, model, optimizer, data source and eval sets, and checks the batch split and the memory
estimate. Only when all of that succeeded does `run_header.write_run_header` (rank 0) write into the
run folder, so a bad option leaves no trace.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from curriscale.devices import resolve_device
from curriscale.errors import CurriscaleError
from curriscale.train import device as devices
from curriscale.train.averaging import WeightAverage
from curriscale.train.checkpoint import checkpoint_dir, load_state, rank_samplers
from curriscale.train.config import TrainConfig
from curriscale.train.data import Batches, SourceFactory
from curriscale.train.distill import Teacher, TeacherRun, read_teacher, teacher_memory
from curriscale.train.distributed import Distributed
from curriscale.train.evaluate import EvalSet
from curriscale.train.growth import grown_config
from curriscale.train.memory import GIB, MemoryEstimate, estimate_memory
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.run_start import RunStart, adopt_source_run, check_rerun, grow_from_run, run_tokenizer
from curriscale.train.schedules import EXTRA_PARAMS, LRSchedule, resolve_schedule


@dataclass
class Run:
    """A run ready to train: its parts and its plan (steps, batch split, device, throughput peak)."""

    config: TrainConfig
    run_dir: Path
    dist: Distributed
    device: torch.device
    request: dict[str, Any]
    lr_source: str
    tokenizer: Tokenizer
    new_tokenizer: bool  # built from its spec, not read from the folder: saved with the header
    start: RunStart
    budget_tokens: int
    total_steps: int
    micro_batch: int
    schedule: LRSchedule
    optimizer: torch.optim.Optimizer
    batches: Batches
    eval_set: EvalSet | None
    ood_set: EvalSet | None
    memory: MemoryEstimate
    average: WeightAverage | None  # the EMA of the weights, kept by rank 0 (it evaluates)
    peak_flops: float
    peak_source: str
    teacher: Teacher | None = None  # a distillation teacher (`distill.py`)

    @property
    def model(self) -> GPT:
        return self.start.model

    @property
    def flops_per_token(self) -> int:
        """FLOPs per training token: the model's, plus a distillation teacher's forward pass."""
        return _flops_per_token(self.model.config, self.teacher.run if self.teacher else None)

    @property
    def tokens_per_step(self) -> int:
        return self.config.batch_size * self.config.seq_len


@dataclass
class Request:
    """What a run computes, as stored in config.json and compared on a rerun, and where it came from."""

    fields: dict[str, Any]
    lr_source: str  # "option", "manifest" or "default"
    source_config: dict | None  # a growth run's source run config.json
    teacher: TeacherRun | None = None  # a distillation teacher


def resolve_request(config: TrainConfig, device: torch.device) -> Request:
    """Fill in `config`'s source run (growth), LR schedule and dtype; return the run's `Request`.

    The schedule and dtype the run would really use are what must match on a rerun: "no
    --lr-schedule" and "--lr-schedule cosine" are the same run when the manifest pairs none.

    Raises:
        CurriscaleError: a missing input, or a folder holding a run with another request.
    """
    config.check_inputs()
    requested = config.request()
    source_config = adopt_source_run(config) if config.init_from else None
    teacher = read_teacher(config) if config.distill_from else None
    kind, lr_params, lr_source = resolve_schedule(
        config.lr_schedule, config.manifest, config.warmup_fraction, config.min_lr_ratio, config.lr_params
    )
    config.lr_schedule, config.warmup_fraction = kind, lr_params["warmup_fraction"]
    config.min_lr_ratio = lr_params["min_lr_ratio"]
    config.lr_params = {k: v for k, v in lr_params.items() if k in EXTRA_PARAMS}
    config.dtype = devices.resolve_dtype(config.dtype, device)
    resolved = ("lr_schedule", "warmup_fraction", "min_lr_ratio", "lr_params", "dtype")
    requested.update(json.loads(json.dumps({k: getattr(config, k) for k in resolved})))
    check_rerun(Path(config.out), requested)
    return Request(requested, lr_source, source_config, teacher)


def set_up(
    config: TrainConfig,
    request: Request,
    source_factory: SourceFactory,
    dist: Distributed,
    device: torch.device,
) -> Run:
    """Build the run's parts on `device` (see the module docstring); nothing is written."""
    run_dir = Path(config.out)
    micro_batch = _micro_batch(config, dist.world_size)
    checkpoint = checkpoint_dir(run_dir)
    if checkpoint is not None:  # a resume: on as many processes as wrote it (checked before writing)
        rank_samplers(load_state(checkpoint), dist.world_size, checkpoint)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    tokenizer, new_tokenizer = _shared_tokenizer(config, run_dir, dist)
    teacher = Teacher(request.teacher, config, tokenizer, device) if request.teacher else None
    if request.source_config is not None:
        start = grow_from_run(config, request.source_config)
        memory = _check_memory(start.model.config, micro_batch, config, dist, device)
    else:
        shape = GPTConfig.from_size(config.size, tokenizer.get_vocab_size(), config.seq_len)
        # before allocating the model
        memory = _check_memory(shape, micro_batch, config, dist, device, request.teacher)
        model = GPT(shape)
        start = request.teacher.start(config, model) if request.teacher else RunStart(model, config.size)
    start.model.to(device)
    flops_per_token = _flops_per_token(start.model.config, request.teacher)
    budget_tokens, total_steps = _plan(config, flops_per_token, start.tokens)
    lr_params = {"warmup_fraction": config.warmup_fraction, "min_lr_ratio": config.min_lr_ratio}
    schedule = LRSchedule(config.lr_schedule, config.lr, total_steps, **lr_params, **config.lr_params)
    source = source_factory(
        config.manifest,
        config.seed,
        tokenizer,
        config.seq_len,
        budget_tokens,
        answer_mask=config.answer_loss_weight != 1,
        token_cache=config.token_cache,
    )
    evals = [
        EvalSet.load(p, tokenizer, config.seq_len) if p else None for p in (config.eval_path, config.ood_path)
    ]
    peak, peak_source = devices.peak_flops(device, config.dtype)
    return Run(
        config=config,
        run_dir=run_dir,
        dist=dist,
        device=device,
        request=request.fields,
        lr_source=request.lr_source,
        tokenizer=tokenizer,
        new_tokenizer=new_tokenizer,
        start=start,
        budget_tokens=budget_tokens,
        total_steps=total_steps,
        micro_batch=micro_batch,
        schedule=schedule,
        optimizer=_optimizer(start.model, config, schedule, device),
        batches=Batches(source, micro_batch, config.seq_len),
        eval_set=evals[0],
        ood_set=evals[1],
        memory=memory,
        average=WeightAverage(start.model, config.ema_decay) if config.ema_decay and dist.is_main else None,
        peak_flops=peak,
        peak_source=peak_source,
        teacher=teacher,
    )


def describe_run(config: TrainConfig) -> dict[str, Any]:
    """What `train(config)` would do (shape, counts, steps, batch split, memory), without building
    the model or writing anything: `curriscale train --dry-run`.

    Raises:
        CurriscaleError: as `train` would before its first step (a bad option, a missing device,
            a batch the processes do not divide); a run that does not fit is described, not refused.
    """
    config = copy.deepcopy(config)
    dist = Distributed.from_environment()
    device = resolve_device(config.device, default_index=dist.local_rank)
    request = resolve_request(config, device)
    vocab_size = run_tokenizer(config, Path(config.out))[0].get_vocab_size()
    if request.source_config is not None:
        shape = grown_config(GPTConfig(**request.source_config["model"]), config.grow)
    else:
        shape = GPTConfig.from_size(config.size, vocab_size, config.seq_len)
    micro_batch = _micro_batch(config, dist.world_size)
    flops_per_token = _flops_per_token(shape, request.teacher)
    start_tokens = request.teacher.start_tokens if request.teacher else 0
    budget, steps = _plan(config, flops_per_token, start_tokens)
    memory, sharing, free = _memory_need(shape, micro_batch, config, dist, device, request.teacher)
    return {
        "size": config.size,
        "model": shape.to_dict(),
        "n_params": shape.n_params(),
        "non_embedding_params": shape.non_embedding_params(),
        "flops_per_token": flops_per_token,
        **({"teacher": _teacher_line(request.teacher)} if request.teacher else {}),
        "budget_tokens": budget,
        "steps": steps,
        "batch": f"{config.batch_size} sequences = {dist.world_size} process(es) x {config.grad_accum} "
        f"micro-batch(es) x {micro_batch}",
        "device": str(device),
        "dtype": config.dtype,
        "memory_estimate": memory.summary(),
        "free_memory": f"{free / GIB:.2f} GiB",
        "fits": memory.total * sharing <= free,
    }


def _teacher_line(teacher: TeacherRun) -> str:
    """A distillation teacher as `--dry-run` shows it."""
    start = f"continuing its plan from token {teacher.start_tokens}" if teacher.continues else "from token 0"
    return (
        f"{teacher.path} ({teacher.config['size']}, step {teacher.state['step']}), {start}; flops_per_token "
        f"includes its forward pass ({teacher.shape.forward_flops_per_token()})"
    )


def _flops_per_token(shape: GPTConfig, teacher: TeacherRun | None) -> int:
    """FLOPs per training token: the model's (`GPTConfig.flops_per_token`) plus a teacher's forward."""
    return shape.flops_per_token() + (teacher.shape.forward_flops_per_token() if teacher else 0)


def _plan(config: TrainConfig, flops_per_token: int, start_tokens: int) -> tuple[int, int]:
    """(budget in tokens, optimizer steps of this run) from the token or FLOP budget."""
    budget_tokens = config.budget_tokens or int(config.budget_flops // flops_per_token)
    tokens_per_step = config.batch_size * config.seq_len
    plan_steps = (budget_tokens - start_tokens) // tokens_per_step
    if plan_steps < 1:
        raise CurriscaleError(
            f"budget of {budget_tokens} tokens is less than one batch ({tokens_per_step} tokens)"
        )
    return budget_tokens, max(1, round(config.stop_fraction * plan_steps))


def _micro_batch(config: TrainConfig, world_size: int) -> int:
    """Sequences per forward pass and process: the global batch split over processes and micro-steps."""
    parts = world_size * config.grad_accum
    if config.batch_size % parts:
        raise CurriscaleError(
            f"--batch-size {config.batch_size} (the global batch, sequences per step) is not divisible by "
            f"{world_size} process(es) x --grad-accum {config.grad_accum}; choose a multiple of {parts}"
        )
    return config.batch_size // parts


def _shared_tokenizer(config: TrainConfig, run_dir: Path, dist: Distributed) -> tuple[Tokenizer, bool]:
    """The run's tokenizer and whether it is new, built by rank 0 and handed to the others (a BPE
    trains once); only rank 0 saves it."""
    tokenizer, new = run_tokenizer(config, run_dir) if dist.is_main else (None, False)
    text = dist.broadcast(tokenizer.to_str() if tokenizer is not None else None)
    return (tokenizer, new) if tokenizer is not None else (Tokenizer.from_str(text), False)


def _check_memory(
    shape: GPTConfig,
    micro_batch: int,
    config: TrainConfig,
    dist: Distributed,
    device: torch.device,
    teacher: TeacherRun | None = None,
) -> MemoryEstimate:
    """The memory estimate for this process; refuse the run when it exceeds the device's free memory.

    On a CPU every process of this machine draws on the same memory, so the estimate counts once
    per local process (torchrun's LOCAL_WORLD_SIZE).
    """
    estimate, sharing, free = _memory_need(shape, micro_batch, config, dist, device, teacher)
    if estimate.total * sharing > free:
        per = f" x {sharing} processes" if sharing > 1 else ""
        raise CurriscaleError(
            f"size {config.size} with {micro_batch} x {config.seq_len} tokens per micro-batch needs about "
            f"{estimate.summary()}{per}, but {device} has {free / GIB:.2f} GiB free; lower --batch-size, "
            "keep the global batch with --grad-accum, or use a bigger device"
        )
    return estimate


def _memory_need(
    shape: GPTConfig,
    micro_batch: int,
    config: TrainConfig,
    dist: Distributed,
    device: torch.device,
    teacher: TeacherRun | None = None,
) -> tuple[MemoryEstimate, int, int]:
    """(this process's estimate, processes sharing the memory, free bytes on the device); a
    distillation teacher's weights and logits count as `extra`."""
    averaged = config.ema_decay is not None and dist.is_main
    estimate = estimate_memory(shape, micro_batch, config.dtype, dist.world_size, averaged)
    if teacher is not None:
        taught = teacher_memory(teacher.shape, micro_batch, config.dtype, shape.seq_len)
        estimate = replace(estimate, extra=estimate.extra + taught)
    sharing = dist.local_world_size if device.type == "cpu" else 1
    return estimate, sharing, devices.free_memory(device)


def _optimizer(model: GPT, config: TrainConfig, schedule: LRSchedule, device: torch.device):
    """AdamW with weight decay on matrices only; the fused CUDA kernel where torch has it."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # CPU keeps the default (foreach) kernel: its numbers are the reference the tests pin down.
    fused = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=schedule(0), betas=(0.9, 0.95), **fused)
