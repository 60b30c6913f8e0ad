"""Where a run starts, and whether its folder may be used: the checks before training begins.

- `check_rerun`: a folder that already holds a run (config.json) is resumed or returned only if
  the new request matches the stored one; otherwise the run stops naming the differing fields.
- `run_tokenizer`: a resumed run reads its own tokenizer copy; anything else builds it from the spec.
- `adopt_source_run` / `grow_from_run`: a growth run (`--init-from RUN --grow depth|width`) takes its
  source run's manifest, token plan, context and tokenizer, and starts from its grown checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from curriscale.errors import CurriscaleError
from curriscale.run_format import check_run_format
from curriscale.train.checkpoint import checkpoint_dir, load_state, load_weights
from curriscale.train.config import PATH_FIELDS, TrainConfig, config_differences
from curriscale.train.growth import grow_model
from curriscale.train.model import GPT, GPTConfig
from curriscale.train.tokenizer import load_tokenizer, tokenizer_from_spec


def run_tokenizer(config: TrainConfig, run_dir: Path) -> tuple[Tokenizer, bool]:
    """The run's tokenizer, and whether it is new (to be saved into the run folder).

    A run being resumed (its config.json matched the request) reads its own copy, so it continues
    with the same ids; anything else left in a folder without a run is not trusted.
    """
    own = run_dir / "tokenizer.json"
    if (run_dir / "config.json").is_file() and own.is_file():
        return load_tokenizer(own), False
    return tokenizer_from_spec(config.tokenizer or "bytes", [config.manifest]), True


@dataclass
class RunStart:
    """Where a run starts: a fresh model at token 0, or a grown one where its source run stopped."""

    model: GPT
    size: str
    tokens: int = 0
    flops: float = 0.0
    samplers: list[dict] | None = None  # the source run's data position, one per rank


def adopt_source_run(config: TrainConfig) -> dict:
    """For a growth run: check the source run; adopt its manifest, token plan, context and tokenizer.

    `config` is updated in place so config.json records what the grown run really uses. Returns the
    source run's config.json.
    """
    source = Path(config.init_from)
    if not (source / "config.json").is_file() or checkpoint_dir(source) is None:
        raise CurriscaleError(f"--init-from {source}: not a run directory with config.json and a checkpoint")
    source_config = json.loads((source / "config.json").read_text())
    check_run_format(source_config, source / "config.json")
    adopt_plan(config, source, source_config)
    return source_config


def adopt_plan(config: TrainConfig, source: Path, source_config: dict) -> None:
    """Continue `source`'s plan: its manifest (unless given), token budget, context and tokenizer."""
    config.manifest = config.manifest or source_config["manifest"]
    config.budget_tokens, config.budget_flops = source_config["budget_tokens"], None
    config.seq_len = source_config["seq_len"]  # the data position is counted in these sequences
    config.tokenizer = str(source / "tokenizer.json")


def grow_from_run(config: TrainConfig, source_config: dict) -> RunStart:
    """Grow the source run's newest checkpoint (see `adopt_source_run`)."""
    folder = checkpoint_dir(Path(config.init_from))
    small = GPT(GPTConfig(**source_config["model"]))
    load_weights(folder, small)
    state = load_state(folder)
    model = grow_model(small, config.grow, seed=config.seed)
    size = f"{source_config['size']}+{config.grow}"
    return RunStart(model, size, state["tokens"], state["flops"], state.get("samplers") or [state["sampler"]])


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


def check_rerun(run_dir: Path, requested: dict) -> None:
    """Refuse a run folder that holds a run with another config (see the module docstring)."""
    path = run_dir / "config.json"
    if not path.is_file():
        return
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CurriscaleError(f"{path}: unreadable ({error}); use another --out") from error
    check_run_format(stored, path)
    changed = config_differences(_stored_request(stored, requested), requested)
    if changed:
        raise CurriscaleError(
            f"{run_dir} holds a run with a different config ({', '.join(changed)}); use another --out"
        )
