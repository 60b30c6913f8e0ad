"""One tokenizer per grid: byte-level BPE trained offline on the curriculum text, or plain bytes.

Both kinds are a `tokenizers` byte-level BPE saved as `tokenizer.json`: plain bytes is simply the
256-symbol byte alphabet with no merges, so encoding, saving and the Hugging Face export share one
code path. Token 0 is `<|endoftext|>`, which separates documents in packed sequences and starts
every evaluation sequence.

Training is deterministic for the same texts and vocabulary size, but it is done once per grid and
then reused by path, so all cells see identical token ids. A tokenizer is named by a spec: "bytes",
"bpe:<vocab size>" (trained on the manifests' tier text), or the path of a tokenizer.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from curriscale.errors import CurriscaleError
from curriscale.io import atomic_output

EOS = "<|endoftext|>"
BYTE_ALPHABET = 256


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512) -> Tokenizer:
    """Train a byte-level BPE on `texts`; `vocab_size=257` gives plain bytes (+ the EOS token).

    Args:
        texts: the training text (e.g. every tier's documents).
        vocab_size: total vocabulary including the 256 bytes and EOS; at least 257.
    """
    if vocab_size < BYTE_ALPHABET + 1:
        raise CurriscaleError(f"vocab_size={vocab_size}: must be at least {BYTE_ALPHABET + 1} (bytes + EOS)")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def manifest_texts(manifests: Iterable[str | Path]) -> Iterator[str]:
    """Every document text of the manifests' tiers (streamed file by file), to train a BPE on."""
    import pyarrow.parquet as pq

    from curriscale.curricula.manifest import load_manifest
    from curriscale.curricula.tier_reader import reading_tier_file

    for path in manifests:
        manifest = load_manifest(path)
        for tier in range(len(manifest.tiers)):
            for file in manifest.tier_files(tier):
                with reading_tier_file(file):
                    texts = pq.read_table(file, columns=["text"]).column("text").to_pylist()
                yield from texts


def tokenizer_from_spec(spec: str, manifests: Iterable[str | Path]) -> Tokenizer:
    """Build the tokenizer a spec names: "bytes", "bpe:<vocab_size>" (trained on the manifests), or a path."""
    if spec == "bytes":
        return train_tokenizer([], vocab_size=BYTE_ALPHABET + 1)
    if spec.startswith("bpe:"):
        try:
            vocab_size = int(spec[4:])
        except ValueError as error:
            raise CurriscaleError(f"tokenizer {spec!r}: write bpe:<vocab size>, e.g. bpe:512") from error
        return train_tokenizer(manifest_texts(manifests), vocab_size)
    return load_tokenizer(spec)


def save_tokenizer(tokenizer: Tokenizer, path: str | Path) -> None:
    """Write `tokenizer.json` atomically."""
    with atomic_output(path) as tmp:
        tokenizer.save(str(tmp))


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a `tokenizer.json` written by `save_tokenizer`."""
    path = Path(path)
    if not path.is_file():
        raise CurriscaleError(f"{path}: tokenizer file not found")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception on malformed files
        raise CurriscaleError(f"{path}: not a tokenizers JSON file: {error}") from error
    if tokenizer.token_to_id(EOS) is None:
        raise CurriscaleError(f"{path}: tokenizer has no {EOS} token")
    return tokenizer


def eos_id(tokenizer: Tokenizer) -> int:
    return tokenizer.token_to_id(EOS)


def write_hf_tokenizer_files(tokenizer: Tokenizer, folder: Path) -> None:
    """Write tokenizer.json + tokenizer_config.json so `AutoTokenizer.from_pretrained` can load them."""
    save_tokenizer(tokenizer, folder / "tokenizer.json")
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": EOS,
        "eos_token": EOS,
        "pad_token": EOS,
        "unk_token": None,
        "model_max_length": 1 << 30,
    }
    with atomic_output(folder / "tokenizer_config.json") as tmp:
        tmp.write_text(json.dumps(config, indent=2) + "\n")
