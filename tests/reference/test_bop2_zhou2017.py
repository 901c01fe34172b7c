"""BOP2 (Zhou, Lee & Yuan 2017) boundaries: a published example and an mpmath brute force.

Sources
-------
* Zhou H, Lee JJ, Yuan Y (2017). BOP2: Bayesian optimal design for phase II clinical
  trials with simple and complex endpoints. Stat Med 36:3302-3314. Futility rule: stop
  if P(p <= p0 | data) > C(n) = 1 - λ (n/N)^γ, prior Beta(p0, 1 - p0). No table of the
  paper itself could be retrieved with the search tools, so the paper's rule is
  re-implemented below with mpmath and used as the reference for several settings.
* BOP2FE R package (Yimer, Xu, Hashimoto, Homma, Takeda; github.com/belayb/BOP2FE,
  README.md, section "Binary endpoint"; the BOP2-FE design of Xu et al. 2025 keeps the
  BOP2 futility rule above and adds efficacy stopping):
  ``BOP2FE_binary(H0 = 0.2, H1 = 0.4, n = c(10,5,5,5,5,5,5), lambda = 0.909, gamma = 1,
  method = "OF", nsim = 10000, seed = 1234)`` prints

      Futility boundary    1 2 3 5 7 9 11   (looks n = 10, 15, ..., 40)
      Superiority boundary 7 8 9 10 11 11 12

  and, from 10 000 simulated trials, under H0 (p = 0.2) / H1 (p = 0.4): early stopping
  for futility 87.7 / 10.3 %, early stopping for superiority 7.22 / 85.9 %, average
  sample size 20.5 / 23.6, null rejection 8.58 / 88.5 %. Its prior is Beta(H0, 1 - H0)
  (R/binary_endpoint.R: ``a1 = H0, b1 = 1 - H0``) and its futility boundary is the
  largest x with P(p > H0 | x) < λ (n/N)^γ (R/boundary_binary.R). The superiority
  boundaries use an O'Brien-Fleming-type cutoff that adaptive2's BOP2 rule does not
  offer, so they enter below as an explicit Boundary rule.

Tolerances: boundaries exactly; simulated OC within 4 binomial standard errors of
10 000 trials plus half a unit in the last printed digit.
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest

from adaptive2.designs import Design
from adaptive2.oc import oc
from adaptive2.priors import Beta
from adaptive2.rules import BOP2, Boundary


@pytest.fixture(autouse=True, scope="module")
def _mp_precision():
    """mpmath works at 25 digits in this module (local, never a global side effect)."""
    with mp.workdps(25):
        yield

README_LOOKS = (10, 15, 20, 25, 30, 35, 40)
README_FUTILITY = (1, 2, 3, 5, 7, 9, 11)
README_SUPERIORITY = (7, 8, 9, 10, 11, 11, 12)


def readme_design(efficacy: bool = False) -> Design:
    return Design(
        name="bop2fe-readme",
        prior=Beta(0.2, 0.8),
        looks=README_LOOKS,
        futility=BOP2(p0=0.2, lambda_=0.909, gamma=1.0),
        efficacy=Boundary(r=tuple(b - 1 for b in README_SUPERIORITY[:-1])) if efficacy else None,
        final=BOP2(p0=0.2, lambda_=0.909),
    )


def test_bop2fe_readme_futility_boundaries() -> None:
    bnd = readme_design().boundaries()
    assert bnd.looks == README_LOOKS
    assert bnd.futility_max_r[:-1] == README_FUTILITY[:-1]
    # final look: "futility" 11 and "superiority" 12, i.e. success iff r >= 12
    assert bnd.futility_max_r[-1] == README_FUTILITY[-1]
    assert bnd.efficacy_min_r[-1] == README_SUPERIORITY[-1]


@pytest.mark.parametrize(
    ("p", "futility", "superiority", "mean_n", "rejection"),
    [(0.2, 0.877, 0.0722, 20.5, 0.0858), (0.4, 0.103, 0.859, 23.6, 0.885)],
    ids=["H0", "H1"],
)
def test_bop2fe_readme_operating_characteristics(
    p: float, futility: float, superiority: float, mean_n: float, rejection: float
) -> None:
    design = readme_design(efficacy=True)
    bnd = design.boundaries()
    assert bnd.efficacy_min_r[:-1] == README_SUPERIORITY[:-1]
    ds = oc(design, [p], method="exact")
    stop = ds["p_stop_at"].values[0]
    got = {
        "futility": float(ds["p_futility"].values[0]),
        "superiority": float(stop[:-1, 1].sum()),
        "rejection": float(ds["p_efficacy"].values[0]),
    }
    want = {"futility": futility, "superiority": superiority, "rejection": rejection}
    for key, value in want.items():
        tol = 4 * math.sqrt(value * (1 - value) / 10_000) + 0.0005
        assert abs(got[key] - value) <= tol, (key, got[key], value)
    sd = float(ds["sd_n"].values[0])
    assert abs(float(ds["expected_n"].values[0]) - mean_n) <= 4 * sd / 100 + 0.05


# ---------------------------------------------------------------------------
# Independent implementation of the BOP2 rule (the paper's form)
# ---------------------------------------------------------------------------
def mp_prob_le(p0: float, a: float, b: float, r: int, n: int) -> mp.mpf:
    """P(p <= p0 | r of n) under Beta(a, b)."""
    return mp.betainc(a + r, b + n - r, 0, p0, regularized=True)


def brute_force_bop2(p0, prior, looks, lam, gamma, eta):
    n_max = looks[-1]
    fut, eff = [], []
    for n in looks[:-1]:
        t = mp.mpf(n) / n_max
        c_fut = 1 - lam * t**gamma  # stop for futility if P(p <= p0) > C(n)
        le = [mp_prob_le(p0, prior.a, prior.b, r, n) for r in range(n + 1)]
        stops = [r for r in range(n + 1) if le[r] > c_fut]
        fut.append(max(stops) if stops else None)
        if eta is not None:
            c_eff = 1 - (1 - lam) * t**eta  # stop for efficacy if P(p > p0) >= c_eff
            go = [r for r in range(n + 1) if 1 - le[r] >= c_eff]
            eff.append(min(go) if go else None)
        else:
            eff.append(None)
    le = [mp_prob_le(p0, prior.a, prior.b, r, n_max) for r in range(n_max + 1)]
    success = [r for r in range(n_max + 1) if 1 - le[r] > lam]
    s = min(success) if success else None
    fut.append(None if s is None else (s - 1 if s > 0 else None))
    eff.append(s)
    return tuple(fut), tuple(eff)


SETTINGS = [
    # (p0, looks, λ, γ, η): the BOP2 paper's kind of single-binary-endpoint designs
    (0.2, (10, 20, 30, 40), 0.95, 1.0, None),
    (0.1, (10, 20, 30, 40), 0.9, 1.0, 1.0),  # post-IO planning value
    (0.4, (15, 25, 40), 0.95, 0.8, 1.2),  # frontline planning value
    (0.3, (10, 15, 20, 25, 30), 0.85, 1.5, 2.0),
    (0.2, README_LOOKS, 0.909, 1.0, None),
]


@pytest.mark.parametrize(("p0", "looks", "lam", "gamma", "eta"), SETTINGS)
def test_bop2_boundaries_brute_force(p0, looks, lam, gamma, eta) -> None:
    prior = Beta(p0, 1 - p0)
    design = Design(
        name="bop2",
        prior=prior,
        looks=looks,
        futility=BOP2(p0=p0, lambda_=lam, gamma=gamma),
        efficacy=BOP2(p0=p0, lambda_=lam, eta=eta) if eta is not None else None,
        final=BOP2(p0=p0, lambda_=lam),
    )
    fut, eff = brute_force_bop2(p0, prior, looks, lam, gamma, eta)
    bnd = design.boundaries()
    assert bnd.futility_max_r == fut
    assert bnd.efficacy_min_r == eff
