import subprocess
import sys

import pytest

from curriscale.errors import CurriscaleError
from curriscale.scorers.reading_age import ReadingAge
from curriscale.scorers.registry import (
    BUILTINS,
    available_scorers,
    describe_scorers,
    get_scorer,
    parse_value,
    split_spec,
)
from curriscale.scorers.text_stats import TextStats


def test_parse_value_types():
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("0.5") == 0.5
    assert parse_value("TRUE") is True and parse_value("false") is False
    assert parse_value("/models/a.gguf") == "/models/a.gguf"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("reading_age", ("reading_age", {})),
        ("reading_age:coefficients=/x/c.json", ("reading_age", {"coefficients": "/x/c.json"})),
        (
            "model_difficulty:max_tokens=64,dtype=bfloat16",
            ("model_difficulty", {"max_tokens": 64, "dtype": "bfloat16"}),
        ),
        ("parse_depth:model=/models/en_core", ("parse_depth", {"model": "/models/en_core"})),
        ("pkg.mod:Cls", ("pkg.mod:Cls", {})),
        ("mod:Cls:a=1,b=true", ("mod:Cls", {"a": 1, "b": True})),
    ],
)
def test_split_spec(spec, expected):
    assert split_spec(spec) == expected


def test_builtins_by_name_and_by_path():
    assert isinstance(get_scorer("text_stats"), TextStats)
    scorer = get_scorer("curriscale.scorers.reading_age:ReadingAge")
    assert isinstance(scorer, ReadingAge) and scorer.params["coefficients"] == "packaged"
    assert get_scorer("model_difficulty:max_tokens=64").params["max_tokens"] == 64


def test_builtins_are_listed_without_importing_heavy_libraries():
    available = available_scorers()
    assert list(available)[: len(BUILTINS)] == list(BUILTINS)
    assert available["reading_age"] is ReadingAge
    code = (
        "import sys; from curriscale.scorers.registry import available_scorers; available_scorers(); "
        "print(sorted({'torch', 'fasttext', 'transformers', 'spacy'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_errors_name_the_problem():
    with pytest.raises(CurriscaleError, match=r"unknown scorer 'nope'; available: .*reading_age.*text_stats"):
        get_scorer("nope")
    with pytest.raises(CurriscaleError, match="cannot import module 'no_such_module'"):
        get_scorer("no_such_module:Thing")
    with pytest.raises(CurriscaleError, match="has no attribute 'Missing'"):
        get_scorer("curriscale.scorers.text_stats:Missing")
    with pytest.raises(CurriscaleError, match="bad parameters"):
        get_scorer("text_stats:colour=red")
    with pytest.raises(CurriscaleError, match="is not key=value"):
        get_scorer("reading_age:coefficients=a.json,oops")


def test_describe_lists_columns():
    rows = {row["name"]: row for row in describe_scorers()}
    assert rows["reading_age"]["kind"] == "built-in"
    assert "reading_age" in rows["reading_age"]["columns"] and "fk_grade" in rows["reading_age"]["columns"]
    assert rows["text_stats"]["columns"]["n_words"] == "int64"
