"""A manifest from someone else cannot make curriscale read, write or delete outside its folders.

Each case plants one escape in a valid curriculum (a tier name with `..` or an absolute path, a
file path leaving the folder, a symlink to outside). The real CLI must refuse with exit 2 and one
line, and everything outside the curriculum and the export folder must stay byte-identical,
including a `victim/` folder right where the old hf export wrote `tiers/<name>`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import curriscale, one_line_error, snapshot
from manifest_factory import write_curriculum

VERIFY = ("verify",)
EXPORT_HF = ("export", "--format", "hf")


def _edit(cur: Path, change: Callable[[dict], None]) -> None:
    path = cur / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _tier_name(name: str) -> Callable[[Path, Path], None]:
    def plant(cur: Path, victim: Path) -> None:
        _edit(cur, lambda data: data["tiers"][0].update(name=name.format(victim=victim)))

    return plant


def _file_path(path: str) -> Callable[[Path, Path], None]:
    """Point tier 0's first file at the victim's copy of it (same bytes and hash: only the path is wrong)."""

    def plant(cur: Path, victim: Path) -> None:
        _edit(cur, lambda data: data["tiers"][0]["files"][0].update(path=path.format(victim=victim)))

    return plant


def _symlinked_file(cur: Path, victim: Path) -> None:
    (cur / "tier=00/part-00000.parquet").unlink()
    (cur / "tier=00/part-00000.parquet").symlink_to(victim / "part-00000.parquet")


def _symlinked_tier_folder(cur: Path, victim: Path) -> None:
    shutil.rmtree(cur / "tier=01")
    (cur / "tier=01").symlink_to(victim, target_is_directory=True)


def _symlinked_rejected_folder(cur: Path, victim: Path) -> None:
    (cur / "rejected").symlink_to(victim, target_is_directory=True)  # no rejected file is listed


CASES = {
    "tier name with ..": (_tier_name("../../victim"), [VERIFY, EXPORT_HF]),
    "tier name absolute": (_tier_name("{victim}"), [VERIFY, EXPORT_HF]),
    "file path with ..": (_file_path("../victim/part-00000.parquet"), [VERIFY, EXPORT_HF]),
    "file path absolute": (_file_path("{victim}/part-00000.parquet"), [VERIFY, EXPORT_HF]),
    "symlinked tier file": (_symlinked_file, [VERIFY, EXPORT_HF]),
    "symlinked tier folder": (_symlinked_tier_folder, [VERIFY, EXPORT_HF]),
    # verify lists the Parquet files of rejected/ even when the manifest lists none there
    "symlinked rejected folder": (_symlinked_rejected_folder, [VERIFY]),
}


@pytest.fixture
def layout(tmp_path) -> tuple[Path, Path, Path]:
    """tmp/cur (a valid curriculum), tmp/out (export target), tmp/victim (copies of its tier files)."""
    cur = write_curriculum(tmp_path / "cur", [12, 10], [[1.0, 0.0], [0.5, 0.5]]).parent
    victim = tmp_path / "victim"
    victim.mkdir()
    for part in sorted((cur / "tier=00").glob("*.parquet")):
        shutil.copy(part, victim / part.name)
    (victim / "keep.txt").write_text("must survive")
    return cur, tmp_path / "out", victim


def test_the_untouched_curriculum_passes(layout):
    cur, out, _ = layout
    assert curriscale("verify", cur).returncode == 0
    assert curriscale(*EXPORT_HF, cur, "--out", out).returncode == 0
    assert (out / "tiers" / "tier=00").is_dir()


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_an_escape_is_refused_and_nothing_outside_changes(layout, tmp_path, case):
    cur, out, victim = layout
    plant, commands = CASES[case]
    plant(cur, victim)
    before = snapshot(tmp_path, skip=(cur, out))
    for command in commands:
        line = one_line_error(curriscale(*command, cur, *(("--out", out) if command == EXPORT_HF else ())))
        assert any(why in line for why in ("escapes", "does not match", "not a safe name")), line
    assert snapshot(tmp_path, skip=(cur, out)) == before
    assert (victim / "keep.txt").read_text() == "must survive"


def test_a_grid_curriculum_name_cannot_place_a_cell_outside_the_runs_folder(layout, tmp_path):
    cur, _, victim = layout
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        f"sizes: [s0]\nmanifests: {{'../../../victim': {cur / 'manifest.json'}}}\nbudget: {{tokens: 1000}}\n"
    )
    runs = tmp_path / "runs"
    before = snapshot(tmp_path, skip=(runs,))
    line = one_line_error(curriscale("grid", grid, "--out", runs))
    assert "cell name" in line and "not a safe name" in line, line
    assert snapshot(tmp_path, skip=(runs,)) == before
