"""Grow by distillation: a fresh larger model learns the rest of the curriculum from a trained small one.

The syllabus idea's second half ("start small on easy text, then add layers, or distil the small
model into a larger one"). `growth.py` grows the trained model itself; here the larger model starts
fresh and the small one teaches it. `TrainConfig.distill_from` names a finished run whose final
weights become a frozen teacher, and each micro-batch's loss becomes

    (1 - w) * CE + w * T^2 * KL(p_teacher || p_student),   p = softmax(logits / T)

(Hinton et al. 2015; w = `distill_weight`, T = `distill_temperature`). The direction is the
forward KL, teacher first: its gradient on the student's logits is (p_student - p_teacher) / T,
that of a cross-entropy with the teacher's soft targets, so the student learns to put mass wherever
the teacher does (mass covering). The reverse KL would pull the student onto the teacher's modes,
which suits sampling from a strong teacher, not learning the hedged beliefs of a smaller one that
the student should outgrow. T^2 keeps the soft term's gradient scale independent of T, so `w`
weighs the two terms alike at every temperature. CE keeps its own form (answer weighting included).

Plan: without a budget of its own, the student continues the teacher run's plan where it stopped:
its manifest, token budget, context, tokenizer and data position (`run_start.adopt_plan`), as a
depth-grown model would, so "grown by depth" and "grown by distillation" see the same tokens. With a
budget, the student trains on its own manifest from token 0 (classic distillation); the teacher must
then share its tokenizer and cover its context.

Compute: each student token also costs the teacher's forward pass, 2 N_teacher + attention
(`GPTConfig.forward_flops_per_token`, a third of a training token). The `flops` column, a FLOPs
budget and MFU count it, and a continuing run starts from the teacher run's FLOPs, so its `flops`
is the whole plan's cost, comparable with fresh or depth-grown runs (the grid's equal-compute budget
counts it too: `grid_plan._budget`). A student with its own budget does not count the teacher's
training, which it did not pay for.

The teacher is the finished run's newest checkpoint (`model.safetensors`, never unpickled), in eval
mode without gradients, on the student's device and under its autocast dtype. Every process of a
data-parallel run loads its own copy (never trained, it needs no synchronisation). config.json
records it (`distill_teacher`: folder, size, parameters, checkpoint step, T, w); a resumed student
reloads it and checks that it is the recorded checkpoint, so resuming reproduces the same losses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from curriscale.errors import CurriscaleError
from curriscale.train.checkpoint import checkpoint_dir, load_state, load_weights
from curriscale.train.config import TrainConfig
from curriscale.train.device import autocast
from curriscale.train.distributed import Distributed
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.run_start import RunStart, adopt_plan
from curriscale.train.tokenizer import load_tokenizer


def distill_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KL(p_teacher || p_student) of the distributions softened by `temperature`, summed over the
    vocabulary and averaged over tokens (float32; logits are (..., vocab))."""
    student = F.log_softmax(student_logits.float().flatten(0, -2) / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float().flatten(0, -2) / temperature, dim=-1)
    # kl_div(input, target) is sum target * (log target - input): the teacher is the target.
    return F.kl_div(student, teacher, reduction="batchmean", log_target=True)


@dataclass
class TeacherRun:
    """A finished run read as a teacher: its folder, config.json, newest checkpoint and that
    checkpoint's state; `continues`: the student continues this run's plan."""

    path: Path
    config: dict[str, Any]
    checkpoint: Path
    state: dict[str, Any]
    continues: bool

    @property
    def shape(self) -> GPTConfig:
        return GPTConfig(**self.config["model"])

    @property
    def start_tokens(self) -> int:
        """The student's first token: where this run stopped when it continues the plan, else 0."""
        return self.state["tokens"] if self.continues else 0

    def start(self, config: TrainConfig, model: GPT) -> RunStart:
        """Where the student starts: where this run stopped (continuing), else at token 0."""
        size = f"{self.config['size']}+distill-{config.size}"
        if not self.continues:
            return RunStart(model, size)
        samplers = self.state.get("samplers") or [self.state["sampler"]]
        return RunStart(model, size, self.state["tokens"], self.state["flops"], samplers)


def read_teacher(config: TrainConfig) -> TeacherRun:
    """Check `config.distill_from` and read it; a continuing student adopts its plan (`config` is
    updated in place, as for growth: config.json records what the student really uses).

    Raises:
        CurriscaleError: not a finished run folder, or (continuing) no tokens left in its plan.
    """
    continues, path = config.continues_teacher, Path(config.distill_from)
    checkpoint = checkpoint_dir(path)
    if not (path / "config.json").is_file() or checkpoint is None:
        raise CurriscaleError(f"--distill-from {path}: not a run folder with config.json and a checkpoint")
    if not (path / "done.json").is_file():
        raise CurriscaleError(f"--distill-from {path}: the teacher run has not finished (no done.json)")
    try:
        teacher_config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise CurriscaleError(f"{path}/config.json: unreadable ({error})") from error
    state = load_state(checkpoint)
    if continues:
        adopt_plan(config, path, teacher_config)
        batch = config.batch_size * config.seq_len
        if state["tokens"] + batch > teacher_config["budget_tokens"]:
            raise CurriscaleError(
                f"--distill-from {path} used {state['tokens']} of its {teacher_config['budget_tokens']} planned "
                "tokens: none are left for the student to continue on; train the teacher with --stop-fraction "
                "< 1, or give this run its own --manifest and budget"
            )
    return TeacherRun(path, teacher_config, checkpoint, state, continues)


class Teacher:
    """The frozen teacher of a run: its logits, the distillation objective and the logged KL."""

    def __init__(self, run: TeacherRun, config: TrainConfig, tokenizer: Tokenizer, device: torch.device):
        check_teacher(run, tokenizer, config.seq_len)
        check_same_teacher(run, Path(config.out))
        with torch.random.fork_rng(devices=[]):  # the student's init stays that of an untaught run
            model = GPT(run.shape)
        load_weights(run.checkpoint, model)
        self.model = model.to(device).eval().requires_grad_(False)
        self.run, self.device, self.dtype = run, device, config.dtype
        self.temperature, self.weight = config.distill_temperature, config.distill_weight
        self.forward_flops_per_token = run.shape.forward_flops_per_token()
        # float64 where the device has it (a sum over many micro-batches), as the trainer's loss sum
        self._kl_sum = torch.zeros(
            (), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device
        )

    def objective(
        self, ce: torch.Tensor, logits: torch.Tensor, inputs: torch.Tensor, accum: int
    ) -> torch.Tensor:
        """(1 - w) * ce + w * T^2 * KL(teacher || student) for one micro-batch of `accum`."""
        with torch.no_grad(), autocast(self.device, self.dtype):
            teacher_logits = self.model(inputs)
        kl = distill_kl(logits, teacher_logits, self.temperature)
        self._kl_sum += kl.detach() / accum
        return (1 - self.weight) * ce + self.weight * self.temperature**2 * kl

    def log(self, dist: Distributed, steps: int) -> dict[str, float]:
        """`distill_kl`: the mean KL of the last `steps` steps over all ranks (then restart the sum)."""
        kl = dist.sum(self._kl_sum.clone()).item() / (steps * dist.world_size)
        self._kl_sum.zero_()
        return {"distill_kl": kl}

    def record(self) -> dict[str, Any]:
        """config.json's `distill_teacher`: which checkpoint teaches, its size and cost, T and w."""
        shape, state = self.run.shape, self.run.state
        return {
            "run": str(self.run.path.resolve()),
            "size": self.run.config["size"],
            "n_params": shape.n_params(),
            "non_embedding_params": shape.non_embedding_params(),
            "model": shape.to_dict(),
            "step": state["step"],
            "tokens": state["tokens"],
            "flops": state["flops"],
            "forward_flops_per_token": self.forward_flops_per_token,
            "continues_plan": self.run.continues,
            "temperature": self.temperature,
            "weight": self.weight,
        }


def check_teacher(run: TeacherRun, tokenizer: Tokenizer, seq_len: int) -> None:
    """The teacher must read this run's token ids (the same vocabulary) and cover its context."""
    where = f"--distill-from {run.path}"
    vocab = load_tokenizer(run.path / "tokenizer.json").get_vocab()
    if vocab != tokenizer.get_vocab() or run.shape.vocab_size != tokenizer.get_vocab_size():
        raise CurriscaleError(
            f"{where}: the teacher's tokenizer (vocab {run.shape.vocab_size}) is not this run's (vocab "
            f"{tokenizer.get_vocab_size()}); logits are compared token by token: use --tokenizer {run.path}/tokenizer.json"
        )
    if run.shape.seq_len < seq_len:
        raise CurriscaleError(
            f"{where}: the teacher's context is {run.shape.seq_len} tokens, shorter than --seq-len {seq_len}"
        )


def check_same_teacher(run: TeacherRun, run_dir: Path) -> None:
    """A resumed student must be taught by the checkpoint that taught it so far (config.json)."""
    try:
        recorded = json.loads((run_dir / "config.json").read_text()).get("distill_teacher")
    except (OSError, ValueError):
        return  # a new run (check_rerun has refused an unreadable config.json already)
    now = {"run": str(run.path.resolve()), "step": run.state["step"], "tokens": run.state["tokens"]}
    if recorded is not None and any(recorded.get(k) != v for k, v in now.items()):
        then = {k: recorded.get(k) for k in now}
        raise CurriscaleError(
            f"{run_dir}: its teacher changed since the run started (was {then}, now {now}); use another --out"
        )


def teacher_memory(shape: GPTConfig, micro_batch: int, dtype: str, seq_len: int) -> int:
    """Bytes the teacher adds to a process: float32 weights (and their bf16 copies under autocast),
    one layer's forward activations, and its logits with the two softened distributions (the
    student's kept for the backward pass)."""
    act = 2 if dtype == "bfloat16" else 4
    tokens, params = micro_batch * seq_len, shape.n_params()
    weights = (6 if dtype == "bfloat16" else 4) * params
    layer = tokens * act * (9 * shape.d_model + 4 * shape.hidden_dim)
    return weights + layer + tokens * shape.vocab_size * (act + 4 * 4)
