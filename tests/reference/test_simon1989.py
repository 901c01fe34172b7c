"""Published Simon (1989) two-stage designs, reproduced exactly.

Source: Simon R (1989). Optimal two-stage designs for phase II clinical trials.
Controlled Clinical Trials 10:1-10, Table 1 (p1 - p0 = 0.20) and Table 2
(p1 - p0 = 0.15). Each row gives r1/n1, r/n, EN(p0) (1 decimal) and PET(p0)
(2 decimals) of the optimal and the minimax design.

Every row is also re-derived here by an independent brute-force search (plain
Python loops and math.comb over all (n, n1, r1, r) with n <= NMAX_BF), so a
row passes only if the published design, the brute force and adaptive2.engines.simon
agree.

Note on p0 = 0.40, p1 = 0.60: the rows 7/18, 22/46 (EN 30.2, PET 0.56) and
11/28, 20/41 (EN 33.8, PET 0.55) are the alpha = 0.10, beta = 0.10 block of
Table 1 (their exact alpha is 0.095, above 0.05); the alpha = 0.05,
beta = 0.20 block has 7/16, 23/46 and 17/34, 20/39.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from adaptive2.engines.simon import simon

NMAX_BF = 56  # brute-force range; covers every published n below (largest 54)

# (p0, p1, alpha, beta, design, r1, n1, r, n, EN(p0), PET(p0))
TABLE = [
    # Table 1, alpha = 0.05, beta = 0.20
    (0.05, 0.20, 0.05, 0.20, "optimal", 0, 10, 3, 29, 17.6, 0.60),
    (0.05, 0.20, 0.05, 0.20, "minimax", 0, 13, 3, 27, 19.8, 0.51),
    (0.05, 0.25, 0.05, 0.20, "optimal", 0, 9, 2, 17, 12.0, 0.63),
    (0.05, 0.25, 0.05, 0.20, "minimax", 0, 12, 2, 16, 13.8, 0.54),
    (0.10, 0.30, 0.05, 0.20, "optimal", 1, 10, 5, 29, 15.0, 0.74),
    (0.10, 0.30, 0.05, 0.20, "minimax", 1, 15, 5, 25, 19.5, 0.55),
    (0.20, 0.40, 0.05, 0.20, "optimal", 3, 13, 12, 43, 20.6, 0.75),
    (0.20, 0.40, 0.05, 0.20, "minimax", 4, 18, 10, 33, 22.3, 0.72),
    (0.30, 0.50, 0.05, 0.20, "optimal", 5, 15, 18, 46, 23.6, 0.72),
    (0.30, 0.50, 0.05, 0.20, "minimax", 6, 19, 16, 39, 25.7, 0.67),
    (0.40, 0.60, 0.05, 0.20, "optimal", 7, 16, 23, 46, 24.5, 0.72),
    (0.40, 0.60, 0.05, 0.20, "minimax", 17, 34, 20, 39, 34.4, 0.91),
    (0.50, 0.70, 0.05, 0.20, "optimal", 8, 15, 26, 43, 23.5, 0.70),
    (0.50, 0.70, 0.05, 0.20, "minimax", 12, 23, 23, 37, 27.7, 0.66),
    (0.60, 0.80, 0.05, 0.20, "optimal", 7, 11, 30, 43, 20.5, 0.70),
    (0.60, 0.80, 0.05, 0.20, "minimax", 8, 13, 25, 35, 20.8, 0.65),
    (0.70, 0.90, 0.05, 0.20, "optimal", 4, 6, 22, 27, 14.8, 0.58),
    (0.70, 0.90, 0.05, 0.20, "minimax", 19, 23, 21, 26, 23.2, 0.95),
    # Table 1, alpha = 0.05, beta = 0.10
    (0.10, 0.30, 0.05, 0.10, "optimal", 2, 18, 6, 35, 22.5, 0.73),
    (0.10, 0.30, 0.05, 0.10, "minimax", 2, 22, 6, 33, 26.2, 0.62),
    (0.20, 0.40, 0.05, 0.10, "optimal", 4, 19, 15, 54, 30.4, 0.67),
    (0.20, 0.40, 0.05, 0.10, "minimax", 5, 24, 13, 45, 31.2, 0.66),
    # Table 1, alpha = 0.10, beta = 0.10
    (0.05, 0.20, 0.10, 0.10, "optimal", 0, 12, 3, 37, 23.5, 0.54),
    (0.05, 0.20, 0.10, 0.10, "minimax", 0, 18, 3, 32, 26.4, 0.40),
    (0.40, 0.60, 0.10, 0.10, "optimal", 7, 18, 22, 46, 30.2, 0.56),
    (0.40, 0.60, 0.10, 0.10, "minimax", 11, 28, 20, 41, 33.8, 0.55),
    # Table 2, alpha = 0.05, beta = 0.20
    (0.10, 0.25, 0.05, 0.20, "optimal", 2, 18, 7, 43, 24.7, 0.73),
    (0.10, 0.25, 0.05, 0.20, "minimax", 2, 22, 7, 40, 28.8, 0.62),
]


def _ids(row: tuple) -> str:
    p0, p1, a, b, kind = row[:5]
    return f"{p0}-{p1}-a{a}-b{b}-{kind}"


def _pmf(m: int, p: float) -> list[float]:
    return [math.comb(m, k) * p**k * (1 - p) ** (m - k) for k in range(m + 1)]


@cache
def brute_force(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> tuple:
    """Every (n, n1, r1) with its smallest feasible r: tuples (n, n1, r1, r, EN0, PET0).

    Exhaustive over 0 <= r1 < n1 < n <= nmax and r1 < r < n; the only shortcut,
    power <= P1(X1 + X2 > r), is a plain inclusion of events.
    """
    pmf = {p: [_pmf(m, p) for m in range(nmax + 1)] for p in (p0, p1)}
    ge = {}  # ge[p][m][k] = P(Bin(m, p) >= k), k = 0..m
    for p in (p0, p1):
        rows = []
        for m in range(nmax + 1):
            tail, acc = [0.0] * (m + 1), 0.0
            for k in range(m, -1, -1):
                acc += pmf[p][m][k]
                tail[k] = acc
            rows.append(tail)
        ge[p] = rows

    def surv(p: float, m: int, k: int) -> float:  # P(Bin(m, p) > k)
        if k < 0:
            return 1.0
        return ge[p][m][k + 1] if k < m else 0.0

    out = []
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            m = n - n1
            b0, b1 = pmf[p0][n1], pmf[p1][n1]
            first: dict[int, int] = {}
            for r in range(1, n):
                if surv(p1, n, r) < 1 - beta:
                    break  # no r' >= r can reach the power either
                a0 = a1 = 0.0
                for x1 in range(n1, 0, -1):  # a = P(X1 >= x1, X1 + X2 > r), i.e. r1 = x1 - 1
                    a0 += b0[x1] * surv(p0, m, r - x1)
                    a1 += b1[x1] * surv(p1, m, r - x1)
                    r1 = x1 - 1
                    if r1 < r and a0 <= alpha and a1 >= 1 - beta and r1 not in first:
                        first[r1] = r
            for r1, r in sorted(first.items()):
                pet = sum(b0[: r1 + 1])
                out.append((n, n1, r1, r, n1 + (1 - pet) * m, pet))
    return tuple(out)


def brute_optimal_minimax(p0: float, p1: float, alpha: float, beta: float, nmax: int):
    feas = brute_force(p0, p1, alpha, beta, nmax)
    optimal = min(feas, key=lambda d: (d[4], d[0], d[1], d[2]))
    minimax = min(feas, key=lambda d: (d[0], d[4], d[1], d[2]))
    return {"optimal": optimal, "minimax": minimax}


@pytest.mark.parametrize("row", TABLE, ids=_ids)
def test_brute_force_reproduces_published_row(row: tuple) -> None:
    p0, p1, alpha, beta, kind, r1, n1, r, n, en, pet = row
    found = brute_optimal_minimax(p0, p1, alpha, beta, NMAX_BF)[kind]
    assert found[:4] == (n, n1, r1, r)
    assert found[4] == pytest.approx(en, abs=0.05 + 1e-9)
    assert found[5] == pytest.approx(pet, abs=0.005 + 1e-9)


@pytest.mark.parametrize("row", TABLE, ids=_ids)
def test_simon_reproduces_published_row(row: tuple) -> None:
    p0, p1, alpha, beta, kind, r1, n1, r, n, en, pet = row
    res = simon(p0, p1, alpha=alpha, beta=beta, nmax=100)
    d = getattr(res, kind)
    assert d is not None
    assert (d.r1, d.n1, d.r, d.n) == (r1, n1, r, n)
    assert d.expected_n_p0 == pytest.approx(en, abs=0.05 + 1e-9)
    assert d.pet_p0 == pytest.approx(pet, abs=0.005 + 1e-9)
    assert d.alpha <= alpha
    assert d.power >= 1 - beta


@pytest.mark.parametrize(
    ("p0", "p1", "alpha", "beta"),
    sorted({row[:4] for row in TABLE}),
)
def test_simon_matches_brute_force_within_range(
    p0: float, p1: float, alpha: float, beta: float
) -> None:
    """Same search range: the vectorised search equals the brute force exactly."""
    res = simon(p0, p1, alpha=alpha, beta=beta, nmax=NMAX_BF)
    bf = brute_optimal_minimax(p0, p1, alpha, beta, NMAX_BF)
    for kind in ("optimal", "minimax"):
        d = getattr(res, kind)
        n, n1, r1, r, en, pet = bf[kind]
        assert (d.n, d.n1, d.r1, d.r) == (n, n1, r1, r)
        assert d.expected_n_p0 == pytest.approx(en, rel=1e-12)
        assert d.pet_p0 == pytest.approx(pet, rel=1e-12)
