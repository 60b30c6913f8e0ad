"""Check the whole GPU path of the trainer in one command (under 10 minutes on one modern GPU).

    python benchmarks/gpu_check.py                 # on a machine with a GPU: m30, 300 steps
    python benchmarks/gpu_check.py --size s1 --steps 30 --reference-steps 10 --no-compile   # tiny, on a CPU

What it runs, all through `curriscale.train.train` on one small generated-text curriculum:

1. reference: the same seed on the CPU in float32 for `--reference-steps` steps;
2. device: `--steps` steps on `--device` (auto: CUDA when present) with `--dtype` (auto: bf16 on a GPU);
   its per-step losses over the reference's steps must match the reference within `--tolerance`
   (relative; bf16 autocast rounds activations to 8 bits of mantissa, so 3% is the default);
3. compiled: the same run under torch.compile (unless --no-compile), matching run 2 within tolerance;
4. two GPUs: when two or more are visible, `torchrun --nproc_per_node 2` with the same global batch,
   matching run 2 within tolerance.

It ends by printing one JSON line: device, tokens/s and MFU of run 2 (and run 3), each check's
largest relative loss difference, and `passed`. Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from bench_train import bench_manifest, corpus_texts

from curriscale.train.config import TrainConfig
from curriscale.train.trainer import train


def losses(run_dir: Path, steps: int) -> np.ndarray:
    """Per-step training losses of the first `steps` steps (the run logs every step)."""
    table = pq.read_table(run_dir / "metrics.parquet").to_pandas()
    return table.loc[table["step"] <= steps, "train_loss"].to_numpy()


def largest_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest relative difference between two loss curves over their common steps."""
    n = min(len(a), len(b))
    return float(np.max(np.abs(a[:n] - b[:n]) / np.abs(a[:n])))


def run_config(args: argparse.Namespace, manifest: Path, out: Path, steps: int, **overrides) -> TrainConfig:
    options = dict(
        out=str(out), manifest=str(manifest), size=args.size, seq_len=args.seq_len, batch_size=args.batch_size,
        budget_tokens=steps * args.batch_size * args.seq_len, lr=args.lr, seed=0, n_evals=2, log_every=1,
        lr_schedule="constant", device=args.device, dtype=args.dtype,
    )  # fmt: skip
    return TrainConfig(**{**options, **overrides})


def two_gpu_run(config: TrainConfig, folder: Path) -> Path:
    """The same run under torchrun on two GPUs (the CLI, as a user launches it)."""
    flags = {"out": config.out, "manifest": config.manifest, "size": config.size, "seq-len": config.seq_len,
             "batch-size": config.batch_size, "budget-tokens": config.budget_tokens, "lr": config.lr,
             "n-evals": config.n_evals, "log-every": 1, "lr-schedule": "constant", "dtype": config.dtype}  # fmt: skip
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "curriscale", "train"]  # fmt: skip
    for name, value in flags.items():
        command += [f"--{name}", str(value)]
    subprocess.run(command, check=True, cwd=folder, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return Path(config.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="m30")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--reference-steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--lr", type=float, default=6e-4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--tolerance", type=float, default=0.03)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = bench_manifest(folder / "curriculum", corpus_texts()[0])
        reference = train(
            run_config(
                args, manifest, folder / "reference", args.reference_steps, device="cpu", dtype="float32"
            )
        )
        device_run = train(run_config(args, manifest, folder / "device", args.steps))
        reference_losses = losses(folder / "reference", args.reference_steps)
        device_losses = losses(folder / "device", args.steps)
        config = json.loads((folder / "device" / "config.json").read_text())
        checks = {"device_vs_cpu_float32": largest_difference(reference_losses, device_losses)}
        report = {
            "bench": "gpu_check", "device": config["device"], "device_name": config["device_name"],
            "dtype": config["dtype"], "size": args.size, "n_params": config["n_params"], "steps": args.steps,
            "tokens_per_s": round(device_run.throughput["tokens_per_s"]), "mfu": round(device_run.throughput["mfu"], 4),
            "peak_flops_source": config["peak_flops_source"], "cpu_reference_steps": reference.steps,
        }  # fmt: skip
        if not args.no_compile:
            compiled = train(run_config(args, manifest, folder / "compiled", args.steps, compile=True))
            checks["compiled_vs_eager"] = largest_difference(
                device_losses, losses(folder / "compiled", args.steps)
            )
            report["compiled_tokens_per_s"] = round(compiled.throughput["tokens_per_s"])
        if torch.cuda.device_count() >= 2 and config["device"].startswith("cuda"):
            two = two_gpu_run(run_config(args, manifest, folder / "two_gpus", args.steps), folder)
            checks["two_gpus_vs_one"] = largest_difference(device_losses, losses(two, args.steps))
        passed = all(value <= args.tolerance for value in checks.values())
        print(json.dumps({**report, "tolerance": args.tolerance, "checks": checks, "passed": passed}))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
