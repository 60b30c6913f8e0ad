"""Per-class accuracy of the task_type model on real data it never saw (../shared/corpora).

bAbI qa1 -> qa_fact; bAbI qa2, qa3 -> qa_multihop; GSM8K questions -> problem_solving;
WikiText-2 paragraphs -> expository; tinyshakespeare speeches (blocks of turns) -> dialogue.
Prints one JSON line: {"bench": "task_type", "accuracy": {...}, "macro_accuracy": ...}.

Usage: python benchmarks/validate_task_type.py [--model PATH] [--per-class 500]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from curriscale.scorers.task_type import TaskType

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def real_examples(per_class: int, seed: int = 0) -> dict[str, list[str]]:
    """Up to `per_class` texts per expected label, sampled with `seed`."""
    rng = random.Random(seed)
    babi = [json.loads(line) for line in open(CORPORA / "babi_qa_en" / "babi_qa_en.jsonl")]
    fact = [b["text"] for b in babi if b["task"] == 1 and b["split"] == "test"]
    multihop = [b["text"] for b in babi if b["task"] in (2, 3) and b["split"] == "test"]
    gsm = [json.loads(line)["question"] for line in open(CORPORA / "gsm8k" / "test.jsonl")]
    wiki = [
        p.strip()
        for p in open(CORPORA / "wikitext2" / "test.txt", encoding="utf-8")
        if len(p.split()) > 40 and not p.strip().startswith("=")
    ]
    blocks = open(CORPORA / "tinyshakespeare" / "input.txt", encoding="utf-8").read().split("\n\n")
    plays = ["\n\n".join(blocks[i : i + 4]) for i in range(0, len(blocks) - 4, 4)]
    data = {
        "qa_fact": fact,
        "qa_multihop": multihop,
        "problem_solving": gsm,
        "expository": wiki,
        "dialogue": plays,
    }
    return {label: rng.sample(texts, min(per_class, len(texts))) for label, texts in data.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--per-class", type=int, default=500)
    args = parser.parse_args()
    scorer = TaskType(model=args.model)
    accuracy, confusions = {}, {}
    for label, texts in real_examples(args.per_class).items():
        predicted = list(scorer.score(texts)["task_type"])
        accuracy[label] = round(sum(p == label for p in predicted) / len(texts), 3)
        confusions[label] = {p: predicted.count(p) for p in sorted(set(predicted))}
    macro = round(sum(accuracy.values()) / len(accuracy), 3)
    print(
        json.dumps(
            {"bench": "task_type", "accuracy": accuracy, "macro_accuracy": macro, "confusions": confusions}
        )
    )


if __name__ == "__main__":
    main()
