import json

import numpy as np
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curriscale.scorers.datatrove_step import ScorerStep
from curriscale.scorers.text_stats import TextStats

TEXTS = [
    "The cat sat on the mat.",
    "?!",
    "Photosynthesis converts light energy into chemical energy in plants.",
]


def test_step_annotates_metadata_in_batches():
    step = ScorerStep("text_stats", batch_size=2)
    docs = list(step.run(iter(Document(text=t, id=str(i)) for i, t in enumerate(TEXTS))))
    expected = TextStats().score(TEXTS)
    assert [d.id for d in docs] == ["0", "1", "2"]
    assert [d.metadata["n_words"] for d in docs] == expected["n_words"].tolist()
    assert np.isnan(docs[1].metadata["mtld"])
    assert step.stats["scored"].total == 3 and step.stats["nan_mtld"].total == 1
    assert repr(step) == "📐 - SCORER: text_stats"


def test_step_in_a_local_datatrove_pipeline(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    with open(source / "docs.jsonl", "w") as handle:
        for i, text in enumerate(TEXTS):
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    pipeline = [
        JsonlReader(str(source)),
        ScorerStep("reading_age"),
        JsonlWriter(str(tmp_path / "out"), output_filename="scored.jsonl", compression=None),
    ]
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(tmp_path / "logs")).run()
    rows = [json.loads(line) for line in open(tmp_path / "out" / "scored.jsonl")]
    assert [r["id"] for r in rows] == ["d0", "d1", "d2"]
    ages = [r["metadata"]["reading_age"] for r in rows]
    assert ages[0] < ages[2]
    assert ages[1] is None  # NaN: datatrove's JSON writer stores it as null
    assert rows[2]["metadata"]["fk_grade"] > rows[0]["metadata"]["fk_grade"]
