"""Look at a curriculum: tier and schedule tables (rich) and two PNGs (matplotlib, Agg).

`tier_table` and `schedule_table` summarise the manifest; `plot_curriculum` draws the tier weights
over training progress as a stacked area (what the trainer will sample when) and a difficulty
histogram per tier (how the tiers cut the corpus), reading only the `difficulty` column of the shards.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from rich.table import Table

from curriscale.curricula.manifest import Manifest
from curriscale.io import atomic_output


def _bounds(tier: dict) -> str:
    if tier["label"] is not None:
        return f"label {tier['label']}"
    if tier["bounds"] is None:
        return "-"
    low, high = tier["bounds"]
    low, high = "-inf" if low is None else f"{low:.4g}", "+inf" if high is None else f"{high:.4g}"
    return f"[{low}, {high}]"


def tier_table(manifest: Manifest) -> Table:
    """One row per tier: bounds or label, documents, tokens, files, expected tokens and epochs."""
    table = Table(title=f"{manifest.name}: tiers ({manifest.data['token_unit']} tokens)")
    for column in ("tier", "bounds / label", "documents", "tokens", "files", "expected tokens", "epochs"):
        table.add_column(column, justify="left" if column == "bounds / label" else "right")
    for tier, used in zip(manifest.tiers, manifest.data["consumption"], strict=True):
        expected = "-" if used["expected_tokens"] is None else f"{used['expected_tokens']:,.0f}"
        epochs = "-" if used["epochs"] is None else f"{used['epochs']:.2f}"
        table.add_row(
            tier["name"],
            _bounds(tier),
            f"{tier['documents']:,}",
            f"{tier['tokens']:,}",
            str(len(tier["files"])),
            expected,
            epochs,
        )
    rejected = manifest.data["rejected"]
    table.caption = (
        f"rejected: {rejected['documents']:,} documents; "
        f"divergence from static mix (TV): {manifest.data['divergence_from_static']:.3f}"
    )
    return table


def schedule_table(manifest: Manifest, max_rows: int = 40) -> Table:
    """The materialised schedule: one row per interval with per-tier weights (first `max_rows`)."""
    pacing = manifest.pacing
    table = Table(
        title=f"schedule: {pacing['kind']} {pacing['params']} ({pacing['sampling']}, {pacing['unit']})"
    )
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    table.add_column("progress", justify="right")
    for tier in manifest.tiers:
        table.add_column(tier["name"], justify="right")
    for interval in manifest.schedule[:max_rows]:
        progress = f"{interval['start'] / manifest.total:.3f}"
        weights = [f"{w:.3f}" for w in interval["weights"]]
        table.add_row(f"{interval['start']:,}", f"{interval['end']:,}", progress, *weights)
    if len(manifest.schedule) > max_rows:
        table.caption = f"... {len(manifest.schedule) - max_rows} more intervals"
    return table


def tier_difficulties(manifest: Manifest) -> list[np.ndarray]:
    """The `difficulty` column of each tier (only that column is read)."""
    return [
        np.concatenate(
            [np.zeros(0)]
            + [
                pq.read_table(p, columns=["difficulty"])["difficulty"].to_numpy()
                for p in manifest.tier_files(i)
            ]
        )
        for i in range(len(manifest.tiers))
    ]


def plot_curriculum(manifest: Manifest, out_dir: str | os.PathLike) -> list[Path]:
    """Write `tier_weights.png` (stacked area over progress) and `difficulty_hist.png`.

    Returns:
        The two written paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    names = [t["name"] if t["label"] is None else f"{t['name']} ({t['label']})" for t in manifest.tiers]
    # Piecewise-constant weights: two x points per interval so the areas have vertical steps.
    x = np.array([[iv["start"], iv["end"]] for iv in manifest.schedule], dtype=float).ravel() / manifest.total
    y = np.repeat(np.array([iv["weights"] for iv in manifest.schedule]).T, 2, axis=1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.stackplot(x, y, labels=names)
    ax.set(
        xlabel=f"training progress (fraction of {manifest.total:,} {manifest.pacing['unit']})",
        ylabel="sampling weight",
        title=f"{manifest.name}: tier weights",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    weights_png = out / "tier_weights.png"
    _save(fig, weights_png)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    values = tier_difficulties(manifest)
    finite = np.concatenate(values)
    bins = np.histogram_bin_edges(finite, bins=40) if finite.size else 10
    for name, tier_values in zip(names, values, strict=True):
        ax.hist(tier_values, bins=bins, alpha=0.7, label=name)
    ax.set(xlabel="difficulty", ylabel="documents", title=f"{manifest.name}: difficulty per tier")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    hist_png = out / "difficulty_hist.png"
    _save(fig, hist_png)
    return [weights_png, hist_png]


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
