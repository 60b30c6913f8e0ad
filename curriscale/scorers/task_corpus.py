"""A labelled corpus the default task-type model is trained on, written entirely by the project.

Each task type gets a handful of generators that vary surface form (line breaks, speaker tags,
numbers, question words), so the classifier learns what makes a text a dialogue or a multi-step
problem rather than one template's wording. No external data set is read: the validation on bAbI,
GSM8K, WikiText and Shakespeare stays honest because the model never saw any of them.

The labels form a ladder from simple to complex (`TASK_LADDER`), usable directly as tier order.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

TASK_LADDER = [
    "simple_prose",
    "dialogue",
    "expository",
    "cloze",
    "qa_fact",
    "qa_multihop",
    "problem_solving",
    "code",
]

NAMES = (
    "Anna Ben Carla David Emma Frank Grace Henry Iris Jack Kate Leo Mia Noah Olga Paul Rosa Sam "
    "Tara Umar Vera Will Yusuf Zoe Mary John Daniel Sandra Fred Bill Julie Lily"
).split()
PLACES = "kitchen garden office bedroom hallway bathroom park school library market station cellar".split()
OBJECTS = "apple ball book key cup box letter coin hat lamp bottle ring".split()
ANIMALS = "cat dog bird fish horse cow duck frog".split()
ADJECTIVES = "big small red green happy sad old new warm cold quiet bright".split()
VERBS_MOVE = "went moved walked ran travelled journeyed".split()
TOPICS = (
    "river city castle island bridge cathedral railway university mountain empire treaty "
    "species album battle novel festival dynasty"
).split()
FIELDS = "history biology physics music architecture economics geology politics literature".split()
ROLES = "king queen captain servant doctor merchant soldier teacher farmer nurse".split()
RELATIONS = ("mother", "father", "sister", "friend", "teacher", "neighbour")


@functools.cache
def _content_words() -> list[str]:
    """Common English words past the function words, from wordfreq's packaged list.

    Generators fill some slots with these, so the classifier cannot key on a template's own nouns and
    must learn the structure of each task type instead.
    """
    from wordfreq import top_n_list

    return [w for w in top_n_list("en", 20_000)[300:] if w.isalpha() and len(w) > 3]


def _word(r: random.Random) -> str:
    return r.choice(_content_words())


def _simple_prose(r: random.Random) -> str:
    sentences = []
    for _ in range(r.randint(2, 6)):
        form = r.randrange(4)
        if form == 0:
            sentences.append(f"The {r.choice(ANIMALS)} is {r.choice(ADJECTIVES)}.")
        elif form == 1:
            sentences.append(f"{r.choice(NAMES)} has a {r.choice(ADJECTIVES)} {r.choice(OBJECTS)}.")
        elif form == 2:
            sentences.append(f"We like to play in the {r.choice(PLACES)}.")
        else:
            sentences.append(
                f"The sun is {r.choice(['up', 'hot', 'out'])} and the {r.choice(ANIMALS)} sleeps."
            )
    return " ".join(sentences)


def _utterance(r: random.Random) -> str:
    openers = ["I", "You", "We", "My friend", "Good sir, I", "Tell me, do you"]
    middles = ["think", "know", "fear", "hope", "swear", "say", "pray"]
    endings = [
        "we should go now",
        "this is not the time",
        "he will come back tonight",
        "you are wrong",
        "the night is long",
        "she loves you",
        "I cannot stay",
        "it was my fault",
        "we must fight",
    ]
    ending = r.choice(endings) if r.random() < 0.6 else f"the {_word(r)} is {_word(r)}"
    line = f"{r.choice(openers)} {r.choice(middles)} {ending}"
    return line + r.choice([".", "!", "?", "...", ", my lord.", ", friend!"])


def _dialogue(r: random.Random) -> str:
    speakers = r.sample(NAMES + [role.capitalize() for role in ROLES], 2)
    turns = r.randint(2, 6)
    style = r.randrange(3)
    lines = []
    for turn in range(turns):
        who = speakers[turn % 2]
        text = " ".join(_utterance(r) for _ in range(r.randint(1, 3)))
        if style == 0:  # play script: name on its own line
            lines.append(f"{who}:\n{text}\n")
        elif style == 1:  # chat transcript
            lines.append(f"{who}: {text}")
        else:  # quoted speech in prose
            lines.append(f'"{text}" {r.choice(["said", "asked", "cried", "replied"])} {who}.')
    return "\n".join(lines)


def _expository(r: random.Random) -> str:
    subject = f"The {r.choice(ADJECTIVES).capitalize()} {r.choice(TOPICS)}"
    year = r.randint(1200, 2020)
    sentences = [
        f"{subject} is a {r.choice(TOPICS)} in the region of {r.choice(NAMES)}ia , known for its "
        f"{r.choice(FIELDS)} .",
        f"It was established in {year} and expanded during the {r.randint(12, 20)}th century .",
        f"According to a {year + r.randint(1, 50)} survey , it covers {r.randint(2, 900)} square kilometres "
        f"( {r.randint(1, 400)} sq mi ) .",
        f"Scholars of {r.choice(FIELDS)} have described it as one of the most important examples of its kind .",
        f"The {r.choice(TOPICS)} was later renamed , although the original name remains in common use .",
        f"Its population was {r.randint(1000, 90000)} at the census of {r.randint(1900, 2020)} .",
        f"In {year} , the {_word(r)} of {_word(r).capitalize()} was {_word(r)} by the {_word(r)} .",
        f"The {_word(r)} {_word(r)} , which {_word(r)} the {_word(r)} , was completed in {year + 3} .",
        f"{_word(r).capitalize()} and {_word(r)} are among the {_word(r)} found in the {_word(r)} .",
    ]
    r.shuffle(sentences)
    text = " ".join(sentences[: r.randint(3, 6)])
    if r.random() < 0.5:  # plain punctuation as well as the tokenised kind
        text = text.replace(" ,", ",").replace(" .", ".").replace("( ", "(").replace(" )", ")")
    return text


def _cloze(r: random.Random) -> str:
    blank = r.choice(["____", "___", "[MASK]", "_____", "(blank)"])
    sentence = r.choice(
        [
            f"The {r.choice(ANIMALS)} lives in the {blank}.",
            f"{r.choice(NAMES)} put the {r.choice(OBJECTS)} on the {blank}.",
            f"The capital of {r.choice(NAMES)}ia is {blank}.",
            f"Water freezes at {blank} degrees.",
        ]
    )
    prefix = r.choice(["Fill in the blank: ", "Complete the sentence: ", "", "Cloze: "])
    answer = r.choice(PLACES + OBJECTS)
    return f"{prefix}{sentence}" + (f" Answer: {answer}" if r.random() < 0.5 else "")


def _story_moves(r: random.Random, people: list[str], n: int) -> tuple[list[str], dict[str, str]]:
    where: dict[str, str] = {}
    lines = []
    for _ in range(n):
        person, place = r.choice(people), r.choice(PLACES)
        where[person] = place
        lines.append(f"{person} {r.choice(VERBS_MOVE)} to the {place}.")
    return lines, where


def _question_block(r: random.Random, lines: list[str], question: str, answer: str) -> str:
    style = r.randrange(3)
    if style == 0:
        return "\n".join(lines + [question])
    if style == 1:
        return " ".join(lines) + f" Q: {question} A: {answer}"
    return "\n".join(lines) + f"\n{question}\t{answer}"


def _qa_fact(r: random.Random) -> str:
    people = r.sample(NAMES, 4)
    lines, where = _story_moves(r, people, r.randint(2, 8))
    person = r.choice(sorted(where))
    return _question_block(r, lines, f"Where is {person}?", where[person])


def _qa_multihop(r: random.Random) -> str:
    form = r.randrange(3)
    if form == 0:  # an object travels with whoever holds it
        people = r.sample(NAMES, 3)
        item = r.choice(OBJECTS)
        holder = r.choice(people)
        lines, where = _story_moves(r, people, r.randint(1, 4))
        lines.append(f"{holder} {r.choice(['picked up', 'took', 'grabbed', 'got'])} the {item} there.")
        place = r.choice(PLACES)
        lines.append(f"{holder} {r.choice(VERBS_MOVE)} to the {place}.")
        return _question_block(r, lines, f"Where is the {item}?", place)
    if form == 1:  # where was it before
        item, first, second = r.choice(OBJECTS), *r.sample(PLACES, 2)
        person = r.choice(NAMES)
        lines = [
            f"{person} took the {item}.",
            f"{person} went to the {first}.",
            f"{person} went to the {second}.",
        ]
        return _question_block(r, lines, f"Where was the {item} before the {second}?", first)
    a, b, c = r.sample(NAMES, 3)
    rel1, rel2 = r.choice(RELATIONS), r.choice(RELATIONS)
    lines = [f"{a} is the {rel1} of {b}.", f"{b} is the {rel2} of {c}."]
    return _question_block(r, lines, f"Who is the {rel1} of the {rel2} of {c}?", a)


UNITS = "apples pencils stickers cookies marbles tickets books cupcakes eggs shirts pages bags".split()
RATES = ("per hour", "per day", "each week", "per box", "for each one", "every morning")


def _problem_solving(r: random.Random) -> str:
    name, other = r.sample(NAMES, 2)
    unit = r.choice(UNITS) if r.random() < 0.6 else _word(r) + "s"
    a, b, c = r.randint(2, 90), r.randint(2, 40), r.randint(2, 12)
    facts = [
        f"{name} has {a} {unit}.",
        f"{name} buys {b} more {unit} at the {r.choice(PLACES)}.",
        f"{other} has {r.choice(['twice', 'three times', 'half'])} as many {unit} as {name}.",
        f"{name} earns ${c} {r.choice(RATES)}.",
        f"Each box holds {c} {unit}.",
        f"{name} gives {r.randint(1, 9)} {unit} to each of {r.randint(2, 6)} friends.",
        f"The price went up by {r.randint(5, 60)}% this year.",
        f"It takes {c} minutes to make one batch of {unit}.",
        f"{name} spends a third of the money on {r.choice(UNITS)} and saves the rest.",
        f"{r.choice(['She', 'He', 'They'])} {_word(r)}s {r.randint(2, 9)} {unit} every day.",
        f"{r.choice(['She', 'He'])} sells the rest at the {_word(r)} for ${c} each.",
        f"A {_word(r)} costs ${a} and a {_word(r)} costs ${b} less.",
        f"{name} {_word(r)}s for {c} hours {r.choice(RATES)}.",
    ]
    r.shuffle(facts)
    question = r.choice(
        [
            f"How much money does {name} make in {r.randint(2, 9)} weeks?",
            f"How many {unit} does {name} have left?",
            f"How many {unit} do they have altogether?",
            f"How many more {unit} does {other} have than {name}?",
            f"How long will it take to make {b} {unit}?",
            "What is the total cost in dollars?",
            "How many boxes are needed?",
        ]
    )
    text = " ".join(facts[: r.randint(2, 6)]) + " " + question
    if r.random() < 0.4:  # a worked solution, as in problem sets with answers
        total = a + b
        text += f"\n{name} has {a} + {b} = {total} {unit}.\nSo {total} * {c} = {total * c}.\nThe answer is {total * c}."
    return text


def _code(r: random.Random) -> str:
    fn, var = (
        r.choice(["compute", "load", "parse", "update", "total"]),
        r.choice(["items", "data", "x", "values"]),
    )
    snippets = [
        f"def {fn}_{var}({var}):\n    result = 0\n    for item in {var}:\n        if item > {r.randint(0, 9)}:\n"
        f"            result += item\n    return result\n",
        f"function {fn}({var}) {{\n  const out = [];\n  for (let i = 0; i < {var}.length; i++) {{\n"
        f"    out.push({var}[i] * {r.randint(2, 9)});\n  }}\n  return out;\n}}\n",
        f"class {fn.capitalize()}:\n    def __init__(self, {var}):\n        self.{var} = {var}\n\n"
        f"    def size(self):\n        return len(self.{var})\n",
        f"int {fn}(int *{var}, int n) {{\n    int s = 0;\n    for (int i = 0; i < n; ++i) s += {var}[i];\n"
        f"    return s;\n}}\n",
        f"import os\n\n{var} = [line.strip() for line in open('{fn}.txt')]\nprint(len({var}))\n",
    ]
    return r.choice(snippets)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "simple_prose": _simple_prose,
    "dialogue": _dialogue,
    "expository": _expository,
    "cloze": _cloze,
    "qa_fact": _qa_fact,
    "qa_multihop": _qa_multihop,
    "problem_solving": _problem_solving,
    "code": _code,
}


def generate_task_corpus(per_label: int = 2000, seed: int = 0) -> list[dict[str, str]]:
    """`per_label` documents for every label of `TASK_LADDER`, interleaved, deterministic by seed."""
    rng = random.Random(seed)
    return [
        {"text": GENERATORS[label](rng), "label": label} for _ in range(per_label) for label in TASK_LADDER
    ]
