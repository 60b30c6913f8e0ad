"""The study's second corpus: real text graded by people (OneStopEnglish), split for training and eval.

OneStopEnglish (Vajjala & Lučić 2018, CC BY-SA 4.0) holds 189 Guardian articles, each rewritten by
teachers at three reading levels: elementary, intermediate, advanced. The levels are the tiers, so a
curriculum's order is a human judgment of difficulty, not a score. Three splits, by article (an
article's three versions stay together, so no eval text was seen in training at another level).
The 3 versions the corpus flags as another article's text (upstream file errors) are left out, since
they would put one article on both sides of the split.

- `train.jsonl`: every version of the training articles (`id`, `text`, `level` 0/1/2, `topic`);
- `eval.jsonl`: the held-out articles' paragraphs, `paragraphs_per_level` of them per level, drawn
  with the seed (the trainer scores each eval document's first `seq_len` tokens, so paragraphs cover
  the held-out text better than whole articles);
- `ood.jsonl`: CEFR-SP's Wiki-Auto test sentences (Arase et al. 2022, CC BY-SA 3.0), graded A1..C2 by
  two English teachers: other text, other graders; `level` 0..5 is the two grades' mean rounded down.

Both corpora are read from ../shared/corpora; nothing is copied into the project.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

LEVELS = {0: "elementary", 1: "intermediate", 2: "advanced"}
CEFR = {0: "A1", 1: "A2", 2: "B1", 3: "B2", 4: "C1", 5: "C2"}


def write_graded(
    corpora: Path, out: Path, eval_articles: int = 29, paragraphs_per_level: int = 100, seed: int = 0
) -> dict:
    """Write train/eval/ood JSONL into `out` from `corpora`; returns counts for the study's plan.

    Raises:
        FileNotFoundError: when `corpora` lacks onestopenglish/ or cefr_sp_wikiauto/.
    """
    articles: dict[str, list[dict]] = {}
    flagged = 0
    source = corpora / "onestopenglish" / "onestopenglish.jsonl"
    with source.open(encoding="utf-8") as lines:
        for row in map(json.loads, lines):
            flagged += bool(row["quality_flag"])
            if not row["quality_flag"]:
                articles.setdefault(row["topic"], []).append(row)
    topics = sorted(articles)
    held_out = set(random.Random(seed).sample(topics, eval_articles))
    train = [_doc(row) for topic in topics if topic not in held_out for row in articles[topic]]

    rng = random.Random(seed + 1)
    eval_docs = []
    for level in LEVELS:
        paragraphs = [
            {"id": f"{row['id']}-p{i}", "text": text, "level": level}
            for topic in sorted(held_out)
            for row in articles[topic]
            if row["level_num"] == level
            for i, text in enumerate(_paragraphs(row["text"]))
        ]
        eval_docs += rng.sample(paragraphs, min(paragraphs_per_level, len(paragraphs)))

    ood = []
    test = corpora / "cefr_sp_wikiauto" / "CEFR-SP_Wikiauto_test.txt"
    for number, line in enumerate(test.read_text(encoding="utf-8").splitlines(), start=1):
        sentence, first, second = line.rsplit("\t", 2)
        ood.append(
            {"id": f"cefr-test-{number}", "text": sentence, "level": (int(first) + int(second)) // 2 - 1}
        )

    out.mkdir(parents=True, exist_ok=True)
    for name, docs in (("train", train), ("eval", eval_docs), ("ood", ood)):
        _write_jsonl(out / f"{name}.jsonl", docs)
    return {
        "corpus": "onestopenglish",
        "train_articles": len(topics) - len(held_out),
        "eval_articles": len(held_out),
        "train_documents": len(train),
        "flagged_left_out": flagged,
        "eval_paragraphs": len(eval_docs),
        "ood_sentences": len(ood),
        "seed": seed,
    }


def _doc(row: dict) -> dict:
    return {"id": row["id"], "text": row["text"].strip(), "level": row["level_num"], "topic": row["topic"]}


def _paragraphs(text: str) -> list[str]:
    """Non-empty lines of at least 8 words (headings and bylines are shorter)."""
    return [p.strip() for p in text.splitlines() if len(p.split()) >= 8]


def _write_jsonl(path: Path, docs: list[dict]) -> None:
    from curriscale.io import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs))
