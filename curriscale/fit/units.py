"""Counts as people read them (`26.8k`, `1.5M`), shared by tables, plots and messages.

Kept apart from `plots` so that modules printing a size (the recommender, critical points) do not
import matplotlib.
"""

from __future__ import annotations


def human(n: float) -> str:
    """1200 -> '1.2k', 3.5e6 -> '3.5M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        # 999,990 rounds to 1000k at three digits: it reads as 1M.
        if float(f"{n:.3g}") >= scale:
            return f"{float(f'{n:.3g}') / scale:.3g}{unit}"
    return f"{n:.3g}"
