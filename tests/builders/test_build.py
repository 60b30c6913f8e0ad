"""build_curriculum: tiers, ladders, composites, rejects, determinism and crash-resume."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from curriculum_fixtures import MISSING, recipe_dict, write_scored
from typer.testing import CliRunner

from curriscale.builders import tier_pass
from curriscale.builders.build import build_curriculum
from curriscale.cli.app import app
from curriscale.curricula.manifest import load_manifest
from curriscale.curricula.recipe import Recipe, load_recipe
from curriscale.errors import CurriscaleError


def read_tier(manifest, index: int) -> pa.Table:
    files = manifest.tier_files(index)
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else None


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def difficulty_min(table: pa.Table) -> float:
    return float(np.min(table["difficulty"].to_numpy()))


def difficulty_max(table: pa.Table) -> float:
    return float(np.max(table["difficulty"].to_numpy()))


def build_default(scored: Path, out: Path):
    return build_curriculum(scored, Recipe.from_dict(recipe_dict()), out)


@pytest.fixture
def scored(tmp_path) -> Path:
    return write_scored(tmp_path / "scored_run", n=600)


def test_quantile_tiers_are_balanced_and_ordered(scored, tmp_path):
    manifest = build_curriculum(scored, Recipe.from_dict(recipe_dict()), tmp_path / "out")
    counts = [t["documents"] for t in manifest.tiers]
    assert sum(counts) == 600 - len(MISSING)
    assert max(counts) - min(counts) <= 1
    tables = [read_tier(manifest, i) for i in range(5)]
    for low, high in zip(tables, tables[1:], strict=False):
        assert difficulty_max(low) <= difficulty_min(high)
    for table, tier in zip(tables, manifest.tiers, strict=True):
        np.testing.assert_allclose(table["difficulty"].to_numpy(), table["reading_age"].to_numpy())
        assert tier["bounds"][0] <= difficulty_min(table) and difficulty_max(table) <= tier["bounds"][1]
        assert tier["tokens"] == sum(len(t.split()) for t in table["text"].to_pylist())
        ids = table["id"].to_pylist()
        assert ids == sorted(ids)  # input order is kept within a tier
        assert {"id", "text", "level", "prompt", "answer", "difficulty"} <= set(table.column_names)
    assert manifest.data["token_unit"] == "whitespace"


def test_rejects_and_conservation(scored, tmp_path):
    manifest = build_curriculum(scored, Recipe.from_dict(recipe_dict()), tmp_path / "out")
    rejected = manifest.data["rejected"]
    assert rejected["documents"] == 2 + len(MISSING)
    assert rejected["reasons"]["empty text"] == 2
    table = pa.concat_tables(pq.read_table(manifest.root / f["path"]) for f in rejected["files"])
    assert table.column_names == ["id", "text", "reason", "source"]
    assert table["id"].to_pylist() == ["bad-0", "bad-1"] + [f"doc-{i:05d}" for i in MISSING]
    assert table["source"].to_pylist()[2:] == [f"scored/part-00000.parquet:{i}" for i in MISSING]
    placed = sum(t["documents"] for t in manifest.tiers)
    assert placed + rejected["documents"] == sum(i["documents"] for i in manifest.data["inputs"]) == 602
    assert [i["path"] for i in manifest.data["inputs"]] == [
        "scored/part-00000.parquet",
        "scored/part-00001.parquet",
        "rejected/part-00000.parquet",
    ]
    assert manifest.data["scorers"][0]["name"] == "reading_age"


def test_categorical_ladder_follows_the_order(scored, tmp_path):
    recipe = recipe_dict(tiers={"column": "level", "order": [5, 4, 3, 2, 1, 0]})
    del recipe["difficulty"]
    manifest = build_curriculum(scored, Recipe.from_dict(recipe), tmp_path / "out")
    assert [t["label"] for t in manifest.tiers] == [5, 4, 3, 2, 1, 0]
    for i, tier in enumerate(manifest.tiers):
        table = read_tier(manifest, i)
        assert set(table["level"].to_pylist()) == {5 - i}
        assert set(table["difficulty"].to_pylist()) == {float(i)}
        assert tier["bounds"] is None
    assert manifest.data["difficulty"] == {
        "columns": {"level": 1.0},
        "normalise": "order",
        "order": [5, 4, 3, 2, 1, 0],
    }
    assert manifest.data["rejected"]["documents"] == 2  # level is never missing


def test_labels_outside_the_order_are_rejected(scored, tmp_path):
    recipe = recipe_dict(tiers={"column": "task", "order": ["cloze", "qa_fact"]})
    manifest = build_curriculum(scored, Recipe.from_dict(recipe), tmp_path / "out")
    assert [t["label"] for t in manifest.tiers] == ["cloze", "qa_fact"]
    assert set(read_tier(manifest, 1)["task"].to_pylist()) == {"qa_fact"}
    reasons = manifest.data["rejected"]["reasons"]
    placed = sum(t["documents"] for t in manifest.tiers)
    assert reasons["task: label missing or not in tiers.order"] == 600 - placed


def test_composite_difficulty_uses_global_ranks_and_negative_weights(scored, tmp_path):
    recipe = recipe_dict(difficulty={"columns": {"reading_age": 1.0, "flesch_ease": -1.0}})
    manifest = build_curriculum(scored, Recipe.from_dict(recipe), tmp_path / "out")
    table = pa.concat_tables([read_tier(manifest, i) for i in range(5)])
    age, difficulty = table["reading_age"].to_numpy(), table["difficulty"].to_numpy()
    # flesch_ease falls as reading age rises, so both terms agree: difficulty tracks reading age.
    assert np.corrcoef(age, difficulty)[0, 1] > 0.95
    assert difficulty.min() >= -1.0 and difficulty.max() <= 1.0
    assert manifest.data["difficulty"] == {
        "columns": {"reading_age": 1.0, "flesch_ease": -1.0},
        "normalise": "rank",
    }


def test_n_tokens_column_is_used_when_present(tmp_path):
    table = pa.table({"id": ["a", "b", "c"], "text": ["x y", "x", "x y z"], "score": [1.0, 2.0, 3.0]})
    pq.write_table(table.append_column("n_tokens", pa.array([10, 20, 30])), tmp_path / "one.parquet")
    recipe = Recipe.from_dict(recipe_dict(difficulty="score", tiers={"edges": [1.5]}))
    manifest = build_curriculum(tmp_path / "one.parquet", recipe, tmp_path / "out")
    assert manifest.data["token_unit"] == "n_tokens"
    assert [t["tokens"] for t in manifest.tiers] == [10, 50]
    assert [t["bounds"] for t in manifest.tiers] == [[None, 1.5], [1.5, None]]
    assert manifest.data["inputs"][0]["path"] == "one.parquet"


def test_missing_column_names_the_recipe_field(scored, tmp_path):
    recipe = Recipe.from_dict(
        recipe_dict(difficulty={"columns": {"reading_age": 1, "model_nll": 1}}), "r.yaml"
    )
    with pytest.raises(
        CurriscaleError, match=r"r\.yaml: difficulty\.columns\.model_nll: column 'model_nll' not in"
    ):
        build_curriculum(scored, recipe, tmp_path / "out")


def test_refuses_to_overwrite_a_folder_that_is_not_a_curriculum(scored, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(CurriscaleError, match="holds no manifest.json"):
        build_default(scored, out)
    assert (out / "precious.txt").read_text() == "keep me"


def test_same_input_and_seed_give_identical_bytes_and_rebuild_replaces(scored, tmp_path):
    build_default(scored, tmp_path / "a")
    build_default(scored, tmp_path / "b")
    first = folder_bytes(tmp_path / "a")
    assert first == folder_bytes(tmp_path / "b")
    assert "tier=04/part-00000.parquet" in first and "manifest.json" in first
    build_default(scored, tmp_path / "a")  # rebuilding over a curriculum replaces it
    assert folder_bytes(tmp_path / "a") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "scored_run"]  # no leftovers


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from curriscale.builders import build, tier_pass
    from curriscale.curricula.recipe import load_recipe

    tier_pass.BATCH_ROWS = 100  # many batches, so the kill lands in the middle of the tier pass
    def die(rows_done):
        if rows_done >= 300:
            os.kill(os.getpid(), signal.SIGKILL)
    build.build_curriculum(sys.argv[1], load_recipe(sys.argv[2]), sys.argv[3], progress=die)
    """
)


def test_sigkill_mid_build_then_rerun_is_byte_identical(scored, tmp_path):
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(
        "name: killed\ndifficulty: reading_age\ntiers: {quantiles: 3}\n"
        "pacing: {kind: root}\nbudget: {tokens: 5000}\n"
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(scored), str(recipe_path), str(out)], check=False
    )
    assert done.returncode == -9
    assert (tmp_path / ".out.partial").is_dir() and not out.exists()  # killed mid-way, nothing published
    build_curriculum(scored, load_recipe(recipe_path), out)
    build_curriculum(scored, load_recipe(recipe_path), tmp_path / "clean")
    assert folder_bytes(out) == folder_bytes(tmp_path / "clean")
    assert not (tmp_path / ".out.partial").exists()


def test_cli_build_with_overrides(scored, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(scored),
            "--recipe",
            "static-mix",
            "--out",
            str(tmp_path / "out"),
            "--budget-tokens",
            "12345",
            "--seed",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = load_manifest(tmp_path / "out")
    assert manifest.total == 12345 and manifest.data["seed"] == 7
    assert manifest.data["pacing"]["kind"] == "static" and len(manifest.schedule) == 1
    assert manifest.data["divergence_from_static"] == pytest.approx(0.0, abs=1e-9)


def test_datatrove_workers_give_the_same_bytes(scored, tmp_path, monkeypatch):
    monkeypatch.setattr(tier_pass, "GROUP_ROWS", 200)  # 600 rows in two files -> two groups
    recipe = Recipe.from_dict(recipe_dict())
    build_curriculum(scored, recipe, tmp_path / "serial", workers=1)
    manifest = build_curriculum(scored, recipe, tmp_path / "parallel", workers=2)
    assert len(manifest.tiers[0]["files"]) == 2  # one part per group and tier
    assert folder_bytes(tmp_path / "parallel") == folder_bytes(tmp_path / "serial")


def test_cli_build_warns_about_empty_tiers_and_names_a_file_that_is_not_parquet(scored, tmp_path):
    recipe = tmp_path / "edges.yaml"
    # Every reading age in the fixture lies below 1000: the two upper tiers stay empty.
    recipe.write_text(yaml.safe_dump(recipe_dict(tiers={"edges": [1000.0, 2000.0]})))
    result = CliRunner().invoke(
        app, ["build", str(scored), "--recipe", str(recipe), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "warning: tier(s) 1, 2 of 3 are empty" in " ".join(result.output.split())
    not_parquet = tmp_path / "scored.parquet"
    not_parquet.write_text('{"text": "a JSON line, not Parquet"}\n')
    with pytest.raises(CurriscaleError, match=r"scored\.parquet: not a readable Parquet file"):
        build_curriculum(not_parquet, Recipe.from_dict(recipe_dict()), tmp_path / "o2")
