"""BOP2 efficacy-toxicity engine (engines.bop2_efftox): published examples, brute force, MC.

Sources
-------
* Zhou H, Lee JJ, Yuan Y (2017). BOP2: Bayesian optimal design for phase II clinical
  trials with simple and complex endpoints. Stat Med 36:3302-3314. Its joint efficacy-
  toxicity example: null cells (R and T, R only, T only, neither) = (0.15, 0.30, 0.15,
  0.40), i.e. φ_E = 0.45 and φ_T = 0.30; alternative (0.18, 0.42, 0.02, 0.38), i.e.
  p_E = 0.60 and p_T = 0.20; N = 40 with looks at 10, 15, ..., 40; α = 0.10. **The
  paper's own table (boundaries and OC) could not be retrieved with the search tools**
  (only its abstract), so it is not compared here. What is compared:
* multibrasBOP2 (G. Mulier; github.com/GuillaumeMulier/multibrasBOP2, R/deter_cutoff.R,
  roxygen examples of ``get_stopbound`` — "The table from the article of Zhou et al. de
  2017": ``get_stopbound(ana_inter = c(10, rep(5, 6)), C_ = 0.625, gamm = 0.98,
  p_n = c(0.15, 0.3, 0.15, 0.4))`` — and of ``deter_cutoff`` — "The trial mimicked in the
  article of Zhou et al., 2017": α 0.1, ``p_a = c(0.18, 0.42, 0.02, 0.38)``, grid
  ``cut_seq = seq(.5, 1, by = .005)``, ``power_seq = seq(0, 1, by = .01)``). That package
  states (λ, γ) = (0.625, 0.98) for the paper's design but prints no table. The exact
  calibration here, on that grid, returns exactly (0.625, 0.98)
  (``test_zhou2017_example_calibration``).
* BOP2FE (Yimer et al.; github.com/belayb/BOP2FE), README "Joint endpoint", same null and
  alternative and looks: it keeps BOP2's futility/toxicity rule and adds early efficacy
  stopping (BOP2-FE, Xu et al. 2025). Two revisions print boundaries and simulated OC:
  (a) README.md at commit 09bd8e3 ("version 0.3.0"): ``BOP2FE_jointefftox(..., lambda =
  0.7, gamma = 1, method = "OF", seed = 123)`` (10 000 simulated trials, the default):
  futility (responses) 3 5 8 10 13 16 19, toxicity 5 6 7 8 9 10 11, superiority
  (responses) 8 10 12 14 16 18 20, (toxicities) 0 2 4 5 7 8 10; under H0 / H1: early
  futility 90.2 / 30.0 %, early superiority 7.44 / 65.8 %, mean N 17.9 / 22.9, null
  rejection 8.28 / 68.8 %. (b) CRAN 1.0.3 README (``nsim = 1000``, grid search giving
  λ 0.7, γ 0.8, η 0.9, method "power"): futility 3 5 8 11 13 16 19, toxicity
  5 6 7 8 9 10 11, efficacy 7 10 12 14 16 18 20 / 1 2 4 5 7 8 10; OC H0 / H1: 0.886 /
  0.311, 0.094 / 0.646, 18.020 / 22.085, 0.099 / 0.676. The futility/toxicity boundaries
  are BOP2's and are reproduced by ``bop2_efftox``; the efficacy boundaries by a
  transcription of BOP2FE's rule (R/efftox_endpoint.R, ``get_boundary_jointefftox``);
  the printed OC lie within 4 simulation SE (+ half a printed unit) of the exact OC of
  the printed design.

Brute force: the calibration is re-derived by looping over every grid point, with
boundaries from scipy's Beta distribution and OC from all 4^N outcome sequences (N = 8),
and, for N = 40, with per-point OC; a patient-level simulation that decides from the
posterior tails themselves (no table) agrees within 3 MCSE.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from functools import cache

import numpy as np
import pytest
from scipy import stats

from adaptive2._base.errors import DesignError
from adaptive2.engines.bop2_efftox import (
    DEFAULT_GAMMAS,
    DEFAULT_LAMBDAS,
    Bop2EffToxResult,
    bop2_efftox,
    efftox_oc,
)
from adaptive2.kernels.bop2_joint import efftox_boundaries, rectangle_tables, table_oc
from adaptive2.kernels.joint import cell_probabilities

TOL = 1e-12
LOOKS = (10, 15, 20, 25, 30, 35, 40)
H0 = (0.15, 0.30, 0.15, 0.40)
H1 = (0.18, 0.42, 0.02, 0.38)
RESPONDS = np.array([1, 1, 0, 0])
TOXIC = np.array([1, 0, 1, 0])


def zhou(**kw) -> Bop2EffToxResult:
    kw.setdefault("null", [H0])
    return bop2_efftox(0.45, 0.30, LOOKS, H1, **kw)


# ---------------------------------------------------------------------------
# Published and secondary references
# ---------------------------------------------------------------------------
MULTIBRAS_LAMBDAS = tuple(round(0.5 + 0.005 * i, 3) for i in range(100))  # seq(.5, 1, .005)
MULTIBRAS_GAMMAS = tuple(round(0.01 * i, 2) for i in range(101))  # seq(0, 1, .01)


def test_zhou2017_example_calibration() -> None:
    """On multibrasBOP2's grid, the exact optimum is its stated (λ, γ) = (0.625, 0.98).

    λ = 1 (the grid's last value) is outside adaptive2's (0, 1); the brute force below
    shows it cannot compete (its best power with α <= 0.1 is far lower).
    """
    res = zhou(grid=(MULTIBRAS_LAMBDAS, MULTIBRAS_GAMMAS))
    assert (res.lambda_, res.gamma) == (0.625, 0.98)
    assert res.futility_max_r == (2, 5, 7, 10, 13, 16, 19)
    assert res.toxicity_min_t == (5, 6, 8, 9, 10, 11, 12)
    assert res.feasible and res.n_points == 100 * 101
    assert round(res.alpha, 4) == 0.0912 and round(res.power, 4) == 0.7456
    assert round(res.expected_n_null[0], 2) == 21.93
    # λ = 1: the boundaries by scipy (the kernel refuses λ = 1), OC by the kernel
    best_at_one = 0.0
    for g in MULTIBRAS_GAMMAS:
        a, b = scipy_boundaries(LOOKS, 0.45, 0.30, 1.0, g)
        fut, tox = rectangle_tables(LOOKS, a, b)
        out = table_oc(LOOKS, fut, tox, [H0, H1])["p_declare"]
        if out[0] <= 0.1:
            best_at_one = max(best_at_one, float(out[1]))
    assert best_at_one < res.power - 0.05


def test_zhou2017_example_rules_in_words() -> None:
    res = zhou(grid=([0.625], [0.98]))
    assert res.rules() == (
        "n = 10: stop if responses <= 2 or toxicities >= 5",
        "n = 15: stop if responses <= 5 or toxicities >= 6",
        "n = 20: stop if responses <= 7 or toxicities >= 8",
        "n = 25: stop if responses <= 10 or toxicities >= 9",
        "n = 30: stop if responses <= 13 or toxicities >= 10",
        "n = 35: stop if responses <= 16 or toxicities >= 11",
        "n = 40 (final): declare acceptable if responses >= 20 and toxicities <= 11; "
        "otherwise No-Go",
    )


BOP2FE = {
    # revision: ((λ, γ), method, η, futility, toxicity, eff. responses, eff. toxicities,
    #            nsim, {cells: (early futility, early efficacy, mean N, rejection)})
    "0.3.0": ((0.7, 1.0), "OF", None, (3, 5, 8, 10, 13, 16, 19), (5, 6, 7, 8, 9, 10, 11),
              (8, 10, 12, 14, 16, 18, 20), (0, 2, 4, 5, 7, 8, 10), 10_000,
              {H0: (0.902, 0.0744, 17.9, 0.0828), H1: (0.300, 0.658, 22.9, 0.688)}),
    "cran-1.0.3": ((0.7, 0.8), "power", 0.9, (3, 5, 8, 11, 13, 16, 19),
                   (5, 6, 7, 8, 9, 10, 11), (7, 10, 12, 14, 16, 18, 20), (1, 2, 4, 5, 7, 8, 10),
                   1000, {H0: (0.886, 0.094, 18.020, 0.099), H1: (0.311, 0.646, 22.085, 0.676)}),
}
HALF_UNIT = {"0.3.0": (0.0005, 0.00005, 0.05, 0.00005), "cran-1.0.3": (0.0005,) * 2 + (0.0005,) * 2}


def bop2fe_efficacy(lam: float, method: str, eta: float | None) -> tuple[tuple, tuple]:
    """BOP2FE's efficacy boundaries (R/efftox_endpoint.R ``get_boundary_jointefftox``).

    Cutoff cs: 2 Φ(z_{(1+λ)/2} / sqrt(t)) - 1 ("OF") or 1 - (1 - λ) t^η ("power"). Among
    all outcome tables with P(p_E > φ_E) >= cs and P(p_T <= φ_T) >= cs: the smallest
    response count (else n) and the largest toxicity count (else 0).
    """
    s1, s2 = [], []
    for n in LOOKS:
        t = n / LOOKS[-1]
        if method == "OF":
            cs = 2 * stats.norm.cdf(stats.norm.ppf((1 + lam) / 2) / math.sqrt(t)) - 1
        else:
            cs = 1 - (1 - lam) * t ** eta
        x = np.arange(n + 1)
        ok_r = x[stats.beta.sf(0.45, 0.45 + x, 0.55 + n - x) >= cs]
        ok_t = x[stats.beta.cdf(0.30, 0.30 + x, 0.70 + n - x) >= cs]
        both = ok_r.size > 0 and ok_t.size > 0
        s1.append(int(ok_r.min()) if both else n)
        s2.append(int(ok_t.max()) if both else 0)
    return tuple(s1), tuple(s2)


@pytest.mark.parametrize("revision", sorted(BOP2FE))
def test_bop2fe_readme_joint_boundaries(revision: str) -> None:
    (lam, gam), method, eta, fut, tox, eff_r, eff_t, _, _ = BOP2FE[revision]
    res = zhou(grid=([lam], [gam]))
    assert res.futility_max_r == fut and res.toxicity_min_t == tox
    assert bop2fe_efficacy(lam, method, eta) == (eff_r, eff_t)


@pytest.mark.parametrize("revision", sorted(BOP2FE))
def test_bop2fe_readme_joint_operating_characteristics(revision: str) -> None:
    """Printed simulated OC within 4 SE (+ half a printed unit) of the exact OC."""
    _, _, _, fut, tox, eff_r, eff_t, nsim, printed = BOP2FE[revision]
    f_tab, t_tab = rectangle_tables(LOOKS, fut, tox)
    go = [(np.arange(n + 1)[:, None] >= eff_r[k]) & (np.arange(n + 1)[None, :] <= eff_t[k])
          for k, n in enumerate(LOOKS[:-1])]
    out = table_oc(LOOKS, f_tab, t_tab, [H0, H1], efficacy=go)
    for s, cells in enumerate((H0, H1)):
        got = (
            float(out["p_stop_at"][s, :-1].sum()),
            float(out["p_declare_at"][s, :-1].sum()),
            float(out["expected_n"][s]),
            float(out["p_declare"][s]),
        )
        for i, (value, want) in enumerate(zip(got, printed[cells], strict=True)):
            se = float(out["sd_n"][s]) if i == 2 else math.sqrt(value * (1 - value))
            tol = 4 * se / math.sqrt(nsim) + HALF_UNIT[revision][i]
            assert abs(value - want) <= tol, (revision, s, i, value, want)


# ---------------------------------------------------------------------------
# Calibration against brute force
# ---------------------------------------------------------------------------
def scipy_boundaries(looks, phi_e, phi_t, lam, gamma, ess=1.0):
    """a_k, b_k straight from the paper's rule with scipy.stats.beta (any λ in (0, 1])."""
    a, b = [], []
    for n in looks:
        c = 1 - lam * (n / looks[-1]) ** gamma
        x = np.arange(n + 1)
        fut = stats.beta.cdf(phi_e, ess * phi_e + x, ess * (1 - phi_e) + n - x) > c
        tox = stats.beta.sf(phi_t, ess * phi_t + x, ess * (1 - phi_t) + n - x) > c
        a.append(int(x[fut].max()) if fut.any() else -1)
        b.append(int(x[tox].min()) if tox.any() else n + 1)
    return a, b


@cache
def all_sequences(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    seqs = np.array(list(itertools.product(range(4), repeat=n_max)), dtype=np.int8)
    return seqs, np.stack([np.cumsum(RESPONDS[seqs], axis=1), np.cumsum(TOXIC[seqs], axis=1)])


def enumerate_oc(looks, a, b, cells) -> tuple[float, float]:
    """(P(declare), E[N]) by walking all 4^N sequences through the looks."""
    seqs, cum = all_sequences(looks[-1])
    prob = np.prod(np.asarray(cells)[seqs], axis=1)
    alive = np.ones(len(seqs), dtype=bool)
    n_of = np.full(len(seqs), float(looks[-1]))
    for k, n in enumerate(looks):
        stop = (cum[0][:, n - 1] <= a[k]) | (cum[1][:, n - 1] >= b[k])
        n_of[alive & stop] = n
        alive &= ~stop
    return math.fsum(prob[alive]), math.fsum(prob * n_of)


def brute_force_choice(points, evaluate, alpha):
    """The documented choice, by a plain loop over the grid in order.

    Largest power with type I error <= alpha (+1e-12), ties by smaller E[N | first null],
    then the first grid point; with no feasible point, the smallest type I error.
    """
    best = fallback = None
    for lam, gam in points:
        worst, power, en0, table = evaluate(lam, gam)
        if worst <= alpha + 1e-12:
            if best is None or (power, -en0) > (best[2], -best[3]):
                best = (lam, gam, power, en0, worst, table)
        elif fallback is None or worst < fallback[4]:
            fallback = (lam, gam, power, en0, worst, table)
    return best if best is not None else fallback


@pytest.mark.parametrize(("null", "alpha"), [("joint", 0.10), ("each", 0.15), ("joint", 0.001)])
def test_calibration_equals_brute_force_by_enumeration(null: str, alpha: float) -> None:
    looks, phi_e, phi_t = (4, 6, 8), 0.3, 0.3
    alt = cell_probabilities(0.6, 0.1, 2.0)
    lams = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
    gams = (0.0, 0.25, 0.5, 1.0, 2.0)
    if null == "joint":
        nulls = [cell_probabilities(phi_e, phi_t, 2.0)]
    else:
        nulls = [cell_probabilities(pe, pt, 2.0) for pe, pt in ((0.3, 0.3), (0.3, 0.1), (0.6, 0.3))]

    def evaluate(lam, gam):
        a, b = scipy_boundaries(looks, phi_e, phi_t, lam, gam)
        figures = [enumerate_oc(looks, a, b, c) for c in nulls]
        power = enumerate_oc(looks, a, b, alt)[0]
        return max(f[0] for f in figures), power, figures[0][1], (tuple(a), tuple(b))

    want = brute_force_choice(itertools.product(lams, gams), evaluate, alpha)
    res = bop2_efftox(phi_e, phi_t, looks, (0.6, 0.1), odds_ratio=2.0, alpha=alpha,
                      grid=(lams, gams), null=null)
    assert (res.lambda_, res.gamma) == (want[0], want[1])
    assert (res.futility_max_r, res.toxicity_min_t) == want[5]
    assert res.power == pytest.approx(want[2], abs=TOL)
    assert res.alpha == pytest.approx(want[4], abs=TOL)
    assert res.expected_n_null[0] == pytest.approx(want[3], abs=1e-10)
    assert res.feasible == (want[4] <= alpha + 1e-12)
    assert len(res.nulls) == len(nulls)
    np.testing.assert_allclose(res.nulls, nulls, atol=1e-15)


def test_calibration_equals_brute_force_at_n40() -> None:
    """N = 40, three nulls: each grid point evaluated on its own (no deduplication)."""
    lams = tuple(round(0.5 + 0.02 * i, 2) for i in range(25))
    gams = tuple(round(0.1 * i, 1) for i in range(11))
    nulls = [cell_probabilities(pe, pt) for pe, pt in ((0.45, 0.3), (0.45, 0.2), (0.6, 0.3))]

    def evaluate(lam, gam):
        a, b = scipy_boundaries(LOOKS, 0.45, 0.30, lam, gam)
        fut, tox = rectangle_tables(LOOKS, a, b)
        out = table_oc(LOOKS, fut, tox, [*nulls, cell_probabilities(0.6, 0.2)])
        p = out["p_declare"]
        return float(p[:-1].max()), float(p[-1]), float(out["expected_n"][0]), (tuple(a), tuple(b))

    want = brute_force_choice(itertools.product(lams, gams), evaluate, 0.10)
    res = bop2_efftox(0.45, 0.30, LOOKS, (0.6, 0.2), grid=(lams, gams), null="each")
    assert (res.lambda_, res.gamma) == (want[0], want[1])
    assert (res.futility_max_r, res.toxicity_min_t) == want[5]
    assert res.power == pytest.approx(want[2], abs=TOL)
    assert res.alpha == pytest.approx(want[4], abs=TOL)
    assert res.null_names == ("futile and toxic", "futile, safe", "effective, toxic")
    assert res.alpha == max(res.p_declare_null)


def test_power_and_alpha_fall_with_lambda() -> None:
    """Stop regions are nested in λ, so every P(declare) is non-increasing in λ."""
    prev = None
    for lam in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        res = zhou(grid=([lam], [1.0]), null="each")
        now = (*res.p_declare_null, res.power)
        if prev is not None:
            assert all(b <= a + TOL for a, b in zip(prev, now, strict=True))
        prev = now


def test_default_grid_and_odds_ratio() -> None:
    res = bop2_efftox(0.45, 0.30, LOOKS, (0.6, 0.2), odds_ratio=3.0)
    assert res.n_points == len(DEFAULT_LAMBDAS) * len(DEFAULT_GAMMAS) == 5100
    assert res.lambda_ in DEFAULT_LAMBDAS and res.gamma in DEFAULT_GAMMAS
    # margins + odds ratio = the explicit cell tables
    cells = bop2_efftox(0.45, 0.30, LOOKS, cell_probabilities(0.6, 0.2, 3.0),
                        null=[cell_probabilities(0.45, 0.3, 3.0)])
    assert res.to_dict() | {"nulls": None} == cells.to_dict() | {"nulls": None}
    assert res.alternative == pytest.approx(tuple(cell_probabilities(0.6, 0.2, 3.0)), abs=1e-15)


def test_prior_ess() -> None:
    res = zhou(grid=([0.7], [1.0]), prior_ess=5.0)
    assert res.prior_response == pytest.approx((2.25, 2.75))
    assert res.prior_toxicity == pytest.approx((1.5, 3.5))
    a, b = scipy_boundaries(LOOKS, 0.45, 0.30, 0.7, 1.0, ess=5.0)
    assert (list(res.futility_max_r), list(res.toxicity_min_t)) == (a, b)
    a1, _ = efftox_boundaries(LOOKS, 0.45, 0.30, 0.7, 1.0)
    assert list(a1) != a  # a stronger prior does move the boundaries


def test_infeasible() -> None:
    res = zhou(grid=([0.5, 0.6], [0.0, 1.0]), alpha=1e-6)
    assert not res.feasible and res.alpha > 1e-6
    assert res.message.startswith("no grid point has type I error <= 1e-06")
    alphas = [zhou(grid=([la], [g])).alpha for la in (0.5, 0.6) for g in (0.0, 1.0)]
    assert res.alpha == min(alphas)


# ---------------------------------------------------------------------------
# The result and the OC dataset
# ---------------------------------------------------------------------------
def test_result_views() -> None:
    res = zhou(grid=([0.625], [0.98]))
    table = res.boundaries()
    assert list(table.columns) == ["look", "n", "cutoff", "futility_max_r", "toxicity_min_t",
                                   "rule"]
    assert table["n"].tolist() == list(LOOKS)
    assert table["cutoff"].tolist() == pytest.approx([1 - 0.625 * (n / 40) ** 0.98 for n in LOOKS])
    stops = res.stop_tables()
    assert [s.shape for s in stops] == [(n + 1, n + 1) for n in LOOKS]
    assert stops[0][2, 0] and not stops[0][3, 4] and stops[0][3, 5]
    json.dumps(res.to_dict())
    text = str(res)
    assert "lambda = 0.625, gamma = 0.98" in text and "power 0.7456" in text


def test_rules_without_a_stop() -> None:
    """Counts too few to stop: the words say so; boundaries -1 and n + 1."""
    res = bop2_efftox(0.2, 0.5, (1, 2, 30), (0.4, 0.3), grid=([0.9], [3.0]))
    assert res.futility_max_r[0] == -1 and res.toxicity_min_t[0] == 2
    assert res.rules()[0] == "n = 1: continue whatever the data"


def test_oc_dataset() -> None:
    res = zhou(grid=([0.625], [0.98]), null="each")
    ds = res.oc()
    assert ds["scenario"].values.tolist() == [
        "null: futile and toxic", "null: futile, safe", "null: effective, toxic", "alternative"]
    assert ds["role"].values.tolist() == ["null"] * 3 + ["alternative"]
    assert ds["p_stop_at"].dims == ("scenario", "look", "reason")
    assert ds["reason"].values.tolist() == ["futility", "toxicity", "both"]
    np.testing.assert_allclose(ds["p_declare"] + ds["p_nogo"], 1.0, atol=TOL)
    np.testing.assert_allclose(ds["p_futility"] + ds["p_toxicity"] + ds["p_both"], ds["p_nogo"],
                               atol=TOL)
    np.testing.assert_allclose(ds["p_n"].sum("look"), 1.0, atol=TOL)
    assert float(ds["p_declare"][-1]) == res.power
    assert ds["p_declare"].values[:-1].tolist() == list(res.p_declare_null)
    assert float(abs(ds["p_declare_mcse"]).max()) == 0.0
    assert ds.attrs["method"] == "exact" and ds.attrs["lambda_"] == 0.625
    assert ds["look_n"].values.tolist() == list(LOOKS)
    # scenarios by name, as margins with an odds ratio, or as cells
    named = efftox_oc(res, {"a": (0.45, 0.3), "b": cell_probabilities(0.45, 0.3, 2.0)},
                      odds_ratio=2.0)
    np.testing.assert_allclose(named["p_declare"][0], named["p_declare"][1], atol=1e-15)
    rows = efftox_oc(res, [[0.6, 0.2], [0.6, 0.35]])
    assert rows["scenario"].values.tolist() == ["scenario 1", "scenario 2"]
    assert rows["role"].values.tolist() == ["alternative", "null"]
    np.testing.assert_allclose(rows["p_e"], [0.6, 0.6])


def test_monte_carlo_from_posteriors() -> None:
    """Simulated trials decided from scipy's posterior tails (no table), within 3 MCSE."""
    res = zhou(grid=([0.625], [0.98]))
    ds = res.oc()
    rng = np.random.default_rng(3302)
    n_sims = 20_000
    for s, cells in enumerate((H0, H1)):
        draws = rng.choice(4, size=(n_sims, 40), p=cells)
        r_cum, t_cum = np.cumsum(RESPONDS[draws], axis=1), np.cumsum(TOXIC[draws], axis=1)
        alive = np.ones(n_sims, dtype=bool)
        n_of = np.full(n_sims, 40.0)
        fut = tox = both = 0
        for n in LOOKS:
            c = 1 - 0.625 * (n / 40) ** 0.98
            r, t = r_cum[:, n - 1], t_cum[:, n - 1]
            f = stats.beta.cdf(0.45, 0.45 + r, 0.55 + n - r) > c
            x = stats.beta.sf(0.30, 0.30 + t, 0.70 + n - t) > c
            fut += np.sum(alive & f & ~x)
            tox += np.sum(alive & ~f & x)
            both += np.sum(alive & f & x)
            n_of[alive & (f | x)] = n
            alive &= ~(f | x)
        for name, count in (("p_declare", alive.sum()), ("p_futility", fut),
                            ("p_toxicity", tox), ("p_both", both)):
            exact = float(ds[name][s])
            se = math.sqrt(exact * (1 - exact) / n_sims)
            assert abs(count / n_sims - exact) <= 3 * se, (s, name)
        en_se = float(ds["sd_n"][s]) / math.sqrt(n_sims)
        assert abs(n_of.mean() - float(ds["expected_n"][s])) <= 3 * en_se


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"phi_e": 0.0}, "`phi_e` of bop2_efftox must be a probability in (0, 1)"),
        ({"phi_t": 1.2}, "`phi_t` of bop2_efftox must be a probability in (0, 1)"),
        ({"looks": [10, 10]}, "`looks` of bop2_efftox must be a non-empty list of strictly"),
        ({"looks": []}, "`looks` of bop2_efftox"),
        ({"alternative": (0.4, 0.2)}, "`alternative` of bop2_efftox must be a scenario in H1"),
        ({"alternative": (0.6, 0.3)}, "`alternative` of bop2_efftox must be a scenario in H1"),
        ({"alternative": (0.6, 0.2, 0.1)}, "`alternative` of bop2_efftox must be rows of"),
        ({"alternative": [(0.6, 0.2), (0.7, 0.1)]}, "`alternative` of bop2_efftox must be one"),
        ({"alternative": (0.5, 0.5, 0.5, 0.5)}, "`alternative` of bop2_efftox must be tables"),
        ({"odds_ratio": 0.0}, "`odds_ratio` of bop2_efftox"),
        ({"alpha": 1.0}, "`alpha` of bop2_efftox must be a probability in (0, 1)"),
        ({"grid": ([1.0], [1.0])}, "`grid` of bop2_efftox must be a pair (lambdas, gammas)"),
        ({"grid": ([0.5], [-1.0])}, "`grid` of bop2_efftox"),
        ({"grid": ([], [1.0])}, "`grid` of bop2_efftox"),
        ({"grid": [0.5]}, "`grid` of bop2_efftox"),
        ({"null": "both"}, "`null` of bop2_efftox must be one of {'joint', 'each'}"),
        ({"null": [(0.6, 0.2)]}, "`null` of bop2_efftox must be cell tables in H0"),
        ({"prior_ess": -1.0}, "`prior_ess` of bop2_efftox"),
    ],
)
def test_errors_name_the_argument(kwargs, match) -> None:
    args = {"phi_e": 0.45, "phi_t": 0.30, "looks": LOOKS, "alternative": (0.6, 0.2)}
    args.update(kwargs)
    with pytest.raises(DesignError, match=re.escape(match)):
        bop2_efftox(**args)


def test_oc_errors() -> None:
    res = zhou(grid=([0.625], [0.98]))
    with pytest.raises(DesignError, match=re.escape("`design` of efftox_oc must be a")):
        efftox_oc("design")  # type: ignore[arg-type]
    with pytest.raises(DesignError, match=re.escape("`scenarios` of efftox_oc")):
        efftox_oc(res, [[0.6]])
    with pytest.raises(DesignError, match=re.escape("`scenarios['x']` of efftox_oc")):
        efftox_oc(res, {"x": (2.0, 0.1)})
    with pytest.raises(DesignError, match=re.escape("`odds_ratio` of efftox_oc")):
        efftox_oc(res, odds_ratio=-1)
