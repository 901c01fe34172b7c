"""The protocol-appendix report: numbers equal the engines', files are complete and atomic."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _need import need_browser
from adaptive2._base.errors import DesignError
from adaptive2.cli import main
from adaptive2.engines.exact import oc
from adaptive2.io.design_files import load_any
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability, PredictiveProbability
from adaptive2.views import tables
from adaptive2.views.report import appendix as rp
from adaptive2.views.report import output

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"


def small(name: str = "small", cutoff: float = 0.9) -> Design:
    return Design(
        name=name,
        prior=Beta(0.5, 0.5),
        looks=(10, 20),
        futility=PredictiveProbability(threshold=0.05),
        final=PosteriorProbability(p0=0.2, cutoff=cutoff),
        p0=0.2,
        p1=0.4,
        scenarios=(0.2, 0.3, 0.4),
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> rp.ReportResult:
    out = tmp_path_factory.mktemp("rep") / "appendix"
    files = [DESIGNS / "frontline-pp.toml", DESIGNS / "frontline-simon.toml"]
    return rp.report(files, out, DESIGNS / "scenarios.toml", n_sims=2000, seed=7, pdf="never")


# ---- rounding ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "mcse", "expected"),
    [
        (0.07347, 0.0021, (0.073, 3)),  # 2*mcse = 0.0042 -> 3 decimals
        (0.07347, 0.0004, (0.0735, 4)),  # 2*mcse = 0.0008 -> 4 decimals
        (0.5, 0.03, (0.5, 2)),  # 2*mcse = 0.06 -> 2 decimals
        (12.345, 0.4, (12.3, 1)),  # 2*mcse = 0.8 -> 1 decimal
        (12.345, 4.0, (12.0, 0)),  # 2*mcse = 8 -> units
        (0.123456, 0.0, (0.1235, 4)),  # exact
    ],
)
def test_round_mcse_is_the_arviz_rule(value: float, mcse: float, expected: tuple) -> None:
    got = tables.round_mcse(value, mcse)
    assert got[1] == expected[1]
    assert got[0] == pytest.approx(expected[0], abs=1e-12)


def test_table_rounds_every_cell_to_twice_its_mcse() -> None:
    from adaptive2.engines.montecarlo import simulate

    ds = simulate(small(), [0.2, 0.4], n_sims=4000, seed=3, progress=False)
    t = tables.table(ds, ["p_efficacy", "expected_n"])
    for _, row in t.iterrows():
        for v in ("p_efficacy", "expected_n"):
            raw = float(ds[v].sel(design=row["design"], scenario=row["scenario"]))
            err = float(ds[f"{v}_mcse"].sel(design=row["design"], scenario=row["scenario"]))
            assert err > 0
            d = max(0, -math.floor(math.log10(2 * err)))
            assert row[v] == round(raw, d)
            assert abs(row[v] - raw) <= 0.5 * 10**-d + 1e-12
            assert row[f"{v}_mcse"] == float(f"{err:.2g}")


def test_table_refuses_a_non_result() -> None:
    with pytest.raises(DesignError, match="`ds` of table"):
        tables.table({"x": 1})


# ---- content ------------------------------------------------------------------
def test_summary_equals_the_exact_engine(written: rp.ReportResult) -> None:
    s = written.summary
    for name in ("frontline-pp", "frontline-simon"):
        d = load_any(DESIGNS / f"{name}.toml")
        sub = s[s["design"] == name]
        ds = oc(d, list(sub["p"]))
        np.testing.assert_allclose(sub["p_efficacy"], ds["p_efficacy"].values, rtol=0, atol=1e-14)
        np.testing.assert_allclose(sub["expected_n"], ds["expected_n"].values, rtol=0, atol=1e-12)
    # the frontline grid of designs/scenarios.toml, labelled by role
    assert set(s.loc[s["p"] <= 0.4, "label"]) == {"type I error"}
    assert set(s.loc[s["p"] >= 0.6, "label"]) == {"power"}


def test_every_table_is_written_as_csv_and_json_at_full_precision(
    written: rp.ReportResult,
) -> None:
    out = written.path
    csvs = sorted((out / "tables").glob("*.csv"))
    assert {p.stem for p in csvs} >= {
        "summary",
        "boundaries-frontline-pp",
        "oc-frontline-pp",
        "oc-by-look-frontline-pp",
        "type1-single",
        "conduct-frontline",
        "sensitivity-frontline-pp",
        "weight-frontline-pp",
        "simon",
        "examples",
        "computation",
        "provenance",
    }
    for p in csvs:
        assert (out / "tables" / f"{p.stem}.json").exists()
    summary = pd.read_csv(out / "tables" / "summary.csv").set_index("design")
    from adaptive2.engines.calibration import worst_case_alpha

    for name in ("frontline-pp", "frontline-simon"):
        d = load_any(DESIGNS / f"{name}.toml")
        assert summary.loc[name, "max_type1"] == pytest.approx(worst_case_alpha(d)[0], abs=1e-15)
        power = float(oc(d, [0.6])["p_efficacy"][0])
        assert summary.loc[name, "power_p1"] == pytest.approx(power, abs=1e-15)
        assert summary.loc[name, "max_n"] == d.n_max
    js = json.loads((out / "tables" / "summary.json").read_text())
    assert js["rows"][0]["design"] == "frontline-pp"
    manifest = json.loads((out / "report.json").read_text())
    assert manifest["designs"]["frontline-pp"] == load_any(DESIGNS / "frontline-pp.toml").hash
    assert set(manifest["files"]) == {str(f) for f in written.files if f.name != "report.json"}


def test_boundary_table_is_the_designs(written: rp.ReportResult) -> None:
    d = load_any(DESIGNS / "frontline-pp.toml")
    t = pd.read_csv(written.path / "tables" / "boundaries-frontline-pp.csv")
    b = d.boundaries()
    assert list(t["n"]) == list(b.looks)
    assert [None if pd.isna(x) else int(x) for x in t["futility_max_r"]] == list(b.futility_max_r)
    html = (written.path / "index.html").read_text()
    assert "stop for futility if ≤ 4 responses among the first 15 evaluable patients" in html


def test_type1_section_gives_worst_case_and_non_binding_alpha(written: rp.ReportResult) -> None:
    from adaptive2.engines.calibration import worst_case_alpha

    t = pd.read_csv(written.path / "tables" / "type1-single.csv").set_index("design")
    d = load_any(DESIGNS / "frontline-pp.toml")
    a, _ = worst_case_alpha(d)
    assert t.loc["frontline-pp", "worst-case type I error"] == pytest.approx(a, abs=1e-15)
    nb = worst_case_alpha(d.replace(futility=None))[0]
    assert t.loc["frontline-pp", "ignoring futility (non-binding)"] == pytest.approx(nb, abs=1e-15)
    assert nb >= a  # futility stopping can only lower the type I error


def test_simon_comparator_is_the_simon_design_file_among_the_designs(
    written: rp.ReportResult,
) -> None:
    from adaptive2.engines.calibration import worst_case_alpha
    from adaptive2.engines.simon import simon

    t = pd.read_csv(written.path / "tables" / "simon.csv")
    assert list(t["cohort"]) == ["frontline"]  # exactly one comparator per population
    row = t.iloc[0]
    assert row["comparator"] == "frontline-simon" and "frontline-simon.toml" in row["source"]
    d = load_any(DESIGNS / "frontline-simon.toml")
    assert row["alpha"] == pytest.approx(worst_case_alpha(d)[0], abs=1e-15)
    assert row["max_n"] == d.n_max
    # the shipped file is the optimal design at the Bayesian designs' targets (0.10, 0.80)
    res = simon(0.4, 0.6, alpha=0.10, beta=0.20).optimal
    assert (res.n1, res.n) == tuple(d.looks)
    assert row["expected_n_p0"] == pytest.approx(res.expected_n_p0, abs=1e-9)
    md = (written.path / "report.md").read_text()
    assert "matched α target" in md
    cmp = pd.read_csv(written.path / "tables" / "simon-comparison.csv")
    assert list(cmp["design"]) == ["frontline-pp"]  # the Bayesian designs, not the comparator


def test_simon_comparator_is_computed_when_no_design_file_gives_one(tmp_path: Path) -> None:
    from adaptive2.engines.simon import simon

    res = rp.report(DESIGNS / "post-io-pp.toml", tmp_path / "s", DESIGNS / "scenarios.toml",
                    n_sims=0, pdf="never")
    t = pd.read_csv(res.path / "tables" / "simon.csv")
    opt = simon(0.1, 0.3, alpha=0.10, beta=0.20).optimal
    assert len(t) == 1 and t.loc[0, "comparator"] == (
        f"Simon optimal {opt.r1}/{opt.n1}, {opt.r}/{opt.n}")
    assert t.loc[0, "alpha"] == pytest.approx(opt.alpha, abs=1e-12)
    assert t.loc[0, "alpha_target"] == 0.10 and t.loc[0, "power_target"] == 0.80


def test_conduct_section_carries_mcse_and_the_stated_seed(written: rp.ReportResult) -> None:
    t = pd.read_csv(written.path / "tables" / "conduct-frontline.csv")
    shown = t["p_efficacy"]
    assert (shown.str.contains("±") | shown.str.endswith(("(every trial)", "(no trial)"))).all()
    assert shown.str.contains("±").mean() > 0.8
    comp = pd.read_csv(written.path / "tables" / "computation.csv")
    mc = comp[comp["method"] == "Monte Carlo"]
    from adaptive2.io.scenario_files import load_scenarios

    settings = load_scenarios(DESIGNS / "scenarios.toml").conduct
    assert len(settings) >= 2  # the scenario file's [[conduct]] settings are the ones simulated
    assert len(mc) == len(settings)
    assert (mc["seed"] == 7).all() and (mc["n_sims"] >= 2000).all()
    shown = pd.read_csv(written.path / "tables" / "conduct-settings.csv")
    assert list(shown["name"]) == [name for name, _ in settings]


def test_worked_examples_follow_the_boundaries(written: rp.ReportResult) -> None:
    t = pd.read_csv(written.path / "tables" / "examples.csv")
    d = load_any(DESIGNS / "frontline-pp.toml")
    n, a, _ = d.boundaries().arrays()
    for _, row in t[t["design"] == "frontline-pp"].iterrows():
        r, m = map(int, row["data"].split("/"))
        k = list(n).index(m)
        stop = r <= a[k]
        assert (row["decision"] in ("stop for futility", "failure")) == stop
        assert row["look"] == k + 1
    # every example trial ends at its first stop and never continues past the final look
    for _, trial in t.groupby(["design", "trial"]):
        assert (trial["decision"].iloc[:-1] == "continue").all()


def test_markdown_and_html_hold_the_same_sections(written: rp.ReportResult) -> None:
    md = (written.path / "report.md").read_text()
    html = (written.path / "index.html").read_text()
    for title in ("Design specification", "Boundary tables", "Priors and borrowing",
                  "Operating characteristics", "Type I error", "Sensitivity analyses",
                  "Simon two-stage comparator", "Computation", "Provenance"):
        assert re.search(rf"^## (\d+ )?{re.escape(title)}$", md, re.M)  # numbered or not
        assert f">{title}</h2>" in html
    # self-contained: no script, no external resource (XML namespaces are names, not fetches)
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?https?:|@import""",
                         html)
    for f in written.files:
        assert (written.path / f).exists()


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    d = small(name="<script>alert(1)</script>").replace(title='x" onload="y', notes="a & b <i>")
    res = rp.report(d, tmp_path / "esc", n_sims=0, pdf="never")
    html = (res.path / "index.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<i>" not in html and "a &amp; b &lt;i&gt;" in html
    md = (res.path / "report.md").read_text()
    outside_code = re.sub(r"(`{3,})[^\n]*\n.*?\n\1", "", md, flags=re.S)  # fences show text
    assert "```toml" in md and "<script>" in md  # the design file is quoted verbatim in a fence
    assert "<script>" not in outside_code and "<i>" not in outside_code
    assert "&lt;script>alert(1)" in outside_code


def test_a_failure_while_writing_leaves_the_previous_report(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "r"
    rp.report(small(), out, n_sims=0, pdf="never")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real = rp._write_files

    def half(doc, folder):
        real(doc, folder)  # every file written into the temporary folder ...
        raise OSError("disk full")  # ... then the run fails before the swap

    monkeypatch.setattr(rp, "_write_files", half)
    with pytest.raises(OSError, match="disk full"):
        rp.report(small(cutoff=0.95), out, n_sims=0, pdf="never")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_folder_with_other_files_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "compare.nc").write_bytes(b"precious")
    with pytest.raises(DesignError, match="holds other files"):
        rp.report(small(), out, n_sims=0, pdf="never")
    assert (out / "compare.nc").read_bytes() == b"precious"
    with pytest.raises(DesignError, match="working folder"):
        rp.report(small(), ".", n_sims=0, pdf="never")
    assert main(["report", str(DESIGNS / "post-io-simon.toml"), "--out", str(out)]) == 2


def test_report_folder_and_files_are_readable_by_colleagues(tmp_path: Path) -> None:
    """The folder gets mkdir's mode under the umask (not mkdtemp's private 0700), files open's."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        res = rp.report(small(), tmp_path / "shared", n_sims=0, pdf="never")
    finally:
        os.umask(old)
    assert stat.S_IMODE(res.path.stat().st_mode) == 0o755
    for f in res.files:
        assert stat.S_IMODE((res.path / f).stat().st_mode) == 0o644, f
    assert stat.S_IMODE((res.path / "tables").stat().st_mode) == 0o755


def test_clashing_names_get_their_own_files(tmp_path: Path) -> None:
    res = rp.report([small(name="a b"), small(name="a-b")], tmp_path / "c", n_sims=0,
                    pdf="never")
    files = [str(f) for f in res.files]
    assert len(files) == len(set(files))
    assert {"tables/oc-a-b.csv", "tables/oc-a-b-2.csv"} <= set(files)
    first = pd.read_csv(res.path / "tables" / "oc-a-b.csv")
    second = pd.read_csv(res.path / "tables" / "oc-a-b-2.csv")
    assert len(first) == len(second) == 3


def test_a_failed_run_leaves_the_previous_report(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "r"
    rp.report(small(), out, n_sims=0, pdf="never")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(ctx):
        raise RuntimeError("section failed")

    monkeypatch.setattr(rp, "_SECTIONS", [*rp._SECTIONS[:3], ("Broken", "broken", boom)])
    with pytest.raises(RuntimeError, match="section failed"):
        rp.report(small(cutoff=0.95), out, n_sims=0, pdf="never")
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temporary folder left


def test_multi_cohort_report_reports_fwer_and_borrowing(tmp_path: Path) -> None:
    from adaptive2.engines.cohort_exact import cohort_oc

    path = DESIGNS / "two-cohort-bhm.toml"
    res = rp.report([path], tmp_path / "m", n_sims=0, pdf="never")
    d = load_any(path)
    ds = cohort_oc(d)
    t = pd.read_csv(res.path / "tables" / "oc-two-cohort-bhm.csv")
    for _, row in t.iterrows():
        exp = ds["p_efficacy"].sel(scenario=row["scenario"], cohort=row["cohort"])
        assert row["p_efficacy"] == pytest.approx(float(exp), abs=1e-12)
        assert row["fwer"] == pytest.approx(float(ds["fwer"].sel(scenario=row["scenario"])),
                                            abs=1e-12)
    # the type I error over the whole null region, and the matched-alpha comparison
    from adaptive2.engines.borrowing import borrowing_summary

    bs = borrowing_summary(d)
    nr = pd.read_csv(res.path / "tables" / "null-region-two-cohort-bhm.csv").set_index("cohort")
    for c in d.names:
        assert nr.loc[c, "max type I error"] == pytest.approx(
            bs.null_region.cohorts[c].max_type1, abs=1e-12)
        assert bool(nr.loc[c, "within alpha"])
    b = pd.read_csv(res.path / "tables" / "matched-type1-two-cohort-bhm.csv")
    assert set(b["cohort"]) == {"frontline", "post_io"}
    assert np.allclose(b["type1_inflation"], b["max_type1"] - b["type1_same_cutoffs"])
    pw = pd.read_csv(res.path / "tables" / "matched-power-two-cohort-bhm.csv")
    np.testing.assert_allclose(pw["power"], bs.power["power"], atol=1e-12)
    np.testing.assert_allclose(pw["power_independent"], bs.power["power_independent"],
                               atol=1e-12)
    html = (res.path / "index.html").read_text()
    assert "type I error over the whole null region" in html
    assert 'id="fig-null-region-two-cohort-bhm"' in html or "null-region-two-cohort-bhm" in html
    # its phase 1 stratum is tied to frontline, so it is listed as a stratum, not as a MAP prior
    assert (res.path / "tables" / "historical-two-cohort-bhm.csv").exists()
    assert not (res.path / "tables" / "map-two-cohort-bhm.csv").exists()


def test_model_table_shows_a_fixed_tau() -> None:
    import dataclasses

    from adaptive2.views.report.context import _Item
    from adaptive2.views.report.design_sections import _model_block

    d = load_any(DESIGNS / "two-cohort-bhm.toml")
    fixed = dataclasses.replace(d.model, tau_prior="fixed", tau_scale=2.0)
    blocks = _model_block(_Item(dataclasses.replace(d, model=fixed), None, None))
    table = next(b for b in blocks if getattr(b, "name", "").startswith("model-"))
    values = dict(zip(table.frame["parameter"], table.frame["value"], strict=True))
    assert values["tau prior"] == "fixed at 2"
    assert "tau fixed at 2" in blocks[1].text


def test_bad_arguments_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(DesignError, match="`pdf` of report"):
        rp.report(small(), tmp_path / "x", pdf="sometimes")
    with pytest.raises(DesignError, match="`designs` of report"):
        rp.report([], tmp_path / "x")
    with pytest.raises(DesignError, match="distinct names"):
        rp.report([small(), small()], tmp_path / "x", n_sims=0)
    with pytest.raises(DesignError, match=r"scenario file .* goes in `scenarios`"):
        rp.report([DESIGNS / "scenarios.toml"], tmp_path / "x", n_sims=0)


def test_cli_report_json_and_errors(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    code = main(["report", str(DESIGNS / "post-io-simon.toml"), "--out", str(out),
                 "--n-sims", "0", "--pdf", "never", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) >= {"path", "index", "files", "pdf", "run_time_s", "summary"}
    assert Path(payload["index"]).exists()
    html = Path(payload["index"]).read_text()
    assert "adaptive2 report" in html and "post-io-simon.toml" in html  # reproduce-me command
    code = main(["report", str(tmp_path / "missing.toml"), "--out", str(out)])
    assert code == 2
    assert "missing.toml" in capsys.readouterr().err


def test_pdf_is_made_with_chromium(tmp_path: Path) -> None:
    need_browser("" if output.chromium_path() else "chromium is not installed")
    res = rp.report(small(), tmp_path / "pdf", n_sims=0, pdf="always")
    assert res.pdf.startswith("chromium")
    assert (res.path / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_simulated_conduct_agrees_with_the_exact_engine(written: rp.ReportResult) -> None:
    # Decisions do not depend on accrual or delay, so every simulated P(efficacy) must lie
    # within 4 MCSE of the exact value; the report states the same check in its text.
    t = pd.read_csv(written.path / "tables" / "conduct-frontline.csv")
    checked = 0
    for _, row in t.iterrows():
        cell = row["p_efficacy"]
        if "±" not in cell:
            continue
        est, err = (float(x) for x in cell.split("±"))
        d = load_any(DESIGNS / f"{row['design']}.toml")
        exact = float(oc(d, [float(row["scenario"].split("=")[1])])["p_efficacy"][0])
        # the shown estimate is rounded to the decimal of 2 MCSE: allow half that unit
        unit = 10.0 ** -max(0, -math.floor(math.log10(2 * err)))
        assert abs(est - exact) <= 4 * err + unit / 2, (row["design"], row["scenario"])
        checked += 1
    assert checked >= 10
    html = (written.path / "index.html").read_text()
    m = re.search(r"the largest \|Monte Carlo − exact\| / MCSE is ([0-9.]+); 0 cell\(s\) exceed 4",
                  html)
    assert m is not None and float(m.group(1)) < 4


def test_design_with_an_uncertain_p0_is_reported_without_a_null_space(tmp_path: Path) -> None:
    # Thall & Simon (1994): p0 is a Beta, so there is no fixed null space to maximise over.
    d = Design(name="thall-simon", prior=Beta(0.5, 0.5), looks=(10, 20),
               futility=PredictiveProbability(threshold=0.05),
               final=PosteriorProbability(p0=Beta(20, 80), cutoff=0.9), p0=Beta(20, 80), p1=0.4,
               scenarios=(0.2, 0.4))
    res = rp.report(d, tmp_path / "ts", n_sims=0, pdf="never")
    t = pd.read_csv(res.path / "tables" / "oc-thall-simon.csv")
    np.testing.assert_allclose(t["p_efficacy"], oc(d, [0.2, 0.4])["p_efficacy"].values, atol=1e-14)
    assert not (res.path / "tables" / "type1-single.csv").exists()
    assert "without a fixed p0" in (res.path / "report.md").read_text()


def test_calibration_check_is_the_exact_calibration(written: rp.ReportResult) -> None:
    from adaptive2.engines.calibration import calibrate

    t = pd.read_csv(written.path / "tables" / "calibration.csv").set_index("design")
    d = load_any(DESIGNS / "frontline-pp.toml")
    res = calibrate(d, "final.cutoff", alpha=0.10)
    row = t.loc["frontline-pp"]
    assert row["calibrated value"] == pytest.approx(res.parameters["final.cutoff"])
    assert row["calibrated worst-case type I error"] == pytest.approx(res.alpha, abs=1e-15)
    assert bool(row["same boundaries as the design"]) == (res.design.boundaries() == d.boundaries())
    assert t.loc["frontline-simon", "parameter"] == "none (fixed boundaries)"


# ---- title block, targets, ESS, provenance, CLI ----------------------------------------
def test_title_block_from_the_trial_table_or_the_title_argument(tmp_path: Path) -> None:
    scen = tmp_path / "scenarios.toml"
    scen.write_text('[trial]\nname = "X-101: a trial"\nprotocol = "X-101"\nversion = "1.0"\n'
                    "date = 2027-01-31\nsponsor = \"Acme\"\n\n[c]\np0 = 0.2\nnull = [0.2]\n"
                    "alternative = [0.4]\n", encoding="utf-8")
    res = rp.report(small(), tmp_path / "t", scen, n_sims=0, pdf="never")
    block = dict(res.document.title_block)
    assert block["Trial"] == "X-101: a trial" and block["Protocol"] == "X-101"
    assert block["Date"] == "2027-01-31" and block["Sponsor"] == "Acme"
    assert block["Software"].startswith("adaptive2 ") and block["Generated"].endswith("UTC")
    assert res.document.title == "Statistical appendix: design and operating characteristics"
    assert res.document.running_header == (
        "X-101 — Statistical appendix: operating characteristics")
    manifest = json.loads((res.path / "report.json").read_text())
    assert manifest["trial"]["Protocol"] == "X-101"
    # the title argument names the trial instead
    res = rp.report(small(), tmp_path / "t2", scen, n_sims=0, pdf="never", title="Other trial")
    assert dict(res.document.title_block)["Trial"] == "Other trial"
    assert res.document.running_header.startswith("X-101 — ")  # the protocol id is short
    with pytest.raises(DesignError, match="`title` of report"):
        rp.report(small(), tmp_path / "t3", n_sims=0, pdf="never", title="  ")


def test_design_targets_are_the_designs_own(tmp_path: Path) -> None:
    d = small().replace(alpha=0.05, target_power=0.9)
    res = rp.report(d, tmp_path / "tg", n_sims=0, pdf="never", alpha=0.2, power=0.7)
    box = dict(res.document.boxes()[0].rows)
    assert box["Type I error"].startswith("Target ≤ 0.05; achieved ")
    assert box["Power"].startswith("Target ≥ 0.9; achieved ")
    res = rp.report(small(), tmp_path / "tg2", n_sims=0, pdf="never", alpha=0.2, power=0.7)
    box = dict(res.document.boxes()[0].rows)  # a design without targets: the report's
    assert box["Type I error"].startswith("Target ≤ 0.2;")
    assert box["Power"].startswith("Target ≥ 0.7;")


def test_a_negative_elir_is_never_shown_as_an_ess(tmp_path: Path) -> None:
    import dataclasses

    from adaptive2.model.priors import ess

    d = load_any(DESIGNS / "frontline-pp.toml")
    d = d.replace(name="conflicting", prior=dataclasses.replace(d.prior_spec, power=0.15))
    elir = ess(d.prior)
    assert elir < 0  # the prior's components conflict: ELIR is negative here
    res = rp.report(d, tmp_path / "e", n_sims=0, pdf="never")
    md = (res.path / "report.md").read_text()
    box = dict(res.document.boxes()[0].rows)
    assert "not defined (ELIR < 0" in box["Analysis prior"]
    assert f"{elir:.1f}" not in md and f"{elir:.2f}" not in md
    (csv,) = (res.path / "tables").glob("priors-*.csv")
    t = pd.read_csv(csv)
    assert t.loc[0, "ess_elir"] == pytest.approx(elir)  # the CSV keeps the number


def test_provenance_outside_a_git_repository(tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "d.toml"
    shutil.copy(DESIGNS / "post-io-simon.toml", path)
    res = rp.report(path, tmp_path / "p", n_sims=0, pdf="never")
    env = pd.read_csv(res.path / "tables" / "environment.csv").set_index("item")["value"]
    folder = [k for k in env.index if k.startswith("Folder ")]
    assert len(folder) == 1 and env[folder[0]].startswith("not a git repository")
    assert "CPU count" in env.index and "Platform" in env.index
    assert env["Command"].startswith("adaptive2 report ") and str(path) in env["Command"]


def test_provenance_states_the_commit_and_dirty_files(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    path = repo / "d.toml"
    shutil.copy(DESIGNS / "post-io-simon.toml", path)
    run = {"cwd": repo, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "add", "d.toml"], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "d"],
                   **run)
    head = subprocess.run(["git", "rev-parse", "HEAD"], text=True, **run).stdout.strip()
    res = rp.report(path, tmp_path / "g", n_sims=0, pdf="never")
    env = pd.read_csv(res.path / "tables" / "environment.csv").set_index("item")["value"]
    (state,) = [v for k, v in env.items() if k.startswith("Folder ")]
    assert state == f"git commit {head[:12]}; clean: the files read are as committed"
    path.write_text(path.read_text() + "\n# edited\n")
    res = rp.report(path, tmp_path / "g2", n_sims=0, pdf="never")
    env = pd.read_csv(res.path / "tables" / "environment.csv").set_index("item")["value"]
    (state,) = [v for k, v in env.items() if k.startswith("Folder ")]
    assert "NOT clean" in state and "d.toml (modified)" in state


def test_cli_compare_without_scenarios_uses_each_designs_own(capsys) -> None:
    # designs/*.toml matches the scenario file too: it is left out, not read as a design
    files = sorted(str(p) for p in DESIGNS.glob("*.toml"))
    assert any(f.endswith("scenarios.toml") for f in files)
    assert main(["compare", *files, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    pp = [r for r in rows if r["design"] == "frontline-pp"]
    assert [r["p"] for r in pp] == list(load_any(DESIGNS / "frontline-pp.toml").scenarios)


def test_cli_report_title(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli-title"
    code = main(["report", str(DESIGNS / "post-io-simon.toml"), "--out", str(out),
                 "--n-sims", "0", "--pdf", "never", "--json", "--title", "T-1: my trial"])
    assert code == 0
    capsys.readouterr()
    md = (out / "report.md").read_text()
    assert "| **Trial** | T-1: my trial |" in md
    assert "--title 'T-1: my trial'" in md  # the reproduce-me command is the command line
