"""A small document model for the protocol appendix, rendered to HTML and Markdown.

The report is built once as a list of blocks (headings, paragraphs, tables,
figures, code); :func:`to_html` and :func:`to_markdown` render the same blocks,
so the two formats cannot drift apart. Every user-supplied string is escaped
in HTML; the page is self-contained (inline CSS and SVG, no script, no network).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from adaptive2._base.formatting import number
from adaptive2.views.html import table as html_table

__all__ = [
    "Bullets",
    "Code",
    "Document",
    "Figure",
    "Heading",
    "Para",
    "Table",
    "format_cell",
    "to_html",
    "to_markdown",
]


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1 is the page title)."""

    level: int
    text: str

    @property
    def anchor(self) -> str:
        """Id used for the table of contents."""
        return re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text (escaped in HTML)."""

    text: str
    kind: str = ""  # "" or "note" / "warning"


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Code:
    """Preformatted text, such as a design file or a command."""

    text: str
    lang: str = ""


@dataclass(frozen=True)
class Table:
    """A table written also as ``tables/<name>.csv`` and ``.json``.

    ``frame`` holds the numbers at full precision (the CSV/JSON files);
    ``display`` (optional) holds the rounded strings shown in HTML/Markdown.
    """

    name: str
    frame: Any
    caption: str
    display: Any = None
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """An inline SVG figure, written also as ``figures/<name>.svg``."""

    name: str
    svg: str
    caption: str


@dataclass
class Document:
    """The report: a title, metadata lines and blocks in order."""

    title: str
    subtitle: str = ""
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)

    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [b for b in self.blocks if isinstance(b, Figure)]


def format_cell(v: Any, digits: int = 4) -> str:
    """Plain-text form of one cell (:func:`adaptive2._base.formatting.number`; missing empty)."""
    return number(v, digits, missing="")


def _shown(t: Table) -> Any:
    return t.display if t.display is not None else t.frame


CSS = """
:root { --ink:#1b1f23; --muted:#57606a; --rule:#d0d7de; --band:#f6f8fa; --accent:#0a5ea8; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7em; margin: 0 0 .2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 2px solid var(--accent);
     padding-bottom: .15em; }
h3 { font-size: 1.08em; margin-top: 1.4em; }
p.subtitle { color: var(--muted); margin-top: 0; }
p.note { color: var(--muted); font-size: .92em; }
p.warning { border-left: 4px solid #bf8700; padding-left: .6em; }
nav.toc ol { columns: 2; font-size: .95em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .88em;
        font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
th, td { border-bottom: 1px solid var(--rule); padding: .18em .55em; text-align: right;
         vertical-align: top; }
th { background: var(--band); }
td.text, th.text { text-align: left; }
td.nowrap { white-space: nowrap; }
figure { margin: .6em 0 1.2em; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9em; color: var(--muted); }
pre { background: var(--band); padding: .6em; overflow-x: auto; font-size: .85em;
      white-space: pre-wrap; }
@page { size: A4; margin: 16mm 14mm; }
div.table { overflow-x: auto; }
th { overflow-wrap: break-word; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  div.table { overflow: visible; }
  table { width: 100%; font-size: 7.5pt; }
  td.nowrap { white-space: normal; }
  td, th { padding: .12em .3em; overflow-wrap: break-word; }
  h2 { break-before: auto; break-after: avoid; }
  h3 { break-after: avoid; }
  table, figure, pre { break-inside: avoid; }
  nav.toc { break-after: page; }
}
"""


def _html_table(t: Table) -> str:
    df = _shown(t)
    rows = [[r[c] for c in df.columns] for r in df.to_dict("records")]
    # short labels ("type I error") never wrap; missing cells stay empty
    out = ['<div class="table">',
           html_table(list(df.columns), rows, caption=t.caption, table_id=f"table-{t.name}",
                      missing="", nowrap_below=24),
           "</div>"]
    if t.note:
        out.append(f'<p class="note">{html.escape(t.note)}</p>')
    return "\n".join(out)


def to_html(doc: Document) -> str:
    """The self-contained HTML page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(doc.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(doc.title)}</h1>",
    ]
    if doc.subtitle:
        parts.append(f'<p class="subtitle">{html.escape(doc.subtitle)}</p>')
    toc = [b for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    if toc:
        parts.append('<nav class="toc"><h2>Contents</h2><ol>')
        parts += [f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>' for h in toc]
        parts.append("</ol></nav>")
    for b in doc.blocks:
        if isinstance(b, Heading):
            lvl = min(max(b.level, 2), 4)
            parts.append(f'<h{lvl} id="{b.anchor}">{html.escape(b.text)}</h{lvl}>')
        elif isinstance(b, Para):
            cls = f' class="{b.kind}"' if b.kind else ""
            parts.append(f"<p{cls}>{html.escape(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Code):
            parts.append(f"<pre><code>{html.escape(b.text)}</code></pre>")
        elif isinstance(b, Table):
            parts.append(_html_table(b))
        elif isinstance(b, Figure):
            # The SVG comes from matplotlib (our own code), not from user input; the
            # caption is user-influenced and escaped.
            parts.append(
                f'<figure id="figure-{html.escape(b.name)}">{b.svg}'
                f"<figcaption>{html.escape(b.caption)}</figcaption></figure>"
            )
        else:  # pragma: no cover - programming error
            raise TypeError(f"unknown block {type(b).__name__}")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_text(s: str) -> str:
    """Plain text for Markdown with no raw HTML getting through.

    A ``<`` that could open a tag or comment and an ``&`` that could start an
    entity are escaped; ``<=`` and ``a & b`` stay readable in the .md file.
    """
    s = re.sub(r"&(?=#?\w+;)", "&amp;", s)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", s)


def _md_escape(s: str) -> str:
    return _md_text(s).replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _md_table(t: Table) -> str:
    df = _shown(t)
    cols = [str(c) for c in df.columns]
    lines = [f"**{_md_text(t.caption)}**", "", "| " + " | ".join(map(_md_escape, cols)) + " |"]
    lines.append("|" + "---|" * len(cols))
    for r in df.to_dict("records"):
        lines.append("| " + " | ".join(_md_escape(format_cell(r[c])) for c in df.columns) + " |")
    if t.note:
        lines += ["", f"*{_md_text(t.note)}*"]
    return "\n".join(lines)


def to_markdown(doc: Document) -> str:
    """The same report as Markdown (figures linked from ``figures/``)."""
    parts = [f"# {_md_text(doc.title)}"]
    if doc.subtitle:
        parts.append(f"*{_md_text(doc.subtitle)}*")
    for b in doc.blocks:
        if isinstance(b, Heading):
            parts.append("#" * min(max(b.level, 2), 4) + " " + _md_text(b.text))
        elif isinstance(b, Para):
            text = _md_text(b.text)
            parts.append(f"> {text}" if b.kind == "warning" else text)
        elif isinstance(b, Bullets):
            parts.append("\n".join(f"- {_md_text(i)}" for i in b.items))
        elif isinstance(b, Code):
            fence = _fence(b.text)
            parts.append(f"{fence}{b.lang}\n{b.text.rstrip()}\n{fence}")
        elif isinstance(b, Table):
            parts.append(_md_table(b))
        elif isinstance(b, Figure):
            parts.append(f"![{_md_escape(b.caption)}](figures/{quote(b.name)}.svg)")
    return "\n\n".join(parts) + "\n"
