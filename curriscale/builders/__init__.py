"""From a corpus to a curriculum folder: score, build tiers, verify, inspect, export.

    from curriscale.builders import score_corpus, build_curriculum
    from curriscale.curricula import load_recipe
    score_corpus(["corpus.jsonl"], "scored", scorers=["text_stats", "reading_age"])
    build_curriculum("scored", load_recipe("reading-age-ladder"), "curriculum")

Each stage is its own module (`score`, `build`, `verify`, `inspect`, `export`); the scoring and
tiering passes run as datatrove pipelines (`score_executors`, `tier_pass`).
"""

from curriscale.lazy import lazy_exports

_EXPORTS = {
    "score_corpus": "curriscale.builders.score",
    "build_curriculum": "curriscale.builders.build",
    "verify_curriculum": "curriscale.builders.verify",
    "export_curriculum": "curriscale.builders.exports",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
