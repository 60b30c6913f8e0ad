"""The HF Trainer example keeps curriculum order: the batches the model trains on are the manifest's
documents, first to last (no shuffling sampler anywhere between the export and the model)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from curriscale.builders.exports import export_curriculum
from curriscale.curricula.sampler import iter_curriculum

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "curricula"))
from manifest_factory import write_curriculum  # noqa: E402

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_hf_trainer.py"
STEPS, BATCH, SEQ = 6, 4, 32


def load_example():
    spec = importlib.util.spec_from_file_location("train_hf_trainer", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_documents_as_blocks(manifest, blocks: int) -> np.ndarray:
    """The manifest's stream from its first document, as UTF-8 bytes + EOS, cut into `blocks` blocks."""
    ids: list[int] = []
    for document in iter_curriculum(manifest, seed=0):
        ids += list(document["text"].encode("utf-8")) + [256]
        if len(ids) >= blocks * SEQ:
            break
    return np.array(ids[: blocks * SEQ]).reshape(blocks, SEQ)


@pytest.fixture
def ladder(tmp_path):
    return write_curriculum(tmp_path / "ladder", [40, 30, 20], [[1.0, 0, 0], [0.5, 0.5, 0], [0.4, 0.3, 0.3]])


@pytest.mark.parametrize("fmt", ["jsonl", "hf"])
def test_the_trainer_sees_the_manifests_first_documents_in_order(ladder, tmp_path, fmt):
    if fmt == "hf":
        pytest.importorskip("datasets")
    export_curriculum(ladder, fmt, tmp_path / "export")
    example = load_example()
    args = example.parse_args([str(tmp_path / "export"), "--steps", str(STEPS), "--batch-size", str(BATCH)])
    args.seq_len, args.out = SEQ, tmp_path / "run"
    trainer = example.build_trainer(args)
    seen = []
    compute_loss = trainer.compute_loss

    def recording(model, inputs, *rest, **options):  # what the model is actually trained on
        seen.append(inputs["input_ids"].detach().cpu().numpy())
        return compute_loss(model, inputs, *rest, **options)

    trainer.compute_loss = recording
    trainer.train()
    assert len(seen) == STEPS and all(batch.shape == (BATCH, SEQ) for batch in seen)
    np.testing.assert_array_equal(np.concatenate(seen), first_documents_as_blocks(ladder, STEPS * BATCH))


def test_a_map_style_dataset_is_not_shuffled_with_the_sequential_strategy(ladder, tmp_path):
    # For TRL/Trainer users who pass the ordered/ dataset itself (map-style, which the Trainer's
    # default RandomSampler would shuffle): train_sampling_strategy="sequential" keeps the order.
    datasets = pytest.importorskip("datasets")
    if "train_sampling_strategy" not in transformers.TrainingArguments.__dataclass_fields__:
        pytest.skip("this transformers has no train_sampling_strategy")
    export_curriculum(ladder, "hf", tmp_path / "export")
    ordered = datasets.load_from_disk(str(tmp_path / "export" / "ordered"))
    arguments = transformers.TrainingArguments(
        output_dir=str(tmp_path / "run"), per_device_train_batch_size=BATCH, use_cpu=True, report_to=[],
        train_sampling_strategy="sequential", remove_unused_columns=False,
    )  # fmt: skip
    trainer = transformers.Trainer(
        model=transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_embd=8, n_head=1)),
        args=arguments,
        train_dataset=ordered,
        data_collator=lambda rows: {"id": [row["id"] for row in rows]},
    )
    ids = [i for batch in trainer.get_train_dataloader() for i in batch["id"]]
    assert ids == [d["id"] for d in iter_curriculum(ladder, seed=0)]
