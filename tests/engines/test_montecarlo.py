"""Trial-conduct simulator: exact agreement, reproducibility, resume, conduct effects, CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from _simulation import assert_same, run
from adaptive2._base.errors import Adaptive2Error, DesignError, PrecisionWarning
from adaptive2.cli import main
from adaptive2.engines.exact import oc
from adaptive2.engines.montecarlo import simulate
from adaptive2.io.design_files import load_design
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import BOP2, Boundary, PosteriorProbability

DESIGNS_DIR = Path(__file__).resolve().parents[2] / "designs"
NO_CONDUCT = Conduct(delay=0.0, p_nonevaluable=0.0)


# ---------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pp() -> Design:
    """Shipped frontline-pp: predictive futility at 15 and 25, final at 40."""
    return load_design(DESIGNS_DIR / "frontline-pp.toml")


@pytest.fixture(scope="module")
def simon() -> Design:
    """Shipped Simon two-stage 5/12, 18/38 (Boundary rules, different N)."""
    return load_design(DESIGNS_DIR / "frontline-simon.toml")


@pytest.fixture(scope="module")
def bop2_fe() -> Design:
    """BOP2 with futility *and* early efficacy stopping (BOP2-FE) at 10 and 20."""
    return Design(
        name="bop2-fe",
        prior=Beta(0.4, 0.6),
        looks=(10, 20, 30),
        futility=BOP2(p0=0.4, lambda_=0.9, gamma=1.0),
        efficacy=BOP2(p0=0.4, lambda_=0.9, eta=1.0),
        final=BOP2(p0=0.4, lambda_=0.9),
        p0=0.4,
        p1=0.6,
    )


def single_look(n: int, prior: Beta | None = None, name: str = "single") -> Design:
    return Design(
        name=name,
        prior=Beta(1, 1) if prior is None else prior,
        looks=(n,),
        final=PosteriorProbability(p0=0.3, cutoff=0.9),
        p0=0.3,
        p1=0.5,
    )


def within(sim: float, exact: float, mcse: float, z: float = 4.0) -> bool:
    return abs(sim - exact) <= z * mcse + 1e-12


# ---------------------------------------------------------------------------
# 1. No delay, no dropout: the simulator reproduces the exact engine
# ---------------------------------------------------------------------------
SCEN = (0.3, 0.45, 0.6)


@pytest.fixture(scope="module")
def trivial_run(pp, bop2_fe, simon) -> xr.Dataset:
    return run([pp, bop2_fe, simon], SCEN, conduct=NO_CONDUCT, n_sims=20_000, seed=11,
               chunk_size=5_000)


@pytest.mark.parametrize("name", ["frontline-pp", "bop2-fe", "frontline-simon"])
def test_trivial_conduct_matches_exact(trivial_run, pp, bop2_fe, simon, name):
    design = {d.name: d for d in (pp, bop2_fe, simon)}[name]
    sim = trivial_run.sel(design=name)
    ex = oc(design, SCEN)
    n = float(sim["n_sims"].values[0])
    assert n == 20_000
    for var in ("p_efficacy", "p_futility", "p_early_stop", "p_final_fail", "expected_n"):
        s, m, e = sim[var].values, sim[f"{var}_mcse"].values, ex[var].values
        for i in range(len(SCEN)):
            assert within(s[i], e[i], m[i]), (name, var, SCEN[i], s[i], e[i], m[i])
    # p_stop_at per cell, with the exact engine's reasons: at the final look a failure is
    # "futility" (No-Go) and a count between the boundaries "consider"
    K = design.n_looks
    s_at = sim["p_stop_at"].values[:, :K]
    m_at = sim["p_stop_at_mcse"].values[:, :K]
    e_at = ex["p_stop_at"].values.copy()
    assert list(sim["reason"].values) == list(ex["reason"].values)
    assert np.all(s_at[:, :-1, 2] == 0.0)
    checked = 0
    for idx in np.ndindex(e_at.shape):
        e = e_at[idx]
        if e in (0.0, 1.0):
            assert s_at[idx] == e, (name, idx)
            continue
        se = max(m_at[idx], np.sqrt(e * (1 - e) / n))
        assert within(s_at[idx], e, se), (name, idx, s_at[idx], e, se)
        checked += 1
    assert checked >= 2 * len(SCEN)
    # without delay nobody is enrolled beyond the analysed patients
    np.testing.assert_array_equal(sim["expected_enrolled"].values, sim["expected_n"].values)
    np.testing.assert_array_equal(sim["sd_enrolled"].values, sim["sd_n"].values)


def test_early_efficacy_design_really_stops_early(trivial_run):
    sim = trivial_run.sel(design="bop2-fe", scenario="p=0.6")
    early_eff = float(sim["p_stop_at"].sel(reason="efficacy").values[:-1].sum())
    assert early_eff > 0.3  # the comparison above exercises efficacy stops


def test_decision_oc_do_not_depend_on_conduct(pp, bop2_fe):
    """Delays and dropout are independent of response: the OC stay the exact ones."""
    conduct = Conduct(rates=(1.0, 3.0), starts=(0.0, 4.0), delay=(1.0, 4.0),
                      p_nonevaluable=0.15, on_interim="continue", decision_lag=0.5)
    ds = run([pp, bop2_fe], (0.4, 0.6), conduct=conduct, n_sims=10_000, seed=5,
             chunk_size=2_500)
    for d in (pp, bop2_fe):
        ex = oc(d, (0.4, 0.6))
        sim = ds.sel(design=d.name)
        for var in ("p_efficacy", "p_futility", "expected_n"):
            for i in range(2):
                assert within(float(sim[var][i]), float(ex[var][i]),
                              float(sim[f"{var}_mcse"][i])), (d.name, var, i)


# ---------------------------------------------------------------------------
# 2. Reproducibility
# ---------------------------------------------------------------------------
CONDUCT = Conduct(rates=(1.5, 3.0), starts=(0.0, 5.0), delay=(1.0, 3.0), p_nonevaluable=0.1)


def test_same_seed_bit_identical(pp, bop2_fe):
    a = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_000, seed=7)
    b = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_000, seed=7)
    assert_same(a, b)
    c = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_000, seed=8)
    assert not np.array_equal(a["mean_duration"].values, c["mean_duration"].values)
    assert a.attrs["seed_entropy"] == "7"
    assert a.attrs["chunk_size"] == 500


def test_seed_sequence_equals_int_seed(pp):
    a = run(pp, (0.4,), n_sims=600, seed=7)
    b = run(pp, (0.4,), n_sims=600, seed=np.random.SeedSequence(7))
    assert_same(a, b)


def test_workers_one_vs_two_bit_identical(pp, bop2_fe):
    a = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_500, seed=3, workers=1)
    b = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_500, seed=3, workers=2)
    assert_same(a, b)


@pytest.fixture(scope="module")
def dask_client():
    from dask import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def test_dask_cluster_bit_identical(pp, bop2_fe, dask_client):
    a = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_500, seed=3)
    b = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_500, seed=3,
            client=dask_client)
    assert b.attrs["workers"] == "dask"
    assert_same(a, b)


def test_adding_a_scenario_keeps_other_scenarios(pp, bop2_fe):
    a = run([pp, bop2_fe], (0.4, 0.6), conduct=CONDUCT, n_sims=1_000, seed=3)
    b = run([pp, bop2_fe], (0.3, 0.4, 0.5, 0.6), conduct=CONDUCT, n_sims=1_000, seed=3)
    assert_same(a, b.sel(scenario=["p=0.4", "p=0.6"]))


def test_adding_a_design_with_same_n_max_keeps_numbers(pp):
    """Common random numbers: a design sees the same patients with or without a rival."""
    post = load_design(DESIGNS_DIR / "frontline-post.toml")
    assert post.n_max == pp.n_max
    a = run(pp, (0.4, 0.6), conduct=CONDUCT, n_sims=1_000, seed=3)
    b = run([pp, post], (0.4, 0.6), conduct=CONDUCT, n_sims=1_000, seed=3)
    assert_same(a, b.sel(design=["frontline-pp"]))


def test_first_chunk_stream_independent_of_n_sims(pp):
    """Chunk c's trials are the same whatever n_sims is (streams addressed by chunk)."""
    calls: list[dict] = []

    def spy(fn, payloads):
        calls.append({})
        for p in payloads:
            out = fn(p)
            calls[-1][out[:2]] = out[2]
            yield out

    kw = dict(conduct=CONDUCT, seed=9, chunk_size=200, workers=spy)
    short = run(pp, (0.4,), n_sims=200, **kw)
    run(pp, (0.4,), n_sims=600, **kw)
    seen_short, seen_long = calls
    assert set(seen_long) == {(0, 0), (0, 1), (0, 2)}
    first = seen_short[(0, 0)]["frontline-pp"]
    again = seen_long[(0, 0)]["frontline-pp"]
    assert first.keys() == again.keys()
    for k in first:
        np.testing.assert_array_equal(first[k], again[k], err_msg=k)
    # and the Dataset of the short run is the first chunk's summary
    full = run(pp, (0.4,), n_sims=200, conduct=CONDUCT, seed=9, chunk_size=200)
    assert_same(short, full)


# ---------------------------------------------------------------------------
# 3. Checkpoint / resume
# ---------------------------------------------------------------------------
def test_checkpoint_resume_identical(tmp_path, pp, bop2_fe):
    kw = dict(conduct=CONDUCT, n_sims=1_500, seed=21)
    ref = run([pp, bop2_fe], (0.4, 0.6), **kw)
    first = run([pp, bop2_fe], (0.4, 0.6), checkpoint=tmp_path, **kw)
    assert_same(ref, first)
    chunks = sorted(tmp_path.glob("chunk-*.npz"))
    assert len(chunks) == 2 * 3
    assert (tmp_path / "manifest.json").exists()
    for path in chunks[::2]:
        path.unlink()
    resumed = run([pp, bop2_fe], (0.4, 0.6), checkpoint=tmp_path, **kw)
    assert_same(ref, resumed)
    assert len(list(tmp_path.glob("chunk-*.npz"))) == 6
    # a complete directory is simply read back
    assert_same(ref, run([pp, bop2_fe], (0.4, 0.6), checkpoint=tmp_path, **kw))


def test_checkpoint_belongs_to_one_run(tmp_path, pp, bop2_fe):
    run(pp, (0.4,), n_sims=500, seed=1, checkpoint=tmp_path)
    with pytest.raises(Adaptive2Error, match=r"different run.*seed_entropy"):
        run(pp, (0.4,), n_sims=500, seed=2, checkpoint=tmp_path)
    with pytest.raises(Adaptive2Error, match=r"different run.*designs"):
        run(bop2_fe, (0.4,), n_sims=500, seed=1, checkpoint=tmp_path)
    with pytest.raises(Adaptive2Error, match=r"different run.*conduct"):
        run(pp, (0.4,), n_sims=500, seed=1, checkpoint=tmp_path, conduct=Conduct(delay=1.0))


def test_cli_checkpoint_rerun_without_seed_resumes(tmp_path, capsys):
    """An interrupted run says 'rerun the same command to resume': that must work without --seed.

    BUG (src/adaptive2/simulate.py, simulate): with seed=None fresh entropy is drawn on every
    call and compared with the manifest, so the identical command fails with 'belongs to a
    different run (differs in ['seed_entropy'])' instead of resuming with the saved entropy.
    """
    cmd = ["simulate", str(DESIGNS_DIR / "frontline-pp.toml"), "--p", "0.4", "--n-sims", "200",
           "--checkpoint", str(tmp_path), "--json"]
    assert main(cmd) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(cmd) == 0, capsys.readouterr().err
    again = json.loads(capsys.readouterr().out)
    assert again["rows"] == first["rows"]
    assert again["seed_entropy"] == first["seed_entropy"]


# ---------------------------------------------------------------------------
# 4. Conduct effects
# ---------------------------------------------------------------------------
def _exact_look_probs(design: Design, p: float) -> np.ndarray:
    """P(the trial stops at look k), exact."""
    return oc(design, [p])["p_stop_at"].values[0].sum(axis=-1)


def test_overrun_with_delay_continue(pp):
    rate, delay = 2.0, 3.0
    ds = run(pp, (0.4,), conduct=Conduct(rates=(rate,), delay=delay), n_sims=10_000, seed=2,
             chunk_size=2_500).isel(design=0, scenario=0)
    en, ee = float(ds["expected_n"]), float(ds["expected_enrolled"])
    assert ee > en + 1.0  # overrun after futility stops
    # exact: after the n_k-th arrival, Poisson(rate * delay) more arrive before the
    # decision (capped at N - n_k); trials reaching the final look enrol exactly N
    looks = np.asarray(pp.looks)
    probs = _exact_look_probs(pp, 0.4)
    pois = stats.poisson(rate * delay)
    extra = [sum(min(j, pp.n_max - nk) * pois.pmf(j) for j in range(200)) for nk in looks[:-1]]
    exact = float(probs @ looks + probs[:-1] @ np.array(extra))
    assert within(ee, exact, float(ds["expected_enrolled_mcse"])), (ee, exact)
    # duration: E[n]/rate + delay (arrival of the n-th patient, then the delay)
    exact_t = float(probs @ looks) / rate + delay
    assert within(float(ds["mean_duration"]), exact_t, float(ds["mean_duration_mcse"]))


def test_pause_no_overrun_and_longer(pp):
    rate, delay = 2.0, 3.0
    kw = dict(n_sims=10_000, seed=2, chunk_size=2_500)
    cont = run(pp, (0.4, 0.6), conduct=Conduct(rates=(rate,), delay=delay), **kw)
    pause = run(pp, (0.4, 0.6), conduct=Conduct(rates=(rate,), delay=delay,
                                                 on_interim="pause"), **kw)
    np.testing.assert_array_equal(pause["expected_enrolled"].values, pause["expected_n"].values)
    # same patients, same decisions
    np.testing.assert_array_equal(pause["p_stop_at"].values, cont["p_stop_at"].values)
    c_t = cont["mean_duration"].values.ravel()
    p_t = pause["mean_duration"].values.ravel()
    assert np.all(p_t > c_t + 1.0), (p_t, c_t)
    # exact: each interim passed adds a pause of `delay`; E = E[n]/rate + delay * E[#looks]
    looks = np.asarray(pp.looks)
    for i, p in enumerate((0.4, 0.6)):
        probs = _exact_look_probs(pp, p)
        exact = float(probs @ looks) / rate + delay * float(probs @ np.arange(1, len(looks) + 1))
        sel = pause.isel(design=0, scenario=i)
        assert within(float(sel["mean_duration"]), exact, float(sel["mean_duration_mcse"])), (
            p, float(sel["mean_duration"]), exact)


def test_pause_with_random_delay_waits_for_the_first_nk_patients():
    """With enrolment paused, the interim waits for the n_1 patients actually enrolled.

    BUG (src/adaptive2/simulate.py, _one_design, on_interim="pause" with a uniform delay):
    the trigger is the n_k-th smallest known time among *all* patients (including those who,
    paused, are not enrolled yet), so a paused trial decides as early as a continuing one.
    Design stopping always at look 1 (10 patients), rate 2/month, delay U(0, 6): the trial
    ends at max_{i<=10}(A_i + D_i) (about 9.33 months); the simulator reports about 7.99.
    """
    d = Design(name="always-stop", prior=Beta(1, 1), looks=(10, 20),
               futility=Boundary(r=(10,)), final=Boundary(r=(10,)))
    ds = run(d, (0.3,), conduct=Conduct(rates=(2.0,), delay=(0.0, 6.0), on_interim="pause"),
             n_sims=10_000, seed=4, chunk_size=2_500).isel(design=0, scenario=0)
    assert float(ds["p_futility"]) == 1.0
    assert float(ds["expected_enrolled"]) == 10.0
    rng = np.random.default_rng(123)
    m = 200_000
    arrivals = np.cumsum(rng.exponential(1 / 2.0, (m, 10)), axis=1)
    t_end = (arrivals + rng.uniform(0.0, 6.0, (m, 10))).max(axis=1)
    ref, ref_se = t_end.mean(), t_end.std() / np.sqrt(m)
    se = np.hypot(float(ds["mean_duration_mcse"]), ref_se)
    assert within(float(ds["mean_duration"]), ref, se), (float(ds["mean_duration"]), ref)


def test_dropout_enrols_beyond_n(pp):
    q = 0.2
    ds = run(pp, (0.9,), conduct=Conduct(delay=2.5, p_nonevaluable=q), n_sims=10_000, seed=6,
             chunk_size=2_500).isel(design=0, scenario=0)
    assert float(ds["p_early_stop"]) == 0.0
    assert float(ds["expected_n"]) == pp.n_max
    ee = float(ds["expected_enrolled"])
    assert ee > pp.n_max + 5
    # position of the N-th evaluable patient: negative binomial mean N / (1 - q)
    assert within(ee, pp.n_max / (1 - q), float(ds["expected_enrolled_mcse"])), ee


def test_constant_accrual_duration_is_gamma_mean():
    n = 30
    ds = run(single_look(n), (0.3, 0.5), conduct=Conduct(rates=(2.0,), delay=0.0),
             n_sims=10_000, seed=8, chunk_size=2_500).isel(design=0)
    for i in range(2):
        t, se = float(ds["mean_duration"][i]), float(ds["mean_duration_mcse"][i])
        assert within(t, n / 2.0, se), (t, se)
        # sd of Gamma(n, rate 2) is sqrt(n)/2; the MCSE must reflect it
        assert 0.8 < se * np.sqrt(10_000) / (np.sqrt(n) / 2) < 1.2
        assert abs(float(ds["duration_q50"][i]) - stats.gamma(n, scale=0.5).median()) < 0.3


# Duration quantiles: the exact quantiles of a closed-form duration distribution
def test_duration_quantiles_match_the_closed_form_within_4_mcse():
    """Single look, fixed delay d, no dropout: duration = d + Gamma(N, rate) exactly.

    The trial ends when the N-th outcome is known: the N-th Poisson arrival plus d. The
    q10/q50/q90 must be within 4 MCSE of the exact quantiles, and the MCSE must be the
    order-statistic one, sqrt(q (1 - q) / n) / f(x_q) with the real n (not the number of
    summary points). 200,000 trials in unequal chunks (3 x 60,000 and 20,000): the old
    thinned sample (indices 0, 300, ... of each chunk) sat about 6 MCSE low at q90 here.
    """
    n, d, rate, n_sims = 30, 1.5, 2.0, 200_000
    ds = run(single_look(n), (0.4,), conduct=Conduct(rates=(rate,), delay=d, on_interim="pause"),
             n_sims=n_sims, seed=2024, chunk_size=60_000).isel(design=0, scenario=0)
    exact = stats.gamma(n, loc=d, scale=1 / rate)
    for q in (0.1, 0.5, 0.9):
        got = float(ds[f"duration_q{round(q * 100):02d}"])
        se = float(ds[f"duration_q{round(q * 100):02d}_mcse"])
        assert within(got, exact.ppf(q), se), (q, got, exact.ppf(q), se)
        theory = np.sqrt(q * (1 - q) / n_sims) / exact.pdf(exact.ppf(q))
        assert 0.8 < se / theory < 1.25, (q, se, theory)


def _pooled(chunks):
    """The per-chunk duration summaries of ``chunks`` pooled as simulate pools them."""
    from adaptive2.engines.simulation_summaries import _add
    from adaptive2.engines.trials_single import _chunk_stats

    acc = None
    for t in chunks:
        res = {"stop_look": np.zeros(t.size, dtype=int), "reason": np.ones(t.size, dtype=int),
               "n_analysed": np.full(t.size, 10), "enrolled": np.full(t.size, 10),
               "duration": t, "post_mean": np.full(t.size, 0.5), "lo": np.zeros(t.size),
               "hi": np.ones(t.size), "t_decision": t[:, None], "n_drawn": 16}
        stats_ = _chunk_stats(res, single_look(10), 0.5)
        acc = _add(acc, {"count": stats_["count"], "duration_sketch": stats_["duration_sketch"]})
    return acc


def test_pooled_duration_quantiles_equal_those_of_all_trials():
    """Ten chunks of 10,000: the pooled summaries give the quantiles of the 100,000 trials.

    Reference: numpy's quantile of all trials ("hazen": the mid-point rule the summaries
    use). The pooled figure must be within a tenth of an MCSE of it; the old sorted thinned
    sample missed it by about 2-3 MCSE at q10 and q90.
    """
    from adaptive2.engines.simulation_summaries import QUANTILES, _quantiles

    t = np.random.default_rng(5).gamma(30, 0.5, 100_000)
    acc = _pooled(np.split(t, 10))
    assert acc["duration_sketch"].shape == (2, 10 * 1000)  # fixed size per chunk
    est, se = _quantiles(acc["duration_sketch"], acc["count"][0])
    ref = np.quantile(t, QUANTILES, method="hazen")
    np.testing.assert_array_less(np.abs(est - ref), 0.1 * se)


def test_unequal_chunk_sizes_weigh_by_their_number_of_trials():
    """A 9,500-trial chunk on [0, 1] and a 500-trial chunk on [10, 11]: 95% of trials < 1.

    Weighted by size the pooled q50 and q90 lie in the large chunk (0.526, 0.947) and the
    summaries have the same size whatever the chunk size; weighting each chunk's summary
    alike (as a fixed number of points per chunk did) would put q90 in the small chunk.
    """
    from adaptive2.engines.simulation_summaries import _quantiles

    rng = np.random.default_rng(9)
    big, small = rng.uniform(0, 1, 9_500), rng.uniform(10, 11, 500)
    for chunks in ([big, small], [small, big]):
        acc = _pooled(chunks)
        assert acc["duration_sketch"].shape == (2, 2 * 1000)
        est, se = _quantiles(acc["duration_sketch"], acc["count"][0])
        ref = np.quantile(np.concatenate(chunks), (0.1, 0.5, 0.9), method="hazen")
        np.testing.assert_allclose(est, ref, atol=2e-3)
        assert est[2] < 1.0 and np.all(se < 0.02)


def test_duration_quantiles_bit_identical_for_unequal_chunks_workers_and_resume(tmp_path, pp):
    kw = dict(conduct=CONDUCT, n_sims=1_300, seed=31)  # chunks of 500, 500 and 300
    ref = run(pp, (0.4, 0.6), **kw)
    assert_same(ref, run(pp, (0.4, 0.6), workers=2, **kw))
    run(pp, (0.4, 0.6), checkpoint=tmp_path, **kw)
    for path in sorted(tmp_path.glob("chunk-*.npz"))[1::2]:
        path.unlink()
    assert_same(ref, run(pp, (0.4, 0.6), checkpoint=tmp_path, **kw))
    assert np.all(ref["duration_q90_mcse"] > 0)
    # a checkpoint whose chunks hold another version of the statistics is refused
    manifest = tmp_path / "manifest.json"
    old = json.loads(manifest.read_text())
    old["chunk_stats"] = 1
    manifest.write_text(json.dumps(old))
    with pytest.raises(Adaptive2Error, match=r"different run.*chunk_stats"):
        run(pp, (0.4, 0.6), checkpoint=tmp_path, **kw)


def test_piecewise_accrual_duration():
    n = 20
    ds = run(single_look(n), (0.4,), conduct=Conduct(rates=(1.0, 4.0), starts=(0.0, 6.0),
                                                     delay=0.0),
             n_sims=10_000, seed=8, chunk_size=2_500).isel(design=0, scenario=0)

    # the n-th event of a unit-rate process at "work" W ~ Gamma(n); calendar time g(W)
    def g(w):
        return w if w < 6.0 else 6.0 + (w - 6.0) / 4.0

    dens = stats.gamma(n).pdf
    exact = integrate.quad(lambda w: g(w) * dens(w), 0, 6)[0] + integrate.quad(
        lambda w: g(w) * dens(w), 6, np.inf)[0]
    assert abs(exact - n / 4) > 0.5  # not the constant-rate answer
    t = float(ds["mean_duration"])
    assert within(t, exact, float(ds["mean_duration_mcse"])), (t, exact)


def test_piecewise_accrual_independent_monte_carlo():
    """Same check against an independent simulation of the piecewise Poisson process."""
    n = 12
    ds = run(single_look(n), (0.4,), conduct=Conduct(rates=(3.0, 0.5, 2.0),
                                                     starts=(0.0, 2.0, 5.0), delay=0.0),
             n_sims=10_000, seed=8, chunk_size=2_500).isel(design=0, scenario=0)
    rng = np.random.default_rng(123)
    m = 200_000
    ends = np.empty(m)
    bounds, rates = [0.0, 2.0, 5.0, np.inf], [3.0, 0.5, 2.0]
    # thin a rate-3 process: accept an event at t with probability rate(t) / 3
    t = np.zeros(m)
    count = np.zeros(m, dtype=int)
    active = np.ones(m, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1 / 3.0, idx.size)
        k = np.searchsorted(bounds, t[idx], "right") - 1
        keep = rng.random(idx.size) < np.asarray(rates)[k] / 3.0
        count[idx] += keep
        done = idx[count[idx] == n]
        ends[done] = t[done]
        active[done] = False
    ref, ref_se = ends.mean(), ends.std() / np.sqrt(m)
    se = np.hypot(float(ds["mean_duration_mcse"]), ref_se)
    assert within(float(ds["mean_duration"]), ref, se), (float(ds["mean_duration"]), ref)


# ---------------------------------------------------------------------------
# 5. MCSE target
# ---------------------------------------------------------------------------
def test_mcse_target_met(pp):
    ds = run(pp, (0.4, 0.5), mcse=0.01, seed=1, chunk_size=250)
    assert float(ds["p_efficacy_mcse"].max()) <= 0.01
    n = ds["n_sims"].values
    assert np.all(n == n.flat[0]) and n.flat[0] % 250 == 0
    assert n.flat[0] >= 0.25 * 0.75 / 0.01**2 * 0.5  # needed real work at p ~ 0.5


def test_mcse_unreachable_warns(pp):
    with pytest.warns(PrecisionWarning, match="MCSE"):
        ds = run(pp, (0.5,), mcse=0.001, max_sims=1_000, seed=1, chunk_size=250)
    assert float(ds["p_efficacy_mcse"].max()) > 0.001
    assert float(ds["n_sims"].max()) <= 1_000


def test_mcse_reachable_does_not_warn(pp):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        run(pp, (0.3,), mcse=0.02, seed=1, chunk_size=250)


# ---------------------------------------------------------------------------
# 6. Bias and coverage of the posterior-mean estimate
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.15, 0.45])
def test_bias_and_coverage_single_look(p):
    n, a, b = 25, 0.5, 0.5
    d = single_look(n, Beta(a, b), name="vague")
    ds = run(d, (p,), conduct=Conduct(delay=1.0), n_sims=20_000, seed=13,
             chunk_size=5_000).isel(design=0, scenario=0)
    r = np.arange(n + 1)
    pmf = stats.binom(n, p).pmf(r)
    post_mean = (a + r) / (a + b + n)
    exact_bias = float(pmf @ post_mean) - p
    lo = stats.beta.ppf(0.025, a + r, b + n - r)
    hi = stats.beta.ppf(0.975, a + r, b + n - r)
    exact_cov = float(pmf @ ((lo <= p) & (p <= hi)))
    assert within(float(ds["bias"]), exact_bias, float(ds["bias_mcse"])), (
        float(ds["bias"]), exact_bias)
    assert within(float(ds["coverage"]), exact_cov, float(ds["coverage_mcse"])), (
        float(ds["coverage"]), exact_cov)
    exact_rmse = np.sqrt(float(pmf @ (post_mean - p) ** 2))
    assert abs(float(ds["rmse"]) - exact_rmse) < 0.05 * exact_rmse


# ---------------------------------------------------------------------------
# 7. Validation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rates": (-1.0,)}, "rates"),
        ({"rates": (0.0,)}, "rates"),
        ({"rates": (1.0, 2.0), "starts": (1.0, 3.0)}, "starts"),
        ({"rates": (1.0, 2.0), "starts": (0.0,)}, "starts"),
        ({"rates": (1.0, 2.0), "starts": (0.0, 0.0)}, "starts"),
        ({"p_nonevaluable": 1.2}, "p_nonevaluable"),
        ({"p_nonevaluable": -0.1}, "p_nonevaluable"),
        ({"on_interim": "wait"}, "on_interim"),
        ({"delay": -1.0}, "delay"),
        ({"delay": (3.0, 1.0)}, "delay"),
        ({"delay": (1.0, 2.0, 3.0)}, "delay"),
        ({"decision_lag": -0.5}, "decision_lag"),
    ],
)
def test_bad_conduct(kwargs, field):
    with pytest.raises(DesignError, match=f"`{field}`"):
        Conduct(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_sims": 1_000, "mcse": 0.01}, "n_sims"),
        ({"n_sims": 0}, "n_sims"),
        ({"n_sims": -5}, "n_sims"),
        ({"seed": np.random.default_rng(1)}, "seed"),
        ({"seed": -1}, "seed"),
        ({"mcse": 0.0}, "mcse"),
        ({"chunk_size": 10}, "chunk_size"),
        ({"conduct": {"delay": 1.0}}, "conduct"),
    ],
)
def test_bad_simulate_args(pp, kwargs, field):
    with pytest.raises(DesignError, match=f"`{field}`"):
        simulate(pp, (0.4,), progress=False, **kwargs)


def test_bad_designs_arg(pp):
    with pytest.raises(DesignError, match="`designs`"):
        simulate([pp, pp], (0.4,), n_sims=100, progress=False)
    with pytest.raises(DesignError, match="`designs`"):
        simulate(["frontline-pp"], (0.4,), n_sims=100, progress=False)


# ---------------------------------------------------------------------------
# 8. CLI
# ---------------------------------------------------------------------------
def test_cli_simulate_json_and_netcdf(tmp_path, capsys):
    out = tmp_path / "sim.nc"
    path = str(DESIGNS_DIR / "frontline-pp.toml")
    rc = main(["simulate", path, "--n-sims", "2000", "--seed", "3", "--json", "--out", str(out)])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["seed_entropy"] == "3"
    assert payload["chunk_size"] == 10_000
    assert payload["conduct"]["delay"] == 2.5
    assert payload["conduct"]["rates"] == [2.0]
    assert payload["conduct"]["on_interim"] == "continue"
    rows = payload["rows"]
    assert [r["p"] for r in rows] == [0.3, 0.4, 0.5, 0.6, 0.7]
    keys = {"design", "scenario", "p", "role", "p_efficacy", "p_efficacy_mcse",
            "expected_enrolled", "mean_duration", "duration_q50", "bias", "coverage", "n_sims"}
    for row in rows:
        assert keys <= row.keys()
        assert row["design"] == "frontline-pp"
        assert row["n_sims"] == 2000
        assert 0 <= row["p_efficacy"] <= 1
        assert row["expected_enrolled"] >= row["expected_n"]
    assert rows[0]["role"] == "null" and rows[-1]["role"] == "alternative"
    ds = xr.open_dataset(out, engine="scipy")
    try:
        assert ds.sizes["design"] == 1 and ds.sizes["scenario"] == 5
        np.testing.assert_allclose(ds["p_efficacy"].values.ravel(),
                                   [r["p_efficacy"] for r in rows])
        assert ds.attrs["seed_entropy"] == "3"
    finally:
        ds.close()
    # the API with the same settings gives the same numbers
    api = simulate(load_design(path), None, n_sims=2000, seed=3, progress=False)
    np.testing.assert_array_equal(api["mean_duration"].values.ravel(),
                                  [r["mean_duration"] for r in rows])


def test_cli_simulate_conduct_flags(capsys):
    path = str(DESIGNS_DIR / "frontline-pp.toml")
    rc = main(["simulate", path, "--p", "0.4", "--n-sims", "500", "--seed", "1", "--json",
               "--accrual", "1,4", "--periods", "0,6", "--delay", "1,3", "--dropout", "0.1",
               "--on-interim", "pause", "--decision-lag", "0.5"])
    assert rc == 0
    conduct = json.loads(capsys.readouterr().out)["conduct"]
    assert conduct == {"rates": [1.0, 4.0], "starts": [0.0, 6.0], "delay": [1.0, 3.0],
                       "p_nonevaluable": 0.1, "on_interim": "pause", "decision_lag": 0.5}


@pytest.mark.parametrize(
    "extra",
    [
        ["--delay", "x"],
        ["--delay", "1,2,3"],
        ["--accrual", "-1"],
        ["--dropout", "1.2"],
        ["--n-sims", "100", "--mcse", "0.01"],
        ["--on-interim", "wait"],
    ],
)
def test_cli_simulate_bad_input(extra, capsys):
    # every case is refused before any trial is simulated
    rc = main(["simulate", str(DESIGNS_DIR / "frontline-pp.toml"), *extra])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("adaptive2: error:") and err.count("\n") == 1


def test_adding_a_design_leaves_the_others_unchanged(pp, simon):
    """Patient blocks have their own streams: a larger N_max elsewhere changes nothing."""
    conduct = Conduct(delay=(1.0, 4.0), p_nonevaluable=0.15)
    alone = run([pp], (0.4,), conduct=conduct, n_sims=600, seed=1, chunk_size=300)
    both = run([pp, simon], (0.4,), conduct=conduct, n_sims=600, seed=1, chunk_size=300)
    for var in ("p_efficacy", "expected_enrolled", "mean_duration", "bias"):
        assert alone[var].sel(design="frontline-pp").item() == both[var].sel(
            design="frontline-pp").item(), var


def test_paired_differences_and_enrolled_distribution(pp, simon):
    conduct = Conduct(delay=2.0, p_nonevaluable=0.1)
    res = run([pp, simon], (0.4, 0.6), conduct=conduct, n_sims=4000, seed=5, chunk_size=1000)
    # the paired difference is the difference of the two estimates ...
    diff = res["p_efficacy"].sel(design="frontline-simon") - res["p_efficacy"].sel(
        design="frontline-pp")
    np.testing.assert_allclose(res["p_efficacy_diff"].sel(design="frontline-simon"), diff,
                               atol=1e-12)
    assert (res["p_efficacy_diff"].sel(design="frontline-pp") == 0).all()
    # ... with a smaller MCSE than treating the designs as independent (common patients)
    unpaired = np.hypot(res["p_efficacy_mcse"].sel(design="frontline-simon"),
                        res["p_efficacy_mcse"].sel(design="frontline-pp"))
    assert (res["p_efficacy_diff_mcse"].sel(design="frontline-simon") < unpaired).all()
    # the distribution of patients enrolled sums to one and has the reported mean
    dist = res["p_enrolled"]
    np.testing.assert_allclose(dist.sum("n_enrolled"), 1.0, atol=1e-12)
    mean = (dist * dist["n_enrolled"]).sum("n_enrolled")
    np.testing.assert_allclose(mean, res["expected_enrolled"], rtol=1e-12)
