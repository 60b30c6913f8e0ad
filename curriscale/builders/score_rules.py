"""Which documents cannot be scored, and why: the rejection rules of `curriscale score`.

Before scoring: empty or whitespace-only text (`empty text`) and binary junk or text that cannot be
UTF-8 (`binary or invalid UTF-8`). While scoring: a non-finite value in any float column
(`<scorer>: <its reject_reason>`, e.g. `reading_age: no words`, else `<scorer>: non-finite score`) and a scorer exception (`<scorer>: <Exception>: <message>`); a batch
that raises is retried document by document so only the documents that fail are rejected. A scorer
that breaks its contract (missing column, wrong length) is a bug and stops the run instead.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError
from curriscale.scorers.base import Scorer

JUNK_RATIO = 0.01  # above this share of control/replacement characters a text is binary junk
# C0/C1 controls except tab/newline/CR/FF/VT, the replacement character, and lone surrogates.
_JUNK = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # cannot be stored as UTF-8 at all


def text_problem(text: str, max_chars: int) -> str | None:
    """Why a text cannot be scored (`empty text`, `binary or invalid UTF-8`), or None."""
    if not text or text.isspace():
        return "empty text"
    head = text[:max_chars]
    if _SURROGATE.search(text) or len(_JUNK.findall(head)) > JUNK_RATIO * len(head):
        return "binary or invalid UTF-8"
    return None


def reason_key(reason: str) -> str:
    """The countable part of a reason: `malformed JSON: <parser message>` counts as `malformed JSON`.

    Scorer reasons keep the scorer's name (`reading_age: non-finite score`, `mine: ValueError`).
    """
    head, _, rest = reason.partition(": ")
    if head in {"malformed JSON", "binary or invalid UTF-8", "missing text field", "text is not a string"}:
        return head
    return f"{head}: {rest.partition(': ')[0]}" if rest else head


def score_with_retries(scorer: Scorer, texts: list[str]) -> tuple[dict[str, list], list[str | None]]:
    """Run one scorer on a batch: its columns as lists, and a rejection reason per document (or None).

    A failing batch is retried document by document so one bad document does not sink the batch.
    """
    columns = scorer.columns()
    try:
        outputs = [_checked(scorer, scorer.score(texts), len(texts))]
        errors: list[str | None] = [None]
        groups = [texts]
    except CurriscaleError:
        raise
    except Exception:
        outputs, errors, groups = [], [], [[text] for text in texts]
        for text in texts:
            try:
                outputs.append(_checked(scorer, scorer.score([text]), 1))
                errors.append(None)
            except CurriscaleError:
                raise
            except Exception as error:  # a plug-in may raise anything; the reason names it
                outputs.append(None)
                errors.append(f"{scorer.name}: {type(error).__name__}: {error}"[:500])
    values: dict[str, list] = {name: [] for name in columns}
    reasons: list[str | None] = []
    for output, error, group in zip(outputs, errors, groups, strict=True):
        for name in columns:
            values[name].extend([None] * len(group) if output is None else output[name].tolist())
        if error is not None:
            reasons.extend([error] * len(group))
            continue
        finite = np.ones(len(group), dtype=bool)
        for name, dtype in columns.items():
            if pa.types.is_floating(dtype):
                finite &= np.isfinite(np.asarray(output[name], dtype=np.float64))
        reasons.extend(
            None if ok else f"{scorer.name}: {_why_not_finite(scorer, text)}"
            for ok, text in zip(finite, group, strict=True)
        )
    return values, reasons


def _why_not_finite(scorer: Scorer, text: str) -> str:
    """The scorer's own reason for a non-finite score (`reject_reason`), else the generic one."""
    explain = getattr(scorer, "reject_reason", None)
    return (explain(text) if explain else None) or "non-finite score"


def _checked(scorer: Scorer, output: dict, rows: int) -> dict:
    """The scorer's output, after checking it has every declared column at the batch length."""
    for name in scorer.columns():
        if name not in output or len(output[name]) != rows:
            got = "missing" if name not in output else f"{len(output[name])} values"
            raise CurriscaleError(f"scorer {scorer.name!r}: column {name!r} is {got} for a batch of {rows}")
    return {name: np.asarray(output[name]) for name in scorer.columns()}
