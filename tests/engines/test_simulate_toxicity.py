"""Trial-conduct simulation with toxicity co-monitoring (engines/trials_single.py).

References: the exact joint efficacy-toxicity dynamic programme
(:func:`adaptive2.kernels.joint.joint_oc`, itself checked against 4^N enumeration
in tests/kernels) for the no-delay case; the monitor's own exact single-endpoint
OC (:meth:`ToxicityMonitor.oc`) and the design's exact efficacy OC when every
toxicity status is known before any response; the four cells of
:func:`adaptive2.kernels.joint.cell_probabilities` for the patient-level draws;
and counts pinned from the simulator as it was before toxicity was added (the
shipped design's streams must not move).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from _simulation import assert_same, run
from adaptive2._base.errors import Adaptive2Error, DesignError
from adaptive2._base.rng import seed_sequence, stream
from adaptive2.engines.exact import oc
from adaptive2.engines.trials_single import _events
from adaptive2.io.design_files import load_any
from adaptive2.kernels.joint import cell_probabilities, joint_oc
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability, PredictiveProbability
from adaptive2.model.scenarios import Scenario
from adaptive2.model.toxicity import ToxicityMonitor

from _shipped import DESIGNS_DIR

INSTANT = Conduct(delay=0.0)  # no delay, no dropout: the exact engine's setting
REALISTIC = Conduct(rates=(1.0, 3.0), starts=(0.0, 4.0), delay=("gamma", 2.5, 0.5),
                    p_nonevaluable=0.1, on_interim="pause", decision_lag=0.5,
                    tox_delay=("lognormal", 1.0, 0.4))
EFFICACY_VARS = ("p_efficacy", "p_futility", "p_final_fail", "expected_n", "expected_enrolled",
                 "mean_duration", "bias", "coverage", "p_stop_at", "mean_time_to_decision",
                 "p_enrolled")


@pytest.fixture(scope="module")
def plain() -> Design:
    """Three looks with futility, early efficacy and a final rule (all three kinds of stop)."""
    return Design(
        name="plain", prior=Beta(1, 1), looks=(10, 20, 30),
        futility=PredictiveProbability(threshold=0.05),
        efficacy=PosteriorProbability(p0=0.2, cutoff=0.995),
        final=PosteriorProbability(p0=0.2, cutoff=0.9), p0=0.2, p1=0.4,
    )


@pytest.fixture(scope="module")
def monitor() -> ToxicityMonitor:
    """Checks every 5 patients, some on the efficacy looks (ties), stop if P(q > 0.3) > 0.8."""
    return ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.15, rule="posterior",
                           cutoff=0.8, monitor=(5, 10, 15, 20, 25, 30))


@pytest.fixture(scope="module")
def joint(plain: Design, monitor: ToxicityMonitor) -> Design:
    return dataclasses.replace(plain, name="joint", toxicity=monitor)


def exact(design: Design, p: float, q: float, psi: float) -> dict[str, np.ndarray]:
    mon = design.toxicity
    assert mon is not None
    _, a, b = design.boundaries().arrays()
    return joint_oc(design.n_max, design.looks, a, b, mon.monitor, mon.boundaries(),
                    p=p, q=q, odds_ratio=psi)


# ---------------------------------------------------------------------------
# Monte Carlo against the exact joint dynamic programme
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("psi", [1.0, 3.0])
def test_no_delay_monte_carlo_agrees_with_the_exact_joint_oc(joint, psi):
    """No delay, no dropout: within 3 MCSE of joint_oc in every cell (4 within per check).

    Fixed seed, so the test is deterministic; a toxicity check applied to the wrong
    patients, after instead of before a tied efficacy look, or with the response
    drawn independently of the event (psi ignored) moves some cell by far more.
    """
    assert INSTANT.tox_delay_form == 0.0  # instant responses bring instant toxicity
    ds = run(joint, [0.2, 0.4], tox=[0.15, 0.3], odds_ratio=psi, conduct=INSTANT,
             n_sims=20_000, seed=20260611, chunk_size=5_000)
    assert ds.sizes["scenario"] == 4
    for s in ds["scenario"].values:
        cell = ds.sel(design="joint", scenario=s)
        p, q = float(cell["p"]), float(cell["toxicity_rate"])
        assert float(cell["odds_ratio"]) == psi
        ex = exact(joint, p, q, psi)
        for var, key in (("p_efficacy", "p_efficacy"), ("p_stop_toxicity", "p_toxicity"),
                         ("expected_n", "expected_n")):
            z = (float(cell[var]) - float(ex[key])) / float(cell[f"{var}_mcse"])
            assert abs(z) <= 3, (s, var, float(cell[var]), float(ex[key]), z)
        for var, key in (("p_futility", "p_futility"), ("p_final_fail", "p_final_fail"),
                         ("p_early_stop", "p_early_stop")):
            z = (float(cell[var]) - float(ex[key])) / max(float(cell[f"{var}_mcse"]), 1e-4)
            assert abs(z) <= 4, (s, var, z)
        at = cell["p_stop_toxicity_at"].values
        se = np.maximum(cell["p_stop_toxicity_at_mcse"].values, 1e-4)
        assert np.all(np.abs(at - ex["p_toxicity_at"]) <= 4 * se), (s, at, ex["p_toxicity_at"])
        # with no delay the patients enrolled are the patients analysed, trial by trial
        assert float(cell["expected_enrolled"]) == float(cell["expected_n"])


def test_the_odds_ratio_matters_for_the_cells_compared(joint):
    """The exact OC at psi = 3 differ from those at psi = 1 by far more than 3 MCSE.

    Guards the test above against being vacuous: a simulator that ignored the odds
    ratio would fail it for psi = 3 (at p = 0.2, q = 0.3: about 10 MCSE in P(efficacy)
    and 5 in E[N] at 20,000 trials).
    """
    one, three = exact(joint, 0.2, 0.3, 1.0), exact(joint, 0.2, 0.3, 3.0)
    pe = float(three["p_efficacy"])
    se_pe = np.sqrt(pe * (1 - pe) / 20_000)
    se_n = float(three["sd_n"]) / np.sqrt(20_000)
    assert abs(pe - float(one["p_efficacy"])) > 8 * se_pe
    assert abs(float(three["expected_n"] - one["expected_n"])) > 4 * se_n


def test_patient_cells_follow_the_two_by_two_table():
    """Events drawn given the responses: each of the four cells at its probability (5 sd)."""
    root = seed_sequence(3)
    rng_r, rng_t = stream(root, 1, 0, 0), stream(root, 1, 0, 1)
    size = 400_000
    p, q, psi = 0.35, 0.2, 4.0
    response = rng_r.random(size) < p
    events = _events(rng_t.random(size), response, p, q, psi)
    cells = cell_probabilities(p, q, psi)
    got = np.array([np.mean(response & events), np.mean(response & ~events),
                    np.mean(~response & events), np.mean(~response & ~events)])
    assert np.all(np.abs(got - cells) <= 5 * np.sqrt(cells * (1 - cells) / size)), (got, cells)


# ---------------------------------------------------------------------------
# Calendar time: checks use the toxicity data known at the time
# ---------------------------------------------------------------------------
def test_toxicity_known_before_any_response_is_the_single_endpoint_monitor(joint, plain):
    """Responses known after 1000 months, toxicity at once: every check precedes every look.

    Then P(stop for toxicity) is the monitor's own exact P(stop), and (independent
    endpoints) P(efficacy) = (1 - P(stop for toxicity)) x the design's exact P(efficacy).
    """
    conduct = Conduct(delay=1000.0, tox_delay=0.0)
    ds = run(joint, [0.3], tox=0.25, conduct=conduct, n_sims=20_000, seed=11,
             chunk_size=5_000).isel(design=0, scenario=0)
    mon = joint.toxicity
    p_tox = float(mon.oc([0.25]).p_stop[0])
    assert abs(float(ds["p_stop_toxicity"]) - p_tox) <= 3 * float(ds["p_stop_toxicity_mcse"])
    p_eff = (1 - p_tox) * float(oc(plain, [0.3])["p_efficacy"].values[0])
    assert abs(float(ds["p_efficacy"]) - p_eff) <= 3 * float(ds["p_efficacy_mcse"])


@pytest.mark.parametrize("conduct", [INSTANT, REALISTIC], ids=["instant", "realistic"])
def test_a_monitor_that_never_acts_leaves_efficacy_bit_identical(plain, conduct):
    """A monitor that cannot stop, or whose data come too late, changes no efficacy figure.

    The response draws of a monitored design are those of the same design without
    a monitor (the toxicity uniforms have their own streams).
    """
    never = ToxicityMonitor(event="DLT", limit=0.95, acceptable=0.5, rule="posterior",
                            cutoff=0.99, monitor=(5, 10, 30))
    assert all(c > n for c, n in zip(never.boundaries(), never.monitor, strict=True))
    eager = ToxicityMonitor(event="DLT", limit=0.2, acceptable=0.1, rule="posterior",
                            cutoff=0.5, monitor=(5, 10, 30))
    late = dataclasses.replace(conduct, tox_delay=10_000.0)
    for mon, cond in ((never, conduct), (eager, late)):
        with_tox = dataclasses.replace(plain, name="tox", toxicity=mon)
        got = run(with_tox, [0.3], tox=0.5, conduct=cond, n_sims=1_500, seed=5)
        ref = run(plain, [0.3], conduct=cond, n_sims=1_500, seed=5)
        assert float(got["p_stop_toxicity"].max()) == 0.0
        for var in (*EFFICACY_VARS, "p_early_stop"):
            np.testing.assert_array_equal(got[var].values, ref[var].values, err_msg=var)


def test_outcomes_add_up_and_stops_are_counted_once(joint):
    """P(efficacy) + P(futility) + P(final fail) + P(toxicity) = 1 with any conduct."""
    ds = run(joint, [0.2, 0.5], tox=[0.1, 0.4], conduct=REALISTIC, n_sims=3_000, seed=8)
    total = ds.p_efficacy + ds.p_futility + ds.p_final_fail + ds.p_stop_toxicity
    np.testing.assert_allclose(total.values, 1.0, atol=1e-12)
    np.testing.assert_allclose(ds.p_stop_toxicity_at.sum("tox_check").values,
                               ds.p_stop_toxicity.values, atol=1e-12)
    tox = ds.sel(design="joint")["p_stop_toxicity"]
    for p in (0.2, 0.5):  # q = 0.4 stops more often than q = 0.1, at the same p
        assert float(tox.sel(scenario=f"p={p}, q=0.4")) > float(tox.sel(scenario=f"p={p}, q=0.1"))
    assert float(tox.min()) > 0
    assert ds.attrs["tox_delay"].startswith("toxicity status known after lognormal")


# ---------------------------------------------------------------------------
# Reproducibility and the streams of designs without a monitor
# ---------------------------------------------------------------------------
def test_same_seed_same_bits_for_any_workers_and_completion_order(joint, plain):
    """workers = 1, 2 processes, and chunks run in reverse order: identical Datasets."""

    def backwards(fn, payloads):
        return [fn(p) for p in reversed(list(payloads))]

    kw = {"tox": [0.15, 0.35], "odds_ratio": 2.0, "conduct": REALISTIC, "n_sims": 1_234,
          "seed": 99}
    one = run([plain, joint], [0.3], **kw)
    assert_same(one, run([plain, joint], [0.3], workers=2, **kw))
    assert_same(one, run([plain, joint], [0.3], workers=backwards, **kw))
    other = run([plain, joint], [0.3], **{**kw, "seed": 100})
    assert not np.array_equal(one["p_stop_toxicity"].values, other["p_stop_toxicity"].values)


def test_a_resumed_checkpointed_run_equals_an_uninterrupted_one(joint, tmp_path):
    kw = {"tox": 0.3, "conduct": REALISTIC, "n_sims": 1_000, "seed": 4}
    first = run(joint, [0.3], checkpoint=tmp_path / "ck", **kw)
    again = run(joint, [0.3], checkpoint=tmp_path / "ck", **kw)  # every chunk from disk
    assert_same(first, again)
    assert_same(first, run(joint, [0.3], **kw))
    with pytest.raises(Adaptive2Error, match=r"a different run \(differs in \['toxicity'\]\)"):
        run(joint, [0.3], checkpoint=tmp_path / "ck", **{**kw, "tox": 0.2})


def test_designs_without_a_monitor_see_the_same_patients(plain, joint):
    """Next to a monitored design (scenarios crossed with q), the plain design is unchanged."""
    alone = run(plain, [0.3, 0.5], conduct=REALISTIC, n_sims=1_500, seed=21)
    both = run([plain, joint], [0.3, 0.5], conduct=REALISTIC, n_sims=1_500, seed=21,
               tox=[0.1, 0.3])
    assert list(both["scenario"].values) == ["p=0.3, q=0.1", "p=0.5, q=0.1", "p=0.3, q=0.3",
                                            "p=0.5, q=0.3"]  # toxicity-major, as oc()
    for var in (*EFFICACY_VARS, "p_early_stop"):
        ref = alone[var].sel(design="plain").values
        got = both[var].sel(design="plain").values
        if var == "p_enrolled":  # the support may be padded to the longer run's
            width = min(ref.shape[-1], got.shape[-1])
            assert got[..., width:].sum() == ref[..., width:].sum() == 0
            got, ref = got[..., :width], ref[..., :width]
        for s_alone, s_both in ((0, 0), (1, 1), (0, 2), (1, 3)):
            np.testing.assert_array_equal(got[s_both], ref[s_alone], err_msg=var)
    assert (both["p_stop_toxicity"].sel(design="plain").values == 0).all()


@pytest.mark.parametrize("conduct", ["base", "pause_gamma"])
def test_shipped_design_streams_are_those_before_toxicity(conduct):
    """frontline-pp's counts as the simulator gave them before toxicity co-monitoring.

    Pinned from the code of commit 8cd6668 (seed 7, 1,500 trials in chunks of 500, every
    shipped single-cohort design in one run): trial counts and sums of integers, so
    the figures are exact on every platform.
    """
    cond = Conduct() if conduct == "base" else Conduct(
        rates=(1.0, 3.0), starts=(0.0, 4.0), delay=("gamma", 2.5, 0.5), p_nonevaluable=0.1,
        on_interim="pause", decision_lag=0.5)
    pinned = {
        "base": ([3, 114, 1321], [33150, 46695, 59570], [39372, 49991, 59669]),
        "pause_gamma": ([3, 113, 1309], [33300, 46715, 59545], [37070, 51886, 66278]),
    }[conduct]
    design = load_any(str(DESIGNS_DIR / "frontline-pp.toml"))
    ds = run(design, [0.3, 0.4, 0.6], conduct=cond, n_sims=1_500, seed=7).isel(design=0)
    assert "p_stop_toxicity" not in ds
    np.testing.assert_array_equal(np.rint(ds["p_efficacy"].values * 1500), pinned[0])
    np.testing.assert_array_equal(np.rint(ds["expected_n"].values * 1500), pinned[1])
    np.testing.assert_array_equal(np.rint(ds["expected_enrolled"].values * 1500), pinned[2])


# ---------------------------------------------------------------------------
# Toxicity truth: defaults, scenarios, validation
# ---------------------------------------------------------------------------
def test_true_toxicity_defaults_and_a_scenario_of_its_own(joint, monitor):
    # default: the design's toxicity_rates, else the monitor's acceptable and limit
    ds = run(joint, [0.3], conduct=INSTANT, n_sims=200, seed=1, chunk_size=200)
    assert ds["toxicity_rate"].values.tolist() == [monitor.acceptable, monitor.limit]
    assert ds["odds_ratio"].values.tolist() == [1.0, 1.0]
    rated = dataclasses.replace(joint, toxicity_rates=(0.05,), toxicity_odds_ratio=2.5)
    ds = run(rated, [0.3], conduct=INSTANT, n_sims=200, seed=1, chunk_size=200)
    assert ds["scenario"].values.tolist() == ["p=0.3"]
    assert (ds["toxicity_rate"].item(), ds["odds_ratio"].item()) == (0.05, 2.5)
    own = Scenario("own", 0.3, toxicity=0.4, odds_ratio=0.5)
    ds = run(joint, [own], conduct=INSTANT, n_sims=200, seed=1, chunk_size=200)
    assert ds["scenario"].values.tolist() == ["own"]
    assert (ds["toxicity_rate"].item(), ds["odds_ratio"].item()) == (0.4, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tox": 1.5}, "`tox` of simulate must be a probability in [0, 1]; got 1.5."),
        ({"tox": [0.1, 0.1]}, "`tox` of simulate must be distinct true toxicity rates"),
        ({"odds_ratio": 0.0}, "`odds_ratio` of simulate must be a finite number > 0"),
        ({"odds_ratio": float("inf")}, "`odds_ratio` of simulate must be a finite number > 0"),
    ],
)
def test_bad_toxicity_arguments_name_the_argument(joint, kwargs, message):
    with pytest.raises(DesignError) as err:
        run(joint, [0.3], n_sims=100, seed=1, chunk_size=100, **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("kwargs", [{"tox": 0.2}, {"odds_ratio": 2.0}])
def test_toxicity_arguments_without_a_monitor_are_an_error(plain, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(DesignError, match=rf"`{name}` of simulate must be None unless .*"
                                           r"toxicity monitor"):
        run(plain, [0.3], n_sims=100, seed=1, chunk_size=100, **kwargs)


def test_conduct_toxicity_delay_default_and_validation():
    assert Conduct().tox_delay_form == 1.0  # 1 month: toxicity is known before response
    assert Conduct(delay=0.4).tox_delay_form == 0.4  # never after a shorter fixed delay
    assert Conduct(delay=("gamma", 0.5, 0.1)).tox_delay_form == 1.0
    c = Conduct(tox_delay=("uniform", 0.5, 1.5))
    assert (c.tox_delay, c.tox_delay_kind) == ((0.5, 1.5), "uniform")
    np.testing.assert_array_equal(c.tox_delay_ppf(np.array([0.0, 0.5])), [0.5, 1.0])
    assert "toxicity status known after uniform on [0.5, 1.5] months" in c.describe()
    assert "toxicity" not in Conduct().describe()  # the default is not echoed there
    assert not Conduct(delay=0.0, tox_delay=1.0).trivial and Conduct(delay=0.0).trivial
    for bad in (-1.0, ("gamma", 0.0, 1.0), "soon", (2.0, 1.0)):
        with pytest.raises(DesignError, match=r"^`tox_delay` of Conduct must be a number >= 0"):
            Conduct(tox_delay=bad)


def test_cli_simulate_reports_toxicity_rows(capsys, tmp_path):
    """`adaptive2 simulate` on a design file with [toxicity]: rows per (p, q), with the stops."""
    import json

    from adaptive2.cli import main

    path = tmp_path / "pp-tox.toml"
    path.write_text((DESIGNS_DIR / "frontline-pp.toml").read_text(encoding="utf-8") + """
[toxicity]
event = "DLT"
limit = 0.3
acceptable = 0.15
rule = "posterior"
cutoff = 0.8
monitor = [5, 10, 15, 20, 25, 30, 35, 40]
""", encoding="utf-8")
    rc = main(["simulate", str(path), "--p", "0.4", "--n-sims", "500", "--seed", "1", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    payload = json.loads(out)
    rows = payload["rows"]
    assert [(r["scenario"], r["toxicity_rate"], r["odds_ratio"]) for r in rows] == [
        ("p=0.4, q=0.15", 0.15, 1.0), ("p=0.4, q=0.3", 0.3, 1.0)]
    assert rows[1]["p_stop_toxicity"] > rows[0]["p_stop_toxicity"] > 0
    assert all(r["p_stop_toxicity_mcse"] > 0 for r in rows)
    assert payload["tox_delay"] == "toxicity status known after 1 months (the default)"
    assert payload["conduct"]["tox_delay"] is None


def test_multi_cohort_designs_with_monitors_are_refused_not_simulated_without_them():
    from adaptive2.model.cohorts import CohortDesign
    from adaptive2.model.hierarchical import Cohort, Model

    mon = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
                          cutoff=0.8, monitor=(10, 20))
    two = CohortDesign(name="two", model=Model(kind="independent"),
                       cohorts=(Cohort("a", 0.2, 0.4, (10, 20)), Cohort("b", 0.2, 0.4, (10, 20))),
                       final=PosteriorProbability(p0=0.2, cutoff=0.9), toxicity=mon)
    with pytest.raises(DesignError, match=r"multi-cohort design\(s\) \['two'\] yet: they have "
                                          "toxicity monitors"):
        run(two, [Scenario("s", rates={"a": 0.2, "b": 0.4})], n_sims=100, seed=1,
            chunk_size=100)
