"""The synthetic task spectrum: determinism, counts, correct answers, held-out names, knobs, CLI."""

import json
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from curriscale.cli.app import app
from curriscale.curricula import spectrum_words as words
from curriscale.curricula.spectrum import SpectrumConfig, generate_spectrum, write_spectrum
from curriscale.errors import CurriscaleError

SMALL = SpectrumConfig(docs_per_level=150, eval_per_level=60, seed=3)


@pytest.fixture(scope="module")
def small():
    return generate_spectrum(SMALL)


def of_level(docs, level):
    return [d for d in docs if d["level"] == level]


def names_in(docs):
    known = set(words.NAMES)
    return {w.strip(".,") for d in docs for w in d["text"].split()} & known


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    for fmt in ("jsonl", "parquet"):
        a = write_spectrum(tmp_path / f"a-{fmt}", SMALL, fmt=fmt)
        b = write_spectrum(tmp_path / f"b-{fmt}", SMALL, fmt=fmt)
        for split in ("train", "eval", "ood"):
            assert a[split].read_bytes() == b[split].read_bytes()
    assert (tmp_path / "a-jsonl/spectrum.json").read_bytes() == (
        tmp_path / "b-jsonl/spectrum.json"
    ).read_bytes()
    other = write_spectrum(tmp_path / "c", SpectrumConfig(docs_per_level=150, eval_per_level=60, seed=4))
    assert other["train"].read_bytes() != (tmp_path / "a-jsonl/train.jsonl").read_bytes()


def test_one_level_alone_matches_the_full_spectrum(small):
    alone = generate_spectrum(SpectrumConfig(docs_per_level=150, eval_per_level=60, seed=3, levels=(4,)))
    assert alone["train"] == of_level(small["train"], 4)
    assert alone["ood"] == of_level(small["ood"], 4)


def test_counts_ids_and_fields(small):
    for split, per_level in (("train", 150), ("eval", 60), ("ood", 60)):
        docs = small[split]
        assert Counter(d["level"] for d in docs) == dict.fromkeys(range(6), per_level)
        assert [d["level"] for d in docs] == sorted(d["level"] for d in docs)
        assert len({d["id"] for d in docs}) == len(docs)
        assert docs[0]["id"] == f"{split}-L0-000000"
        for doc in docs:
            assert list(doc) == ["id", "text", "level", "task", "prompt", "answer"]
            assert re.fullmatch(rf"{split}-L{doc['level']}-\d{{6}}", doc["id"])
            if doc["level"] == 0:
                assert doc["task"] == "simple_sentences" and doc["prompt"] is None and doc["answer"] is None
            else:
                assert doc["text"] == doc["prompt"] + " " + doc["answer"]
                assert re.fullmatch(r"[A-Za-z0-9]+", doc["answer"])  # one word, no leading space
    tasks = {d["level"]: d["task"] for d in small["train"]}
    assert tasks == {
        0: "simple_sentences",
        1: "next_sentence",
        2: "cloze",
        3: "qa_fact",
        4: "qa_multihop",
        5: "problem_solving",
    }


def test_level_weights_reshape_the_train_mix():
    config = SpectrumConfig(docs_per_level=10, eval_per_level=2, levels=(1, 3, 5), level_weights=(1, 1, 2))
    counts = Counter(d["level"] for d in generate_spectrum(config)["train"])
    assert counts == {1: 8, 3: 7, 5: 15}  # 30 documents; the leftover goes to the largest remainder


def solve_word_problem(prompt):
    """Recompute a level-5 answer by reading the sentences, independently of the generator."""
    sentences = re.findall(r"[^.?]+[.?]", prompt)
    total = int(re.search(r"possessed (\d+)", sentences[0]).group(1))
    steps = 0
    for sentence in sentences[1:-1]:
        k = int(re.search(r" (\d+) ", sentence).group(1))
        if re.search(r"purchased|received|discovered", sentence):
            total += k
        else:
            assert re.search(r"donated|dropped|exchanged", sentence), sentence
            total -= k
        assert total >= 0
        steps += 1
    return total, steps


def test_arithmetic_answers_and_step_knob():
    config = SpectrumConfig(
        docs_per_level=200, eval_per_level=100, levels=(5,), steps=(3, 3), ood_extra_steps=2
    )
    spectrum = generate_spectrum(config)
    for split, allowed in (("train", {3}), ("ood", {4, 5})):
        seen = set()
        for doc in spectrum[split]:
            total, steps = solve_word_problem(doc["prompt"])
            assert doc["answer"] == str(total)
            assert 0 <= total <= config.max_total
            seen.add(steps)
        assert seen == allowed


def template_pattern(template):
    """A regex for a sentence template whose slots each hold one word."""
    return re.sub(r"\\\{\w+\\\}", r"(\\w+)", re.escape(template))


def follow_chain(prompt):
    """Place of the asked object, and the number of facts followed to get there."""
    inside = dict(re.findall(template_pattern(words.CONTAIN_TEMPLATE), prompt))
    rooms = dict(re.findall(template_pattern(words.LEAVE_TEMPLATE), prompt))
    thing = re.search(r"In which room is the (\w+) hidden now\?", prompt).group(1)
    hops = 1
    while thing in inside:
        thing, hops = inside[thing], hops + 1
    return rooms[thing], hops


def test_multihop_answers_follow_the_chain_and_hop_knob():
    config = SpectrumConfig(
        docs_per_level=200, eval_per_level=100, levels=(4,), hops=(2, 3), ood_extra_hops=2
    )
    spectrum = generate_spectrum(config)
    for split, allowed in (("train", {2, 3}), ("eval", {2, 3}), ("ood", {4, 5})):
        hops_seen = Counter()
        for doc in spectrum[split]:
            room, hops = follow_chain(doc["prompt"])
            assert doc["answer"] == room
            hops_seen[hops] += 1
        assert set(hops_seen) == allowed
    leave = template_pattern(words.LEAVE_TEMPLATE)
    last_room = [re.findall(leave, d["prompt"])[-1][1] == d["answer"] for d in spectrum["train"]]
    assert np.mean(last_room) < 0.5


def test_one_fact_answers_and_last_place_heuristic_fails(small):
    docs = of_level(small["train"], 3)
    last_place_right = []
    for doc in docs:
        went = dict(re.findall(r"(\w+) \w+ \w+ to the (\w+)\.", doc["prompt"]))
        person = re.search(r"In which room is (\w+) at the moment\?", doc["prompt"]).group(1)
        assert 3 <= len(went) <= 5  # 2-4 distractors, each person once
        assert doc["answer"] == went[person]
        last_place_right.append(list(went.values())[-1] == doc["answer"])
    assert 0.1 < np.mean(last_place_right) < 0.45


def test_cloze_facts_are_one_table_shared_by_train_and_eval(small):
    table = {}
    for doc in of_level(small["train"], 2) + of_level(small["eval"], 2) + of_level(small["ood"], 2):
        stated, asked = doc["prompt"].split(". ")
        subject_relation, obj = stated.rsplit(" ", 1)
        for key, value in ((subject_relation, obj), (asked, doc["answer"])):
            assert table.setdefault(key, value) == value, key  # one object per (relation, subject)
    capitals = [v for k, v in table.items() if k.startswith("The capital of")]
    assert len(set(capitals)) == len(capitals)
    train_keys = {d["prompt"].split(". ")[1] for d in of_level(small["train"], 2)}
    train_keys |= {d["prompt"].split(". ")[0].rsplit(" ", 1)[0] for d in of_level(small["train"], 2)}
    eval_asked = [d["prompt"].split(". ")[1] for d in of_level(small["eval"], 2)]
    assert np.mean([key in train_keys for key in eval_asked]) > 0.9  # memorisable from train


@pytest.mark.parametrize("easy", [0.0, 1.0])
def test_next_sentence_labels_and_easy_negative_knob(easy):
    config = SpectrumConfig(docs_per_level=300, eval_per_level=10, levels=(1,), nsp_easy_fraction=easy)
    causes = {c.format(n="{n}"): i for i, (c, _) in enumerate(words.NSP_PAIRS)}
    consequences = {e.split("{n} ", 1)[1]: i for i, (_, e) in enumerate(words.NSP_PAIRS)}
    kinds = Counter()
    for doc in generate_spectrum(config)["train"]:
        first, second = re.match(
            r"(.+?\.) (.+?\.) Q: Does the second sentence follow\? A:$", doc["prompt"]
        ).groups()
        name = first.split()[0]
        cause = causes[first.replace(name, "{n}", 1)]
        tail = second.split(f"{name} ", 1)[-1]
        consequence = consequences.get(tail) if second.split()[0] in words.NSP_CONNECTORS else None
        if doc["answer"] == "yes":
            assert consequence == cause
            kinds["yes"] += 1
        elif consequence is None:
            kinds["garbled"] += 1
        else:
            assert consequence != cause
            kinds["subtle"] += 1
    assert 0.4 < kinds["yes"] / 300 < 0.6
    assert kinds["garbled" if easy else "subtle"] == 300 - kinds["yes"]


def test_ood_names_are_held_out(small):
    train, held_out = names_in(small["train"]), names_in(small["ood"])
    assert len(train) == SMALL.n_names and len(held_out) == SMALL.ood_names
    assert not train & held_out
    assert names_in(small["eval"]) <= train


def test_reading_difficulty_rises_with_level_and_vocabulary_stays_small(small):
    def words_per_sentence(level):
        sentences = [
            s.split() for d in of_level(small["train"], level) for s in re.split(r"[.?!]", d["text"])
        ]
        return np.mean([len(s) for s in sentences if s])

    means = [words_per_sentence(level) for level in range(6)]
    assert means == sorted(means) and means[5] > 1.8 * means[0]
    lengths = [
        np.mean([len(w) for d in of_level(small["train"], k) for w in d["text"].split()]) for k in (0, 3)
    ]
    assert lengths[1] > lengths[0] + 1
    vocabulary = {w.strip(".,?:").lower() for docs in small.values() for d in docs for w in d["text"].split()}
    assert 150 < len(vocabulary) < 600


def test_documents_fit_a_128_token_context_with_a_whole_word_tokenizer():
    spectrum = generate_spectrum(SpectrumConfig(docs_per_level=500, eval_per_level=500))
    for docs in spectrum.values():
        longest = max(len(re.findall(r"\w+|[^\w\s]", d["text"])) for d in docs)
        assert 60 < longest <= 110


@pytest.mark.parametrize(
    "overrides, option",
    [
        ({"hops": (3, 2)}, "hops"),
        ({"levels": (0, 6)}, "levels"),
        ({"n_names": 60}, "n_names"),
        ({"level_weights": (1.0,)}, "level_weights"),
        ({"max_total": 10}, "max_total"),
        ({"hops": (2, 6)}, "hops"),
        ({"nsp_easy_fraction": 1.5}, "nsp_easy_fraction"),
    ],
)
def test_bad_config_names_the_option(overrides, option):
    with pytest.raises(CurriscaleError, match=f"option {option}"):
        SpectrumConfig(**overrides)


def test_cli_writes_three_files_with_requested_counts(tmp_path):
    out = tmp_path / "data"
    args = ["generate", "spectrum", "--out", str(out), "--docs", "7", "--eval-docs", "3", "--seed", "1"]
    result = CliRunner().invoke(app, [*args, "--format", "parquet", "--levels", "2,4", "--hops", "2-2"])
    assert result.exit_code == 0, result.output
    tables = {
        split: pq.read_table(out / f"{split}.parquet").to_pylist() for split in ("train", "eval", "ood")
    }
    assert [len(t) for t in tables.values()] == [14, 6, 6]
    assert {d["level"] for d in tables["train"]} == {2, 4}
    assert {follow_chain(d["prompt"])[1] for d in tables["train"] if d["level"] == 4} == {2}
    assert json.loads((out / "spectrum.json").read_text())["documents"]["train"] == {"2": 7, "4": 7}

    result = CliRunner().invoke(app, [*args, "--levels", "0"])
    assert result.exit_code == 0, result.output
    lines = (out / "train.jsonl").read_text().splitlines()
    assert len(lines) == 7 and json.loads(lines[0])["answer"] is None


@pytest.mark.parametrize("bad", [["--format", "csv"], ["--hops", "two"], ["--levels", "0,9"]])
def test_cli_bad_option_is_a_one_line_error_with_exit_code_2(tmp_path, bad):
    code = "from curriscale.cli.app import main; main()"
    argv = ["generate", "spectrum", "--out", str(tmp_path), "--docs", "2", *bad]
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert "error" in result.stderr and bad[0].strip("-")[:4] in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "train.jsonl").exists()
