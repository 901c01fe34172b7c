"""calibrate_toxicity: exact optimum against a cutoff grid, robustness, infeasibility, pocock."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from adaptive2._base.errors import DesignError
from adaptive2.engines.toxicity_calibration import (
    MIN_INTERVAL,
    ToxicityCalibration,
    calibrate_toxicity,
)
from adaptive2.kernels.toxicity import calibrate_pocock
from adaptive2.model.toxicity import ToxicityMonitor


def posterior(**kw: object) -> ToxicityMonitor:
    args: dict[str, object] = dict(
        event="DLT", limit=0.3, acceptable=0.1, rule="posterior", cutoff=0.5, monitor=(10, 20, 30)
    )
    args.update(kw)
    return ToxicityMonitor(**args)  # type: ignore[arg-type]


def pocock(**kw: object) -> ToxicityMonitor:
    args: dict[str, object] = dict(
        event="DLT", limit=0.35, acceptable=0.2, rule="pocock", monitor=(20, 40, 60, 75)
    )
    args.update(kw)
    return ToxicityMonitor(**args)  # type: ignore[arg-type]


def stops(monitor: ToxicityMonitor, cutoff: float) -> tuple[float, float]:
    """Exact P(stop) at (acceptable, limit) of ``monitor`` with ``cutoff``, via ToxicityMonitor."""
    p = monitor.replace(cutoff=cutoff).oc().p_stop
    return float(p[0]), float(p[1])


# Posterior monitors and targets whose cutoff intervals are all wider than the grid step used.
CASES = [
    (posterior(), 0.05),
    (posterior(), 0.10),
    (posterior(monitor=(5, 10, 15, 20), prior=(0.6, 1.4)), 0.08),
    (posterior(limit=0.4, acceptable=0.2, monitor=(6, 12, 18, 24)), 0.15),
]


# ---------------------------------------------------------------------------
# posterior rule: the exact optimum
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("monitor", "target"), CASES)
def test_posterior_matches_a_fine_cutoff_grid(monitor: ToxicityMonitor, target: float) -> None:
    cal = calibrate_toxicity(monitor, target)
    assert cal.feasible and cal.parameter == "cutoff"
    assert cal.p_stop_acceptable <= target
    best_limit = -1.0
    for cutoff in np.arange(1, 2000) / 2000:
        p_acc, p_lim = stops(monitor, float(cutoff))
        if p_acc <= target:
            best_limit = max(best_limit, p_lim)
    # no grid cutoff does better, and the grid reaches the calibrated value
    assert cal.p_stop_limit == pytest.approx(best_limit, abs=1e-13)


@pytest.mark.parametrize(("monitor", "target"), CASES)
def test_posterior_result_is_consistent_and_robust(monitor: ToxicityMonitor, target: float) -> None:
    cal = calibrate_toxicity(monitor, target)
    assert cal.monitor == monitor.replace(cutoff=cal.value)
    assert cal.monitor.boundaries() == cal.boundaries
    for shift in (-1e-6, 1e-6):  # a protocol that rounds the cutoff keeps the boundaries
        assert monitor.replace(cutoff=cal.value + shift).boundaries() == cal.boundaries
    lo, hi = cal.interval  # type: ignore[misc]
    assert lo + (hi - lo) / 4 <= cal.value <= hi - (hi - lo) / 4
    assert hi - lo > MIN_INTERVAL
    # the interval ends are the breakpoints: just inside, the same; just outside, different
    assert monitor.replace(cutoff=lo + 1e-9).boundaries() == cal.boundaries
    assert monitor.replace(cutoff=hi - 1e-9).boundaries() == cal.boundaries
    assert monitor.replace(cutoff=hi + 1e-9).boundaries() != cal.boundaries
    if lo > 0:
        left = monitor.replace(cutoff=lo - 1e-9)
        assert left.boundaries() != cal.boundaries
        assert stops(monitor, lo - 1e-9)[0] > target  # the next more stopping boundary fails
    oc = cal.monitor.oc()
    assert cal.p_stop_acceptable == pytest.approx(float(oc.p_stop[0]), abs=1e-15)
    assert cal.p_stop_limit == pytest.approx(float(oc.p_stop[1]), abs=1e-15)
    assert cal.expected_n_acceptable == pytest.approx(float(oc.expected_n[0]), abs=1e-12)
    assert cal.expected_n_limit == pytest.approx(float(oc.expected_n[1]), abs=1e-12)


def test_posterior_continuous_monitoring_against_grid() -> None:
    monitor = posterior(limit=0.35, acceptable=0.15, monitor=tuple(range(1, 21)))
    cal = calibrate_toxicity(monitor, 0.10)
    assert cal.feasible and cal.p_stop_acceptable <= 0.10
    for cutoff in np.arange(1, 1000) / 1000:
        p_acc, p_lim = stops(monitor, float(cutoff))
        if p_acc <= 0.10:
            assert p_lim <= cal.p_stop_limit + 1e-13
    for shift in (-1e-6, 1e-6):
        assert monitor.replace(cutoff=cal.value + shift).boundaries() == cal.boundaries


def test_cutoff_is_a_short_decimal() -> None:
    cal = calibrate_toxicity(posterior(), 0.05)
    assert cal.value == 0.6  # the shortest decimal in the middle of (0.5696, 0.6879)


def test_default_target_is_the_monitors() -> None:
    monitor = posterior(p_stop_acceptable=0.05)
    assert calibrate_toxicity(monitor) == calibrate_toxicity(monitor, 0.05)
    assert calibrate_toxicity(monitor).target == 0.05


def test_looser_target_stops_more_at_the_limit() -> None:
    values = [calibrate_toxicity(posterior(), t) for t in (0.01, 0.05, 0.2, 0.5)]
    lim = [v.p_stop_limit for v in values]
    assert lim == sorted(lim)
    cut = [v.value for v in values]
    assert cut == sorted(cut, reverse=True)


# ---------------------------------------------------------------------------
# infeasible targets
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["posterior", "pocock"])
def test_infeasible_target(rule: str) -> None:
    if rule == "posterior":
        monitor = posterior(monitor=(1,))
    else:
        monitor = pocock(monitor=(1,), acceptable=0.1, limit=0.3)
    cal = calibrate_toxicity(monitor, 0.0001)
    assert not cal.feasible
    assert cal.message.startswith(f"infeasible: no {rule} monitor that can stop")
    assert "(stop if >= 1 of 1)" in cal.message
    assert "P(stop | 0.1) = 0.1." in cal.message
    # the monitor returned is the one that stops least; it misses the target
    assert cal.boundaries == (1,)
    assert cal.p_stop_acceptable == pytest.approx(0.1, abs=1e-15) and cal.p_stop_acceptable > 1e-4


def test_infeasible_with_two_looks_reports_the_least_stopping_monitor() -> None:
    cal = calibrate_toxicity(posterior(monitor=(1, 2)), 0.001)
    assert not cal.feasible
    assert cal.boundaries == (2, 2)  # stop only if both of the first two patients have it
    assert cal.p_stop_acceptable == pytest.approx(0.01, abs=1e-15)


# ---------------------------------------------------------------------------
# pocock rule
# ---------------------------------------------------------------------------
def test_pocock_uses_the_kernel_calibration() -> None:
    monitor = pocock()
    cal = calibrate_toxicity(monitor, 0.1)
    ref = calibrate_pocock(monitor.monitor, 0.2, 0.1)
    assert cal.feasible and cal.parameter == "eta" and cal.interval is None
    assert cal.boundaries == ref.counts == (8, 13, 18, 22)  # ToxicityMonitor docstring
    assert cal.value == ref.eta == cal.monitor.nominal_level
    assert cal.p_stop_acceptable == pytest.approx(ref.p_stop, abs=1e-15)
    assert round(cal.p_stop_limit, 3) == 0.911
    assert cal.monitor.p_stop_acceptable == 0.1


def test_pocock_target_changes_the_monitor() -> None:
    monitor = pocock(p_stop_acceptable=0.3)
    cal = calibrate_toxicity(monitor, 0.05)
    assert cal.monitor == monitor.replace(p_stop_acceptable=0.05)
    assert cal.p_stop_acceptable <= 0.05


# ---------------------------------------------------------------------------
# the result object and validation
# ---------------------------------------------------------------------------
def test_result_is_frozen_picklable_and_json_ready() -> None:
    cal = calibrate_toxicity(posterior(), 0.05)
    assert isinstance(cal, ToxicityCalibration)
    with pytest.raises(AttributeError):
        cal.value = 0.7  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(cal)) == cal
    d = json.loads(json.dumps(cal.to_dict()))
    assert d["parameter"] == "cutoff" and d["value"] == 0.6
    assert d["boundaries"] == [4, 7, 10] and d["monitor"]["cutoff"] == 0.6
    assert (
        ToxicityMonitor(
            **{
                **d["monitor"],
                "monitor": tuple(d["monitor"]["monitor"]),
                "prior": tuple(d["monitor"]["prior"]),
            }
        )
        == cal.monitor
    )
    assert str(cal) == cal.message


@pytest.mark.parametrize("target", [0.0, 1.0, 1.5, -0.1, float("nan"), "0.1", True])
def test_target_must_be_a_probability(target: object) -> None:
    with pytest.raises(DesignError) as err:
        calibrate_toxicity(posterior(), target)  # type: ignore[arg-type]
    assert str(err.value) == (
        f"`target` of calibrate_toxicity must be a probability in (0, 1); got {target!r}."
    )


def test_monitor_must_be_a_toxicity_monitor() -> None:
    with pytest.raises(DesignError, match=r"^`monitor` of calibrate_toxicity must be a "):
        calibrate_toxicity("DLT", 0.1)  # type: ignore[arg-type]
