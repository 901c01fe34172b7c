"""p_above_data: the lattice's posterior probabilities at chosen data sets, without the lattice."""

import numpy as np
import pytest

from adaptive2._base.errors import DesignError
from adaptive2.kernels.quadrature import lattice, p_above_data
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Historical, Model

P0 = (0.15, 0.30, 0.20, 0.40)
SIZES = (6, 4, 5, 3)
MODELS = {
    "bhm": Model(),
    "exnex": Model(kind="exnex", weight=0.6),
    "independent": Model(kind="independent"),
    "pooled": Model(kind="pooled"),
    "historical": Model(historical=(Historical("phase1", 5, 20, p0=0.2),
                                    Historical("tied", 4, 10, tie="c0", tie_sd=0.5))),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("J", [1, 2, 3, 4])
def test_equals_the_lattice_at_random_data_sets(kind, J):
    model = MODELS[kind]
    coh = tuple(Cohort(f"c{j}", P0[j]) for j in range(J))
    n = SIZES[:J]
    thresholds = {"c0": 0.3}  # one cohort at another threshold than its p0
    rng = np.random.default_rng(J)
    counts = np.stack([rng.integers(0, m + 1, size=40) for m in n], axis=1)
    got = p_above_data(model, coh, n, counts, thresholds=thresholds, grid=DEFAULT_GRID)
    whole = lattice(model, coh, n, thresholds=thresholds, grid=DEFAULT_GRID)
    for c in coh:
        want = whole.p_above[c.name][tuple(counts.T)]
        np.testing.assert_allclose(got[c.name], want, rtol=0, atol=1e-12)
    # not trivially equal: the data sets give different answers
    assert np.ptp(got["c0"]) > 0.1


def test_repeated_and_reordered_data_sets_give_the_same_numbers():
    coh = tuple(Cohort(f"c{j}", P0[j]) for j in range(3))
    n = SIZES[:3]
    rng = np.random.default_rng(5)
    counts = np.stack([rng.integers(0, m + 1, size=30) for m in n], axis=1)
    counts = np.concatenate([counts, counts[::-1]])
    got = p_above_data(Model(), coh, n, counts, grid=DEFAULT_GRID)
    perm = rng.permutation(len(counts))
    again = p_above_data(Model(), coh, n, counts[perm], grid=DEFAULT_GRID)
    for c in coh:
        np.testing.assert_array_equal(got[c.name][perm], again[c.name])
        np.testing.assert_array_equal(got[c.name][:30], got[c.name][30:][::-1])


def test_many_cohorts_need_no_lattice():
    """8 cohorts of 40: a lattice of 41^8 cells is out of reach, the data sets are not."""
    coh = tuple(Cohort(f"c{j}", 0.2) for j in range(8))
    counts = np.array([[8] * 8, [0] * 4 + [16] * 4])
    got = p_above_data(Model(kind="exnex"), coh, [40] * 8, counts, grid=DEFAULT_GRID)
    assert got["c0"].shape == (2,)
    # exchangeable identical data: every cohort the same; conflicting data: borrowing
    # pulls the null-looking cohorts up and the promising ones down, but not across
    assert np.ptp([got[c.name][0] for c in coh]) < 1e-12
    assert got["c0"][1] < 0.5 < got["c7"][1]


def test_bad_counts_name_the_argument():
    coh = (Cohort("a", 0.2), Cohort("b", 0.3))
    with pytest.raises(DesignError, match="`counts` of p_above_data"):
        p_above_data(Model(), coh, [5, 5], [[1, 2, 3]], grid=DEFAULT_GRID)
    with pytest.raises(DesignError, match="`counts` of p_above_data"):
        p_above_data(Model(), coh, [5, 5], [[1, 6]], grid=DEFAULT_GRID)
    with pytest.raises(DesignError, match="`counts` of p_above_data"):
        p_above_data(Model(), coh, [5, 5], [[1.5, 2.0]], grid=DEFAULT_GRID)
    with pytest.raises(DesignError, match="`n` of p_above_data"):
        p_above_data(Model(), coh, [5], [[1, 2]], grid=DEFAULT_GRID)
    with pytest.raises(DesignError, match="`thresholds` of p_above_data"):
        p_above_data(Model(), coh, [5, 5], [[1, 2]], thresholds={"z": 0.3}, grid=DEFAULT_GRID)


@pytest.mark.parametrize("sizes", [(4, 5, 6), (3, 4, 2, 5), (2, 3, 2, 2, 3)])
def test_blockwise_lattice_contraction_is_the_plain_sum(sizes, monkeypatch):
    """_contract (block outer product times the last cohort's rows) = the einsum it replaced."""
    from adaptive2.kernels import quadrature

    rng = np.random.default_rng(5)
    arrays = [rng.uniform(0.0, 1.0, (n, 50)) for n in sizes]
    base = rng.uniform(0.0, 1.0, 50)
    letters = "abcdefgh"[: len(arrays)]
    ref = np.einsum(",".join(f"{ch}z" for ch in letters) + ",z->" + letters, *arrays, base)
    monkeypatch.setattr(quadrature, "_CONTRACT_BLOCK", 7 * 50)  # several blocks
    got = quadrature._contract(base, arrays)
    assert got.shape == tuple(sizes)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)
