"""adaptive2.engines.search: Lee & Liu search and Simon-style searches against brute force."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import pickle

import numpy as np
import pytest

from adaptive2._base.errors import DesignError
from adaptive2.engines.design_search import design_search, pareto
from adaptive2.engines.exact import oc
from adaptive2.engines.lee_liu import _predictive_tails, lee_liu
from adaptive2.engines.search import SearchResult
from adaptive2.kernels.binomial import stop_probabilities as exact_oc_arrays
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec
from adaptive2.model.rules import (
    BOP2,
    PosteriorProbability,
    PredictiveProbability,
    predictive_success,
)

TT_GRID = (0.80, 0.85, 0.90, 0.95)
TL_GRID = (0.01, 0.05, 0.10, 0.20)


# ---------------------------------------------------------------------------
# brute force: one Design object per (N, θ_T, θ_L), OC from adaptive2.engines.exact.oc
# ---------------------------------------------------------------------------
def brute_lee_liu(p0, p1, alpha, power, prior, n_range, first_look, step, theta_u=None):
    """Every feasible (N, θ_T, θ_L) design: dict boundaries-key -> figures."""
    out = {}
    for n_max in range(n_range[0], n_range[1] + 1):
        looks = (*range(first_look, n_max, step), n_max)
        for tt, tl in itertools.product(TT_GRID, TL_GRID):
            interim = len(looks) > 1
            d = Design(
                name=f"bf-{n_max}-{tt}-{tl}",
                prior=prior,
                looks=looks,
                futility=PredictiveProbability(tl) if interim else None,
                efficacy=PredictiveProbability(theta_u) if interim and theta_u else None,
                final=PosteriorProbability(p0=p0, cutoff=tt),
            )
            ds = oc(d, [p0, p1])
            a, pw = (float(x) for x in ds["p_efficacy"].values)
            if a > alpha + 1e-12 or pw < power - 1e-12:
                continue
            bnd = d.boundaries()
            key = (n_max, bnd.futility_max_r, bnd.efficacy_min_r)
            fig = (a, pw, float(ds["expected_n"].values[0]), float(ds["p_early_stop"].values[0]))
            out[key] = fig
    return out


BRUTE_CASES = [
    # p0, p1, alpha, power, prior, n_range, first_look, step, theta_u
    (0.1, 0.4, 0.10, 0.80, Beta(0.1, 0.9), (8, 18), 5, 1, None),
    (0.2, 0.5, 0.10, 0.80, Beta(0.5, 0.5), (10, 20), 6, 3, None),
    (0.2, 0.5, 0.15, 0.75, BetaMixture((0.7, 0.3), (1, 6), (4, 4)), (10, 18), 4, 2, None),
    (0.1, 0.4, 0.10, 0.80, Beta(0.1, 0.9), (8, 16), 4, 1, 0.95),
]


@pytest.fixture(scope="module", params=range(len(BRUTE_CASES)))
def brute_case(request):
    case = BRUTE_CASES[request.param]
    p0, p1, alpha, power, prior, n_range, first_look, step, theta_u = case
    res = lee_liu(
        p0,
        p1,
        alpha=alpha,
        power=power,
        prior=prior,
        n_range=n_range,
        first_look=first_look,
        looks="every" if step == 1 else step,
        theta_t_grid=TT_GRID,
        theta_l_grid=TL_GRID,
        theta_u=theta_u,
    )
    return case, res, brute_lee_liu(*case)


def test_lee_liu_lists_exactly_the_feasible_designs(brute_case) -> None:
    _, res, brute = brute_case
    assert brute, "the brute-force problem should be feasible"
    got = {}
    for d in res.designs:
        b = d.boundaries
        got[(d.n_max, b.futility_max_r, b.efficacy_min_r)] = (
            d.alpha,
            d.power,
            d.expected_n_p0,
            d.pet_p0,
        )
    assert set(got) == set(brute)
    for key, fig in brute.items():
        np.testing.assert_allclose(got[key], fig, rtol=0, atol=1e-12)


def test_lee_liu_minimax_and_optimal_match_brute_force(brute_case) -> None:
    _, res, brute = brute_case
    items = [(k[0], f[2], f) for k, f in brute.items()]
    n_min = min(n for n, _, _ in items)
    en_mm = min(en for n, en, _ in items if n == n_min)
    en_opt = min(en for _, en, _ in items)
    assert res.minimax.n_max == n_min
    assert res.minimax.expected_n_p0 == pytest.approx(en_mm, abs=1e-12)
    assert res.optimal.expected_n_p0 == pytest.approx(en_opt, abs=1e-12)


def test_lee_liu_rows_rebuild_to_identical_designs(brute_case) -> None:
    (p0, p1, *_), res, _ = brute_case
    rows = {res.minimax.index, res.optimal.index, 0, len(res.designs) - 1}
    for i in rows:
        entry = res.designs[i]
        d = res.design(i)
        assert d is entry.design  # cached
        assert d.boundaries() == entry.boundaries
        ds = oc(d, [p0, p1])
        assert float(ds["p_efficacy"].values[0]) == pytest.approx(entry.alpha, abs=1e-12)
        for key, value in entry.parameters.items():
            slot, attr = key.split(".")
            assert getattr(getattr(d, slot), attr) == value


def test_exact_theta_t_mode_contains_every_grid_design() -> None:
    kw = dict(alpha=0.1, power=0.8, n_range=(15, 22), first_look=6, theta_l_grid=TL_GRID)
    exact = lee_liu(0.2, 0.45, **kw)
    fine = lee_liu(0.2, 0.45, theta_t_grid=np.arange(0.80, 0.9991, 0.001), **kw)

    def keys(res):
        return {
            (d.n_max, d.boundaries.futility_max_r, d.boundaries.efficacy_min_r) for d in res.designs
        }

    assert keys(fine) <= keys(exact)
    for d in exact.designs[:25]:
        lo, hi = exact.table.loc[d.index, "theta_t_interval"]
        assert lo <= d.parameters["final.cutoff"] < hi or lo == hi
        assert 0.80 <= d.parameters["final.cutoff"] <= 0.999


def test_lee_liu_criterion_pet() -> None:
    kw = dict(alpha=0.1, power=0.8, n_range=(20, 30), theta_l_grid=(0.01, 0.05, 0.1, 0.15))
    res = lee_liu(0.2, 0.4, criterion="pet", **kw)
    at_min = res.table[res.table.n_max == res.table.n_max.min()]
    assert res.minimax.pet_p0 == pytest.approx(at_min.pet_p0.max())
    res_en = lee_liu(0.2, 0.4, **kw)
    assert res_en.minimax.expected_n_p0 == pytest.approx(at_min.expected_n_p0.min())


def test_no_interim_look_sizes_are_single_stage() -> None:
    res = lee_liu(0.1, 0.5, alpha=0.1, power=0.8, n_range=(5, 12), first_look=10)
    small = [d for d in res.designs if d.n_max <= 10]
    assert small
    for d in small:
        assert d.looks == (d.n_max,)
        assert "futility.threshold" not in d.parameters
        assert d.design.futility is None
        assert d.pet_p0 == 0.0


# ---------------------------------------------------------------------------
# kernels against the package's reference functions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prior",
    [Beta(0.2, 0.8), Beta(2, 3), BetaMixture((0.5, 0.5), (16.5, 1), (4.5, 1))],
    ids=["beta-weak", "beta", "mixture"],
)
def test_predictive_tails_match_predictive_success(prior) -> None:
    n_max = 30
    looks = [1, 5, 12, 29]
    tails = _predictive_tails(prior, looks, n_max)
    for i, n in enumerate(looks):
        for s in range(n_max + 2):
            want = predictive_success(prior, np.arange(n + 1), n, n_max, s)
            np.testing.assert_allclose(tails[i, : n + 1, s], want, rtol=0, atol=1e-12)
        assert np.all(np.isnan(tails[i, n + 1 :, :]))
        assert np.all(np.diff(tails[i, : n + 1, 10]) >= -1e-15)  # monotone in r


def test_many_tables_at_once_match_one_table_at_a_time() -> None:
    looks = np.array([4, 7, 13, 20])
    rng = np.random.default_rng(5)
    a = np.stack([np.minimum(rng.integers(-1, 4, 4), looks - 1) for _ in range(6)])
    b = np.stack([looks + 1 - rng.integers(0, 3, 4) for _ in range(6)])
    a[:, -1], b[:, -1] = 8, 9
    p = np.array([0.1, 0.35, 0.6])
    got = exact_oc_arrays(looks, a, b, p)
    for t in range(6):
        want = exact_oc_arrays(looks, a[t], b[t], p)
        np.testing.assert_allclose(got[t], want, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------
# classification: Pareto front, admissible designs
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_result() -> SearchResult:
    return lee_liu(0.2, 0.4, alpha=0.1, power=0.8, n_range=(20, 40), theta_l_grid=TL_GRID)


def _dominates(x, y) -> bool:
    (n1, e1, p1), (n2, e2, p2) = x, y
    return n1 <= n2 and e1 <= e2 and p1 >= p2 and (n1 < n2 or e1 < e2 or p1 > p2)


def _check_pareto(res: SearchResult) -> None:
    pts = [(d.n_max, d.expected_n_p0, d.power) for d in res.designs]
    front = {d.index for d in res.pareto}
    assert front == set(np.flatnonzero(res.table.pareto.to_numpy()))
    for i, x in enumerate(pts):
        dominated = any(_dominates(y, x) for y in pts)
        assert dominated == (i not in front)
        if i not in front:
            assert any(_dominates(pts[j], x) for j in front)


def test_pareto_front_lee_liu(full_result: SearchResult) -> None:
    assert len(full_result.pareto) > 1
    _check_pareto(full_result)


def test_admissible_designs(full_result: SearchResult) -> None:
    res = full_result
    adm = res.admissible
    assert adm[0] is res.minimax and adm[-1] is res.optimal
    assert adm[0].q_interval[1] == 1.0 and adm[-1].q_interval[0] == 0.0
    for x, y in itertools.pairwise(adm):
        assert x.n_max < y.n_max and x.expected_n_p0 > y.expected_n_p0
        assert x.q_interval[0] == pytest.approx(y.q_interval[1])
    n = res.table.n_max.to_numpy(float)
    en = res.table.expected_n_p0.to_numpy()
    for d in adm:  # each minimises the loss q N + (1 - q) EN over all listed designs
        q = sum(d.q_interval) / 2
        loss = q * n + (1 - q) * en
        assert q * d.n_max + (1 - q) * d.expected_n_p0 <= loss.min() + 1e-12
    assert set(res.table.index[res.table.admissible]) == {d.index for d in adm}
    assert res.table.loc[res.optimal.index, "optimal"] and res.table.optimal.sum() == 1
    assert res.table.loc[res.minimax.index, "minimax"] and res.table.minimax.sum() == 1


def test_result_is_frozen_picklable_and_json_ready(full_result: SearchResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        full_result.feasible = False  # type: ignore[misc]
    text = json.dumps(full_result.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["minimax"]["n_max"] == full_result.minimax.n_max
    assert (
        back["minimax"]["boundaries"][-1]["efficacy_min_r"]
        == (full_result.minimax.boundaries.efficacy_min_r[-1])
    )
    assert len(back["pareto"]) == len(full_result.pareto)
    clone = pickle.loads(pickle.dumps(full_result.minimax))
    assert clone.design.boundaries() == full_result.minimax.boundaries
    assert "minimax" in str(full_result)
    cols = {"n_max", "looks", "parameters", "alpha", "power", "expected_n_p0"}
    cols |= {"optimal", "minimax", "admissible", "pareto"}
    assert cols <= set(full_result.table.columns)
    assert list(full_result.table.index) == list(range(len(full_result.designs)))


# ---------------------------------------------------------------------------
# infeasible targets
# ---------------------------------------------------------------------------
def test_lee_liu_infeasible_is_flagged() -> None:
    res = lee_liu(0.2, 0.25, alpha=0.05, power=0.9, n_range=(10, 20), theta_l_grid=TL_GRID)
    assert not res.feasible
    assert res.table.empty and res.designs == ()
    assert res.optimal is None and res.minimax is None
    assert res.admissible == () and res.pareto == ()
    assert "no design" in res.message and "power" in res.message
    assert "no design" in str(res)
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(DesignError, match="no design"):
        res.design(0)


def test_design_search_infeasible_is_flagged() -> None:
    res = design_search(
        "predictive", 0.2, 0.25, alpha=0.05, power=0.9, n_values=[20, 30], look_schedules=[2]
    )
    assert not res.feasible and res.table.empty and res.minimax is None
    assert "power" in res.message


# ---------------------------------------------------------------------------
# design_search and pareto()
# ---------------------------------------------------------------------------
def test_design_search_against_manual_calibration() -> None:
    from adaptive2.engines.calibration import calibrate

    ns, scheds = [20, 24, 28, 32], [2, 3, (0.4, 1.0)]
    res = design_search(
        "predictive", 0.2, 0.4, alpha=0.1, power=0.8, n_values=ns, look_schedules=scheds
    )
    assert res.feasible
    manual = []
    for n, sched in itertools.product(ns, scheds):
        looks = (
            tuple(round(j * n / sched) for j in range(1, sched + 1))
            if isinstance(sched, int)
            else tuple(round(f * n) for f in sched)
        )
        d = Design(
            name=f"m{n}{looks}",
            prior=Beta(0.2, 0.8),
            looks=looks,
            futility=PredictiveProbability(0.05),
            final=PosteriorProbability(p0=0.2, cutoff=0.9),
            p0=0.2,
            p1=0.4,
        )
        cal = calibrate(d, "final.cutoff", alpha=0.1, power=0.8)
        if cal.feasible:
            manual.append((n, looks, cal.expected_n_p0, cal.power, cal.alpha))
    got = sorted((d.n_max, d.looks, d.expected_n_p0, d.power, d.alpha) for d in res.designs)
    assert [g[:2] for g in got] == [m[:2] for m in sorted(manual)]
    np.testing.assert_allclose([g[2:] for g in got], [m[2:] for m in sorted(manual)], atol=1e-12)
    best = min(manual, key=lambda m: (m[0], m[2]))
    assert (res.minimax.n_max, res.minimax.looks) == best[:2]
    opt = min(manual, key=lambda m: m[2])
    assert res.optimal.expected_n_p0 == pytest.approx(opt[2])
    for d in res.designs:  # each listed design meets the targets exactly
        ds = oc(d.design, [0.2, 0.4])
        assert float(ds["p_efficacy"].values[0]) <= 0.1 + 1e-12
        assert float(ds["p_efficacy"].values[1]) >= 0.8 - 1e-12
        assert float(ds["p_early_stop"].values[0]) == pytest.approx(d.pet_p0, abs=1e-12)
    _check_pareto(res)
    assert res.optimal in res.admissible and res.minimax in res.admissible


def test_design_search_families_and_template() -> None:
    bop = design_search(
        "bop2",
        0.2,
        0.4,
        alpha=0.1,
        power=0.8,
        n_values=[24, 30],
        look_schedules=[1, 3],
        calibration={"lambdas": np.linspace(0.6, 0.98, 20), "gammas": [1.0]},
    )
    assert bop.feasible
    multi = [d for d in bop.designs if len(d.looks) > 1]
    assert multi and all(isinstance(d.design.futility, BOP2) for d in multi)
    assert all(d.parameters["futility.gamma"] == 1.0 for d in multi)
    single = [d for d in bop.designs if len(d.looks) == 1]
    assert all("final.lambda" in d.parameters for d in single)
    post = design_search(
        "posterior", 0.2, 0.4, alpha=0.1, power=0.8, n_values=[30], look_schedules=[2]
    )
    assert isinstance(post.minimax.design.futility, PosteriorProbability)
    template = Design(
        name="tpl",
        prior=PriorSpec(beta=Beta(1, 1)),
        looks=(5, 10),
        futility=PredictiveProbability(0.1),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
    )
    res = design_search(
        template,
        0.2,
        0.4,
        alpha=0.1,
        power=0.8,
        n_values=[26, 30],
        look_schedules=[2],
        parameter="final.cutoff",
    )
    assert res.feasible
    d = res.minimax.design
    assert d.prior == Beta(1, 1) and d.futility == PredictiveProbability(0.1)
    assert res.table.family.iloc[0] == "tpl"


def test_pareto_of_given_designs() -> None:
    base = Design(
        name="a",
        prior=Beta(0.2, 0.8),
        looks=(15, 30),
        futility=PredictiveProbability(0.05),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
        p0=0.2,
        p1=0.4,
    )
    cands = [
        base.replace(name=f"d{i}", looks=looks)
        for i, looks in enumerate([(15, 30), (10, 20, 30), (20, 40), (12, 24)])
    ]
    cands.append(base.replace(name="single", looks=(30,), futility=None))
    res = pareto(cands)
    assert len(res.designs) == 5
    _check_pareto(res)
    for d in res.designs:
        assert d.design in cands
    worst = max(d.alpha for d in res.designs)
    filt = pareto(cands, alpha=worst - 1e-9, power=0.5)
    assert len(filt.designs) < 5
    assert all(d.alpha <= worst for d in filt.designs)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
LEE_LIU_BAD = [
    ({"p0": 1.2}, "p0"),
    ({"p1": 0.1}, "p1"),
    ({"alpha": 0.0}, "alpha"),
    ({"power": 1.5}, "power"),
    ({"prior": (1, 1)}, "prior"),
    ({"n_range": (30, 20)}, "n_range"),
    ({"n_range": 20}, "n_range"),
    ({"n_range": (0, 20)}, "n_range"),
    ({"n_range": (10, 1000)}, "n_range"),
    ({"first_look": 0}, "first_look"),
    ({"looks": "some"}, "looks"),
    ({"looks": 0}, "looks"),
    ({"looks": 2.5}, "looks"),
    ({"theta_t_grid": []}, "theta_t_grid"),
    ({"theta_t_grid": [0.9, 1.0]}, "theta_t_grid"),
    ({"theta_t_range": (0.99, 0.8)}, "theta_t_range"),
    ({"theta_l_grid": "0.05"}, "theta_l_grid"),
    ({"theta_l_grid": [-0.1]}, "theta_l_grid"),
    ({"theta_u": 0.1}, "theta_u"),
    ({"theta_u": 1.0}, "theta_u"),
    ({"criterion": "fast"}, "criterion"),
]


@pytest.mark.parametrize(("kwargs", "name"), LEE_LIU_BAD, ids=[n for _, n in LEE_LIU_BAD])
def test_lee_liu_bad_input_names_the_argument(kwargs, name) -> None:
    args = {"p0": 0.2, "p1": 0.4, "alpha": 0.1, "power": 0.8, "n_range": (10, 12)}
    args.update(kwargs)
    p0, p1 = args.pop("p0"), args.pop("p1")
    with pytest.raises(DesignError, match=rf"^`{name}` of lee_liu must be"):
        lee_liu(p0, p1, **args)


SEARCH_BAD = [
    ({"family": "simon"}, "family"),
    ({"n_values": []}, "n_values"),
    ({"n_values": [10, 0]}, "n_values"),
    ({"n_values": "20"}, "n_values"),
    ({"look_schedules": []}, "look_schedules"),
    ({"look_schedules": [0]}, "look_schedules"),
    ({"look_schedules": [(0.5, 0.9)]}, "look_schedules"),
    ({"look_schedules": [(0.6, 0.5, 1.0)]}, "look_schedules"),
    ({"prior": "flat"}, "prior"),
    ({"calibration": [1]}, "calibration"),
    ({"calibration": {"grid": 3}}, "calibration"),
    ({"parameter": 3}, "parameter"),
    ({"p1": 0.2}, "p1"),
    ({"alpha": 2}, "alpha"),
]


@pytest.mark.parametrize(("kwargs", "name"), SEARCH_BAD, ids=[n for _, n in SEARCH_BAD])
def test_design_search_bad_input_names_the_argument(kwargs, name) -> None:
    args = {
        "family": "predictive",
        "p0": 0.2,
        "p1": 0.4,
        "alpha": 0.1,
        "power": 0.8,
        "n_values": [20],
        "look_schedules": [2],
    }
    args.update(kwargs)
    fam, p0, p1 = args.pop("family"), args.pop("p0"), args.pop("p1")
    with pytest.raises(DesignError, match=rf"^`{name}` of design_search must be"):
        design_search(fam, p0, p1, **args)


def test_pareto_bad_input() -> None:
    with pytest.raises(DesignError, match=r"^`designs` of pareto must be"):
        pareto([])
    d = Design(
        name="x", prior=Beta(1, 1), looks=(10,), final=PosteriorProbability(p0=0.2, cutoff=0.9)
    )
    with pytest.raises(DesignError, match=r"^`p0` of pareto must be"):
        pareto([d])
    with pytest.raises(DesignError, match=r"^`designs` of pareto must be"):
        pareto([d, d], p0=0.2, p1=0.4)


def test_search_design_index_validated(full_result: SearchResult) -> None:
    with pytest.raises(DesignError, match=r"^`index` of SearchResult.design must be"):
        full_result.design(len(full_result.designs))
    assert math.isfinite(full_result.designs[0].alpha)
