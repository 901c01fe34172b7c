"""Type I error over the whole null region: brute force, closed forms, Monte Carlo, calibration."""

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from adaptive2 import Beta, Design, oc
from adaptive2._base.errors import DesignError
from adaptive2.cli import main
from adaptive2.engines.borrowing import borrowing_summary, independent_twin
from adaptive2.engines.cohort_calibration import calibrate_cohorts, gaps
from adaptive2.engines.cohort_exact import cohort_oc, efficacy_matrix
from adaptive2.engines.null_region import null_region
from adaptive2.io.design_files import cohort_design_from_dict, cohort_design_to_dict, load_any
from adaptive2.model.cohorts import CohortDesign, attainable
from adaptive2.model.hierarchical import Cohort, Historical, Model
from adaptive2.model.rules import Boundary, PosteriorProbability
from adaptive2.model.scenarios import CohortScenario

from _shipped import MULTI_COHORT

SMALL = (Cohort("frontline", 0.4, 0.6, (8, 16)), Cohort("post_io", 0.1, 0.3, (6, 12)))
TIED = Model(historical=(Historical("phase1", 16, 20, tie="frontline", weight=0.5),))


def _small(model=TIED, final=0.9, futility=0.1, **kw):
    return CohortDesign(
        name="small", model=model, cohorts=SMALL,
        futility=PosteriorProbability(0.4, futility) if futility is not None else None,
        final=PosteriorProbability(0.4, final), **kw,
    )


def _brute(design, j, own=41, other=801, ranges=None):
    """P(efficacy) of cohort j on a fine product grid (two cohorts)."""
    c = design.cohorts[j]
    k = 1 - j
    lo, hi = (ranges or {}).get(design.cohorts[k].name, (0.0, 1.0))
    a = np.linspace(0, c.p0, own)
    b = np.linspace(lo, hi, other)
    A, B = np.meshgrid(a, b, indexing="ij")
    cols = [A.ravel(), B.ravel()] if j == 0 else [B.ravel(), A.ravel()]
    T, E = efficacy_matrix(design, np.stack(cols, axis=1))
    v = (T @ E[:, j]).reshape(A.shape)
    return float(v.max())


# ---------------------------------------------------------------------------
# The supremum
# ---------------------------------------------------------------------------
def test_null_region_equals_a_fine_brute_force_grid():
    d = _small()
    nr = null_region(d)
    for j, c in enumerate(d.names):
        brute = _brute(d, j)
        sup = nr.cohorts[c].max_type1
        assert sup >= brute - 1e-12  # the refinement is at least as high as any grid point
        assert sup - brute <= 1e-4
        # the reported argmax reproduces the reported value exactly
        x = np.array([[nr.cohorts[c].argmax[n] for n in d.names]])
        T, E = efficacy_matrix(d, x)
        assert float((T @ E[:, j])[0]) == pytest.approx(sup, abs=1e-14)
        assert 0.0 <= nr.cohorts[c].argmax[c] <= d.cohorts[j].p0


def test_borrowing_makes_the_worst_case_exceed_every_listed_null_scenario():
    """The listed scenarios miss the worst case: it sits at a neighbour rate nobody listed."""
    d = _small(scenarios=(CohortScenario("null", {"frontline": 0.4, "post_io": 0.1}),
                          CohortScenario("alt", {"frontline": 0.6, "post_io": 0.3})))
    nr = null_region(d)
    listed = cohort_oc(d).sel(scenario="null")["p_efficacy"]
    for c in d.names:
        assert nr.cohorts[c].max_type1 >= float(listed.sel(cohort=c)) - 1e-12
    assert max(nr.cohorts[c].max_type1 - float(listed.sel(cohort=c)) for c in d.names) > 0.01


def _posterior_above(r, n, p0, m=0.0, s=2.0):
    """P(p > p0 | r of n), logit(p) − logit(p0) ~ N(m, s²): 1-D quadrature (independent)."""
    off = special.logit(p0)

    def f(t):
        p = special.expit(t + off)
        return np.exp(special.xlogy(r, p) + special.xlog1py(n - r, -p)) * stats.norm.pdf(t, m, s)

    lim = m + 12 * s  # the prior mass beyond 12 sd is below 1e-32
    num = integrate.quad(f, 0, lim, epsabs=0, epsrel=1e-12, limit=200)[0]
    return num / (num + integrate.quad(f, -lim, 0, epsabs=0, epsrel=1e-12, limit=200)[0])


def test_without_borrowing_each_curve_is_flat_and_equals_the_single_cohort_alpha():
    d = _small(model=Model(kind="independent"), final=0.95, futility=0.2)
    nr = null_region(d)
    for c in d.cohorts:
        surface = nr.cohorts[c.name].surface
        at_p0 = surface.sel({c.name: c.p0}).values
        assert np.ptp(at_p0) < 1e-12  # the neighbour's rate does not matter
        # the single-cohort design with the same integer boundaries (from an independent
        # 1-D quadrature of the N(0, 2²) prior on the log-odds offset) has the same alpha
        fut = [max((r for r in range(n + 1) if _posterior_above(r, n, c.p0) <= 0.2),
                   default=-1) for n in c.looks[:-1]]
        eff = min(r for r in range(c.looks[-1] + 1)
                  if _posterior_above(r, c.looks[-1], c.p0) > 0.95)
        single = Design(name=c.name, prior=Beta(1, 1), looks=c.looks, p0=c.p0,
                        futility=Boundary(tuple(fut)), final=Boundary(eff - 1))
        alpha = float(oc(single, [c.p0])["p_efficacy"].values[0])
        assert nr.cohorts[c.name].max_type1 == pytest.approx(alpha, abs=1e-10)


def test_monte_carlo_twin_agrees_at_the_worst_point_within_3_mcse():
    d = _small()
    nr = null_region(d, fwer=False)
    for c in d.names:
        where = CohortScenario("worst", nr.cohorts[c].argmax)
        mc = oc(d, [where], method="simulate", n_sims=40_000, seed=20261205)
        est = float(mc["p_efficacy"].sel(cohort=c).values[0])
        se = float(mc["p_efficacy_mcse"].sel(cohort=c).values[0])
        assert abs(est - nr.cohorts[c].max_type1) <= 3 * se


def test_fwer_at_the_global_null_and_its_supremum():
    d = _small()
    nr = null_region(d)
    gn = CohortScenario("global null", {c.name: c.p0 for c in d.cohorts})
    assert nr.fwer_global_null == pytest.approx(float(cohort_oc(d, [gn])["fwer"][0]), abs=1e-13)
    # the supremum covers the global null and each cohort's own supremum where the neighbour
    # is above its p0 (brute force over that part of the region)
    assert nr.max_fwer >= nr.fwer_global_null - 1e-12
    for j in range(2):
        k = d.cohorts[1 - j]
        assert nr.max_fwer >= _brute(d, j, other=201, ranges={k.name: (k.p0, 1.0)}) - 1e-12
    rates = nr.argmax_fwer["rates"]
    null = [c for c in d.names if rates[c] <= dict(zip(d.names, [x.p0 for x in d.cohorts],
                                                       strict=True))[c] + 1e-12]
    assert set(nr.argmax_fwer["null_cohorts"]) <= set(null)


def test_declared_ranges_confine_the_neighbour():
    d = _small()
    full = null_region(d, fwer=False)
    where = full.cohorts["post_io"].argmax["frontline"]
    rng = {"frontline": (0.0, max(0.05, where - 0.2))}
    part = null_region(d, ranges=rng, fwer=False)
    assert part.cohorts["post_io"].max_type1 <= full.cohorts["post_io"].max_type1 + 1e-12
    assert part.cohorts["post_io"].argmax["frontline"] <= rng["frontline"][1] + 1e-12
    assert part.cohorts["post_io"].max_type1 == pytest.approx(
        _brute(d, 1, ranges=rng), abs=1e-4)
    # a design file declares the same range
    data = cohort_design_to_dict(d)
    data["cohorts"]["frontline"]["range"] = list(rng["frontline"])
    declared = cohort_design_from_dict(data)
    assert declared.range_of("frontline") == rng["frontline"]
    assert null_region(declared, fwer=False).cohorts["post_io"].max_type1 == pytest.approx(
        part.cohorts["post_io"].max_type1, abs=1e-15)


@pytest.mark.parametrize("bad", [[0.5, 0.4], [0.2], [-0.1, 0.5], "wide"])
def test_a_bad_range_names_the_key(bad):
    data = cohort_design_to_dict(_small())
    data["cohorts"]["post_io"]["range"] = bad
    with pytest.raises(DesignError, match=r"cohorts.post_io.*`range`"):
        cohort_design_from_dict(data)


def test_three_cohorts_coordinate_search_matches_brute_force():
    cohorts = (Cohort("a", 0.2, 0.4, (10,)), Cohort("b", 0.3, 0.5, (8,)),
               Cohort("c", 0.1, 0.3, (8,)))
    d = CohortDesign(name="three", model=Model(kind="hierarchical"), cohorts=cohorts,
                     final=PosteriorProbability(0.2, 0.85))
    nr = null_region(d)
    g = np.linspace(0, 1, 41)
    for j, c in enumerate(cohorts):
        axes = [np.linspace(0, c.p0, 9) if i == j else g for i in range(3)]
        mesh = np.meshgrid(*axes, indexing="ij")
        T, E = efficacy_matrix(d, np.stack([m.ravel() for m in mesh], axis=1))
        brute = float((T @ E[:, j]).max())
        assert nr.cohorts[c.name].max_type1 >= brute - 1e-12
        assert nr.cohorts[c.name].max_type1 - brute <= 5e-3  # the brute grid is coarse
    assert nr.max_fwer >= nr.fwer_global_null - 1e-12


def test_null_region_validates_its_arguments():
    d = _small()
    with pytest.raises(DesignError, match="`cohorts` of null_region"):
        null_region(d, cohorts=["nope"])
    with pytest.raises(DesignError, match="`ranges` of null_region"):
        null_region(d, ranges={"nope": (0, 1)})
    with pytest.raises(DesignError, match="`design` of null_region"):
        null_region("two-cohort.toml")


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------
def test_calibration_controls_the_null_region_and_is_tight():
    d = _small(final=0.9)
    res = calibrate_cohorts(d, alpha=0.10)
    out = res.design
    assert out.alpha == 0.10
    for j, c in enumerate(out.names):
        brute = _brute(out, j)
        assert brute <= 0.10 + 1e-12
        assert res.table.loc[c, "max_type1"] >= brute - 1e-12
        # tight: the next lower usable cutoff breaks alpha somewhere in the null region
        opts = gaps(attainable(out, c, "final"), margin=1e-5, within=(0.5, 0.9999))
        i = [o[2] for o in opts].index(res.table.loc[c, "cutoff"])
        if i > 0:
            final = {n: out.rule("final", n) for n in out.names}
            final[c] = final[c].replace(cutoff=opts[i - 1][2])
            looser = dataclasses.replace(out, final=final)
            assert _brute(looser, j) > 0.10


def test_calibrated_cutoffs_sit_in_the_middle_of_their_gap():
    res = calibrate_cohorts(_small(), alpha=0.10)
    for c, row in res.table.iterrows():
        vals = attainable(res.design, str(c), "final")
        assert np.min(np.abs(vals - row["cutoff"])) >= 1e-5
        assert row["gap_low"] < row["cutoff"] < row["gap_high"]
        assert row["margin"] >= (row["gap_high"] - row["gap_low"]) / 4 - 1e-15 or (
            row["margin"] >= 1e-5)
        # the fewest digits in the middle half of the gap
        assert len(repr(row["cutoff"])) <= len(repr(round(row["cutoff"], 8)))


def test_fwer_control():
    d = _small()
    res = calibrate_cohorts(d, alpha=0.10, control="fwer")
    check = null_region(res.design, step=0.005, own_points=21, starts=5)
    assert check.max_fwer <= 0.10 + 1e-12
    per_cohort = calibrate_cohorts(d, alpha=0.10)
    for c in d.names:  # FWER control is stricter than per-cohort control
        assert res.table.loc[c, "cutoff"] >= per_cohort.table.loc[c, "cutoff"]


def test_non_binding_calibration_ignores_futility():
    d = _small(futility=0.3)
    nb = calibrate_cohorts(d, alpha=0.10, binding=False)
    free = dataclasses.replace(nb.design, futility=None)
    for j in range(2):
        assert _brute(free, j) <= 0.10 + 1e-12
    assert nb.design.futility == d.futility  # the written design keeps its futility rule


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n1=st.integers(4, 9), n2=st.integers(4, 9), p0a=st.sampled_from([0.2, 0.3, 0.4]),
    p0b=st.sampled_from([0.1, 0.15, 0.25]), alpha=st.sampled_from([0.05, 0.1, 0.15]),
    kind=st.sampled_from(["hierarchical", "exnex"]), fut=st.sampled_from([None, 0.1, 0.3]),
)
def test_calibration_then_verification_never_ends_above_alpha(n1, n2, p0a, p0b, alpha, kind,
                                                              fut):
    cohorts = (Cohort("a", p0a, p0a + 0.2, (n1, 2 * n1)), Cohort("b", p0b, p0b + 0.2, (n2, 2 * n2)))
    d = CohortDesign(name="h", model=Model(kind=kind), cohorts=cohorts,
                     futility=PosteriorProbability(p0a, fut) if fut else None,
                     final=PosteriorProbability(p0a, 0.9))
    res = calibrate_cohorts(d, alpha=alpha)
    for j, c in enumerate(d.names):
        brute = _brute(res.design, j, own=21, other=401)
        if res.table.loc[c, "feasible"]:
            assert brute <= alpha + 1e-12
            assert res.table.loc[c, "max_type1"] >= brute - 1e-12


def test_calibration_needs_posterior_final_rules():
    d = CohortDesign(name="b", model=Model(kind="independent"), cohorts=SMALL,
                     final={"frontline": Boundary((9,)), "post_io": Boundary((3,))})
    with pytest.raises(DesignError, match="must be a posterior rule"):
        calibrate_cohorts(d)


# ---------------------------------------------------------------------------
# Decisions a rounding cannot flip
# ---------------------------------------------------------------------------
def _stats(design):
    """Every (slot, cohort, rule, attainable values) the design's decisions compare."""
    for slot in ("futility", "efficacy", "final"):
        for c in design.cohorts:
            rule = design.rule(slot, c.name)
            if rule is None or isinstance(rule, Boundary):
                continue
            yield slot, c, rule, attainable(design, c.name, slot)


@pytest.mark.parametrize("path", MULTI_COHORT, ids=lambda p: p.stem)
def test_shipped_decisions_survive_a_1e_6_perturbation_of_every_posterior(path):
    d = load_any(path)
    for slot, c, rule, values in _stats(d):
        cut = getattr(rule, "cutoff", None)
        if cut is None:
            cut = rule.threshold
        for eps in (-1e-6, 1e-6):
            before = values > cut if slot != "futility" else values <= cut
            after = (values + eps > cut) if slot != "futility" else (values + eps <= cut)
            assert np.array_equal(before, after), (path.stem, slot, c.name)


@pytest.mark.parametrize("path", MULTI_COHORT, ids=lambda p: p.stem)
def test_shipped_designs_control_alpha_over_the_whole_null_region(path):
    d = load_any(path)
    assert d.alpha is not None
    nr = null_region(d)
    assert all(nr.within().values()), nr.table()
    # also with futility ignored (non-binding)
    free = null_region(dataclasses.replace(d, futility=None), fwer=False)
    assert all(free.within(d.alpha).values())


# ---------------------------------------------------------------------------
# Borrowing against independent analysis at matched alpha
# ---------------------------------------------------------------------------
def test_matched_comparison():
    d = _small(scenarios=(
        CohortScenario("alt", {"frontline": 0.6, "post_io": 0.3}),
        CohortScenario("between", {"frontline": 0.5, "post_io": 0.3}),
    ))
    bs = borrowing_summary(d)
    twin = independent_twin(d)
    assert twin.model.kind == "independent"
    assert twin.model.historical == d.model.historical  # tied to frontline: kept
    for c in d.names:
        row = bs.type1.loc[c]
        assert row["type1_independent"] <= row["max_type1"] + 1e-12
        assert row["type1_inflation"] == pytest.approx(
            row["max_type1"] - row["type1_same_cutoffs"], abs=1e-15)
    # power rows: every listed alternative of the cohort, the global alternative and the
    # cohort alone at p1; never "between" for frontline (0.5 is neither null nor alternative)
    front = bs.power[bs.power["cohort"] == "frontline"]
    assert "between" not in set(front["scenario"])
    assert set(front["configuration"]) == {"frontline=0.6, post_io=0.3",
                                           "frontline=0.6, post_io=0.1"}
    listed = cohort_oc(d)
    alt = float(listed["p_efficacy"].sel(scenario="alt", cohort="frontline"))
    assert float(front[front["scenario"] == "alt"]["power"].iloc[0]) == pytest.approx(
        alt, abs=1e-12)
    post = bs.power[bs.power["cohort"] == "post_io"]
    assert "between" in set(post["scenario"])
    ind = cohort_oc(bs.independent, [CohortScenario("x", {"frontline": 0.6, "post_io": 0.3})])
    row = post[post["configuration"] == "frontline=0.6, post_io=0.3"].iloc[0]
    assert row["power_independent"] == pytest.approx(
        float(ind["p_efficacy"].sel(cohort="post_io")[0]), abs=1e-12)
    # without borrowing the power curve against the neighbour's rate is flat
    curve = bs.curves[bs.curves["cohort"] == "post_io"]
    assert np.ptp(curve["power_independent"]) < 1e-12


# ---------------------------------------------------------------------------
# Futility that earns its look
# ---------------------------------------------------------------------------
def test_single_cohort_futility_calibration_is_optimal():
    from adaptive2.engines.calibration import set_parameter
    from adaptive2.engines.futility import calibrate_futility

    d = Design(name="x", prior=Beta(0.2, 0.8), looks=(15, 30), p0=0.2, p1=0.4,
               futility=PosteriorProbability(0.2, 0.05), final=PosteriorProbability(0.2, 0.95))
    res = calibrate_futility(d, max_power_loss=0.02)
    row = res.table.iloc[0]
    ref = float(oc(d.replace(futility=None), [0.4])["p_efficacy"][0])
    got = oc(res.design, [0.2, 0.4])
    assert ref - float(got["p_efficacy"][1]) <= 0.02 + 1e-12
    assert float(got["p_early_stop"][0]) == pytest.approx(row["p_early_stop_null_after"])
    # brute force over cutoffs: none within the power loss stops more often under p0
    best = 0.0
    for cut in np.linspace(0.001, 0.999, 999):
        t = oc(set_parameter(d, "futility.cutoff", float(cut)), [0.2, 0.4])
        if ref - float(t["p_efficacy"][1]) <= 0.02 + 1e-12:
            best = max(best, float(t["p_early_stop"][0]))
    assert row["p_early_stop_null_after"] == pytest.approx(best, abs=1e-12)


def test_multi_cohort_futility_calibration():
    from adaptive2.engines.futility import calibrate_futility

    d = _small(futility=0.05)
    res = calibrate_futility(d, max_power_loss=0.02)
    none = dataclasses.replace(d, futility=None)
    for j, c in enumerate(d.names):
        row = res.table.loc[c]
        assert row["power_loss"] <= 0.02 + 1e-12
        assert row["p_early_stop_null_after"] >= row["p_early_stop_null_before"] - 1e-12
        # the loss is checked at the global alternative and at the cohort alone at p1
        for rates in ([0.6, 0.3], [0.6, 0.1] if j == 0 else [0.4, 0.3]):
            r = np.array([rates])
            T0, E0 = efficacy_matrix(none, r)
            T1, E1 = efficacy_matrix(res.design, r)
            assert float((T0 @ E0[:, j])[0] - (T1 @ E1[:, j])[0]) <= 0.02 + 1e-12
    # P(early stop | global null) from the engine
    oc_gn = cohort_oc(res.design, [CohortScenario("gn", {"frontline": 0.4, "post_io": 0.1})])
    np.testing.assert_allclose(oc_gn["p_early_stop"].values[0],
                               res.table["p_early_stop_null_after"].values, atol=1e-12)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------
def test_cli_null_region_json(capsys):
    path = str(next(p for p in MULTI_COHORT if p.stem == "two-cohort-exnex"))
    assert main(["oc", path, "--null-region", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["cohorts"]) == {"frontline", "post_io"}
    for c in out["cohorts"].values():
        assert {"max_type1", "argmax"} <= set(c)
        assert set(c["argmax"]) == {"frontline", "post_io"}
    assert {"max_fwer", "argmax_fwer", "fwer_global_null", "borrowing"} <= set(out)
    nr = null_region(load_any(path))
    assert out["cohorts"]["post_io"]["max_type1"] == pytest.approx(
        nr.cohorts["post_io"].max_type1, abs=1e-15)
    assert main(["oc", path, "--null-region", "--range", "frontline=0.3,0.7"]) == 0
    assert "frontline in [0.3, 0.7]" in capsys.readouterr().out
    assert main(["oc", path, "--null-region", "--range", "nope=0,1"]) == 2
    assert main(["oc", path, "--range", "frontline=0,1"]) == 2


def test_cli_calibrate_multi_writes_a_loadable_design(tmp_path, capsys):
    path = tmp_path / "small.toml"
    from adaptive2.io.design_files import save_any

    save_any(_small(), path)
    out = tmp_path / "cal.toml"
    assert main(["calibrate", str(path), "--alpha", "0.1", "--json", "--write", str(out)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["target_alpha"] == 0.1 and payload["feasible"]
    assert set(payload["worst_case"]) == {"frontline", "post_io"}
    cal = load_any(out)
    assert cal.alpha == 0.1
    assert all(null_region(cal, fwer=False).within().values())
    assert main(["calibrate", str(out), "--futility", "--json"]) == 0
    fut = json.loads(capsys.readouterr().out)
    assert set(fut["cohorts"]) == {"frontline", "post_io"}
    assert main(["calibrate", str(out), "--control", "fwer", "--futility"]) == 2


# ---------------------------------------------------------------------------
# The rule as an integer decision table
# ---------------------------------------------------------------------------
def _oc_from_table(design, rates):
    """P(efficacy) per cohort by enumerating every joint path, deciding from the table alone."""
    rows = design.decision_table()
    names = design.names
    looks = [c.looks for c in design.cohorts]

    def bounds(k, j, other_n, other_stopped, other_r):
        for r in rows:
            if (r["look"] == k + 1 and r["cohort"] == names[j]
                    and r["others"] == f"{names[1 - j]} {other_n}"
                    + (" (stopped)" if other_stopped else "")
                    and r["other_r_from"] <= other_r <= r["other_r_to"]):
                return r["futility_max_r"], r["efficacy_min_r"]
        raise AssertionError("no row")

    def decide(k, j, rj, other_n, other_stopped, other_r):
        a, b = bounds(k, j, other_n, other_stopped, other_r)
        if b is not None and rj >= b:
            return "eff"
        if a is not None and rj <= a:
            return "fut"
        return "run"

    p_eff = np.zeros(2)
    m1 = [looks[j][0] for j in range(2)]
    m2 = [looks[j][1] - looks[j][0] for j in range(2)]
    for ra in range(m1[0] + 1):
        for rb in range(m1[1] + 1):
            w1 = stats.binom.pmf(ra, m1[0], rates[0]) * stats.binom.pmf(rb, m1[1], rates[1])
            r1 = (ra, rb)
            d1 = [decide(0, j, r1[j], m1[1 - j], False, r1[1 - j]) for j in range(2)]
            for xa in range(m2[0] + 1 if d1[0] == "run" else 1):
                for xb in range(m2[1] + 1 if d1[1] == "run" else 1):
                    w = w1
                    r2 = list(r1)
                    n2 = list(m1)
                    for j, x in ((0, xa), (1, xb)):
                        if d1[j] == "run":
                            w *= stats.binom.pmf(x, m2[j], rates[j])
                            r2[j] += x
                            n2[j] = looks[j][1]
                    for j in range(2):
                        if d1[j] == "eff":
                            p_eff[j] += w
                        elif d1[j] == "run":
                            stopped = d1[1 - j] != "run"
                            if decide(1, j, r2[j], n2[1 - j], stopped, r2[1 - j]) == "eff":
                                p_eff[j] += w
    return p_eff


def test_the_decision_table_alone_reproduces_the_exact_oc():
    d = _small(futility=0.4)
    for rates in ([0.4, 0.1], [0.55, 0.15], [0.7, 0.3]):
        T, E = efficacy_matrix(d, np.array([rates]))
        np.testing.assert_allclose(_oc_from_table(d, rates), (T @ E)[0], atol=1e-12)
    assert all(r["monotone"] for r in d.decision_table())


def test_independent_decision_table_has_the_single_cohort_boundaries():
    d = _small(model=Model(kind="independent"), final=0.95, futility=0.2)
    rows = d.decision_table()
    # one row per state of the other cohort: its counts do not matter
    states = [(r["look"], r["cohort"], r["others"]) for r in rows]
    assert len(states) == len(set(states))
    for r in rows:
        c = d.cohorts[d.names.index(r["cohort"])]
        n = r["n"]
        if "stopped" not in r["others"]:
            assert (r["other_r_from"], r["other_r_to"]) == (0, int(r["others"].split()[1]))
        if r["final"]:
            eff = min(x for x in range(n + 1) if _posterior_above(x, n, c.p0) > 0.95)
            assert r["efficacy_min_r"] == eff and r["futility_max_r"] == eff - 1
        else:
            fut = max((x for x in range(n + 1) if _posterior_above(x, n, c.p0) <= 0.2),
                      default=None)
            assert r["futility_max_r"] == fut and r["efficacy_min_r"] is None
