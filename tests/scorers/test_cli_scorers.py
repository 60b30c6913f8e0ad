from typer.testing import CliRunner

from curriscale.cli.app import app


def test_scorers_list_shows_builtins_with_columns():
    result = CliRunner().invoke(app, ["scorers", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name, column in [
        ("text_stats", "compression_ratio"),
        ("reading_age", "fk_grade"),
        ("task_type", "task_type_prob"),
    ]:
        line = next(line for line in result.output.splitlines() if f" {name} " in line)
        assert "built-in" in line and column in line
