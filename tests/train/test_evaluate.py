"""Evaluation: answer masks, exact-match accuracy per level, losses and per-position loss."""

import json

import numpy as np
import pytest
import torch

from curriscale.errors import CurriscaleError
from curriscale.train.evaluate import EvalSet, evaluate
from curriscale.train.tokenizer import train_tokenizer

DOCS = [
    {"text": "capital fr: paris", "prompt": "capital fr:", "answer": "paris", "level": 1},
    {"text": "capital de: berlin", "prompt": "capital de:", "answer": "berlin", "level": 1},
    {"text": "copy abc: abc", "prompt": "copy abc:", "answer": "abc", "level": 2},
    {"text": "copy hgf: hgf", "prompt": "copy hgf:", "answer": "hgf", "level": 2},
    {"text": "a plain sentence.", "level": 0},
]


class Oracle(torch.nn.Module):
    """Predicts every next token correctly, except the last answer token of `spoil` documents."""

    def __init__(self, eval_set, spoil, vocab):
        super().__init__()
        self.vocab = vocab
        self.targets = {}
        for i, (seq, mask) in enumerate(zip(eval_set.sequences, eval_set.answer_masks, strict=True)):
            target = seq[1:].copy()
            if i in spoil:
                last = np.flatnonzero(mask)[-1]
                target[last] = (target[last] + 1) % vocab
            self.targets[tuple(seq[:-1])] = target

    def forward(self, inputs):
        logits = torch.zeros(*inputs.shape, self.vocab)
        for row, ids in enumerate(inputs.tolist()):
            while len(ids) > 1 and ids[-1] == 0:  # strip padding (bytes never encode to id 0)
                ids.pop()
            target = self.targets[tuple(ids)]
            logits[row, torch.arange(len(target)), torch.from_numpy(target)] = 20.0
        return logits


@pytest.fixture
def eval_file(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return path


def test_answer_mask_covers_the_answer_only(eval_file):
    eval_set = EvalSet.load(eval_file, train_tokenizer([], 257), seq_len=64)
    assert [int(m.sum()) for m in eval_set.answer_masks] == [5, 6, 3, 3, 0]
    assert list(eval_set.groups) == [1, 1, 2, 2, 0]
    # Masks sit on the last tokens: the answer ends the text.
    assert eval_set.answer_masks[0][-5:].all() and not eval_set.answer_masks[0][:-5].any()


def test_accuracy_counts_exact_matches_per_level(eval_file):
    eval_set = EvalSet.load(eval_file, train_tokenizer([], 257), seq_len=64)
    metrics, positions = evaluate(Oracle(eval_set, spoil={1}, vocab=257), eval_set, batch_tokens=40)
    assert metrics["accuracy_level_1"] == 0.5 and metrics["accuracy_level_2"] == 1.0
    assert metrics["mean_accuracy"] == 0.75
    assert "accuracy_level_0" not in metrics and metrics["eval_loss_level_0"] < 1e-6
    assert metrics["answer_loss_level_2"] < 1e-6 < metrics["answer_loss_level_1"]
    assert metrics["eval_loss_level_1"] > metrics["eval_loss_level_2"]
    assert len(positions) == max(len(s) - 1 for s in eval_set.sequences) and np.isfinite(positions).all()


def test_ood_prefix_and_truncation(eval_file):
    # 13 targets: the level-2 answers fit exactly, the level-1 answers are cut and not counted.
    eval_set = EvalSet.load(eval_file, train_tokenizer([], 257), seq_len=13)
    assert max(len(s) for s in eval_set.sequences) == 14
    assert [int(m.sum()) for m in eval_set.answer_masks] == [0, 0, 3, 3, 0]
    assert eval_set.questions_cut == 2
    metrics, _ = evaluate(Oracle(eval_set, spoil=set(), vocab=257), eval_set, prefix="ood_")
    assert set(metrics) >= {"ood_eval_loss", "ood_accuracy_level_2", "ood_mean_accuracy"}
    assert "ood_accuracy_level_1" not in metrics and metrics["ood_mean_accuracy"] == 1.0


def test_missing_text_column_names_the_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"body": "x"}\n')
    with pytest.raises(CurriscaleError, match="bad.jsonl: eval file has no 'text'"):
        EvalSet.load(path, train_tokenizer([], 257), 16)


def test_chance_accuracy_is_the_majority_answer_share_of_scored_questions(tmp_path):
    def question(prompt, answer, level):
        return {"text": f"{prompt} {answer}", "prompt": prompt, "answer": answer, "level": level}

    long = "is the sky above the long long long long road blue?"
    docs = [
        question("is it wet?", "yes", 1),
        question("is it dry?", "yes", 1),
        question("is it hot?", "no", 1),
        question(long, "no", 1),  # cut by seq_len: not scored, so not in the baseline
        question("who has it?", "ann", 3),
        question("who took it?", "bob", 3),
        {"text": "a plain sentence.", "level": 0},
        question("no level?", "yes", None),
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    eval_set = EvalSet.load(path, train_tokenizer([], 257), seq_len=20)
    assert eval_set.questions_cut == 1 and eval_set.questions == 7
    assert eval_set.chance_accuracy == {"1": pytest.approx(2 / 3), "3": 0.5}
    metrics, _ = evaluate(Oracle(eval_set, spoil=set(), vocab=257), eval_set)
    # Keys are the level ids of the accuracy metrics.
    assert {f"accuracy_level_{k}" for k in eval_set.chance_accuracy} == {
        k for k in metrics if k.startswith("accuracy_level_")
    }
