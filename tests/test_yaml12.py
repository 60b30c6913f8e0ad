"""curriscale.yaml12: YAML 1.2 numbers and booleans on top of PyYAML's safe loader."""

import math

import pytest
import yaml

from curriscale.yaml12 import load_yaml


def test_numbers_and_booleans_follow_yaml_1_2():
    text = "a: 1e3\nb: 4.78e12\nc: 1e-3\nd: 010\ne: 1_000\nf: .5\ng: no\nh: on\ni: true\nj: 12:30\nk: 0x1f\n"
    # PyYAML (YAML 1.1): text for the first three, octal for 010, booleans for no/on, 750 for 12:30.
    assert yaml.safe_load(text) == {"a": "1e3", "b": "4.78e12", "c": "1e-3", "d": 8, "e": 1000, "f": 0.5,
                                         "g": False, "h": True, "i": True, "j": 750, "k": 31}  # fmt: skip
    assert load_yaml(text) == {"a": 1000.0, "b": 4.78e12, "c": 0.001, "d": 10, "e": 1000, "f": 0.5,
                               "g": "no", "h": "on", "i": True, "j": "12:30", "k": 31}  # fmt: skip
    special = load_yaml("[.inf, -.Inf, .nan, ., '1e3', 1., -2, +3.5e+2, False]")
    assert special[0] == math.inf and special[1] == -math.inf and math.isnan(special[2])
    assert special[3:] == [".", "1e3", 1.0, -2, 350.0, False]


def test_everything_else_reads_as_pyyaml_safe_load():
    text = "name: x\nlist: [1, 2.5, 'three', null]\nnested: {a: {b: [~, true]}}\nwhen: 2026-12-02\n"
    assert load_yaml(text) == yaml.safe_load(text)


def test_python_objects_and_bad_tagged_ints_are_yaml_errors():
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
    with pytest.raises(yaml.YAMLError, match="not an integer: 'abc'"):
        load_yaml("a: 1\nb: !!int abc\n")
