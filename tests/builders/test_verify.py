"""verify_curriculum: a clean build passes; corruption, loss and miscounts are caught by name."""

from __future__ import annotations

import hashlib
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


# Exports: checked against the manifest they came from.

EXPORT_FORMATS = ["tokens", "jsonl", "hf", "megatron", "litdata", "deepspeed"]


@pytest.fixture
def ladder(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "curricula"))
    from manifest_factory import write_curriculum

    return write_curriculum(tmp_path / "ladder", [30, 20, 10], [[1.0, 0, 0], [0.5, 0.5, 0], [0.4, 0.3, 0.3]])


def export(ladder, fmt, out, **options):
    from curriscale.builders.exports import export_curriculum

    if fmt == "hf":
        pytest.importorskip("datasets")
    extra = {"train_batch_size": 4} if fmt == "deepspeed" else {}
    return export_curriculum(ladder, fmt, out, **extra, **options)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_a_clean_export_verifies_against_its_curriculum(ladder, tmp_path, fmt):
    from curriscale.builders.exports.verify import verify_export

    meta = export(ladder, fmt, tmp_path / "out")
    copy = tmp_path / "out" / "curriculum.manifest.json"
    assert copy.read_bytes() == (ladder.parent / "manifest.json").read_bytes()
    assert meta["manifest_sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    report = verify_export(tmp_path / "out")  # the curriculum is found through export.json's source
    assert report.ok and report.curriculum == ladder.parent and report.documents == meta["documents"]
    assert report.files_checked == len(meta["checksums"]) > 1


@pytest.mark.parametrize("fmt", ["tokens", "jsonl", "megatron", "litdata"])
def test_a_flipped_byte_in_an_export_is_caught_naming_the_file(ladder, tmp_path, fmt):
    from curriscale.builders.exports.verify import check_export

    meta = export(ladder, fmt, tmp_path / "out")
    name = next(n for n in meta["checksums"] if n.endswith((".bin", ".jsonl")))
    flip_byte(tmp_path / "out" / name, (tmp_path / "out" / name).stat().st_size // 2)
    assert f"{name}: sha256 mismatch (file changed or corrupted)" in check_export(tmp_path / "out").problems


def test_an_export_out_of_order_is_caught_even_with_fresh_checksums(ladder, tmp_path):
    from curriscale.builders.exports.verify import check_export
    from curriscale.io import sha256_file

    out = tmp_path / "out"
    export(ladder, "jsonl", out)
    lines = (out / "curriculum.jsonl").read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    (out / "curriculum.jsonl").write_text("".join(lines))
    meta = json.loads((out / "export.json").read_text())  # a consistent sidecar: only order can tell
    meta["checksums"]["curriculum.jsonl"] = {
        "bytes": (out / "curriculum.jsonl").stat().st_size,
        "sha256": sha256_file(out / "curriculum.jsonl"),
    }
    (out / "export.json").write_text(json.dumps(meta))
    problems = check_export(out).problems
    assert len(problems) == 1 and problems[0].startswith("order: document 3 is ")


def test_an_export_of_another_manifest_is_refused(ladder, tmp_path):
    from curriscale.builders.exports.verify import check_export

    export(ladder, "tokens", tmp_path / "out")
    data = json.loads((ladder.parent / "manifest.json").read_text())
    data["seed"] = data.get("seed", 0) + 1  # the curriculum changed since the export
    (ladder.parent / "manifest.json").write_text(json.dumps(data))
    problems = check_export(tmp_path / "out").problems
    assert any("not the manifest this export came from" in p for p in problems)


def test_cli_verify_an_export(ladder, tmp_path):
    export(ladder, "megatron", tmp_path / "out")
    command = [sys.executable, "-c", "from curriscale.cli.app import main; main()", "verify"]
    done = subprocess.run(
        [*command, str(tmp_path / "out"), "--manifest", str(ladder.parent)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "megatron export of" in done.stdout and "order checked against" in done.stdout
    (tmp_path / "out" / "tiers" / "tier=01.idx").write_bytes(b"junk")
    done = subprocess.run([*command, str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2 and "tiers/tier=01.idx: size" in done.stderr
