"""ToxicityMonitor: validation naming field and allowed values, boundaries, exact OC, values.

The clinfun figures below are from the printed examples of ``toxbdry`` (clinfun pkgdown site,
reference/toxbdry.html; stored copy github.com/veseshan/clinfun@6a654d9c, reference/toxbdry.md),
the same source as tests/kernels/test_toxicity.py.
"""

from __future__ import annotations

import dataclasses
import pickle

import mpmath as mp
import numpy as np
import pytest

from adaptive2._base.errors import DesignError
from adaptive2.kernels.toxicity import posterior_boundary, stop_probabilities
from adaptive2.model.toxicity import ToxicityMonitor, ToxicityOC


def pocock(**kw: object) -> ToxicityMonitor:
    args: dict[str, object] = dict(
        event="DLT", limit=0.35, acceptable=0.2, rule="pocock", monitor=(20, 40, 60, 75)
    )
    args.update(kw)
    return ToxicityMonitor(**args)  # type: ignore[arg-type]


def bop2(**kw: object) -> ToxicityMonitor:
    args: dict[str, object] = dict(
        event="toxicity", limit=0.3, acceptable=0.15, rule="bop2", lambda_=0.7, gamma=1.0,
        monitor=tuple(range(10, 41, 5)),
    )
    args.update(kw)
    return ToxicityMonitor(**args)  # type: ignore[arg-type]


def posterior(**kw: object) -> ToxicityMonitor:
    args: dict[str, object] = dict(
        event="grade>=3 irAE",
        limit=0.3,
        acceptable=0.15,
        rule="posterior",
        cutoff=0.9,
        monitor=tuple(range(3, 31, 3)),
    )
    args.update(kw)
    return ToxicityMonitor(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Published values (clinfun toxbdry examples, "high" boundary, priority = "null")
# ---------------------------------------------------------------------------
def test_pocock_group_sequential_example() -> None:
    """toxbdry(0.2, 0.35, c(20,40,60,75)): High boundary 7/20 12/40 17/60 21/75."""
    m = pocock()
    assert m.boundaries() == (8, 13, 18, 22)
    oc = m.oc([0.20, 0.23, 0.26, 0.29, 0.32, 0.35])
    np.testing.assert_allclose(
        oc.p_stop, [0.088, 0.214, 0.406, 0.619, 0.797, 0.911], rtol=0, atol=5e-4
    )
    np.testing.assert_allclose(
        oc.p_early_stop, [0.079, 0.188, 0.354, 0.548, 0.727, 0.859], rtol=0, atol=5e-4
    )
    np.testing.assert_allclose(oc.expected_n, [72.0, 68.1, 62.1, 54.7, 47.0, 39.9], atol=0.05)
    assert m.nominal_level is not None and 0 < m.nominal_level < 0.1


def test_pocock_continuous_example() -> None:
    """toxbdry(0.1, 0.3, 2:30): High boundary 1/3 2/8 3/13 4/19 5/26 6/30."""
    m = ToxicityMonitor(
        event="DLT", limit=0.3, acceptable=0.1, rule="pocock", monitor=tuple(range(2, 31))
    )
    r = [1] * 2 + [2] * 5 + [3] * 5 + [4] * 6 + [5] * 7 + [6] * 4  # n = 2..30
    assert m.boundaries() == tuple(x + 1 for x in r)
    oc = m.oc()  # at acceptable (0.1) and limit (0.3)
    np.testing.assert_allclose(oc.p_stop, [0.097, 0.898], rtol=0, atol=5e-4)
    np.testing.assert_allclose(oc.p_early_stop, [0.096, 0.888], rtol=0, atol=5e-4)
    np.testing.assert_allclose(oc.expected_n, [28.1, 12.7], rtol=0, atol=0.05)


def test_pocock_second_example_with_its_own_target() -> None:
    """toxbdry(0.2, 0.3, c(20,40,60,75), cP0=0.15, cP1=0.8): High 7/20 12/40 16/60 20/75."""
    m = pocock(limit=0.3, p_stop_acceptable=0.15)
    assert m.boundaries() == (8, 13, 17, 21)
    np.testing.assert_allclose(m.oc().p_stop, [0.117, 0.758], rtol=0, atol=5e-4)


# ---------------------------------------------------------------------------
# Posterior rule
# ---------------------------------------------------------------------------
def test_posterior_boundaries_from_the_kernel_and_mpmath() -> None:
    m = posterior(prior=(0.5, 1.5))
    got = m.boundaries()
    assert got == tuple(posterior_boundary(m.monitor, 0.3, 0.9, 0.5, 1.5))
    with mp.workdps(30):
        for n, c in zip(m.monitor, got, strict=True):

            def tail(x: int, n: int = n) -> mp.mpf:
                return mp.betainc(1.5 + n - x, 0.5 + x, 0, 1 - mp.mpf(0.3), regularized=True)

            assert c == n + 1 or tail(c) > 0.9
            assert c == 0 or tail(c - 1) <= 0.9
    assert m.nominal_level is None


def test_posterior_oc_at_the_default_rates() -> None:
    m = posterior()
    oc = m.oc()
    assert oc.rates == (0.15, 0.3)
    want = stop_probabilities(m.boundaries(), m.monitor, [0.15, 0.3])
    np.testing.assert_array_equal(oc.p_stop_at, want)
    assert oc.p_stop[0] < oc.p_stop[1]
    np.testing.assert_allclose(oc.p_stop_by[:, -1], oc.p_stop, rtol=0, atol=1e-15)
    assert np.all(np.diff(oc.p_stop_by, axis=1) >= 0)


def test_oc_accepts_a_scalar_and_the_ends_of_the_unit_interval() -> None:
    oc = posterior().oc(0.0)
    assert oc.p_stop.tolist() == [0.0]
    assert oc.expected_n.tolist() == [30.0]
    oc1 = posterior().oc([1.0])
    assert abs(oc1.p_stop[0] - 1.0) <= 1e-15
    assert oc1.p_stop_at[0, 0] == pytest.approx(1.0)  # 3 of 3 stops at the first look


def test_oc_rejects_a_rate_outside_the_unit_interval() -> None:
    with pytest.raises(DesignError) as err:
        posterior().oc([0.2, 1.5])
    assert str(err.value) == (
        "`rates` of ToxicityMonitor.oc must be a probability in [0, 1]; got 1.5."
    )


def test_describe_prints_the_rule_and_its_boundary() -> None:
    text = str(posterior(monitor=(5, 10)))
    assert text == (
        "stop for grade>=3 irAE if P(rate > 0.3 | data) > 0.9, prior Beta(1, 1); "
        "boundary: >= 3 of 5, >= 5 of 10"
    )
    assert "never stops" in str(posterior(monitor=(1,), cutoff=0.99))
    assert "Pocock-type" in str(pocock()) and ">= 22 of 75" in str(pocock())


def test_o_brien_fleming_shape_stops_less_early() -> None:
    flat = pocock()
    obf = pocock(shape=0.5)
    # stricter at the first look, more lenient at the last (levels grow with n_k / n_K)
    assert obf.boundaries()[0] > flat.boundaries()[0]
    assert obf.boundaries()[-1] <= flat.boundaries()[-1]
    assert obf.oc().p_stop[0] <= 0.10
    assert obf.oc().p_stop_at[0, 0] <= flat.oc().p_stop_at[0, 0]


# ---------------------------------------------------------------------------
# Value-object semantics
# ---------------------------------------------------------------------------
def test_frozen_hashable_picklable_and_replace_revalidates() -> None:
    m = pocock()
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.limit = 0.4  # type: ignore[misc]
    assert m == pocock() and hash(m) == hash(pocock())
    assert pickle.loads(pickle.dumps(m)) == m
    assert m.replace(limit=0.4).limit == 0.4
    with pytest.raises(DesignError, match="`acceptable` of ToxicityMonitor"):
        m.replace(acceptable=0.5)


def test_normalises_inputs() -> None:
    m = posterior(monitor=[3, 6], prior=[1, 2], limit=1 / 4, cutoff=np.float64(0.8))
    assert m.monitor == (3, 6) and m.prior == (1.0, 2.0)
    assert isinstance(m.prior[0], float) and isinstance(m.cutoff, float)
    assert isinstance(m.oc(), ToxicityOC)


# ---------------------------------------------------------------------------
# Validation: every field names itself and its allowed values
# ---------------------------------------------------------------------------
BAD = [
    (posterior, {"event": ""}, "`event` of ToxicityMonitor must be a non-empty string; got ''."),
    (posterior, {"event": 3}, "`event` of ToxicityMonitor must be a non-empty string; got 3."),
    (
        posterior,
        {"limit": 1.2},
        "`limit` of ToxicityMonitor must be a probability in (0, 1); got 1.2.",
    ),
    (
        posterior,
        {"acceptable": 0.3},
        "`acceptable` of ToxicityMonitor must be a probability in (0, limit = 0.3); got 0.3.",
    ),
    (
        posterior,
        {"acceptable": -0.1},
        "`acceptable` of ToxicityMonitor must be a probability in (0, 1); got -0.1.",
    ),
    (
        posterior,
        {"rule": "bayes"},
        "`rule` of ToxicityMonitor must be one of {'posterior', 'pocock', 'bop2'}; got 'bayes'.",
    ),
    (
        posterior,
        {"monitor": (10, 5)},
        "`monitor` of ToxicityMonitor must be strictly increasing patient counts; got [10, 5].",
    ),
    (
        posterior,
        {"monitor": (0, 5)},
        "`monitor` of ToxicityMonitor must be a list of at least 1 integer(s) >= 1; got [0, 5].",
    ),
    (
        posterior,
        {"monitor": ()},
        "`monitor` of ToxicityMonitor must be a list of at least 1 integer(s) >= 1; got [].",
    ),
    (
        posterior,
        {"prior": (0.0, 1.0)},
        "`prior` of ToxicityMonitor must be a pair (a, b) of Beta parameters, both finite and > 0; "
        "got (0.0, 1.0).",
    ),
    (
        posterior,
        {"prior": (1.0,)},
        "`prior` of ToxicityMonitor must be a pair (a, b) of Beta parameters, both finite and > 0; "
        "got (1.0,).",
    ),
    (
        posterior,
        {"cutoff": None},
        "`cutoff` of ToxicityMonitor must be a probability in (0, 1) for rule 'posterior'; "
        "got None.",
    ),
    (
        posterior,
        {"cutoff": 1.0},
        "`cutoff` of ToxicityMonitor must be a probability in (0, 1); got 1.0.",
    ),
    (
        posterior,
        {"shape": 0.2},
        "`shape` of ToxicityMonitor must be 0 for rule 'posterior' (shape is for 'pocock'); "
        "got 0.2.",
    ),
    (pocock, {"shape": 0.6}, "`shape` of ToxicityMonitor must be a number in [0, 0.5]; got 0.6."),
    (
        pocock,
        {"cutoff": 0.9},
        "`cutoff` of ToxicityMonitor must be None for rule 'pocock' (its level is tuned to "
        "`p_stop_acceptable`); got 0.9.",
    ),
    (
        pocock,
        {"p_stop_acceptable": 0.0},
        "`p_stop_acceptable` of ToxicityMonitor must be a probability in (0, 1); got 0.0.",
    ),
    (
        bop2,
        {"lambda_": 1.5},
        "`lambda` of ToxicityMonitor must be a probability in (0, 1); got 1.5.",
    ),
    (
        bop2,
        {"gamma": None},
        "`gamma` of ToxicityMonitor must be set together with lambda for rule 'bop2'; got None.",
    ),
    (
        posterior,
        {"gamma": 1.0},
        "`gamma` of ToxicityMonitor must be None for rule 'posterior' (it is the BOP2 "
        "cut-off's); got 1.0.",
    ),
    (
        bop2,
        {"cutoff": 0.9},
        "`cutoff` of ToxicityMonitor must be None for rule 'bop2' (its cut-off is 1 - lambda "
        "(n/N)^gamma); got 0.9.",
    ),
]


@pytest.mark.parametrize(("make", "change", "message"), BAD)
def test_bad_values_name_the_field_and_the_allowed_values(
    make: object, change: dict[str, object], message: str
) -> None:
    with pytest.raises(DesignError) as err:
        make(**change)  # type: ignore[operator]
    assert str(err.value) == message


def test_every_field_is_checked() -> None:
    checked = {next(iter(change)) for _, change, _ in BAD}
    assert checked == {f.name for f in dataclasses.fields(ToxicityMonitor)}


# ---------------------------------------------------------------------------
# rule = "bop2": the toxicity half of BOP2's joint rule
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("lam", "gamma"), [(0.7, 1.0), (0.9, 0.5), (0.62, 0.0)])
def test_bop2_boundary_is_the_joint_rules_toxicity_boundary(lam: float, gamma: float) -> None:
    """Zhou, Lee & Yuan (2017), efficacy-toxicity example: φ_T = 0.30, looks 10, 15, ..., 40.

    The reference is the joint rule's own boundary (kernels.bop2_joint.efftox_boundaries,
    P(p_T <= φ_T | data) < λ (n/N)^γ), with BOP2's default Beta(φ_T, 1 - φ_T) prior.
    """
    from adaptive2.kernels.bop2_joint import efftox_boundaries

    m = bop2(lambda_=lam, gamma=gamma)
    _, b = efftox_boundaries(m.monitor, 0.45, 0.30, lam, gamma)
    assert m.prior == (0.3, 0.7)
    assert list(m.boundaries()) == b.tolist()
    if (lam, gamma) == (0.7, 1.0):  # the doctest of efftox_boundaries, printed there
        assert list(m.boundaries()) == [5, 6, 7, 8, 9, 10, 11]
    assert "BOP2" in m.describe() and f"(n/40)^{gamma:g}" in m.describe()


def test_bop2_without_lambda_gamma_says_a_design_sets_them() -> None:
    m = bop2(lambda_=None, gamma=None)
    assert "from the design's BOP2 futility rule" in m.describe()
    with pytest.raises(DesignError, match=r"`lambda` and `gamma` .* are not set"):
        m.boundaries()
