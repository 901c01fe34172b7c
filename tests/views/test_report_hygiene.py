"""The shipped report read as a reviewer reads it: no machine residue, numbers written for people.

One report is built from the shipped designs (designs/*.toml with designs/scenarios.toml, few
simulations) and its report.md, index.html and report.pdf are checked for what a reviewing
statistician would flag: missing-value words (None, nan, <NA>), counts printed with decimals,
machine column names, duplicate HTML ids, figures without a text alternative, pages without
"page X of Y", and a specification box that does not state each design's hypotheses and
type I error target next to the value achieved (and, for a design co-monitored for toxicity,
its safety rule, with power counted with the toxicity stops).
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from adaptive2._base.formatting import cell
from adaptive2.engines.calibration import worst_case_alpha
from adaptive2.io.design_files import load_any
from adaptive2.model.cohorts import CohortDesign
from adaptive2.views.report import appendix as rp

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
SCENARIOS = DESIGNS / "scenarios.toml"
SHIPPED = sorted(p for p in DESIGNS.glob("*.toml") if p != SCENARIOS)

# machine names of the result datasets: never a column header of the report
MACHINE = {"p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n", "max_n", "fwer",
           "max_type1", "futility_max_r", "efficacy_min_r", "ess_elir", "worst_case_p",
           "expected_n_p0", "power_gain", "power_independent", "p_all_correct", "n_sims",
           "chunk_size", "stream_scheme", "type1_inflation", "design_cutoff"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")

# columns that hold counts (patients, responses, looks, settings): whole numbers only
COUNT_HEADER = re.compile(
    r"^(Max N|Look|Setting|Evaluable patients \(n\)|Responses \(r\)|Patients \(n\)|Seed|"
    r"Chunk size|Simulated trials per cell|Rate vectors evaluated|Simon: max N|"
    r"Stop for futility .*(≤|if r ≤)|Declare efficacy .*(≥|if r ≥))$"
)
PROB_HEADER = re.compile(r"^(P\(|Power (at|with|gain)|Power, |Worst-case (type I error|FWER)|"
                         r"FWER$|Type I error$|Simon: (type I error|power))")
LIST_HEADER = re.compile(r"^(Futility|Efficacy) boundaries \(r [≤≥]\)$")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> rp.ReportResult:
    out = tmp_path_factory.mktemp("hygiene") / "report"
    return rp.report(SHIPPED, out, SCENARIOS, n_sims=1000, seed=11, pdf="auto")


@pytest.fixture(scope="module")
def md(built: rp.ReportResult) -> str:
    return (built.path / "report.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(built: rp.ReportResult) -> str:
    return (built.path / "index.html").read_text(encoding="utf-8")


def _md_tables(md: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every Markdown table as (header, rows) of cell texts (specification boxes included)."""
    lines = md.splitlines()
    out = []
    for i in range(len(lines) - 1):
        if lines[i].startswith("|") and re.fullmatch(r"\|(---\|)+", lines[i + 1]):
            header = _md_cells(lines[i])
            rows = []
            for line in lines[i + 2:]:
                if not line.startswith("|"):
                    break
                rows.append(_md_cells(line))
            out.append((header, rows))
    return out


def _md_cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def _outside_code(md: str) -> str:
    return re.sub(r"(`{3,})[^\n]*\n.*?\n\1", "", md, flags=re.S)


# ---- no machine residue -----------------------------------------------------------
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_no_missing_value_words(fmt: str, md: str, page: str) -> None:
    text = md if fmt == "md" else page
    for pattern in (r"\bNone\b", r"\bnan\b", r"\bNaN\b", r"<NA>", r"&lt;NA&gt;", r"\[None"):
        hits = [m.group(0) for m in re.finditer(pattern, text)]
        where = [text[max(0, m.start() - 60):m.end() + 20] for m in re.finditer(pattern, text)]
        assert not hits, f"{pattern} in {fmt}: {where[:3]}"


def test_counts_are_printed_as_integers(md: str) -> None:
    checked = 0
    for header, rows in _md_tables(md):
        for j, h in enumerate(header):
            if COUNT_HEADER.match(h):
                for r in rows:
                    assert re.fullmatch(r"\d*", r[j]), (h, r[j], header)
                    checked += 1
            elif LIST_HEADER.match(h):
                for r in rows:
                    assert re.fullmatch(r"(\d+|–)(, (\d+|–))*", r[j]), (h, r[j])
                    checked += 1
    assert checked > 200
    # and nowhere a whole number written as 40.0 in a count column of any table
    assert not re.search(r"\| (Max N|Look) \|[^\n]*\n\|[-|]+\n(\|[^\n]*\.0 \|)", md)


def test_no_snake_case_column_header(md: str, page: str) -> None:
    headers = [h for header, _ in _md_tables(md) for h in header]
    assert len(headers) > 300
    html_headers = [
        htmllib.unescape(re.sub(r"<[^>]+>", "", h))
        for head in re.findall(r"<thead>(.*?)</thead>", page, flags=re.S)
        for h in re.findall(r"<th[^>]*>(.*?)</th>", head, flags=re.S)
    ]
    # the same tables in both formats (title block and specification boxes have no header)
    assert len(html_headers) == len([h for h in headers if h])
    for h in headers + html_headers:
        assert not SNAKE.match(h), h
        assert not set(re.findall(r"[A-Za-z0-9_]+", h)) & MACHINE, h


def test_probabilities_and_means_are_written_for_people(md: str) -> None:
    probs = means = 0
    for header, rows in _md_tables(md):
        for j, h in enumerate(header):
            cells = [r[j] for r in rows]
            if any("±" in c for c in cells):
                continue  # simulated: estimate ± MCSE, rounded to the MCSE
            if PROB_HEADER.match(h):
                for c in cells:  # 3 decimals, 4 near a target; < 0.001 and > 0.999; 0 and 1
                    assert re.fullmatch(r"|0|1|< 0\.001|> 0\.999|-?0\.\d{3,4}", c), (h, c)
                    probs += 1
            if h in ("E[N]", "SD(N)", "E[N] at p0", "Simon: E[N] at p0"):
                for c in cells:
                    assert re.fullmatch(r"|\d+\.\d", c), (h, c)
                    means += 1
    assert probs > 500 and means > 100


def test_html_ids_are_unique(page: str) -> None:
    ids = re.findall(r"""\sid\s*=\s*["']([^"']+)["']""", page)
    assert len(ids) > 50
    dup = [k for k, v in Counter(ids).items() if v > 1]
    assert not dup, dup


def test_every_figure_has_a_text_alternative(built: rp.ReportResult, md: str, page: str) -> None:
    figures = built.document.figures()
    assert len(figures) >= 10
    for f in figures:
        assert len(f.alt) > 30 and f.alt != f.caption, f.name
    blocks = re.findall(r"<figure\b.*?</figure>", page, flags=re.S)
    assert len(blocks) == len(figures)
    for b in blocks:
        label = re.search(r'<svg\b[^>]*\baria-label="([^"]+)"', b)
        assert label is not None and len(label.group(1)) > 30
        assert re.search(r"<figcaption>Figure \d+\. ", b)
    alts = re.findall(r"!\[([^\]]*)\]\(figures/", md)
    assert len(alts) == len(figures) and all(len(a) > 30 for a in alts)


def test_every_figure_is_referred_to_by_number(md: str) -> None:
    text = _outside_code(md)
    numbers = [int(n) for n in re.findall(r"^\*Figure (\d+)\. ", text, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1))
    for n in numbers:
        assert re.search(rf"Figure {n}(?![.\d])", text), f"Figure {n} is never referred to"
    assert not re.search(r"\{(fig|tab|sec):", text)  # every reference resolved


def test_sections_are_numbered_with_a_table_of_contents(md: str, page: str) -> None:
    heads = re.findall(r"^## (\d+) (.+)$", md, flags=re.M)
    assert [int(n) for n, _ in heads] == list(range(1, len(heads) + 1))
    titles = [t for _, t in heads]
    assert titles[:2] == ["Summary", "Design specification"] and titles[-1] == "Provenance"
    # designs/frontline-efftox.toml is co-monitored for toxicity: its own section, after type I
    assert titles[titles.index("Type I error") + 1] == "Safety monitoring"
    assert '<nav class="toc">' in page and "**Contents**" in md
    sub = re.findall(r"^### (\d+\.\d+) (.+)$", md, flags=re.M)
    assert len({t for _, t in sub}) == len(sub)  # no duplicate heading text


# ---- title, provenance, PDF ----------------------------------------------------------
def test_title_block_names_the_trial(built: rp.ReportResult, md: str, page: str) -> None:
    assert md.startswith("# Statistical appendix: design and operating characteristics")
    assert "Simulation report" not in md
    block = md[: md.index("**Contents**")]
    for text in ("ILKN421H-201: IL-2 variant with pembrolizumab in advanced NSCLC",
                 "| **Protocol** | ILKN421H-201 |", "| **Version** | 0.3 (draft) |",
                 "| **Date** | 2026-12-05 |", "| **Software** | adaptive2 ", "| **Generated** |"):
        assert text in block, text
    assert "<title>Statistical appendix: design and operating characteristics</title>" in page
    header = "ILKN421H-201 — Statistical appendix: operating characteristics"
    assert built.document.running_header == header
    assert "ILKN421H-201 " in page and " Statistical appendix: operating characteristics" in page


def test_provenance_states_commit_command_platform_and_seeds(built: rp.ReportResult,
                                                              md: str) -> None:
    prov = md[re.search(r"^## \d+ Provenance$", md, flags=re.M).start():]
    assert re.search(r"\| Folder designs \| (git commit [0-9a-f]{12}; (clean|NOT clean)"
                     r"|not a git repository)", prov), prov[:2000]
    assert "adaptive2 report " in prov and "--scenarios" in prov
    for item in ("| Platform |", "| Python |", "| CPU count |", "| Seeds |", "root seed 11",
                 "| numpy |", "| scipy |"):
        assert item in prov, item


def test_pdf_has_page_x_of_y_on_every_page(built: rp.ReportResult) -> None:
    pdf = built.path / "report.pdf"
    if not pdf.exists():
        pytest.skip(f"no PDF made here ({built.pdf})")
    pages = _pdf_pages(pdf)
    assert len(pages) > 5
    for i, text in enumerate(pages, start=1):
        flat = re.sub(r"\s+", " ", text)
        assert f"page {i} of {len(pages)}" in flat, (i, flat[-300:])
        assert "Statistical appendix: operating characteristics" in flat, (i, flat[:300])


def _pdf_pages(pdf: Path) -> list[str]:
    try:
        from pypdf import PdfReader
    except ImportError:
        exe = shutil.which("pdftotext")
        if exe is None:
            pytest.skip("neither pypdf nor pdftotext is installed to read the PDF's text")
        text = subprocess.run([exe, "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    return [p.extract_text() or "" for p in PdfReader(str(pdf)).pages]


# ---- the design statement -----------------------------------------------------------
def _prob(x: float, target: float) -> str:
    return cell(x, "prob4" if abs(x - target) < 0.005 else "prob")


def test_every_design_states_its_hypotheses_and_alpha(built: rp.ReportResult, md: str) -> None:
    boxes = {b.name: dict(b.rows) for b in built.document.boxes()}
    assert len(boxes) == len(SHIPPED)
    for path in SHIPPED:
        d = load_any(path)
        box = boxes[f"design-{d.name}"]
        alpha = getattr(d, "alpha", None) or 0.10
        hyp, err = box["Hypotheses"], box["Type I error"]
        assert f"≤ {alpha:g}" in err, (d.name, err)
        if isinstance(d, CohortDesign):
            nr = pd.read_csv(built.path / "tables" / f"null-region-{d.name}.csv")
            for c in d.cohorts:
                expected = f"cohort {c.name}: H0: p ≤ {c.p0:g}, H1: p = {c.p1:g}"
                assert expected.lower() in hyp.lower(), hyp
                a = float(nr.loc[nr["cohort"] == c.name, "max type I error"].iloc[0])
                assert f"cohort {c.name} {_prob(a, alpha)}" in err, (d.name, c.name, err)
        else:
            assert f"H0: p ≤ {d.p0:g}" in hyp and f"H1: p = {d.p1:g}" in hyp, hyp
            a, _ = worst_case_alpha(d)
            assert f"achieved {_prob(a, alpha)}" in err, (d.name, err)
            if d.toxicity is not None:
                _check_safety_statement(d, box, alpha)
            else:
                assert "Safety monitoring" not in box and "toxicity" not in box["Power"]
        # the box is in the rendered report, with its hypotheses
        assert f"| **Hypotheses** | {hyp} |" in md


def _check_safety_statement(d, box: dict[str, str], alpha: float) -> None:
    """A co-monitored design's box: its safety rule, and targets met with toxicity stops counted.

    The worst-case type I error is the efficacy rules' (toxicity stops can only lower it, and
    it is attained when no patient has the event); power and E[N] are at the acceptable
    toxicity rate with the monitor in force, and say so.
    """
    from adaptive2.engines.toxicity_oc import oc_toxicity

    m = d.toxicity
    safety = box["Safety monitoring"]
    for text in (f"Limit (unacceptable rate) {m.limit:g}; acceptable rate {m.acceptable:g}",
                 f"Beta({m.prior[0]:g}, {m.prior[1]:g})", "Source of the toxicity prior",
                 "P(stop for toxicity), exact", "{tab:safety-boundaries-" + d.name + "}"):
        assert text in safety, (d.name, text, safety)
    assert "every toxicity rate" in box["Type I error"], box["Type I error"]
    power = float(oc_toxicity(d, [d.p1], tox=m.acceptable)["p_efficacy"][0])
    target = getattr(d, "target_power", None) or 0.80
    assert (f"achieved {_prob(power, target)} at p = p1 = {d.p1:g} at the acceptable toxicity "
            f"rate {m.acceptable:g}, with toxicity monitoring") in box["Power"], box["Power"]
    assert "toxicity stops included" in box["Sample size"]


def test_no_negative_effective_sample_size(md: str) -> None:
    for header, rows in _md_tables(md):
        for j, h in enumerate(header):
            if "ESS" in h:
                for r in rows:
                    assert not r[j].startswith("-"), (h, r[j])
    assert not re.search(r"effective sample size -", md)
