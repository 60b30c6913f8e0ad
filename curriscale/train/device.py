"""Where a run computes: device and dtype choice, the CUDA switches, and the peak the MFU is measured against.

This is the thin device-specific layer of the trainer; everything else is device-agnostic.

- which device a name means: `curriscale.devices.resolve_device` (shared with the scorers); under
  torchrun each process takes `cuda:<LOCAL_RANK>` unless a device index is given.
- `resolve_dtype("auto" | "float32" | "bfloat16", device)`: `auto` is bfloat16 autocast on a GPU
  that supports it, float32 elsewhere (on 2 CPU cores float32 measured faster for the small ladder).
- `configure(device)`: TF32 matmuls on CUDA (bf16 autocast covers the matmuls; TF32 the rest).
- `peak_flops(device, dtype)`: a table of common GPUs' dense bf16 / TF32 peaks; on a CPU (or an
  unknown GPU) a short matmul probe measures the sustained peak instead, and says so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time

import torch

from curriscale.errors import CurriscaleError

DTYPES = ("auto", "float32", "bfloat16")

# Dense (no sparsity) peak FLOP/s per GPU, from the vendors' data sheets: (bfloat16, float32 via TF32).
# Matched by substring of torch.cuda.get_device_name(), most specific first.
GPU_PEAKS: dict[str, tuple[float, float]] = {
    "H200": (989e12, 494e12),
    "H100 PCIe": (756e12, 378e12),
    "H100 NVL": (835e12, 418e12),
    "H100": (989e12, 494e12),
    "GH200": (989e12, 494e12),
    "B200": (2250e12, 1100e12),
    "A100": (312e12, 156e12),
    "A800": (312e12, 156e12),
    "A10G": (70e12, 35e12),
    "A10": (125e12, 62.5e12),
    "L40S": (362e12, 183e12),
    "L40": (181e12, 90.5e12),
    "L4": (121e12, 60e12),
    "A6000": (155e12, 77.4e12),
    "RTX 4090": (165e12, 82.6e12),
    "RTX 3090": (71e12, 35.6e12),
    "V100": (125e12, 15.7e12),  # no bf16: the figure is its fp16 tensor-core peak
    "T4": (65e12, 8.1e12),  # likewise fp16
}


def resolve_dtype(spec: str, device: torch.device) -> str:
    """float32 or bfloat16 for `spec` on `device` (see the module docstring for `auto`)."""
    if spec not in DTYPES:
        raise CurriscaleError(f"--dtype {spec!r}: choose one of {', '.join(DTYPES)}")
    if spec != "auto":
        return spec
    # Native bf16 from compute capability 8.0 (Ampere); torch's is_bf16_supported() also counts the
    # slow emulation of older GPUs (V100, T4), where Triton (--compile) refuses bf16 as well.
    if device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0):
        return "bfloat16"
    return "float32"


def autocast(device: torch.device, dtype: str) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on `device` when asked for; a no-op for float32."""
    if dtype == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def configure(device: torch.device) -> None:
    """Process-wide settings for `device`: on CUDA, make it the current device (NCCL, the object
    collectives and any allocation without a device use it, not cuda:0) and allow TF32 matmuls."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock reading covers it (no-op on a CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def device_name(device: torch.device) -> str:
    """A readable name: the GPU model, or the CPU with its thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def peak_flops(device: torch.device, dtype: str) -> tuple[float, str]:
    """(peak FLOP/s of one device for `dtype`, where the figure comes from)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, (bf16, fp32) in GPU_PEAKS.items():
            if key in name:
                return (bf16 if dtype == "bfloat16" else fp32), f"table: {key} {dtype} dense peak"
    measured = _matmul_probe(str(device), dtype, torch.get_num_threads())
    return measured, f"measured: {dtype} 1024x1024 matmul on {device_name(device)}"


@functools.lru_cache(maxsize=8)
def _matmul_probe(device_name: str, dtype: str, threads: int, seconds: float = 0.25) -> float:
    """Sustained matmul FLOP/s; `threads` is part of the cache key because the figure depends on it."""
    n = 1024
    torch_dtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    # Constant operands: matmul speed does not depend on the values, and torch.randn would draw
    # from the global generator that seeds the model's initialisation.
    a = torch.full((n, n), 0.01, dtype=torch_dtype, device=device_name)
    b = torch.full((n, n), 0.01, dtype=torch_dtype, device=device_name)
    a @ b  # warm up (first call allocates and picks kernels)
    synchronize(torch.device(device_name))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
        synchronize(torch.device(device_name))
    return 2 * n**3 * count / (time.perf_counter() - start)


def free_memory(device: torch.device) -> int:
    """Bytes the run can still allocate on `device` (CPU: the kernel's MemAvailable)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory() - torch.mps.current_allocated_memory())
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
