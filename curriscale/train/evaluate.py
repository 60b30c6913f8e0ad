"""Evaluation on a fixed set: loss per group, exact-match accuracy per level, per-position loss.

An eval file (JSONL or Parquet) has `text` and optionally `level` (or `tier`), `prompt` and
`answer` with `text == prompt + " " + answer`. Each document is scored on its own, as
`<|endoftext|> + tokens`, truncated to `seq_len + 1` tokens (the same document boundary the
packed training data has).

- `eval_loss`: mean next-token loss over all tokens; `eval_loss_level_<k>` the same per group.
- `accuracy_level_<k>`: for question documents, teacher-forced exact match, i.e. every answer
  token is the model's argmax given the prompt and the earlier answer tokens; `mean_accuracy`
  averages the levels that have questions.
- `answer_loss_level_<k>`: mean answer-token loss per question, averaged over questions.
- positions: mean loss at each position of the sequence (for the temporal scaling law).
- chance (`EvalSet.chance_accuracy`, per level): the accuracy of always giving the level's most
  frequent answer, over the questions that are scored. Yes/no or few-entity levels start well
  above 0, and an accuracy means learning only above this baseline.

Documents are tokenised once (`EvalSet.load`), sorted by length and batched so padding stays small.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as paj
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

from curriscale.errors import CurriscaleError
from curriscale.train.tokenizer import eos_id

IGNORE = -100


def read_table(path: str | Path) -> pa.Table:
    """Read an eval file (.jsonl / .json / .parquet) as an Arrow table with a `text` column."""
    path = Path(path)
    if not path.is_file():
        raise CurriscaleError(f"{path}: eval file not found")
    try:
        table = pq.read_table(path) if path.suffix == ".parquet" else paj.read_json(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise CurriscaleError(f"{path}: cannot read eval file: {error}") from error
    if "text" not in table.column_names:
        raise CurriscaleError(f"{path}: eval file has no 'text' column")
    return table


@dataclass
class EvalSet:
    """Tokenised eval documents: inputs/targets padded per document, answer masks and groups."""

    sequences: list[np.ndarray]  # [eos] + tokens, at most seq_len + 1 ids
    answer_masks: list[np.ndarray]  # over targets (sequence[1:]); all False for non-questions
    groups: np.ndarray  # group id per document (level or tier), -1 when absent
    questions_cut: int = 0  # questions whose answer fell beyond seq_len (scored as plain text)
    questions: int = 0  # question documents, scored or cut
    # level (as in `accuracy_level_<k>`) -> share of its scored questions with its most frequent answer
    chance_accuracy: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path, tokenizer, seq_len: int) -> EvalSet:
        table = read_table(path)
        texts = table.column("text").to_pylist()
        n = len(texts)
        prompts = table.column("prompt").to_pylist() if "prompt" in table.column_names else [None] * n
        group_name = next((c for c in ("level", "tier") if c in table.column_names), None)
        groups = table.column(group_name).to_pylist() if group_name else [None] * n
        encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
        sequences, masks, cut, questions = [], [], 0, 0
        answers: dict[int, list[str]] = {}  # scored questions' answers per level
        for row, (text, prompt, encoding) in enumerate(zip(texts, prompts, encodings, strict=True)):
            ids = np.array([eos_id(tokenizer), *encoding.ids], dtype=np.int64)
            ends = np.array([end for _, end in encoding.offsets], dtype=np.int64)
            if prompt is not None:
                if not text.startswith(prompt):
                    raise CurriscaleError(f"{path}: row {row + 1}: 'text' does not start with 'prompt'")
                # Answer tokens overlap the answer, which starts after the prompt and one space.
                mask = ends > len(prompt) + 1
            else:
                mask = np.zeros(len(ends), dtype=bool)
            questions += bool(mask.any())
            if len(ids) > seq_len + 1:
                # A question whose answer is cut off cannot be checked: count it as plain text.
                cut += bool(mask[seq_len:].any())
                ids, mask = ids[: seq_len + 1], mask[:seq_len] & ~mask[seq_len:].any()
            if mask.any() and groups[row] is not None:
                # The scored answer is the text after the prompt and its space (the masked tokens).
                answers.setdefault(int(groups[row]), []).append(text[len(prompt) + 1 :])
            sequences.append(ids)
            masks.append(mask)
        group_ids = np.array([-1 if g is None else int(g) for g in groups], dtype=np.int64)
        chance = {
            str(level): Counter(given).most_common(1)[0][1] / len(given)
            for level, given in sorted(answers.items())
            if level >= 0
        }
        return cls(sequences, masks, group_ids, cut, questions, chance)

    def __len__(self) -> int:
        return len(self.sequences)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, eval_set: EvalSet, prefix: str = "", batch_tokens: int = 16384
) -> tuple[dict[str, float], np.ndarray]:
    """Evaluate `model` on `eval_set`.

    Returns:
        (metrics, position_loss): metrics named as in the run directory format, each prefixed with
        `prefix` (e.g. "ood_"); position_loss[i] is the mean loss at target position i (NaN where
        no document reaches it).
    """
    was_training = model.training
    device = next(model.parameters(), torch.empty(0)).device
    model.eval()
    n = len(eval_set)
    lengths = np.array([len(s) - 1 for s in eval_set.sequences])
    loss_sum, n_tokens = np.zeros(n), np.zeros(n)
    answer_nll, answer_count, answer_correct = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    max_len = int(lengths.max(initial=1))
    position_sum, position_count = np.zeros(max_len), np.zeros(max_len)
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < n:
        # Lengths ascend, so rows * (length of the last row) grows with rows: take the longest prefix
        # whose padded size fits the token budget.
        fits = np.arange(1, n - start + 1) * lengths[order[start:]] <= batch_tokens
        batch = order[start : start + max(1, int(fits.sum()))]
        width = max(int(lengths[batch].max()), 1)
        inputs = torch.zeros((len(batch), width), dtype=torch.long)
        targets = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        answers = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, doc in enumerate(batch):
            seq, k = eval_set.sequences[doc], lengths[doc]
            inputs[row, :k] = torch.from_numpy(seq[:-1])
            targets[row, :k] = torch.from_numpy(seq[1:])
            answers[row, :k] = torch.from_numpy(eval_set.answer_masks[doc])
        # On the model's device; only per-row and per-position sums come back to the CPU.
        inputs, targets, answers = inputs.to(device), targets.to(device), answers.to(device)
        logits = model(inputs).float()
        nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
        valid = targets != IGNORE
        wrong = (logits.argmax(-1) != targets) & answers
        loss_sum[batch] = _numpy(nll.sum(1))
        n_tokens[batch] = _numpy(valid.sum(1))
        answer_nll[batch] = _numpy((nll * answers).sum(1))
        answer_count[batch] = _numpy(answers.sum(1))
        answer_correct[batch] = _numpy(~wrong.any(1))
        position_sum[:width] += _numpy(nll.sum(0))
        position_count[:width] += _numpy(valid.sum(0))
        start += len(batch)
    model.train(was_training)

    metrics = {f"{prefix}eval_loss": float(loss_sum.sum() / max(n_tokens.sum(), 1))}
    question = answer_count > 0
    accuracies = []
    for group in np.unique(eval_set.groups[eval_set.groups >= 0]):
        in_group = eval_set.groups == group
        metrics[f"{prefix}eval_loss_level_{group}"] = float(
            loss_sum[in_group].sum() / max(n_tokens[in_group].sum(), 1)
        )
        asked = in_group & question
        if asked.any():
            accuracy = float(answer_correct[asked].mean())
            accuracies.append(accuracy)
            metrics[f"{prefix}accuracy_level_{group}"] = accuracy
            metrics[f"{prefix}answer_loss_level_{group}"] = float(
                (answer_nll[asked] / answer_count[asked]).mean()
            )
    if accuracies:
        metrics[f"{prefix}mean_accuracy"] = float(np.mean(accuracies))
    with np.errstate(invalid="ignore", divide="ignore"):
        position_loss = np.where(position_count > 0, position_sum / position_count, np.nan)
    return metrics, position_loss


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.cpu().numpy()
