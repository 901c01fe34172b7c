"""A small document model for the protocol appendix, rendered to HTML and Markdown.

The report is built once as a list of blocks (headings, paragraphs, tables,
figures, specification boxes, code); :func:`to_html` and :func:`to_markdown`
render the same blocks, so the two formats cannot drift apart. Both renderers
share one layout pass that

- numbers the headings (level 2: ``1``, ``2``; level 3: ``2.1``; level 4 and
  ``numbered=False`` headings unnumbered), the tables (``Table N.``) and the
  figures (``Figure N.``), in order;
- gives every element a unique HTML id (heading anchors, ``table-NAME``,
  ``figure-NAME``, ``spec-NAME``, deduplicated with ``-2``, ``-3``; every id
  inside an inline SVG is prefixed with its figure's id);
- resolves the cross references ``{fig:NAME}``, ``{tab:NAME}`` and
  ``{sec:ANCHOR}`` in paragraphs, bullets, box text and table notes (an unknown
  one is a programming error: ValueError).

Every user-supplied string is escaped in HTML, and no raw HTML gets through
Markdown; the page is self-contained (inline CSS and SVG, no script, no
network). Table cells are written by :func:`adaptive2._base.formatting.cell`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from adaptive2._base.formatting import KINDS, cell, column_kind, number
from adaptive2._base.validation import fail
from adaptive2.views.html import is_text_column
from adaptive2.views.html import table as html_table

__all__ = [
    "Box",
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
    """A section heading (level 1 is the page title; 2 and 3 are numbered).

    ``numbered=False`` leaves a heading (and the level-3 headings under an
    unnumbered level-2 one) without a number, e.g. for provenance or an
    appendix. ``label`` is an explicit anchor for ``{sec:label}`` references
    (default: the slug of ``text``).
    """

    level: int
    text: str
    numbered: bool = True
    label: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]*", self.label):
            raise fail("label", "Heading", "letters, digits, '_', '.' or '-'", self.label)

    @property
    def anchor(self) -> str:
        """Id used for the table of contents (before deduplication)."""
        return self.label or _slug(self.text) or "section"


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text (escaped in HTML; cross references resolved)."""

    text: str
    kind: str = ""  # "" or "note" / "warning"


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of plain-text items (cross references resolved)."""

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
    ``display`` (optional) holds the rounded values shown in HTML/Markdown.
    Each shown column is written by :func:`~adaptive2._base.formatting.cell`
    with the kind ``formats[column]`` or else the column's
    :func:`~adaptive2._base.formatting.column_kind` (strings are shown as they
    are). Keys of ``formats`` that are not columns are ignored, so one mapping
    serves frames whose optional columns come and go. Tables are numbered in
    order: the caption is shown as ``Table N. caption``.
    """

    name: str
    frame: Any
    caption: str
    display: Any = None
    note: str = ""
    formats: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.formats.items() if v not in KINDS}
        if bad:
            raise fail("formats", f"Table {self.name!r}",
                       f"a mapping of columns to kinds in {{{', '.join(KINDS)}}}", bad)


@dataclass(frozen=True)
class Figure:
    """An inline SVG figure, written also as ``figures/<name>.svg``.

    Numbered in order (``Figure N. caption``); ``alt`` is the text alternative
    (default: the caption).
    """

    name: str
    svg: str
    caption: str
    alt: str = ""


@dataclass(frozen=True)
class Box:
    """A framed specification box: a title and (label, text) rows, e.g. one design.

    Rendered as ``<section class="spec" id="spec-NAME">`` in HTML (kept on one
    page in print) and as a bold title and a two-column table in Markdown.
    The title, texts and note resolve cross references.
    """

    name: str
    title: str
    rows: tuple[tuple[str, str], ...]
    note: str = ""


@dataclass
class Document:
    """The report: a title, an optional title block and blocks in order.

    ``title_block`` rows (label, value) are shown under the title as a small
    two-column table; ``running_header`` is printed at the top of every PDF
    page (the footer always reads "page X of Y").
    """

    title: str
    subtitle: str = ""
    blocks: list[Any] = field(default_factory=list)
    title_block: tuple[tuple[str, str], ...] = ()
    running_header: str = ""

    def add(self, *blocks: Any) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)

    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [b for b in self.blocks if isinstance(b, Figure)]

    def boxes(self) -> list[Box]:
        """Every specification box, in order."""
        return [b for b in self.blocks if isinstance(b, Box)]


def format_cell(v: Any, digits: int = 4) -> str:
    """Plain-text form of one cell (:func:`adaptive2._base.formatting.number`; missing empty)."""
    return number(v, digits, missing="")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---------------------------------------------------------------------------
# Layout: numbers, unique ids, cross references
# ---------------------------------------------------------------------------
_REF = re.compile(r"\{(fig|tab|sec):([\w.\-]+)\}")


@dataclass
class _Layout:
    number: dict[int, str] = field(default_factory=dict)  # block index -> "2.1" or ""
    ident: dict[int, str] = field(default_factory=dict)  # block index -> unique id
    svg: dict[int, str] = field(default_factory=dict)  # figure index -> SVG for inline use
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # "tab:x" -> (text, id)
    used: set[str] = field(default_factory=set)

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}-{k}"
        self.used.add(name)
        return name

    def pieces(self, text: str) -> Iterator[tuple[str, str | None]]:
        """``text`` split into literal pieces (id None) and resolved references."""
        pos = 0
        for m in _REF.finditer(text):
            key = f"{m.group(1)}:{m.group(2)}"
            if key not in self.refs:
                known = sorted(k for k in self.refs if k.startswith(m.group(1) + ":"))
                raise ValueError(f"unknown cross reference {m.group(0)} in {text!r}; "
                                 f"known: {', '.join(known) or 'none'}")
            yield text[pos:m.start()], None
            label, ident = self.refs[key]
            yield label, ident
            pos = m.end()
        yield text[pos:], None

    def plain(self, text: str) -> str:
        """``text`` with its references replaced by "Figure N", "Table N", "Section 2.3"."""
        return "".join(s for s, _ in self.pieces(text))

    def html(self, text: str) -> str:
        """``text`` escaped, its references as links."""
        return "".join(html.escape(s) if ident is None
                       else f'<a href="#{html.escape(ident)}">{html.escape(s)}</a>'
                       for s, ident in self.pieces(text))


def _layout(doc: Document) -> _Layout:
    lay = _Layout()
    h2 = h3 = 0
    parent_numbered = True
    # headings first, so their anchors (the targets of {sec:...}) never yield to other ids
    for i, b in enumerate(doc.blocks):
        if not isinstance(b, Heading):
            continue
        level = _level(b)
        num = ""
        if level == 2:
            parent_numbered = b.numbered
            if b.numbered:
                h2, h3 = h2 + 1, 0
                num = str(h2)
        elif level == 3 and b.numbered and parent_numbered:
            h3 += 1
            num = f"{h2}.{h3}"
        anchor = lay.unique(b.anchor)
        lay.number[i], lay.ident[i] = num, anchor
        lay.refs[f"sec:{anchor}"] = (f"Section {num}" if num else f"“{b.text}”", anchor)
    tables = figures = 0
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Table):
            tables += 1
            lay.number[i], lay.ident[i] = str(tables), lay.unique(f"table-{b.name}")
            lay.refs.setdefault(f"tab:{b.name}", (f"Table {tables}", lay.ident[i]))
        elif isinstance(b, Figure):
            figures += 1
            lay.number[i], lay.ident[i] = str(figures), lay.unique(f"figure-{b.name}")
            lay.refs.setdefault(f"fig:{b.name}", (f"Figure {figures}", lay.ident[i]))
        elif isinstance(b, Box):
            lay.ident[i] = lay.unique(f"spec-{b.name}")
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Figure):
            lay.svg[i] = _inline_svg(b, lay.ident[i], lay)
    return lay


def _level(h: Heading) -> int:
    return min(max(h.level, 2), 4)


# ---- inline SVG: unique ids, text alternative --------------------------------
_SVG_ID = re.compile(r"""(\sid\s*=\s*)(["'])(.*?)\2""")
_SVG_REF = re.compile(r"""(url\(\s*["']?#|href\s*=\s*["']#)([^)"'\s]+)""")
_SVG_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S)
_SVG_ROOT = re.compile(r"<svg\b[^>]*>")


def _inline_svg(fig: Figure, ident: str, lay: _Layout) -> str:
    """The SVG of ``fig`` for inline use in the page.

    The XML prolog is dropped; every id is prefixed with the figure's id (and
    made unique in the page), and every ``url(#…)``, ``href="#…"`` and CSS
    ``#id`` selector follows; the root gets ``role="img"``, an ``aria-label``
    and a ``<title>`` (if it has none) holding the text alternative; a global
    ``*{…}`` style rule is scoped to the figure.
    """
    start = fig.svg.find("<svg")
    root = _SVG_ROOT.match(fig.svg, max(start, 0))
    if start < 0 or root is None:
        raise ValueError(f"figure {fig.name!r} holds no <svg> element")
    svg = fig.svg[start:]
    has_id = _SVG_ID.search(root.group(0))
    if has_id is None:  # a root id to scope the style rules to
        svg = '<svg id="svg"' + svg[4:]
    root_id = has_id.group(3) if has_id else "svg"
    mapping: dict[str, str] = {}
    for m in _SVG_ID.finditer(svg):
        if m.group(3) not in mapping:
            mapping[m.group(3)] = lay.unique(f"{ident}-{m.group(3)}")

    def new_id(m: re.Match[str]) -> str:
        return f"{m.group(1)}{m.group(2)}{mapping[m.group(3)]}{m.group(2)}"

    def new_ref(m: re.Match[str]) -> str:
        return m.group(1) + mapping.get(m.group(2), m.group(2))

    def new_style(m: re.Match[str]) -> str:
        css = re.sub(r"#([\w\-]+)", lambda s: "#" + mapping.get(s.group(1), s.group(1)),
                     m.group(2))
        # a rule for every element ("*{...}", as matplotlib writes) would style the whole page
        scope = f"#{mapping[root_id]} *"
        css = re.sub(r"(^|[},])(\s*)\*(\s*)\{", lambda s: f"{s[1]}{s[2]}{scope}{s[3]}{{", css)
        return m.group(1) + css + m.group(3)

    svg = _SVG_ID.sub(new_id, svg)
    svg = _SVG_REF.sub(new_ref, svg)
    svg = _SVG_STYLE.sub(new_style, svg)
    alt = html.escape(fig.alt or fig.caption, quote=True)
    tag = svg[: svg.index(">") + 1]  # the root's start tag
    bare = re.sub(r"""\s(role|aria-label)\s*=\s*(["']).*?\2""", "", tag)
    new_tag = bare[:4] + f' role="img" aria-label="{alt}"' + bare[4:]
    rest = svg[len(tag):]
    if not rest.lstrip().startswith("<title"):
        rest = f"<title>{alt}</title>" + rest
    return new_tag + rest


# ---------------------------------------------------------------------------
# Table cells
# ---------------------------------------------------------------------------
def _shown(t: Table) -> Any:
    return t.display if t.display is not None else t.frame


def _cells(t: Table) -> tuple[list[str], list[list[str]], list[bool]]:
    """Column titles, formatted rows and the text flag of each column."""
    df = _shown(t)
    header = [str(c) for c in df.columns]
    columns, text = [], []
    for j, name in enumerate(df.columns):
        values = df.iloc[:, j].tolist()
        kind = t.formats.get(name) or t.formats.get(str(name)) or column_kind(values)
        columns.append([cell(v, kind) for v in values])
        text.append(kind == "text" or is_text_column(values))
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    return header, rows, text


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
CSS = """
:root { --ink:#1b1f23; --muted:#57606a; --rule:#d0d7de; --band:#f6f8fa; --accent:#0a5ea8; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7em; margin: 0 0 .2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 2px solid var(--accent);
     padding-bottom: .15em; }
h3 { font-size: 1.08em; margin-top: 1.4em; }
.secno { font-variant-numeric: tabular-nums; }
p.subtitle { color: var(--muted); margin-top: 0; }
p.note { color: var(--muted); font-size: .92em; }
p.warning { border-left: 4px solid #bf8700; padding-left: .6em; }
nav.toc ol { list-style: none; padding-left: 1.3em; margin: .1em 0; }
nav.toc > ol { columns: 2; padding-left: 0; font-size: .95em; }
nav.toc li { break-inside: avoid; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .88em;
        font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
th, td { border-bottom: 1px solid var(--rule); padding: .18em .55em; text-align: right;
         vertical-align: top; }
th { background: var(--band); }
td.text, th.text { text-align: left; }
td.nowrap { white-space: nowrap; }
table.title-block { margin: .4em 0 1.4em; font-size: .95em; }
table.title-block th, table.title-block td { text-align: left; border: 0;
                                             padding: .08em 1em .08em 0; }
table.title-block th { background: none; color: var(--muted); font-weight: 600; }
section.spec { border: 1px solid var(--rule); border-left: 4px solid var(--accent);
               padding: .45em .8em .6em; margin: 1em 0 1.3em; break-inside: avoid; }
section.spec .spec-title { font-weight: 600; margin: 0 0 .35em; }
section.spec table { width: 100%; margin: 0; font-size: .9em; }
section.spec th { width: 27%; text-align: left; background: none; }
section.spec td { text-align: left; overflow-wrap: anywhere; }
section.spec p.note { margin: .4em 0 0; }
figure { margin: .6em 0 1.2em; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9em; color: var(--muted); }
pre { background: var(--band); padding: .6em; overflow-x: auto; font-size: .85em;
      white-space: pre-wrap; }
@page { size: A4; margin: 16mm 14mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages);
                        font: 8pt Arial, sans-serif; color: #57606a; } }
div.table { overflow-x: auto; }
th { overflow-wrap: break-word; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  div.table { overflow: visible; }
  table { width: 100%; font-size: 7.5pt; }
  table.title-block { width: auto; font-size: 9pt; }
  td.nowrap { white-space: normal; }
  td, th { padding: .12em .3em; overflow-wrap: break-word; }
  h2 { break-before: auto; break-after: avoid; }
  h3 { break-after: avoid; }
  table, figure, pre, section.spec { break-inside: avoid; }
  nav.toc { break-after: page; }
}
"""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (safe inside ``<style>``: no ``<``, quote or newline)."""
    keep = re.compile(r"[A-Za-z0-9 .,:;_()/+=!?@-]")
    return '"' + "".join(c if keep.fullmatch(c) else f"\\{ord(c):06X}" for c in text) + '"'


def _page_css(doc: Document) -> str:
    if not doc.running_header:
        return ""
    return ("@page { @top-left { content: " + _css_string(doc.running_header)
            + "; font: 8pt Arial, sans-serif; color: #57606a; } }\n")


def _secno(num: str) -> str:
    # the space inside the span keeps the heading's text "2.1 Title" when copied
    return f'<span class="secno">{num} </span>' if num else ""


def _html_toc(doc: Document, lay: _Layout) -> list[str]:
    heads = [(i, b) for i, b in enumerate(doc.blocks)
             if isinstance(b, Heading) and _level(b) in (2, 3)]
    if not heads:
        return []
    out = ['<nav class="toc"><h2>Contents</h2><ol>']
    in_item = in_sub = False
    for i, h in heads:
        link = f'{_secno(lay.number[i])}<a href="#{lay.ident[i]}">{html.escape(h.text)}</a>'
        if _level(h) == 2:
            out += ["</ol>"] * in_sub + ["</li>"] * in_item + [f"<li>{link}"]
            in_item, in_sub = True, False
        else:
            out += ["<li>"] * (not in_item) + ["<ol>"] * (not in_sub) + [f"<li>{link}</li>"]
            in_item = in_sub = True
    out += ["</ol>"] * in_sub + ["</li>"] * in_item + ["</ol></nav>"]
    return out


def _html_table(t: Table, num: str, ident: str, lay: _Layout) -> str:
    header, rows, text = _cells(t)
    # short labels ("type I error") never wrap; missing cells stay empty
    out = ['<div class="table">',
           html_table(header, rows, caption=f"Table {num}. {t.caption}", table_id=ident,
                      missing="", nowrap_below=24, text=text),
           "</div>"]
    if t.note:
        out.append(f'<p class="note">{lay.html(t.note)}</p>')
    return "\n".join(out)


def _html_box(b: Box, ident: str, lay: _Layout) -> str:
    rows = "".join(f'<tr><th scope="row">{html.escape(label)}</th><td>{lay.html(text)}</td></tr>'
                   for label, text in b.rows)
    out = (f'<section class="spec" id="{html.escape(ident)}" '
           f'aria-label="{html.escape(lay.plain(b.title))}">'
           f'<p class="spec-title">{lay.html(b.title)}</p>'
           f"<table><tbody>{rows}</tbody></table>")
    if b.note:
        out += f'<p class="note">{lay.html(b.note)}</p>'
    return out + "</section>"


def _html_title_block(rows: tuple[tuple[str, str], ...]) -> str:
    body = "".join(f'<tr><th scope="row">{html.escape(label)}</th><td>{html.escape(value)}</td>'
                   "</tr>" for label, value in rows)
    return f'<table class="title-block"><tbody>{body}</tbody></table>'


def to_html(doc: Document) -> str:
    """The self-contained HTML page."""
    lay = _layout(doc)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(doc.title)}</title>",
        f"<style>{CSS}{_page_css(doc)}</style></head><body>",
        f"<h1>{html.escape(doc.title)}</h1>",
    ]
    if doc.subtitle:
        parts.append(f'<p class="subtitle">{html.escape(doc.subtitle)}</p>')
    if doc.title_block:
        parts.append(_html_title_block(doc.title_block))
    parts += _html_toc(doc, lay)
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Heading):
            lvl = _level(b)
            parts.append(f'<h{lvl} id="{html.escape(lay.ident[i])}">{_secno(lay.number[i])}'
                         f"{html.escape(b.text)}</h{lvl}>")
        elif isinstance(b, Para):
            cls = f' class="{html.escape(b.kind)}"' if b.kind else ""
            parts.append(f"<p{cls}>{lay.html(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{lay.html(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Code):
            parts.append(f"<pre><code>{html.escape(b.text)}</code></pre>")
        elif isinstance(b, Table):
            parts.append(_html_table(b, lay.number[i], lay.ident[i], lay))
        elif isinstance(b, Figure):
            # The SVG comes from matplotlib (our own code), not from user input; the
            # caption and alt text are user-influenced and escaped.
            parts.append(
                f'<figure id="{html.escape(lay.ident[i])}">{lay.svg[i]}'
                f"<figcaption>Figure {lay.number[i]}. {html.escape(b.caption)}</figcaption>"
                "</figure>"
            )
        elif isinstance(b, Box):
            parts.append(_html_box(b, lay.ident[i], lay))
        else:  # pragma: no cover - programming error
            raise TypeError(f"unknown block {type(b).__name__}")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------
def _md_text(s: str) -> str:
    """Plain text for Markdown with no raw HTML getting through.

    A ``<`` that could open a tag or comment and an ``&`` that could start an
    entity are escaped; ``<=`` and ``a & b`` stay readable in the .md file.
    """
    s = re.sub(r"&(?=#?\w+;)", "&amp;", s)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", s)


def _md_escape(s: str) -> str:
    return _md_text(s).replace("|", "\\|").replace("\n", " ")


def _md_link_text(s: str) -> str:
    return _md_escape(s).replace("[", "\\[").replace("]", "\\]")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _md_two_columns(rows: list[tuple[str, str]]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| **{_md_escape(label)}** | {_md_escape(text)} |" for label, text in rows]
    return "\n".join(lines)


def _md_table(t: Table, num: str, lay: _Layout) -> str:
    header, rows, _ = _cells(t)
    lines = [f"**Table {num}. {_md_text(t.caption)}**", "",
             "| " + " | ".join(map(_md_escape, header)) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(map(_md_escape, r)) + " |" for r in rows]
    if t.note:
        lines += ["", f"*{_md_text(lay.plain(t.note))}*"]
    return "\n".join(lines)


def _md_box(b: Box, lay: _Layout) -> str:
    out = [f"**{_md_text(lay.plain(b.title))}**", "",
           _md_two_columns([(label, lay.plain(text)) for label, text in b.rows])]
    if b.note:
        out += ["", f"*{_md_text(lay.plain(b.note))}*"]
    return "\n".join(out)


def _md_toc(doc: Document, lay: _Layout) -> str:
    lines = []
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Heading) and _level(b) in (2, 3):
            num = lay.number[i]
            text = _md_link_text(f"{num} {b.text}" if num else b.text)
            indent = "  " if _level(b) == 3 else ""
            lines.append(f"{indent}- [{text}](#{lay.ident[i]})")
    return "**Contents**\n\n" + "\n".join(lines) if lines else ""


def to_markdown(doc: Document) -> str:
    """The same report as Markdown (figures linked from ``figures/``)."""
    lay = _layout(doc)
    parts = [f"# {_md_text(doc.title)}"]
    if doc.subtitle:
        parts.append(f"*{_md_text(doc.subtitle)}*")
    if doc.title_block:
        parts.append(_md_two_columns(list(doc.title_block)))
    toc = _md_toc(doc, lay)
    if toc:
        parts.append(toc)
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Heading):
            num = lay.number[i]
            # the anchor (a slug: letters, digits, '-') is the target of the contents' links
            parts.append(f'<a id="{lay.ident[i]}"></a>')
            parts.append("#" * _level(b) + " " + (f"{num} " if num else "") + _md_text(b.text))
        elif isinstance(b, Para):
            text = _md_text(lay.plain(b.text))
            parts.append(f"> {text}" if b.kind == "warning" else text)
        elif isinstance(b, Bullets):
            parts.append("\n".join(f"- {_md_text(lay.plain(i))}" for i in b.items))
        elif isinstance(b, Code):
            fence = _fence(b.text)
            parts.append(f"{fence}{b.lang}\n{b.text.rstrip()}\n{fence}")
        elif isinstance(b, Table):
            parts.append(_md_table(b, lay.number[i], lay))
        elif isinstance(b, Figure):
            parts.append(f"![{_md_link_text(b.alt or b.caption)}](figures/{quote(b.name)}.svg)")
            parts.append(f"*Figure {lay.number[i]}. {_md_text(b.caption)}*")
        elif isinstance(b, Box):
            parts.append(_md_box(b, lay))
    return "\n\n".join(parts) + "\n"
