"""Calibration: brute-force optima, monotonicity in the α target, infeasibility, BOP2 grid,
worst-case α, weight curve and the ``calibrate`` CLI command."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from adaptive2._base.errors import DesignError
from adaptive2.cli import main
from adaptive2.engines.calibration import (
    calibrate,
    calibrate_bop2,
    set_parameter,
    weight_curve,
    worst_case_alpha,
)
from adaptive2.engines.exact import oc
from adaptive2.io.design_files import load_design
from adaptive2.kernels.binomial import stop_probabilities as exact_oc_arrays
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import Boundary, PosteriorProbability

ROOT = Path(__file__).resolve().parents[2]
DESIGNS_DIR = ROOT / "designs"
TOL = 1e-12


def _null_grid(p0: float) -> np.ndarray:
    """Null rates in [0, p0] (fine grid plus p0 itself)."""
    return np.unique(np.concatenate([np.linspace(0.0, p0, 101), [p0]]))


def _one_look(n: int = 20, p0: float = 0.2, p1: float = 0.4) -> Design:
    return Design(
        name="one-look",
        prior=Beta(1, 1),
        looks=(n,),
        p0=p0,
        p1=p1,
        final=PosteriorProbability(p0=p0, cutoff=0.9),
    )


def _two_look(n1: int = 10, n: int = 25, p0: float = 0.2, p1: float = 0.4) -> Design:
    return Design(
        name="two-look",
        prior=Beta(1, 1),
        looks=(n1, n),
        p0=p0,
        p1=p1,
        futility=Boundary(r=(1,)),  # stop for futility if <= 1 response at n1
        final=PosteriorProbability(p0=p0, cutoff=0.9),
    )


def _brute_tables(design: Design) -> list[tuple[int, float, float]]:
    """(s, worst-case alpha, power) for every final boundary s = 0..N+1, computed directly."""
    p0, p1 = design.p0, design.p1
    n_max = design.n_max
    out = []
    for s in range(n_max + 2):
        if design.n_looks == 1:
            alpha = float(stats.binom.sf(s - 1, n_max, p0))
            power = float(stats.binom.sf(s - 1, n_max, p1))
            # worst case over the null space by a fine grid, too
            grid_max = float(stats.binom.sf(s - 1, n_max, _null_grid(p0)).max())
            assert grid_max <= alpha + TOL
        else:
            n1 = design.looks[0]
            a = [design.futility.r[0], s - 1]
            b = [n1 + 1, s]
            rates = np.concatenate([_null_grid(p0), [p1]])
            p_eff = exact_oc_arrays(design.looks, a, b, rates)[..., 1].sum(axis=-1)
            alpha = float(p_eff[:-1].max())
            power = float(p_eff[-1])
        out.append((s, alpha, power))
    return out


def _brute_best(design: Design, target: float) -> tuple[int, float, float]:
    ok = [t for t in _brute_tables(design) if t[1] <= target + TOL]
    return max(ok, key=lambda t: (t[2], -t[0]))


def _final_s(design: Design) -> int:
    b = design.boundaries().efficacy_min_r[-1]
    return design.n_max + 1 if b is None else b


# ---------------------------------------------------------------------------
# Brute-force optimum
# ---------------------------------------------------------------------------
DESIGNS = {
    "one-look-N20": _one_look(20, 0.2, 0.4),
    "one-look-N25-p0.3": _one_look(25, 0.3, 0.5),
    "two-look-10-25": _two_look(10, 25, 0.2, 0.4),
    "two-look-8-16": _two_look(8, 16, 0.25, 0.5),
}


@pytest.mark.parametrize("key", sorted(DESIGNS))
@pytest.mark.parametrize("target", [0.01, 0.05, 0.10, 0.20])
def test_calibrate_matches_brute_force(key: str, target: float) -> None:
    d = DESIGNS[key]
    s, alpha, power = _brute_best(d, target)
    res = calibrate(d, "final.cutoff", alpha=target)
    assert res.feasible
    assert _final_s(res.design) == s
    assert res.alpha == pytest.approx(alpha, abs=TOL)
    assert res.power == pytest.approx(power, abs=TOL)
    assert res.alpha <= target + TOL
    # the returned cutoff reproduces the boundary and lies in the reported interval
    cutoff = res.parameters["final.cutoff"]
    assert res.design.final.cutoff == cutoff
    assert _final_s(set_parameter(d, "final.cutoff", cutoff)) == s
    lo, hi = res.interval["final.cutoff"]
    assert lo <= cutoff <= hi
    table = res.design.boundaries()
    assert set_parameter(d, "final.cutoff", lo).boundaries() == table
    assert set_parameter(d, "final.cutoff", hi).boundaries() == table
    # the interval is tight: just outside it the boundary moves (inside the default range)
    if hi < 0.9999 - 1e-6:
        assert set_parameter(d, "final.cutoff", hi + 1e-9).boundaries() != table
    if lo > 0.5 + 1e-6:
        assert set_parameter(d, "final.cutoff", lo - 1e-9).boundaries() != table
    # the full boundary table is the brute-force one
    n_last = table.looks[-1]
    assert table.efficacy_min_r[-1] == (None if s > n_last else s)
    assert table.futility_max_r[-1] == (None if s - 1 < 0 else s - 1)
    # E[N | p0] agrees with oc()
    en = float(oc(res.design, [d.p0])["expected_n"].item())
    assert res.expected_n_p0 == pytest.approx(en, abs=1e-9)


@pytest.mark.parametrize("key", sorted(DESIGNS))
def test_target_equal_to_an_achievable_alpha_is_met(key: str) -> None:
    """A target exactly equal to a table's α must select that table (≤, not <)."""
    d = DESIGNS[key]
    tables = _brute_tables(d)
    cutoffs = np.linspace(0.5, 0.9999, 400)
    reachable = {_final_s(set_parameter(d, "final.cutoff", c)) for c in cutoffs}
    s, alpha, power = next(t for t in tables if t[0] in reachable and 0.01 < t[1] < 0.3)
    res = calibrate(d, "final.cutoff", alpha=alpha)
    assert res.feasible
    assert _final_s(res.design) == s
    assert res.alpha == pytest.approx(alpha, abs=TOL)
    assert res.power == pytest.approx(power, abs=TOL)


# ---------------------------------------------------------------------------
# Monotonicity in the α target
# ---------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    key=st.sampled_from(sorted(DESIGNS)),
    a1=st.floats(0.001, 0.4),
    a2=st.floats(0.001, 0.4),
)
def test_tightening_alpha_never_raises_achieved_alpha(key: str, a1: float, a2: float) -> None:
    d = DESIGNS[key]
    lo_t, hi_t = sorted((a1, a2))
    r_lo = calibrate(d, "final.cutoff", alpha=lo_t)
    r_hi = calibrate(d, "final.cutoff", alpha=hi_t)
    assert r_lo.alpha <= r_hi.alpha + TOL
    assert r_lo.power <= r_hi.power + TOL
    for r, t in ((r_lo, lo_t), (r_hi, hi_t)):
        if r.feasible:
            assert r.alpha <= t + TOL
        # reported α is the true worst case of the returned design
        wc, _ = worst_case_alpha(r.design)
        assert r.alpha == pytest.approx(wc, abs=TOL)


# ---------------------------------------------------------------------------
# Infeasible targets
# ---------------------------------------------------------------------------
def test_infeasible_alpha_reports_closest_achievable() -> None:
    d = DESIGNS["one-look-N20"]
    res = calibrate(d, "final.cutoff", alpha=1e-9, power=0.8)
    assert res.feasible is False
    assert "no value" in res.message and "final.cutoff" in res.message
    assert res.alpha > 1e-9
    # closest achievable: the smallest α any cutoff in the search range gives
    alphas = [
        worst_case_alpha(set_parameter(d, "final.cutoff", c))[0]
        for c in np.linspace(0.5, 0.9999, 200)
    ]
    assert res.alpha == pytest.approx(min(alphas), abs=TOL)
    assert math.isfinite(res.power) and 0.0 < res.power < 0.8
    s = _final_s(res.design)
    assert res.alpha == pytest.approx(float(stats.binom.sf(s - 1, 20, 0.2)), abs=TOL)
    assert res.power == pytest.approx(float(stats.binom.sf(s - 1, 20, 0.4)), abs=TOL)
    assert res.target_alpha == 1e-9 and res.target_power == 0.8


def test_power_target_unmet_is_infeasible() -> None:
    d = DESIGNS["one-look-N20"]
    res = calibrate(d, "final.cutoff", alpha=0.05, power=0.99)
    assert res.feasible is False
    assert res.alpha <= 0.05 + TOL
    assert "power" in res.message and "no value" in res.message
    _, _, power = _brute_best(d, 0.05)
    assert res.power == pytest.approx(power, abs=TOL)


def test_power_target_without_p1_is_an_error() -> None:
    d = dataclasses.replace(DESIGNS["one-look-N20"], p1=None)
    with pytest.raises(DesignError, match="p1"):
        calibrate(d, "final.cutoff", alpha=0.05, power=0.8)


def test_non_monotone_parameter_scan_is_best_on_its_grid() -> None:
    """α is not monotone in the power-prior weight: the scan keeps the best of its grid."""
    d = load_design(DESIGNS_DIR / "frontline-pp.toml")
    target = 0.06
    res = calibrate(d, "prior.power", alpha=target)
    assert "not monotone" in res.message
    best = None
    for w in np.linspace(0.0, 1.0, 401):
        dw = set_parameter(d, "prior.power", float(w))
        alpha = worst_case_alpha(dw)[0]
        if alpha <= target + TOL:
            power = float(oc(dw, [d.p1])["p_efficacy"].item())
            if best is None or power > best[1] + TOL:
                best = (alpha, power)
    assert best is not None and res.feasible
    assert res.power == pytest.approx(best[1], abs=TOL)
    assert res.alpha <= target + TOL
    w = res.parameters["prior.power"]
    assert worst_case_alpha(set_parameter(d, "prior.power", w))[0] == pytest.approx(
        res.alpha, abs=TOL
    )


# ---------------------------------------------------------------------------
# Worst case over the null space
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["frontline-pp.toml", "frontline-bop2.toml"])
def test_worst_case_alpha_monotone_design(path: str) -> None:
    d = load_design(DESIGNS_DIR / path)
    alpha, p = worst_case_alpha(d)
    p0 = d.p0
    assert p == p0
    exact = float(oc(d, [p0])["p_efficacy"].item())
    assert alpha == pytest.approx(exact, abs=TOL)
    grid = np.linspace(0.0, p0, 401)
    brute = oc(d, grid)["p_efficacy"].values.max()
    assert alpha >= brute - TOL
    # explicit p0 overrides the planning value
    a2, p2 = worst_case_alpha(d, p0=0.3)
    assert p2 == 0.3
    assert a2 == pytest.approx(float(oc(d, [0.3])["p_efficacy"].item()), abs=TOL)


def test_worst_case_alpha_two_look_brute() -> None:
    d = DESIGNS["two-look-10-25"]
    alpha, p = worst_case_alpha(d)
    n, a, b = d.boundaries().arrays()
    grid = np.linspace(0.0, 0.2, 1001)
    p_eff = exact_oc_arrays(n, a, b, grid)[..., 1].sum(axis=-1)
    assert alpha == pytest.approx(p_eff.max(), abs=TOL)
    assert p == 0.2


# ---------------------------------------------------------------------------
# BOP2 grid search
# ---------------------------------------------------------------------------
def test_calibrate_bop2_is_best_on_grid() -> None:
    d = load_design(DESIGNS_DIR / "frontline-bop2.toml")
    lambdas = [0.7, 0.8, 0.85, 0.9, 0.95]
    gammas = [0.5, 1.0, 1.5, 2.0]
    target, power_target = 0.10, 0.80
    res = calibrate_bop2(d, alpha=target, power=power_target, lambdas=lambdas, gammas=gammas)

    p0, p1 = d.p0, d.p1
    null = _null_grid(p0)
    best = None
    for la, ga in itertools.product(lambdas, gammas):
        cand = set_parameter(d, "futility.lambda", la)
        cand = set_parameter(cand, "futility.gamma", ga)
        cand = cand.replace(final=cand.final.replace(lambda_=la))
        ds = oc(cand, [*null, p1])
        p_eff = ds["p_efficacy"].values
        alpha, power = float(p_eff[:-1].max()), float(p_eff[-1])
        en0 = float(oc(cand, [p0])["expected_n"].item())
        if alpha <= target + TOL and (best is None or (power, -en0) > (best[2], -best[3])):
            best = ((la, ga), alpha, power, en0)
    assert best is not None
    assert res.power == pytest.approx(best[2], abs=TOL)
    assert res.alpha == pytest.approx(best[1], abs=TOL)
    assert res.expected_n_p0 == pytest.approx(best[3], abs=1e-9)
    assert res.feasible is (best[2] >= power_target)
    # the returned parameters reproduce the returned design and its figures
    la, ga = res.parameters["futility.lambda"], res.parameters["futility.gamma"]
    assert la in lambdas and ga in gammas
    assert res.design.futility.lambda_ == la and res.design.futility.gamma == ga
    assert res.design.final.lambda_ == la
    wc, wp = worst_case_alpha(res.design)
    assert res.alpha == pytest.approx(wc, abs=TOL) and res.worst_case_p == wp


def test_calibrate_bop2_infeasible_alpha() -> None:
    d = load_design(DESIGNS_DIR / "frontline-bop2.toml")
    res = calibrate_bop2(d, alpha=1e-6, lambdas=[0.8, 0.9], gammas=[1.0])
    assert res.feasible is False
    assert "no grid point" in res.message
    assert res.alpha > 1e-6
    alphas = []
    for la in (0.8, 0.9):
        cand = set_parameter(d, "futility.lambda", la)
        cand = cand.replace(final=cand.final.replace(lambda_=la))
        alphas.append(worst_case_alpha(cand)[0])
    assert res.alpha == pytest.approx(min(alphas), abs=TOL)


# ---------------------------------------------------------------------------
# Parameter names, weight curve
# ---------------------------------------------------------------------------
def test_bad_parameter_names_allowed() -> None:
    d = load_design(DESIGNS_DIR / "frontline-pp.toml")
    with pytest.raises(DesignError) as exc:
        calibrate(d, "final.bogus", alpha=0.1)
    msg = str(exc.value)
    assert "`parameter`" in msg and "final.bogus" in msg
    for name in ("final.cutoff", "futility.threshold", "prior.power", "prior.robust.weight"):
        assert name in msg
    with pytest.raises(DesignError, match="`parameter`"):
        calibrate(d, "final.p0", alpha=0.1)
    with pytest.raises(DesignError, match="`parameter`"):
        set_parameter(d, "nonsense", 0.5)


def test_weight_curve_matches_worst_case_alpha() -> None:
    d = load_design(DESIGNS_DIR / "frontline-pp.toml")
    ws = [0.0, 0.25, 0.5, 1.0]
    df = weight_curve(d, ws)
    for col in ("weight", "alpha", "worst_case_p", "power", "expected_n_p0", "ess_elir"):
        assert col in df.columns
    assert list(df["weight"]) == ws
    for w, row in zip(ws, df.itertuples(), strict=True):
        dw = set_parameter(d, "prior.power", w)
        wc, wp = worst_case_alpha(dw)
        assert row.alpha == pytest.approx(wc, abs=TOL)
        assert row.worst_case_p == wp
        assert row.power == pytest.approx(float(oc(dw, [d.p1])["p_efficacy"].item()), abs=TOL)
        en = float(oc(dw, [d.p0])["expected_n"].item())
        assert row.expected_n_p0 == pytest.approx(en, abs=1e-9)
    # at weight 0.5 (the file's value) the design is unchanged
    assert df["alpha"].iloc[2] == pytest.approx(worst_case_alpha(d)[0], abs=TOL)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------
def test_cli_calibrate_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DESIGNS_DIR / "frontline-pp.toml")
    rc = main(["calibrate", path, "--alpha", "0.1", "--power", "0.8", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    payload = json.loads(out)
    for key in (
        "parameters",
        "alpha",
        "worst_case_p",
        "power",
        "expected_n_p0",
        "boundaries",
        "feasible",
    ):
        assert key in payload
    res = calibrate(load_design(path), "final.cutoff", alpha=0.1, power=0.8)
    assert payload["parameters"] == res.parameters
    assert payload["alpha"] == pytest.approx(res.alpha, abs=TOL)
    assert payload["power"] == pytest.approx(res.power, abs=TOL)
    assert payload["feasible"] is res.feasible
    assert payload["alpha"] <= 0.1 + TOL
    assert payload["boundaries"] == res.design.boundaries().to_records()


def test_cli_calibrate_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DESIGNS_DIR / "frontline-pp.toml")
    out_file = tmp_path / "calibrated.toml"
    rc = main(["calibrate", path, "--alpha", "0.1", "--write", str(out_file), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert rc == 0
    written = load_design(out_file)
    assert written.boundaries().to_records() == payload["boundaries"]
    assert written.final.cutoff == payload["parameters"]["final.cutoff"]
    assert worst_case_alpha(written)[0] == pytest.approx(payload["alpha"], abs=TOL)


def test_cli_calibrate_bad_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DESIGNS_DIR / "frontline-pp.toml")
    rc = main(["calibrate", path, "--parameter", "final.bogus", "--json"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "parameter" in err and "final.cutoff" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_calibrate_json_without_p1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (DESIGNS_DIR / "frontline-pp.toml").read_text().replace("p1 = 0.60", "")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("power = 0.80"))
    f = tmp_path / "no-p1.toml"
    f.write_text(text)
    assert load_design(f).p1 is None
    rc = main(["calibrate", str(f), "--alpha", "0.1", "--json"])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["power"] is None
