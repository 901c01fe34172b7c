"""HTML cards (a2.html_card, shown by Jupyter): well-formed, hold the numbers, escape names."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import adaptive2 as a2
import adaptive2.io.design_files
from adaptive2.engines.calibration import calibrate
from adaptive2.engines.design_search import pareto
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.hierarchical import Cohort, Historical, Model
from adaptive2.model.rules import DualCriterion
from adaptive2.model.scenarios import CohortScenario
from adaptive2.views.cards import CSS, DASH

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<script>alert('x')</script> & co"


def parse(card: str) -> ET.Element:
    """Parse a card as XML (fails on any unclosed tag or unescaped '<' / '&')."""
    root = ET.fromstring(card)
    assert root.tag == "div" and root.get("class") == "a2-card"
    assert card.count(CSS) == 1  # the one shared style sheet, once per card
    return root


def text(root: ET.Element) -> str:
    return "".join(root.itertext())


def tables(root: ET.Element) -> list[list[list[str]]]:
    """Every table as rows of cell texts (header rows included)."""
    out = []
    for tab in root.iter("table"):
        rows = [
            ["".join(c.itertext()) for c in tr if c.tag in ("td", "th")] for tr in tab.iter("tr")
        ]
        out.append(rows)
    return out


def kv(root: ET.Element) -> dict[str, str]:
    """Label → value from the two-column tables."""
    return {row[0]: row[1] for tab in tables(root) for row in tab if len(row) == 2}


def as_int(cell: str) -> int | None:
    return None if cell == DASH else int(cell)


def assert_no_script(root: ET.Element, card: str) -> None:
    assert not any(el.tag == "script" for el in root.iter())
    assert "<script" not in card
    assert "&lt;script&gt;" in card
    assert EVIL in text(root)  # the parsed text is the user's string, unchanged


def boundary_rows(root: ET.Element, header0: str = "look") -> list[list[str]]:
    (tab,) = [t for t in tables(root) if t[0][0] == header0]
    return tab[1:]


# ---------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frontline() -> a2.Design:
    return a2.load_design(ROOT / "designs" / "frontline-pp.toml")


def test_boundaries_card_holds_every_boundary_value(frontline):
    bnd = frontline.boundaries()
    card = a2.html_card(bnd)
    root = parse(card)
    rows = boundary_rows(root)
    assert len(rows) == len(bnd.looks)
    for rec, row in zip(bnd.to_records(), rows, strict=True):
        assert int(row[0]) == rec["look"]
        assert int(row[1]) == rec["n"]
        assert as_int(row[2]) == rec["futility_max_r"]
        assert as_int(row[3]) == rec["efficacy_min_r"]
        if rec["futility_max_r"] is not None and rec["look"] < len(bnd.looks):
            assert (
                f"<= {rec['futility_max_r']} responses among the first {rec['n']} evaluable"
                in (row[4])
            )
    assert "among the first n evaluable patients" in text(root)
    assert "&lt;=" in card  # the protocol text is escaped, not raw markup


def test_boundaries_card_of_a_dual_criterion_and_an_efficacy_stop():
    d = a2.Design(
        name="dual",
        prior=a2.Beta(1, 1),
        looks=(10, 20, 30),
        futility=a2.PosteriorProbability(p0=0.2, cutoff=0.3),
        efficacy=a2.PosteriorProbability(p0=0.2, cutoff=0.995),
        final=DualCriterion(lrv=0.2, tv=0.35, lrv_cutoff=0.9, tv_cutoff=0.5),
    )
    bnd = d.boundaries()
    root = parse(a2.html_card(bnd))
    rows = boundary_rows(root)
    got = [(as_int(r[2]), as_int(r[3])) for r in rows]
    assert got == list(zip(bnd.futility_max_r, bnd.efficacy_min_r, strict=True))
    assert any(b is not None for b in bnd.efficacy_min_r[:-1])  # the interim efficacy column
    assert "Go if >=" in rows[-1][4] and "No-Go if <=" in rows[-1][4]


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------
def test_calibration_card(frontline):
    res = calibrate(frontline.replace(name=EVIL), "final.cutoff", alpha=0.10, power=0.80)
    card = a2.html_card(res)
    root = parse(card)
    assert_no_script(root, card)
    values = kv(root)
    assert abs(float(values["worst-case type I error (p ≤ p0)"]) - res.alpha) < 5e-5
    assert abs(float(values["power at p1"]) - res.power) < 5e-5
    assert abs(float(values["E[N | p0]"]) - res.expected_n_p0) < 5e-5
    assert abs(float(values["target type I error"]) - 0.10) < 1e-12
    assert values["targets met"] == ("yes" if res.feasible else "no")
    (ptab,) = [t for t in tables(root) if t[0][0] == "parameter"]
    (name, value, lo, hi) = ptab[1]
    assert name == "final.cutoff"
    assert float(value) == res.parameters["final.cutoff"]  # in full, for design files
    assert float(lo) <= float(value) < float(hi)
    rows = boundary_rows(root)
    bnd = res.design.boundaries()
    assert [as_int(r[3]) for r in rows] == list(bnd.efficacy_min_r)
    assert [as_int(r[2]) for r in rows] == list(bnd.futility_max_r)


# ---------------------------------------------------------------------------
# Searches
# ---------------------------------------------------------------------------
def test_search_card_lists_the_marked_designs_and_escapes_names():
    base = a2.Design(
        name=EVIL,
        prior=a2.Beta(0.2, 0.8),
        looks=(15, 30),
        futility=a2.PredictiveProbability(0.05),
        final=a2.PosteriorProbability(p0=0.2, cutoff=0.9),
        p0=0.2,
        p1=0.4,
    )
    other = base.replace(name="other", looks=(10, 20, 35))
    res = pareto([base, other])
    card = a2.html_card(res)
    root = parse(card)
    assert_no_script(root, card)
    (tab,) = [t for t in tables(root) if t[0][:2] == ["", "design"]]
    header, rows = tab[0], tab[1:]
    col = {h: i for i, h in enumerate(header)}
    by_label = {r[0]: r for r in rows}
    for label in ("minimax", "optimal"):
        d = getattr(res, label)
        row = by_label[label]
        assert row[col["design"]] == d.name
        assert int(row[col["N"]]) == d.n_max
        assert abs(float(row[col["alpha"]]) - d.alpha) < 5e-5
        assert abs(float(row[col["power"]]) - d.power) < 5e-5
        assert abs(float(row[col["E[N | p0]"]]) - d.expected_n_p0) < 5e-5
        assert abs(float(row[col["PET(p0)"]]) - d.pet_p0) < 5e-5
    assert f"{len(res.designs)} designs meet the targets of {res.n_evaluated}" in text(root)


# ---------------------------------------------------------------------------
# Simon
# ---------------------------------------------------------------------------
def test_simon_card_in_protocol_form():
    res = a2.simon(0.1, 0.3, alpha=0.05, beta=0.2)
    d = res.optimal
    assert (d.r1, d.n1, d.r, d.n) == (1, 10, 5, 29)  # Simon (1989), Table 1
    root = parse(a2.html_card(d))
    values = kv(root)
    assert values["r1 / n1"] == "1 / 10" and values["r / n"] == "5 / 29"
    assert abs(float(values["type I error (p0)"]) - d.alpha) < 5e-5
    assert abs(float(values["power (p1)"]) - d.power) < 5e-5
    assert abs(float(values["E[N | p0]"]) - d.expected_n_p0) < 5e-5
    assert abs(float(values["PET(p0)"]) - d.pet_p0) < 5e-5
    rows = boundary_rows(root, "stage")
    assert [(int(r[1]), as_int(r[2]), as_int(r[3])) for r in rows] == [(10, 1, None), (29, 5, 6)]
    # The card's table is the same protocol as the design Simon's result compiles to.
    bnd = d.to_design().boundaries()
    assert bnd.futility_max_r[0] == 1 and bnd.efficacy_min_r[-1] == 6
    adm = res.admissible[0]
    q = kv(parse(a2.html_card(adm)))["admissible for q in"]
    assert q == f"[{adm.q_low:.3f}, {adm.q_high:.3f}]"


# ---------------------------------------------------------------------------
# Borrowing
# ---------------------------------------------------------------------------
def test_model_card_shows_hyperpriors_and_strata():
    m = Model(
        kind="exnex",
        mu_sd=1.5,
        tau_prior="half_t",
        tau_scale=0.5,
        tau_df=4,
        weight={"frontline": 0.7, "post_io": 0.3},
        historical=(Historical(EVIL, 16, 20, tie="frontline", tie_sd=0.25, weight=0.5),),
    )
    card = a2.html_card(m)
    root = parse(card)
    assert_no_script(root, card)
    values = kv(root)
    assert values["kind"] == "exnex"
    assert values["μ prior"] == "N(0, 1.5²)"
    assert values["τ prior"] == "half-t(df 4), scale 0.5"
    assert values["P(exchangeable)"] == "frontline: 0.7, post_io: 0.3"
    (hist,) = [t for t in tables(root) if t[0][0] == "historical stratum"]
    assert hist[1] == [EVIL, "16/20", DASH, "frontline", "0.25", "0.50"]


def test_model_card_shows_a_fixed_tau():
    values = kv(parse(a2.html_card(Model(tau_prior="fixed", tau_scale=2.0))))
    assert values["τ prior"] == "fixed at 2"


def test_cohort_design_card():
    two = adaptive2.io.design_files.load_any(ROOT / "designs" / "two-cohort-bhm.toml")
    evil = dataclasses.replace(
        two,
        name=EVIL,
        title=EVIL,
        scenarios=(*two.scenarios, CohortScenario(EVIL, {"frontline": 0.5, "post_io": 0.2})),
    )
    card = a2.html_card(evil)
    root = parse(card)
    assert_no_script(root, card)
    (coh,) = [t for t in tables(root) if t[0][0] == "cohort"]
    assert [r[0] for r in coh[1:]] == two.names
    for c, row in zip(two.cohorts, coh[1:], strict=True):
        assert abs(float(row[1]) - c.p0) < 1e-12 and abs(float(row[2]) - c.p1) < 1e-12
        assert row[3] == ", ".join(map(str, c.looks))
        cutoff = two.rule("final", c.name).cutoff
        assert f"> {cutoff:g}" in row[6]  # the calibrated cutoff, in full
    (scen,) = [t for t in tables(root) if t[0][0] == "scenario"]
    assert scen[0] == ["scenario", *two.names]
    for s, row in zip(evil.scenarios, scen[1:], strict=True):
        assert row[0] == s.name
        assert [float(x) for x in row[1:]] == [s.rate(n) for n in two.names]
    (hist,) = [t for t in tables(root) if t[0][0] == "historical stratum"]
    assert hist[1][:2] == ["phase1-frontline", "16/20"]


def test_cohort_names_are_escaped_too():
    d = CohortDesign(
        name="x",
        model=Model(kind="independent"),
        cohorts=(Cohort(EVIL, 0.2, 0.4, (10,)), Cohort("b", 0.1, 0.3, (10,))),
        final=a2.PosteriorProbability(p0=0.2, cutoff=0.9),
    )
    card = a2.html_card(d)
    assert_no_script(parse(card), card)


def test_every_card_is_registered_with_the_notebook():
    """The cards a2.html_card knows are exactly the types registered with IPython by name."""
    import importlib

    from IPython.core.formatters import HTMLFormatter

    from adaptive2.views.dispatch import html_card

    with_card = {cls for cls in html_card.registry if cls is not object}
    listed = {getattr(importlib.import_module(m), name) for m, name in a2._CARD_TYPES}
    assert with_card == listed
    formatter = HTMLFormatter()
    assert a2._register_notebook(formatter)
    for cls in listed:
        assert formatter.lookup_by_type(cls) is a2._html_card, cls.__name__
    prior = a2.Beta(16.5, 4.5)
    shown = formatter(prior)
    assert shown == a2.html_card(prior) and "16.5" in shown
    parse(shown)


def test_no_card_without_a_notebook():
    assert a2._register_notebook() is False  # no IPython shell running under pytest
