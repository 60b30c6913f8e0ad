"""`curriscale report RUNS --out DIR`: one self-contained HTML page and a Markdown summary.

`report.html` embeds its figures as base64 PNG data URIs and uses no external asset, so it can be
mailed or archived as one file. `summary.md` holds the three-line answer and the main tables. The
numbers come from the fits folder (`curriscale fit`), written into `DIR/fits/` when not given, so
the report and the JSON always agree.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from curriscale.errors import CurriscaleError
from curriscale.fit import plots, report_tables, report_text
from curriscale.fit.grid_fit import fit_grid
from curriscale.fit.runs import Grid, load_grid
from curriscale.fit.temporal_grid import TEMPORAL_FRACTION
from curriscale.io import atomic_write_text


def write_report(
    runs_dir: str | Path,
    out_dir: str | Path,
    fits: str | Path | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    baseline: str | None = None,
    annealing: bool = True,
    temporal_fraction: float | None = TEMPORAL_FRACTION,
) -> str:
    """Write `report.html` and `summary.md` for a grid; return the three-line summary.

    Args:
        runs_dir: the grid folder.
        out_dir: where to write the report.
        fits: a folder written by `fit_grid`; default: fit now into `out_dir/fits`.
        bootstrap, seed, baseline, annealing, temporal_fraction: passed to `fit_grid` when
            fitting now.

    Returns:
        The summary: three lines of plain text.
    """
    out = Path(out_dir)
    fits_dir = Path(fits) if fits is not None else out / "fits"
    if fits is None:
        fit_grid(
            runs_dir,
            fits_dir,
            bootstrap=bootstrap,
            seed=seed,
            baseline=baseline,
            annealing=annealing,
            temporal_fraction=temporal_fraction,
        )
    docs = {name: _read(fits_dir / f"{name}.json") for name in ("fits", "comparison", "critical_points")}
    grid = load_grid(runs_dir)
    summary = summarise(docs["comparison"])
    sections = _sections(grid, docs, summary)
    atomic_write_text(out / "report.html", _html(grid, sections))
    atomic_write_text(out / "summary.md", _markdown(grid, sections))
    return summary


def summarise(comparison: dict) -> str:
    """Three lines: the headline at the largest size, the crossover, and the win/loss count.

    A grid of one curriculum gets one line saying there is nothing to compare.
    """
    if not comparison["cells"]:
        return f"No curriculum comparison: {comparison['note']}."
    cells, base = comparison["cells"], comparison["baseline"]
    largest = max(c["non_embedding_params"] for c in cells)
    top = max((c for c in cells if c["non_embedding_params"] == largest), key=lambda c: _num(c["speedup"]))
    s, (lo, hi) = top["speedup"], top["speedup_ci"]
    arm = f"the curriculum '{top['curriculum']}' ({top['lr_schedule']})"
    if s is None:
        first = f"At {plots.human(largest)} params the speedup of {arm} is undefined (a loss curve never reached the target)."
    elif s >= 1:
        interval = f"95% CI {1 / hi:.2f}-{1 / lo:.2f}x" if lo and hi else "no interval"
        first = f"At {plots.human(largest)} params {arm} reached the static mix's final loss in {1 / s:.2f}x the tokens ({interval})."
    else:
        interval = f"95% CI {lo:.2f}-{hi:.2f}x" if lo and hi else "no interval"
        first = (
            f"At {plots.human(largest)} params {arm} never reached the static mix's final loss; the static mix "
            f"reached the curriculum's in {s:.2f}x the tokens ({interval})."
        )
    crossings = [(r, n) for r in comparison["crossover"] for n in r["eval_loss_crossover"]]
    if crossings:
        second = (
            "The curriculum's final-loss advantage changes sign at "
            + "; ".join(
                f"~{plots.human(n)} params ('{r['curriculum']}', {r['lr_schedule']})" for r, n in crossings
            )
            + "."
        )
    else:
        second = "No curriculum's final-loss advantage changes sign within the grid's sizes."
    diffs = [c["effects"]["eval_loss"] for c in cells]
    wins = sum(d["ci"][1] is not None and d["ci"][1] < 0 for d in diffs)
    losses = sum(d["ci"][0] is not None and d["ci"][0] > 0 for d in diffs)
    if all(d["ci"][0] is None for d in diffs):
        lower = sum(d["diff"] < 0 for d in diffs)
        third = (
            f"No intervals (one seed per arm): curricula ended below the static mix ('{base}') in final eval "
            f"loss in {lower} of {len(cells)} cells; add seeds to tell this from noise."
        )
    elif losses == len(cells):
        low, high = min(d["diff"] for d in diffs), max(d["diff"] for d in diffs)
        third = f"The static mix ('{base}') beat the curriculum at every size by {low:.3g}-{high:.3g} in final eval loss."
    else:
        third = (
            f"Curricula beat the static mix ('{base}') in {wins} of {len(cells)} cells and lost in {losses} "
            "(final eval loss, 95% CI excluding 0)."
        )
    return "\n".join([first, second, third])


def _sections(grid: Grid, docs: dict, summary: str) -> list[dict]:
    """Each section: id, title, text lines, figures (PNG bytes) and tables."""
    fits, comparison, critical = docs["fits"], docs["comparison"], docs["critical_points"]
    annealing_png = plots.annealing_fit(grid, fits)
    temporal_png = plots.temporal_fit(grid, fits)
    skipped = f"Skipped (unfinished): {', '.join(grid.skipped) or 'none'}."
    return [
        _section("summary", "Summary", summary.splitlines()),
        _section(
            "comparison",
            f"Curriculum vs static mix ({comparison['baseline'] or 'none'})",
            [
                "Differences are curriculum - static mix over seed means; intervals resample seeds.",
                *report_text.chance_text(grid, critical, comparison),
            ],
            tables=[report_tables.comparison_table(comparison), report_tables.level_table(comparison)],
        ),  # fmt: skip
        _section(
            "speedup",
            "Speedup vs size",
            report_text.interaction_text(grid, comparison),
            figures=[plots.speedup_vs_size(grid, comparison)],
            tables=[report_tables.crossover_table(comparison), report_tables.interaction_table(comparison)],
        ),
        _section("loss-curves", "Loss curves per cell", figures=[plots.loss_curves(grid)]),
        _section(
            "scaling",
            "Scaling laws",
            [report_text.scaling_caption(fits)],
            figures=[plots.scaling_curves(grid, fits)],
            tables=[report_tables.scaling_table(fits)],
        ),
        _section(
            "critical",
            "Critical points",
            report_text.critical_text(grid, critical),
            figures=[plots.critical_points(grid, critical)],
            tables=[
                report_tables.level_chance_table(critical),
                report_tables.critical_table(critical),
                report_tables.threshold_table(critical),
            ],
        ),
        _section(
            "annealing",
            "LR-annealing law fit vs data",
            report_text.annealing_text(fits, annealing_png is not None),
            figures=[annealing_png] if annealing_png else [],
            tables=[report_tables.annealing_table(fits)],
        ),
        _section(
            "temporal",
            "Temporal law: final loss predicted from the first part of training",
            report_text.temporal_text(fits),
            figures=[temporal_png] if temporal_png else [],
            tables=[report_tables.temporal_table(fits)],
        ),
        _section("per-seed", "Per-seed results", tables=[report_tables.per_seed_table(comparison)]),
        _section("runs", "Runs", [skipped], tables=[report_tables.runs_table(grid)]),
    ]


def _section(
    id_: str, title: str, text: list[str] = (), figures: list[bytes] = (), tables: list = ()
) -> dict:
    return {"id": id_, "title": title, "text": list(text), "figures": list(figures), "tables": list(tables)}


def _html(grid: Grid, sections: list[dict]) -> str:
    body = []
    for section in sections:
        parts = [f'<section id="{section["id"]}"><h2>{html.escape(section["title"])}</h2>']
        parts += [f"<p>{html.escape(line)}</p>" for line in section["text"]]
        for png in section["figures"]:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<img alt="{html.escape(section["title"])}" src="data:image/png;base64,{data}">')
        for headers, rows in section["tables"]:
            if not rows:  # a header over nothing says nothing; the section's text says why
                continue
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            cells = "".join(
                "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        body.append("\n".join(parts) + "</section>")
    title = f"curriscale report: {html.escape(str(grid.root))}"
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body><h1>{title}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _markdown(grid: Grid, sections: list[dict]) -> str:
    """The summary and every table (no figures: those live in report.html)."""
    lines = [f"# curriscale report: {grid.root}", ""]
    for section in sections:
        if not section["text"] and not any(rows for _, rows in section["tables"]):
            continue
        lines += [f"## {section['title']}", "", *section["text"], ""]
        for headers, rows in section["tables"]:
            if rows:
                lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                lines += ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in rows]
                lines.append("")
    return "\n".join(lines)


def _num(value) -> float:
    return float("-inf") if value is None else float(value)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CurriscaleError(
            f"{path}: not found (write it with `curriscale fit RUNS --out {path.parent}`)"
        ) from None
    except json.JSONDecodeError as error:
        raise CurriscaleError(f"{path}: malformed JSON: {error}") from None
