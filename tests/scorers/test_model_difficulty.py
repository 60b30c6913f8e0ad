"""model_difficulty on a tiny GPT-2 built offline: batched NLLs equal a one-at-a-time reference.

The float32 transformers loop stays the reference; the bfloat16 modes are held to a stated tolerance of it.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from curriscale.errors import CurriscaleError
from curriscale.scorers import model_difficulty
from curriscale.scorers.model_difficulty import ModelDifficulty, resolve_model_path
from curriscale.scorers.registry import get_scorer

# Nats per token, per document. bf16 keeps ~3 significant digits; on SmolLM2-135M over 200 real
# paragraphs the mean difference measured was 0.009 (bf16 weights) and 0.005 (autocast), the largest
# 0.24 and 0.14, on short documents (benchmarks/bench_model_difficulty.py). The tiny model here has
# documents of 2-12 tokens, so one token's rounding weighs more.
BF16_TOLERANCE = 0.05
TEXTS = [
    "the cat sat on the mat and the dog sat on the log",
    "a b",
    "colourless green ideas sleep furiously while the committee deliberates on quantum matters",
    "x",
    "the cat sat on the mat",
]


def make_tiny_lm(folder: Path, seed: int) -> Path:
    """A 2-layer GPT-2 and a word-level tokenizer, saved as an HF folder (no network)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(TEXTS, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=64, n_embd=32, n_layer=2, n_head=2)
    GPT2LMHeadModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return make_tiny_lm(tmp_path_factory.mktemp("lm"), seed=0)


def reference_nll(folder: Path, text: str) -> float:
    """The plain transformers loop the scorer must agree with: one document, no padding."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = AutoTokenizer.from_pretrained(folder)(text, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        return model(input_ids=ids, labels=ids).loss.item()


def test_batched_scores_match_one_document_at_a_time(tiny_lm):
    scorer = ModelDifficulty(
        model=str(tiny_lm), dtype="float32", batch_tokens=24
    )  # small budget: several length buckets
    out = scorer.score(TEXTS)
    for i, text in enumerate(TEXTS):
        if len(text.split()) < 2:
            assert np.isnan(out["model_nll"][i]) and out["n_tokens"][i] == 0
        else:
            assert out["model_nll"][i] == pytest.approx(reference_nll(tiny_lm, text), rel=1e-4)
            assert out["n_tokens"][i] == len(text.split()) - 1
            assert out["model_nll_p90"][i] >= out["model_nll"][i] * 0.5


def test_truncation_window_limits_tokens(tiny_lm):
    out = ModelDifficulty(model=str(tiny_lm), dtype="float32", max_tokens=4).score([TEXTS[0]])
    assert out["n_tokens"][0] == 3
    assert out["model_nll"][0] == pytest.approx(reference_nll(tiny_lm, "the cat sat on"), rel=1e-4)


def test_learnability_is_small_minus_large_nll(tiny_lm, tmp_path):
    small = make_tiny_lm(tmp_path / "small", seed=1)
    scorer = ModelDifficulty(model=str(tiny_lm), small_model=str(small), dtype="float32")
    assert set(scorer.columns()) == {"model_nll", "model_nll_p90", "n_tokens", "learnability"}
    out = scorer.score([TEXTS[0]])
    expected = reference_nll(small, TEXTS[0]) - reference_nll(tiny_lm, TEXTS[0])
    assert out["learnability"][0] == pytest.approx(expected, rel=1e-3, abs=1e-5)


def test_unknown_model_spec_names_it(tmp_path):
    with pytest.raises(CurriscaleError, match="no-such-model"):
        resolve_model_path(str(tmp_path / "no-such-model"))
    with pytest.raises(CurriscaleError, match="dtype"):
        ModelDifficulty(model="x", dtype="float16")


@pytest.mark.parametrize("dtype", ["bfloat16", "autocast"])
def test_bfloat16_modes_stay_within_tolerance_of_float32(tiny_lm, dtype):
    texts = [text for text in TEXTS if len(text.split()) > 1]
    scorer = ModelDifficulty(model=str(tiny_lm), device="cpu", dtype=dtype)
    scores = scorer.score(texts)["model_nll"]
    difference = np.abs(scores - [reference_nll(tiny_lm, text) for text in texts])
    assert difference.max() < BF16_TOLERANCE
    assert difference.max() > 1e-5  # bf16 really ran: float32 agrees to ~1e-6
    model, _ = scorer._models[str(tiny_lm)]
    # bfloat16 stores its weights in bf16; autocast keeps float32 weights and casts inside the call.
    assert model.dtype == (torch.bfloat16 if dtype == "bfloat16" else torch.float32)


def test_absent_device_is_a_one_line_error_naming_the_option():
    absent = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"
    with pytest.raises(
        CurriscaleError, match=f"device {absent}: (no CUDA GPU on this machine|GPU .* does not exist)"
    ) as error:
        get_scorer(f"model_difficulty:device={absent}")
    assert "\n" not in str(error.value)
    with pytest.raises(CurriscaleError, match="device 'tpu': choose auto, cpu, cuda, cuda:N or mps"):
        ModelDifficulty(device="tpu")


def test_provenance_leaves_out_the_device_and_records_the_resolved_dtype(tiny_lm, monkeypatch):
    on_cpu = ModelDifficulty(model=str(tiny_lm), device="cpu", dtype="float32").provenance()
    assert on_cpu == ModelDifficulty(model=str(tiny_lm), device="auto", dtype="float32").provenance()
    assert "device" not in on_cpu["params"] and on_cpu["params"]["dtype"] == "float32"
    for native, resolved in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(model_difficulty, "_cpu_has_native_bf16", lambda native=native: native)
        scorer = ModelDifficulty(model=str(tiny_lm), device="cpu")  # the default dtype is auto
        assert scorer.provenance()["params"]["dtype"] == resolved
        # The batch size, when not given, follows the resolved dtype and is recorded as used.
        assert scorer.provenance()["params"]["batch_tokens"] == (4096 if native else 2048)
    given = ModelDifficulty(model=str(tiny_lm), device="cpu", dtype="bfloat16", batch_tokens=512)
    assert given.provenance()["params"]["batch_tokens"] == 512
