"""`curriscale report RUNS --out DIR`: one self-contained HTML page and a Markdown summary.

`report.html` leads with the answer. Its first screen is the verdict (did the curriculum help,
where, by how much, how sure: `summarise`) and the headline figure (accuracy per task level against
model size per curriculum, thresholds and critical sizes marked); then loss against tokens, speedup
against size, averaged against raw weights (when runs kept an average), and what was compared
(pacing schedules drawn, LR schedules, sizes, seeds, budgets). The detail tables and the fits'
figures follow, each collapsed in a `<details>` element. Every figure has a one-line "how to read
this". The page embeds its figures as base64 PNG data URIs drawn at twice their shown size, and
uses no script and no external asset, so it can be mailed or archived as one file. Its title
names the grid by its folder (`run_name`), not by an absolute path.

`summary.md` holds the verdict and every table. The numbers come from the fits folder
(`curriscale fit`), written into `DIR/fits/` when not given, so the report and the JSON always agree.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from curriscale.errors import CurriscaleError
from curriscale.fit.grid_fit import fit_grid
from curriscale.fit.report import (
    answer_figures,
    canvas,
    compared_figure,
    comparison_tables,
    fit_figures,
    fit_tables,
    grid_tables,
    text,
)
from curriscale.fit.runs import Grid, load_grid
from curriscale.fit.temporal_grid import TEMPORAL_FRACTION
from curriscale.fit.units import human
from curriscale.io import atomic_write_text

# Grid folder names that say nothing on their own: the report title adds the parent folder's name.
GENERIC_NAMES = {"runs", "grid", "cells", "out", "output", "results"}
NOT_IDENTIFIED_NOTE = (
    "'not identified': the data do not pin the parameter down: its 95% bootstrap interval spans more "
    "than a factor of 1000 or ends at a bound of the parameter's search range, or the fitted value "
    "itself sits at such a bound."
)


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
    """The verdict in three lines: did the curriculum help and where, by how much, how sure.

    1. `Verdict: ...`: per curriculum (and LR schedule), the sizes where it ended with a lower
       final eval loss than the static mix and those where it ended higher; with intervals (two
       seeds or more per arm) a size counts only when the 95% interval excludes 0, else it is "no
       clear difference". With one seed the signs are all there is, and the verdict says
       "tentative".
    2. `By how much: ...`: at the largest size (and at the best one, when different), the
       final-loss difference (absolute and relative) and the speedup, and where the advantage
       changes sign.
    3. `How sure: ...`: seeds per arm and how many cells' intervals exclude 0.

    A grid of one curriculum gets one line saying there is nothing to compare.
    """
    if not comparison["cells"]:
        return f"No curriculum comparison: {comparison['note']}."
    cells, base = comparison["cells"], comparison["baseline"]
    arms = sorted({(c["curriculum"], c["lr_schedule"]) for c in cells})
    several = len({lr for _, lr in arms}) > 1
    seeds = min(min(c["n_seeds"], c["baseline_n_seeds"]) for c in cells)
    verdicts, amounts = [], []
    for name, lr in arms:
        arm = sorted((c for c in cells if (c["curriculum"], c["lr_schedule"]) == (name, lr)),
                     key=lambda c: c["non_embedding_params"])  # fmt: skip
        label = f"'{name}'" + (f" ({lr})" if several else "")
        verdicts.append(label + " " + _arm_verdict(arm))
        amounts.append(_arm_amount(label, arm, comparison["crossover"], name, lr))
    tentative = " (tentative: one seed per arm)" if seeds < 2 else ""
    first = (
        f"Verdict{tentative}: the curriculum {'; '.join(verdicts)}, in final eval loss against the static "
        f"mix '{base}'."
    )
    second = "By how much: " + " ".join(amounts)
    diffs = [c["effects"]["eval_loss"] for c in cells]
    if seeds < 2:
        third = (
            "How sure: not yet. One seed per arm gives no interval, and the spread between seeds can be as "
            "large as these differences: rerun the grid with 3 or more seeds."
        )
    else:
        clear = sum(_side(d) != 0 for d in diffs)
        third = (
            f"How sure: {seeds} seeds per arm; the 95% interval of the final-loss difference excludes 0 in "
            f"{clear} of {len(cells)} cells"
            + (" (with under 5 seeds read these intervals as roughly 85-90% ones)." if seeds < 5 else ".")
        )
    return "\n".join([first, second, third])


def _side(effect: dict) -> int:
    """-1 when the curriculum's final loss is lower, +1 when higher, 0 when the interval holds 0.

    Without an interval (one seed) the sign of the difference is all there is.
    """
    low, high = effect["ci"]
    if low is None or high is None:
        return int(np.sign(effect["diff"]))
    return -1 if high < 0 else 1 if low > 0 else 0


def _arm_verdict(cells: list[dict]) -> str:
    """`helped at 20k and 50k params and hurt at 200k`, and the like, for one curriculum's cells."""
    sides = [_side(c["effects"]["eval_loss"]) for c in cells]

    def at(side: int) -> str:
        return _sizes([c["non_embedding_params"] for c, s in zip(cells, sides, strict=True) if s == side])

    better, worse, unclear = (sides.count(v) for v in (-1, 1, 0))
    if better == len(cells):
        return f"helped at every size ({at(-1)} params)"
    if worse == len(cells):
        return f"did not help: it ended worse than the static mix at every size ({at(1)} params)"
    if not better and not worse:
        return "made no clear difference at any size"
    parts = [f"helped at {at(-1)} params"] if better else []
    parts += [f"hurt at {at(1)}" + ("" if better else " params")] if worse else []
    parts += [f"made no clear difference at {at(0)}"] if unclear else []
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def _arm_amount(label: str, cells: list[dict], crossover: list[dict], name: str, lr: str) -> str:
    """The final-loss difference and speedup at the largest and the best size, and the crossover."""
    largest = cells[-1]
    best = min(cells, key=lambda c: c["effects"]["eval_loss"]["diff"])
    text = (
        f"{label} at {human(largest['non_embedding_params'])} params (the largest size): {_amount(largest)}"
    )
    if best is not largest:
        text += f"; at {human(best['non_embedding_params'])}: {_amount(best)}"
    text += "."
    crossings = [n for r in crossover if (r["curriculum"], r["lr_schedule"]) == (name, lr)
                 for n in r["eval_loss_crossover"]]  # fmt: skip
    if crossings:
        text += " The advantage changes sign at ~" + ", ".join(human(n) for n in crossings) + " params."
    return text


def _amount(cell: dict) -> str:
    """`eval loss -0.044 (-1.4%), speedup 1.38x` for one cell (the speedup figure says what it is)."""
    effect = cell["effects"]["eval_loss"]
    relative = effect["diff"] / effect["baseline"] if effect["baseline"] else float("nan")
    s = cell["speedup"]
    return f"eval loss {effect['diff']:+.3g} ({relative:+.1%}), speedup " + (
        "undefined" if s is None else f"{s:.2f}x"
    )


def _sizes(values: list[float]) -> str:
    """`20k`, `20k and 50k`, `20k, 50k and 200k`."""
    names = [human(v) for v in values]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def run_name(root: Path) -> str:
    """The name a report gives its grid: the folder's name, with its parent's when that is generic.

    `demo-out/runs` rather than `runs`; never the absolute path.
    """
    folder = Path(root).resolve()
    if folder.name in GENERIC_NAMES and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name or str(root)


def _grid_line(grid: Grid) -> str:
    """One line on what the grid holds: curricula, sizes, LR schedules, seeds, budget."""
    runs = grid.runs
    sizes = sorted(runs["non_embedding_params"].unique())
    budgets = sorted({v for v in runs["budget_tokens"] if v == v and v is not None})

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    parts = [
        count(runs["curriculum"].nunique(), "curriculum").replace("curriculums", "curricula"),
        count(len(sizes), "size") + f" ({human(sizes[0])}-{human(sizes[-1])} non-embedding params)"
        if len(sizes) > 1
        else f"1 size ({human(sizes[0])} non-embedding params)",
        count(runs["lr_schedule"].nunique(), "LR schedule"),
        count(runs["seed"].nunique(), "seed"),
    ]
    line = " x ".join(parts) + f": {count(len(runs), 'finished run')}"
    if budgets:
        line += f", {'/'.join(human(b) for b in budgets)}-token budget"
    if grid.skipped:
        line += f"; {len(grid.skipped)} unfinished run(s) left out"
    return line + "."


def _sections(grid: Grid, docs: dict, summary: str) -> list[dict]:
    """The report's sections in order: the answer first, then what was compared, then details.

    Each section: id, title, text lines, figures (PNG bytes with a how-to-read line), tables, and
    whether it is a collapsed detail.
    """
    fits, comparison, critical = docs["fits"], docs["comparison"], docs["critical_points"]
    how = text.HOW_TO_READ
    schedules = {
        name: compared_figure.curriculum_manifest(grid, name)
        for name in sorted(grid.runs["curriculum"].unique())
    }
    headline = answer_figures.headline(grid, critical)
    compared_png = compared_figure.compared(grid)
    annealing_png = fit_figures.annealing_fit(grid, fits) if text.annealing_drawn(fits) else None
    temporal_png = fit_figures.temporal_fit(grid, fits)
    verdict = summary.splitlines() + text.level_verdict(grid, critical, comparison)
    sections = [
        _section("verdict", "Verdict", verdict),
        _section(
            "headline",
            "Accuracy per task level against model size",
            figures=[(headline, how["headline"])] if headline else [],
            text=[] if headline else ["The runs measure no accuracy per task level."],
        ),
        _section(
            "loss-curves",
            "Eval loss against training tokens",
            figures=[(answer_figures.loss_curves(grid), how["loss"])],
        ),
    ]
    if comparison["cells"]:
        sections.append(
            _section(
                "speedup",
                f"Speedup over the static mix ({comparison['baseline']}) against model size",
                text.interaction_text(grid, comparison),
                figures=[(answer_figures.speedup_vs_size(grid, comparison), how["speedup"])],
            )
        )
    if comparison.get("averaging"):
        sections.append(
            _section(
                "averaging",
                "Averaged (EMA) against raw weights",
                [
                    "Runs trained with --ema-decay also evaluate a moving average of their weights. Δ is "
                    "averaged - raw over the same runs (negative loss: the average is better); intervals "
                    "resample the runs."
                ],
                tables=[
                    _titled(
                        "Final eval loss and mean accuracy, averaged against raw",
                        comparison_tables.averaging_table(comparison, grid),
                    )
                ],
            )
        )
    sections.append(
        _section(
            "compared",
            "What was compared",
            [_grid_line(grid)],
            figures=[(compared_png, how["compared"])] if compared_png else [],
            tables=[
                _titled("Curricula", grid_tables.curricula_table(grid, fits, schedules)),
                _titled("Sizes, LR schedules, budgets and seeds", grid_tables.grid_table(grid)),
            ],
        )
    )
    skipped = f"Skipped (unfinished): {', '.join(grid.skipped) or 'none'}."
    details = [
        _section(
            "comparison",
            f"Curriculum vs static mix per cell ({comparison['baseline'] or 'none'})",
            [
                "Differences are curriculum - static mix over seed means; intervals resample seeds.",
                *text.chance_text(grid, critical, comparison),
            ]
            if comparison["cells"]
            else [f"No comparison: {comparison.get('note')}."],  # fmt: skip
            tables=[
                _titled(
                    "Speedup and final-metric differences per cell",
                    comparison_tables.comparison_table(comparison),
                ),
                _titled(
                    "Accuracy per task level, with its chance level",
                    comparison_tables.level_table(comparison),
                ),
                _titled(
                    "Training documents drawn per tier (rows equal across sizes shown once)",
                    comparison_tables.documents_table(comparison),
                ),
                _titled(
                    "Sizes where the curriculum's advantage changes sign",
                    comparison_tables.crossover_table(comparison),
                ),
                _titled(
                    "Change of the curriculum's effect between LR schedules",
                    comparison_tables.interaction_table(comparison),
                ),
            ],
        ),
        _section(
            "scaling",
            "Scaling laws",
            [text.scaling_caption(fits), NOT_IDENTIFIED_NOTE],
            figures=[(fit_figures.scaling_curves(grid, fits), how["scaling"])],
            tables=[
                _titled("Power law E + A N^-alpha per curriculum and metric", fit_tables.scaling_table(fits)),
                _titled(
                    "Joint law E + A/N^alpha + B/D^beta (grids with 3+ token budgets per size)",
                    fit_tables.chinchilla_table(fits),
                ),
            ],
        ),
        _section(
            "critical",
            "Critical points and thresholds",
            text.critical_text(grid, critical),
            tables=[
                _titled(
                    "Chance, best accuracy and threshold per level",
                    fit_tables.level_chance_table(critical),
                ),
                _titled("Critical size per curriculum and level", fit_tables.critical_table(critical)),
                _titled(
                    "Tokens to cross each level's threshold, per size",
                    fit_tables.threshold_table(critical),
                ),
            ],
        ),
        _section(
            "annealing",
            "LR-annealing law fit vs data",
            text.annealing_text(fits),
            figures=[(annealing_png, how["annealing"])] if annealing_png else [],
            tables=[fit_tables.annealing_table(fits)],
        ),
        _section(
            "temporal",
            "Temporal law: final loss predicted from the first part of training",
            text.temporal_text(fits),
            figures=[(temporal_png, how["temporal"])] if temporal_png else [],
            tables=[fit_tables.temporal_table(fits)],
        ),
        _section("per-seed", "Per-seed results", tables=[comparison_tables.per_seed_table(comparison)]),
        _section("runs", "Runs", [skipped], tables=[grid_tables.runs_table(grid)]),
    ]
    for section in details:
        section["detail"] = True
    return sections + details


def _titled(caption: str, table: tuple) -> tuple:
    """A table with the one-line title the page shows above it."""
    return (*table[:2], caption)


def _section(
    id_: str,
    title: str,
    text: list[str] = (),
    figures: list[tuple[bytes, str]] = (),
    tables: list = (),
) -> dict:
    return {"id": id_, "title": title, "text": list(text), "figures": list(figures), "tables": list(tables),
            "detail": False}  # fmt: skip


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;font-size:15px;
 line-height:1.4;color:#1b1f24;max-width:1220px;margin:0 auto;padding:10px 20px 40px}
h1{font-size:22px;margin:4px 0 0}
.grid{color:#57606a;font-size:13px;margin:2px 0 8px}
h2{font-size:18px;margin:22px 0 6px;border-bottom:1px solid #d0d7de;padding-bottom:2px}
#verdict{background:#f3f6fa;border-left:4px solid #0969da;padding:6px 14px;margin:6px 0 4px}
#verdict h2{display:none}
#verdict p{margin:3px 0}
#verdict p:first-of-type{font-weight:600;font-size:16px}
#headline h2{margin-top:8px}
figure{margin:4px 0 10px}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#444c56;max-width:1100px}
details{margin:4px 0}
details>summary{cursor:pointer;font-size:16px;font-weight:600;padding:4px 0}
details[open]>summary{border-bottom:1px solid #d0d7de;margin-bottom:6px}
.detail-head{font-size:18px;margin-top:28px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
caption{text-align:left;font-weight:600;font-size:13px;padding:2px 0;caption-side:top}
""".replace("\n", "")


def _html(grid: Grid, sections: list[dict]) -> str:
    body, detail_started = [], False
    for section in sections:
        title = html.escape(section["title"])
        parts = [f"<p>{html.escape(line)}</p>" for line in section["text"]]
        for png, how in section["figures"]:
            data = base64.b64encode(png).decode("ascii")
            width, height = canvas.display_size(png)
            parts.append(
                f'<figure><img alt="{title}" width="{width}" height="{height}" '
                f'src="data:image/png;base64,{data}"><figcaption><b>How to read this:</b> '
                f"{html.escape(how)}</figcaption></figure>"
            )
        for headers, rows, *caption in section["tables"]:
            if not rows:  # a header over nothing says nothing; the section's text says why
                continue
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            cells = "".join(
                "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows
            )
            label = f"<caption>{html.escape(caption[0])}</caption>" if caption else ""
            parts.append(
                f'<div class="scroll"><table>{label}<thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></div>'
            )
        if section["detail"]:
            if not detail_started:
                body.append('<h2 class="detail-head">Details (click a heading to open it)</h2>')
                detail_started = True
            rows = sum(len(table[1]) for table in section["tables"])
            count = f" ({rows} table rows)" if rows else ""
            body.append(
                f'<section id="{section["id"]}"><details><summary>{title}{count}</summary>'
                + "\n".join(parts)
                + "</details></section>"
            )
        else:
            body.append(f'<section id="{section["id"]}"><h2>{title}</h2>' + "\n".join(parts) + "</section>")
    name = html.escape(run_name(grid.root))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>curriscale report: {name}</title><style>{_STYLE}</style></head><body>"
        f'<h1>curriscale report: {name}</h1><p class="grid">{html.escape(_grid_line(grid))}</p>\n'
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _markdown(grid: Grid, sections: list[dict]) -> str:
    """The verdict, the text and every table (no figures: those live in report.html)."""
    lines = [f"# curriscale report: {run_name(grid.root)}", "", _grid_line(grid), ""]
    for section in sections:
        if not section["text"] and not any(table[1] for table in section["tables"]):
            continue
        lines += [f"## {section['title']}", ""]
        for line in section["text"]:  # one paragraph each
            lines += [line, ""]
        for headers, rows, *caption in section["tables"]:
            if rows:
                lines += [f"**{caption[0]}**", ""] if caption else []
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
