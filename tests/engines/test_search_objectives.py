"""How a search picks its design (``choose``): Simon (1989) optimal and minimax rows,
an independent brute force over every two-stage design for "balanced", and the
Lee & Liu / Pareto results against a direct minimisation over all listed designs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from adaptive2._base.errors import DesignError
from adaptive2.engines.design_search import pareto
from adaptive2.engines.lee_liu import lee_liu
from adaptive2.engines.search import OBJECTIVES, objective_key
from adaptive2.engines.simon import simon
from adaptive2.io.design_files import load_design

from _shipped import SINGLE_COHORT

# Simon (1989) Table 1, alpha = 0.05, beta = 0.20: (p0, p1) -> optimal, minimax (r1, n1, r, n)
SIMON_1989 = {
    (0.10, 0.30): ((1, 10, 5, 29), (1, 15, 5, 25)),
    (0.20, 0.40): ((3, 13, 12, 43), (4, 18, 10, 33)),
    (0.30, 0.50): ((5, 15, 18, 46), (6, 19, 16, 39)),
}


def _key(d) -> tuple[int, int, int, int]:
    return (d.r1, d.n1, d.r, d.n)


@pytest.mark.parametrize(("p0", "p1"), sorted(SIMON_1989))
def test_simon_objectives_give_the_published_optimal_and_minimax(p0, p1) -> None:
    res = simon(p0, p1, alpha=0.05, beta=0.20)
    optimal, minimax = SIMON_1989[p0, p1]
    assert _key(res.choose("min-EN0")) == optimal
    assert _key(res.choose("min-max-N")) == minimax
    assert _key(res.choose()) == optimal  # the default


def _brute_simon(p0: float, p1: float, alpha: float, beta: float, nmax: int):
    """Every feasible two-stage design (r1, n1, r, n) with n <= nmax, by direct binomial sums.

    Independent of adaptive2: for each (n, n1, r1) every r is tried (no pruning); returns
    a list of (n, EN(p0), r1, n1, r).
    """
    out = []
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            m = n - n1
            x1 = np.arange(n1 + 1)
            f0, f1 = stats.binom.pmf(x1, n1, p0), stats.binom.pmf(x1, n1, p1)
            for r1 in range(n1):
                pet0 = f0[: r1 + 1].sum()
                if 1 - f1[: r1 + 1].sum() < 1 - beta:  # power <= P1(continue)
                    break
                en = n1 + (1 - pet0) * m
                cont = x1[r1 + 1:]
                for r in range(r1 + 1, n):
                    rej0 = (f0[r1 + 1:] * stats.binom.sf(r - cont, m, p0)).sum()
                    if rej0 > alpha:
                        continue
                    rej1 = (f1[r1 + 1:] * stats.binom.sf(r - cont, m, p1)).sum()
                    if rej1 >= 1 - beta:
                        out.append((n, float(en), r1, n1, r))
                    break  # a larger r has less power
    return out


@pytest.mark.parametrize(("p0", "p1", "nmax"), [(0.10, 0.30, 32), (0.05, 0.25, 20)])
def test_balanced_is_the_brute_force_minimum_of_the_average(p0, p1, nmax) -> None:
    feasible = _brute_simon(p0, p1, 0.05, 0.20, nmax)
    assert feasible
    res = simon(p0, p1, alpha=0.05, beta=0.20, nmax=nmax)
    for objective, loss in (("balanced", lambda n, en: (n + en) / 2),
                            ("min-EN0", lambda n, en: en),
                            ("min-max-N", lambda n, en: n + en / 1000)):
        best = min(loss(n, en) for n, en, *_ in feasible)
        got = res.choose(objective)
        assert loss(got.n, got.expected_n_p0) == pytest.approx(best, abs=1e-10), objective
        # the chosen first stage is one of those attaining the minimum in the brute force
        ties = {(r1, n1, n) for n, en, r1, n1, _ in feasible
                if abs(loss(n, en) - best) <= 1e-10}
        assert (got.r1, got.n1, got.n) in ties


def test_balanced_is_the_admissible_design_for_q_one_half() -> None:
    res = simon(0.1, 0.3)
    d = res.choose("balanced")
    assert d.q_low <= 0.5 <= d.q_high
    assert _key(d) == (1, 12, 5, 26)


def test_no_feasible_design_chooses_none() -> None:
    assert simon(0.1, 0.3, nmax=10).choose("balanced") is None


def _direct(designs, objective):
    """The objective's pick by a plain loop (ties: smaller E[N | p0], N, larger power)."""
    losses = {
        "min-EN0": lambda d: (d.expected_n_p0, d.n_max, -d.power),
        "min-max-N": lambda d: (d.n_max, d.expected_n_p0, -d.power),
        "balanced": lambda d: ((d.n_max + d.expected_n_p0) / 2, d.expected_n_p0, d.n_max,
                               -d.power),
    }
    best = None
    for d in designs:
        if best is None or losses[objective](d) < losses[objective](best):
            best = d
    return best


@pytest.fixture(scope="module")
def lee_liu_result():
    return lee_liu(0.2, 0.4, alpha=0.1, power=0.8, n_range=(20, 30),
                   theta_l_grid=[0.001, 0.01, 0.05, 0.1, 0.15])


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_search_result_choose_is_the_direct_minimum(lee_liu_result, objective) -> None:
    res = lee_liu_result
    got = res.choose(objective)
    assert got is _direct(res.designs, objective)
    assert got.q_interval is not None  # every objective's choice is admissible
    if objective == "min-EN0":
        assert got is res.optimal
    if objective == "min-max-N":
        assert got is res.minimax
    if objective == "balanced":
        assert got.q_interval[0] <= 0.5 <= got.q_interval[1]


def test_pareto_choose_over_shipped_designs() -> None:
    designs = [load_design(p) for p in SINGLE_COHORT if "frontline" in p.name]
    res = pareto(designs, alpha=0.2, power=0.5)
    for objective in OBJECTIVES:
        assert res.choose(objective) is _direct(res.designs, objective)
    empty = pareto(designs, alpha=1e-9, power=0.5)
    assert empty.choose("min-EN0") is None


def test_objective_key_refuses_unknown_objectives() -> None:
    with pytest.raises(DesignError, match=r"`objective` of objective_key must be one of "
                                          r"\{'min-EN0', 'min-max-N', 'balanced'\}; got 'x'"):
        objective_key("x")
