"""verify_curriculum: a clean build passes; corruption, loss and miscounts are caught by name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from curriculum_fixtures import recipe_dict, write_scored

from curriscale.builders.build import build_curriculum
from curriscale.builders.verify import check_curriculum, verify_curriculum
from curriscale.curricula.recipe import Recipe
from curriscale.errors import CurriscaleError


@pytest.fixture
def curriculum(tmp_path) -> Path:
    scored = write_scored(tmp_path / "scored", n=300)
    build_curriculum(scored, Recipe.from_dict(recipe_dict(tiers={"quantiles": 3})), tmp_path / "cur")
    return tmp_path / "cur"


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_clean_build_verifies(curriculum):
    report = verify_curriculum(curriculum)
    assert report.ok and report.files_checked == 5  # three tiers + scoring and builder rejects
    assert report.documents == report.input_documents == 302


@pytest.mark.parametrize("target", ["tier=01/part-00000.parquet", "rejected/part-00000.parquet"])
def test_a_flipped_byte_is_caught_naming_the_file(curriculum, target):
    path = curriculum / target
    flip_byte(path, path.stat().st_size // 2)
    with pytest.raises(CurriscaleError, match=f"{target}: sha256 mismatch"):
        verify_curriculum(curriculum)


def test_missing_and_unlisted_files_are_reported(curriculum):
    (curriculum / "tier=02/part-00000.parquet").rename(curriculum / "tier=02/part-00007.parquet")
    problems = check_curriculum(curriculum).problems
    assert "tier=02/part-00000.parquet: missing" in problems
    assert "tier=02/part-00007.parquet: not listed in the manifest" in problems


def test_conservation_and_count_mismatches(curriculum):
    manifest_path = curriculum / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["inputs"][0]["documents"] += 1
    data["tiers"][1]["files"][0]["rows"] -= 1
    manifest_path.write_text(json.dumps(data))
    problems = check_curriculum(curriculum).problems
    assert "conservation: 303 input documents, but tiers + rejected hold 302" in problems
    assert any(p.startswith("tiers.1: files hold") for p in problems)
    assert any(p.startswith("tier=01/part-00000.parquet:") and "rows, manifest says" in p for p in problems)


def test_cli_verify_exits_2_naming_the_bad_file(curriculum):
    flip_byte(curriculum / "tier=00/part-00000.parquet", 100)
    command = [sys.executable, "-c", "from curriscale.cli.app import main; main()", "verify", str(curriculum)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "tier=00/part-00000.parquet: sha256 mismatch" in done.stderr
