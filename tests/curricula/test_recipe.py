"""Recipe parsing: presets, defaults, round-trip, and errors that name the field."""

from __future__ import annotations

import copy

import pytest
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.curricula.recipe import Recipe, list_presets, load_recipe
from curriscale.errors import CurriscaleError

VALID = {
    "name": "mine",
    "difficulty": {"columns": {"reading_age": 0.7, "flesch_ease": -0.3}},
    "tiers": {"quantiles": 4},
    "pacing": {"kind": "competence", "params": {"start_fraction": 0.1}, "sampling": "exclusive"},
    "budget": {"steps": 1000, "tokens_per_step": 512},
    "lr_schedule": {"kind": "cosine", "params": {"warmup_fraction": 0.02}},
    "seed": 3,
}
REQUIRED_PRESETS = {
    "reading-age-ladder",
    "task-ladder",
    "model-difficulty",
    "composite",
    "static-mix",
    "anti-curriculum",
    "deepspeed-root",
    "warmup-curriculum",
    "full-ladder",
}


def test_presets_all_load_and_cover_the_required_curricula():
    presets = list_presets()
    assert REQUIRED_PRESETS <= set(presets)
    assert all(description for description in presets.values())
    ladder = load_recipe("reading-age-ladder")
    assert ladder.pacing.kind == "ceiling_raise" and ladder.pacing.params == {"warmup_fraction": 0.1}
    assert load_recipe("anti-curriculum").pacing.kind == "anti"
    warmup, full = load_recipe("warmup-curriculum").pacing, load_recipe("full-ladder").pacing
    assert (warmup.kind, warmup.sampling, warmup.params) == ("warmup", "exclusive", {"warmup_fraction": 0.2})
    assert (full.kind, full.params) == ("baby_steps", {"full_at": 1.0})
    assert load_recipe("static-mix").pacing.kind == "static"
    assert load_recipe("task-ladder").tiers.order == [0, 1, 2, 3, 4, 5]
    assert load_recipe("deepspeed-root").pacing.params["degree"] == 2


def test_parse_fills_defaults_and_round_trips():
    recipe = Recipe.from_dict(copy.deepcopy(VALID))
    assert recipe.difficulty == {"reading_age": 0.7, "flesch_ease": -0.3} and recipe.normalise == "rank"
    assert recipe.pacing.unit == "steps" and recipe.total == 1000 and recipe.budget_tokens == 512_000
    assert recipe.pacing.params == {"start_fraction": 0.1, "full_at": 1.0, "degree": 2.0}
    assert recipe.pacing.tier_weights == "size" and recipe.seed == 3
    again = Recipe.from_dict(recipe.to_dict())
    assert again == recipe and again.hash() == recipe.hash()
    assert Recipe.from_dict(dict(VALID, seed=4)).hash() != recipe.hash()


def test_single_column_difficulty_and_overrides():
    recipe = load_recipe("reading-age-ladder").with_overrides(budget_tokens=1234, seed=9)
    assert recipe.difficulty == {"reading_age": 1.0} and recipe.normalise == "none"
    assert recipe.budget == {"tokens": 1234} and recipe.total == 1234 and recipe.seed == 9
    assert Recipe.from_dict(recipe.to_dict()) == recipe


def test_load_from_yaml_file(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text(
        "name: x\ndifficulty: n_words\ntiers: {edges: [10, 20]}\npacing: {kind: static}\nbudget: {tokens: 9}\n"
    )
    recipe = load_recipe(path)
    assert recipe.tiers.edges == [10.0, 20.0] and recipe.source == "my.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(CurriscaleError, match="my.yaml: not valid YAML"):
        load_recipe(path)
    with pytest.raises(CurriscaleError, match="no such recipe file or preset.*reading-age-ladder"):
        load_recipe(tmp_path / "absent.yaml")


def test_yaml_values_read_as_written_today(tmp_path):
    # YAML 1.1 (PyYAML alone) would read 5e6 and 1e-1 as text and `no` / `on` as booleans.
    path = tmp_path / "langs.yaml"
    path.write_text(
        "name: langs\ntiers: {column: lang, order: [en, no, on]}\npacing: {kind: static}\n"
        "budget: {tokens: 5e6}\nlr_schedule: {kind: wsd, params: {decay_fraction: 1e-1}}\n"
    )
    recipe = load_recipe(path)
    assert recipe.tiers.order == ["en", "no", "on"] and recipe.budget == {"tokens": 5_000_000}
    assert recipe.lr_schedule["params"] == {"decay_fraction": 0.1}
    path.write_text(path.read_text().replace("5e6", "2.5"))
    with pytest.raises(CurriscaleError, match="langs.yaml: budget.tokens: must be an integer >= 1, got 2.5"):
        load_recipe(path)


def broken(path: str, value) -> dict:
    """VALID with the field at dotted `path` replaced (or removed when value is ...)."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tiers", {"quantiles": 0}, r"recipe\.yaml: tiers\.quantiles: must be an integer >= 1"),
        ("tiers", {"quantiles": "five"}, r"tiers\.quantiles: must be an integer >= 1"),
        ("tiers", {"edges": [3, 1]}, r"tiers\.edges: must be a non-empty list of increasing numbers"),
        ("tiers", {"order": ["a", "b"]}, r"tiers\.column: the label column is required"),
        (
            "tiers",
            {"order": ["a", "a"], "column": "c"},
            r"tiers\.order: must be a non-empty list of distinct",
        ),
        ("tiers", {"quantiles": 3, "edges": [1]}, r"tiers: must be one of"),
        ("difficulty", ..., r"difficulty: required unless tiers is a categorical 'order'"),
        ("difficulty.columns.flesch_ease", 0, r"difficulty\.columns\.flesch_ease: weight must be a non-zero"),
        ("difficulty", {"columns": {"a": 1}, "normalise": "zscore"}, r"difficulty\.normalise: must be"),
        (
            "tiers",
            {"edges": [5, 10]},  # VALID's two columns are rank-normalised: raw-looking edges cut nothing
            r"tiers\.edges \[5\.0, 10\.0\] lie outside \[0, 1\], but difficulty is rank-normalised",
        ),
        ("budget", {"tokens": -5}, r"budget\.tokens: must be an integer >= 1"),
        ("budget", {"tokens": 5, "steps": 5}, r"budget: must be \{tokens: T\} or \{steps: S\}"),
        ("pacing.kind", "zigzag", r"pacing\.kind: unknown pacing 'zigzag'"),
        ("pacing.sampling", "random", r"pacing\.sampling: must be 'cumulative' or 'exclusive'"),
        ("pacing.tier_weights", [1, -1], r"pacing\.tier_weights: must be 'size' or a list"),
        ("pacing.unit", "tokens", r"pacing\.unit: 'tokens' but the budget is given in steps"),
        ("pacing.params", {"start_fraction": 2}, r"pacing\.params\.start_fraction: must be a number"),
        ("lr_schedule", {"params": {}}, r"lr_schedule: must be a mapping with a string 'kind'"),
        (
            "lr_schedule.kind",
            "zigzag",
            r"lr_schedule\.kind: unknown LR schedule 'zigzag' \(choose from cosine",
        ),
        (
            "lr_schedule.params.warmup_fraction",
            "2%",
            r"lr_schedule\.params\.warmup_fraction: must be a number",
        ),
        (
            "lr_schedule.params.min_lr_ratio",
            1.5,
            r"lr_schedule\.params\.min_lr_ratio: must be a number in \[0, 1\]",
        ),
        ("lr_schedule.params.warmup", 0.1, r"lr_schedule\.params\.warmup: unknown parameter for cosine"),
        ("lr_schedule.params.decay_fraction", 0.2, r"params\.decay_fraction: unknown parameter for cosine"),
        ("lr_schedule.peak", 0.1, r"lr_schedule\.peak: unknown field \(allowed: kind, params\)"),
        ("lr_schedule.params", [0.1], r"lr_schedule\.params: must be a mapping"),
        ("seed", "zero", r"seed: must be an integer"),
        ("name", "", r"name: must be a non-empty string"),
        ("colour", "blue", r"colour: unknown field"),
    ],
)
def test_malformed_recipe_names_the_field(path, value, message):
    with pytest.raises(CurriscaleError, match=message):
        Recipe.from_dict(broken(path, value), source="recipe.yaml")


def test_lr_schedule_section_takes_each_kinds_parameters_as_written():
    wsd = {"kind": "wsd", "params": {"warmup_fraction": 0, "decay_fraction": 0.3, "min_lr_ratio": 0.0}}
    step = {"kind": "step", "params": {"step_milestones": [0.5, 0.8], "step_gamma": 0.3}}
    for section in (wsd, step, {"kind": "constant"}):
        recipe = Recipe.from_dict(dict(VALID, lr_schedule=section))
        assert recipe.lr_schedule == {"params": {}, **section}
        assert Recipe.from_dict(recipe.to_dict()) == recipe
    with pytest.raises(CurriscaleError, match=r"step_milestones: must be a non-empty list of increasing"):
        Recipe.from_dict(dict(VALID, lr_schedule={"kind": "step", "params": {"step_milestones": [0.8, 0.5]}}))
    # Presets' sections stay valid and their hashes unchanged by the check (values kept as written).
    assert load_recipe("task-ladder").lr_schedule == {
        "kind": "cosine",
        "params": {"warmup_fraction": 0.02, "min_lr_ratio": 0.1},
    }


def test_cli_recipes_list_and_show():
    runner = CliRunner()
    listed = runner.invoke(app, ["recipes", "list"])
    assert listed.exit_code == 0
    assert all(name in listed.output for name in REQUIRED_PRESETS)
    shown = runner.invoke(app, ["recipes", "show", "anti-curriculum"])
    assert shown.exit_code == 0
    assert "kind: anti" in shown.output and "quantiles: 5" in shown.output
