"""hf exports replace their datasets by renames: leftovers of a crash are cleared, links are not followed."""

from __future__ import annotations

import pytest
from cli_helpers import snapshot
from manifest_factory import write_curriculum

from curriscale.builders.export import export_curriculum

datasets = pytest.importorskip("datasets")


@pytest.fixture
def manifest(tmp_path):
    return write_curriculum(tmp_path / "cur", [8, 6], [[1.0, 0.0], [0.5, 0.5]])


def test_a_rerun_replaces_the_datasets_and_clears_a_crashed_runs_leftovers(manifest, tmp_path):
    out = tmp_path / "hf"
    documents = export_curriculum(manifest, "hf", out)["documents"]
    # What a crash leaves: a half-saved staging folder, and an old dataset renamed away.
    (out / ".ordered.tmp").mkdir()
    (out / ".ordered.tmp" / "half.arrow").write_bytes(b"\0" * 10)
    (out / "ordered").rename(out / ".ordered.old")
    export_curriculum(manifest, "hf", out)
    assert sorted(p.name for p in out.iterdir()) == [
        "curriculum.manifest.json",
        "export.json",
        "interleave.json",
        "ordered",
        "tiers",
    ]
    assert len(datasets.load_from_disk(str(out / "ordered"))) == documents


def test_a_planted_link_in_the_output_is_replaced_not_followed(manifest, tmp_path):
    out, elsewhere = tmp_path / "hf", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    (out / "tiers").mkdir(parents=True)
    (out / "tiers" / "tier=00").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    export_curriculum(manifest, "hf", out)
    assert snapshot(elsewhere) == before
    assert not (out / "tiers" / "tier=00").is_symlink()
    assert len(datasets.load_from_disk(str(out / "tiers" / "tier=00"))) == 8
