"""What a training run is asked to do (`TrainConfig`) and what it reports back (`RunResult`)."""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from curriscale.errors import CurriscaleError
from curriscale.train.schedules import EXTRA_PARAMS, SCHEDULES

# How a run executes rather than what it computes: a rerun of the same run may change these.
# `device` and `grad_accum` are among them: a checkpoint loads on any device, and accumulating
# micro-batches changes only the order of float sums, so a run may resume on other hardware.
EXECUTION_FIELDS = ("out", "threads", "compile", "export_hf", "device", "grad_accum", "token_cache")
# Compared as absolute paths, so a rerun from another working directory is the same run.
PATH_FIELDS = ("manifest", "eval_path", "ood_path", "init_from", "distill_from")


@dataclass
class TrainConfig:
    """One training run. Everything that changes the numbers is here and lands in `config.json`.

    Attributes:
        out: run directory.
        manifest: curriculum manifest (`manifest.json`) the data comes from.
        size: a ladder name ("s0".."s7" for CPUs, "m10".."b1" for GPUs, see `model.SIZES`) or a
            shape "L<n_layer>-D<d_model>[-H<n_head>]".
        lr_schedule: cosine | wsd | linear | constant | step; None (default) takes the manifest's
            paired schedule (its kind and parameters), else cosine (see `schedules.resolve_schedule`).
        lr: peak learning rate.
        budget_tokens: training tokens; or give `budget_flops` (converted with flops_per_token).
        eval_path / ood_path: fixed eval sets (JSONL/Parquet); OOD metrics are prefixed `ood_`.
        tokenizer: "bytes" (default), "bpe:<vocab>" (trained on the manifest), or a tokenizer.json path.
        answer_loss_weight: multiplier on answer tokens' loss (needs a source that yields answer
            masks). The prototype found x5 lifts every size and erases size effects: keep 1 unless
            that is what you study.
        n_evals / eval_spacing: number of evaluation checkpoints, "log" or "even" spaced.
        batch_size: the global batch: sequences per optimizer step, over all processes and
            micro-batches (so a run computes the same thing on 1 or N processes).
        grad_accum: micro-batches per optimizer step and process; each process computes
            batch_size / (world_size * grad_accum) sequences at a time, which must divide evenly.
        device: auto | cpu | cuda | cuda:N | mps (`auto`: CUDA when present; under torchrun each
            process takes cuda:<LOCAL_RANK>). See `curriscale.devices`.
        dtype: auto | float32 | bfloat16 (autocast). `auto` is bfloat16 on a GPU that supports it,
            float32 on a CPU (on 2 CPU cores fp32 measured faster for the small ladder).
        threads: torch intra-op threads (None = torch's default, all cores). On a shared machine
            use fewer: oversubscribed OpenMP threads made steps 10-20x slower here.
        compile: torch.compile the model for training (~2x faster steps, minutes of compile).
        lr_params: extra `LRSchedule` parameters (decay_fraction, step_milestones, step_gamma).
        ema_decay: keep an exponential moving average of the weights with this decay (e.g. 0.99)
            and evaluate it next to the raw weights (`ema_*` metrics; see `averaging.py`).
        token_cache: a folder for the curriculum's encoded row groups (BPE tokenizers), shared by
            every rank and run that uses it: each row group is tokenized once, not once per rank
            (each rank replays the whole stream), epoch and grid cell. A grid uses RUNS/token_cache.
        export_hf: also write `RUN/hf`, a LlamaForCausalLM folder (see `hf_export.py`).
        init_from / grow: start from a trained smaller run, grown by "depth" or "width"; the run
            continues that run's manifest, token plan and data position.
        stop_fraction: end this run after this fraction of the token budget (the first stage of a
            grow-then-continue plan); the remaining tokens are left for the grown run.
        distill_from: a finished run whose model teaches this one (`distill.py`): a fresh `size`
            model learns with a KL term to its logits. Without a budget, the run continues the
            teacher run's manifest, token plan and data position where it stopped (grow by
            distillation: train the teacher with `stop_fraction` < 1); with a budget, it trains on
            its own manifest from token 0. The teacher's forward pass is counted in the FLOPs.
        distill_temperature / distill_weight: the loss is (1 - w) * CE + w * T^2 * KL(teacher_T ||
            student_T), both distributions softened by T; w = 0 trains on CE alone (the teacher
            still runs, is counted, and its KL is logged as `distill_kl`).
    """

    out: str
    manifest: str | None = None
    size: str = "s2"
    lr_schedule: str | None = None
    lr: float = 3e-3
    budget_tokens: int | None = None
    budget_flops: float | None = None
    eval_path: str | None = None
    ood_path: str | None = None
    tokenizer: str | None = None
    seed: int = 0
    batch_size: int = 16
    seq_len: int = 128
    warmup_fraction: float = 0.02
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    answer_loss_weight: float = 1.0
    n_evals: int = 8
    eval_spacing: str = "log"
    log_every: int = 10
    dtype: str = "auto"
    device: str = "auto"
    grad_accum: int = 1
    ema_decay: float | None = None
    token_cache: str | None = None
    threads: int | None = None
    init_from: str | None = None
    grow: str | None = None
    stop_fraction: float = 1.0
    distill_from: str | None = None
    distill_temperature: float = 2.0
    distill_weight: float = 0.5
    export_hf: bool = False
    compile: bool = False
    lr_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        budgets = (self.budget_tokens is not None) + (self.budget_flops is not None)
        if budgets != 1 and self.init_from is None and (self.distill_from is None or budgets == 2):
            raise CurriscaleError("give exactly one of --budget-tokens and --budget-flops")
        if self.init_from is not None and self.distill_from is not None:
            raise CurriscaleError(
                "--init-from and --distill-from: choose one (grow the trained model, or teach a fresh one)"
            )
        if not (math.isfinite(self.distill_temperature) and self.distill_temperature > 0):
            raise CurriscaleError(
                f"--distill-temperature {self.distill_temperature!r}: must be a positive number"
            )
        if not 0 <= self.distill_weight <= 1:
            raise CurriscaleError(f"--distill-weight {self.distill_weight!r}: must be in [0, 1]")
        if self.grow not in (None, "depth", "width"):
            raise CurriscaleError(f"--grow {self.grow!r}: choose depth or width")
        if (self.grow is None) != (self.init_from is None):
            raise CurriscaleError("--init-from and --grow go together")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise CurriscaleError(f"--dtype {self.dtype!r}: choose auto, float32 or bfloat16")
        if self.eval_spacing not in ("log", "even"):
            raise CurriscaleError(f"eval_spacing {self.eval_spacing!r}: choose log or even")
        if not 0 < self.stop_fraction <= 1:
            raise CurriscaleError(f"stop_fraction={self.stop_fraction}: must be in (0, 1]")
        if self.init_from is None:
            from curriscale.train.model import GPTConfig

            GPTConfig.from_size(self.size, vocab_size=257, seq_len=1)  # raises naming --size
        if self.lr_schedule is not None and self.lr_schedule not in SCHEDULES:
            raise CurriscaleError(f"--lr-schedule {self.lr_schedule!r}: choose one of {', '.join(SCHEDULES)}")
        unknown = sorted(set(self.lr_params) - set(EXTRA_PARAMS))
        if unknown:
            raise CurriscaleError(f"lr_params {unknown}: unknown (allowed: {', '.join(EXTRA_PARAMS)})")
        _check_tokenizer_spec(self.tokenizer)
        for name in ("batch_size", "seq_len", "n_evals", "log_every", "grad_accum"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise CurriscaleError(f"--{name.replace('_', '-')} {value!r}: must be an integer >= 1")
        for name in ("budget_tokens", "budget_flops", "lr"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise CurriscaleError(f"--{name.replace('_', '-')} {value!r}: must be a positive number")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise CurriscaleError(f"--ema-decay {self.ema_decay}: must be in (0, 1), e.g. 0.99")
        if not 0 <= self.warmup_fraction < 1:
            raise CurriscaleError(f"warmup_fraction={self.warmup_fraction}: must be in [0, 1)")

    def check_inputs(self) -> None:
        """Check that the files the run reads exist (the value checks ran at construction).

        Raises:
            CurriscaleError: naming the option and the missing file.
        """
        if self.manifest is None and self.init_from is None and not self.continues_teacher:
            raise CurriscaleError("--manifest is required (or --init-from a run to grow)")
        if self.manifest is not None and not Path(self.manifest).exists():
            raise CurriscaleError(f"--manifest {self.manifest}: file not found")
        for option, path in (("--eval", self.eval_path), ("--ood", self.ood_path)):
            if path is not None and not Path(path).is_file():
                raise CurriscaleError(f"{option} {path}: file not found")
        if _is_path_spec(self.tokenizer) and not Path(self.tokenizer).is_file():
            raise CurriscaleError(f"--tokenizer {self.tokenizer}: file not found")

    @property
    def continues_teacher(self) -> bool:
        """Whether this run continues its distillation teacher's plan (`distill_from` without a budget).

        Read it before `setup.resolve_request`, which fills the budget in from the teacher run.
        """
        return self.distill_from is not None and self.budget_tokens is None and self.budget_flops is None

    def request(self) -> dict[str, Any]:
        """What this config asks a run to compute, as stored in config.json and compared on a rerun.

        Execution-only fields (`EXECUTION_FIELDS`) are left out; paths are absolute.
        """
        data = {k: v for k, v in self.to_dict().items() if k not in EXECUTION_FIELDS}
        for key in (*PATH_FIELDS, "tokenizer"):
            if data[key] is not None and (key != "tokenizer" or _is_path_spec(data[key])):
                data[key] = str(Path(data[key]).resolve())
        return json.loads(json.dumps(data))  # JSON types (tuples become lists), as read back

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict, ignoring keys that are not config fields (e.g. derived counts)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _is_path_spec(spec: str | None) -> bool:
    return spec is not None and spec != "bytes" and not spec.startswith("bpe:")


def _check_tokenizer_spec(spec: str | None) -> None:
    if spec is None or not spec.startswith("bpe:"):
        return
    size = spec[4:]
    if not size.isdigit() or int(size) < 257:
        raise CurriscaleError(
            f"--tokenizer {spec!r}: write bpe:<vocab size>, a vocab size >= 257, e.g. bpe:512"
        )


def config_differences(stored: dict[str, Any], requested: dict[str, Any]) -> list[str]:
    """The fields where a run folder's stored request differs from a new one, as "name: old -> new".

    A field the stored request lacks (written before the field existed) counts as its default.
    """
    defaults = {
        f.name: f.default if f.default is not MISSING else f.default_factory()
        for f in fields(TrainConfig)
        if f.default is not MISSING or f.default_factory is not MISSING
    }
    changed = []
    for key in sorted(requested):
        before = stored.get(key, defaults.get(key))
        if before != requested[key]:
            changed.append(f"{key}: {_show(before)} -> {_show(requested[key])}")
    return changed


def _show(value: Any) -> str:
    return "none" if value is None else str(value)


@dataclass
class RunResult:
    """Summary of a finished run (the content of `RUN/done.json`)."""

    run_dir: str
    steps: int
    tokens: int
    flops: float
    final_metrics: dict[str, float]
    # Training tokens/s and MFU over the whole run (wall-clock figures; absent in older runs).
    throughput: dict[str, float] = field(default_factory=dict)

    @property
    def final_eval_loss(self) -> float:
        return self.final_metrics.get("eval_loss", float("nan"))

    @property
    def final_mean_accuracy(self) -> float:
        return self.final_metrics.get("mean_accuracy", float("nan"))

    @classmethod
    def load(cls, run_dir: str | Path) -> RunResult:
        return cls(**json.loads((Path(run_dir) / "done.json").read_text()))
