"""A truncated or corrupt tier file read by training or export is a one-line error naming it, not a traceback."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from train_task import write_eval, write_task_manifest

from curriscale.builders.export import export_curriculum
from curriscale.errors import CurriscaleError
from curriscale.train.config import TrainConfig
from curriscale.train.trainer import train

TIER = "tier=01/part-00000.parquet"


def truncated(folder):
    """A small curriculum whose second tier file lost its second half (and with it the footer)."""
    manifest = write_task_manifest(folder, docs_per_level=200)
    data = (folder / TIER).read_bytes()
    (folder / TIER).write_bytes(data[: len(data) // 2])
    return manifest


def corrupt_page(folder):
    """A curriculum whose second tier file has a damaged data page but an intact footer."""
    manifest = write_task_manifest(folder, docs_per_level=200)
    path = folder / TIER
    column = pq.ParquetFile(path).metadata.row_group(0).column(1)
    data = bytearray(path.read_bytes())
    start = column.data_page_offset
    data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    path.write_bytes(bytes(data))
    return manifest


def expected(folder):
    return (
        re.escape(f"{folder / TIER}: cannot read tier file (")
        + r".*"
        + re.escape(f"); check the curriculum with `curriscale verify {folder}`")
    )


@pytest.mark.parametrize("damage", [truncated, corrupt_page])
@pytest.mark.parametrize("tokenizer", ["bytes", "bpe:300"])  # a BPE is trained on every tier's text
def test_training_on_a_damaged_tier_names_the_file_and_verify(tmp_path, damage, tokenizer):
    manifest = damage(tmp_path / "curriculum")
    config = TrainConfig(
        out=str(tmp_path / "run"), manifest=str(manifest), eval_path=str(write_eval(tmp_path / "eval.jsonl", 10)),
        size="s0", seq_len=32, batch_size=8, budget_tokens=30 * 256, n_evals=2, threads=1, tokenizer=tokenizer,
    )  # fmt: skip
    with pytest.raises(CurriscaleError, match=expected(tmp_path / "curriculum")) as error:
        train(config)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("damage", [truncated, corrupt_page])
def test_exporting_a_damaged_tier_names_the_file_and_verify(tmp_path, damage):
    manifest = damage(tmp_path / "curriculum")
    with pytest.raises(CurriscaleError, match=expected(tmp_path / "curriculum")) as error:
        export_curriculum(manifest, "jsonl", tmp_path / "export", tokenizer="bytes")
    assert "\n" not in str(error.value)
