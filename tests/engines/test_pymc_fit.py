"""NUTS (PyMC) fits against the quadrature engine, plus the PyMC-free contract of ``bayes``.

Every test that needs PyMC is marked ``slow`` and *fails* (it is never skipped)
when PyMC is missing: the cross-check is part of the validation suite (``make
validate``), which installs ``adaptive2[bayes]`` first. The tests that need no
PyMC (lazy import, the install hint, argument checks) run everywhere.

Agreement criterion: |NUTS − quadrature| ≤ 3 MCSE + 1e-4 (the quadrature's own
accuracy) for P(p_j > p0_j) and the posterior mean of p_j, in every cohort.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from _need import need_pymc
from adaptive2._base.errors import Adaptive2Error, ConvergenceWarning, DesignError
from adaptive2.engines import pymc_fit as bayes
from adaptive2.engines.posterior import posterior
from adaptive2.model.hierarchical import Cohort, Historical, Model

FRONT = Cohort("frontline", 0.40, 0.60)
POST = Cohort("post_io", 0.10, 0.30)
COHORTS = (FRONT, POST)
PHASE1 = Historical("phase1", 16, 20)
PHASE1_TIED = Historical("phase1", 16, 20, tie="frontline", weight=0.5)
QUAD_TOL = 1e-4

# name → (model, data, seed)
CASES = {
    "phase1-exchangeable": (Model(historical=(PHASE1,)),
                            {"frontline": (18, 25), "post_io": (8, 25)}, 11),
    "phase1-tied": (Model(historical=(PHASE1_TIED,)),
                    {"frontline": (18, 25), "post_io": (8, 25)}, 12),
    "zero-of-15": (Model(historical=(PHASE1,)), {"frontline": (0, 15), "post_io": (4, 15)}, 13),
    "all-of-15": (Model(), {"frontline": (9, 15), "post_io": (15, 15)}, 14),
    "exnex-conflict": (Model(kind="exnex"), {"frontline": (18, 25), "post_io": (2, 25)}, 15),
    "half-cauchy": (Model(tau_prior="half_cauchy", tau_scale=0.5, historical=(PHASE1,)),
                    {"frontline": (12, 25), "post_io": (5, 25)}, 16),
    "independent-tied": (Model(kind="independent", historical=(PHASE1_TIED,)),
                         {"frontline": (12, 30), "post_io": (3, 20)}, 17),
    "pooled": (Model(kind="pooled"), {"frontline": (10, 25), "post_io": (4, 25)}, 18),
    "fixed-tau": (Model(tau_prior="fixed", tau_scale=0.5, historical=(PHASE1,)),
                  {"frontline": (12, 25), "post_io": (5, 25)}, 20),
    "logit-scale": (Model(scale="logit", mu_mean=-1.0, historical=(PHASE1,)),
                    {"frontline": (14, 25), "post_io": (5, 25)}, 19),
}


def _agree(model: Model, data: dict, idata, *, context: str, cohorts=COHORTS) -> dict:
    """Assert NUTS and quadrature agree within 3 MCSE + 1e-4; return the NUTS summary."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        nuts = bayes.summary(idata, cohorts)
    quad = posterior(model, cohorts, data)
    for c in cohorts:
        a, b = nuts[c.name], quad[c.name]
        assert (a["r"], a["n"]) == (b["r"], b["n"]) == data[c.name]
        for key, mcse in (("p_above_p0", "mcse_p_above_p0"), ("mean", "mcse_mean")):
            diff = abs(a[key] - b[key])
            bound = 3 * a[mcse] + QUAD_TOL
            assert diff <= bound, (
                f"{context} {c.name} {key}: NUTS {a[key]:.5f} ± {a[mcse]:.5f}, "
                f"quadrature {b[key]:.5f} (|diff| {diff:.5f} > {bound:.5f})"
            )
        # the rest of the summary is consistent too (quantiles: Monte Carlo, so loosely)
        assert a["sd"] == pytest.approx(b["sd"], rel=0.05, abs=2e-3)
        assert a["median"] == pytest.approx(b["median"], abs=0.01)
        lo, hi = a["interval"]
        assert lo <= a["median"] <= hi
    return {"summary": nuts, "warnings": [str(w.message) for w in caught]}


# ---------------------------------------------------------------------------
# The NUTS cross-check (slow)
# ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_nuts_agrees_with_quadrature(name: str) -> None:
    need_pymc()
    model, data, seed = CASES[name]
    idata = bayes.fit(model, COHORTS, data, seed=seed)
    out = _agree(model, data, idata, context=name)
    diag = bayes.diagnostics(idata, COHORTS)
    assert max(diag["rhat"].values()) <= bayes.RHAT_MAX, diag["rhat"]
    assert min(diag["ess_bulk"].values()) >= bayes.ESS_MIN, diag["ess_bulk"]
    # a handful of divergences in 8000 transitions is tolerated (and warned about);
    # the agreement above is the real test of the fit
    assert diag["divergences"] <= 8, diag["divergences"]
    assert all("diverged" in w for w in out["warnings"]), out["warnings"]


# A basket of four tumour types (K = 4): the one-data-set quadrature (one quadrature over
# (mu, tau), whatever K) against NUTS, for the BHM and EXNEX
BASKET = tuple(Cohort(name, 0.15, 0.35) for name in ("nsclc", "melanoma", "rcc", "hnscc"))
BASKET_DATA = {"nsclc": (9, 25), "melanoma": (7, 25), "rcc": (3, 25), "hnscc": (1, 10)}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "seed"), [("hierarchical", 21), ("exnex", 22)])
def test_nuts_agrees_with_quadrature_for_four_cohorts(kind: str, seed: int) -> None:
    need_pymc()
    model = Model(kind=kind)
    idata = bayes.fit(model, BASKET, BASKET_DATA, seed=seed)
    _agree(model, BASKET_DATA, idata, context=f"basket-{kind}", cohorts=BASKET)
    diag = bayes.diagnostics(idata, BASKET)
    assert max(diag["rhat"].values()) <= bayes.RHAT_MAX, diag["rhat"]
    assert diag["divergences"] <= 8, diag["divergences"]


@pytest.mark.slow
def test_reduced_nuts_check() -> None:
    """One data set, 2 × 1000 draws: the quick version that can run in CI (~30 s)."""
    need_pymc()
    model, data, _ = CASES["phase1-exchangeable"]
    idata = bayes.fit(model, COHORTS, data, draws=1000, tune=500, chains=2, seed=2024)
    _agree(model, data, idata, context="reduced")
    attrs = idata.posterior.attrs
    assert attrs["method"] == "nuts" and attrs["chains"] == 2 and attrs["draws"] == 1000
    assert attrs["seed_entropy"] == "2024"
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 1000
    assert list(idata.constant_data["r"].values) == [18, 8]


@pytest.mark.slow
def test_fit_is_reproducible_and_chains_do_not_depend_on_their_number() -> None:
    need_pymc()
    model, data, _ = CASES["exnex-conflict"]
    kw = {"draws": 60, "tune": 60}
    a = bayes.fit(model, COHORTS, data, chains=2, seed=7, **kw)
    b = bayes.fit(model, COHORTS, data, chains=2, seed=7, **kw)
    one = bayes.fit(model, COHORTS, data, chains=1, seed=7, **kw)
    other = bayes.fit(model, COHORTS, data, chains=1, seed=8, **kw)
    for var in ("mu", "tau", "theta_ex", "theta_nex", "w_ex"):
        np.testing.assert_array_equal(a.posterior[var].values, b.posterior[var].values)
        np.testing.assert_array_equal(a.posterior[var].values[:1], one.posterior[var].values)
    assert not np.array_equal(one.posterior["mu"].values, other.posterior["mu"].values)
    assert a.posterior.attrs["chain_seeds"][0] == one.posterior.attrs["chain_seeds"][0]
    ss = np.random.SeedSequence(7)
    again = bayes.fit(model, COHORTS, data, chains=1, seed=ss, **kw)
    np.testing.assert_array_equal(again.posterior["mu"].values, one.posterior["mu"].values)


@pytest.mark.slow
def test_short_run_warns_naming_the_quantity() -> None:
    need_pymc()
    model, data, _ = CASES["half-cauchy"]
    idata = bayes.fit(model, COHORTS, data, draws=30, tune=30, chains=2, seed=3)
    with pytest.warns(ConvergenceWarning, match=r"bulk ESS of `tau` is \d+ \(< 400\)") as rec:
        out = bayes.summary(idata, COHORTS)
    assert len(rec) == 1  # one warning that names every failing quantity
    assert set(out["frontline"]) == {"mean", "sd", "median", "interval", "p_above_p0", "r",
                                     "n", "mcse_mean", "mcse_p_above_p0"}
    diag = bayes.diagnostics(idata, COHORTS)
    assert diag["problems"] and any("`tau`" in p for p in diag["problems"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        bayes.summary(idata, COHORTS, check=False)  # no warning when not asked


@pytest.mark.slow
def test_summary_rejects_other_cohorts() -> None:
    need_pymc()
    model, data, _ = CASES["pooled"]
    idata = bayes.fit(model, COHORTS, data, draws=20, tune=20, chains=1, seed=1)
    with pytest.raises(DesignError, match="`cohorts`"):
        bayes.summary(idata, (FRONT, Cohort("other", 0.2)), check=False)


# ---------------------------------------------------------------------------
# Without PyMC: lazy import, the install hint, argument checks
# ---------------------------------------------------------------------------
def test_import_does_not_import_pymc() -> None:
    code = ("import sys, adaptive2.engines.pymc_fit; "
            "sys.exit('pymc' in sys.modules or 'arviz' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_missing_pymc_raises_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymc", None)  # makes `import pymc` fail
    with pytest.raises(Adaptive2Error, match=r"pip install adaptive2\[bayes\]"):
        bayes.fit(Model(), COHORTS, {"frontline": (3, 10)}, seed=1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": {"elsewhere": (1, 2)}}, "data"),
        ({"data": {"frontline": (3, 2)}}, r"r \(frontline\)"),
        ({"data": {"frontline": (1, -2)}}, r"n \(frontline\)"),
        ({"data": {"frontline": 3}}, r"data\['frontline'\]"),
        ({"draws": 0}, "draws"),
        ({"tune": -1}, "tune"),
        ({"chains": 0}, "chains"),
        ({"target_accept": 1.0}, "target_accept"),
        ({"seed": np.random.default_rng(1)}, "seed"),
        ({"seed": -3}, "seed"),
        ({"model": "bhm"}, "model"),
        ({"cohorts": ()}, "cohorts"),
        ({"cohorts": (FRONT, FRONT)}, "cohorts"),
        ({"model": Model(historical=(PHASE1, PHASE1))}, "historical"),
        ({"model": Model(historical=(Historical("p1", 16, 20, tie="nowhere"),))}, "tie"),
        ({"model": Model(kind="independent", historical=(PHASE1,))}, "tie"),
    ],
)
def test_bad_arguments_raise_design_error_naming_them(kwargs: dict, field: str) -> None:
    args = {"model": Model(), "cohorts": COHORTS, "data": {"frontline": (3, 10)}, "seed": 1}
    args.update(kwargs)
    seed = args.pop("seed")
    with pytest.raises(DesignError, match=f"`{field}`"):
        bayes.fit(args["model"], args["cohorts"], args["data"], seed=seed,
                  **{k: v for k, v in args.items() if k not in ("model", "cohorts", "data")})
