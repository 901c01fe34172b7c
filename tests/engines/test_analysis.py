"""analyze(): posterior, predictive probability, decision and distance, against references.

References are independent of the package's own arithmetic: scipy.stats.beta /
betabinom and a direct mixture computation for beta-binomial cohorts; 1-D
adaptive quadrature (scipy.integrate.quad) for an independent-cohorts model; the
quadrature engine's own posterior for borrowing models, with the exact moment
identities P(X = 1) = E[p] and P(X = 2) = E[p²] for one or two future patients.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

import adaptive2 as a2
from _need import need_pymc
from adaptive2 import (
    BOP2,
    Beta,
    Boundary,
    Cohort,
    CohortDesign,
    Design,
    DesignError,
    DualCriterion,
    Model,
    PosteriorProbability,
    PredictiveProbability,
    analyze,
)
from adaptive2._base.errors import StatisticalWarning
from adaptive2.engines.analysis import parse_data
from adaptive2.engines.analysis_results import AnalysisResult
from adaptive2.engines.posterior import posterior
from adaptive2.io.design_files import load_any, load_design
from adaptive2.model.hierarchical import QuadratureGrid

from _shipped import DESIGNS_DIR, MULTI_COHORT, SINGLE_COHORT

COARSE = QuadratureGrid(n_theta=161, theta_max=12.0, n_mu=81, n_tau=15)


def _quiet(design, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return analyze(design, data, **kw)


# ---------------------------------------------------------------------------
# independent references for beta-binomial cohorts
# ---------------------------------------------------------------------------
def _mix(prior):
    if isinstance(prior, Beta):
        return np.array([1.0]), np.array([prior.a]), np.array([prior.b])
    return np.array(prior.weights), np.array(prior.a), np.array(prior.b)


def _ref_post(prior, r, n):
    """Posterior weights and shapes by the definition (beta-binomial marginals)."""
    w, a, b = _mix(prior)
    marg = np.array([stats.betabinom.pmf(r, n, ai, bi) for ai, bi in zip(a, b, strict=True)])
    wp = w * marg / np.sum(w * marg)
    return wp, a + r, b + n - r


def _ref_summary(prior, r, n, p0, p1):
    w, a, b = _ref_post(prior, r, n)
    mean = float(np.sum(w * stats.beta.mean(a, b)))
    second = float(np.sum(w * (stats.beta.var(a, b) + stats.beta.mean(a, b) ** 2)))

    def cdf(x):
        return float(np.sum(w * stats.beta.cdf(x, a, b)))

    lo = optimize.brentq(lambda x: cdf(x) - 0.025, 1e-12, 1 - 1e-12, xtol=1e-14)
    hi = optimize.brentq(lambda x: cdf(x) - 0.975, 1e-12, 1 - 1e-12, xtol=1e-14)
    sf = lambda t: float(np.sum(w * stats.beta.sf(t, a, b)))  # noqa: E731
    return {
        "mean": mean,
        "sd": math.sqrt(second - mean**2),
        "interval": (lo, hi),
        "p_above_p0": sf(p0),
        "p_above_p1": None if p1 is None else sf(p1),
        "weights": w,
        "a": a,
        "b": b,
    }


def _ref_final_success(design, r_final):
    """Does the final rule succeed with r_final of n_max? (scipy only, no package code)."""
    rule, n_max = design.final, design.n_max
    if isinstance(rule, Boundary):
        return r_final > rule.r[0]
    p_above = _ref_summary(design.prior, r_final, n_max, rule.p0, None)["p_above_p0"]
    if isinstance(rule, PosteriorProbability):
        return p_above > rule.cutoff
    assert isinstance(rule, BOP2)
    return p_above > rule.lambda_


def _ref_pp(design, r, n):
    """Brute force: sum over future x of the beta-binomial mixture pmf times final success."""
    w, a, b = _ref_post(design.prior, r, n)
    m = design.n_max - n
    total = 0.0
    for x in range(m + 1):
        pmf = float(np.sum(w * stats.betabinom.pmf(x, m, a, b)))
        total += pmf * _ref_final_success(design, r + x)
    return total


FRONTLINE_PP = load_design(DESIGNS_DIR / "frontline-pp.toml")
BETA_DESIGN = Design(
    name="beta",
    prior=Beta(1.0, 1.0),
    looks=(10, 20, 30),
    futility=PosteriorProbability(p0=0.2, cutoff=0.10),
    efficacy=PosteriorProbability(p0=0.2, cutoff=0.995),
    final=PosteriorProbability(p0=0.2, cutoff=0.95),
    p0=0.2,
    p1=0.4,
)


# ---------------------------------------------------------------------------
# posterior figures
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("r", "n"), [(0, 10), (3, 10), (10, 10), (6, 20), (14, 25), (29, 30)])
def test_beta_prior_posterior_matches_scipy(r, n):
    res = _quiet(BETA_DESIGN, (r, n))["cohort"]
    a, b = 1 + r, 1 + n - r
    assert res.mean == pytest.approx(stats.beta.mean(a, b), rel=1e-12)
    assert res.sd == pytest.approx(stats.beta.std(a, b), rel=1e-10)
    assert res.interval[0] == pytest.approx(stats.beta.ppf(0.025, a, b), rel=1e-9)
    assert res.interval[1] == pytest.approx(stats.beta.ppf(0.975, a, b), rel=1e-9)
    assert res.p_above_p0 == pytest.approx(stats.beta.sf(0.2, a, b), rel=1e-9, abs=1e-15)
    assert res.p_above_p1 == pytest.approx(stats.beta.sf(0.4, a, b), rel=1e-9, abs=1e-15)
    assert res.components == ((1.0, a, b),)


@pytest.mark.parametrize(("r", "n"), [(0, 15), (5, 15), (15, 15), (12, 25), (20, 40), (33, 40)])
def test_mixture_prior_posterior_matches_direct_mixture(r, n):
    res = _quiet(FRONTLINE_PP, f"{r}/{n}")["cohort"]
    ref = _ref_summary(FRONTLINE_PP.prior, r, n, 0.4, 0.6)
    assert res.mean == pytest.approx(ref["mean"], rel=1e-10)
    assert res.sd == pytest.approx(ref["sd"], rel=1e-8)
    assert res.interval == pytest.approx(ref["interval"], rel=1e-8)
    assert res.p_above_p0 == pytest.approx(ref["p_above_p0"], rel=1e-9)
    assert res.p_above_p1 == pytest.approx(ref["p_above_p1"], rel=1e-9)
    got = np.array(res.components)
    assert got[:, 0] == pytest.approx(ref["weights"], rel=1e-9)
    assert got[:, 1] == pytest.approx(ref["a"])
    assert got[:, 2] == pytest.approx(ref["b"])
    # prior-data conflict: posterior weights and Box's p-value by enumeration
    assert res.conflict.posterior_weights == pytest.approx(ref["weights"], rel=1e-9)
    w, a, b = _mix(FRONTLINE_PP.prior)
    pmf = np.array([np.sum(w * stats.betabinom.pmf(k, n, a, b)) for k in range(n + 1)])
    two_sided = min(1.0, 2 * min(pmf[: r + 1].sum(), pmf[r:].sum()))  # tail-area form
    assert res.conflict_p == pytest.approx(two_sided, rel=1e-9)
    assert res.conflict.p_lower == pytest.approx(pmf[: r + 1].sum(), rel=1e-9)


def test_uncertain_p0_beta_matches_quadrature():
    ps = Beta(20.0, 30.0)
    d = Design(name="ps", prior=Beta(0.5, 0.5), looks=(20,),
               final=PosteriorProbability(p0=ps, cutoff=0.8))
    res = analyze(d, (13, 20))["cohort"]
    a, b = 13.5, 7.5
    ref, _ = integrate.quad(lambda y: stats.beta.sf(y, a, b) * stats.beta.pdf(y, 20, 30), 0, 1,
                            epsabs=1e-13)
    assert res.p0 == ps
    assert res.p_above_p0 == pytest.approx(ref, rel=1e-7)


# ---------------------------------------------------------------------------
# predictive probability against brute-force enumeration
# ---------------------------------------------------------------------------
PP_CASES = [
    (FRONTLINE_PP, [(0, 15), (4, 15), (5, 15), (9, 15), (15, 15), (9, 25), (12, 25), (10, 18),
                    (20, 39), (2, 5), (0, 0)]),
    (BETA_DESIGN, [(1, 10), (2, 10), (5, 10), (4, 20), (8, 20), (5, 29), (9, 29)]),
    (load_design(DESIGNS_DIR / "frontline-bop2.toml"), [(4, 15), (8, 15), (12, 25), (17, 30)]),
    (load_design(DESIGNS_DIR / "frontline-simon.toml"), [(6, 12), (12, 25), (18, 37)]),
]


@pytest.mark.parametrize(("design", "cases"), PP_CASES, ids=lambda x: getattr(x, "name", ""))
def test_predictive_probability_matches_enumeration(design, cases):
    for r, n in cases:
        got = _quiet(design, (r, n))["cohort"].predictive_probability
        assert got == pytest.approx(_ref_pp(design, r, n), abs=1e-11), (r, n)


def test_predictive_probability_at_final_is_the_decision():
    for r in (20, 21):
        res = analyze(FRONTLINE_PP, (r, 40))["cohort"]
        assert res.predictive_probability == (1.0 if res.decision == "success" else 0.0)
        assert res.predictive_probability == float(_ref_final_success(FRONTLINE_PP, r))


# ---------------------------------------------------------------------------
# decisions agree with the design's integer boundaries
# ---------------------------------------------------------------------------
def _expected(bnd, k, r):
    a, b = bnd.futility_max_r[k], bnd.efficacy_min_r[k]
    fut = a is not None and r <= a
    eff = b is not None and r >= b
    if k == len(bnd.looks) - 1:
        if bnd.dual:
            return "Go" if eff else ("No-Go" if fut else "Consider")
        return "success" if eff else "failure"
    return "stop for futility" if fut else ("stop for efficacy" if eff else "continue")


@pytest.mark.parametrize("path", SINGLE_COHORT, ids=lambda p: p.stem)
def test_decisions_agree_with_boundaries_for_every_r_and_look(path):
    design = load_design(path)
    bnd = design.boundaries()
    for k, n in enumerate(design.looks):
        for r in range(n + 1):
            res = analyze(design, (r, n))
            assert res.look == k + 1 and res.n_look == n
            assert res["cohort"].decision == _expected(bnd, k, r), (path.stem, k, r)
    # the final decision also agrees with the final rule evaluated independently
    for r in range(design.n_max + 1):
        dec = analyze(design, (r, design.n_max))["cohort"].decision
        assert (dec == "success") == _ref_final_success(design, r), (path.stem, r)


DUAL = Design(
    name="dual",
    prior=Beta(0.5, 0.5),
    looks=(12, 24),
    futility=PredictiveProbability(threshold=0.05),
    final=DualCriterion(lrv=0.3, tv=0.5, lrv_cutoff=0.9, tv_cutoff=0.5),
    p0=0.3,
    p1=0.5,
)


def test_dual_criterion_gives_go_consider_no_go():
    bnd = DUAL.boundaries()
    a, b = bnd.futility_max_r[-1], bnd.efficacy_min_r[-1]
    assert b - a > 1  # a Consider zone exists
    seen = set()
    for r in range(25):
        dec = analyze(DUAL, (r, 24))["cohort"].decision
        seen.add(dec)
        assert dec == _expected(bnd, 1, r)
        # independent: Go iff both criteria hold, No-Go iff neither
        sig = stats.beta.sf(0.3, 0.5 + r, 24.5 - r) > 0.9
        rel = stats.beta.sf(0.5, 0.5 + r, 24.5 - r) > 0.5
        assert dec == ("Go" if sig and rel else ("No-Go" if not (sig or rel) else "Consider"))
    assert seen == {"Go", "Consider", "No-Go"}


# ---------------------------------------------------------------------------
# the distance sentences: the stated counts flip the decision
# ---------------------------------------------------------------------------
NEED = re.compile(r"(\d+) more responses? among the next (\d+) patients?")


def _check_next_look(design, r, n):
    """Check the next-look numbers and sentence for r of n; return the branches seen."""
    res = _quiet(design, (r, n))["cohort"]
    seen = set()
    nl = res.next_look
    m, n_next = nl.patients, nl.n
    assert n_next - n == m
    dec = lambda rr: _quiet(design, (rr, n_next))["cohort"].decision  # noqa: E731
    bad = "failure" if nl.final and not nl.dual else ("No-Go" if nl.final else "stop for futility")
    good_eff = ("Go" if nl.dual else "success") if nl.final else "stop for efficacy"
    numbers = [tuple(map(int, g)) for g in NEED.findall(res.distance)]
    if nl.futility_max_r is not None and not (nl.final and not nl.dual):
        x = nl.responses_to_avoid_futility
        if x == 0:
            assert dec(r) != bad and "no longer possible" in res.distance
            seen.add("futility impossible")
        elif x > m:
            assert dec(r + m) == bad and "cannot be avoided" in res.distance
            seen.add("futility certain")
        else:
            assert dec(r + x) != bad and dec(r + x - 1) == bad
            assert (x, m) in numbers
            seen.add("futility flip")
    y = nl.responses_for_efficacy
    if y is not None:
        if y == 0:
            assert dec(r) == good_eff and "assured" in res.distance
            seen.add("efficacy certain")
        elif y > m:
            assert dec(r + m) != good_eff and "out of reach" in res.distance
            seen.add("efficacy impossible")
        else:
            assert dec(r + y) == good_eff and dec(r + y - 1) != good_eff
            assert (y, m) in numbers
            seen.add("efficacy flip")
    return seen


@pytest.mark.parametrize(
    ("design", "ns"),
    [(FRONTLINE_PP, (15, 18, 25, 30)), (BETA_DESIGN, (10, 13, 20, 27)), (DUAL, (12, 20))],
    ids=["frontline-pp", "beta-efficacy", "dual"],
)
def test_distance_counts_flip_the_decision(design, ns):
    seen = set()
    for n in ns:
        for r in range(n + 1):
            seen |= _check_next_look(design, r, n)
    # every kind of sentence was exercised
    assert {"futility flip", "efficacy flip", "efficacy impossible", "efficacy certain"} <= seen


def test_distance_edges():
    # no look left
    res = analyze(FRONTLINE_PP, (25, 40))["cohort"]
    assert res.next_look is None
    assert res.distance.startswith("no look left") and "4 responses to spare" in res.distance
    res = analyze(FRONTLINE_PP, (19, 40))["cohort"]
    assert "missed by 2 responses" in res.distance
    # final success out of reach / assured
    res = analyze(FRONTLINE_PP, (5, 25))["cohort"]
    assert "out of reach" in res.distance and res.predictive_probability == 0.0
    res = analyze(FRONTLINE_PP, (22, 25))["cohort"]
    assert "assured" in res.distance and res.predictive_probability == 1.0
    # a stop at this look says so before the hypothetical next look
    res = analyze(FRONTLINE_PP, (3, 15))["cohort"]
    assert res.decision == "stop for futility"
    assert res.distance.startswith("the design stops at this look")
    assert "r = 3 <= 4" in res.reason


def test_design_without_reachable_success():
    d = Design(name="never", prior=Beta(1, 1), looks=(5, 10),
               futility=Boundary((0,)), final=Boundary((10,)))
    res = analyze(d, (3, 5))["cohort"]
    assert res.next_look.efficacy_min_r is None and res.predictive_probability == 0.0
    assert "impossible" in res.distance


# ---------------------------------------------------------------------------
# look handling
# ---------------------------------------------------------------------------
def test_data_at_a_look_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = analyze(FRONTLINE_PP, (12, 25))
    assert res.look == 2 and res.warnings == ()


def test_between_looks_uses_last_look_passed_with_a_warning():
    with pytest.warns(StatisticalWarning, match="between look 1 .* and look 2"):
        res = analyze(FRONTLINE_PP, (6, 18))
    assert res.look == 1 and res.n_look == 15 and len(res.warnings) == 1
    # look 1's rule (PP < 0.05) applied at n = 18: check every r against brute force
    for r in range(19):
        dec = _quiet(FRONTLINE_PP, (r, 18))["cohort"].decision
        assert (dec == "stop for futility") == (_ref_pp(FRONTLINE_PP, r, 18) < 0.05), r
    # an explicit look that agrees gives the same result
    with pytest.warns(StatisticalWarning):
        again = analyze(FRONTLINE_PP, (6, 18), look=1)
    assert again == res


def test_before_first_look():
    with pytest.warns(StatisticalWarning, match="before look 1"):
        res = analyze(FRONTLINE_PP, (2, 5))
    c = res["cohort"]
    assert res.look is None and c.look is None and c.decision == "continue"
    assert c.next_look.look == 1 and c.next_look.patients == 10
    assert "no look reached yet" in c.reason


@pytest.mark.parametrize(
    ("data", "look", "match"),
    [
        ((12, 25), 0, r"`look` of analyze must be an integer in \[1, 3\]; got 0"),
        ((12, 25), 4, r"`look` of analyze must be an integer in \[1, 3\]; got 4"),
        ((12, 25), 3, r"have reached.*look 3 \(n = 40\).*n = 25"),
        ((12, 25), 1, r"not passed.*look 1 \(n = 15\).*reaches look 2 \(n = 25\)"),
        ((2, 5), 1, r"have reached"),
        ((12, 25), "2", r"`look`"),
    ],
)
def test_bad_look(data, look, match):
    with pytest.raises(DesignError, match=match):
        analyze(FRONTLINE_PP, data, look=look)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ((16, 15), r"r <= n; got '16/15'"),
        ("41/41", r"n <= 40 \(the final look\); got '41/41'"),
        ((-1, 15), r"non-negative counts"),
        ((3, -2), r"non-negative counts"),
        ("3-15", r"`data` of analyze must be a pair \(r, n\) or the string 'r/n'"),
        ("a/15", r"'r/n'"),
        ((3.5, 15), r"'r/n'"),
        ((True, 15), r"'r/n'"),
        ((1, 2, 3), r"'r/n'"),
        ({"frontline": (3, 15)}, r"one key 'cohort' or 'frontline-pp'"),
        (None, r"'r/n'"),
    ],
)
def test_bad_single_cohort_data(data, match):
    with pytest.raises(DesignError, match=match):
        analyze(FRONTLINE_PP, data)


def test_other_argument_errors():
    with pytest.raises(DesignError, match=r"`engine` of analyze must be one of"):
        analyze(FRONTLINE_PP, (3, 15), engine="mcmc")
    with pytest.raises(DesignError, match=r"'quadrature' for a single-cohort design"):
        analyze(FRONTLINE_PP, (3, 15), engine="pymc")
    with pytest.raises(DesignError, match=r"`design` of analyze must be a Design or CohortDesign"):
        analyze("designs/frontline-pp.toml", (3, 15))
    assert analyze(FRONTLINE_PP, {"cohort": "5/15"}) == analyze(FRONTLINE_PP, (5, 15))
    assert analyze(FRONTLINE_PP, {"frontline-pp": [5, 15]}) == analyze(FRONTLINE_PP, "5/15")


def test_parse_data():
    assert parse_data("12/20") == "12/20"
    assert parse_data(" frontline=12/20, post_io = 3/18 ") == {"frontline": "12/20",
                                                               "post_io": "3/18"}
    for bad in ("", "1/2,3/4", "a=1/2,3/4", "a=1/2,a=3/4"):
        with pytest.raises(DesignError, match="`data` of analyze"):
            parse_data(bad)


# ---------------------------------------------------------------------------
# the result object
# ---------------------------------------------------------------------------
def test_result_is_immutable_and_serialisable():
    res = analyze(FRONTLINE_PP, (12, 25))
    assert isinstance(res, AnalysisResult)
    assert hash(res) == hash(analyze(FRONTLINE_PP, "12/25")) and res == analyze(FRONTLINE_PP,
                                                                               "12/25")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.look = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res["cohort"].decision = "success"  # type: ignore[misc]
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert {"cohorts", "look", "n_look", "design", "design_hash", "engine",
            "adaptive2_version"} <= set(d)
    c = d["cohorts"]["cohort"]
    assert {"mean", "sd", "interval", "p_above_p0", "p_above_p1", "predictive_probability",
            "decision", "components", "conflict_p"} <= set(c)
    assert set(c["components"][0]) == {"w", "a", "b"}
    assert d["design"] == "frontline-pp" and d["design_hash"] == FRONTLINE_PP.hash
    assert c["decision"] == res["cohort"].decision and c["mean"] == res["cohort"].mean
    frame = res.to_frame()
    assert list(frame.index) == ["cohort"]
    assert frame.loc["cohort", "predictive_probability"] == res["cohort"].predictive_probability
    text = str(res)
    assert "decision: continue" in text and res["cohort"].distance in text
    with pytest.raises(KeyError, match="cohorts are"):
        res["frontline"]


def test_html_escapes_user_strings():
    d = FRONTLINE_PP.replace(name="<script>x</script>")
    page = a2.html_card(analyze(d, (12, 25)))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") == 2


# ---------------------------------------------------------------------------
# multi-cohort designs
# ---------------------------------------------------------------------------
INDEP = CohortDesign(
    name="independent",
    model=Model(kind="independent"),
    cohorts=(Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 25))),
    futility=PosteriorProbability(p0=0.4, cutoff=0.1),
    final=PosteriorProbability(p0=0.4, cutoff=0.9),
)


def _ref_indep(p0, r, n):
    """Posterior of p under theta = logit p - logit p0 ~ N(0, 2^2), by 1-D quadrature."""
    off = special.logit(p0)

    def lik(t, rr, nn):
        return np.exp(rr * special.log_expit(t + off) + (nn - rr) * special.log_expit(-t - off))

    dens = lambda t: stats.norm.pdf(t, 0, 2) * lik(t, r, n)  # noqa: E731
    opts = {"epsabs": 0, "epsrel": 1e-11, "limit": 200}
    z, _ = integrate.quad(dens, -30, 30, **opts)

    def expect(f, lo=-30.0):
        return integrate.quad(lambda t: f(t) * dens(t), lo, 30, **opts)[0] / z

    return z, expect


def _check_independent_cohort(got, c, r, n, cutoff):
    _, expect = _ref_indep(c.p0, r, n)

    def p(t):
        return special.expit(t + special.logit(c.p0))

    mean = expect(p)
    assert got.mean == pytest.approx(mean, abs=2e-6)
    assert got.sd == pytest.approx(math.sqrt(expect(lambda t: p(t) ** 2) - mean**2), abs=2e-6)
    lo = special.logit(c.p1) - special.logit(c.p0)
    assert got.p_above_p0 == pytest.approx(expect(lambda t: 1.0, lo=0.0), abs=2e-6)
    assert got.p_above_p1 == pytest.approx(expect(lambda t: 1.0, lo=lo), abs=2e-6)
    # predictive probability: sum over future x of P(x | data) 1{final success}
    n_max = c.looks[-1]
    m = n_max - n
    pp = 0.0
    for x in range(m + 1):
        px = expect(lambda t, x=x: stats.binom.pmf(x, m, p(t)))
        _, ex_final = _ref_indep(c.p0, r + x, n_max)
        pp += px * (ex_final(lambda t: 1.0, lo=0.0) > cutoff)
    assert got.predictive_probability == pytest.approx(pp, abs=1e-5)
    # prior-data conflict: prior predictive of r by quadrature
    prior = np.array([
        integrate.quad(lambda t, k=k: stats.binom.pmf(k, n, p(t)) * stats.norm.pdf(t, 0, 2),
                       -30, 30, epsrel=1e-11)[0]
        for k in range(n + 1)
    ])
    assert got.conflict.p_lower == pytest.approx(prior[: r + 1].sum(), abs=1e-6)
    two_sided = min(1.0, 2 * min(prior[: r + 1].sum(), prior[r:].sum()))  # tail-area form
    assert got.conflict_p == pytest.approx(two_sided, abs=1e-6)
    assert got.components == () and got.p_exchangeable is None


def test_independent_model_matches_one_dimensional_quadrature():
    data = {"frontline": (8, 14), "post_io": (2, 12)}
    res = _quiet(INDEP, data)
    for c in INDEP.cohorts:
        r, n = data[c.name]
        _check_independent_cohort(res[c.name], c, r, n, cutoff=0.9)


@pytest.fixture(scope="module")
def bhm():
    return dataclasses.replace(load_any(DESIGNS_DIR / "two-cohort-bhm.toml"), grid=COARSE)


@pytest.fixture(scope="module")
def exnex():
    return dataclasses.replace(load_any(DESIGNS_DIR / "two-cohort-exnex.toml"), grid=COARSE)


def test_multi_cohort_posterior_agrees_with_hierarchical_posterior(bhm):
    data = {"frontline": (12, 20), "post_io": (3, 15)}
    res = analyze(bhm, {"frontline": "12/20", "post_io": (3, 15)})
    ref = posterior(bhm.model, bhm.cohorts, data, grid=COARSE)
    for name in bhm.names:
        got = res[name]
        assert got.mean == pytest.approx(ref[name]["mean"], rel=1e-12)
        assert got.sd == pytest.approx(ref[name]["sd"], rel=1e-12)
        assert list(got.interval) == pytest.approx(ref[name]["interval"], rel=1e-12)
        assert got.p_above_p0 == pytest.approx(ref[name]["p_above_p0"], rel=1e-12)
        assert got.look == 1 and got.decision == "continue"
    # P(p > p1) agrees with the posterior of a model whose offsets sit at p1
    # (logit scale: thresholds only enter through the cohort's p0 there)
    scaled = dataclasses.replace(bhm.model, scale="logit", historical=())
    d2 = dataclasses.replace(bhm, model=scaled)
    res2 = analyze(d2, data)
    moved = tuple(dataclasses.replace(c, p0=c.p1) for c in d2.cohorts)
    ref2 = posterior(scaled, moved, data, grid=COARSE)
    for name in bhm.names:
        assert res2[name].p_above_p1 == pytest.approx(ref2[name]["p_above_p0"], abs=1e-9)
    assert res.to_dict()["n_look"] == {"frontline": 20, "post_io": 15}
    assert hash(res) == hash(analyze(bhm, data))  # a hashable value object


def _two_future(design):
    """The design with frontline's looks (10, 12): 2 patients to come after look 1."""
    cohorts = (dataclasses.replace(design.cohorts[0], looks=(10, 12)), design.cohorts[1])
    return dataclasses.replace(design, cohorts=cohorts)


@pytest.mark.parametrize("which", ["bhm", "exnex"])
def test_multi_cohort_predictive_probability_moment_identity(which, request):
    design = _two_future(request.getfixturevalue(which))
    data = {"frontline": (6, 10), "post_io": (3, 15)}
    res = analyze(design, data)["frontline"]
    post = posterior(design.model, design.cohorts, data, grid=COARSE)["frontline"]
    mean, second = post["mean"], post["sd"] ** 2 + post["mean"] ** 2
    pmf = [1 - 2 * mean + second, 2 * (mean - second), second]  # P(X = x), X ~ Bin(2, p)
    success = [
        _quiet(design, {"frontline": (6 + x, 12), "post_io": (3, 15)})["frontline"].decision
        == "success"
        for x in range(3)
    ]
    assert 0 < sum(success) < 3  # the identity is exercised
    assert res.predictive_probability == pytest.approx(np.dot(pmf, success), abs=5e-4)
    # one patient to come: P(X = 1) = E[p]
    with pytest.warns(StatisticalWarning, match="between look 1"):
        res1 = analyze(design, {"frontline": (6, 11), "post_io": (3, 15)})["frontline"]
    post1 = posterior(design.model, design.cohorts, {"frontline": (6, 11), "post_io": (3, 15)},
                      grid=COARSE)["frontline"]
    success1 = [_quiet(design, {"frontline": (6 + x, 12), "post_io": (3, 15)})["frontline"]
                .decision == "success" for x in range(2)]
    expected = (1 - post1["mean"]) * success1[0] + post1["mean"] * success1[1]
    assert res1.predictive_probability == pytest.approx(expected, abs=5e-4)


def test_exnex_exchangeability_weight_decomposes_the_posterior_mean(exnex):
    data = {"frontline": (12, 20), "post_io": (1, 15)}
    res = analyze(exnex, data)
    for name in exnex.names:
        pi = res[name].p_exchangeable
        assert 0 < pi < 1 and res[name].conflict.posterior_weights == (pi, 1 - pi)
        other = next(n for n in exnex.names if n != name)
        means = []
        for w in (1.0, 0.0):
            model = dataclasses.replace(exnex.model, weight={name: w, other: 0.5})
            means.append(posterior(model, exnex.cohorts, data, grid=COARSE)[name]["mean"])
        assert res[name].mean == pytest.approx(pi * means[0] + (1 - pi) * means[1], abs=1e-5)


@pytest.mark.parametrize("path", MULTI_COHORT, ids=lambda p: p.stem)
def test_multi_cohort_decisions_agree_with_boundaries(path):
    design = dataclasses.replace(load_any(path), grid=COARSE)
    rows = design.boundaries()
    for row in rows:
        k, name, n = row["look"] - 1, row["cohort"], row["n"]
        others = row["others_at"]
        a, b = row["futility_max_r"], row["efficacy_min_r"]
        final = k == design.n_looks - 1
        probes = {x for x in (a, None if a is None else a + 1, b, None if b is None else b - 1)
                  if x is not None and 0 <= x <= n}
        n_at = {c.name: c.looks[k] for c in design.cohorts}
        for r in sorted(probes):
            data = {name: (r, n), **{o: (ro, n_at[o]) for o, ro in others.items()}}
            dec = _quiet(design, data)[name].decision
            if final:
                assert dec == ("success" if b is not None and r >= b else "failure"), (r, row)
            elif a is not None and r <= a:
                assert dec == "stop for futility", (r, row)
            elif b is not None and r >= b:
                assert dec == "stop for efficacy", (r, row)
            else:
                assert dec == "continue", (r, row)


def test_multi_cohort_distance_counts_flip_the_decision(bhm):
    data = {"frontline": (12, 20), "post_io": (3, 15)}
    res = analyze(bhm, data)
    for c in bhm.cohorts:
        got = res[c.name]
        nl = got.next_look
        assert nl.final and nl.n == c.looks[-1]
        y = nl.responses_for_efficacy
        assert 1 <= y <= nl.patients
        assert (y, nl.patients) in [tuple(map(int, g)) for g in NEED.findall(got.distance)]
        r = data[c.name][0]
        for x, want in ((y, "success"), (y - 1, "failure")):
            later = dict(data, **{c.name: (r + x, c.looks[-1])})
            assert _quiet(bhm, later)[c.name].decision == want
        assert got.distance.endswith("given the other cohorts' data")


def test_multi_cohort_errors_and_missing_cohorts(bhm):
    with pytest.raises(DesignError, match=r"cohort names in \{frontline, post_io\}; got 'front'"):
        analyze(bhm, {"front": (1, 2)})
    with pytest.raises(DesignError, match=r"`data\['post_io'\]` of analyze must be counts with "
                                          r"n <= 30 \(the final look\); got '3/31'"):
        analyze(bhm, {"frontline": (1, 20), "post_io": "3/31"})
    with pytest.raises(DesignError, match=r"`data\['frontline'\]`.*r <= n"):
        analyze(bhm, {"frontline": (21, 20)})
    with pytest.raises(DesignError, match=r"a mapping cohort"):
        analyze(bhm, (3, 15))
    with pytest.raises(DesignError, match=r"cohort 'post_io' has n = 15"):
        analyze(bhm, {"frontline": (25, 40), "post_io": (3, 15)}, look=2)
    with pytest.warns(StatisticalWarning, match="cohort 'post_io': n = 0 is before look 1"):
        res = analyze(bhm, {"frontline": (12, 20)})
    assert res["post_io"].decision == "continue" and res["post_io"].look is None
    assert res.look == 1


def test_cohort_stopped_at_an_earlier_look_is_not_re_decided(bhm):
    """post_io at look 1 while frontline is at look 2: post_io stopped at look 1.

    Its decision was taken with frontline's look-1 data, which the data do not hold;
    re-deciding it with frontline's look-2 data (sizes (40, 15) at look 1) is a
    combination the design never evaluates: reported as stopped, the re-decision
    kept as hypothetical, with a StatisticalWarning.
    """
    from adaptive2.model.cohorts import _decisions

    data = {"frontline": (24, 40), "post_io": (1, 15)}
    with pytest.warns(StatisticalWarning, match=r"cohort 'post_io' is at look 1 \(n = 15\) "
                                                r"while another cohort has reached look 2"):
        res = analyze(bhm, data)
    post, front = res["post_io"], res["frontline"]
    assert post.decision == "stopped at look 1" and post.look == 1
    masks = _decisions(bhm, 0, (40, 15))["post_io"]
    want = ("stop for futility" if masks["futility"][24, 1]
            else "stop for efficacy" if masks["efficacy"][24, 1] else "continue")
    assert post.hypothetical_decision == want
    assert f"would give {want!r} (hypothetical" in post.reason
    assert post.next_look is None and "stopped at look 1" in post.distance
    assert any("stopped at look 1" in w for w in res.warnings)
    assert post.to_dict()["hypothetical_decision"] == want
    assert "stopped at look 1" in str(res)
    # the running cohort is decided as the design does: post_io at its data at stopping
    success = _decisions(bhm, 1, (40, 15))["frontline"]["efficacy"][24, 1]
    assert front.decision == ("success" if success else "failure")
    assert front.hypothetical_decision is None and res.look == 2
    # cohorts at the same look: nothing stopped, nothing hypothetical
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        same = analyze(bhm, {"frontline": (12, 20), "post_io": (1, 15)})
    assert all(c.hypothetical_decision is None for c in same.cohorts)
    assert same["post_io"].decision != "stopped at look 1"


@pytest.mark.slow
def test_pymc_engine_side_by_side(bhm):
    need_pymc()
    from adaptive2._base.errors import ConvergenceWarning

    data = {"frontline": (12, 20), "post_io": (3, 15)}
    with pytest.warns(ConvergenceWarning, match=r"(R-hat of `.+` is \d\.\d{3}|bulk ESS of `.+` "
                                                r"is \d+|\d+ of \d+ NUTS transitions diverged)"):
        short = analyze(bhm, data, engine="pymc", seed=1, draws=30, tune=30, chains=2)
    assert short.diagnostics["problems"] and short.warnings
    res = analyze(bhm, data, engine="pymc", seed=2, draws=1000, tune=1000, chains=4)
    assert res.idata is not None and "posterior" in res.idata.groups()
    assert res.engine == "pymc" and res.to_dict()["diagnostics"]["chains"] == 4
    quad = analyze(bhm, data)
    for name in bhm.names:
        nuts, q = res[name].pymc, quad[name]
        assert res[name].mean == q.mean  # the quadrature figures are unchanged
        assert abs(nuts["mean"] - q.mean) <= 4 * nuts["mcse_mean"] + 2e-3
        assert abs(nuts["p_above_p0"] - q.p_above_p0) <= 4 * nuts["mcse_p_above_p0"] + 2e-3
        assert nuts["predictive_probability"] == pytest.approx(q.predictive_probability, abs=0.03)
        assert nuts["p_above_p1"] == pytest.approx(q.p_above_p1, abs=0.03)
    assert "NUTS: mean" in str(res) and "pymc_mean" in res.to_frame().columns
    json.dumps(res.to_dict(), allow_nan=False)


def test_analyze_stays_the_function_after_its_module_is_imported():
    import sys

    import adaptive2
    import adaptive2.engines.analysis

    assert callable(adaptive2.analyze) and not isinstance(adaptive2.analyze, type(sys))
    assert "analyze" in adaptive2.__all__


@pytest.mark.slow
def test_pymc_exchangeability_weight_matches_quadrature(exnex):
    need_pymc()
    data = {"frontline": (12, 20), "post_io": (1, 15)}
    res = analyze(exnex, data, engine="pymc", seed=3, draws=1000, tune=1000, chains=4)
    for name in exnex.names:
        nuts = res[name].pymc
        assert nuts["p_exchangeable"] == pytest.approx(res[name].p_exchangeable, abs=0.03)
        assert abs(nuts["mean"] - res[name].mean) <= 4 * nuts["mcse_mean"] + 2e-3
