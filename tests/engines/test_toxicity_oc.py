"""Exact joint efficacy-toxicity OC of a co-monitored design (engines/toxicity_oc.py).

References, none of which shares code with the engine's dynamic programme:

* brute force: every sequence of patient outcomes (response × event, 4^N of them) of a
  small design, each run through the rules one patient at a time, with the four cell
  probabilities of an odds ratio found by root-finding (scipy's brentq) instead of the
  kernel's closed form;
* the efficacy engine (:func:`adaptive2.engines.exact.oc` on the design without its
  monitor) for a monitor that never stops, or for a zero event rate;
* the single-endpoint toxicity kernel (:meth:`ToxicityMonitor.oc`) when the efficacy
  rules never stop before the last patient.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize

from adaptive2._base.errors import DesignError, ResourceError
from adaptive2._base.resources import limit_memory
from adaptive2.engines.exact import OC_VARIABLES, oc
from adaptive2.engines.toxicity_oc import TOXICITY_VARIABLES, oc_toxicity
from adaptive2.io.design_files import load_design
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.designs import Design
from adaptive2.model.hierarchical import Cohort, Model
from adaptive2.model.priors import Beta
from adaptive2.model.rules import Boundary, PosteriorProbability
from adaptive2.model.scenarios import Scenario
from adaptive2.model.toxicity import ToxicityMonitor

from _shipped import DESIGNS_DIR

EFFTOX = DESIGNS_DIR / "frontline-efftox.toml"
PP = DESIGNS_DIR / "frontline-pp.toml"


def _monitor(**kw) -> ToxicityMonitor:
    base = {"event": "grade >= 3 AE", "limit": 0.4, "acceptable": 0.15, "rule": "posterior",
            "cutoff": 0.85, "monitor": (1, 3, 4, 6)}
    return ToxicityMonitor(**{**base, **kw})


def _small(monitor: ToxicityMonitor | None = None) -> Design:
    """Six patients, looks at 2, 4 and 6: interim futility and efficacy, a final boundary."""
    return Design(
        name="small",
        prior=Beta(1, 1),
        looks=(2, 4, 6),
        futility=Boundary(r=(0, 1)),
        efficacy=PosteriorProbability(p0=0.2, cutoff=0.99),
        final=Boundary(r=(2,)),
        p0=0.2,
        p1=0.5,
        toxicity=monitor,
    )


# ---------------------------------------------------------------------------
# The independent reference: every outcome sequence of a small design
# ---------------------------------------------------------------------------
def _cells(p: float, q: float, psi: float) -> tuple[float, float, float, float]:
    """P(R and T), P(R only), P(T only), P(neither) with odds ratio psi, by root-finding."""
    lo, hi = max(0.0, p + q - 1.0), min(p, q)
    if psi == 1.0 or hi - lo < 1e-300:
        p11 = p * q if psi == 1.0 else lo
    else:
        def gap(x: float) -> float:  # log odds ratio of the table minus log psi
            return (math.log(x) + math.log1p(-p - q + x) - math.log(p - x) - math.log(q - x)
                    - math.log(psi))
        eps = 1e-15 * max(hi - lo, 1e-300)
        p11 = optimize.brentq(gap, lo + eps, hi - eps, xtol=1e-17, rtol=1e-15, maxiter=500)
    return p11, p - p11, q - p11, 1.0 - p - q + p11


def _brute(design: Design, p: float, q: float, psi: float) -> dict[str, object]:
    """Every (response, event) sequence of the design's patients through its rules."""
    n, a, b = (x.tolist() for x in design.boundaries().arrays())
    mon = design.toxicity
    checks = dict(zip(mon.monitor, mon.boundaries(), strict=True)) if mon else {}
    check_index = {m: j for j, m in enumerate(mon.monitor)} if mon else {}
    looks = {nk: k for k, nk in enumerate(n)}
    cells = _cells(p, q, psi)
    n_max = n[-1]
    K, J = len(n), len(checks)
    stop = np.zeros((K, 3))
    tox_at = np.zeros(J)
    p_n: dict[int, float] = {}
    for seq in itertools.product(range(4), repeat=n_max):  # 0: R&T, 1: R, 2: T, 3: neither
        prob = math.prod(cells[s] for s in seq)
        r = t = 0
        for i, s in enumerate(seq, start=1):
            r += s in (0, 1)
            t += s in (0, 2)
            if i in checks and t >= checks[i]:  # toxicity first
                tox_at[check_index[i]] += prob
                break
            if i in looks:
                k = looks[i]
                if i == n_max:
                    stop[k, 0 if r <= a[k] else 1 if r >= b[k] else 2] += prob
                    break
                if r <= a[k]:
                    stop[k, 0] += prob
                    break
                if r >= b[k]:
                    stop[k, 1] += prob
                    break
        p_n[i] = p_n.get(i, 0.0) + prob
    en = sum(m * w for m, w in p_n.items())
    sd = math.sqrt(sum(w * (m - en) ** 2 for m, w in p_n.items()))
    return {
        "p_stop_at": stop,
        "p_stop_toxicity_at": tox_at,
        "p_efficacy": stop[:, 1].sum(),
        "p_futility": stop[:-1, 0].sum(),
        "p_final_fail": stop[-1, 0] + stop[-1, 2],
        "p_stop_toxicity": tox_at.sum(),
        "p_early_stop": sum(w for m, w in p_n.items() if m < n_max),
        "p_n": np.array([p_n.get(nk, 0.0) for nk in n]),
        "expected_n": en,
        "sd_n": sd,
    }


def test_the_small_design_exercises_every_path():
    m = _monitor()
    assert m.boundaries() == (2, 3, 3, 4)  # no stop at 1 patient; stops at 3, 4 (a look), 6
    n, a, b = _small(m).boundaries().arrays()
    assert n.tolist() == [2, 4, 6]
    assert a.tolist() == [0, 1, 2] and b.tolist() == [2, 3, 3]  # interim futility and efficacy
    assert all(bk - ak > 1 for ak, bk in zip(a[:-1], b[:-1], strict=True))  # some continue


@pytest.mark.parametrize("psi", [1.0, 3.0, 0.4])
@pytest.mark.parametrize(("p", "q"), [(0.2, 0.1), (0.5, 0.4), (0.35, 0.25)])
def test_joint_oc_equals_brute_force_enumeration(p, q, psi):
    design = _small(_monitor())
    ds = oc_toxicity(design, [p], tox=[q], odds_ratio=psi)
    ref = _brute(design, p, q, psi)
    for name, want in ref.items():
        got = ds[name].values[0]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=name)
    total = ds["p_efficacy"] + ds["p_futility"] + ds["p_final_fail"] + ds["p_stop_toxicity"]
    assert float(total.item()) == pytest.approx(1.0, abs=1e-13)


def test_a_pocock_monitor_against_brute_force():
    m = ToxicityMonitor(event="DLT", limit=0.4, acceptable=0.1, rule="pocock",
                        p_stop_acceptable=0.2, monitor=(2, 5, 6))
    design = _small(m)
    ds = oc_toxicity(design, [0.3], tox=[0.2], odds_ratio=2.0)
    ref = _brute(design, 0.3, 0.2, 2.0)
    for name, want in ref.items():
        np.testing.assert_allclose(ds[name].values[0], want, rtol=0, atol=1e-12, err_msg=name)


# ---------------------------------------------------------------------------
# Against the efficacy engine and the single-endpoint toxicity kernel
# ---------------------------------------------------------------------------
def _same_as_efficacy_engine(with_tox, without) -> None:
    """Every OC variable to 1e-12.

    ``sd_n`` is compared with the central form computed from the efficacy engine's
    distribution of N: the engine's own ``sd_n`` (E[N^2] - E[N]^2) loses digits to
    cancellation when N is nearly fixed (1e-9 at sd 0.002).
    """
    for name in OC_VARIABLES:
        want = without[name].values
        if name == "sd_n":
            n = without["look_n"].values
            dev = n[None, :] - without["expected_n"].values[:, None]
            want = np.sqrt((without["p_n"].values * dev**2).sum(axis=1))
        np.testing.assert_allclose(with_tox[name].values, want, rtol=0, atol=1e-12,
                                   err_msg=name)


def test_a_monitor_that_never_stops_gives_the_efficacy_oc():
    pp = load_design(PP)
    never = ToxicityMonitor(event="x", limit=0.3, acceptable=0.1, rule="posterior",
                            cutoff=0.999999, monitor=(1,))
    assert never.boundaries() == (2,)  # 1 of 1 never stops: no count does
    rates = [0.0, 0.2, 0.4, 0.55, 0.6, 0.9, 1.0]
    ds = oc_toxicity(pp.replace(toxicity=never), rates, tox=[0.0, 0.5, 1.0], odds_ratio=2.5)
    assert float(np.abs(ds["p_stop_toxicity"]).max()) == 0.0
    base = oc(pp, rates)
    for i in range(3):  # each toxicity block equals the efficacy OC
        _same_as_efficacy_engine(ds.isel(scenario=slice(7 * i, 7 * (i + 1))), base)


def test_a_zero_event_rate_gives_the_efficacy_oc():
    efftox = load_design(EFFTOX)
    rates = [0.3, 0.4, 0.6]
    ds = oc_toxicity(efftox, rates, tox=0.0)
    _same_as_efficacy_engine(ds, oc(efftox.replace(toxicity=None), rates))


def test_without_early_efficacy_stops_the_toxicity_stops_are_the_monitor_alone():
    """One analysis at N: nothing stops for efficacy before the last patient."""
    m = load_design(EFFTOX).toxicity
    d = Design(name="one-look", prior=Beta(1, 1), looks=(40,), p0=0.4, p1=0.6,
               final=PosteriorProbability(p0=0.4, cutoff=0.95), toxicity=m)
    qs = [0.05, 0.15, 0.3, 0.5]
    ds = oc_toxicity(d, [0.1, 0.7], tox=qs, odds_ratio=1.7)
    alone = m.oc(qs)
    for i, q in enumerate(qs):
        rows = ds.where(ds["toxicity_rate"] == q, drop=True)
        for r in range(2):
            np.testing.assert_allclose(rows["p_stop_toxicity_at"].values[r], alone.p_stop_at[i],
                                       rtol=0, atol=1e-13)


def test_toxicity_stops_only_lower_the_chance_of_efficacy():
    efftox = load_design(EFFTOX)
    rates = [0.3, 0.4, 0.5, 0.6]
    plain = oc(efftox.replace(toxicity=None), rates)["p_efficacy"].values
    ds = oc_toxicity(efftox, rates, tox=[0.05, 0.15, 0.3, 0.5], odds_ratio=3.0)
    for block in np.split(ds["p_efficacy"].values, 4):
        assert (block <= plain + 1e-15).all()


# ---------------------------------------------------------------------------
# Scenarios, defaults and routing
# ---------------------------------------------------------------------------
def test_default_toxicity_rates_cross_the_scenarios_toxicity_major():
    efftox = load_design(EFFTOX)
    assert efftox.toxicity_rates == (0.15, 0.30)
    ds = oc_toxicity(efftox, [0.4, 0.6])
    assert list(ds["scenario"].values) == ["p=0.4, q=0.15", "p=0.6, q=0.15", "p=0.4, q=0.3",
                                           "p=0.6, q=0.3"]
    assert ds["p"].values.tolist() == [0.4, 0.6, 0.4, 0.6]
    assert ds["toxicity_rate"].values.tolist() == [0.15, 0.15, 0.3, 0.3]
    assert ds["odds_ratio"].values.tolist() == [1.0] * 4
    assert ds["role"].values.tolist() == ["null", "alternative"] * 2
    assert ds["tox_check_n"].values.tolist() == list(range(5, 41, 5))
    assert ds["look_n"].values.tolist() == [15, 25, 40]
    for name in (*OC_VARIABLES, *TOXICITY_VARIABLES):
        assert float(np.abs(ds[f"{name}_mcse"]).max()) == 0.0
    assert ds.attrs["method"] == "exact" and ds.attrs["design_hash"] == efftox.hash
    # without toxicity_rates in the file: the monitor's acceptable and limit rates
    bare = efftox.replace(toxicity_rates=())
    assert oc_toxicity(bare, [0.4])["toxicity_rate"].values.tolist() == [0.15, 0.30]


def test_oc_routes_a_monitored_design_to_the_joint_engine():
    efftox = load_design(EFFTOX)
    routed = oc(efftox, [0.4, 0.6])
    direct = oc_toxicity(efftox, [0.4, 0.6])
    for name in (*OC_VARIABLES, *TOXICITY_VARIABLES):
        np.testing.assert_array_equal(routed[name].values, direct[name].values)
    assert list(routed["scenario"].values) == list(direct["scenario"].values)
    # the first block, read by position, is each response rate at the acceptable rate
    assert routed["toxicity_rate"].values[:2].tolist() == [0.15, 0.15]


def test_a_scenario_with_its_own_toxicity_appears_once_and_explicit_rates_win():
    efftox = load_design(EFFTOX)
    scen = [Scenario("safe and active", 0.6, "alternative", toxicity=0.1, odds_ratio=2.0),
            Scenario("null", 0.4, "null")]
    ds = oc_toxicity(efftox, scen)
    assert list(ds["scenario"].values) == ["safe and active", "null, q=0.15", "null, q=0.3"]
    assert ds["toxicity_rate"].values.tolist() == [0.1, 0.15, 0.3]
    assert ds["odds_ratio"].values.tolist() == [2.0, 1.0, 1.0]
    ref = oc_toxicity(efftox, [0.6], tox=[0.1], odds_ratio=2.0)
    assert float(ds["p_efficacy"].values[0]) == float(ref["p_efficacy"].values[0])
    crossed = oc_toxicity(efftox, scen, tox=[0.2], odds_ratio=1.0)
    assert crossed["toxicity_rate"].values.tolist() == [0.2, 0.2]
    assert crossed["odds_ratio"].values.tolist() == [1.0, 1.0]
    assert list(crossed["scenario"].values) == ["safe and active", "null"]  # one rate: names kept


def test_the_design_odds_ratio_is_the_default():
    efftox = load_design(EFFTOX).replace(toxicity_odds_ratio=2.0)
    assert oc_toxicity(efftox, [0.4])["odds_ratio"].values.tolist() == [2.0, 2.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tox": [0.2, 0.2]}, r"`tox` of oc_toxicity must be a non-empty list of distinct"),
    ({"tox": [1.5]}, r"`tox` of oc_toxicity must be a probability in \[0, 1\]; got 1.5"),
    ({"tox": "0.2"}, r"`tox` of oc_toxicity must be true toxicity rates"),
    ({"odds_ratio": 0.0}, r"`odds_ratio` of oc_toxicity must be a finite number > 0"),
    ({"odds_ratio": math.inf}, r"`odds_ratio` of oc_toxicity must be a finite number > 0"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(DesignError, match=match):
        oc_toxicity(load_design(EFFTOX), [0.4], **kwargs)


def test_a_design_without_a_monitor_is_refused():
    with pytest.raises(DesignError, match=r"must have a toxicity monitor; Design 'frontline-pp'"):
        oc_toxicity(load_design(PP), [0.4])


def test_monte_carlo_oc_of_a_monitored_design_is_refused_not_silently_wrong():
    with pytest.raises(DesignError, match=r"`method` of oc must be 'exact' for Design "
                                          r"'frontline-efftox': it has a toxicity monitor"):
        oc(load_design(EFFTOX), [0.4], method="simulate", n_sims=100, seed=1)


def test_multi_cohort_oc_with_toxicity_is_exact_and_monte_carlo_is_refused():
    m = _monitor(monitor=(5, 10))
    design = CohortDesign(
        name="two", model=Model(kind="independent"),
        cohorts=(Cohort("a", 0.2, 0.4, (5, 10)), Cohort("b", 0.1, 0.3, (5, 10))),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
        scenarios=(Scenario("null", rates={"a": 0.2, "b": 0.1}),),
        toxicity=m,
    )
    ds = oc(design)  # the joint engine (tests/engines/test_cohort_toxicity.py checks it)
    assert list(ds["scenario"].values) == [f"null, q={m.acceptable:g}", f"null, q={m.limit:g}"]
    assert ds["p_stop_toxicity"].values[1].min() > ds["p_stop_toxicity"].values[0].max()
    with pytest.raises(DesignError, match=r"multi-cohort simulator does not stop cohorts for "
                                          r"toxicity"):
        oc(design, method="simulate")


def test_the_size_guard_refuses_a_huge_joint_programme_at_once():
    d = Design(name="big", prior=Beta(1, 1), looks=(3000,), p0=0.2,
               final=PosteriorProbability(p0=0.2, cutoff=0.9),
               toxicity=_monitor(monitor=(1000, 3000)))
    with limit_memory("64M"), pytest.raises(ResourceError, match=r"exact joint "
                                                                  r"efficacy-toxicity OC"):
        oc_toxicity(d, [0.2])
