"""Task type: which kind of text a document is, on a ladder from simple prose to code (fastText).

The default model ships in the package (`models/task_type.ftz`, under 1 MB). It is reproduced by
`curriscale scorers train task_type --out model.ftz`, which trains only on the corpus the project
generates itself (`task_corpus.py`); users train their own on labelled JSONL/Parquet with the same
command. Columns: `task_type` (label) and `task_type_prob` (the model's probability for it).

Texts are normalised the same way for training and prediction: lower-cased, punctuation split off,
numbers folded to one token and line breaks kept as a token (fastText itself cannot take a newline in
`predict`, yet line structure is what tells a play script or a code listing apart).
"""

from __future__ import annotations

import multiprocessing
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output
from curriscale.scorers.base import Scorer
from curriscale.scorers.task_corpus import TASK_LADDER, generate_task_corpus

DEFAULT_MODEL = Path(__file__).parent / "models" / "task_type.ftz"
_TOKENS = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|\n|[^\w\s]")
_MAX_CHARS = 20_000  # the head of a document says what kind it is; keeps huge documents cheap


def normalise(text: str) -> str:
    """The token string fastText sees for `text`."""
    tokens = _TOKENS.findall(text[:_MAX_CHARS].lower())
    return " ".join("<nl>" if t == "\n" else "<num>" if t[0].isdigit() else t for t in tokens)


def train_task_type_model(
    out: str | Path,
    examples: Iterable[dict[str, str]] | None = None,
    seed: int = 0,
    epoch: int = 20,
) -> Path:
    """Train and quantize a fastText task-type classifier; write it atomically to `out`.

    Args:
        out: destination `.ftz` file.
        examples: dicts with `text` and `label`; by default the project's own generated corpus.
        seed: seeds the generated corpus and fastText (trained on one thread, so runs repeat exactly).
        epoch: training passes.
    """
    if examples is None:
        examples = generate_task_corpus(seed=seed)
    lines = []
    for i, example in enumerate(examples):
        label = str(example.get("label", "")).strip()
        if not label or not str(example.get("text", "")).strip():
            raise CurriscaleError(f"training example {i}: needs a non-empty 'text' and 'label'")
        lines.append(f"__label__{label.replace(' ', '_')} {normalise(example['text'])}\n")
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("".join(lines), encoding="utf-8")
        # fastText's quantize leaves process-wide state behind that changes (or NaNs) the next model
        # trained in the same process; a fresh interpreter per training keeps the bytes reproducible.
        with multiprocessing.get_context("spawn").Pool(1) as pool, atomic_output(out) as tmp_out:
            pool.apply(_fit_quantize_save, (str(train_file), str(tmp_out), epoch, seed))
    return Path(out)


def _fit_quantize_save(train_file: str, out: str, epoch: int, seed: int) -> None:
    """Train on a fastText-format file (one thread, so runs repeat exactly), quantize, save to `out`."""
    import fasttext

    model = fasttext.train_supervised(
        input=train_file,
        epoch=epoch,
        lr=0.5,
        wordNgrams=2,
        dim=32,
        minn=2,
        maxn=4,
        bucket=200_000,
        thread=1,
        seed=seed,
        verbose=0,
    )
    model.quantize(input=train_file, retrain=True, qnorm=True, cutoff=50_000)
    model.save_model(out)


class TaskType(Scorer):
    """fastText task-type classifier.

    Args:
        model: path to a `.ftz`/`.bin` fastText model; the packaged default when omitted.
    """

    name = "task_type"
    version = "1"
    ladder = TASK_LADDER

    def __init__(self, model: str | None = None) -> None:
        super().__init__(model=model or "default")
        self._path = Path(model) if model else DEFAULT_MODEL
        if not self._path.is_file():
            raise CurriscaleError(f"task_type: model file not found: {self._path}")
        self._model = None

    def columns(self) -> dict[str, pa.DataType]:
        return {"task_type": pa.string(), "task_type_prob": pa.float64()}

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self._model is None:  # loaded lazily so the scorer pickles cheaply into pipeline workers
            import fasttext

            fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence a deprecation notice
            self._model = fasttext.load_model(str(self._path))
        normalised = [normalise(t) for t in texts]
        labels, probs = self._model.predict(normalised, k=1)
        # fastText labels even an empty string (from its bias alone): a text with no tokens gets no
        # label and a NaN probability instead, which the pipeline rejects with a reason.
        empty = np.array([not t for t in normalised])
        task_type = np.array([lab[0].removeprefix("__label__") for lab in labels], dtype=object)
        task_type[empty] = ""
        prob = np.minimum(np.array([p[0] for p in probs], dtype=np.float64), 1.0)
        prob[empty] = np.nan
        return {"task_type": task_type, "task_type_prob": prob}
