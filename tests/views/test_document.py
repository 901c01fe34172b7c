"""The document model: numbering, cross references, unique ids, alt text, cells, boxes, PDF."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _need import need_browser
from adaptive2._base.errors import DesignError
from adaptive2.views.document import (
    Box,
    Bullets,
    Document,
    Figure,
    Heading,
    Para,
    Table,
    to_html,
    to_markdown,
)
from adaptive2.views.figures import to_svg


# ---- helpers -----------------------------------------------------------------------
class _Page(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def ids_of(page: _Page) -> list[str]:
    return [a["id"] for _, a in page.tags if a.get("id") is not None]


def refs_of(page: _Page) -> list[str]:
    """Every in-page reference: href="#x", xlink:href="#x", url(#x) and CSS #x selectors."""
    out = []
    for _, attrs in page.tags:
        for name, value in attrs.items():
            if value is None:
                continue
            if name in ("href", "xlink:href") and value.startswith("#"):
                out.append(value[1:])
            out += re.findall(r"url\(\s*[\"']?#([^)\"'\s]+)", value)
    for css in page.styles:
        out += re.findall(r"url\(\s*[\"']?#([^)\"'\s]+)", css)
        out += [s for s in re.findall(r"#([A-Za-z][\w\-]*)", css)
                if not re.fullmatch(r"[0-9A-Fa-f]{3,8}", s)]  # not a colour
    return out


def line_svg(title: str = "") -> str:
    """A small matplotlib figure through views.figures.to_svg (ids prefixed by content hash)."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0, 1], [0.2, 0.4], label="P(efficacy)")
    ax.set_title(title)
    ax.legend()
    return to_svg(fig)


def raw_svg() -> str:
    """matplotlib's own SVG (prolog, DOCTYPE, unprefixed ids such as 'patch_1', '*{...}' style)."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(3, 2))
    fig.subplots().bar([1, 2], [3, 4])
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "scenario": ["null", "target", None],
        "n": [40.0, 38.0, np.nan],
        "p_efficacy": [0.0734512, 1.0, 0.0002],
        "expected_n": [23.456, 40.0, pd.NA],
        "stop_if_r_at_most": [[None, None, 21], [4, 9, None], None],
    })


# ---- numbering ---------------------------------------------------------------------
def numbered_doc() -> Document:
    doc = Document("Appendix")
    doc.add(
        Heading(2, "Design"),
        Heading(3, "Frontline"),
        Heading(3, "Post IO"),
        Heading(4, "Details"),
        Heading(2, "Operating characteristics"),
        Heading(3, "Exact"),
        Heading(2, "Provenance", numbered=False),
        Heading(3, "Change log"),
    )
    return doc


def test_headings_are_numbered_in_html_and_markdown() -> None:
    doc = numbered_doc()
    page, md = to_html(doc), to_markdown(doc)
    heads = re.findall(r"<h([234]) id=\"([^\"]+)\">(.*?)</h\1>", page)
    shown = [re.sub(r"<[^>]+>", "", inner) for _, _, inner in heads]
    assert shown == ["1 Design", "1.1 Frontline", "1.2 Post IO", "Details",
                     "2 Operating characteristics", "2.1 Exact", "Provenance", "Change log"]
    for line in ("## 1 Design", "### 1.1 Frontline", "### 1.2 Post IO", "#### Details",
                 "## 2 Operating characteristics", "### 2.1 Exact", "## Provenance",
                 "### Change log"):
        assert re.search(rf"^{re.escape(line)}$", md, re.M), line


def test_the_contents_list_levels_2_and_3_with_numbers_in_both_formats() -> None:
    doc = numbered_doc()
    page, md = to_html(doc), to_markdown(doc)
    nav = re.search(r'<nav class="toc">(.*?)</nav>', page, re.S)
    assert nav is not None
    entries = re.findall(r"<li>(?:<span class=\"secno\">([\d.]+) </span>)?<a href=\"#([^\"]+)\">"
                         r"([^<]+)</a>", nav.group(1))
    assert entries == [("1", "design", "Design"), ("1.1", "frontline", "Frontline"),
                       ("1.2", "post-io", "Post IO"),
                       ("2", "operating-characteristics", "Operating characteristics"),
                       ("2.1", "exact", "Exact"), ("", "provenance", "Provenance"),
                       ("", "change-log", "Change log")]
    assert "Details" not in nav.group(1)  # level 4 is not listed
    assert parse(nav.group(0)).tags  # well-formed enough to parse
    assert nav.group(1).count("<ol>") == nav.group(1).count("</ol>")
    assert nav.group(1).count("<li>") == nav.group(1).count("</li>") == 7
    contents = md[md.index("**Contents**"):md.index("## 1 Design")]
    assert "- [1 Design](#design)" in contents
    assert "  - [1.1 Frontline](#frontline)" in contents
    assert "- [2 Operating characteristics](#operating-characteristics)" in contents
    assert "- [Provenance](#provenance)" in contents
    assert "Details" not in contents
    # every link of the contents has its anchor in the Markdown
    for anchor in re.findall(r"\]\(#([^)]+)\)", contents):
        assert f'<a id="{anchor}"></a>' in md


def test_tables_and_figures_are_numbered_in_order() -> None:
    svg = line_svg()
    doc = Document("T")
    doc.add(Table("a", pd.DataFrame({"x": [1]}), "First"), Figure("f", svg, "Curve"),
            Para("text"), Table("b", pd.DataFrame({"x": [2]}), "Second"),
            Figure("g", svg, "Bars", alt="bar chart"))
    page, md = to_html(doc), to_markdown(doc)
    assert re.findall(r"<caption>(.*?)</caption>", page) == ["Table 1. First", "Table 2. Second"]
    assert re.findall(r"<figcaption>(.*?)</figcaption>", page) == ["Figure 1. Curve",
                                                                   "Figure 2. Bars"]
    assert "**Table 1. First**" in md and "**Table 2. Second**" in md
    assert "![Curve](figures/f.svg)\n\n*Figure 1. Curve*" in md
    assert "![bar chart](figures/g.svg)\n\n*Figure 2. Bars*" in md


# ---- cross references --------------------------------------------------------------
def xref_doc(text: str = "") -> Document:
    doc = Document("T")
    doc.add(
        Heading(2, "Design"),
        Heading(3, "Boundaries"),
        Para(text or "See {tab:oc} and {fig:curve}; rules in {sec:boundaries}, "
             "sources in {sec:provenance}. Literal {braces}, {x:y}, {tab:oc and {}."),
        Bullets(("type I error in {tab:oc}", "plain {item}")),
        Box("frontline", "Design {sec:design}", (("OC", "{tab:oc}, {fig:curve}"),),
            note="see {sec:boundaries}"),
        Table("oc", pd.DataFrame({"p": [0.2]}), "OC", note="as {fig:curve}"),
        Figure("curve", line_svg(), "OC curve"),
        Heading(2, "Provenance", numbered=False),
    )
    return doc


def test_cross_references_are_resolved_in_html_as_links() -> None:
    page = to_html(xref_doc())
    assert ('See <a href="#table-oc">Table 1</a> and <a href="#figure-curve">Figure 1</a>; '
            'rules in <a href="#boundaries">Section 1.1</a>, sources in '
            '<a href="#provenance">“Provenance”</a>.') in page
    assert "Literal {braces}, {x:y}, {tab:oc and {}." in page
    assert '<li>type I error in <a href="#table-oc">Table 1</a></li><li>plain {item}</li>' in page
    assert '<p class="spec-title">Design <a href="#design">Section 1</a></p>' in page
    assert '<td><a href="#table-oc">Table 1</a>, <a href="#figure-curve">Figure 1</a></td>' in page
    assert '<p class="note">see <a href="#boundaries">Section 1.1</a></p>' in page
    assert '<p class="note">as <a href="#figure-curve">Figure 1</a></p>' in page
    assert not re.search(r"\{(fig|tab|sec):[\w.\-]+\}", page)


def test_cross_references_are_resolved_in_markdown() -> None:
    md = to_markdown(xref_doc())
    assert ("See Table 1 and Figure 1; rules in Section 1.1, sources in “Provenance”. "
            "Literal {braces}, {x:y}, {tab:oc and {}.") in md
    assert "- type I error in Table 1\n- plain {item}" in md
    assert "**Design Section 1**" in md
    assert "| **OC** | Table 1, Figure 1 |" in md
    assert "*see Section 1.1*" in md and "*as Figure 1*" in md
    assert not re.search(r"\{(fig|tab|sec):[\w.\-]+\}", md)


@pytest.mark.parametrize("ref", ["{tab:nope}", "{fig:oc}", "{sec:missing}", "{sec:table-oc}"])
@pytest.mark.parametrize("render", [to_html, to_markdown])
def test_an_unknown_cross_reference_is_an_error_naming_it(ref, render) -> None:
    for doc in (xref_doc(f"see {ref}"),
                Document("T", blocks=[Bullets((f"see {ref}",))]),
                Document("T", blocks=[Box("b", "B", (("x", f"see {ref}"),))])):
        with pytest.raises(ValueError, match=re.escape(ref)):
            render(doc)


def test_a_heading_label_is_a_stable_reference_target() -> None:
    doc = Document("T", blocks=[Heading(2, "Operating characteristics (exact)", label="oc"),
                                Para("see {sec:oc}")])
    assert '<h2 id="oc">' in to_html(doc) and '<a href="#oc">Section 1</a>' in to_html(doc)
    with pytest.raises(DesignError, match="`label` of Heading"):
        Heading(2, "x", label='a" onclick="b')


# ---- unique ids ----------------------------------------------------------------------
def crowded_doc() -> Document:
    svg = line_svg("same")  # the same figure twice: the same content-hash prefix in both
    doc = Document("T")
    doc.add(
        Heading(2, "Design"), Heading(3, "Boundaries"),
        Figure("oc", svg, "first"), Table("t", pd.DataFrame({"x": [1]}), "one"),
        Box("a", "A", (("x", "y"),)),
        Heading(2, "Design"), Heading(3, "Boundaries"),
        Figure("oc", svg, "second"), Table("t", pd.DataFrame({"x": [2]}), "two"),
        Box("a", "A", (("x", "y"),)),
        Figure("raw", raw_svg(), "matplotlib's own"), Figure("raw2", raw_svg(), "again"),
        Heading(2, "Table t"),  # its slug is also a table's id: the heading keeps it
    )
    return doc


def test_every_id_in_the_page_is_unique_and_every_reference_resolves() -> None:
    page = parse(to_html(crowded_doc()))
    ids = ids_of(page)
    assert len(ids) > 50  # the SVGs' own ids are in the page
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert {"design", "design-2", "boundaries", "boundaries-2", "table-t", "table-t-2",
            "table-t-3", "figure-oc", "figure-oc-2", "spec-a", "spec-a-2"} <= set(ids)
    refs = refs_of(page)
    assert any("clip" in r or re.search(r"-p", r) for r in refs)  # clip paths are referenced
    assert len(refs) > 20
    missing = sorted(set(refs) - set(ids))
    assert missing == []


def test_each_figure_keeps_its_own_svg_definitions() -> None:
    page = to_html(crowded_doc())
    figures = re.findall(r'<figure id="([^"]+)">(.*?)</figure>', page, re.S)
    assert len(figures) == 4
    for ident, body in figures:
        inner = parse(body)
        for i in ids_of(inner):
            assert i.startswith(f"{ident}-"), (ident, i)
        for r in refs_of(inner):
            assert r.startswith(f"{ident}-"), (ident, r)  # a figure uses its own glyphs/clips
    # a rule for every element ('*{...}', as matplotlib writes it) is scoped to its figure
    for css in parse(page).styles[1:]:
        assert not re.search(r"(^|[},])\s*\*", css), css


# ---- alt text ------------------------------------------------------------------------
def test_every_figure_has_a_text_alternative() -> None:
    doc = Document("T", blocks=[Figure("a", line_svg(), "OC curves", alt="P(efficacy) rises"),
                                Figure("b", raw_svg(), 'Bars "<b>"')])
    page = to_html(doc)
    roots = [a for t, a in parse(page).tags if t == "svg"]
    assert len(roots) == 2
    assert [a.get("role") for a in roots] == ["img", "img"]
    assert [a.get("aria-label") for a in roots] == ["P(efficacy) rises", 'Bars "<b>"']
    assert re.findall(r"<svg [^>]*><title>(.*?)</title>", page) == [
        "P(efficacy) rises", "Bars &quot;&lt;b&gt;&quot;"]
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    md = to_markdown(doc)
    assert "![P(efficacy) rises](figures/a.svg)" in md
    assert '![Bars "&lt;b>"](figures/b.svg)' in md


def test_an_svg_that_has_a_title_keeps_it() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>own</title><rect/></svg>'
    page = to_html(Document("T", blocks=[Figure("a", svg, "cap")]))
    assert page.count("<title>") == 2  # the page's and the figure's own
    assert '<svg role="img" aria-label="cap" id="figure-a-svg"' in page
    with pytest.raises(ValueError, match="no <svg>"):
        to_html(Document("T", blocks=[Figure("a", "<png/>", "cap")]))


# ---- cells ---------------------------------------------------------------------------
def test_cells_are_formatted_for_people_and_the_frame_keeps_full_precision() -> None:
    df = frame()
    t = Table("oc", df, "OC", formats={"expected_n": "mean1", "not_a_column": "int"})
    doc = Document("T", blocks=[t])
    page, md = to_html(doc), to_markdown(doc)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page)
    assert cells == ["null", "40", "0.073", "23.5", "–, –, 21",
                     "target", "38", "1", "40.0", "4, 9, –",
                     "", "", "&lt; 0.001", "", ""]
    assert "| null | 40 | 0.073 | 23.5 | –, –, 21 |" in md
    assert "| target | 38 | 1 | 40.0 | 4, 9, – |" in md
    assert "|  |  | < 0.001 |  |  |" in md
    for out in (page, md):
        body = out[out.index("<table"):] if out is page else out
        for bad in ("nan", "None", "<NA>", "&lt;NA&gt;", "40.0000", "0.0735"):
            assert bad not in body, bad
    # numbers right, text left, decided from the raw values
    assert re.findall(r'<th class="(\w+)">', page) == ["text", "num", "num", "num", "num"]
    assert t.frame["p_efficacy"].iloc[0] == 0.0734512  # the CSV/JSON frame is untouched


def test_a_display_frame_is_shown_through_the_same_formatter() -> None:
    shown = pd.DataFrame({"design": ["a"], "p_efficacy": ["0.073 (0.002)"], "n": [40.0]})
    page = to_html(Document("T", blocks=[Table("s", frame(), "S", display=shown)]))
    assert re.findall(r"<td[^>]*>(.*?)</td>", page) == ["a", "0.073 (0.002)", "40"]


def test_a_bad_format_kind_is_refused() -> None:
    with pytest.raises(DesignError, match=r"`formats` of Table 'oc'.*'percent'"):
        Table("oc", frame(), "OC", formats={"n": "percent"})


# ---- boxes, title block, escaping ----------------------------------------------------
def test_a_specification_box_in_both_formats() -> None:
    box = Box("frontline-pp", "Design frontline-pp",
              (("Prior", "Beta(0.5, 0.5) <weak>"), ("Final rule", "efficacy if P(p > 0.2 | data) "
                                                   "≥ 0.95 | long text that wraps")),
              note="Design hash 0123abcd.")
    doc = Document("T", blocks=[box])
    assert doc.boxes() == [box]
    page = to_html(doc)
    sec = re.search(r'<section class="spec" id="spec-frontline-pp"[^>]*>(.*?)</section>', page)
    assert sec is not None
    assert '<p class="spec-title">Design frontline-pp</p>' in sec.group(1)
    assert re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', sec.group(1)) == [
        ("Prior", "Beta(0.5, 0.5) &lt;weak&gt;"),
        ("Final rule", "efficacy if P(p &gt; 0.2 | data) ≥ 0.95 | long text that wraps")]
    assert '<p class="note">Design hash 0123abcd.</p>' in sec.group(1)
    assert re.search(r"section\.spec \{[^}]*break-inside: avoid", page)
    md = to_markdown(doc)
    assert ("**Design frontline-pp**\n\n| | |\n|---|---|\n"
            "| **Prior** | Beta(0.5, 0.5) &lt;weak> |\n"
            "| **Final rule** | efficacy if P(p > 0.2 \\| data) ≥ 0.95 \\| long text that wraps |"
            "\n\n*Design hash 0123abcd.*") in md


def test_the_title_block_sits_under_the_title() -> None:
    rows = (("Trial", "ILKN421H-201 <phase 2>"), ("Protocol", "v2 & amendment"),
            ("Version", "1.0"), ("Date", "2024-06-11"))
    doc = Document("Statistical appendix", "subtitle", title_block=rows)
    page = to_html(doc)
    block = re.search(r'</h1>\n<p class="subtitle">subtitle</p>\n'
                      r'<table class="title-block"><tbody>(.*?)</tbody></table>', page)
    assert block is not None
    assert re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', block.group(1)) == [
        ("Trial", "ILKN421H-201 &lt;phase 2&gt;"), ("Protocol", "v2 &amp; amendment"),
        ("Version", "1.0"), ("Date", "2024-06-11")]
    md = to_markdown(doc)
    assert md.startswith("# Statistical appendix\n\n*subtitle*\n\n| | |\n|---|---|\n"
                         "| **Trial** | ILKN421H-201 &lt;phase 2> |\n"
                         "| **Protocol** | v2 & amendment |\n| **Version** | 1.0 |\n"
                         "| **Date** | 2024-06-11 |\n")


def test_user_strings_stay_escaped() -> None:
    evil = '<script>alert(1)</script> & "q"'
    doc = Document(evil, evil, title_block=(("Trial", evil),), running_header=evil)
    doc.add(Heading(2, evil), Para(evil), Bullets((evil,)), Box("b", evil, ((evil, evil),), evil),
            Table("t", pd.DataFrame({evil: [evil]}), evil, note=evil),
            Figure("f", line_svg(), evil, alt=evil))
    page, md = to_html(doc), to_markdown(doc)
    assert "<script" not in page
    head = page[:page.index("</head>")]
    assert head.count("</style>") == 1 and "@top-left" in head  # the header cannot close it
    assert "<script" not in md.replace("&lt;script", "")


def test_the_running_header_and_page_numbers_are_in_the_print_style() -> None:
    page = to_html(Document("T", running_header='Trial “X” \\ "quoted"'))
    assert 'content: "page " counter(page) " of " counter(pages)' in page
    m = re.search(r"@top-left \{ content: (\"[^\"]*\")", page)
    assert m is not None
    assert m.group(1) == r'"Trial \00201CX\00201D \00005C \000022quoted\000022"'
    assert "@top-left" not in to_html(Document("T"))  # no running header, no empty box


# ---- PDF -----------------------------------------------------------------------------
def test_every_pdf_page_shows_the_running_header_and_page_x_of_y(tmp_path: Path) -> None:
    from adaptive2.views.report import output

    need_browser("" if output.chromium_path() else "chromium is not installed")
    try:
        import pypdf
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail("pypdf is missing: install the test extra (pip install -e .[test])")
    header = "ILKN421H-201 — statistical appendix v1.0"
    doc = Document("Appendix", running_header=header)
    long = " ".join(["The posterior probability that the response rate exceeds p0."] * 12)
    for k in range(1, 4):
        doc.add(Heading(2, f"Part {k}"), *[Para(long) for _ in range(6)])
    html_path = tmp_path / "index.html"
    html_path.write_text(to_html(doc), encoding="utf-8")
    how = output._pdf(html_path, tmp_path / "report.pdf")
    assert how.startswith("chromium"), how
    reader = pypdf.PdfReader(tmp_path / "report.pdf")
    n = len(reader.pages)
    assert n >= 3
    for k, pdf_page in enumerate(reader.pages, start=1):
        text = pdf_page.extract_text()
        assert f"page {k} of {n}" in text, (k, text[:200])
        # (pypdf may drop the space after a dash: compare without spaces)
        assert header.replace(" ", "") in text.replace(" ", ""), (k, text[:200])
    titles = [o.title for o in reader.outline if not isinstance(o, list)]
    nested = [o.title for lst in reader.outline if isinstance(lst, list) for o in lst
              if not isinstance(o, list)]
    assert "Appendix" in titles and "1 Part 1" in nested  # PDF bookmarks from the headings
