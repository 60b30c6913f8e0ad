"""An external trainer's cell at run time: its exports, its command, and its run folder.

`run_export` makes one export a grid's command names (see `external.py`); `run_external` runs one
cell's command and turns what it wrote into the run folder contract that `fit` and `report` read:

- `config.json` (before the command starts): `trainer: "external"`, the command, the placeholder
  values, the shape's parameter counts and FLOPs per token, the curriculum and its pacing, budget.
- `metrics.parquet` (after it succeeds): `step`, `tokens`, `flops`, `eval_loss` and every other
  mapped column, one row per row of the command's metrics file.
- `done.json`: steps, tokens, FLOPs and final metrics as `RunResult`, so a rerun skips the cell.

A command that cannot start or exits non-zero, and a metrics file that is missing or lacks a
mapped column, mark the cell failed: `error.json` says why and names `RUN/command.log`, where the
command's stdout and stderr go. A rerun of the grid tries a failed external cell again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output, atomic_write_json
from curriscale.locking import folder_lock
from curriscale.train.config import RunResult
from curriscale.train.external import describe
from curriscale.train.model import GPTConfig
from curriscale.train.records import Records

REQUEST = "grid_request.json"  # beside an export: what it was made for, to skip it on a rerun


def run_export(job: dict[str, Any]) -> None:
    """Make one export of the grid (skipped when its folder already holds the same request).

    `kind: curriculum` is `export_curriculum(manifest, "tokens", ...)` at the cell budget;
    `kind: documents` writes an eval file's documents in the same layout (`tokens.bin`, EOS after
    every document, `tokens.offsets.npy`, `export.json`).
    """
    out = Path(job["out"])
    if (out / "export.json").is_file() and _read_json(out / REQUEST) == job:
        return
    if job["kind"] == "curriculum":
        from curriscale.builders.export import export_curriculum

        export_curriculum(
            job["manifest"], "tokens", out, tokenizer=job["tokenizer"], budget_tokens=job["budget_tokens"],
            seed=job["seed"],
        )  # fmt: skip
    else:
        _export_documents(Path(job["source"]), job["tokenizer"], out)
    atomic_write_json(out / REQUEST, job)


def _export_documents(source: Path, tokenizer: str, out: Path) -> None:
    """An eval file's `text` column as token ids in file order, EOS after every document."""
    from curriscale.curricula.encoding import make_encoder, token_dtype
    from curriscale.train.evaluate import read_table

    table = read_table(source)
    encoder = make_encoder(tokenizer)
    dtype = token_dtype(encoder.vocab_size)
    ids = encoder.encode_batch(table.column("text").to_pylist())
    sizes = np.array([len(row) + 1 for row in ids], dtype=np.int64)
    with folder_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        (out / "export.json").unlink(missing_ok=True)
        tokens = np.concatenate([np.append(row, encoder.eos_id) for row in ids]) if ids else np.empty(0)
        with atomic_output(out / "tokens.bin") as tmp:
            tokens.astype(dtype).tofile(tmp)
        with atomic_output(out / "tokens.offsets.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
        levels = table.column("level").to_pylist() if "level" in table.column_names else None
        atomic_write_json(
            out / "export.json",
            {
                "format": "tokens",
                "source": str(source),
                "documents": len(ids),
                "tokens": int(sizes.sum()),
                "dtype": dtype.name,
                "vocab_size": encoder.vocab_size,
                "eos_id": encoder.eos_id,
                "token_unit": encoder.name,
                "levels": levels,
                "files": {"tokens": "tokens.bin", "offsets": "tokens.offsets.npy"},
            },
        )


def run_external(
    payload: dict[str, Any], env: dict[str, str] | None = None, pass_fds: Sequence[int] = ()
) -> None:
    """Run one cell's command (unless it has done.json) and collect its metrics into the run folder.

    Args:
        payload: `ExternalRun.payload(threads)`.
        env: the command's environment (default this process's); OMP_NUM_THREADS is set to the
            cell's threads when the grid gives it a count.
        pass_fds: descriptors the command inherits (local GPU slot locks, held while it runs).
    """
    run_dir = Path(payload["run_dir"])
    if (run_dir / "done.json").is_file():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "command.log"
    with folder_lock(run_dir):
        (run_dir / "error.json").unlink(missing_ok=True)  # a rerun tries a failed cell again
        atomic_write_json(run_dir / "config.json", _header(payload))
        env = dict(os.environ if env is None else env)
        if payload["threads"]:
            env["OMP_NUM_THREADS"] = str(payload["threads"])
        with log.open("ab") as handle:
            handle.write(f"$ {describe(payload)}\n".encode())
            handle.flush()
            try:
                code = subprocess.run(
                    payload["argv"], cwd=payload["cwd"], stdout=handle, stderr=subprocess.STDOUT, env=env,
                    pass_fds=tuple(pass_fds), preexec_fn=_default_ctrl_c,
                ).returncode  # fmt: skip
            except OSError as error:  # no such program, not executable, ...
                return _fail(run_dir, f"cannot start {payload['argv'][0]!r}: {error}", log)
        if code != 0:
            return _fail(run_dir, f"the trainer command exited with code {code}", log)
        try:
            collect(payload)
        except CurriscaleError as error:
            return _fail(run_dir, str(error), log)


def _default_ctrl_c() -> None:
    """In the command's process: Ctrl-C stops it even where the grid's pool worker ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _fail(run_dir: Path, reason: str, log: Path) -> None:
    atomic_write_json(
        run_dir / "error.json", {"error": f"cell {run_dir.name}: {reason}; see {log}", "log": str(log)}
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _header(payload: dict[str, Any]) -> dict[str, Any]:
    """config.json of an external run, written before its command starts."""
    values = payload["values"]
    model = GPTConfig.from_size(values["size"], values["vocab_size"], values["seq_len"])
    manifest = _read_json(Path(values["manifest"])) or {}
    return {
        "trainer": "external",
        "command": payload["argv"],
        "cwd": payload["cwd"],
        "metrics_file": payload["metrics"],
        "columns": payload["columns"],
        "request": values,
        **{key: values[key] for key in ("size", "seed", "lr", "lr_schedule", "batch_size", "seq_len")},
        "manifest": values["manifest"],
        "curriculum": manifest.get("name"),
        "pacing": manifest.get("pacing"),
        "n_params": model.n_params(),
        "non_embedding_params": model.non_embedding_params(),
        "params_source": "built-in model of this shape",
        "flops_per_token": model.flops_per_token(),
        "model": model.to_dict(),
        "budget_tokens": values["budget_tokens"],
        "total_steps": values["steps"],
        "tokenizer": values["tokenizer"],
        "exports": {name: job["out"] for name, job in payload["exports"].items()},
    }


def collect(payload: dict[str, Any]) -> RunResult:
    """Turn the command's metrics (and params) file into metrics.parquet, config.json and done.json.

    Raises:
        CurriscaleError: naming the file: missing, unreadable, without a mapped column, with
            non-numeric values, or with no row that has an eval loss.
    """
    run_dir = Path(payload["run_dir"])
    config = json.loads((run_dir / "config.json").read_text())
    if payload["params"]:
        config |= _params(Path(payload["params"]), config)
    table = metrics_table(Path(payload["metrics"]), payload["columns"], payload["values"], config)
    started = (run_dir / "config.json").stat()
    atomic_write_json(run_dir / "config.json", config)
    # config.json's time is when the run started (the grid's per-cell lines measure from it): keep it.
    os.utime(run_dir / "config.json", ns=(started.st_atime_ns, started.st_mtime_ns))
    with atomic_output(run_dir / "metrics.parquet") as tmp:
        pq.write_table(table, tmp)
    final = Records(run_dir).final_metrics()
    last = table.slice(table.num_rows - 1).to_pylist()[0]
    result = RunResult(str(run_dir), int(last["step"]), int(last["tokens"]), float(last["flops"]), final)
    atomic_write_json(run_dir / "done.json", result.__dict__)
    return result


def _params(path: Path, config: dict) -> dict[str, Any]:
    """The command's own parameter counts, and the FLOPs per token they imply."""
    counts = _read_json(path)
    if not isinstance(counts, dict):
        raise CurriscaleError(f"{path}: the params file (trainer.params) is missing or not a JSON object")
    found = {}
    for key in ("n_params", "non_embedding_params"):
        value = counts.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise CurriscaleError(f"{path}: {key} must be a positive integer, got {value!r}")
        if value is not None:
            found[key] = value
    if not found:
        raise CurriscaleError(f"{path}: has neither n_params nor non_embedding_params")
    model = config["model"]
    attention = 12 * model["n_layer"] * model["d_model"] * model["seq_len"]
    n_params = found.get("n_params", config["n_params"])
    return {**found, "params_source": str(path), "flops_per_token": 6 * n_params + attention}


def metrics_table(path: Path, columns: dict[str, str], values: dict[str, Any], config: dict) -> pa.Table:
    """The command's metrics file with curriscale's column names, `step` and `flops` filled in."""
    frame = _read_metrics(path)
    wanted = {**{name: name for name in ("tokens", "eval_loss")}, **columns}
    if "step" not in wanted and "step" in frame.columns:
        wanted["step"] = "step"
    missing = {name: column for name, column in wanted.items() if column not in frame.columns}
    if missing:
        name, column = next(iter(missing.items()))
        raise CurriscaleError(
            f"{path}: no column {column!r} for {name} (trainer.columns in the grid file); "
            f"its columns: {', '.join(map(str, frame.columns))}"
        )
    data = {}
    for name, column in wanted.items():
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers[frame[column].notna()].isna().any():
            raise CurriscaleError(f"{path}: column {column!r} ({name}) holds values that are not numbers")
        data[name] = numbers.astype(float)
    if not np.isfinite(data["tokens"]).all() or (data["tokens"] < 0).any():
        raise CurriscaleError(f"{path}: column {wanted['tokens']!r} (tokens) needs a count >= 0 on every row")
    if "step" in data and not np.isfinite(data["step"]).all():
        raise CurriscaleError(f"{path}: column {wanted['step']!r} (step) needs a number on every row")
    if data["eval_loss"].isna().all():
        raise CurriscaleError(f"{path}: column {wanted['eval_loss']!r} (eval loss) is empty on every row")
    per_step = values["batch_size"] * values["seq_len"]
    if "step" not in data:
        data["step"] = data["tokens"] // per_step
    if "flops" not in data:
        data["flops"] = data["tokens"] * float(config["flops_per_token"])
    head = ["step", "tokens", "flops", "lr", "train_loss", "eval_loss"]
    order = [c for c in head if c in data] + sorted(set(data) - set(head))
    integers = ("step", "tokens")
    return pa.table(
        {name: data[name].round().astype("int64") if name in integers else data[name] for name in order}
    )


def _read_metrics(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise CurriscaleError(f"{path}: the command wrote no metrics file (trainer.metrics)")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix in (".jsonl", ".json"):
            return pd.read_json(path, lines=True)
        return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    except Exception as error:  # pandas raises many types for a malformed file
        raise CurriscaleError(f"{path}: cannot read the metrics file: {error}") from None
