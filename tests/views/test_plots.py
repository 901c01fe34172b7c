"""Plots: the drawn data equal independent numbers; SVG is well-formed and deterministic."""

import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import adaptive2.io.design_files
from adaptive2 import (
    Beta,
    BetaMixture,
    Cohort,
    CohortDesign,
    CohortScenario,
    Design,
    DesignError,
    DualCriterion,
    Model,
    PosteriorProbability,
    PredictiveProbability,
)
from adaptive2.engines.calibration import weight_curve
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.exact import oc
from adaptive2.views import plots

from _shipped import DESIGNS_DIR


@pytest.fixture(scope="module")
def frontline():
    return adaptive2.io.design_files.load_design(DESIGNS_DIR / "frontline-pp.toml")


@pytest.fixture(scope="module")
def two_look():
    # From the Design docstring.
    return Design(
        name="demo",
        prior=Beta(1, 1),
        looks=(10, 20),
        futility=PredictiveProbability(threshold=0.05),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
    )


@pytest.fixture(scope="module")
def dual():
    return Design(
        name="dual",
        prior=Beta(1, 1),
        looks=(20, 40),
        futility=PredictiveProbability(threshold=0.05),
        final=DualCriterion(lrv=0.4, tv=0.6, lrv_cutoff=0.9, tv_cutoff=0.5),
    )


@pytest.fixture(scope="module")
def two_cohort():
    return CohortDesign(
        name="tiny",
        model=Model(kind="independent"),
        cohorts=(Cohort("frontline", 0.2, 0.5, (6, 12)), Cohort("post_io", 0.1, 0.4, (6, 12))),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
        futility=PosteriorProbability(p0=0.2, cutoff=0.1),
        scenarios=(
            CohortScenario("global null", {"frontline": 0.2, "post_io": 0.1}),
            CohortScenario("frontline works", {"frontline": 0.5, "post_io": 0.1}),
            CohortScenario("both work", {"frontline": 0.5, "post_io": 0.4}),
        ),
    )


@pytest.fixture(scope="module")
def two_cohort_oc(two_cohort):
    return cohort_oc(two_cohort)


def _line(ax, label):
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, [ln.get_label() for ln in ax.get_lines()]
    return found[0]


def _by_gid(ax, gid):
    found = [a for a in ax.findobj() if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


# ---------------------------------------------------------------------------
# oc_curves
# ---------------------------------------------------------------------------
def test_oc_curves_one_look_equals_binomial_tail(one_look):
    # Independent reference: the smallest successful count from the Beta posterior,
    # then P(efficacy) = P(Bin(20, p) >= b) and N = 20 always.
    r = np.arange(21)
    b = int(r[stats.beta.sf(0.2, 1 + r, 1 + 20 - r) > 0.95][0])
    assert b == 7
    rates = [0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 1.0]
    fig = plots.oc_curves(one_look, rates)
    ax_eff, ax_n = fig.axes
    line = _line(ax_eff, "one-look")
    np.testing.assert_allclose(line.get_xdata(), rates)
    np.testing.assert_allclose(line.get_ydata(), stats.binom.sf(b - 1, 20, rates), atol=1e-12)
    np.testing.assert_allclose(_line(ax_n, "one-look").get_ydata(), 20.0, atol=1e-12)


def test_oc_curves_lines_equal_oc(frontline, one_look):
    rates = [0.7, 0.3, 0.5, 0.45, 0.4]  # unsorted on purpose: plotted in increasing order
    fig = plots.oc_curves([frontline, one_look], rates)
    ax_eff, ax_n = fig.axes
    grid = np.sort(rates)
    for d in (frontline, one_look):
        ref = oc(d, grid)
        eff, en = _line(ax_eff, d.name), _line(ax_n, d.name)
        np.testing.assert_array_equal(eff.get_xdata(), grid)
        np.testing.assert_allclose(eff.get_ydata(), ref["p_efficacy"].values, rtol=0, atol=0)
        np.testing.assert_allclose(en.get_ydata(), ref["expected_n"].values, rtol=0, atol=0)
    # planning values of the first design, dashed
    for name, value in (("p0", 0.4), ("p1", 0.6)):
        vline = _by_gid(ax_eff, f"p_efficacy-{name}")
        assert tuple(vline.get_xdata()) == (value, value)
        assert vline.get_linestyle() == "--"
        assert _line(ax_eff, f"{name} = {value:g}") is vline
    assert ax_eff.get_xlabel() and ax_eff.get_ylabel() and ax_n.get_ylabel()
    assert ax_eff.get_legend() is not None


def test_oc_curves_default_grid(frontline):
    fig = plots.oc_curves(frontline)
    line = _line(fig.axes[0], "frontline-pp")
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(line.get_xdata(), grid, atol=1e-12)
    np.testing.assert_allclose(line.get_ydata(), oc(frontline, grid)["p_efficacy"].values)


def test_oc_curves_from_dataset(frontline, two_look):
    rates = [0.2, 0.35, 0.5, 0.65]
    ds = oc([frontline, two_look], rates)
    fig = plots.oc_curves(ds, p0=0.4)
    ax_eff, ax_n = fig.axes
    for name in ("frontline-pp", "demo"):
        ref = ds.sel(design=name)
        np.testing.assert_array_equal(_line(ax_eff, name).get_ydata(), ref["p_efficacy"].values)
        np.testing.assert_array_equal(_line(ax_n, name).get_ydata(), ref["expected_n"].values)
    assert _by_gid(ax_eff, "p_efficacy-p0").get_xdata()[0] == 0.4
    assert not [a for a in ax_eff.findobj() if a.get_gid() == "p_efficacy-p1"]
    single = plots.oc_curves(oc(two_look, rates))
    np.testing.assert_array_equal(
        _line(single.axes[0], "demo").get_ydata(), oc(two_look, rates)["p_efficacy"].values
    )


def test_oc_curves_draws_on_given_axes(frontline):
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(2, 1)
    out = plots.oc_curves(frontline, [0.3, 0.5], ax=axes)
    assert out is fig
    assert _line(axes[1], "frontline-pp").get_ydata()[0] == oc(frontline, [0.3])["expected_n"][0]


# ---------------------------------------------------------------------------
# boundary_chart
# ---------------------------------------------------------------------------
def _points(ax, gid):
    line = _by_gid(ax, gid)
    return list(zip(line.get_xdata().tolist(), line.get_ydata().tolist(), strict=True))


def test_boundary_chart_equals_table(frontline):
    bnd = frontline.boundaries()
    assert bnd.futility_max_r == (4, 9, 20) and bnd.efficacy_min_r == (None, None, 21)
    ax = plots.boundary_chart(frontline).axes[0]
    fut = [(n, a) for n, a in zip(bnd.looks, bnd.futility_max_r, strict=True) if a is not None]
    eff = [(n, b) for n, b in zip(bnd.looks, bnd.efficacy_min_r, strict=True) if b is not None]
    assert _points(ax, "futility") == fut
    assert _points(ax, "efficacy") == eff
    assert _by_gid(ax, "futility").get_marker() == "v"
    # continue region at interim look k: exactly the counts a_k + 1 .. n_k (no efficacy stop)
    for k, (n, a) in enumerate(zip(bnd.looks[:-1], bnd.futility_max_r[:-1], strict=True)):
        bar = _by_gid(ax, f"continue-{k + 1}")
        assert bar.get_x() + bar.get_width() / 2 == pytest.approx(n)
        assert bar.get_y() == a + 0.5 and bar.get_y() + bar.get_height() == n + 0.5
    texts = {t.get_text() for t in ax.texts}
    assert {"4", "9", "20", "21"} <= texts


def test_boundary_chart_one_look_matches_posterior(one_look):
    r = np.arange(21)
    b = int(r[stats.beta.sf(0.2, 1 + r, 1 + 20 - r) > 0.95][0])
    ax = plots.boundary_chart(one_look.boundaries()).axes[0]  # a Boundaries table works too
    assert _points(ax, "efficacy") == [(20, b)]
    assert _points(ax, "futility") == [(20, b - 1)]
    assert not [a for a in ax.findobj() if str(a.get_gid()).startswith("continue")]


def test_boundary_chart_dual_consider_region(dual):
    bnd = dual.boundaries()
    assert bnd.dual
    a, b = bnd.futility_max_r[-1], bnd.efficacy_min_r[-1]
    assert b - a > 1  # a non-empty Consider zone
    ax = plots.boundary_chart(dual).axes[0]
    bar = _by_gid(ax, "consider")
    assert bar.get_y() == a + 0.5 and bar.get_y() + bar.get_height() == b - 0.5
    assert _points(ax, "futility")[-1] == (40, a)
    assert _points(ax, "efficacy") == [(40, b)]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("No-Go" in t for t in labels) and any("Go: r ≥ b" in t for t in labels)


# ---------------------------------------------------------------------------
# prior_density
# ---------------------------------------------------------------------------
def test_prior_density_equals_scipy():
    mix = BetaMixture((0.3, 0.7), (2.0, 16.5), (5.0, 4.5))
    post = Beta(8.5, 2.5).update(r=12, n=30)
    fig = plots.prior_density(
        {"phase 1": Beta(16.5, 4.5), "mixture": mix},
        p0=0.4,
        p1=0.6,
        posterior={"after 12/30": post},
    )
    ax = fig.axes[0]
    line = _line(ax, "phase 1")
    x = line.get_xdata()
    assert 0 < x.min() < 1e-4 and 1 - 1e-4 < x.max() < 1
    np.testing.assert_allclose(line.get_ydata(), stats.beta.pdf(x, 16.5, 4.5), rtol=1e-10)
    ref = 0.3 * stats.beta.pdf(x, 2, 5) + 0.7 * stats.beta.pdf(x, 16.5, 4.5)
    np.testing.assert_allclose(_line(ax, "mixture").get_ydata(), ref, rtol=1e-10)
    dashed = _line(ax, "after 12/30")
    assert post == Beta(20.5, 20.5)
    np.testing.assert_allclose(dashed.get_ydata(), stats.beta.pdf(x, 20.5, 20.5), rtol=1e-10)
    assert dashed.get_linestyle() == "--"
    assert _by_gid(ax, "density-p0").get_xdata()[0] == 0.4
    # bounded densities: the whole curve is in view
    assert ax.get_ylim()[1] >= max(np.max(ln.get_ydata()) for ln in ax.get_lines())


def test_prior_density_clips_unbounded():
    ax = plots.prior_density(Beta(0.5, 0.5)).axes[0]
    line = _line(ax, "Beta(0.5, 0.5)")
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(y, stats.beta.pdf(x, 0.5, 0.5), rtol=1e-10)
    assert np.all(np.isfinite(y)) and y.max() > 100  # reaches far up the asymptotes
    top = ax.get_ylim()[1]
    central = stats.beta.pdf(0.01, 0.5, 0.5)  # largest value on [0.01, 0.99]
    assert central < top < 1.2 * central


def test_prior_density_spec(frontline):
    ax = plots.prior_density(frontline.prior_spec, posterior=frontline.prior).axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == [str(frontline.prior), f"posterior {frontline.prior}"]


# ---------------------------------------------------------------------------
# weight_curve_plot
# ---------------------------------------------------------------------------
def test_weight_curve_plot_equals_frame(frontline):
    curve = weight_curve(frontline, [0.0, 0.5, 1.0])
    fig = plots.weight_curve_plot(curve, alpha=0.1)
    ax_a, ax_p = fig.axes
    alpha = _by_gid(ax_a, "alpha")
    np.testing.assert_array_equal(alpha.get_xdata(), curve["weight"])
    np.testing.assert_array_equal(alpha.get_ydata(), curve["alpha"])
    np.testing.assert_array_equal(_by_gid(ax_p, "power").get_ydata(), curve["power"])
    assert tuple(_by_gid(ax_a, "alpha_target").get_ydata()) == (0.1, 0.1)
    assert ax_a.get_ylim()[1] > 0.1
    assert "a0" in ax_a.get_xlabel()


def test_weight_curve_plot_without_power():
    curve = pd.DataFrame({"weight": [1.0, 0.0], "alpha": [0.08, 0.05], "power": [None, None]})
    fig = plots.weight_curve_plot(curve, parameter="prior.robust.weight")
    ax_a, ax_p = fig.axes
    assert _by_gid(ax_a, "alpha").get_ydata().tolist() == [0.05, 0.08]  # sorted by weight
    assert not ax_p.get_lines()
    assert "no p1" in ax_p.texts[0].get_text()
    assert "robust" in ax_a.get_xlabel()


# ---------------------------------------------------------------------------
# cohort_oc_plot
# ---------------------------------------------------------------------------
def test_cohort_oc_plot_bars_equal_dataset(two_cohort_oc):
    ds = two_cohort_oc
    ax = plots.cohort_oc_plot(ds).axes[0]
    words = {"null": "type I error", "alternative": "power"}
    texts = [t.get_text() for t in ax.texts]
    for i, scen in enumerate(ds.scenario.values):
        for j, cohort in enumerate(ds.cohort.values):
            bar = _by_gid(ax, f"p_efficacy-s{i + 1}-c{j + 1}")
            value = float(ds["p_efficacy"].sel(scenario=scen, cohort=cohort))
            assert bar.get_height() == value
            role = str(ds["role"].sel(scenario=scen, cohort=cohort).values)
            assert bool(bar.get_hatch()) == (role == "null")
            assert f"{words[role]} {value:.3f}" in texts
    assert [t.get_text() for t in ax.get_xticklabels()] == list(ds.scenario.values)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["frontline", "post_io", "type I error", "power"]


# ---------------------------------------------------------------------------
# SVG and PNG
# ---------------------------------------------------------------------------
def _ids(svg):
    return re.findall(r'\bid="([^"]+)"', svg)


def test_svg_inline_wellformed_and_deterministic(frontline, one_look):
    fig = plots.oc_curves([frontline, one_look], [0.3, 0.5])
    svg = plots.to_svg(fig)
    assert svg.startswith("<svg") and "<?xml" not in svg and "<!DOCTYPE" not in svg
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg == plots.to_svg(fig)  # same figure, same bytes
    again = plots.oc_curves([frontline, one_look], [0.3, 0.5])
    assert svg == plots.to_svg(again)  # same input, same bytes
    assert "<dc:date>" not in svg
    ids = _ids(svg)
    assert len(ids) == len(set(ids))
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    assert refs and refs <= set(ids)
    prefix = root.get("id").removesuffix("svg")
    assert all(i.startswith(prefix) for i in ids)
    assert f"#{prefix}svg *{{" in svg  # matplotlib's global style rule, scoped


def test_svg_ids_distinct_between_figures(one_look, two_look):
    a = plots.to_svg(plots.boundary_chart(one_look))
    b = plots.to_svg(plots.boundary_chart(two_look))
    assert not set(_ids(a)) & set(_ids(b))
    named = plots.to_svg(plots.boundary_chart(one_look), id_prefix="fig1-")
    assert ET.fromstring(named).get("id") == "fig1-svg"
    raw = plots.to_svg(plots.boundary_chart(one_look), id_prefix="")
    assert ET.fromstring(raw).get("id") == "svg"


def test_svg_text_and_escaping():
    d = Design(
        name='<b>"x" & y</b> -->',
        prior=Beta(1, 1),
        looks=(20,),
        final=PosteriorProbability(p0=0.2, cutoff=0.95),
    )
    for as_paths in (True, False):
        svg = plots.to_svg(plots.boundary_chart(d), text_as_paths=as_paths)
        ET.fromstring(svg)
        assert "<b>" not in svg
    assert "<text" in svg  # text_as_paths=False keeps text as text


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_names_with_dollars_and_underscores_are_drawn_literally(one_look):
    # regression: "$x^$" reached mathtext (ValueError when drawn) and "_hidden" was left
    # out of the legend (matplotlib drops labels that start with an underscore)
    odd = one_look.replace(name="cost $x^$ & $y$")
    hidden = one_look.replace(name="_hidden")
    fig = plots.oc_curves([odd, hidden], [0.2, 0.4])
    svg = plots.to_svg(fig, text_as_paths=False)  # draws: mathtext would raise here
    ET.fromstring(svg)
    assert svg.count("cost $x^$ &amp; $y$") == 1  # the legend entry, typeset as text
    assert svg.count("_hidden") == 1
    assert len(fig.axes[0].get_legend().get_texts()) == 4  # two designs, p0 and p1
    # titles go through the same escaping (boundary chart, calibration, cohort charts)
    svg = plots.to_svg(plots.boundary_chart(one_look.replace(name="$\\frac{")),
                       text_as_paths=False)
    assert "Stopping boundaries: $\\frac{" in svg


def test_cohort_and_scenario_names_with_dollars_and_underscores(two_cohort_oc):
    ds = two_cohort_oc.assign_coords(cohort=["_front$", "$post^$"],
                                     scenario=["$a^$", "b", "_c"])
    fig = plots.cohort_oc_plot(ds)
    svg = plots.to_svg(fig, text_as_paths=False)
    ET.fromstring(svg)
    assert len(fig.axes[0].get_legend().get_texts()) == 4  # two cohorts, two roles
    for text in ("_front$", "$post^$", "$a^$", "_c"):
        assert svg.count(f">{text}<") + svg.count(f"\u200b{text}<") == 1, text


def test_svg_leaves_rcparams_alone(one_look):
    before = dict(matplotlib.rcParams)
    plots.to_svg(plots.boundary_chart(one_look))
    assert dict(matplotlib.rcParams) == before


def test_png(one_look):
    fig = plots.boundary_chart(one_look)
    png = plots.to_png(fig, dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (round(6.5 * 50), round(3.2 * 50))
    assert png == plots.to_png(fig, dpi=50)


def test_import_does_not_load_matplotlib():
    code = (
        "import sys, adaptive2.views.plots as p\n"
        "assert 'matplotlib' not in sys.modules, 'loaded on import'\n"
        "from adaptive2 import Beta\n"
        "p.to_svg(p.prior_density(Beta(2, 3)))\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
def test_bad_inputs_name_the_argument(frontline, one_look, two_cohort, two_cohort_oc):
    from matplotlib.figure import Figure

    single_ds = oc(one_look, [0.2, 0.4])
    one_ax = Figure().subplots()
    cases = [
        (lambda: plots.oc_curves(two_cohort), "`designs` of oc_curves.*CohortDesign 'tiny'"),
        (lambda: plots.oc_curves([one_look, two_cohort]), "`designs` of oc_curves.*CohortDesign"),
        (lambda: plots.oc_curves([]), "`designs` of oc_curves"),
        (lambda: plots.oc_curves("designs/frontline-pp.toml"), "`designs` of oc_curves"),
        (lambda: plots.oc_curves([one_look, 3]), "`designs` of oc_curves"),
        (lambda: plots.oc_curves(two_cohort_oc), "`designs` of oc_curves.*multi-cohort"),
        (lambda: plots.oc_curves(one_look, [0.2, 1.2]), "`rates` of oc_curves"),
        (lambda: plots.oc_curves(one_look, [0.2]), "`rates` of oc_curves"),
        (lambda: plots.oc_curves(one_look, "0.2"), "`rates` of oc_curves"),
        (lambda: plots.oc_curves(single_ds, [0.2, 0.3]), "`rates` of oc_curves"),
        (lambda: plots.oc_curves(one_look, p0=1.5), "`p0` of oc_curves"),
        (lambda: plots.oc_curves(one_look, ax=one_ax), "`ax` of oc_curves.*2 matplotlib Axes"),
        (lambda: plots.boundary_chart(two_cohort), "`design` of boundary_chart.*CohortDesign"),
        (lambda: plots.boundary_chart("frontline"), "`design` of boundary_chart"),
        (lambda: plots.boundary_chart(one_look, ax="ax"), "`ax` of boundary_chart"),
        (lambda: plots.prior_density(0.5), "`priors` of prior_density"),
        (lambda: plots.prior_density({}), "`priors` of prior_density"),
        (lambda: plots.prior_density({1: Beta(1, 1)}), "`priors` of prior_density"),
        (lambda: plots.prior_density(Beta(1, 1), posterior=[1]), "`posterior` of prior_density"),
        (lambda: plots.prior_density(Beta(1, 1), p1=0), "`p1` of prior_density"),
        (lambda: plots.weight_curve_plot({"weight": [0]}), "`curve` of weight_curve_plot"),
        (
            lambda: plots.weight_curve_plot(pd.DataFrame({"weight": [0.0]})),
            "`curve` of weight_curve_plot",
        ),
        (
            lambda: plots.weight_curve_plot(
                pd.DataFrame({"weight": [0.0], "alpha": [0.1]}), alpha=1.5
            ),
            "`alpha` of weight_curve_plot",
        ),
        (
            lambda: plots.weight_curve_plot(
                pd.DataFrame({"weight": [0.0], "alpha": [0.1]}), parameter="final.cutoff"
            ),
            "`parameter` of weight_curve_plot",
        ),
        (lambda: plots.cohort_oc_plot(single_ds), "`ds` of cohort_oc_plot"),
        (lambda: plots.cohort_oc_plot(single_ds.to_dataframe()), "`ds` of cohort_oc_plot"),
        (lambda: plots.to_svg(one_look), "`fig` of to_svg"),
        (lambda: plots.to_svg(Figure(), id_prefix="1 bad"), "`id_prefix` of to_svg"),
        (lambda: plots.to_png(Figure(), dpi=0), "`dpi` of to_png"),
    ]
    for call, match in cases:
        with pytest.raises(DesignError, match=match):
            call()
