"""The posterior of one data set, computed alone, equals the lattice's entry for it.

``posterior``, ``p_above``, :func:`~adaptive2.kernels.quadrature.lattice` and
:func:`~adaptive2.kernels.quadrature.predictive` with ``rows`` compute the outcomes
they are asked for only (one data set, or one cohort's line through it); the whole
lattice at the same sizes is the reference, to 1e-12, for every kind of model, with
historical strata, for 2 and 3 cohorts, at r = 0, r = n and n = 0. The analysis of a
multi-cohort design, which now reads the lines of the decision lattices through the
data, must take the decisions the lattices take.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from adaptive2._base.errors import DesignError, StatisticalWarning
from adaptive2.engines.analysis import analyze
from adaptive2.engines.analysis_multi import (
    _first_true,
    _Joint,
    _line_masks,
    _mask_bounds,
    _search_bounds,
)
from adaptive2.engines.analysis_results import (
    CONTINUE,
    FAILURE,
    STOP_EFFICACY,
    STOP_FUTILITY,
    SUCCESS,
)
from adaptive2.io.design_files import load_design
from adaptive2.kernels import posterior_summaries, quadrature
from adaptive2.model.cohorts import CohortDesign, _decisions, predictive_probability
from adaptive2.model.hierarchical import Cohort, Historical, Model, QuadratureGrid
from adaptive2.model.rules import PosteriorProbability, PredictiveProbability

from _shipped import DESIGNS_DIR

TOL = 1e-12
GRID = QuadratureGrid(n_theta=121, n_mu=41, n_tau=10)  # coarse, with narrow and point columns
TIED = Historical("phase1", r=8, n=20, tie="a", weight=0.5)
UNTIED = Historical("older", r=5, n=25, weight=0.5)

MODELS = {
    "bhm": Model(historical=(TIED, UNTIED)),
    "exnex": Model(kind="exnex", weight=0.6, historical=(TIED,)),
    "independent": Model(kind="independent", historical=(TIED,)),
    "pooled": Model(kind="pooled", historical=(UNTIED,)),
}
COHORTS = {
    2: (Cohort("a", 0.3, 0.5), Cohort("b", 0.15, 0.35)),
    3: (Cohort("a", 0.3, 0.5), Cohort("b", 0.15, 0.35), Cohort("c", 0.2, 0.4)),
}
SIZES = {2: (12, 9), 3: (8, 6, 0)}  # the third cohort has no data yet
DATA = {
    2: [(0, 0), (12, 9), (5, 2), (0, 9), (12, 0), (7, 4)],
    3: [(0, 0, 0), (8, 6, 0), (3, 1, 0), (8, 0, 0), (0, 6, 0)],
}
CASES = [(kind, j) for kind in MODELS for j in (2, 3)]


def _lattice(model: Model, cohorts: tuple[Cohort, ...], sizes: tuple[int, ...],
             **kw: object) -> quadrature.LatticeResult:
    return quadrature.lattice(model, cohorts, sizes, grid=GRID, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "j"), CASES)
def test_one_data_set_equals_the_lattice_entry(kind: str, j: int) -> None:
    model, cohorts, sizes = MODELS[kind], COHORTS[j], SIZES[j]
    whole = _lattice(model, cohorts, sizes)
    thresholds = {c.name: c.p1 for c in cohorts}
    whole_p1 = _lattice(model, cohorts, sizes, thresholds=thresholds)
    for r in DATA[j]:
        one = _lattice(model, cohorts, sizes, rows=[[x] for x in r])
        data = {c.name: (x, n) for c, x, n in zip(cohorts, r, sizes, strict=True)}
        summ = posterior_summaries.posterior(model, cohorts, data, grid=GRID)
        above = posterior_summaries.p_above(model, cohorts, data, thresholds, grid=GRID)
        for c in cohorts:
            assert one.p_above[c.name].shape == (1,) * j
            ref, ref_mean = whole.p_above[c.name][r], whole.mean[c.name][r]
            assert one.p_above[c.name].item() == pytest.approx(ref, abs=TOL, rel=0)
            assert one.mean[c.name].item() == pytest.approx(ref_mean, abs=TOL, rel=0)
            assert summ[c.name]["p_above_p0"] == pytest.approx(ref, abs=TOL, rel=0)
            assert summ[c.name]["mean"] == pytest.approx(ref_mean, abs=TOL, rel=0)
            assert above[c.name] == pytest.approx(whole_p1.p_above[c.name][r], abs=TOL, rel=0)


@pytest.mark.parametrize(("kind", "j"), CASES)
def test_lines_and_predictive_equal_the_lattice(kind: str, j: int) -> None:
    """Cohort a's line through each data set, and the predictive there: the lattice's slices."""
    model, cohorts, sizes = MODELS[kind], COHORTS[j], SIZES[j]
    whole = _lattice(model, cohorts, sizes, thresholds={"a": 0.42})
    pred = quadrature.predictive(model, cohorts, sizes, cohort="a", m=5, grid=GRID)
    for r in DATA[j][:3]:
        rows = [list(range(sizes[0] + 1))] + [[x] for x in r[1:]]
        line = _lattice(model, cohorts, sizes, thresholds={"a": 0.42}, rows=rows, means=False)
        got = line.p_above["a"].reshape(-1)
        np.testing.assert_allclose(got, whole.p_above["a"][(slice(None), *r[1:])], rtol=0,
                                   atol=TOL)
        assert line.mean == {}
        one = quadrature.predictive(model, cohorts, sizes, cohort="a", m=5, grid=GRID,
                                    rows=[[x] for x in r])
        assert one.shape == (1,) * j + (6,)
        np.testing.assert_allclose(one.reshape(-1), pred[r], rtol=0, atol=TOL)
        assert one.sum() == pytest.approx(1.0, abs=1e-12)


def test_marginal_branches_equal_the_branch_engines() -> None:
    """EXNEX: the marginal with P(EX) replaced by 1 or 0 is the branch engine's own."""
    model, cohorts = MODELS["exnex"], COHORTS[2]
    eng = quadrature.engine(model, cohorts, GRID)
    for value in (1.0, 0.0):
        branch = quadrature.engine(Model(kind="exnex", weight=value, historical=(TIED,)),
                                   cohorts, GRID)
        full = quadrature.marginal(branch, "b", 9, 0.15)
        rows = quadrature.marginal(eng, "b", 9, 0.15, rows=[0, 4, 9], weight=value)
        np.testing.assert_allclose(rows, full[[0, 4, 9]], rtol=1e-13, atol=0)


@pytest.mark.parametrize("kind", list(MODELS))
def test_theta_masses_equal_the_unbanded_kernel(kind: str) -> None:
    """The banded node weights of the narrow columns lose nothing the full kernel keeps."""
    eng = quadrature.engine(MODELS[kind], COHORTS[2], GRID)
    weights = np.random.default_rng(7).random(len(eng.mu))
    ref = quadrature._flush(quadrature._hat_weights(eng.theta, eng.mu, eng.tau)) @ weights
    if kind == "independent":  # no (mu, tau) grid: only the wide part, which is empty
        ref = np.zeros_like(eng.theta)
    # (rounding differs at 1e-13: the full kernel reads its tails from shift tables)
    np.testing.assert_allclose(eng.mix_theta(weights), ref, rtol=1e-12, atol=1e-300)


def test_theta_masses_of_several_weight_vectors_are_those_of_each() -> None:
    """mix_theta of a matrix (one pass over the kernels) equals it column by column."""
    eng = quadrature.engine(MODELS["exnex"], COHORTS[2], GRID)
    weights = np.random.default_rng(8).random((len(eng.mu), 3))
    together = eng.mix_theta(weights)
    assert together.shape == (len(eng.theta), 3)
    for k in range(3):
        np.testing.assert_allclose(together[:, k], eng.mix_theta(weights[:, k].copy()),
                                   rtol=1e-13, atol=1e-300)


def test_posterior_summaries_at_edges() -> None:
    """r = 0 and r = n move the posterior the right way; n = 0 gives the prior's figures."""
    model, cohorts = MODELS["bhm"], COHORTS[3]
    low = posterior_summaries.posterior(model, cohorts, {"a": (0, 8), "b": (0, 6)}, grid=GRID)
    high = posterior_summaries.posterior(model, cohorts, {"a": (8, 8), "b": (6, 6)}, grid=GRID)
    for c in ("a", "b", "c"):
        assert low[c]["mean"] < high[c]["mean"]
        assert low[c]["interval"][0] < low[c]["median"] < low[c]["interval"][1]
        assert low[c]["sd"] > 0
    assert low["c"]["n"] == 0 and low["c"]["r"] == 0


# ---------------------------------------------------------------------------
# analyze: decisions from the lines equal those of the lattices
# ---------------------------------------------------------------------------
def _three_cohort_design() -> CohortDesign:
    """Three cohorts, three looks, PP futility and an efficacy rule with a margin δ."""
    cohorts = (Cohort("a", 0.3, 0.5, (6, 12, 18)), Cohort("b", 0.15, 0.35, (5, 10, 15)),
               Cohort("c", 0.2, 0.4, (4, 8, 12)))
    return CohortDesign(
        name="three-small", model=MODELS["bhm"], grid=GRID, cohorts=cohorts,
        futility=PredictiveProbability(threshold=0.1),
        efficacy=PosteriorProbability(p0=0.3, cutoff=0.9, delta=0.05),
        final=PosteriorProbability(p0=0.3, cutoff=0.9),
    )


def _analysis_cases() -> list[tuple[CohortDesign, dict[str, tuple[int, int]]]]:
    bhm = load_design(DESIGNS_DIR / "two-cohort-bhm.toml")
    exnex = load_design(DESIGNS_DIR / "two-cohort-exnex.toml")
    three = _three_cohort_design()
    cases: list[tuple[CohortDesign, dict[str, tuple[int, int]]]] = []
    for design in (bhm, exnex):
        for rf, rp in [(12, 3), (0, 0), (20, 15), (8, 1), (30, 9)]:
            nf, np_ = (40, 30) if rf > 20 else (20, 15)
            cases.append((design, {"frontline": (rf, nf), "post_io": (rp, np_)}))
    for r in [(3, 1, 0), (0, 0, 2), (6, 5, 4), (9, 2, 3)]:
        n = (6, 5, 4) if max(r) <= 6 and r != (9, 2, 3) else (12, 10, 8)
        cases.append((three, {c: (x, m) for c, x, m in zip("abc", r, n, strict=True)}))
    return cases


CASES_ANALYZE = _analysis_cases()


@pytest.mark.parametrize(("design", "data"), CASES_ANALYZE,
                         ids=[f"{d.name}-{v}" for d, v in CASES_ANALYZE])
def test_analysis_takes_the_lattice_decisions(design: CohortDesign, data: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = analyze(design, data)
    r = tuple(data[c.name][0] for c in design.cohorts)
    n = tuple(data[c.name][1] for c in design.cohorts)
    pp = predictive_probability(design, data)  # the lattice computation
    above_p1 = quadrature.lattice(design.model, design.cohorts, n, grid=design.grid,
                                  thresholds={c.name: c.p1 for c in design.cohorts}).p_above
    whole = quadrature.lattice(design.model, design.cohorts, n, grid=design.grid)
    for j, (c, got) in enumerate(zip(design.cohorts, res.cohorts, strict=True)):
        k = design.cohorts[j].looks.index(n[j])
        masks = _decisions(design, k, n)[c.name]
        if k == design.n_looks - 1:
            expected = SUCCESS if masks["efficacy"][r] else FAILURE
        elif masks["futility"][r]:
            expected = STOP_FUTILITY
        else:
            expected = STOP_EFFICACY if masks["efficacy"][r] else CONTINUE
        assert got.decision == expected
        assert got.predictive_probability == pytest.approx(pp[c.name], abs=TOL, rel=0)
        assert got.p_above_p0 == pytest.approx(whole.p_above[c.name][r], abs=TOL, rel=0)
        assert got.mean == pytest.approx(whole.mean[c.name][r], abs=TOL, rel=0)
        assert got.p_above_p1 == pytest.approx(above_p1[c.name][r], abs=TOL, rel=0)
        # every look's masks along the cohort's line equal the lattice's slice
        for kk, size in enumerate(c.looks):
            sizes = tuple(size if i == j else x for i, x in enumerate(n))
            line = (*r[:j], slice(None), *r[j + 1:])
            lattice_masks = _decisions(design, kk, sizes)[c.name]
            for slot, mask in _line_masks(design, kk, sizes, r, j).items():
                np.testing.assert_array_equal(mask, lattice_masks[slot][line])


@pytest.mark.parametrize(("design", "data"), CASES_ANALYZE,
                         ids=[f"{d.name}-{v}" for d, v in CASES_ANALYZE])
def test_searched_bounds_equal_the_whole_line(design: CohortDesign, data: dict) -> None:
    """The analysis searches each look's boundaries; they equal those of every count's masks."""
    r = tuple(data[c.name][0] for c in design.cohorts)
    n = tuple(data[c.name][1] for c in design.cohorts)
    for j, c in enumerate(design.cohorts):
        for k, size in enumerate(c.looks):
            sizes = tuple(size if i == j else x for i, x in enumerate(n))
            masks = _line_masks(design, k, sizes, r, j)
            want = _mask_bounds(masks["futility"], masks["efficacy"], size,
                                k == design.n_looks - 1)
            assert _search_bounds(_Joint(design, r, n), j, k, sizes) == want, (c.name, k)
            joint = _Joint(design, r, n)  # with the whole line at hand first, as at the data
            assert joint.bounds(j, k, size) == want, (c.name, k)


def test_first_true_finds_every_step_with_few_evaluations() -> None:
    """The boundary search against every position of the step, with and without known values."""
    for n in (0, 1, 2, 5, 13, 40, 100):
        for step in range(n + 2):  # pred(x) = x >= step; step n + 1: never true
            calls: list[list[int]] = []

            def pred(xs: list[int], step: int = step, calls: list = calls) -> np.ndarray:
                calls.append(list(xs))
                return np.array([x >= step for x in xs])

            assert _first_true(pred, 0, n) == (step if step <= n else None)
            assert len(calls) <= 1 + int(np.ceil(np.log(n + 2) / np.log(5))) + 1
            assert all(0 <= x <= n for xs in calls for x in xs)
            known = {x: x >= step for x in range(0, n + 1, 3)}
            assert _first_true(pred, 0, n, known) == (step if step <= n else None)


def test_analysis_conflict_equals_the_lattice_predictive() -> None:
    design = load_design(DESIGNS_DIR / "two-cohort-exnex.toml")
    data = {"frontline": (12, 20), "post_io": (3, 15)}
    res = analyze(design, data)
    pmf = quadrature.predictive(design.model, design.cohorts, (20, 0), cohort="post_io",
                                m=15, grid=design.grid)[12, 0]
    got = res["post_io"].conflict
    assert got.p_lower == pytest.approx(float(pmf[: 3 + 1].sum()), abs=TOL, rel=0)
    assert got.p_upper == pytest.approx(float(pmf[3:].sum()), abs=TOL, rel=0)
    assert 0 < res["post_io"].p_exchangeable < 1


def test_lines_cover_every_count() -> None:
    """A line has one entry per count of the cohort (the bounds read them all)."""
    design = _three_cohort_design()
    for j, k in itertools.product(range(3), range(3)):
        sizes = tuple(c.looks[k] for c in design.cohorts)
        masks = _line_masks(design, k, sizes, (1, 1, 1), j)
        assert {m.shape for m in masks.values()} == {(sizes[j] + 1,)}


LINE_MODELS = {
    **MODELS,
    "fixed-narrow": Model(tau_prior="fixed", tau_scale=0.01, historical=(UNTIED,)),
    "fixed-wide": Model(kind="exnex", tau_prior="fixed", tau_scale=0.8, weight=0.3),
}


@pytest.mark.parametrize("kind", sorted(LINE_MODELS))
@pytest.mark.parametrize("threshold", [0.42, 0.3, 1e-9, 0.0, 1.0])
def test_contracted_lines_equal_the_lattice(kind: str, threshold: float) -> None:
    """A line with ``only`` (summed against the other cohorts' weights before it is
    formed) and the predictive along it: the whole lattice's slices, for each cohort,
    consecutive or scattered counts, thresholds on and off the grid, 0 and 1."""
    model, cohorts, sizes = LINE_MODELS[kind], COHORTS[3], (7, 5, 3)
    thresholds = {c.name: threshold for c in cohorts}
    whole = _lattice(model, cohorts, sizes, thresholds=thresholds, means=False)
    pred = {c.name: quadrature.predictive(model, cohorts, sizes, cohort=c.name, m=4, grid=GRID)
            for c in cohorts}
    for j, c in enumerate(cohorts):
        for counts in (list(range(sizes[j] + 1)), [0, 2, sizes[j]]):
            rows = [counts if k == j else [(k + 2) % (sizes[k] + 1)] for k in range(3)]
            line = _lattice(model, cohorts, sizes, thresholds=thresholds, rows=rows,
                            means=False, only=c.name)
            assert set(line.p_above) == {c.name}
            assert line.p_above[c.name].shape == tuple(len(r) for r in rows)
            at = tuple(np.array(r) for r in rows)
            want = whole.p_above[c.name][np.ix_(*at)]
            np.testing.assert_allclose(line.p_above[c.name], want, rtol=0, atol=TOL)
            one = quadrature.predictive(model, cohorts, sizes, cohort=c.name, m=4, grid=GRID,
                                        rows=rows)
            np.testing.assert_allclose(one, pred[c.name][np.ix_(*at)], rtol=0, atol=TOL)


def test_lines_are_contracted_not_formed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line through a data set integrates single rows only (no counts × grid pieces);
    its cohort's lines at every size share one product of the kernels with the weights."""
    from adaptive2._base.cache import MEMO

    model, cohorts, sizes = MODELS["exnex"], COHORTS[3], (7, 5, 3)
    integrated: list[int] = []
    parts_at = quadrature._cohort_parts_at

    def recorded(eng: object, cohort: str, n: int, *args: object, **kw: object) -> object:
        rows = args[1] if len(args) > 1 else kw.get("rows")
        integrated.append(n + 1 if rows is None else len(rows))  # type: ignore[arg-type]
        return parts_at(eng, cohort, n, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(quadrature, "_cohort_parts_at", recorded)
    MEMO.clear()
    for n0 in (7, 12):
        _lattice(model, cohorts, (n0, *sizes[1:]), rows=[list(range(n0 + 1)), [2], [1]],
                 means=False, only="a")
    assert integrated and set(integrated) == {1}  # the other cohorts' rows at the data
    entries = len(MEMO)
    MEMO.clear("quadrature.line_weights")
    assert len(MEMO) == entries - 1
    MEMO.clear("quadrature.line_sums")
    assert len(MEMO) == entries - 3


def test_lattice_rows_of_one_cohort_only() -> None:
    """``only`` computes one cohort's figures, the same numbers; it needs ``rows``.

    (A line with ``only`` is contracted before it is formed, :func:`_line_sums`: the
    same sums in another order, equal to rounding.)
    """
    model, cohorts = MODELS["bhm"], COHORTS[3]
    sizes = (6, 5, 4)
    rows = [[0, 3, 6], [2], [1]]
    every = quadrature.lattice(model, cohorts, sizes, grid=GRID, rows=rows, means=False)
    one = quadrature.lattice(model, cohorts, sizes, grid=GRID, rows=rows, means=False,
                             only=cohorts[0].name)
    assert set(one.p_above) == {cohorts[0].name}
    np.testing.assert_allclose(one.p_above[cohorts[0].name], every.p_above[cohorts[0].name],
                               rtol=1e-13, atol=0)
    with pytest.raises(DesignError, match="`only`"):
        quadrature.lattice(model, cohorts, sizes, grid=GRID, only=cohorts[0].name)
    with pytest.raises(DesignError, match="`only`"):
        quadrature.lattice(model, cohorts, sizes, grid=GRID, rows=rows, only="nope")


def test_rows_warmed_for_several_thresholds_equal_one_threshold_at_a_time() -> None:
    """warm_rows integrates a row's p0 and p1 parts in one stack: the same numbers."""
    from adaptive2._base.cache import MEMO

    model, cohorts = MODELS["exnex"], COHORTS[2]
    sizes, data = (12, 9), [[5], [2]]
    eng = quadrature.engine(model, cohorts, GRID)

    def figures() -> list[np.ndarray]:
        return [
            quadrature.lattice(model, cohorts, sizes, grid=GRID, rows=data).p_above["a"],
            quadrature.lattice(model, cohorts, sizes, grid=GRID, rows=data,
                               thresholds={"a": 0.5}).p_above["a"],
            quadrature.lattice(model, cohorts, sizes, grid=GRID, rows=data).mean["a"],
        ]

    MEMO.clear()
    alone = figures()
    MEMO.clear()
    eng = quadrature.engine(model, cohorts, GRID)
    quadrature.warm_rows(eng, "a", 12, [5], (0.3, 0.5))
    hits = MEMO.hits
    warmed = figures()
    assert MEMO.hits > hits  # the lattice read the warmed rows
    for got, want in zip(warmed, alone, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
