from typer.testing import CliRunner

from curriscale.cli.app import app


def test_scorers_list_shows_builtins_with_columns():
    result = CliRunner().invoke(app, ["scorers", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name, column in [
        ("text_stats", "compression_ratio"),
        ("reading_age", "fk_grade"),
        ("task_type", "task_type_prob"),
        ("parse_depth", "parse_depth_max"),
    ]:
        line = next(line for line in result.output.splitlines() if f" {name} " in line)
        assert "built-in" in line and column in line


def test_scorers_train_task_type_passes_labelled_rows(tmp_path, monkeypatch):
    # Training itself is tested in test_task_type.py (it takes a minute); here: the CLI's wiring.
    import curriscale.scorers.task_type as task_type

    calls = []
    monkeypatch.setattr(
        task_type, "train_task_type_model", lambda out, examples, seed: calls.append((out, examples, seed))
    )
    data = tmp_path / "labelled.jsonl"
    data.write_text('{"t": "def f(x): return x", "y": "code"}\n\n{"t": "Where is Anna?", "y": "qa_fact"}\n')
    out = tmp_path / "m.ftz"
    out.write_bytes(b"x" * 1000)  # the stand-in trainer writes nothing; the command reports the size
    args = ["scorers", "train", "task_type", "--data", str(data), "--out", str(out), "--text-field", "t"]
    result = CliRunner().invoke(app, [*args, "--label-field", "y", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert calls == [
        (
            out,
            [{"text": "def f(x): return x", "label": "code"}, {"text": "Where is Anna?", "label": "qa_fact"}],
            3,
        )
    ]
    assert "wrote" in result.output


def test_scorers_train_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "label": "x"}\n{oops\n')
    result = CliRunner().invoke(
        app, ["scorers", "train", "task_type", "--data", str(bad), "--out", str(tmp_path / "m.ftz")]
    )
    assert "bad.jsonl:2: malformed JSON" in str(result.exception)
    result = CliRunner().invoke(app, ["scorers", "train", "reading_age", "--out", str(tmp_path / "m.ftz")])
    assert "only task_type can be trained" in str(result.exception)
