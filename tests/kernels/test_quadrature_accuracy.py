"""Accuracy across priors: the grid is refined outside the tested range, and warns beyond it.

:func:`adaptive2.kernels.quadrature.refined_grid` adds τ nodes for small or heavy-tailed
τ priors and widens the θ range (same step) for vague priors;
:func:`~adaptive2.kernels.quadrature.accuracy_warnings` names what even that does not
cover. benchmarks/accuracy_hierarchical.py measures the range on whole 40 + 40 and
100 + 100 lattices; these tests check

* the shipped designs: the grid unchanged, the same numbers, no warning;
* the boundaries: refinement exactly outside the tested range and not inside it;
* the warnings: one line naming the setting and the size of the possible error, once
  per engine;
* refined answers against references that share no grid with the engine, in vague-prior
  cases where the unrefined default grid is off by more than 1e-4: an independent model
  with NEX sd 100 and one cohort with μ sd 100 (one-dimensional ``scipy.integrate.quad``
  over θ, the τ mixture by Gauss–Legendre), and one cohort with an exchangeable stratum
  under a half-normal(0.25) τ prior (a τ grid three times finer than the refined one).
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

from adaptive2._base.cache import MEMO
from adaptive2._base.errors import ConvergenceWarning, DesignError, PrecisionWarning
from adaptive2.io.design_files import load_design
from adaptive2.kernels.quadrature import (
    TESTED_N,
    accuracy_warnings,
    lattice,
    refined_grid,
)
from adaptive2.model.hierarchical import (
    DEFAULT_GRID,
    FINE_GRID,
    Cohort,
    Historical,
    Model,
    QuadratureGrid,
)

TOL = 1e-4  # the accuracy promised for P(p_j > p0_j) and posterior means
ROOT = Path(__file__).resolve().parents[2]
TWO = (Cohort("frontline", 0.40, 0.60), Cohort("post_io", 0.10, 0.30))
ONE = (Cohort("a", 0.10, 0.30),)
PHASE1 = Historical("phase1", 16, 20)
AS_GIVEN = QuadratureGrid(adapt=False)


@pytest.fixture(autouse=True)
def _fresh_memo():
    """Engines (and their one-time warnings) are built anew in every test."""
    MEMO.clear()
    yield
    MEMO.clear()


# ---------------------------------------------------------------------------
# The shipped designs
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["two-cohort-bhm", "two-cohort-exnex"])
def test_shipped_designs_keep_the_default_grid_numbers_and_silence(name: str) -> None:
    design = load_design(ROOT / "designs" / f"{name}.toml")
    model, cohorts, grid = design.model, design.cohorts, design.grid
    assert grid == DEFAULT_GRID
    assert refined_grid(model, cohorts, grid) is grid
    assert accuracy_warnings(model, cohorts, grid) == []
    sizes = [c.looks[-1] for c in cohorts]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = lattice(model, cohorts, sizes, grid=grid)
        given = lattice(model, cohorts, sizes, grid=AS_GIVEN)
    for c in cohorts:
        np.testing.assert_array_equal(got.p_above[c.name], given.p_above[c.name])
        np.testing.assert_array_equal(got.mean[c.name], given.mean[c.name])


# ---------------------------------------------------------------------------
# Where refinement starts
# ---------------------------------------------------------------------------
def _refined(model: Model, cohorts=TWO, grid=DEFAULT_GRID) -> QuadratureGrid:
    return refined_grid(model, cohorts, grid)


@pytest.mark.parametrize(
    ("inside", "outside", "what"),
    [
        # tau step: half-normal scale below 0.96 (0.3 sqrt(s) < the default's 0.294)
        (Model(tau_scale=0.96), Model(tau_scale=0.95), "n_tau"),
        (Model(tau_scale=1.0, historical=(PHASE1,)), Model(tau_scale=0.25), "n_tau"),
        # theta range: spread sqrt(mu_sd² + (2.576 s)²) beyond 6 (s = 2.196 for mu_sd 2)
        (Model(tau_scale=2.19), Model(tau_scale=2.2), "theta_max"),
        (Model(mu_sd=5.4), Model(mu_sd=5.5), "theta_max"),
        (Model(kind="pooled", mu_sd=6.0), Model(kind="pooled", mu_sd=6.01), "theta_max"),
        (Model(kind="independent", nex_sd=6.0), Model(kind="independent", nex_sd=6.01),
         "theta_max"),
        # the prior's centre counts: 1 + 5.01 > 6
        (Model(kind="independent", nex_mean=0.99, nex_sd=5.01),
         Model(kind="independent", nex_mean=1.0, nex_sd=5.01), "theta_max"),
        (Model(kind="exnex", nex_sd=6.0), Model(kind="exnex", nex_sd={"post_io": 6.5}),
         "theta_max"),
    ],
)
def test_refinement_starts_exactly_at_the_edge_of_the_tested_range(
    inside: Model, outside: Model, what: str
) -> None:
    assert _refined(inside) is DEFAULT_GRID
    assert accuracy_warnings(inside, TWO, DEFAULT_GRID) == []
    g = _refined(outside)
    assert getattr(g, what) > getattr(DEFAULT_GRID, what)
    assert accuracy_warnings(outside, TWO, DEFAULT_GRID) == []  # refined, so nothing to warn
    if what == "theta_max":
        # the theta step is kept (0 and every other node stay on the grid)
        assert 2 * g.theta_max / (g.n_theta - 1) == pytest.approx(0.05, abs=1e-12)
        assert g.n_theta % 4 == 1
        assert g.theta_max >= 22 + 2.197 - 1e-9  # reach beyond the largest |offset|, p0 = 0.1


def test_refinement_sizes() -> None:
    """Half-Cauchy: τ step 0.25 over its 18.7 units of log τ; half-normal(0.25): 0.15."""
    hc = _refined(Model(tau_prior="half_cauchy", tau_scale=0.5))
    assert (hc.n_tau, hc.n_theta, hc.n_mu) == (77, 969, 401)
    assert _refined(Model(tau_scale=0.25)).n_tau == 77
    assert _refined(Model(tau_scale=0.5)).n_tau == 55
    assert _refined(Model(tau_prior="half_t", tau_scale=0.25)).n_tau == 90
    vague = _refined(Model(mu_sd=10.0))  # the uniform μ cells keep their width
    assert vague.n_mu == math.ceil(401 * (vague.theta_max - 1) / 11 - 1e-9)


def test_refinement_respects_the_grid_it_is_given() -> None:
    coarse = QuadratureGrid(n_theta=161, n_mu=81, n_tau=15)
    assert _refined(Model(), grid=coarse) is coarse  # a coarse grid stays coarse in range
    model = Model(tau_scale=0.5, mu_sd=8.0)
    g = _refined(model, grid=coarse)
    assert g.n_tau == 55 and g.theta_max > 24 and g.n_theta == 4 * round(g.theta_max / 0.3) + 1
    assert _refined(model, grid=g) is g  # idempotent
    assert _refined(Model(tau_prior="half_cauchy"), grid=FINE_GRID) is FINE_GRID  # adapt=False
    assert _refined(Model(tau_prior="half_cauchy"), grid=AS_GIVEN) is AS_GIVEN


def test_exnex_weight_and_small_tau_scales_do_not_change_the_grid() -> None:
    """Analysis branches with weight 0 and 1 must share the grid of the model."""
    grids = {_refined(Model(kind="exnex", weight=w, nex_sd=10.0)) for w in (0.0, 0.5, 1.0)}
    assert len(grids) == 1
    # below 0.25 the tau prior is near pooling: no refinement, a ConvergenceWarning instead
    assert _refined(Model(tau_scale=0.2499)) is DEFAULT_GRID
    with pytest.warns(ConvergenceWarning, match="below 0.25"):
        lattice(Model(tau_scale=0.2499), ONE, (5,), grid=DEFAULT_GRID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lattice(Model(tau_scale=0.25), ONE, (5,), grid=DEFAULT_GRID)


def test_adapt_must_be_a_bool() -> None:
    with pytest.raises(DesignError, match="`adapt` of QuadratureGrid"):
        QuadratureGrid(adapt="yes")  # type: ignore[arg-type]
    assert DEFAULT_GRID.adapt and not FINE_GRID.adapt


# ---------------------------------------------------------------------------
# Warnings beyond the tested range
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "cohorts", "grid", "pattern"),
    [
        (Model(tau_scale=50.0), TWO, DEFAULT_GRID,
         r"^`tau_scale` = 50 of Model \(half-normal\) is beyond 30, .* off by about 3e-05;"),
        (Model(tau_prior="half_cauchy", tau_scale=20.0), TWO, DEFAULT_GRID,
         r"^`tau_scale` = 20 of Model \(half-Cauchy\) is beyond 10, .* off by about 2e-05;"),
        (Model(tau_prior="half_t", tau_df=1.5), TWO, DEFAULT_GRID,
         r"^`tau_df` = 1.5 of Model is below 2, .* off by 1e-4 or more"),
        (Model(mu_sd=3000.0), TWO, DEFAULT_GRID,
         r"^`mu_sd` = 3000 of Model is beyond 1000, .* off by about 3e-05;"),
        (Model(kind="independent", nex_sd=1e5), TWO, DEFAULT_GRID,
         r"^`nex_sd` = 100000 of Model is beyond 10000, .* off by about 3e-05;"),
        (Model(tau_prior="half_cauchy"), TWO, AS_GIVEN,
         r"^`tau_scale` = 1 of Model \(half-Cauchy\) needs .* not refined \(adapt=False\): "
         r".* off by up to 3e-4 .*use adapt=True"),
        (Model(kind="independent", nex_sd=100.0), ONE, FINE_GRID,
         r"^`nex_sd` = 100 of Model spreads the theta prior \(100 .* theta_max 14, not "
         r"refined \(adapt=False\): .* off by up to 2e-4 .* 5e-3 for 100"),
    ],
)
@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.PrecisionWarning")  # all but one
def test_warnings_name_the_setting_and_the_possible_error(model, cohorts, grid,
                                                          pattern: str) -> None:
    messages = accuracy_warnings(model, cohorts, grid)
    assert messages and all("\n" not in m for m in messages)
    assert any(re.search(pattern, m) for m in messages), messages
    with pytest.warns(PrecisionWarning, match=pattern):
        lattice(model, ONE if model.kind == "independent" else cohorts[:1], (4,), grid=grid)


@pytest.mark.parametrize(
    "model",
    [
        Model(tau_scale=30.0),
        Model(tau_prior="half_t", tau_scale=30.0),
        Model(tau_prior="half_cauchy", tau_scale=10.0),
        Model(tau_prior="half_t", tau_df=2.0),
        Model(mu_sd=1000.0),
        Model(kind="independent", nex_sd=1e4),
    ],
)
def test_no_warning_at_the_largest_tested_values(model: Model) -> None:
    assert accuracy_warnings(model, TWO, DEFAULT_GRID) == []


def test_warnings_come_once_per_engine_and_only_beyond_100_patients() -> None:
    model = Model(kind="independent", nex_sd=1e5)  # warns about nex_sd when built
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in (20, 30, TESTED_N):  # one engine, three lattices
            lattice(model, ONE, (n,), grid=DEFAULT_GRID)
    assert [str(w.message)[:10] for w in caught] == ["`nex_sd` ="]
    quiet = Model(kind="independent")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lattice(quiet, ONE, (TESTED_N,), grid=DEFAULT_GRID)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lattice(quiet, ONE, (150,), grid=DEFAULT_GRID)
        lattice(quiet, ONE, (300,), grid=DEFAULT_GRID)
    (only,) = caught
    assert only.category is PrecisionWarning
    assert str(only.message).startswith("a cohort of 150 patients is beyond 100")
    assert "off by about 2e-05" in str(only.message)


# ---------------------------------------------------------------------------
# Refined answers against independent references
# ---------------------------------------------------------------------------
def _quad_posterior(log_prior, r: int, n: int, p0: float, scale: float) -> tuple[float, float]:
    """(P(p > p0), E p) for r of n under the θ prior exp(log_prior), by scipy quad.

    θ = logit p − logit p0; the integrals run over ±12 prior scales (beyond, the prior
    mass is below 1e-30), split at the threshold 0 and where the likelihood bends.
    """
    off = math.log(p0 / (1 - p0))

    def f(t: float, weight) -> float:
        ll = r * special.log_expit(t + off) + (n - r) * special.log_expit(-t - off)
        return math.exp(ll + log_prior(t)) * weight(t)

    cuts = sorted({-12 * scale, -40.0, -10.0, 0.0, 10.0, 40.0, 12 * scale})
    cuts = [c for c in cuts if -12 * scale <= c <= 12 * scale]
    parts = list(itertools.pairwise(cuts))

    def total(weight, lo_cut: float = -math.inf) -> float:
        return sum(integrate.quad(f, a, b, args=(weight,), epsabs=0, epsrel=1e-11,
                                  limit=400)[0] for a, b in parts if a >= lo_cut)

    z = total(lambda t: 1.0)
    return total(lambda t: 1.0, 0.0) / z, total(lambda t: float(special.expit(t + off))) / z


def _check_against(res_refined, res_given, reference: dict[int, tuple[float, float]]) -> None:
    got = max(max(abs(res_refined.p_above["a"][r] - p), abs(res_refined.mean["a"][r] - m))
              for r, (p, m) in reference.items())
    given = max(max(abs(res_given.p_above["a"][r] - p), abs(res_given.mean["a"][r] - m))
                for r, (p, m) in reference.items())
    assert given > TOL, f"the unrefined grid is within {given:.1e}: no test of the refinement"
    assert got <= TOL, f"refined grid off by {got:.1e}"


def test_independent_with_a_vague_nex_prior_matches_quad() -> None:
    """NEX N(0, 100²): the unrefined grid is off by 1e-3 in means at 1/20 and 19/20."""
    s, n = 100.0, 20
    model = Model(kind="independent", nex_sd=s)
    ref = {r: _quad_posterior(lambda t: -0.5 * (t / s) ** 2, r, n, 0.1, s) for r in range(n + 1)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        _check_against(lattice(model, ONE, (n,), grid=DEFAULT_GRID),
                       lattice(model, ONE, (n,), grid=AS_GIVEN), ref)


@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.PrecisionWarning")  # adapt=False
def test_one_cohort_with_a_vague_mu_prior_matches_quad() -> None:
    """μ ~ N(0, 100²) (Berry et al. 2013), τ ~ half-normal(1): θ ~ N(0, 100² + τ²) mixed over τ.

    The unrefined grid is off by 3e-3 in means (its θ range lumps the vague prior's tails);
    the mixture density is Gauss–Legendre over τ in [0, 9] (mass beyond: 4e-19).
    """
    n, mu_sd = 20, 100.0
    model = Model(mu_sd=mu_sd)
    z, w = np.polynomial.legendre.leggauss(80)
    tau = 4.5 * (z + 1)
    wt = 4.5 * w * 2 * np.exp(-0.5 * tau**2) / math.sqrt(2 * math.pi)  # half-normal(1) weights
    var = mu_sd**2 + tau**2

    def log_prior(t: float) -> float:
        return math.log(float((wt * np.exp(-0.5 * t * t / var) / np.sqrt(var)).sum()))

    ref = {r: _quad_posterior(log_prior, r, n, 0.1, mu_sd) for r in (0, 1, 2, 10, 18, 19, 20)}
    _check_against(lattice(model, ONE, (n,), grid=DEFAULT_GRID),
                   lattice(model, ONE, (n,), grid=AS_GIVEN), ref)


@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.PrecisionWarning")  # adapt=False
def test_small_tau_scale_matches_a_much_finer_tau_grid() -> None:
    """τ ~ half-normal(0.25), one cohort (p0 0.1) and phase 1 16/20 exchangeable with it.

    Data conflicting with the stratum push τ deep into its prior's tail; the unrefined
    40 τ nodes are off by 2.6e-4 in P(p > p0). Reference: 240 τ nodes (3x the refined 77).
    """
    n = 20
    model = Model(tau_scale=0.25, historical=(PHASE1,))
    refined = lattice(model, ONE, (n,), grid=DEFAULT_GRID)
    given = lattice(model, ONE, (n,), grid=AS_GIVEN)
    ref = lattice(model, ONE, (n,), grid=QuadratureGrid(n_tau=240, adapt=False))
    reference = {r: (float(ref.p_above["a"][r]), float(ref.mean["a"][r])) for r in range(n + 1)}
    _check_against(refined, given, reference)
