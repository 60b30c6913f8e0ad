"""What a training run is asked to do (`TrainConfig`) and what it reports back (`RunResult`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from curriscale.errors import CurriscaleError


@dataclass
class TrainConfig:
    """One training run. Everything that changes the numbers is here and lands in `config.json`.

    Attributes:
        out: run directory.
        manifest: curriculum manifest (`manifest.json`) the data comes from.
        size: model size name ("s0".."s7", see `model.SIZES`).
        lr_schedule: cosine | wsd | linear | constant | step.
        lr: peak learning rate.
        budget_tokens: training tokens; or give `budget_flops` (converted with flops_per_token).
        eval_path / ood_path: fixed eval sets (JSONL/Parquet); OOD metrics are prefixed `ood_`.
        tokenizer: "bytes" (default), "bpe:<vocab>" (trained on the manifest), or a tokenizer.json path.
        answer_loss_weight: multiplier on answer tokens' loss (needs a source that yields answer
            masks). The prototype found x5 lifts every size and erases size effects: keep 1 unless
            that is what you study.
        n_evals / eval_spacing: number of evaluation checkpoints, "log" or "even" spaced.
        dtype: "float32" or "bfloat16" (autocast; on 2 CPU cores fp32 measured faster for these
            sizes, see benchmarks/bench_train.py).
        threads: torch intra-op threads (None = torch's default, all cores). On a shared machine
            use fewer: oversubscribed OpenMP threads made steps 10-20x slower here.
        compile: torch.compile the model for training (~2x faster steps, minutes of compile).
        lr_params: extra `LRSchedule` parameters (decay_fraction, step_milestones, step_gamma).
        export_hf: also write `RUN/hf`, a LlamaForCausalLM folder (see `hf_export.py`).
        init_from / grow: start from a trained smaller run, grown by "depth" or "width"; the run
            continues that run's manifest, token plan and data position.
        stop_fraction: end this run after this fraction of the token budget (the first stage of a
            grow-then-continue plan); the remaining tokens are left for the grown run.
    """

    out: str
    manifest: str | None = None
    size: str = "s2"
    lr_schedule: str = "cosine"
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
    dtype: str = "float32"
    threads: int | None = None
    init_from: str | None = None
    grow: str | None = None
    stop_fraction: float = 1.0
    export_hf: bool = False
    compile: bool = False
    lr_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.budget_tokens is None) == (self.budget_flops is None) and self.init_from is None:
            raise CurriscaleError("give exactly one of --budget-tokens and --budget-flops")
        if self.grow not in (None, "depth", "width"):
            raise CurriscaleError(f"--grow {self.grow!r}: choose depth or width")
        if (self.grow is None) != (self.init_from is None):
            raise CurriscaleError("--init-from and --grow go together")
        if self.dtype not in ("float32", "bfloat16"):
            raise CurriscaleError(f"dtype {self.dtype!r}: choose float32 or bfloat16")
        if self.eval_spacing not in ("log", "even"):
            raise CurriscaleError(f"eval_spacing {self.eval_spacing!r}: choose log or even")
        if not 0 < self.stop_fraction <= 1:
            raise CurriscaleError(f"stop_fraction={self.stop_fraction}: must be in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict, ignoring keys that are not config fields (e.g. derived counts)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class RunResult:
    """Summary of a finished run (the content of `RUN/done.json`)."""

    run_dir: str
    steps: int
    tokens: int
    flops: float
    final_metrics: dict[str, float]

    @property
    def final_eval_loss(self) -> float:
        return self.final_metrics.get("eval_loss", float("nan"))

    @property
    def final_mean_accuracy(self) -> float:
        return self.final_metrics.get("mean_accuracy", float("nan"))

    @classmethod
    def load(cls, run_dir: str | Path) -> RunResult:
        return cls(**json.loads((Path(run_dir) / "done.json").read_text()))
