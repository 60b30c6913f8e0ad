"""The run folder's format marker: `config.json` says `"format": "curriscale.run", "version": 1`.

Run folders come from other people and other versions of curriscale. The trainer (resuming into a
folder) and the fitter (reading a grid) check the marker first, so a folder written by a later,
incompatible curriscale stops with one line naming it instead of a KeyError later. A config.json
without the marker predates it and reads as version 1.
"""

from __future__ import annotations

from pathlib import Path

from curriscale.errors import CurriscaleError

RUN_FORMAT = "curriscale.run"
RUN_VERSION = 1


def run_marker() -> dict:
    """The fields config.json carries to say what it is."""
    return {"format": RUN_FORMAT, "version": RUN_VERSION}


def check_run_format(config: dict, path: str | Path) -> None:
    """Refuse a config.json (at `path`) of another format, or of a version this curriscale cannot read."""
    found, version = config.get("format", RUN_FORMAT), config.get("version", RUN_VERSION)
    if found != RUN_FORMAT:
        raise CurriscaleError(
            f"{path}: not a curriscale run's config (format {found!r}, expected {RUN_FORMAT!r})"
        )
    if not isinstance(version, int) or version > RUN_VERSION or version < 1:
        raise CurriscaleError(
            f"{path}: a run folder of format version {version!r}; this curriscale reads version "
            f"{RUN_VERSION} (upgrade curriscale, or use another --out)"
        )
