"""The six document generators of the synthetic task spectrum, one per level.

Each level needs a different mechanism, so that the levels separate by model size:
0 language modelling of a tiny grammar, 1 telling a coherent continuation from a broken one,
2 recalling a memorised fact, 3 looking one fact up in the prompt, 4 chaining 2-3 facts,
5 carrying a number through 2-5 arithmetic steps.

A generator takes a numpy `Generator`, a document count and a `World` (the names, facts and ranges
of one split) and returns `(prompts, answers, texts)`; level 0 has no questions, so its prompts
and answers are None. Random choices are drawn for all documents at once with numpy; only the
string formatting loops in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curriscale.curricula import spectrum_words as words

Docs = tuple[list[str | None], list[str | None], list[str]]


@dataclass(frozen=True)
class World:
    """What one split's documents may mention: names, facts, entity pools and difficulty ranges."""

    names: tuple[str, ...]
    facts: dict[str, tuple[str, ...]]  # relation -> object per fact subject (aligned with `subjects`)
    subjects: tuple[str, ...]
    places: tuple[str, ...]
    objects: tuple[str, ...]
    hops: tuple[int, int]  # length of the asked multi-hop chain
    distractor_hops: tuple[int, int]  # length of the other chains (the training range in every split)
    steps: tuple[int, int]
    qa_distractors: tuple[int, int]
    nsp_easy_fraction: float
    max_operand: int
    max_total: int


def _choice(rng: np.random.Generator, pool: tuple[str, ...], size) -> np.ndarray:
    return np.asarray(pool, dtype=object)[rng.integers(len(pool), size=size)]


def _distinct(rng: np.random.Generator, n: int, pool_size: int, k: int) -> np.ndarray:
    """`n` rows of `k` distinct indices into a pool (argsort of uniform noise, vectorised)."""
    return np.argsort(rng.random((n, pool_size)), axis=1)[:, :k]


def _questions(prompts: list[str], answers: list[str]) -> Docs:
    return prompts, answers, [f"{p} {a}" for p, a in zip(prompts, answers, strict=True)]


def simple_sentences(rng: np.random.Generator, n: int, world: World) -> Docs:
    """Level 0: 2-4 short sentences from a four-pattern grammar of common words."""
    per_doc = rng.integers(2, 5, size=n)
    total = int(per_doc.sum())
    pattern = rng.integers(4, size=total)
    noun = _choice(rng, words.SIMPLE_NOUNS, total)
    thing = _choice(rng, words.SIMPLE_THINGS, total)
    adjective = _choice(rng, words.SIMPLE_ADJECTIVES, total)
    intransitive = _choice(rng, words.SIMPLE_INTRANSITIVE, total)
    transitive = _choice(rng, words.SIMPLE_TRANSITIVE, total)
    name = _choice(rng, world.names, total)
    forms = (
        "The {a} {n} {i}.",
        "The {n} {t} the {th}.",
        "{name} {t} a {a} {th}.",
        "The {n} {i}.",
    )
    sentences = [
        forms[p].format(a=a, n=no, i=i, t=t, th=th, name=nm)
        for p, a, no, i, t, th, nm in zip(
            pattern, adjective, noun, intransitive, transitive, thing, name, strict=True
        )
    ]
    ends = np.cumsum(per_doc)
    texts = [" ".join(sentences[end - k : end]) for end, k in zip(ends, per_doc, strict=True)]
    return [None] * n, [None] * n, texts


def _garble(sentence: str, rng: np.random.Generator) -> str:
    """Shuffle a sentence's words into an order that differs from the original."""
    tokens = sentence.rstrip(".").split()
    order = rng.permutation(len(tokens))
    if (order == np.arange(len(tokens))).all():
        order = np.roll(order, 1)
    return " ".join(tokens[i] for i in order) + "."


def next_sentence(rng: np.random.Generator, n: int, world: World) -> Docs:
    """Level 1: does the second sentence follow the first? Half yes; negatives easy or subtle."""
    n_pairs = len(words.NSP_PAIRS)
    pair = rng.integers(n_pairs, size=n)
    follows = rng.random(n) < 0.5
    easy = rng.random(n) < world.nsp_easy_fraction
    # A subtle negative takes the consequence of a different pair: offset 1..n_pairs-1, never itself.
    other = (pair + rng.integers(1, n_pairs, size=n)) % n_pairs
    name = _choice(rng, world.names, n)
    connector = _choice(rng, words.NSP_CONNECTORS, n)
    prompts, answers = [], []
    for i in range(n):
        cause = words.NSP_PAIRS[pair[i]][0].format(n=name[i])
        second_pair = pair[i] if follows[i] or easy[i] else other[i]
        second = words.NSP_PAIRS[second_pair][1].format(n=name[i], c=connector[i])
        if not follows[i] and easy[i]:
            second = _garble(second, rng)
        prompts.append(f"{cause} {second} Q: Does the second sentence follow? A:")
        answers.append("yes" if follows[i] else "no")
    return _questions(prompts, answers)


def cloze(rng: np.random.Generator, n: int, world: World) -> Docs:
    """Level 2: one stated fact from the table, then a second fact to complete from memory."""
    relations = list(world.facts)
    subject = rng.integers(len(world.subjects), size=(n, 2))
    relation = rng.integers(len(relations), size=(n, 2))
    prompts, answers = [], []
    for (s1, s2), (r1, r2) in zip(subject.tolist(), relation.tolist(), strict=True):
        stated = words.FACT_RELATIONS[relations[r1]][0].format(s=world.subjects[s1])
        asked = words.FACT_RELATIONS[relations[r2]][0].format(s=world.subjects[s2])
        prompts.append(f"{stated} {world.facts[relations[r1]][s1]}. {asked}")
        answers.append(world.facts[relations[r2]][s2])
    return _questions(prompts, answers)


def qa_fact(rng: np.random.Generator, n: int, world: World) -> Docs:
    """Level 3: several people go to different places; where did the asked one go?

    Every person and place appears once, and the asked person is uniform over the sentences, so
    answering "the last place mentioned" is right only 1 time in (1 + distractors).
    """
    low, high = world.qa_distractors
    k_max = high + 1
    count = rng.integers(low + 1, k_max + 1, size=n)
    people = _distinct(rng, n, len(world.names), k_max)
    places = _distinct(rng, n, len(world.places), k_max)
    time = rng.integers(len(words.TRAVEL_TIMES), size=(n, k_max))
    verb = rng.integers(len(words.TRAVEL_VERBS), size=(n, k_max))
    manner = rng.integers(len(words.TRAVEL_MANNERS), size=(n, k_max))
    asked = (rng.random(n) * count).astype(int)
    prompts, answers = [], []
    for i in range(n):
        story = " ".join(
            f"{words.TRAVEL_TIMES[time[i, j]]}, {world.names[people[i, j]]} {words.TRAVEL_MANNERS[manner[i, j]]} "
            f"{words.TRAVEL_VERBS[verb[i, j]]} to the {world.places[places[i, j]]}."
            for j in range(count[i])
        )
        prompts.append(f"{story} Q: In which room is {world.names[people[i, asked[i]]]} at the moment? A:")
        answers.append(world.places[places[i, asked[i]]])
    return _questions(prompts, answers)


MULTIHOP_CHAINS = 3  # the asked chain plus two distractor chains, facts shuffled together


def qa_multihop(rng: np.random.Generator, n: int, world: World) -> Docs:
    """Level 4: an object inside containers inside containers; which room is it in?

    A chain of `h` hops states `h` facts: the object is in a container, each container is in the
    next, and the last is left in a room. Two distractor chains share the prompt, shuffled in. Only
    the asked chain takes the split's hop range, so longer out-of-distribution chains do not also
    bring more distractor text (documents stay within a 128-token context).
    """
    low, high = world.hops
    asked = rng.integers(MULTIHOP_CHAINS, size=n)
    hops = rng.integers(world.distractor_hops[0], world.distractor_hops[1] + 1, size=(n, MULTIHOP_CHAINS))
    hops[np.arange(n), asked] = rng.integers(low, high + 1, size=n)
    most = int(hops.sum(axis=1).max(initial=0))
    objects = _distinct(rng, n, len(world.objects), MULTIHOP_CHAINS)
    containers = _distinct(rng, n, len(words.CONTAINERS), most - MULTIHOP_CHAINS)
    places = _distinct(rng, n, len(world.places), MULTIHOP_CHAINS)
    noise = rng.random((n, most))
    # Plain Python lists: indexing them per document is far cheaper than numpy scalars.
    hops, objects, containers = hops.tolist(), objects.tolist(), containers.tolist()
    places, asked, noise = places.tolist(), asked.tolist(), noise.tolist()
    prompts, answers = [], []
    for i in range(n):
        facts, used = [], 0
        for c in range(MULTIHOP_CHAINS):
            chain = [world.objects[objects[i][c]]]
            chain += [words.CONTAINERS[j] for j in containers[i][used : used + hops[i][c] - 1]]
            used += hops[i][c] - 1
            facts += [
                words.CONTAIN_TEMPLATE.format(x=x, y=y) for x, y in zip(chain[:-1], chain[1:], strict=True)
            ]
            facts.append(words.LEAVE_TEMPLATE.format(y=chain[-1], p=world.places[places[i][c]]))
        order = sorted(range(len(facts)), key=noise[i].__getitem__)  # shuffle the chains together
        story = " ".join(facts[j] for j in order)
        prompts.append(
            f"{story} Q: In which room is the {world.objects[objects[i][asked[i]]]} hidden now? A:"
        )
        answers.append(world.places[places[i][asked[i]]])
    return _questions(prompts, answers)


def problem_solving(rng: np.random.Generator, n: int, world: World) -> Docs:
    """Level 5: a count of items changed by 2-5 add/subtract steps; how many are left?

    A step subtracts with probability 1/2 unless that would go below zero, and adds unless that
    would pass `max_total`; `max_total >= 2 * max_operand` guarantees one of the two is allowed.
    """
    low, high = world.steps
    steps = rng.integers(low, high + 1, size=n)
    operand = rng.integers(1, world.max_operand + 1, size=(n, high))
    subtract = rng.random((n, high)) < 0.5
    template = rng.integers(3, size=(n, high))
    total = np.zeros((n, high + 1), dtype=np.int64)
    total[:, 0] = rng.integers(2, world.max_operand + 1, size=n)
    for s in range(high):  # vectorised over documents, one step at a time
        current = total[:, s]
        subtract[:, s] = np.where(current - operand[:, s] < 0, False, subtract[:, s])
        subtract[:, s] = np.where(current + operand[:, s] > world.max_total, True, subtract[:, s])
        total[:, s + 1] = current + np.where(subtract[:, s], -operand[:, s], operand[:, s])
    name = _choice(rng, world.names, n)
    item = _choice(rng, words.ITEMS, n)
    prompts, answers = [], []
    for i in range(n):
        lines = [words.START_TEMPLATE.format(n=name[i], k=total[i, 0], i=item[i])]
        for s in range(steps[i]):
            pool = words.SUBTRACT_TEMPLATES if subtract[i, s] else words.ADD_TEMPLATES
            lines.append(pool[template[i, s]].format(n=name[i], k=operand[i, s], i=item[i]))
        lines.append(f"Q: How many {item[i]} does {name[i]} possess now? A:")
        prompts.append(" ".join(lines))
        answers.append(str(total[i, steps[i]]))
    return _questions(prompts, answers)


LEVELS = {
    0: ("simple_sentences", simple_sentences),
    1: ("next_sentence", next_sentence),
    2: ("cloze", cloze),
    3: ("qa_fact", qa_fact),
    4: ("qa_multihop", qa_multihop),
    5: ("problem_solving", problem_solving),
}
