"""predictive_data: the lattice's posterior predictive at chosen data sets, without the lattice."""

import numpy as np
import pytest
from scipy import integrate, special, stats

from adaptive2._base.errors import DesignError
from adaptive2.kernels import quadrature
from adaptive2.kernels.data_sets import predictive_data, predictive_final_data
from adaptive2.kernels.quadrature import p_above_data, predictive
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Historical, Model

P0 = (0.15, 0.30, 0.20)
SIZES = (6, 4, 5)
M = 5
# the tied stratum of designs/two-cohort-bhm.toml (phase 1 frontline 16/20, tie sd 0.5, half
# weight), tied here to c0
TIED = Historical("phase1-frontline", 16, 20, tie="c0", tie_sd=0.5, weight=0.5)
MODELS = {
    "bhm": Model(),
    "exnex": Model(kind="exnex", weight=0.6),
    "tied": Model(historical=(TIED,)),
}


def _cohorts(J):
    return tuple(Cohort(f"c{j}", P0[j]) for j in range(J))


def _counts(J, size=40, seed=0):
    rng = np.random.default_rng(seed + J)
    counts = np.stack([rng.integers(0, n + 1, size=size) for n in SIZES[:J]], axis=1)
    return np.concatenate([counts, counts[:5]])  # repeated data sets too


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("J", [2, 3])
def test_equals_quadrature_predictive_at_the_same_data_sets(kind, J):
    model, coh, n = MODELS[kind], _cohorts(J), SIZES[:J]
    counts = _counts(J)
    for j, c in enumerate(coh):
        got = predictive_data(model, coh, n, counts, cohort=c.name, m=M, grid=DEFAULT_GRID)
        assert got.shape == (len(counts), M + 1)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        # the whole lattice's predictive, read at the data sets
        whole = predictive(model, coh, n, cohort=c.name, m=M, grid=DEFAULT_GRID)
        np.testing.assert_allclose(got, whole[tuple(counts.T)], rtol=0, atol=1e-12)
        # one data set at a time (rows=): the same arithmetic as the engine's analyses
        for g in (0, 1, 2, len(counts) - 1):
            one = predictive(model, coh, n, cohort=c.name, m=M, grid=DEFAULT_GRID,
                             rows=[[int(r)] for r in counts[g]])
            np.testing.assert_allclose(got[g], one.reshape(M + 1), rtol=0, atol=1e-12)
        # not trivially equal: the data sets give different predictives, and the other
        # cohorts' data move cohort j's (borrowing)
        assert np.ptp(got[:, 0]) > 0.05
        same_j = counts[:, j] == counts[0, j]
        assert np.ptp(got[same_j, M]) > 1e-3 or same_j.sum() == 1


def _independent_reference(r, n, m, p0, mean=0.0, sd=2.0):
    """P(X = x | r of n), x = 0..m, with logit p − logit p0 ~ N(mean, sd²): 1-D quadrature."""
    off = special.logit(p0)

    def joint(t, x):
        p = special.expit(t + off)
        lik = stats.binom.pmf(r, n, p) * (1.0 if x is None else stats.binom.pmf(x, m, p))
        return lik * stats.norm.pdf(t, mean, sd)

    den = integrate.quad(joint, -30, 30, args=(None,), epsabs=0, limit=200)[0]
    return np.array([integrate.quad(joint, -30, 30, args=(x,), epsabs=0, limit=200)[0] / den
                     for x in range(m + 1)])


def test_independent_cohorts_match_the_one_dimensional_integral():
    """No borrowing: cohort j's own beta-binomial-like predictive under its N(0, 2²) prior."""
    coh, n = _cohorts(3), SIZES
    counts = np.array([[0, 4, 2], [3, 0, 5], [6, 2, 1]])
    got = predictive_data(Model(kind="independent"), coh, n, counts, cohort="c0", m=8,
                          grid=DEFAULT_GRID)
    for g, row in enumerate(counts):
        ref = _independent_reference(int(row[0]), n[0], 8, P0[0])
        np.testing.assert_allclose(got[g], ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_final_posterior_equals_p_above_data_at_the_final_sizes(kind):
    model, coh, n = MODELS[kind], _cohorts(3), SIZES
    counts = _counts(3, size=25, seed=7)
    for j, c in enumerate(coh):
        t = c.p0 + 0.1
        pmf, p = predictive_final_data(model, coh, n, counts, cohort=c.name, m=M, threshold=t,
                                       grid=DEFAULT_GRID)
        np.testing.assert_allclose(
            pmf, predictive_data(model, coh, n, counts, cohort=c.name, m=M, grid=DEFAULT_GRID),
            rtol=0, atol=1e-12)
        final = tuple(x + M if k == j else x for k, x in enumerate(n))
        for x in range(M + 1):
            shifted = counts.copy()
            shifted[:, j] += x
            want = p_above_data(model, coh, final, shifted, thresholds={c.name: t},
                                grid=DEFAULT_GRID)[c.name]
            np.testing.assert_allclose(p[:, x], want, rtol=0, atol=1e-12)
        assert np.ptp(p) > 0.5


def test_one_cohort_and_no_future_patients():
    coh = (Cohort("a", 0.2),)
    counts = np.array([[0], [3], [7], [3]])
    got = predictive_data(Model(), coh, [7], counts, cohort="a", m=4, grid=DEFAULT_GRID)
    whole = predictive(Model(), coh, [7], cohort="a", m=4, grid=DEFAULT_GRID)
    np.testing.assert_allclose(got, whole[counts[:, 0]], rtol=0, atol=1e-12)
    none = predictive_data(Model(), _cohorts(2), [6, 4], [[2, 1], [6, 4]], cohort="c1", m=0,
                           grid=DEFAULT_GRID)
    np.testing.assert_array_equal(none, np.ones((2, 1)))
    empty = predictive_data(Model(), _cohorts(2), [6, 4], np.zeros((0, 2), dtype=int),
                            cohort="c1", m=3, grid=DEFAULT_GRID)
    assert empty.shape == (0, 4)


def test_blocks_and_order_do_not_change_the_numbers(monkeypatch):
    model, coh, n = Model(kind="exnex"), _cohorts(3), SIZES
    counts = _counts(3, size=60, seed=3)
    whole = predictive_final_data(model, coh, n, counts, cohort="c1", m=M, threshold=0.35,
                                  grid=DEFAULT_GRID)
    monkeypatch.setattr(quadrature, "_DATA_BLOCK_BYTES", 8 * 19_500 * 6 * 3)  # 3 keys a block
    blocks = predictive_final_data(model, coh, n, counts, cohort="c1", m=M, threshold=0.35,
                                   grid=DEFAULT_GRID)
    perm = np.random.default_rng(1).permutation(len(counts))
    again = predictive_final_data(model, coh, n, counts[perm], cohort="c1", m=M,
                                  threshold=0.35, grid=DEFAULT_GRID)
    for a, b, c in zip(whole, blocks, again, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-14)
        np.testing.assert_allclose(c, a[perm], rtol=0, atol=1e-14)


def test_eight_cohorts_need_no_lattice():
    """8 cohorts of 20 with 20 to come: a lattice of 21^8 x 21 cells is out of reach."""
    coh = tuple(Cohort(f"c{j}", 0.2) for j in range(8))
    counts = np.array([[4] * 8, [0] * 4 + [8] * 4])
    got = predictive_data(Model(kind="exnex"), coh, [20] * 8, counts, cohort="c0", m=20,
                          grid=DEFAULT_GRID)
    assert got.shape == (2, 21)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    mean = got @ np.arange(21)
    # 4/20 everywhere: about 0.2 x 20 = 4 responses to come; in conflict with four cohorts at
    # 8/20, cohort 0's 0/20 is pulled up a little, not to 4
    assert 3.5 < mean[0] < 4.5
    assert 0.0 < mean[1] < 2.0


def test_bad_input_names_the_argument():
    coh = (Cohort("a", 0.2), Cohort("b", 0.3))

    def call(**kw):
        args = {"n": [5, 5], "counts": [[1, 2]], "cohort": "a", "m": 3, "grid": DEFAULT_GRID}
        args.update(kw)
        n, counts = args.pop("n"), args.pop("counts")
        return predictive_data(Model(), coh, n, counts, **args)

    for kw, name in (
        ({"counts": [[1, 2, 3]]}, "counts"),
        ({"counts": [[1, 6]]}, "counts"),
        ({"counts": [[-1, 2]]}, "counts"),
        ({"counts": [[1.5, 2.0]]}, "counts"),
        ({"n": [5]}, "n"),
        ({"n": [5, -1]}, "n"),
        ({"cohort": "z"}, "cohort"),
        ({"m": -1}, "m"),
        ({"m": 2.5}, "m"),
    ):
        with pytest.raises(DesignError, match=f"`{name}` of predictive_data"):
            call(**kw)
    with pytest.raises(DesignError, match="`threshold` of predictive_final_data"):
        predictive_final_data(Model(), coh, [5, 5], [[1, 2]], cohort="a", m=3, threshold=1.5,
                              grid=DEFAULT_GRID)
    with pytest.raises(DesignError, match="`counts` of predictive_final_data"):
        predictive_final_data(Model(), coh, [5, 5], [[1, 9]], cohort="a", m=3, threshold=0.2,
                              grid=DEFAULT_GRID)
