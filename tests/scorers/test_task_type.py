"""task_type: the shipped model, training on the project's own corpus, and label hygiene."""

import numpy as np
import pytest

from curriscale.errors import CurriscaleError
from curriscale.scorers.task_corpus import TASK_LADDER, generate_task_corpus
from curriscale.scorers.task_type import TaskType, normalise, train_task_type_model


def test_normalise_keeps_line_structure_and_folds_numbers():
    assert normalise("ROMEO:\nI pay 12,000 coins!") == "romeo : <nl> i pay <num> coins !"


def test_generated_corpus_is_deterministic_and_balanced():
    first, second = generate_task_corpus(per_label=20, seed=3), generate_task_corpus(per_label=20, seed=3)
    assert first == second
    assert generate_task_corpus(per_label=20, seed=4) != first
    labels = [doc["label"] for doc in first]
    assert {label: labels.count(label) for label in TASK_LADDER} == dict.fromkeys(TASK_LADDER, 20)


def test_shipped_model_classifies_fresh_generated_text():
    # A seed the shipped model was not trained on (it used seed 0).
    held_out = generate_task_corpus(per_label=50, seed=12345)
    out = TaskType().score([doc["text"] for doc in held_out])
    accuracy = np.mean([p == doc["label"] for p, doc in zip(out["task_type"], held_out, strict=True)])
    assert accuracy > 0.95
    assert set(out["task_type"]) <= set(TASK_LADDER)
    assert np.all((out["task_type_prob"] > 0) & (out["task_type_prob"] <= 1))


def test_training_is_reproducible_and_learns_user_labels(tmp_path):
    examples = [{"text": f"buy {n} apples now", "label": "shopping"} for n in range(60)]
    examples += [{"text": f"the river {n} flows north", "label": "geography"} for n in range(60)]
    first = train_task_type_model(tmp_path / "a.ftz", examples, epoch=5)
    second = train_task_type_model(tmp_path / "b.ftz", examples, epoch=5)
    assert first.read_bytes() == second.read_bytes()
    out = TaskType(model=str(first)).score(["buy 7 apples", "the river bends"])
    assert list(out["task_type"]) == ["shopping", "geography"]


def test_bad_training_example_and_missing_model_are_named(tmp_path):
    with pytest.raises(CurriscaleError, match="training example 1"):
        train_task_type_model(tmp_path / "m.ftz", [{"text": "a", "label": "x"}, {"text": "b", "label": ""}])
    with pytest.raises(CurriscaleError, match="nope.ftz"):
        TaskType(model=str(tmp_path / "nope.ftz"))


def test_text_without_tokens_gets_nan_probability():
    out = TaskType().score(["   "])
    assert out["task_type"][0] == "" and np.isnan(out["task_type_prob"][0])
