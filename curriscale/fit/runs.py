"""Load a training grid into two tidy tables: one row per run, and one row per logged step.

A grid folder `RUNS/` holds `runs.parquet` (the index the grid runner writes: `cell`, `run_dir`,
`size`, `curriculum`, `lr_schedule`, `seed`, `non_embedding_params`, `status`, ...) and one run
folder per row with `config.json` and `metrics.parquet`. Everything downstream (comparisons,
critical points, scaling fits, plots) reads the two tables built here, so the checks live here too:
a broken run folder raises `CurriscaleError` naming that folder, instead of a KeyError three modules
later.

The per-run table carries, besides the index columns, each metric's value at the run's last
evaluation checkpoint (`eval_loss`, `accuracy_level_3`, `ood_eval_loss`, ...) and `pacing_kind`, read
from the run's manifest so the static-mix baseline can be found without naming it.

Chance accuracy. Exact-match accuracy is not measured from zero: a yes/no level is at chance at
0.5 and a level choosing among a few entities at 1/k or so. The trainer records, per run,
`eval_chance_accuracy` and `ood_chance_accuracy` in config.json (`{"<level>": share of the
majority answer}`, level ids as in `accuracy_level_<k>`). `Grid.chance` maps every accuracy
column to its chance level: the largest any run recorded (they share an eval set; the largest is
the cautious choice if not), 0 where no run recorded one (older grids, other trainers), and for
`mean_accuracy` / `ood_mean_accuracy` the mean over the levels, as those average the levels.
`clearly_above_chance` is the one test every module uses to tell learning from a guess rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from curriscale.errors import CurriscaleError
from curriscale.run_format import check_run_format

INDEX_COLUMNS = ("run_dir", "size", "curriculum", "lr_schedule", "seed", "non_embedding_params")
METRIC_COLUMNS = ("step", "tokens", "eval_loss")
# Columns that describe a checkpoint rather than measure the model at it.
# tokens_per_s and mfu are wall-clock figures of the hardware, not of the model; train_loss and
# distill_kl (a distilled run's KL to its teacher, `train/distill.py`) are measured on training batches.
_NOT_METRICS = {"step", "tokens", "flops", "lr", "train_loss", "distill_kl", "tokens_per_s", "mfu"}
# config.json key -> prefix of the accuracy columns whose chance level it records.
CHANCE_KEYS = {"eval_chance_accuracy": "accuracy_level_", "ood_chance_accuracy": "ood_accuracy_level_"}
_MEAN_ACCURACY = {"mean_accuracy": "accuracy_level_", "ood_mean_accuracy": "ood_accuracy_level_"}
# An accuracy counts as above chance only from chance + this share of the room above chance.
CHANCE_MARGIN = 0.1


def clearly_above_chance(accuracy: float | None, chance: float, margin: float = CHANCE_MARGIN) -> bool:
    """Whether `accuracy` reaches `chance + margin * (1 - chance)` (False for a missing value).

    With chance 0.5 (yes/no answers) that is 0.55; with chance 0 it is 0.1, which also keeps a
    handful of lucky answers on a small eval set from counting as learning.
    """
    if accuracy is None or not accuracy == accuracy:  # None or NaN
        return False
    return accuracy >= chance + margin * (1.0 - chance)


@dataclass
class Grid:
    """A loaded grid.

    Attributes:
        root: the grid folder.
        runs: one row per finished run: index columns, `run` (= run_dir), `pacing_kind`,
            `budget_tokens`, and the final value of every evaluation metric.
        curves: every metrics row of every run, with the run's identity columns joined on.
        configs: each run's config.json, keyed by `run`.
        skipped: runs left out (not finished), as `{run: reason}`.
        chance: chance accuracy of every accuracy column (see the module docstring).
        chance_recorded: whether any run recorded its chance accuracy (else every chance is 0).
    """

    root: Path
    runs: pd.DataFrame
    curves: pd.DataFrame
    configs: dict[str, dict] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    chance: dict[str, float] = field(default_factory=dict)
    chance_recorded: bool = False

    def metric_columns(self, prefix: str) -> list[str]:
        """Final-metric columns starting with `prefix`, e.g. `accuracy_level_` -> levels in order."""
        found = [c for c in self.runs.columns if c.startswith(prefix) and c[len(prefix) :].isdigit()]
        return sorted(found, key=lambda c: int(c[len(prefix) :]))

    def chance_of(self, column: str) -> float:
        """Chance accuracy of an accuracy column (0 when unknown)."""
        return self.chance.get(column, 0.0)


def load_grid(runs_dir: str | Path) -> Grid:
    """Read `RUNS/runs.parquet` and every finished run folder it lists.

    A run counts as finished when its index `status` is `"done"` or its folder has `done.json`;
    other runs are listed in `Grid.skipped`.

    Args:
        runs_dir: the grid folder.

    Returns:
        The loaded `Grid`.

    Raises:
        CurriscaleError: the index is missing or lacks columns, or a run folder is missing its
            config or metrics, or its metrics lack `step`/`tokens`/`eval_loss` or any evaluation,
            or its recorded chance accuracy is malformed.
    """
    root = Path(runs_dir)
    index_path = root / "runs.parquet"
    if not index_path.is_file():
        raise CurriscaleError(f"{index_path}: grid index not found (is {root} a grid folder?)")
    index = pd.read_parquet(index_path)
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise CurriscaleError(f"{index_path}: missing columns {missing}")
    if index.empty:
        raise CurriscaleError(f"{index_path}: the grid has no runs")

    rows, curves, configs, skipped, recorded = [], [], {}, {}, {}
    for record in index.to_dict("records"):
        run = str(record["run_dir"])
        run_path = root / run
        if not _finished(record, run_path):
            skipped[run] = f"status {record.get('status')!r}"
            continue
        config, metrics = _read_run(run_path)
        configs[run] = config
        for column, value in _recorded_chance(config, run_path).items():
            recorded[column] = max(value, recorded.get(column, 0.0))
        identity = {c: record[c] for c in INDEX_COLUMNS} | {"run": run}
        identity["budget_tokens"] = record.get("budget_tokens", config.get("budget_tokens"))
        identity["pacing_kind"] = _pacing_kind(config, run_path, root)
        rows.append(identity | _final_metrics(metrics))
        curves.append(metrics.assign(**{k: identity[k] for k in ("run", *INDEX_COLUMNS[1:])}))
    if not rows:
        raise CurriscaleError(f"{index_path}: no finished runs ({len(skipped)} skipped)")
    runs = pd.DataFrame(rows).sort_values(["curriculum", "lr_schedule", "non_embedding_params", "seed"])
    grid = Grid(root, runs.reset_index(drop=True), pd.concat(curves, ignore_index=True), configs, skipped)
    grid.chance, grid.chance_recorded = _chance_table(grid, recorded), bool(recorded)
    return grid


def _recorded_chance(config: dict, run_path: Path) -> dict[str, float]:
    """Chance accuracy per accuracy column as the run's config.json records it (empty if it does not)."""
    out = {}
    for key, prefix in CHANCE_KEYS.items():
        recorded = config.get(key)
        if recorded is None:
            continue
        where = f"{run_path / 'config.json'}: {key}"
        if not isinstance(recorded, dict):
            raise CurriscaleError(f"{where} must map level ids to accuracies, got {recorded!r}")
        for level, value in recorded.items():
            if not str(level).isdigit():
                raise CurriscaleError(f"{where}: level id {level!r} is not a level number")
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise CurriscaleError(f"{where}: level {level}: {value!r} is not a number") from None
            if not 0.0 <= value <= 1.0:
                raise CurriscaleError(f"{where}: level {level}: {value} is not an accuracy in [0, 1]")
            out[f"{prefix}{int(level)}"] = value
    return out


def _chance_table(grid: Grid, recorded: dict[str, float]) -> dict[str, float]:
    """Chance of every accuracy column of the grid: recorded, else 0; means over levels for the means."""
    chance = {}
    for prefix in CHANCE_KEYS.values():
        for column in grid.metric_columns(prefix):
            chance[column] = recorded.get(column, 0.0)
    for mean, prefix in _MEAN_ACCURACY.items():
        levels = grid.metric_columns(prefix)
        if mean in grid.runs and levels:
            chance[mean] = float(sum(chance[c] for c in levels) / len(levels))
    return chance


def _finished(record: dict, run_path: Path) -> bool:
    status = record.get("status")
    return status is None or status == "done" or (run_path / "done.json").is_file()


def _read_run(run_path: Path) -> tuple[dict, pd.DataFrame]:
    """Read one run's config and metrics, naming the folder in every complaint."""
    if not run_path.is_dir():
        raise CurriscaleError(f"{run_path}: run folder not found")
    try:
        config = json.loads((run_path / "config.json").read_text())
    except FileNotFoundError:
        raise CurriscaleError(f"{run_path}: config.json not found") from None
    except json.JSONDecodeError as error:
        raise CurriscaleError(f"{run_path / 'config.json'}: malformed JSON: {error}") from None
    check_run_format(config, run_path / "config.json")
    metrics_path = run_path / "metrics.parquet"
    if not metrics_path.is_file():
        raise CurriscaleError(f"{run_path}: metrics.parquet not found")
    try:
        metrics = pd.read_parquet(metrics_path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise CurriscaleError(f"{metrics_path}: unreadable Parquet: {error}") from None
    missing = [c for c in METRIC_COLUMNS if c not in metrics.columns]
    if missing:
        raise CurriscaleError(f"{metrics_path}: missing columns {missing}")
    if metrics["eval_loss"].isna().all():
        raise CurriscaleError(f"{metrics_path}: no evaluation rows (eval_loss is empty everywhere)")
    return config, metrics.sort_values("step", kind="stable").reset_index(drop=True)


def _final_metrics(metrics: pd.DataFrame) -> dict[str, float]:
    """Each evaluation metric at the last checkpoint where it was measured."""
    final = {}
    for column in metrics.columns:
        if column in _NOT_METRICS or not pd.api.types.is_numeric_dtype(metrics[column]):
            continue
        observed = metrics[column].dropna()
        if not observed.empty:
            final[column] = float(observed.iloc[-1])
    final["final_tokens"] = float(metrics.loc[metrics["eval_loss"].notna(), "tokens"].iloc[-1])
    return final


def _pacing_kind(config: dict, run_path: Path, root: Path) -> str | None:
    """The pacing kind of the run's manifest, or None when the manifest cannot be read.

    The trainer records the manifest path as it was given (absolute, or relative to where it ran),
    so try it as is, then relative to the run folder and to the grid folder.
    """
    pacing = config.get("pacing")
    if isinstance(pacing, dict) and "kind" in pacing:
        return str(pacing["kind"])
    path = resolve_manifest(config, run_path, root)
    if path is None:
        return None
    try:
        return json.loads(path.read_text())["pacing"]["kind"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resolve_manifest(config: dict, run_path: Path, root: Path) -> Path | None:
    """Locate the manifest a run trained on (see `_pacing_kind`), or None."""
    recorded = config.get("manifest")
    if not recorded:
        return None
    for candidate in (Path(recorded), run_path / recorded, root / recorded):
        if candidate.is_file():
            return candidate
        if (candidate / "manifest.json").is_file():
            return candidate / "manifest.json"
    return None
