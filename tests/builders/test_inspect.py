"""inspect: tier and schedule tables and the two PNGs."""

from __future__ import annotations

import pytest
from curriculum_fixtures import recipe_dict, write_scored
from rich.console import Console
from typer.testing import CliRunner

from curriscale.builders.build import build_curriculum
from curriscale.builders.inspect import plot_curriculum, schedule_table, tier_difficulties, tier_table
from curriscale.cli.app import app
from curriscale.curricula.recipe import Recipe


@pytest.fixture
def manifest(tmp_path):
    scored = write_scored(tmp_path / "scored", n=200)
    recipe = recipe_dict(pacing={"kind": "ceiling_raise"}, tiers={"quantiles": 4})
    return build_curriculum(scored, Recipe.from_dict(recipe), tmp_path / "cur")


def render(table) -> str:
    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()


def test_tables_list_every_tier_and_interval(manifest):
    tiers = render(tier_table(manifest))
    for tier in manifest.tiers:
        assert tier["name"] in tiers and f"{tier['documents']:,}" in tiers
    assert "rejected: 4 documents" in tiers
    schedule = render(schedule_table(manifest))
    assert len(manifest.schedule) == 4  # the ceiling climbs through four tiers
    for interval in manifest.schedule:
        assert f"{interval['start']:,}" in schedule
    assert "ceiling_raise" in schedule


def test_explicit_edges_show_open_ends(tmp_path):
    scored = write_scored(tmp_path / "scored", n=100)
    recipe = Recipe.from_dict(recipe_dict(difficulty="reading_age", tiers={"edges": [10.0]}))
    tiers = render(tier_table(build_curriculum(scored, recipe, tmp_path / "cur")))
    assert "[-inf, 10]" in tiers and "[10, +inf]" in tiers


def test_plots_are_written(manifest, tmp_path):
    paths = plot_curriculum(manifest, tmp_path / "plots")
    assert [p.name for p in paths] == ["tier_weights.png", "difficulty_hist.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    values = tier_difficulties(manifest)
    assert [len(v) for v in values] == [t["documents"] for t in manifest.tiers]
    assert all(values[i].max() <= values[i + 1].min() for i in range(len(values) - 1))


def test_cli_inspect(manifest, tmp_path):
    result = CliRunner().invoke(app, ["inspect", str(manifest.root), "--plots", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "tier=03" in result.output
    assert (tmp_path / "p" / "tier_weights.png").is_file()
