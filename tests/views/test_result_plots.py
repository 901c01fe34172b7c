"""a2.plot(result) and ds.a2: the drawn data equal the numbers and independent references."""

import dataclasses
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import integrate, special, stats

import adaptive2 as a2
import adaptive2.views.accessor  # registers ds.a2
from adaptive2 import (
    Beta,
    BetaMixture,
    Cohort,
    CohortDesign,
    CohortScenario,
    Design,
    DesignError,
    Model,
    PosteriorProbability,
    PredictiveProbability,
    power_prior,
    robustify,
)
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.design_search import pareto
from adaptive2.engines.exact import oc
from adaptive2.model.hierarchical import QuadratureGrid
from adaptive2.views import plots

COARSE = QuadratureGrid(n_theta=161, theta_max=12.0, n_mu=81, n_tau=15)


def _quiet(design, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", a2.StatisticalWarning)
        return a2.analyze(design, data, **kw)


@pytest.fixture(scope="module")
def robust_design():
    # Prior from phase 1 16/20 at half weight, robustified: a two-component mixture.
    prior = robustify(power_prior(16, 20, a0=0.5), weight=0.5, mean=0.5, n=1)
    return Design(
        name="frontline-robust",
        prior=prior,
        looks=(15, 30),
        futility=PredictiveProbability(threshold=0.05),
        final=PosteriorProbability(p0=0.4, cutoff=0.9),
        p0=0.4,
        p1=0.6,
    )


@pytest.fixture(scope="module")
def indep():
    return CohortDesign(
        name="independent",
        model=Model(kind="independent"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 25))),
        futility=PosteriorProbability(p0=0.4, cutoff=0.1),
        final=PosteriorProbability(p0=0.4, cutoff=0.9),
        scenarios=(
            CohortScenario("global null", {"frontline": 0.4, "post_io": 0.1}),
            CohortScenario("both work", {"frontline": 0.6, "post_io": 0.3}),
        ),
    )


@pytest.fixture(scope="module")
def bhm():
    return CohortDesign(
        name="bhm",
        model=Model(kind="hierarchical"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 20))),
        final=PosteriorProbability(p0=0.4, cutoff=0.9),
        grid=COARSE,
    )


def _by_gid(fig_or_ax, gid):
    found = [a for a in fig_or_ax.findobj() if a.get_gid() == gid]
    assert len(found) == 1, (gid, len(found))
    return found[0]


def _has_gid(fig_or_ax, gid):
    return any(a.get_gid() == gid for a in fig_or_ax.findobj())


def _beta_mixture_pdf(x, comps):
    return sum(w * stats.beta.pdf(x, a, b) for w, a, b in comps)


# ---------------------------------------------------------------------------
# AnalysisResult.plot
# ---------------------------------------------------------------------------
def test_single_cohort_analysis_draws_prior_posterior_and_result_markers(robust_design):
    r, n = 12, 25
    res = _quiet(robust_design, (r, n))
    c = res["cohort"]
    fig = a2.plot(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    prior_line = _by_gid(fig, "prior-1")
    post_line = _by_gid(fig, "posterior-1")
    x = prior_line.get_xdata()
    # Independent reference: the design's prior by scipy, and its conjugate update
    # computed here (weights by beta-binomial marginal likelihoods).
    comps = [(k["w"], k["a"], k["b"]) for k in robust_design.prior.components()]
    assert prior_line.get_ydata() == pytest.approx(_beta_mixture_pdf(x, comps), rel=1e-9)
    logw = [
        np.log(w) + special.betaln(a + r, b + n - r) - special.betaln(a, b) for w, a, b in comps
    ]
    wpost = np.exp(np.array(logw) - special.logsumexp(logw))
    post = [(w, a + r, b + n - r) for w, (_, a, b) in zip(wpost, comps, strict=True)]
    assert post_line.get_ydata() == pytest.approx(_beta_mixture_pdf(x, post), rel=1e-9)
    # the result's own numbers: mean, interval, p0, p1
    assert list(_by_gid(fig, "quadrature-interval-1").get_xdata()) == list(c.interval)
    assert list(_by_gid(fig, "quadrature-mean-1").get_xdata()) == [c.mean]
    assert list(_by_gid(fig, "cohort-1-p0").get_xdata()) == [0.4, 0.4]
    assert list(_by_gid(fig, "cohort-1-p1").get_xdata()) == [0.6, 0.6]
    assert not _has_gid(fig, "pymc-mean-1")
    # the same prior when the design is given
    fig2 = a2.plot(res, design=robust_design)
    assert _by_gid(fig2, "prior-1").get_ydata() == pytest.approx(prior_line.get_ydata(), rel=1e-12)


def test_single_beta_prior_is_recovered_from_the_result():
    d = Design(name="b", prior=Beta(0.5, 0.5), looks=(20,),
               final=PosteriorProbability(p0=0.2, cutoff=0.9))
    res = a2.analyze(d, (5, 20))
    line = _by_gid(a2.plot(res), "prior-1")
    x = line.get_xdata()
    assert line.get_ydata() == pytest.approx(stats.beta.pdf(x, 0.5, 0.5), rel=1e-9)
    post = _by_gid(a2.plot(res), "posterior-1")
    assert post.get_ydata() == pytest.approx(stats.beta.pdf(x, 5.5, 15.5), rel=1e-9)
    fig = a2.plot(res)  # no planning values: p0 is the final rule's, and there is no p1
    assert list(_by_gid(fig, "cohort-1-p0").get_xdata()) == [0.2, 0.2]
    assert not _has_gid(fig, "cohort-1-p1")


def _logit_normal_posterior(p, p0, r, n):
    """Density of p when logit p - logit p0 ~ N(0, 2^2) a priori, after r of n (1-D quad)."""
    off = special.logit(p0)

    def f(q):
        prior = stats.norm.pdf(special.logit(q) - off, 0, 2) / (q * (1 - q))
        return prior * q**r * (1 - q) ** (n - r)

    z = integrate.quad(f, 0, 1, epsrel=1e-12, limit=200)[0]
    return f(p) / z


def test_multi_cohort_independent_densities_match_one_dimensional_quadrature(indep):
    data = {"frontline": (8, 14), "post_io": (2, 12)}
    res = _quiet(indep, data)
    fig = a2.plot(res, design=indep)
    assert len(fig.axes) == 2
    for k, c in enumerate(indep.cohorts, start=1):
        r, n = data[c.name]
        got = res[c.name]
        post = _by_gid(fig, f"posterior-{k}")
        p, y = post.get_xdata(), post.get_ydata()
        ref = _logit_normal_posterior(p, c.p0, r, n)
        assert np.max(np.abs(y - ref)) <= 1e-4 * ref.max()
        prior = _by_gid(fig, f"prior-{k}")
        ref0 = _logit_normal_posterior(prior.get_xdata(), c.p0, 0, 0)
        assert np.max(np.abs(prior.get_ydata() - ref0)) <= 1e-3 * ref0.max()
        # the drawn density is the one the result summarises
        assert np.trapezoid(y, p) == pytest.approx(1.0, abs=1e-3)
        assert np.trapezoid(p * y, p) == pytest.approx(got.mean, abs=1e-3)
        assert list(_by_gid(fig, f"quadrature-mean-{k}").get_xdata()) == [got.mean]
        assert list(_by_gid(fig, f"quadrature-interval-{k}").get_xdata()) == list(got.interval)
        assert list(_by_gid(fig, f"cohort-{k}-p0").get_xdata()) == [c.p0, c.p0]


def test_multi_cohort_bhm_density_has_the_result_mean_and_interval(bhm):
    res = a2.analyze(bhm, {"frontline": (12, 20), "post_io": (3, 20)})
    fig = a2.plot(res, design=bhm)
    for k, name in enumerate(bhm.names, start=1):
        got = res[name]
        line = _by_gid(fig, f"posterior-{k}")
        p, y = line.get_xdata(), line.get_ydata()
        assert np.trapezoid(y, p) == pytest.approx(1.0, abs=2e-3)
        assert np.trapezoid(p * y, p) == pytest.approx(got.mean, abs=2e-3)
        # Back from the drawn density to the quadrature's cell masses on the logit
        # scale: their cell-edge CDF gives the result's interval.
        c = bhm.cohorts[k - 1]
        theta = special.logit(p) - special.logit(c.p0)
        h = np.diff(theta).mean()
        mass = y * h * p * (1 - p)
        edges = np.concatenate([theta - h / 2, [theta[-1] + h / 2]])
        cdf = np.concatenate([[0.0], np.cumsum(mass)])
        q = special.expit(np.interp([0.025, 0.975], cdf, edges) + special.logit(c.p0))
        assert list(q) == pytest.approx(got.interval, abs=1e-9)


def test_multi_cohort_without_design_draws_markers_only(indep):
    res = _quiet(indep, {"frontline": (8, 14), "post_io": (2, 12)})
    fig = a2.plot(res)
    for k, name in enumerate(indep.names, start=1):
        assert not _has_gid(fig, f"posterior-{k}") and not _has_gid(fig, f"prior-{k}")
        assert "a2.plot(result, design=design)" in _by_gid(fig, f"note-{k}").get_text()
        assert list(_by_gid(fig, f"quadrature-mean-{k}").get_xdata()) == [res[name].mean]


def test_nuts_figures_are_drawn_next_to_the_quadrature_ones(indep):
    res = _quiet(indep, {"frontline": (8, 14), "post_io": (2, 12)})
    nuts = {"mean": 0.55, "interval": [0.31, 0.77]}
    cohorts = (dataclasses.replace(res.cohorts[0], pymc=nuts), res.cohorts[1])
    fig = a2.plot(dataclasses.replace(res, cohorts=cohorts))
    assert list(_by_gid(fig, "pymc-mean-1").get_xdata()) == [0.55]
    assert list(_by_gid(fig, "pymc-interval-1").get_xdata()) == [0.31, 0.77]
    assert not _has_gid(fig, "pymc-mean-2")


# ---------------------------------------------------------------------------
# Designs, boundaries, priors
# ---------------------------------------------------------------------------
def test_design_and_boundaries_plot_their_boundaries(robust_design):
    bnd = robust_design.boundaries()
    for fig in (a2.plot(robust_design), a2.plot(bnd)):
        fut = _by_gid(fig, "futility")
        eff = _by_gid(fig, "efficacy")
        pts = [(n, a) for n, a in zip(bnd.looks, bnd.futility_max_r, strict=True) if a is not None]
        assert list(zip(fut.get_xdata(), fut.get_ydata(), strict=True)) == pts
        assert list(eff.get_ydata()) == [b for b in bnd.efficacy_min_r if b is not None]


def test_cohort_design_plot_draws_the_boundary_records(indep):
    records = indep.boundaries()
    fig = a2.plot(indep)
    assert len(fig.axes) == 2
    for axis, c in zip(fig.axes, indep.cohorts, strict=True):
        rows = [rec for rec in records if rec["cohort"] == c.name]
        assert c.name in axis.get_title()
        for slot, key in (("efficacy", "efficacy_min_r"), ("futility", "futility_max_r")):
            line = _by_gid(axis, slot)
            want = [(rec["n"], rec[key]) for rec in rows if rec[key] is not None]
            assert want and list(zip(line.get_xdata(), line.get_ydata(), strict=True)) == want


def test_prior_plot_is_its_density():
    fig = a2.plot(Beta(2, 3), p0=0.2, p1=0.4)
    line = _by_gid(fig, "density-1")
    assert line.get_ydata() == pytest.approx(stats.beta.pdf(line.get_xdata(), 2, 3), rel=1e-12)
    assert list(_by_gid(fig, "density-p0").get_xdata()) == [0.2, 0.2]
    mix = BetaMixture((0.3, 0.7), (1, 8), (1, 4))
    line = _by_gid(a2.plot(mix), "density-1")
    x = line.get_xdata()
    ref = 0.3 * stats.beta.pdf(x, 1, 1) + 0.7 * stats.beta.pdf(x, 8, 4)
    assert line.get_ydata() == pytest.approx(ref, rel=1e-12)


# ---------------------------------------------------------------------------
# Calibration, searches, Simon
# ---------------------------------------------------------------------------
def test_calibration_plot_shows_the_calibrated_design_and_its_figures(one_look):
    res = a2.calibrate(one_look.replace(looks=(40,)), "final.cutoff", alpha=0.05)
    fig = a2.plot(res)
    eff = _by_gid(fig, "efficacy")
    assert list(eff.get_ydata()) == list(res.design.boundaries().efficacy_min_r) == [13]
    text = _by_gid(fig, "calibration").get_text()
    assert f"α = {res.alpha:.4f}" in text and f"power at p1 = {res.power:.4f}" in text
    # the reference: P(Bin(40, 0.2) >= 13), the docstring's 0.0432
    assert f"{stats.binom.sf(12, 40, 0.2):.4f}" in text
    assert "targets met" in text


def test_search_plot_places_every_design():
    res = a2.lee_liu(0.2, 0.4, alpha=0.1, power=0.8, n_range=(24, 28))
    assert 0 < len(res.pareto) < len(res.designs) and len(res.admissible) >= 2
    assert res.optimal is not res.minimax
    fig = a2.plot(res)
    dots = _by_gid(fig, "designs")
    want = np.array([(d.n_max, d.expected_n_p0) for d in res.designs])
    assert np.array_equal(dots.get_offsets(), want)
    assert np.array_equal(dots.get_array(), [d.power for d in res.designs])
    ring = _by_gid(fig, "pareto").get_offsets()
    assert np.array_equal(ring, np.array([(d.n_max, d.expected_n_p0) for d in res.pareto]))
    hull = _by_gid(fig, "admissible")
    assert list(hull.get_xdata()) == [d.n_max for d in res.admissible]
    assert list(hull.get_ydata()) == [d.expected_n_p0 for d in res.admissible]
    for key in ("optimal", "minimax"):
        mark = _by_gid(fig, key)
        d = getattr(res, key)
        assert (mark.get_xdata()[0], mark.get_ydata()[0]) == (d.n_max, d.expected_n_p0)
    # the optimal design has the smallest E[N | p0] of all, the minimax the smallest N
    assert _by_gid(fig, "optimal").get_ydata()[0] == want[:, 1].min()
    assert _by_gid(fig, "minimax").get_xdata()[0] == want[:, 0].min()


def test_search_plot_of_an_empty_search_says_so():
    base = Design(name="a", prior=Beta(0.2, 0.8), looks=(15, 30),
                  futility=PredictiveProbability(0.05),
                  final=PosteriorProbability(p0=0.2, cutoff=0.9))
    empty = pareto([base, base.replace(name="b", looks=(10, 20, 30))], p0=0.2, p1=0.4,
                   power=0.9999)
    assert not empty.designs
    assert "no design meets" in _by_gid(a2.plot(empty), "empty").get_text()


def test_simon_plot_matches_simon_1989():
    res = a2.simon(0.1, 0.3)
    fig = a2.plot(res)
    adm = _by_gid(fig, "admissible")
    assert list(adm.get_xdata()) == [d.n for d in res.admissible]
    assert list(adm.get_ydata()) == [d.expected_n_p0 for d in res.admissible]
    # Simon (1989), p0 = 0.1, p1 = 0.3, alpha 0.05, beta 0.2: optimal 1/10, 5/29, EN 15.0;
    # minimax 1/15, 5/25, EN 19.5.
    opt, mm = _by_gid(fig, "optimal"), _by_gid(fig, "minimax")
    assert opt.get_xdata()[0] == 29 and round(opt.get_ydata()[0], 1) == 15.0
    assert mm.get_xdata()[0] == 25 and round(mm.get_ydata()[0], 1) == 19.5
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1/10, 5/29" in texts and "1/15, 5/25" in texts
    none = a2.simon(0.1, 0.3, nmax=10)
    assert none.optimal is None
    assert "no design" in _by_gid(a2.plot(none), "empty").get_text()


# ---------------------------------------------------------------------------
# The `a2` Dataset accessor
# ---------------------------------------------------------------------------
def test_accessor_draws_oc_curves_of_every_design(one_look):
    other = one_look.replace(name="two-look", looks=(10, 20),
                             futility=PredictiveProbability(threshold=0.05))
    rates = [0.1, 0.2, 0.3, 0.4, 0.5]
    ds = oc([one_look, other], rates)
    fig = ds.a2.plot(p0=0.2)
    for i, name in enumerate(["one-look", "two-look"], start=1):
        eff = _by_gid(fig, f"p_efficacy-{i}")
        assert eff.get_label() == name
        assert list(eff.get_xdata()) == rates
        assert eff.get_ydata() == pytest.approx(ds["p_efficacy"].sel(design=name).values, rel=0)
        en = _by_gid(fig, f"expected_n-{i}")
        assert en.get_ydata() == pytest.approx(ds["expected_n"].sel(design=name).values, rel=0)
    # reference for the one-look design: P(Bin(20, p) >= 7)
    ref = stats.binom.sf(6, 20, rates)
    assert _by_gid(fig, "p_efficacy-1").get_ydata() == pytest.approx(ref, abs=1e-12)
    assert list(_by_gid(fig, "p_efficacy-p0").get_xdata()) == [0.2, 0.2]


def test_accessor_draws_cohort_bars_and_one_panel_per_design(indep):
    ds = cohort_oc(indep)
    fig = ds.a2.plot()
    vals = ds["p_efficacy"].transpose("scenario", "cohort").values
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            assert _by_gid(fig, f"p_efficacy-s{i + 1}-c{j + 1}").get_height() == vals[i, j]
    stacked = xr_concat_designs(ds, indep)
    fig = stacked.a2.plot()
    assert len(fig.axes) == 2
    for axis, name in zip(fig.axes, ["A", "B"], strict=True):
        assert axis.get_title().startswith(name)
        want = stacked["p_efficacy"].sel(design=name).transpose("scenario", "cohort").values
        got = _by_gid(axis, "p_efficacy-s2-c1").get_height()
        assert got == want[1, 0]


def xr_concat_designs(ds, design):
    import xarray as xr

    other = cohort_oc(dataclasses.replace(design, name="stricter",
                                          final=PosteriorProbability(p0=0.4, cutoff=0.95)))
    out = xr.concat([ds, other], dim="design", combine_attrs="drop_conflicts")
    return out.assign_coords(design=["A", "B"])


def test_accessor_table_is_report_table(one_look):
    from adaptive2.views import tables as report

    ds = oc(one_look, [0.2, 0.4], method="simulate", n_sims=2000, seed=1)
    got = ds.a2.table()
    assert got.equals(report.table(ds))
    assert list(ds.a2.table(["p_efficacy"]).columns) == list(
        report.table(ds, ["p_efficacy"]).columns
    )


# ---------------------------------------------------------------------------
# ax=, display, import cost
# ---------------------------------------------------------------------------
def test_plots_draw_on_given_axes(robust_design, indep):
    res = _quiet(robust_design, (12, 25))
    fig = Figure()
    ax = fig.subplots()
    assert a2.plot(res, ax=ax) is fig and _has_gid(ax, "posterior-1")
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert a2.plot(indep, ax=axes) is fig
    assert _has_gid(axes[1], "efficacy")
    fig = Figure()
    ax = fig.subplots()
    assert a2.plot(a2.simon(0.1, 0.3), ax=ax) is fig
    assert a2.plot(Beta(2, 3), ax=ax) is fig


def test_new_figures_display_as_svg_and_pickle(one_look):
    fig = a2.plot(one_look)
    assert isinstance(fig, Figure)
    svg = fig._repr_svg_()
    assert svg.startswith("<svg") and svg == plots.to_svg(fig)
    back = pickle.loads(pickle.dumps(fig))
    assert type(back) is type(fig) and back._repr_svg_().startswith("<svg")
    from IPython.core import formatters

    data, _ = formatters.DisplayFormatter().format(fig)
    assert data["image/svg+xml"] == svg


def test_bad_inputs_name_the_argument(one_look, indep):
    res = a2.analyze(one_look, (5, 20))
    multi = _quiet(indep, {"frontline": (8, 14)})
    ds = oc(one_look, [0.2, 0.4])
    cases = [
        (lambda: plots.analysis_plot(ds), "`result` of analysis_plot"),
        (lambda: a2.plot(res, design=indep), "`design` of analysis_plot.*Design"),
        (lambda: a2.plot(res, design=one_look.replace(name="other")),
         "`design` of analysis_plot.*hash"),
        (lambda: a2.plot(multi, design=one_look), "`design` of analysis_plot.*CohortDesign"),
        (lambda: a2.plot(res, ax="ax"), "`ax` of analysis_plot"),
        (lambda: a2.plot(multi, ax=Figure().subplots()),
         "`ax` of analysis_plot.*2 matplotlib Axes"),
        (lambda: plots.calibration_plot(res), "`result` of calibration_plot"),
        (lambda: plots.search_plot(res), "`result` of search_plot"),
        (lambda: plots.simon_plot(res), "`result` of simon_plot"),
        (lambda: plots.cohort_boundary_chart(one_look), "`design` of cohort_boundary_chart"),
        (lambda: a2.plot(indep, ax=Figure().subplots()), "`ax` of cohort_boundary_chart"),
        (lambda: plots.dataset_plot(ds.to_dataframe()), "`ds` of Dataset.a2.plot"),
        (lambda: ds[["look_n"]].a2.plot(), "`ds` of Dataset.a2.plot.*p_efficacy"),
        (lambda: ds.drop_vars("p").a2.plot(), "`ds` of Dataset.a2.plot.*`p` coordinate"),
        (lambda: cohort_oc(indep).a2.plot(p0=0.2), "`p0` of Dataset.a2.plot"),
        (lambda: ds.a2.plot(p1=2), "`p1` of oc_curves"),
        (lambda: a2.plot(Beta(1, 1), p0=1.5), "`p0` of prior_density"),
        (lambda: ds.a2.table(["nope"]), "`variables` of table"),
    ]
    for call, match in cases:
        with pytest.raises(DesignError, match=match):
            call()


def test_accessor_import_is_light_and_registers():
    code = (
        "import sys, adaptive2.views.accessor, xarray as xr\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib loaded'\n"
        "assert hasattr(xr.Dataset(), 'a2')\n"
        "import adaptive2 as a2\n"
        "fig = a2.plot(a2.Beta(2, 3))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
