"""The report of a design co-monitored for efficacy and toxicity, and its toxicity plot.

A report of designs/frontline-efftox.toml alone must state the toxicity boundary in protocol
words (one sentence per check point, equal to ``design.toxicity.boundaries()``), give the joint
OC equal to ``adaptive2.oc`` to the printed precision, draw P(stop for toxicity) against the
true toxicity rate with a text alternative, show every efficacy figure at one stated
toxicity rate, the simulator's included, and compare the design with the optimal Bryant & Day
two-stage design for the same targets, both exact.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adaptive2._base.errors import DesignError
from adaptive2._base.formatting import cell
from adaptive2.engines.bryant_day import bryant_day
from adaptive2.engines.calibration import worst_case_alpha
from adaptive2.engines.exact import oc
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.io.design_files import load_any
from adaptive2.model.toxicity import ToxicityMonitor
from adaptive2.views.document import to_markdown
from adaptive2.views.oc_plots import oc_curves
from adaptive2.views.report import appendix as rp
from adaptive2.views.result_plots import toxicity_oc_plot

ROOT = Path(__file__).resolve().parents[2]
EFFTOX = ROOT / "designs" / "frontline-efftox.toml"
EVENT = "grade ≥ 3 treatment-related adverse event"


@pytest.fixture(scope="module")
def design():
    return load_any(EFFTOX)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> rp.ReportResult:
    out = tmp_path_factory.mktemp("efftox") / "report"
    return rp.report(EFFTOX, out, n_sims=600, seed=5, pdf="never")


@pytest.fixture(scope="module")
def md(written: rp.ReportResult) -> str:
    return (written.path / "report.md").read_text(encoding="utf-8")


def _md_table(md: str, caption: str) -> tuple[list[str], list[list[str]]]:
    """The Markdown table under the caption that contains ``caption``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("**Table ") and
                 caption in line)
    i = next(j for j in range(start + 1, len(lines)) if lines[j].startswith("|"))
    header = [c.strip() for c in lines[i].strip().split("|")[1:-1]]
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().split("|")[1:-1]])
    return header, rows


def _section(md: str, title: str) -> str:
    m = re.search(rf"^## \d+ {re.escape(title)}$", md, flags=re.M)
    assert m is not None, f"no section {title!r}"
    nxt = re.search(r"^## \d+ ", md[m.end():], flags=re.M)
    return md[m.start(): m.end() + (nxt.start() if nxt else len(md))]


# ---- the safety section ---------------------------------------------------------------
def test_safety_section_is_numbered_and_labelled(written: rp.ReportResult, md: str) -> None:
    heads = [t for _, t in re.findall(r"^## (\d+) (.+)$", md, flags=re.M)]
    assert "Safety monitoring" in heads
    assert heads.index("Safety monitoring") == heads.index("Type I error") + 1
    assert '<a id="safety"></a>' in md
    html = (written.path / "index.html").read_text(encoding="utf-8")
    assert ">Safety monitoring</h2>" in html


def test_boundary_sentences_are_the_monitors_boundaries(design, written, md) -> None:
    m = design.toxicity
    counts = m.boundaries()
    t = pd.read_csv(written.path / "tables" / "safety-boundaries-frontline-efftox.csv")
    assert list(t["n"]) == list(m.monitor)
    assert list(t["check"]) == list(range(1, len(m.monitor) + 1))
    section = _section(md, "Safety monitoring")
    header, rows = _md_table(section, "toxicity stopping boundary per check point")
    assert header[0] == "Check" and len(rows) == len(m.monitor)
    for row, n, c in zip(rows, m.monitor, counts, strict=True):
        assert c <= n  # every check point of this design can stop
        sentence = f"Stop enrolment if {c} or more of the first {n} patients have a {EVENT}."
        assert row[1:] == [str(n), str(c), sentence], row
    assert [int(x) for x in t["stop_at_or_above"]] == list(counts)


def test_a_check_point_where_no_count_stops_says_so(design) -> None:
    # one event in one patient: P(rate > 0.3 | 1/1) = 0.91 under Beta(1, 1), not > 0.95
    mon = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior", cutoff=0.95,
                          monitor=(1, 20, 40))
    d = design.replace(name="efftox-continuous", toxicity=mon, toxicity_rates=(0.1, 0.3))
    assert mon.boundaries()[0] == 2  # n + 1: never
    built = rp.build(d, n_sims=0)
    table = next(b for b in built.document.tables()
                 if b.name == "safety-boundaries-efftox-continuous")
    shown = table.display
    rule = shown["Rule in protocol words"].tolist()
    assert rule[0] == "Continue after the first patient whatever the number with a DLT."
    assert rule[1] == f"Stop enrolment if {mon.boundaries()[1]} or more of the first 20 " \
        "patients have a DLT."
    assert "no number of events stops enrolment" in table.note


def test_joint_oc_table_is_adaptive2_oc(design, written, md) -> None:
    ds = oc(design, list(design.scenarios))  # response x the design's toxicity rates
    assert ds.sizes["scenario"] == len(design.scenarios) * len(design.toxicity_rates)
    t = pd.read_csv(written.path / "tables" / "safety-oc-frontline-efftox.csv")
    np.testing.assert_allclose(t["p_stop_toxicity"], ds["p_stop_toxicity"].values, atol=1e-14)
    np.testing.assert_allclose(t["p_efficacy"], ds["p_efficacy"].values, atol=1e-14)
    np.testing.assert_allclose(t["toxicity_rate"], ds["toxicity_rate"].values)
    header, rows = _md_table(_section(md, "Safety monitoring"), "joint efficacy and toxicity")
    assert header == ["True response rate", "True toxicity rate", "P(declare efficacy)",
                      "P(stop for futility)", "P(final analysis fails)", "P(stop for toxicity)",
                      "E[N]"]  # the odds ratio is 1 here: no odds-ratio column
    assert len(rows) == ds.sizes["scenario"]
    j = header.index("P(stop for toxicity)")
    for row, p, q, v in zip(rows, ds["p"].values, ds["toxicity_rate"].values,
                            ds["p_stop_toxicity"].values, strict=True):
        assert row[0] == cell(float(p), "num") and row[1] == cell(float(q), "num")
        assert row[j] == cell(float(v), "prob"), (row, v)
    # every row sums to one: efficacy outcomes count only trials not stopped for toxicity
    total = t[["p_efficacy", "p_futility", "p_final_fail", "p_stop_toxicity"]].sum(axis=1)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_odds_ratio_column_when_the_design_links_response_and_toxicity(design) -> None:
    d = design.replace(name="efftox-linked", toxicity_odds_ratio=2.0)
    built = rp.build(d, n_sims=0)
    table = next(b for b in built.document.tables() if b.name == "safety-oc-efftox-linked")
    assert "Odds ratio, response and toxicity" in table.display.columns
    assert set(table.frame["odds_ratio"]) == {2.0}
    np.testing.assert_allclose(table.frame["p_stop_toxicity"],
                               oc(d, list(d.scenarios))["p_stop_toxicity"].values, atol=1e-14)


def test_safety_figure_has_alt_text_and_is_referred_to(written: rp.ReportResult, md) -> None:
    figs = {f.name: f for f in written.document.figures()}
    f = figs["safety-frontline-efftox"]
    assert len(f.alt) > 100 and f.alt != f.caption
    assert "acceptable" in f.alt and "limit" in f.alt
    assert f.svg.lstrip().startswith(("<svg", "<?xml"))
    assert (written.path / "figures" / "safety-frontline-efftox.svg").exists()
    section = _section(md, "Safety monitoring")
    n = re.search(r"^\*Figure (\d+)\. frontline-efftox: P\(stop for toxicity\)", section,
                  flags=re.M)
    assert n is not None
    assert re.search(rf"Figure {n.group(1)} the probability of a toxicity stop", section)
    assert f"![{f.alt}](figures/safety-frontline-efftox.svg)" in md


def test_prior_sentence_names_its_source(design, md) -> None:
    section = _section(md, "Safety monitoring")
    assert "Source of the toxicity prior Beta(0.5, 4.5) (mean 0.1, worth 5 patients)" in section
    assert "KEYNOTE-024, KEYNOTE-042" in section
    assert "grade >=" not in section.replace("```", "")  # signs written for people


def _bryant_day_optimal(d):
    m = d.toxicity
    res = bryant_day(d.p0, d.p1, 1.0 - m.limit, 1.0 - m.acceptable, alpha_r=d.alpha,
                     alpha_t=d.alpha, beta=1.0 - d.target_power, nmax=60)
    return res.optimal


def test_bryant_day_comparator_is_the_exact_optimal_design(design, written, md) -> None:
    m = design.toxicity
    bd = _bryant_day_optimal(design)
    assert bd is not None
    assert (design.alpha, design.target_power) == (0.10, 0.80)
    p = [design.p0, design.p1, design.p0, design.p1]
    tox = [m.acceptable, m.acceptable, m.limit, m.limit]
    b = bd.oc(p, [1.0 - q for q in tox])
    bayes = oc_toxicity(design, [design.p0, design.p1], tox=[m.acceptable, m.limit])
    np.testing.assert_allclose(bayes["p"].values, p)
    np.testing.assert_allclose(bayes["toxicity_rate"].values, tox)
    t = pd.read_csv(written.path / "tables" / "safety-bryant-day-frontline-efftox.csv")
    np.testing.assert_allclose(t["p_declare_bryant_day"], b.p_declare, atol=1e-14)
    np.testing.assert_allclose(t["expected_n_bryant_day"], b.expected_n, atol=1e-12)
    np.testing.assert_allclose(t["p_efficacy"], bayes["p_efficacy"].values, atol=1e-14)
    np.testing.assert_allclose(t["expected_n"], bayes["expected_n"].values, atol=1e-12)
    section = _section(md, "Safety monitoring")
    header, rows = _md_table(section, "against the optimal Bryant & Day (1995) two-stage design")
    assert header == ["True response rate", "True toxicity rate",
                      "P(declare efficacy), Bryant & Day", "P(declare efficacy), frontline-efftox",
                      "E[N], Bryant & Day", "E[N], frontline-efftox"]
    assert len(rows) == 4
    for i, row in enumerate(rows):
        assert row[:2] == [cell(p[i], "num"), cell(tox[i], "num")]
        assert row[2:] == [cell(float(b.p_declare[i]), "prob"),
                           cell(float(bayes["p_efficacy"].values[i]), "prob"),
                           cell(float(b.expected_n[i]), "mean1"),
                           cell(float(bayes["expected_n"].values[i]), "mean1")], row
    assert re.search(r"^\*\*Table \d+\. frontline-efftox against [^\n]* at matched targets: "
                     r"P\(declare efficacy\) and E\[N\], both exact", section, flags=re.M)
    text = " ".join(section.split())
    assert (f"Stage 1: enrol {bd.n1} patients, and continue only if more than {bd.r1} respond "
            f"and more than {bd.t1} are without a {EVENT}; stage 2: enrol {bd.n - bd.n1} more "
            f"({bd.n} in all), and declare efficacy if more than {bd.r} of the {bd.n} respond "
            f"and more than {bd.t} are without a {EVENT}.") in text
    assert "≤ 0.1 (the same value as the type I error target) at p1 = 0.6 with toxicity at " \
        "the limit 0.3" in text
    n = re.search(r"^\*\*Table (\d+)\. frontline-efftox against the optimal Bryant", section,
                  flags=re.M)
    assert n is not None and f"Table {n.group(1)} compares it with frontline-efftox" in text


def test_no_feasible_bryant_day_design_is_said_in_one_sentence(design) -> None:
    d = design.replace(name="efftox-strict", alpha=0.01, target_power=0.99)
    assert _bryant_day_optimal(d) is None
    built = rp.build(d, n_sims=0)
    assert not [t for t in built.document.tables() if t.name.startswith("safety-bryant-day")]
    md = to_markdown(built.document)
    assert "Comparator: no Bryant & Day (1995) two-stage design with at most 60 patients " \
        "meets the same targets as efftox-strict" in " ".join(md.split())


# ---- the other sections treat the design right ------------------------------------------
def test_specification_box_states_safety_monitoring_and_power_with_it(design, written) -> None:
    box = dict(next(b for b in written.document.boxes()
                    if b.name == "design-frontline-efftox").rows)
    safety = box["Safety monitoring"]
    m = design.toxicity
    assert "stop enrolment if P(toxicity rate > 0.3 | data) > 0.36" in safety
    assert EVENT in safety and "Limit (unacceptable rate) 0.3; acceptable rate 0.15" in safety
    assert "Beta(0.5, 4.5)" in safety and "KEYNOTE-024" in safety
    joint = oc_toxicity(design, [design.p0, design.p1], tox=[m.acceptable, m.limit])
    stop = joint["p_stop_toxicity"].values
    assert (f"{stop[0]:.3f} at p0 and {stop[1]:.3f} at p1 when the true toxicity rate is at the "
            "acceptable 0.15") in safety
    assert f"{stop[2]:.3f} at p0 and {stop[3]:.3f} at p1 when the true toxicity rate is at the " \
        "limit 0.3" in safety
    alone = m.oc().p_stop
    assert f"{alone[0]:.3f} at 0.15 and {alone[1]:.3f} at 0.3" in safety
    power = float(oc_toxicity(design, [design.p1], tox=m.acceptable)["p_efficacy"][0])
    plain = float(oc(design.replace(toxicity=None), [design.p1])["p_efficacy"][0])
    assert power < plain  # toxicity stops cost power
    text = box["Power"]
    assert f"achieved {cell(power, 'prob')} at p = p1 = 0.6 at the acceptable toxicity rate " \
        "0.15, with toxicity monitoring" in text
    assert "BELOW the target" in text and f"{cell(plain, 'prob')} without toxicity" in text
    err = box["Type I error"]
    a, _ = worst_case_alpha(design)
    assert f"achieved {cell(a, 'prob')} (exact worst case over p ≤ 0.4 and every toxicity rate" \
        in err


def test_efficacy_oc_are_at_the_acceptable_toxicity_rate(design, written, md) -> None:
    m = design.toxicity
    t = pd.read_csv(written.path / "tables" / "oc-frontline-efftox.csv")
    assert list(t["p"]) == sorted(design.scenarios)  # one row per response rate
    ds = oc_toxicity(design, list(t["p"]), tox=m.acceptable)
    np.testing.assert_allclose(t["p_efficacy"], ds["p_efficacy"].values, atol=1e-14)
    np.testing.assert_allclose(t["expected_n"], ds["expected_n"].values, atol=1e-12)
    assert "frontline-efftox: exact OC per scenario, at the acceptable toxicity rate 0.15" in md
    assert re.search(r"\*Figure \d+\. Cohort [^*]*frontline-efftox at the acceptable toxicity "
                     r"rate 0\.15", md)
    s = written.summary
    row = s[(s["design"] == "frontline-efftox") & (np.abs(s["p"] - 0.6) < 1e-12)]
    assert float(row["p_efficacy"].iloc[0]) == pytest.approx(
        float(ds["p_efficacy"].values[list(t["p"]).index(0.6)]), abs=1e-14)


def test_simulated_conduct_is_compared_with_the_exact_oc_at_the_same_toxicity(
    design, written, md
) -> None:
    m = design.toxicity
    (path,) = (written.path / "tables").glob("conduct-p0*.csv")
    t = pd.read_csv(path)
    checked = 0
    for _, row in t.iterrows():
        exact = oc_toxicity(design, [float(row["p"])], tox=m.acceptable)
        for v in ("p_efficacy", "p_stop_toxicity"):
            shown = row[v]
            if "±" not in shown:
                continue
            est, err = (float(x) for x in shown.split("±"))
            unit = 10.0 ** -max(0, -math.floor(math.log10(2 * err)))
            assert abs(est - float(exact[v][0])) <= 4 * err + unit / 2, (row["p"], v)
            checked += 1
    assert checked >= 15
    assert "frontline-efftox is simulated at the acceptable toxicity rate 0.15" in md
    cross = re.search(r"the largest \|Monte Carlo − exact\| / MCSE is ([0-9.]+); 0 cell\(s\) "
                      r"exceed 4", md)
    assert cross is not None and float(cross.group(1)) < 4


# ---- the plot -------------------------------------------------------------------------
def _gid(fig, gid: str):
    found = [a for ax in fig.axes for a in ax.get_lines() if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def test_toxicity_oc_plot_draws_the_joint_engine_at_p0_and_p1(design) -> None:
    m = design.toxicity
    fig = toxicity_oc_plot(design)
    for i, p in enumerate((design.p0, design.p1), start=1):
        line = _gid(fig, f"p_stop_toxicity-{i}")
        x, y = (np.asarray(v, float) for v in line.get_data())
        assert x[0] == 0.0 and x[-1] == pytest.approx(0.5)
        assert np.all(np.diff(x) > 0) and len(x) >= 51
        assert m.acceptable in x and m.limit in x
        ds = oc_toxicity(design, [p], tox=list(x))
        np.testing.assert_allclose(y, ds["p_stop_toxicity"].values, atol=1e-14)
        en = np.asarray(_gid(fig, f"expected_n-{i}").get_ydata(), float)
        np.testing.assert_allclose(en, ds["expected_n"].values, atol=1e-12)
        assert y[0] == 0.0 and np.all(np.diff(y) >= -1e-12)  # no events: never stops
        assert line.get_label() == f"response at p{i - 1} = {p:g}"
        for name, q in (("acceptable", m.acceptable), ("limit", m.limit)):
            dot = _gid(fig, f"{name}-{i}")  # the value at the rate, marked and written
            assert list(dot.get_xdata()) == [q]
            assert dot.get_ydata()[0] == pytest.approx(y[list(x).index(q)], abs=1e-14)
    for name, value in (("acceptable", m.acceptable), ("limit", m.limit)):
        mark = _gid(fig, f"p_stop_toxicity-{name}")
        assert list(mark.get_xdata()) == [value, value]


def test_toxicity_oc_plot_options_and_errors(design) -> None:
    fig = toxicity_oc_plot(design, [0.0, 0.2, 0.4], p=[0.5])
    x = _gid(fig, "p_stop_toxicity-1").get_xdata()
    assert list(x) == [0.0, 0.15, 0.2, 0.3, 0.4]  # acceptable and limit added
    with pytest.raises(DesignError, match="`design` of toxicity_oc_plot"):
        toxicity_oc_plot(design.replace(toxicity=None))
    with pytest.raises(DesignError, match="`rates` of toxicity_oc_plot"):
        toxicity_oc_plot(design, [0.2])
    with pytest.raises(DesignError, match="`p` of toxicity_oc_plot"):
        toxicity_oc_plot(design, p=[1.5])


def test_oc_curves_draw_a_co_monitored_design_at_its_acceptable_rate(design) -> None:
    fig = oc_curves(design)
    line = _gid(fig, "p_efficacy-1")
    x, y = (np.asarray(v, float) for v in line.get_data())
    assert len(x) == 101
    ds = oc_toxicity(design, list(x), tox=design.toxicity.acceptable)
    np.testing.assert_allclose(y, ds["p_efficacy"].values, atol=1e-14)
    assert line.get_label() == "frontline-efftox (toxicity rate 0.15)"
    # an oc() Dataset crossed over toxicity rates: its first block (the first toxicity rate)
    crossed = oc(design, [0.3, 0.5, 0.7])
    y2 = _gid(oc_curves(crossed), "p_efficacy-1").get_ydata()
    np.testing.assert_allclose(y2, crossed["p_efficacy"].values[:3], atol=1e-14)


# ---------------------------------------------------------------------------
# A multi-cohort design with toxicity monitors
# ---------------------------------------------------------------------------
def test_multi_cohort_safety_section_gives_the_joint_oc(tmp_path: Path) -> None:
    from adaptive2.engines.cohort_exact import cohort_oc
    from adaptive2.io.design_files import dumps_toml, read_toml

    data = read_toml(ROOT / "designs" / "two-cohort-bhm.toml")
    data["toxicity"] = {"event": "grade >= 3 treatment-related adverse event", "limit": 0.3,
                        "acceptable": 0.15, "rule": "posterior", "cutoff": 0.5,
                        "prior": {"a": 0.5, "b": 4.5}, "monitor": [10, 20, 30]}
    path = tmp_path / "bhm-tox.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    res = rp.report(path, tmp_path / "report", n_sims=0, pdf="never")
    md = (res.path / "report.md").read_text(encoding="utf-8")
    header, rows = _md_table(md, "joint efficacy and toxicity operating characteristics per "
                                 "cohort")
    ds = cohort_oc(load_any(path))
    assert len(rows) == ds.sizes["scenario"] * ds.sizes["cohort"]
    col = header.index("P(stop for toxicity)")
    shown = [float(r[col]) for r in rows]
    exact = ds["p_stop_toxicity"].values.ravel()
    assert np.abs(np.array(shown) - exact).max() <= 0.0005 + 1e-12
    assert "not a bound for the co-monitored trial" in md
    assert "no multi-cohort engine with toxicity monitoring" not in md
