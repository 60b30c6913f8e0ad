"""`curriscale train`: a thin wrapper over `curriscale.train.trainer.train`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from curriscale.cli import console
from curriscale.cli.interrupt import resumable


def train(
    manifest: Annotated[
        str | None,
        typer.Option(help="Curriculum manifest.json; required unless --init-from (which inherits it)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run directory; rerunning resumes or returns.")
    ] = Path("run"),
    size: Annotated[
        str,
        typer.Option(
            help="s0..s7 (CPU, ~13k to ~2.3M non-embedding params), m10/m30/m100/m300/b1 (GPU, ~10M to ~1B), "
            "or a shape L<layers>-D<width>[-H<heads>]."
        ),
    ] = "s2",
    lr_schedule: Annotated[
        str | None,
        typer.Option(help="cosine, wsd, linear, constant or step (default: the manifest's, else cosine)."),
    ] = None,
    budget_tokens: Annotated[
        int | None,
        typer.Option(help="Training tokens; this or --budget-flops is required unless --init-from."),
    ] = None,
    budget_flops: Annotated[
        float | None,
        typer.Option(help="Training FLOPs (6N + attention per token), instead of --budget-tokens."),
    ] = None,
    eval: Annotated[
        str | None, typer.Option("--eval", help="Eval set (JSONL/Parquet: text, level, prompt, answer).")
    ] = None,
    ood: Annotated[
        str | None, typer.Option(help="Out-of-distribution eval set (metrics prefixed ood_).")
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(help="bytes (default), bpe:<vocab> trained on the manifest, or a tokenizer.json."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the model init and the data stream.")] = 0,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 3e-3,
    batch_size: Annotated[
        int, typer.Option(help="Global batch: sequences per optimizer step over all processes.")
    ] = 16,
    grad_accum: Annotated[
        int, typer.Option(help="Micro-batches per step and process (batch-size / (processes x this) each).")
    ] = 1,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu, cuda, cuda:N or mps.")] = "auto",
    seq_len: Annotated[int, typer.Option(help="Context length in tokens.")] = 128,
    answer_loss_weight: Annotated[
        float, typer.Option(help="Loss weight of answer tokens (1 = plain LM).")
    ] = 1.0,
    n_evals: Annotated[int, typer.Option(help="Evaluation checkpoints (log-spaced).")] = 8,
    log_every: Annotated[int, typer.Option(help="Log the training loss every this many steps.")] = 10,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: all cores).")] = None,
    dtype: Annotated[
        str, typer.Option(help="auto (bfloat16 on a GPU, float32 on a CPU), float32 or bfloat16 (autocast).")
    ] = "auto",
    compile: Annotated[
        bool, typer.Option("--compile", help="torch.compile the model (faster steps, minutes to compile).")
    ] = False,
    init_from: Annotated[str | None, typer.Option(help="Run directory of a smaller model to grow.")] = None,
    grow: Annotated[str | None, typer.Option(help="depth or width (with --init-from).")] = None,
    stop_fraction: Annotated[
        float, typer.Option(help="Stop after this fraction of the budget (grow later).")
    ] = 1.0,
    distill_from: Annotated[
        str | None,
        typer.Option(
            help="A finished run whose model teaches this fresh --size model (KL to its logits). Without a "
            "budget, continues that run's plan where it stopped (train it with --stop-fraction < 1)."
        ),
    ] = None,
    distill_temperature: Annotated[
        float, typer.Option(help="Softmax temperature T of the distillation term (with --distill-from).")
    ] = 2.0,
    distill_weight: Annotated[
        float,
        typer.Option(help="Weight w: loss = (1-w) CE + w T^2 KL(teacher || student) (with --distill-from)."),
    ] = 0.5,
    export_hf: Annotated[bool, typer.Option(help="Also write RUN/hf, a LlamaForCausalLM folder.")] = False,
    ema_decay: Annotated[
        float | None,
        typer.Option(help="Also keep an EMA of the weights with this decay (e.g. 0.99); evaluated as ema_*."),
    ] = None,
    token_cache: Annotated[
        str | None,
        typer.Option(help="Folder of tokenized row groups shared by ranks and runs (BPE: tokenize once)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (shape, steps, batch split, memory estimate); train nothing."
        ),
    ] = False,
) -> None:
    """Train one model on a curriculum manifest; write config.json, metrics.parquet, positions.parquet, checkpoint/.

    Example: curriscale train --manifest curricula/ladder/manifest.json --size s2 --lr-schedule wsd --budget-tokens 2000000 --eval spectrum/eval.jsonl --out runs/s2

    Data parallel: torchrun --nproc_per_node 8 -m curriscale train --size m100 --batch-size 256 ... (same options).
    """
    from curriscale.train.config import TrainConfig
    from curriscale.train.trainer import train as run_training

    config = TrainConfig(
        out=str(out), manifest=manifest, size=size, lr_schedule=lr_schedule, lr=lr,
        budget_tokens=budget_tokens, budget_flops=budget_flops, eval_path=eval, ood_path=ood,
        tokenizer=tokenizer, seed=seed, batch_size=batch_size, seq_len=seq_len,
        answer_loss_weight=answer_loss_weight, n_evals=n_evals, log_every=log_every, threads=threads, dtype=dtype,
        init_from=init_from, grow=grow, stop_fraction=stop_fraction, export_hf=export_hf,
        grad_accum=grad_accum, device=device, compile=compile, token_cache=token_cache, ema_decay=ema_decay,
        distill_from=distill_from, distill_temperature=distill_temperature, distill_weight=distill_weight,
    )  # fmt: skip
    if dry_run:
        from curriscale.train.setup import describe_run

        for key, value in describe_run(config).items():
            console.out.print(f"{key}: {value}")
        return
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: rank 0 alone reports
        run_training(config)
        return
    # The bar starts with the first step, so an error found while setting up is the only line shown.
    bar = console.progress()
    task = bar.add_task(f"training {size}", total=None)

    def on_progress(step: int, total: int) -> None:
        bar.start()  # a no-op once started
        bar.update(task, completed=step, total=total)

    try:
        with resumable(lambda: kept_checkpoint(out)):
            result = run_training(config, on_progress=on_progress)
    finally:
        if bar.live.is_started:  # stopping a bar that never started prints an empty line
            bar.stop()
    metrics = ", ".join(
        f"{k}={v:.4g}" for k, v in sorted(result.final_metrics.items()) if not k.startswith("ood_")
    )
    console.info(f"{result.steps} steps, {result.tokens} tokens: {metrics}")
    console.info(execution_line(out / "config.json", result.throughput))
    for line in cut_question_warnings(out / "config.json"):
        console.warning(line)
    console.out.print(str(out))


def kept_checkpoint(run_dir: Path) -> str:
    """What an interrupted run leaves for a rerun: its newest checkpoint, if it wrote one."""
    from curriscale.train.checkpoint import checkpoint_dir, load_state

    folder = checkpoint_dir(run_dir)
    if folder is None:
        return f"no checkpoint in {run_dir} yet (the first comes with the first evaluation)"
    return f"kept the checkpoint at step {load_state(folder)['step']} in {run_dir}"


def execution_line(config_path: Path, throughput: dict[str, float]) -> str:
    """Where the run trained and how fast: device, processes, memory estimate, tokens/s, MFU."""
    config = json.loads(config_path.read_text())
    memory = config.get("memory_estimate_bytes", {}).get("total", 0) / 1024**3
    speed = (
        f"{throughput['tokens_per_s']:,.0f} tokens/s, MFU {100 * throughput['mfu']:.1f}% "
        f"of {config.get('peak_flops', 0) / 1e12:.2f} TFLOP/s ({config.get('peak_flops_source')})"
        if throughput
        else "no steps this time"
    )
    return (
        f"{config.get('device_name', config.get('device'))} x {config.get('world_size', 1)}, "
        f"{config.get('dtype')}, memory estimate {memory:.2f} GiB per process; {speed}"
    )


def cut_question_warnings(config_path: Path) -> list[str]:
    """One line per eval set (eval, ood) whose questions were cut by seq_len, from a run's config.json."""
    from curriscale.train.tokenizer import BYTE_ALPHABET

    config = json.loads(config_path.read_text())
    bytes_only = config.get("model", {}).get("vocab_size") == BYTE_ALPHABET + 1  # no BPE merges
    fix = "--tokenizer bpe:1024 or a larger --seq-len" if bytes_only else "a larger --seq-len"
    lines = []
    for prefix in ("eval", "ood"):
        cut = config.get(f"{prefix}_questions_cut") or 0
        if cut:
            total = config.get(f"{prefix}_questions")
            of = f" of {total}" if total else ""
            lines.append(
                f"{cut}{of} {prefix} questions exceed seq_len={config['seq_len']} and have no accuracy; use {fix}"
            )
    return lines


def register(app: typer.Typer) -> None:
    """Add the `train` command to the root app."""
    app.command("train")(train)
