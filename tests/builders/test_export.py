"""Exports for external trainers: token .bin + indexes, ordered JSONL, HF datasets, the CLI, the example.

The Megatron, litdata and DeepSpeed formats have their own test files (test_export_trainers.py).
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from curriscale.builders.export import export_curriculum
from curriscale.cli.app import app
from curriscale.curricula.encoding import Encoder, make_encoder
from curriscale.curricula.sampler import CurriculumSampler, iter_curriculum
from curriscale.errors import CurriscaleError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "curricula"))
from manifest_factory import write_curriculum  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LADDER = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]


@pytest.fixture
def ladder(tmp_path):
    return write_curriculum(tmp_path / "ladder", [40, 30, 20], LADDER)


def streamed_texts(manifest, tokenizer, budget=None):
    """The documents the reader yields with the same tokenizer, budget and seed as the export.

    With a budget, progress counts in the tokenizer's tokens (as `curriscale train` reads it);
    without one, in the manifest's own unit over the whole schedule.
    """
    if budget is None:
        return [d["text"] for d in iter_curriculum(manifest, seed=0)]
    sampler = CurriculumSampler(
        manifest, 0, encoder=make_encoder(tokenizer), budget_tokens=budget, stop_at_end=True
    )
    return [d["text"] for d in sampler.documents()]


def read_megatron_index(path):
    """Parse a Megatron MMIDIDX index the way Megatron-LM's MMapIndexedDataset does."""
    raw = path.read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, code, n_sequences, n_documents = struct.unpack("<QBQQ", raw[9:34])
    sizes = np.frombuffer(raw, np.int32, n_sequences, 34)
    pointers = np.frombuffer(raw, np.int64, n_sequences, 34 + sizes.nbytes)
    documents = np.frombuffer(raw, np.int64, n_documents, 34 + sizes.nbytes + pointers.nbytes)
    return version, code, sizes, pointers, documents


def test_tokens_bin_decodes_to_the_curriculum_order(ladder, tmp_path):
    out = tmp_path / "export"
    summary = export_curriculum(ladder, "tokens", out, tokenizer="bytes", budget_tokens=4000)
    meta = json.loads((out / "export.json").read_text())
    assert meta == summary
    assert (meta["dtype"], meta["vocab_size"], meta["eos_id"]) == ("uint16", 257, 256)
    tokens = np.memmap(out / "tokens.bin", dtype=meta["dtype"], mode="r")
    offsets = np.load(out / "tokens.offsets.npy")
    assert offsets[0] == 0 and offsets[-1] == len(tokens) == meta["tokens"] >= 4000
    assert len(offsets) == meta["documents"] + 1
    assert (tokens[offsets[1:] - 1] == 256).all() and (tokens == 256).sum() == meta["documents"]
    texts = [
        bytes(tokens[a : b - 1].astype(np.uint8)).decode()
        for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ]
    assert texts == streamed_texts(ladder, "bytes", 4000)
    # Megatron index: one sequence per document, byte pointers into tokens.bin.
    version, code, sizes, pointers, documents = read_megatron_index(out / "tokens.idx")
    assert (version, code) == (1, 8)
    np.testing.assert_array_equal(sizes, np.diff(offsets))
    np.testing.assert_array_equal(pointers, offsets[:-1] * 2)
    np.testing.assert_array_equal(documents, np.arange(meta["documents"] + 1))
    # ... and Megatron's own reader agrees (megatron-core is in the dev extra).
    indexed_dataset = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    dataset = indexed_dataset.IndexedDataset(str(out / "tokens"))
    assert len(dataset) == meta["documents"]
    np.testing.assert_array_equal(dataset[3], tokens[offsets[3] : offsets[4]])


def test_export_is_deterministic(ladder, tmp_path):
    for run in ("a", "b"):
        export_curriculum(ladder, "tokens", tmp_path / run, budget_tokens=2000, seed=3)
    for name in ("tokens.bin", "tokens.offsets.npy", "tokens.idx", "documents.parquet", "export.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = export_curriculum(ladder, "tokens", tmp_path / "c", budget_tokens=2000, seed=4)
    assert (tmp_path / "c" / "tokens.bin").read_bytes() != (tmp_path / "a" / "tokens.bin").read_bytes()
    assert other["seed"] == 4


def test_stage_table_partitions_the_stream(ladder, tmp_path):
    meta = export_curriculum(ladder, "tokens", tmp_path, budget_tokens=4000)
    stages = meta["stages"]
    assert [s["stage"] for s in stages] == [0, 1, 2]
    assert stages[0]["first_document"] == stages[0]["first_token"] == 0
    for before, after in zip(stages, stages[1:], strict=False):
        assert after["first_document"] == before["first_document"] + before["documents"]
        assert after["first_token"] == before["first_token"] + before["tokens"]
    assert sum(s["tokens"] for s in stages) == meta["tokens"]
    assert stages[0]["weights"] == [1.0, 0.0, 0.0]
    # Stage boundaries sit at thirds of the 4000-token budget.
    assert abs(stages[1]["first_token"] - 4000 / 3) < 80


def test_large_vocabulary_uses_uint32(ladder, tmp_path):
    def encode_batch(texts):  # ids above 65535 force the wide dtype
        return [np.frombuffer(t.encode(), np.uint8).astype(np.int64) + 70_000 for t in texts]

    encoder = Encoder(encode_batch, eos_id=69_999, vocab_size=70_300, name="wide")
    meta = export_curriculum(ladder, "tokens", tmp_path, tokenizer=encoder, budget_tokens=1500)
    tokens = np.fromfile(tmp_path / "tokens.bin", dtype=meta["dtype"])
    assert (
        meta["dtype"] == "uint32" and tokens.max() >= 70_000 and (tokens == 69_999).sum() == meta["documents"]
    )
    assert read_megatron_index(tmp_path / "tokens.idx")[1] == 4


def test_tokenizer_json_round_trip(ladder, tmp_path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(["tier 0 doc word é."] * 20, trainer=trainer)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    meta = export_curriculum(ladder, "tokens", tmp_path / "out", tokenizer=str(tmp_path / "tokenizer.json"))
    tokens = np.fromfile(tmp_path / "out" / "tokens.bin", dtype=meta["dtype"])
    offsets = np.load(tmp_path / "out" / "tokens.offsets.npy")
    decoded = [
        tokenizer.decode(tokens[a : b - 1].tolist()) for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ]
    streamed = streamed_texts(ladder, str(tmp_path / "tokenizer.json"), budget=meta["budget_tokens"])
    assert meta["eos_id"] == 0 and decoded == streamed


def test_jsonl_order_equals_the_iterator(ladder, tmp_path):
    meta = export_curriculum(ladder, "jsonl", tmp_path, seed=4)
    rows = [json.loads(line) for line in (tmp_path / "curriculum.jsonl").read_text().splitlines()]
    expected = list(iter_curriculum(ladder, seed=4))
    assert [r["id"] for r in rows] == [d["id"] for d in expected]
    assert rows[5] == {**expected[5], "stage": rows[5]["stage"]}
    assert meta["documents"] == len(rows) and meta["token_unit"] == "whitespace"
    assert [r["stage"] for r in rows] == sorted(r["stage"] for r in rows)


def test_hf_export_ordered_and_per_tier(ladder, tmp_path):
    datasets = pytest.importorskip("datasets")
    export_curriculum(ladder, "jsonl", tmp_path / "jsonl")
    meta = export_curriculum(ladder, "hf", tmp_path / "hf")
    ordered = datasets.load_from_disk(str(tmp_path / "hf" / "ordered"))
    lines = (tmp_path / "jsonl" / "curriculum.jsonl").read_text().splitlines()
    assert ordered["id"] == [json.loads(line)["id"] for line in lines]
    assert ordered.num_rows == meta["documents"]
    tiers = [datasets.load_from_disk(str(tmp_path / "hf" / path)) for path in meta["files"]["tiers"]]
    assert [t.num_rows for t in tiers] == [40, 30, 20]
    interleave = json.loads((tmp_path / "hf" / "interleave.json").read_text())
    assert [s["probabilities"] for s in interleave["stages"]] == [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], LADDER[2]]
    assert interleave["stages"][1]["start_fraction"] == pytest.approx(1 / 3, abs=0.01)


def test_unknown_format_is_a_user_error(ladder, tmp_path):
    with pytest.raises(CurriscaleError, match="--format 'csv'"):
        export_curriculum(ladder, "csv", tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "from curriscale.cli.app import main; main()", "export", str(ladder.parent)]
        + ["--format", "tokens", "--out", str(tmp_path), "--tokenizer", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "missing.json" in result.stderr


def test_cli_export(ladder, tmp_path):
    result = CliRunner().invoke(
        app, ["export", str(ladder.parent), "--format", "jsonl", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "export.json").read_text())
    assert f"wrote {meta['documents']:,} documents" in result.output
    assert len((tmp_path / "curriculum.jsonl").read_text().splitlines()) == meta["documents"]


def test_plain_pytorch_example_trains_from_the_export(ladder, tmp_path):
    meta = export_curriculum(ladder, "tokens", tmp_path, budget_tokens=30_000)
    command = [sys.executable, str(REPO / "examples" / "train_plain_pytorch.py"), str(tmp_path)]
    command += ["--steps", "25", "--batch-size", "8", "--seq-len", "32", "--log-every", "4"]
    code = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
    code += "print('curriscale imported:', any(m.startswith('curriscale') for m in sys.modules))"
    # One thread: on a shared 2-core machine, thread contention makes a tiny model crawl.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, *command[1:]], capture_output=True, text=True, check=True, env=env
    )
    assert f"read {meta['tokens']} tokens dtype uint16 vocab 257 eos 256" in result.stdout
    losses = [float(x) for x in re.findall(r"^step \d+ stage \d loss ([\d.]+)", result.stdout, re.M)]
    assert len(losses) == 7 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0] - 1.0  # from ~ln(257) = 5.5 down well below it
    assert "curriscale imported: False" in result.stdout


def test_every_format_and_tokenizer_holds_the_same_documents(ladder, tmp_path):
    # The demo's tokens export (bytes) and hf export (no tokenizer) once held 7,368 and 7,376
    # documents: each counted progress in its own unit (bytes, via an estimated budget, against
    # whitespace words). Now the tokenizer only encodes; without --budget-tokens every format walks
    # the manifest's own stream over the whole schedule.
    pytest.importorskip("datasets")
    import datasets
    import pyarrow.parquet as pq

    expected = [d["id"] for d in iter_curriculum(ladder, seed=0)]
    ids = {}
    for fmt in ("tokens", "megatron", "litdata"):
        meta = export_curriculum(ladder, fmt, tmp_path / fmt, tokenizer="bytes")
        ids[fmt] = pq.read_table(tmp_path / fmt / "documents.parquet").column("id").to_pylist()
        assert meta["counted_in"] == "whitespace" and meta["budget_tokens"] is None
    export_curriculum(ladder, "jsonl", tmp_path / "jsonl")
    ids["jsonl"] = [json.loads(line)["id"] for line in (tmp_path / "jsonl" / "curriculum.jsonl").open()]
    export_curriculum(ladder, "hf", tmp_path / "hf")
    ids["hf"] = datasets.load_from_disk(str(tmp_path / "hf" / "ordered"))["id"]
    assert all(found == expected for found in ids.values()), {k: len(v) for k, v in ids.items()}
    # A tokenizer with a budget: the trainer's stream, counted in its tokens, the same in every format.
    budget = {"tokenizer": "bytes", "budget_tokens": 3000}
    tokens = export_curriculum(ladder, "tokens", tmp_path / "tokens-b", **budget)
    jsonl = export_curriculum(ladder, "jsonl", tmp_path / "jsonl-b", **budget)
    assert tokens["counted_in"] == jsonl["counted_in"] == "bytes"
    assert tokens["stages"] == jsonl["stages"] and tokens["tokens"] >= 3000
