"""``calibrate(..., objective="min-EN0")`` and ``calibrate_bop2(..., objective="min-EN0")``:
the smallest E[N | p0] with α and power on target, against brute-force enumeration of the
same grid with operating characteristics computed independently (binomial sums)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from adaptive2._base.errors import CalibrationError, DesignError
from adaptive2.engines.calibration import calibrate, calibrate_bop2, set_parameter
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import BOP2, PosteriorProbability, PredictiveProbability

TOL = 1e-12
P0, P1 = 0.2, 0.4


def _pp(final_cutoff: float = 0.9, threshold: float = 0.05) -> Design:
    return Design(name="pp", prior=Beta(P0, 1 - P0), looks=(15, 30), p0=P0, p1=P1,
                  futility=PredictiveProbability(threshold),
                  final=PosteriorProbability(p0=P0, cutoff=final_cutoff))


def _post() -> Design:
    return Design(name="post", prior=Beta(1, 1), looks=(12, 30), p0=P0, p1=P1,
                  futility=PosteriorProbability(p0=P0, cutoff=0.1),
                  final=PosteriorProbability(p0=P0, cutoff=0.93))


def _three_looks() -> Design:
    return Design(name="three", prior=Beta(P0, 1 - P0), looks=(10, 20, 30), p0=P0, p1=P1,
                  futility=PredictiveProbability(0.05),
                  final=PosteriorProbability(p0=P0, cutoff=0.9))


# ---------------------------------------------------------------------------
# an independent reference: OC by binomial sums over every outcome path
# ---------------------------------------------------------------------------
def _reach(bnd: Boundaries, p: float) -> tuple[float, float]:
    """(P(efficacy), E[N]) at rate p by forward recursion over (look, responses so far).

    Written from the definitions with scipy's binomial pmf (not the package's kernel): at
    each look the trial stops for futility at r <= a_k and for efficacy at r >= b_k.
    """
    n, a, b = bnd.arrays()
    alive = {0: 1.0}  # responses so far -> probability of still running
    p_eff, e_n, prev = 0.0, 0.0, 0
    for k, nk in enumerate(n):
        m = int(nk) - prev
        nxt: dict[int, float] = {}
        for r, w in alive.items():
            for x in range(m + 1):
                nxt[r + x] = nxt.get(r + x, 0.0) + w * float(stats.binom.pmf(x, m, p))
        alive = {}
        for r, w in nxt.items():
            if r <= a[k]:
                e_n += w * nk
            elif r >= b[k]:
                p_eff += w
                e_n += w * nk
            elif k == len(n) - 1:
                e_n += w * nk
            else:
                alive[r] = w
        prev = int(nk)
    return p_eff, e_n


def _figures(design: Design) -> tuple[float, float, float, Boundaries]:
    """(worst-case alpha over p <= p0, power, E[N | p0], boundaries), independently."""
    bnd = design.boundaries()
    alpha, en0 = _reach(bnd, P0)
    power, _ = _reach(bnd, P1)
    # the null grid of the engine: P(efficacy) is non-decreasing in p, so p0 is the worst case
    for p in np.linspace(0.0, P0, 11):
        assert _reach(bnd, float(p))[0] <= alpha + 1e-12
    return alpha, power, en0, bnd


def _brute(designs: list[Design], alpha: float, power: float):
    """Smallest E[N | p0] among the designs meeting both targets (ties: power, then alpha)."""
    ok = []
    for d in designs:
        a, pw, en, bnd = _figures(d)
        if a <= alpha + TOL and pw >= power - TOL:
            ok.append((en, -pw, a, bnd))
    return min(ok, key=lambda t: t[:3]) if ok else None


GRID = [0.001, 0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4]
POST_GRID = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8]


# ---------------------------------------------------------------------------
# brute force over the same grid
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "parameter", "grid"), [(_pp, "futility.threshold", GRID),
                                                          (_post, "futility.cutoff", POST_GRID),
                                                          (_three_looks, "futility.threshold",
                                                           GRID)],
                         ids=["predictive", "posterior", "three-looks"])
@pytest.mark.parametrize(("alpha", "power"), [(0.10, 0.80), (0.15, 0.75)])
def test_min_en_matches_brute_force_on_the_grid(make, parameter, grid, alpha, power) -> None:
    design = make()
    res = calibrate(design, alpha=alpha, power=power, objective="min-EN0", grid=grid,
                    tune_final=False)
    ref = _brute([set_parameter(design, parameter, g) for g in grid], alpha, power)
    assert ref is not None
    en, neg_power, a, bnd = ref
    assert list(res.parameters) == [parameter]
    assert res.design.boundaries() == bnd
    assert res.expected_n_p0 == pytest.approx(en, abs=1e-10)
    assert res.power == pytest.approx(-neg_power, abs=1e-10)
    assert res.alpha == pytest.approx(a, abs=1e-10)
    assert res.feasible and res.alpha <= alpha + TOL and res.power >= power - TOL
    # the reported value is a grid value giving the chosen boundaries
    assert res.parameters[parameter] in grid
    assert set_parameter(design, parameter, res.parameters[parameter]).boundaries() == bnd


@pytest.mark.parametrize(("alpha", "power"), [(0.10, 0.80), (0.05, 0.70)])
def test_joint_search_matches_brute_force_over_both_grids(alpha, power) -> None:
    design = _pp()
    finals = [0.8, 0.85, 0.9, 0.93, 0.95, 0.97]
    res = calibrate(design, alpha=alpha, power=power, objective="min-EN0", grid=GRID,
                    final_grid=finals, tune_final=True)
    every = [set_parameter(set_parameter(design, "final.cutoff", f), "futility.threshold", g)
             for f, g in itertools.product(finals, GRID)]
    en, neg_power, _, bnd = _brute(every, alpha, power)
    assert list(res.parameters) == ["futility.threshold", "final.cutoff"]
    assert res.expected_n_p0 == pytest.approx(en, abs=1e-10)
    assert res.power == pytest.approx(-neg_power, abs=1e-10)
    assert res.design.boundaries() == bnd
    # the design written back reproduces the boundaries from its parameter values
    again = set_parameter(set_parameter(design, "final.cutoff", res.parameters["final.cutoff"]),
                          "futility.threshold", res.parameters["futility.threshold"])
    assert again.boundaries() == bnd


def test_final_cutoff_is_tuned_only_when_needed() -> None:
    # with final cutoff 0.6 no futility threshold brings alpha down to 0.05 with power 0.7
    lax = _pp(final_cutoff=0.6)
    fixed = [set_parameter(lax, "futility.threshold", g) for g in GRID]
    assert _brute(fixed, 0.05, 0.7) is None
    res = calibrate(lax, alpha=0.05, power=0.7, objective="min-EN0", grid=GRID)
    assert "final.cutoff" in res.parameters
    assert "no futility setting alone met both targets" in res.message
    assert res.alpha <= 0.05 + TOL and res.power >= 0.7 - TOL
    # when the design's own final cutoff works, it is kept
    ok = calibrate(_pp(), alpha=0.1, power=0.8, objective="min-EN0", grid=GRID)
    assert list(ok.parameters) == ["futility.threshold"]
    assert ok.design.final.cutoff == 0.9


def test_joint_search_is_never_worse_than_the_fixed_final_cutoff() -> None:
    d = _pp()
    fixed = calibrate(d, alpha=0.1, power=0.8, objective="min-EN0", grid=GRID, tune_final=False)
    joint = calibrate(d, alpha=0.1, power=0.8, objective="min-EN0", grid=GRID, tune_final=True)
    assert joint.expected_n_p0 <= fixed.expected_n_p0 + TOL


def test_default_grid_beats_or_equals_a_coarse_grid() -> None:
    d = _pp()
    fine = calibrate(d, alpha=0.1, power=0.8, objective="min-EN0", tune_final=False)
    coarse = calibrate(d, alpha=0.1, power=0.8, objective="min-EN0", grid=GRID,
                       tune_final=False)
    assert fine.expected_n_p0 <= coarse.expected_n_p0 + TOL


# ---------------------------------------------------------------------------
# infeasible targets and bad arguments
# ---------------------------------------------------------------------------
def test_infeasible_targets_say_the_best_power_reached() -> None:
    d = _pp()
    with pytest.raises(CalibrationError) as info:
        calibrate(d, alpha=0.1, power=0.9, objective="min-EN0", grid=GRID, tune_final=False)
    msg = str(info.value)
    assert "alpha <= 0.1 and power >= 0.9" in msg
    # the most power reached with alpha controlled, by brute force over the same grid
    figures = [_figures(set_parameter(d, "futility.threshold", g)) for g in GRID]
    best = max(pw for a, pw, _, _ in figures if a <= 0.1 + TOL)
    assert best < 0.9
    assert f"the most powerful setting with alpha <= 0.1 reaches power {best:.4f}" in msg


def test_infeasible_alpha_says_the_smallest_alpha_reached() -> None:
    d = _pp()
    with pytest.raises(CalibrationError) as info:
        calibrate(d, alpha=0.02, power=0.5, objective="min-EN0", grid=GRID, tune_final=False)
    figures = [_figures(set_parameter(d, "futility.threshold", g)) for g in GRID]
    smallest = min(a for a, _, _, _ in figures)
    assert smallest > 0.02
    assert f"the smallest worst-case alpha reached is {smallest:.4f}" in str(info.value)


def test_unreachable_power_says_so() -> None:
    with pytest.raises(CalibrationError, match=r"no final boundary reaches power >= 0\.999"):
        calibrate(_pp(), alpha=0.1, power=0.999, objective="min-EN0", grid=GRID)


def test_min_en_needs_a_power_target() -> None:
    with pytest.raises(DesignError, match=r"^`power` of calibrate must be given"):
        calibrate(_pp(), alpha=0.1, objective="min-EN0")


def test_unknown_objective_names_the_allowed_ones() -> None:
    with pytest.raises(DesignError, match=r"`objective` of calibrate must be one of "
                                          r"\{'max-power', 'min-EN0'\}; got 'fast'"):
        calibrate(_pp(), alpha=0.1, power=0.8, objective="fast")


def test_grid_options_belong_to_min_en() -> None:
    with pytest.raises(DesignError, match="`grid` of calibrate must be None unless"):
        calibrate(_pp(), "final.cutoff", alpha=0.1, grid=[0.9])


def test_design_without_futility_parameter() -> None:
    d = Design(name="one", prior=Beta(1, 1), looks=(30,), p0=P0, p1=P1,
               final=PosteriorProbability(p0=P0, cutoff=0.9))
    with pytest.raises(DesignError, match="no futility parameter"):
        calibrate(d, alpha=0.1, power=0.8, objective="min-EN0")


def test_max_power_default_parameter_is_unchanged() -> None:
    d = _pp()
    assert calibrate(d, alpha=0.1).parameters == calibrate(d, "final.cutoff",
                                                           alpha=0.1).parameters


# ---------------------------------------------------------------------------
# BOP2
# ---------------------------------------------------------------------------
def test_bop2_min_en_matches_brute_force() -> None:
    base = Design(name="bop2", prior=Beta(P0, 1 - P0), looks=(10, 20, 30), p0=P0, p1=P1,
                  futility=BOP2(p0=P0, lambda_=0.9, gamma=1.0),
                  final=BOP2(p0=P0, lambda_=0.9))
    lambdas, gammas = [0.8, 0.85, 0.9, 0.95], [0.5, 1.0, 2.0]
    res = calibrate_bop2(base, alpha=0.1, power=0.8, lambdas=lambdas, gammas=gammas,
                         objective="min-EN0")
    every = []
    for la, ga in itertools.product(lambdas, gammas):
        try:
            every.append(base.replace(futility=base.futility.replace(lambda_=la, gamma=ga),
                                      final=base.final.replace(lambda_=la)))
        except DesignError:
            continue
    en, neg_power, _, bnd = _brute(every, 0.1, 0.8)
    assert res.expected_n_p0 == pytest.approx(en, abs=1e-10)
    assert res.power == pytest.approx(-neg_power, abs=1e-10)
    assert res.design.boundaries() == bnd
    # the max-power objective picks at least as much power, at no smaller E[N | p0]
    mp = calibrate_bop2(base, alpha=0.1, power=0.8, lambdas=lambdas, gammas=gammas)
    assert mp.power >= res.power - TOL and mp.expected_n_p0 >= res.expected_n_p0 - TOL


def test_bop2_min_en_infeasible() -> None:
    base = Design(name="bop2", prior=Beta(P0, 1 - P0), looks=(10, 20), p0=P0, p1=P1,
                  futility=BOP2(p0=P0, lambda_=0.9, gamma=1.0), final=BOP2(p0=P0, lambda_=0.9))
    with pytest.raises(CalibrationError, match=r"no BOP2 grid point meets alpha <= 0\.01 and "
                                               r"power >= 0\.95: the "):
        calibrate_bop2(base, alpha=0.01, power=0.95, objective="min-EN0")
    with pytest.raises(DesignError, match="`power` of calibrate_bop2 must be given"):
        calibrate_bop2(base, alpha=0.1, objective="min-EN0")


def test_reference_is_itself_right() -> None:
    """The brute-force recursion agrees with a closed form for a two-look design."""
    d = _post()
    bnd = d.boundaries()
    n, a, b = bnd.arrays()
    n1, n_max = int(n[0]), int(n[1])
    pmf1 = stats.binom.pmf(np.arange(n1 + 1), n1, P0)
    sf2 = [stats.binom.sf(int(b[1]) - x - 1, n_max - n1, P0) for x in range(n1 + 1)]
    p_eff = sum(pmf1[x] * sf2[x] for x in range(n1 + 1) if a[0] < x < b[0])
    p_eff += sum(pmf1[x] for x in range(n1 + 1) if x >= b[0])
    pet = sum(pmf1[x] for x in range(n1 + 1) if x <= a[0] or x >= b[0])
    got_eff, got_en = _reach(bnd, P0)
    assert got_eff == pytest.approx(p_eff, abs=1e-12)
    assert got_en == pytest.approx(n1 + (1 - pet) * (n_max - n1), abs=1e-10)
    assert math.isfinite(got_en)
