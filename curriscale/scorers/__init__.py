"""Scorers: reading age, task type, model difficulty, text statistics, and the plug-in registry.

    from curriscale.scorers import get_scorer
    scorer = get_scorer("reading_age")          # or "package.module:Name", "name:key=value"
    columns = scorer.score(["The cat sat.", "Notwithstanding the aforementioned..."])

A scorer is any class with `name`, `columns` and `score(texts) -> dict of columns` (see DESIGN.md);
plug-ins register under the entry-point group `curriscale.scorers`.
"""

from curriscale.lazy import lazy_exports

_EXPORTS = {
    "get_scorer": "curriscale.scorers.registry",
    "available_scorers": "curriscale.scorers.registry",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
