"""Trainer exports read back by the trainers' own libraries: Megatron-LM, litdata, DeepSpeed.

megatron-core, litdata and deepspeed are in the dev extra (CPU, no CUDA torch); Megatron's dataset
builder and DeepSpeed's sampler want a process group, so those checks run in a child process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curriscale.builders.exports import export_curriculum
from curriscale.curricula.sampler import iter_curriculum
from curriscale.errors import CurriscaleError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "curricula"))
from manifest_factory import write_curriculum  # noqa: E402

LADDER = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]


@pytest.fixture
def ladder(tmp_path):
    return write_curriculum(tmp_path / "ladder", [40, 30, 20], LADDER)


def texts_in_order(manifest):
    return [d["text"] for d in iter_curriculum(manifest, seed=0)]


def run_child(code: str, cwd: Path) -> str:
    """Run `code` in a fresh interpreter with a free port for a one-process gloo group."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0"}
    env |= {"WORLD_SIZE": "1", "LOCAL_RANK": "0", "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_megatron_indexed_dataset_reads_the_stream_in_order(ladder, tmp_path):
    indexed_dataset = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    out = tmp_path / "megatron"
    meta = export_curriculum(ladder, "megatron", out, tokenizer="bytes")
    dataset = indexed_dataset.IndexedDataset(str(out / "curriculum"))
    assert len(dataset) == meta["documents"]
    decoded = [bytes(dataset[i][:-1].astype(np.uint8)).decode() for i in range(len(dataset))]
    assert decoded == texts_in_order(ladder)
    assert all(dataset[i][-1] == 256 for i in range(len(dataset)))  # EOS closes every document
    mapping = json.loads((out / "megatron.json").read_text())
    # Stage boundaries: document ranges that tile the stream, tokens that add up.
    stages = mapping["stages"]
    assert [s["first_document"] for s in stages] == [0] + list(
        np.cumsum([s["documents"] for s in stages])[:-1]
    )
    assert stages[-1]["cumulative_tokens"] == meta["tokens"] == int(dataset.sequence_lengths.sum())
    # Tier prefixes hold every tier document once; each stage's blend covers the tiers it samples.
    tiers = [indexed_dataset.IndexedDataset(str(out / t["prefix"])) for t in mapping["tiers"]]
    assert [len(t) for t in tiers] == [40, 30, 20]
    assert [[p for _, p in s["blend"]] for s in stages] == [
        ["tiers/tier=00"],
        ["tiers/tier=00", "tiers/tier=01"],
        ["tiers/tier=00", "tiers/tier=01", "tiers/tier=02"],
    ]
    assert all(abs(sum(w for w, _ in s["blend"]) - 1) < 1e-6 for s in stages)


def test_megatron_blends_build_a_blended_dataset_per_stage(ladder, tmp_path):
    pytest.importorskip("megatron.core.datasets.blended_megatron_dataset_builder")
    out = tmp_path / "megatron"
    export_curriculum(ladder, "megatron", out, tokenizer="bytes")
    stage = json.loads((out / "megatron.json").read_text())["stages"][1]
    printed = run_child(
        f"""
        import json, numpy as np, torch.distributed as dist
        from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
        from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig
        from megatron.core.datasets.utils import get_blend_from_list
        dist.init_process_group("gloo", rank=0, world_size=1)
        class Bytes:  # what GPTDataset asks of a tokenizer
            eod, pad, bos, vocab_size = 256, 257, None, 257
            unique_identifiers = {{"class": "bytes"}}
        # --data-args-path reads the same text: weight prefix weight prefix ...
        blend = get_blend_from_list(open({str(out / stage["data_args"])!r}).read().split())
        config = GPTDatasetConfig(random_seed=0, sequence_length=16, blend=blend, split="1,0,0",
            tokenizer=Bytes(), reset_position_ids=False, reset_attention_mask=False,
            eod_mask_loss=False, path_to_cache="cache")
        train, _, _ = BlendedMegatronDatasetBuilder(GPTDataset, [400, 0, 0], lambda: True, config).build()
        shares = np.bincount(train.dataset_index) / len(train.dataset_index)
        print(json.dumps({{"prefixes": blend[0], "shares": shares.tolist(), "sample": train[0]["tokens"].tolist()}}))
        """,
        tmp_path,
    )
    result = json.loads(printed.strip().splitlines()[-1])
    assert [Path(p).name for p in result["prefixes"]] == ["tier=00", "tier=01"]
    np.testing.assert_allclose(result["shares"], [w for w, _ in stage["blend"]], atol=0.01)
    assert len(result["sample"]) == 16


def test_litdata_streaming_dataset_reads_the_stream_in_order(ladder, tmp_path, monkeypatch):
    litdata = pytest.importorskip("litdata")
    from litdata.streaming.item_loader import TokensLoader

    # No network in tests: litdata would ask PyPI for a newer release of itself.
    monkeypatch.setattr("litdata.streaming.dataset._check_version_and_prompt_upgrade", lambda version: None)

    out = tmp_path / "litdata"
    meta = export_curriculum(ladder, "litdata", out, tokenizer="bytes", chunk_tokens=600)
    assert len(meta["chunks"]) > 3  # several chunks, each ending on a document boundary
    offsets = pq.read_table(out / "documents.parquet").column("first_token").to_numpy()
    boundaries = np.cumsum([c["tokens"] for c in meta["chunks"]])
    assert set(boundaries[:-1]) <= set(offsets.tolist())
    block = 33
    dataset = litdata.StreamingDataset(str(out), item_loader=TokensLoader(block_size=block), shuffle=False)
    loader = litdata.StreamingDataLoader(dataset, batch_size=4, num_workers=0)
    seen = np.concatenate([np.asarray(batch).reshape(-1) for batch in loader])
    # Expected: consecutive blocks inside each chunk (TokensLoader drops each chunk's short tail).
    stream = np.concatenate(
        [np.append(np.frombuffer(t.encode(), np.uint8), 256) for t in texts_in_order(ladder)]
    )
    expected, start = [], 0
    for chunk in meta["chunks"]:
        usable = chunk["tokens"] // block * block
        expected.append(stream[start : start + usable])
        start += chunk["tokens"]
    expected = np.concatenate(expected)
    np.testing.assert_array_equal(seen, expected)


DEEPSPEED_CHILD = """
import json, numpy as np, pyarrow.parquet as pq, torch.distributed as dist
import deepspeed
from deepspeed.runtime.config import DeepSpeedConfig
from deepspeed.runtime.data_pipeline.data_sampling.data_sampler import DeepSpeedDataSampler
from deepspeed.runtime.data_pipeline.data_sampling.indexed_dataset import MMapIndexedDataset
deepspeed.init_distributed(dist_backend="gloo")
config = DeepSpeedConfig(json.load(open("export/ds_config.json")))
assert config.data_efficiency_enabled and config.train_batch_size == 4
pool = MMapIndexedDataset("export/dataset", skip_warmup=True)
tiers = pq.read_table("export/dataset.documents.parquet").column("tier").to_pylist()
sampler = DeepSpeedDataSampler(config.data_efficiency_config, len(pool), 4, 0, 1, dist.group.WORLD, 1, 0)
steps = []
for step, batch in enumerate(sampler, start=1):
    steps.append(sorted({tiers[i] for i in batch}))
    if step == 40:
        break
print(json.dumps({"pool": len(pool), "first": pool[0].tolist()[:5], "steps": steps}))
"""


def test_deepspeed_config_and_sampler_follow_the_stages(ladder, tmp_path):
    pytest.importorskip("deepspeed")
    out = tmp_path / "export"
    meta = export_curriculum(ladder, "deepspeed", out, tokenizer="bytes", train_batch_size=4)
    mapping = json.loads((out / "deepspeed.json").read_text())
    assert mapping["tier_metric"] == [1, 2, 3]
    assert [s["difficulty"] for s in mapping["stages"]] == [1, 2, 3]
    schedule = json.loads((out / "ds_config.json").read_text())["data_efficiency"]["data_sampling"]
    metric = schedule["curriculum_learning"]["curriculum_metrics"]["curriscale_tier"]
    assert metric["schedule_type"] == "fixed_discrete" and metric["schedule_config"]["difficulty"] == [
        1,
        2,
        3,
    ]
    ends = [s["last_step"] for s in mapping["stages"]]
    assert metric["schedule_config"]["max_step"] == ends[:2]
    # Stage 0 is one tier, which DeepSpeed's pool gives exactly; later stages weigh tiers by size.
    assert mapping["stages"][0]["max_weight_difference"] == 0 and not mapping["exact"]
    assert mapping["train_steps"] == -(-meta["documents"] // 4)
    result = json.loads(run_child(DEEPSPEED_CHILD, tmp_path).strip().splitlines()[-1])
    assert result["pool"] == 90 and result["first"] == list(b"tier ")
    for step, tiers in enumerate(result["steps"], start=1):
        allowed = 1 if step <= ends[0] else 2 if step <= ends[1] else 3
        assert max(tiers) < allowed, (step, tiers)
    assert max(max(t) for t in result["steps"][ends[1] :]) == 2  # the last tier does open


def test_deepspeed_needs_the_batch_size(ladder, tmp_path):
    with pytest.raises(CurriscaleError, match="--train-batch-size"):
        export_curriculum(ladder, "deepspeed", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_deepspeed_states_where_it_cannot_follow(tmp_path):
    # Exclusive stages (one tier at a time): DeepSpeed's pool keeps every tier once opened.
    manifest = write_curriculum(tmp_path / "exclusive", [10, 10], [[1.0, 0.0], [0.0, 1.0]])
    export_curriculum(manifest, "deepspeed", tmp_path / "out", train_batch_size=2)
    mapping = json.loads((tmp_path / "out" / "deepspeed.json").read_text())
    assert not mapping["exact"] and any("only grows" in d for d in mapping["differences"])
    assert mapping["stages"][1]["deepspeed_weights"] == [0.5, 0.5]


def test_litgpt_example_trains_from_the_litdata_export(ladder, tmp_path):
    # litgpt itself cannot join the dev extra (it pins huggingface-hub<1.4, transformers 5 needs
    # >=1.31); without it the example trains its plain-PyTorch stand-in on the same litdata stream.
    pytest.importorskip("litdata")
    export_curriculum(ladder, "litdata", tmp_path / "export", budget_tokens=40_000, chunk_tokens=4096)
    example = Path(__file__).resolve().parents[2] / "examples" / "train_litgpt.py"
    command = [sys.executable, str(example), str(tmp_path / "export"), "--steps", "30", "--seq-len", "32"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        command + ["--log-every", "5"], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    model = (
        "model: litgpt pythia-14m" if importlib.util.find_spec("litgpt") else "model: torch (litgpt is not"
    )
    assert model in done.stdout
    losses = [float(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("step ")]
    assert len(losses) == 6 and losses[-1] < losses[0] - 2.0  # from ~ln(257) = 5.5 well down
