"""The page: the report's sections as one self-contained HTML file, and as Markdown.

A section (`section`) is a dict: id, title, text lines, figures (PNG bytes, each with its one-line
"how to read this"), tables (`cells.Table`, most with a title: `titled`), and whether it is a
detail, collapsed in a `<details>` element under the details heading. `html_page` embeds the
figures as base64 PNG data URIs at their display size (`canvas.display_size`) and uses no script
and no external asset, so the page can be mailed or archived as one file. `markdown_page` keeps
the text and every table and leaves the figures out. Both are titled by the grid's folder
(`run_name`), never by an absolute path. A table without rows is left out of both: a header over
nothing says nothing, and the section's text says why it is empty.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from curriscale.fit.report.canvas import display_size
from curriscale.fit.report.cells import Table
from curriscale.fit.report.grid_tables import grid_line
from curriscale.fit.runs import Grid

# Grid folder names that say nothing on their own: the report title adds the parent folder's name.
GENERIC_NAMES = {"runs", "grid", "cells", "out", "output", "results"}
DETAILS_HEADING = '<h2 class="detail-head">Details (click a heading to open it)</h2>'
STYLE = """
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


def section(
    id_: str,
    title: str,
    text: list[str] = (),
    figures: list[tuple[bytes, str]] = (),
    tables: list[tuple] = (),
    detail: bool = False,
) -> dict:
    """One section of the page.

    Args:
        id_: the HTML id (tests and links find the section by it).
        title: its heading.
        text: paragraphs, one line each.
        figures: (PNG bytes, how to read it) pairs.
        tables: `cells.Table`s, or (headers, rows, title) as `titled` makes them.
        detail: collapsed under the details heading, not shown on the page's first read.
    """
    return {"id": id_, "title": title, "text": list(text), "figures": list(figures), "tables": list(tables),
            "detail": detail}  # fmt: skip


def titled(caption: str, table: Table) -> tuple[list[str], list[list[str]], str]:
    """A table with the one-line title the page shows above it."""
    return (*table[:2], caption)


def run_name(root: Path) -> str:
    """The name a report gives its grid: the folder's name, with its parent's when that is generic.

    `demo-out/runs` rather than `runs`; never the absolute path.
    """
    folder = Path(root).resolve()
    if folder.name in GENERIC_NAMES and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name or str(root)


def html_page(grid: Grid, sections: list[dict]) -> str:
    """The report as one HTML document; the details heading goes before the first detail."""
    body, heading_placed = [], False
    for part in sections:
        if part["detail"] and not heading_placed:
            body.append(DETAILS_HEADING)
            heading_placed = True
        body.append(_section_html(part))
    name = html.escape(run_name(grid.root))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>curriscale report: {name}</title><style>{STYLE}</style></head><body>"
        f'<h1>curriscale report: {name}</h1><p class="grid">{html.escape(grid_line(grid))}</p>\n'
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _section_html(part: dict) -> str:
    """A `<section>`: heading, paragraphs, figures and tables; a detail inside `<details>`."""
    title = html.escape(part["title"])
    parts = [f"<p>{html.escape(line)}</p>" for line in part["text"]]
    parts += [_figure_html(png, how, title) for png, how in part["figures"]]
    parts += [_table_html(*table) for table in part["tables"] if table[1]]
    content = "\n".join(parts)
    if not part["detail"]:
        return f'<section id="{part["id"]}"><h2>{title}</h2>{content}</section>'
    rows = sum(len(table[1]) for table in part["tables"])
    count = f" ({rows} table rows)" if rows else ""
    return (
        f'<section id="{part["id"]}"><details><summary>{title}{count}</summary>{content}</details></section>'
    )


def _figure_html(png: bytes, how: str, title: str) -> str:
    """An embedded figure at its display size, with its how-to-read caption."""
    data = base64.b64encode(png).decode("ascii")
    width, height = display_size(png)
    return (
        f'<figure><img alt="{title}" width="{width}" height="{height}" '
        f'src="data:image/png;base64,{data}"><figcaption><b>How to read this:</b> '
        f"{html.escape(how)}</figcaption></figure>"
    )


def _table_html(headers: list[str], rows: list[list[str]], caption: str | None = None) -> str:
    """A table in a horizontally scrolling box, its title as the caption."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    label = f"<caption>{html.escape(caption)}</caption>" if caption is not None else ""
    return f'<div class="scroll"><table>{label}<thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></div>'


def markdown_page(grid: Grid, sections: list[dict]) -> str:
    """The verdict, the text and every table (no figures: those live in report.html)."""
    lines = [f"# curriscale report: {run_name(grid.root)}", "", grid_line(grid), ""]
    for part in sections:
        if not part["text"] and not any(table[1] for table in part["tables"]):
            continue
        lines += [f"## {part['title']}", ""]
        for line in part["text"]:  # one paragraph each
            lines += [line, ""]
        for table in part["tables"]:
            if table[1]:
                lines += _table_markdown(*table)
    return "\n".join(lines)


def _table_markdown(headers: list[str], rows: list[list[str]], caption: str | None = None) -> list[str]:
    """A table's lines, its title in bold above it, a blank line after."""
    lines = [f"**{caption}**", ""] if caption is not None else []
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in rows]
    return [*lines, ""]
