"""Which torch device a name means, checked against this machine: shared by the trainer and the scorers.

`resolve_device("auto" | "cpu" | "cuda" | "cuda:N" | "mps")`: `auto` takes CUDA when present, else
MPS, else the CPU. A bare `cuda` takes GPU `default_index` (a torchrun process's LOCAL_RANK). A name
this machine does not have is a one-line `CurriscaleError` naming the option, before any work.
torch is imported on use, so modules that only describe options stay light.
"""

from __future__ import annotations

from typing import Any

from curriscale.errors import CurriscaleError

DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(spec: str, option: str = "--device", default_index: int = 0) -> Any:
    """The `torch.device` for `spec`; `option` names the setting in error messages.

    Raises:
        CurriscaleError: `spec` is not a device name, or names a device that is not here.
    """
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        elif torch.backends.mps.is_available():
            spec = "mps"
        else:
            spec = "cpu"
    kind, _, index_text = spec.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index_text and (kind != "cuda" or not index_text.isdigit())):
        raise CurriscaleError(f"{option} {spec!r}: choose {DEVICE_NAMES}")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        if not torch.backends.mps.is_available():
            raise CurriscaleError(f"{option} mps: no MPS device on this machine (use auto or cpu)")
        return torch.device("mps")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise CurriscaleError(f"{option} {spec}: no CUDA GPU on this machine (use auto or cpu)")
    index = int(index_text) if index_text else default_index
    if index >= count:
        raise CurriscaleError(f"{option} {spec}: GPU {index} does not exist ({count} visible)")
    return torch.device("cuda", index)
