"""Bad inputs, one table: each row names the input, the command, the exit code and the message.

A row with exit code 2 must fail with one error line and leave the whole test folder as it was
(nothing written, nothing half-written). A row with exit code 0 is input that the command takes,
setting the bad documents aside with the expected reason, and must account for every document:
`score` keeps documents_in = scored + rejected, `build` passes `curriscale verify`.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from cli_helpers import curriscale, one_line_error, snapshot
from curriculum_fixtures import recipe_dict, write_scored
from manifest_factory import write_curriculum

GOOD = [{"id": f"d{i}", "text": f"The cat sat on mat number {i}. It was happy there."} for i in range(6)]


def _jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_bytes(data)


def _write_in(folder: str, name: str, data: bytes) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        (tmp / folder).mkdir()
        (tmp / folder / name).write_bytes(data)

    return make


def _recipe(**changes) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        write_scored(tmp / "scored", n=200)
        (tmp / "recipe.yaml").write_text(yaml.safe_dump(recipe_dict(**changes)))

    return make


def _int_text(tmp: Path) -> None:
    # A good file beside the bad one: with nothing scorable at all, score is exit 2 (test_score.py).
    (tmp / "in").mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "text": [1, 2]}), tmp / "in" / "bad.parquet")
    pq.write_table(pa.table({"id": ["c"], "text": ["A good document."]}), tmp / "in" / "good.parquet")


def _nan_difficulty(tmp: Path) -> None:
    write_scored(tmp / "scored", n=200)
    table = pq.read_table(tmp / "scored/scored/part-00000.parquet")
    ages = table.column("reading_age").to_numpy(zero_copy_only=False).copy()
    ages[::10] = np.nan
    table = table.set_column(table.schema.get_field_index("reading_age"), "reading_age", pa.array(ages))
    pq.write_table(table, tmp / "scored/scored/part-00000.parquet")
    (tmp / "recipe.yaml").write_text(yaml.safe_dump(recipe_dict()))


def _curriculum(change: Callable[[Path, dict], None]) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        manifest = write_curriculum(tmp / "cur", [10, 8], [[1.0, 0.0], [0.5, 0.5]])
        (tmp / "outside").mkdir()
        shutil.copy(tmp / "cur/tier=00/part-00000.parquet", tmp / "outside/part-00000.parquet")
        data = json.loads(manifest.read_text())
        change(tmp, data)
        manifest.write_text(json.dumps(data))

    return make


def _tamper_sha(tmp: Path, data: dict) -> None:
    data["tiers"][0]["files"][0]["sha256"] = "f" * 64


def _dotdot_tier(tmp: Path, data: dict) -> None:
    data["tiers"][0]["name"] = "../outside"


def _absolute_file(tmp: Path, data: dict) -> None:
    data["tiers"][0]["files"][0]["path"] = str(tmp / "outside/part-00000.parquet")


def _symlink_out(tmp: Path, data: dict) -> None:
    (tmp / "cur/tier=00/part-00000.parquet").unlink()
    (tmp / "cur/tier=00/part-00000.parquet").symlink_to(tmp / "outside/part-00000.parquet")


def _grid(size: str) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        manifest = write_curriculum(tmp / "cur", [10, 8], [[1.0, 0.0], [0.5, 0.5]])
        grid = {"sizes": [size], "manifests": {"a": str(manifest)}, "budget": {"tokens": 1000}}
        (tmp / "grid.yaml").write_text(yaml.safe_dump(grid))

    return make


TRAIN = (
    "train",
    "--manifest",
    "cur/manifest.json",
    "--size",
    "s0",
    "--budget-tokens",
    "2048",
    "--batch-size",
    "4",
)
TRAIN += ("--seq-len", "32", "--n-evals", "1", "--out", "run")


def _checkpoint_of_another_shape(tmp: Path) -> None:
    """A finished s0 run, reopened (no done.json), whose checkpoint holds an s1 model's weights."""
    from safetensors.torch import save_file

    from curriscale.train.model import GPT, GPTConfig

    write_curriculum(tmp / "cur", [10, 8], [[1.0, 0.0], [0.5, 0.5]])
    assert curriscale(*TRAIN, cwd=tmp).returncode == 0
    model = json.loads((tmp / "run/config.json").read_text())["model"]
    other = GPT(GPTConfig.from_size("s1", model["vocab_size"], model["seq_len"]))
    save_file(other.state_dict(), tmp / "run/checkpoint/model.safetensors")
    (tmp / "run/done.json").unlink()


def _gigabyte_line(tmp: Path) -> None:
    """Good records around one 1 GiB line (sparse on disk: its text is NUL bytes, so nothing parses it)."""
    with open(tmp / "in.jsonl", "wb") as handle:
        handle.write(_jsonl(GOOD[:3]) + b'{"id": "huge", "text": "')
        handle.seek(1 << 30, 1)
        handle.write(b'"}\n' + _jsonl(GOOD[3:]))


def _run_of_a_later_version(tmp: Path) -> None:
    """A finished run, reopened (no done.json), whose config.json says a later run-folder version."""
    write_curriculum(tmp / "cur", [10, 8], [[1.0, 0.0], [0.5, 0.5]])
    assert curriscale(*TRAIN, cwd=tmp).returncode == 0
    config = json.loads((tmp / "run/config.json").read_text())
    (tmp / "run/config.json").write_text(json.dumps({**config, "version": 2}))
    (tmp / "run/done.json").unlink()


def line_set_aside(out: Path) -> dict[str, int]:
    """The over-long line is in rejected/ by its line number, with only its first bytes kept."""
    rejected = pq.read_table(out / "rejected").to_pylist()
    [huge] = [r for r in rejected if r["id"] == "in-4"]
    assert len(huge["text"]) <= 1000 and huge["text"].startswith('{"id": "huge"')
    return score_accounts(out)


def score_accounts(out: Path) -> dict[str, int]:
    """The rejection reasons of a scoring run, after checking that every document is accounted for."""
    stats = json.loads((out / "score_stats.json").read_text())
    assert stats["documents_in"] == stats["scored"] + stats["rejected"], stats
    return stats["rejected_reasons"]


def duplicates_counted(out: Path) -> dict[str, int]:
    """Duplicate ids are kept (ids stay as given) and counted in score_stats.json."""
    assert json.loads((out / "score_stats.json").read_text())["duplicate_ids"] == 2
    return score_accounts(out)


def everything_scored(out: Path) -> dict[str, int]:
    """A huge document is scored (on its first characters), not rejected or dropped."""
    stats = json.loads((out / "score_stats.json").read_text())
    assert stats["scored"] == stats["documents_in"] == 7
    return score_accounts(out)


def build_accounts(out: Path) -> dict[str, int]:
    """The rejection reasons of a build, after `curriscale verify` (hashes, counts, conservation)."""
    assert curriscale("verify", out).returncode == 0
    return json.loads((out / "manifest.json").read_text())["rejected"]["reasons"]


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], None]  # writes the input into the test folder
    command: tuple[str, ...]  # run in the test folder; "out" is the output folder
    code: int
    message: str | None  # regex: in the error line (code 2), or a rejection reason (code 0; None: none)
    accounts: Callable[[Path], dict[str, int]] | None = None  # code 0: checks and returns the reasons


SCORE = ("score", "in.jsonl", "--scorer", "text_stats", "--out", "out")
BUILD = ("build", "scored", "--recipe", "recipe.yaml", "--out", "out")
_gz = gzip.compress(_jsonl(GOOD * 40))

CASES = {
    "non-UTF-8 bytes": Case(
        _write("in.jsonl", _jsonl(GOOD[:2]) + b'{"id": "x", "text": "caf\xe9"}\n' + _jsonl(GOOD[2:])),
        SCORE, 0, r"binary or invalid UTF-8", score_accounts,
    ),
    "NUL bytes": Case(
        _write("in.jsonl", _jsonl(GOOD[:3]) + b'{"id": "n", "text": "raw \x00 nul"}\n'),
        SCORE, 0, r"malformed JSON", score_accounts,
    ),
    "empty file": Case(_write("in.jsonl", b""), SCORE, 0, None, score_accounts),
    "duplicate ids": Case(_write("in.jsonl", _jsonl(GOOD + GOOD[:2])), SCORE, 0, None, duplicates_counted),
    "non-Latin text": Case(
        _write("in.jsonl", _jsonl([*GOOD, {"id": "ru", "text": "Кошка сидела на коврике. Ей было хорошо."}])),
        ("score", "in.jsonl", "--scorer", "reading_age", "--out", "out"), 0, r"not Latin script", score_accounts,
    ),
    "a single 20 MB document": Case(
        _write("in.jsonl", _jsonl([*GOOD, {"id": "big", "text": "The dog ran far. " * 1_250_000}])),
        SCORE, 0, None, everything_scored,
    ),
    "a 1 GB line": Case(
        _gigabyte_line, SCORE, 0, r"line of 1,073,741,8\d\d bytes is longer than the 64 MiB limit", line_set_aside
    ),
    "truncated .gz": Case(
        _write("in.jsonl.gz", _gz[: len(_gz) // 2]),
        ("score", "in.jsonl.gz", "--out", "out"), 2, r"in\.jsonl\.gz: cannot read .*end-of-stream",
    ),
    "Parquet text of the wrong type": Case(
        _int_text, ("score", "in", "--scorer", "text_stats", "--out", "out"), 0,
        r"text is not a string", score_accounts,
    ),
    "missing text field": Case(
        _write("in.jsonl", _jsonl([{"id": "q", "body": "hello"}])), SCORE, 2, r"in\.jsonl:1: no field 'text'"
    ),
    "NaN difficulty values": Case(_nan_difficulty, BUILD, 0, r"missing value \(null or NaN\)", build_accounts),
    "recipe with an unknown key": Case(_recipe(colour="blue"), BUILD, 2, r"colour: unknown field"),
    "zero budget": Case(_recipe(budget={"tokens": 0}), BUILD, 2, r"budget\.tokens: must be an integer >= 1"),
    "negative budget": Case(
        _recipe(), (*BUILD, "--budget-tokens", "-5"), 2, r"budget\.tokens: must be an integer >= 1, got -5"
    ),
    "manifest with a tampered sha256": Case(
        _curriculum(_tamper_sha), ("verify", "cur"), 2, r"tier=00/part-00000\.parquet: sha256 mismatch"
    ),
    "tier name with ..": Case(
        _curriculum(_dotdot_tier), ("export", "cur", "--format", "hf", "--out", "out"), 2, r"tiers\.0\.name"
    ),
    "absolute file path": Case(
        _curriculum(_absolute_file), ("verify", "cur"), 2, r"tiers\.0\.files\.0\.path: .* escapes"
    ),
    "symlink pointing outside": Case(
        _curriculum(_symlink_out), ("export", "cur", "--format", "jsonl", "--out", "out"), 2,
        r"tiers\.0\.files\.0\.path: 'tier=00/part-00000\.parquet' escapes",
    ),
    "checkpoint from another model shape": Case(
        _checkpoint_of_another_shape, TRAIN, 2, r"run/checkpoint/model\.safetensors: damaged or not this model's weights",
    ),
    "run folder of a later version": Case(
        _run_of_a_later_version, TRAIN, 2, r"run/config\.json: a run folder of format version 2; this curriscale reads version 1"
    ),
    "manifest that is not JSON": Case(
        _write_in("cur", "manifest.json", b"{ not json"), TRAIN, 2, r"cur/manifest\.json: cannot read manifest"
    ),
    "grid with an unknown size": Case(_grid("s99"), ("grid", "grid.yaml", "--out", "out"), 2, r"'s99': unknown"),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_bad_input(name, tmp_path):
    case = CASES[name]
    case.make(tmp_path)
    before = snapshot(tmp_path)
    result = curriscale(*case.command, cwd=tmp_path)
    if case.code == 2:
        assert re.search(case.message, one_line_error(result)), result.stderr
        assert snapshot(tmp_path) == before  # nothing written, nothing half-written
    else:
        assert result.returncode == 0, result.stderr
        reasons = case.accounts(tmp_path / "out")
        if case.message is None:
            assert reasons == {}
        else:
            assert any(re.search(case.message, reason) for reason in reasons), reasons
        assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("out/")} == before
