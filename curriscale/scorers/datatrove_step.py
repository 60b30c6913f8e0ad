"""Any curriscale scorer as a datatrove PipelineStep, for users' own datatrove pipelines.

The step collects `batch_size` documents, scores their texts in one `score` call (so model scorers
can batch and cheap ones vectorise), writes every output column into `doc.metadata` and passes the
documents on unchanged otherwise. NaN outputs are written as they are; the step counts them in its
stats (`nan_<column>`) so a user's filter can drop or keep them.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from curriscale.scorers.datatrove_step import ScorerStep

    LocalPipelineExecutor([JsonlReader("data/"), ScorerStep("reading_age"), ...]).run()
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curriscale.scorers.registry import get_scorer


class ScorerStep(PipelineStep):
    """Annotate documents with a scorer's columns.

    Args:
        scorer: a scorer instance or a registry spec (`reading_age`, `name:key=value`, `module:Attr`).
        batch_size: documents per `score` call.
    """

    type = "📐 - SCORER"

    def __init__(self, scorer: Any, batch_size: int = 256) -> None:
        self.scorer = get_scorer(scorer) if isinstance(scorer, str) else scorer
        self.name = self.scorer.name  # before PipelineStep.__init__, which names the stats after it
        self.batch_size = batch_size
        super().__init__()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        iterator = iter(data or ())
        while batch := list(itertools.islice(iterator, self.batch_size)):
            with self.track_time(unit="batch"):
                outputs = self.scorer.score([doc.text for doc in batch])
            for column, values in outputs.items():
                for doc, value in zip(batch, np.asarray(values).tolist(), strict=True):
                    doc.metadata[column] = value
                    if isinstance(value, float) and math.isnan(value):
                        self.stat_update(f"nan_{column}")
            for doc in batch:
                self.stat_update("scored")
                yield doc
