"""Exact joint operating characteristics of efficacy and toxicity co-monitoring.

A single cohort is monitored for response (R) and for a toxicity event (T) at
the same time, and stopping for either reason ends it. Each patient falls in
one of four cells, in the order used throughout this module::

    0: R and T      1: R and not T      2: not R and T      3: not R and not T

with probabilities fixed by the response rate ``p``, the toxicity rate ``q`` and
their odds ratio ``psi`` (:func:`cell_probabilities`). :func:`joint_oc` carries
the joint distribution of (responses, events) among trials still running from
patient to patient and takes off the mass that a boundary stops, so every
probability is exact: its boundaries become stop tables for the one forward
dynamic programme over the (r, t) lattice,
:func:`adaptive2.kernels.lattice.joint_stop_probabilities`.

Boundaries are plain integer arrays in the convention of
:func:`adaptive2.kernels.binomial.stop_probabilities` (and of
``Design.boundaries().arrays()``): futility if ``r <= a_k`` (``-1``: none),
efficacy if ``r >= b_k`` (``n_k + 1``: none); toxicity if ``t >= c_j``
(``m_j + 1``: none).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_int, check_int_sequence, fail
from adaptive2.kernels.lattice import joint_stop_probabilities

__all__ = ["CELLS", "cell_probabilities", "check_cells", "joint_oc"]

CELLS = ("response_toxicity", "response_only", "toxicity_only", "neither")
"""Names of the four cells, in the order of the last axis of :func:`cell_probabilities`."""

CELL_TOL = 1e-15  # a cell this far below 0 is rounding and is set to 0
SUM_TOL = 1e-12  # the cells of a table must sum to 1 within this


# ---------------------------------------------------------------------------
# Cell probabilities
# ---------------------------------------------------------------------------
def _real_array(value: Any, name: str, owner: str, allowed: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise fail(name, owner, allowed, value) from None
    return arr


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> float:
    return float(arr[bad].flat[0])


def _rates_iv(p: Any, q: Any, odds_ratio: Any, owner: str) -> tuple[np.ndarray, ...]:
    """Check and broadcast (p, q, odds_ratio); return float arrays of one shape."""
    out = []
    for value, name in ((p, "p"), (q, "q")):
        allowed = "a probability in [0, 1]"
        arr = _real_array(value, name, owner, allowed)
        bad = ~((arr >= 0.0) & (arr <= 1.0))  # NaN is bad too
        if bad.any():
            raise fail(name, owner, allowed, _first_bad(arr, bad))
        out.append(arr)
    allowed = "a finite number > 0"
    psi = _real_array(odds_ratio, "odds_ratio", owner, allowed)
    bad = ~(np.isfinite(psi) & (psi > 0.0))
    if bad.any():
        raise fail("odds_ratio", owner, allowed, _first_bad(psi, bad))
    out.append(psi)
    try:
        return tuple(np.broadcast_arrays(*out))
    except ValueError:
        shapes = [a.shape for a in out]
        raise fail("p, q, odds_ratio", owner, "arrays that broadcast together", shapes) from None


def check_cells(cells: Any, *, name: str = "cells", owner: str = "check_cells") -> np.ndarray:
    """Return ``cells`` as a float array of 2×2 tables, or raise DesignError.

    Parameters
    ----------
    cells : array-like of float, shape (..., 4)
        Probabilities of (R and T, R only, T only, neither); see :data:`CELLS`.
    name, owner : str
        The argument and function named in the error message.

    Returns
    -------
    numpy.ndarray
        A copy, with cells within ``1e-15`` below 0 (rounding) set to 0.

    Raises
    ------
    DesignError
        If the last axis is not of length 4, a cell is not finite or below
        ``-1e-15``, or a table does not sum to 1 within ``1e-12``.

    Examples
    --------
    >>> check_cells([0.1, 0.2, 0.3, 0.4]).tolist()
    [0.1, 0.2, 0.3, 0.4]
    >>> check_cells([0.5, 0.6, -0.1, 0.0])
    Traceback (most recent call last):
    ...
    adaptive2._base.errors.DesignError: `cells` of check_cells must be probabilities >= 0 ...
    """
    allowed = "an array of shape (..., 4) (R and T, R only, T only, neither)"
    arr = np.array(_real_array(cells, name, owner, allowed), dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != 4:
        raise fail(name, owner, allowed, arr.shape)
    bad = ~(np.isfinite(arr) & (arr >= -CELL_TOL))
    if bad.any():
        allowed = f"probabilities >= 0 (within {CELL_TOL:g})"
        raise fail(name, owner, allowed, arr[bad.any(axis=-1)][0].tolist())
    np.maximum(arr, 0.0, out=arr)
    off = np.abs(arr.sum(axis=-1) - 1.0) > SUM_TOL
    if off.any():
        allowed = f"tables that sum to 1 (within {SUM_TOL:g})"
        raise fail(name, owner, allowed, arr[off][0].tolist())
    return arr


def cell_probabilities(p: Any, q: Any, odds_ratio: Any = 1.0) -> np.ndarray:
    """The 2×2 table of (response, toxicity) with margins ``p``, ``q`` and odds ratio ``psi``.

    Parameters
    ----------
    p : array-like of float
        Marginal response rate, in [0, 1].
    q : array-like of float
        Marginal toxicity rate, in [0, 1].
    odds_ratio : array-like of float
        Odds ratio ``psi`` of response and toxicity, finite and > 0 (1:
        independence, > 1: responders have more toxicity).

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast(p, q, odds_ratio).shape + (4,)``: the probabilities of
        (R and T, R only, T only, neither), see :data:`CELLS`.

    Raises
    ------
    DesignError
        If a rate is outside [0, 1], ``odds_ratio`` is not finite and > 0, the
        arguments do not broadcast, or a cell comes out negative (beyond
        rounding; cannot happen for valid margins).

    Notes
    -----
    The cell ``x = P(R and T)`` solves the odds-ratio equation
    ``x (1 - p - q + x) = psi (p - x)(q - x)`` with
    ``max(0, p + q - 1) <= x <= min(p, q)`` (Plackett 1965), the smaller root of
    ``(psi - 1) x**2 - b x + psi p q = 0`` with ``b = 1 + (p + q)(psi - 1)``:
    ``x = [b - sqrt(b**2 - 4 psi (psi - 1) p q)] / (2 (psi - 1))``.

    It is evaluated without cancellation or overflow: for ``psi >= 1``, with
    ``u = 1 / psi``, as

    ``x = 2 p q / (u + (p + q)(1 - u) + sqrt(D))``,
    ``D = u**2 + 2 u (1 - u)(p (1 - q) + q (1 - p)) + (1 - u)**2 (p - q)**2``

    (a sum of non-negative terms, which gives ``x = p q`` exactly at
    ``psi = 1``); for ``psi < 1`` the same formula with ``u = psi`` and
    ``1 - q`` in place of ``q`` gives ``P(R and not T)`` (flipping a margin
    inverts the odds ratio). Each other cell is then one subtraction from a
    margin, so every cell is accurate to a few units of 1e-16 in absolute terms.

    References
    ----------
    R. L. Plackett (1965). A class of bivariate distributions. *Journal of the
    American Statistical Association* 60, 516–522.

    Examples
    --------
    >>> np.round(cell_probabilities(0.3, 0.2), 4).tolist()          # independence
    [0.06, 0.24, 0.14, 0.56]
    >>> c = cell_probabilities(0.3, 0.2, odds_ratio=3.0)
    >>> round(float(c[0] * c[3] / (c[1] * c[2])), 12)
    3.0
    """
    pp, qq, psi = _rates_iv(p, q, odds_ratio, "cell_probabilities")
    return _cells(pp, qq, psi, "cell_probabilities")


def _flipped_cell(p: np.ndarray, q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """P(R and T) at odds ratio 1/u >= 1 (u in (0, 1]): no cancellation, no overflow."""
    v = 1.0 - u
    b = u + (p + q) * v
    disc = u * u + 2.0 * u * v * (p * (1.0 - q) + q * (1.0 - p)) + (v * (p - q)) ** 2
    return np.asarray(2.0 * p * q / (b + np.sqrt(disc)))  # denominator >= 2u > 0


def _cells(pp: np.ndarray, qq: np.ndarray, psi: np.ndarray, owner: str) -> np.ndarray:
    big = psi >= 1.0
    y = _flipped_cell(pp, np.where(big, qq, 1.0 - qq), np.where(big, 1.0 / psi, psi))
    p11 = np.where(big, y, pp - y)  # psi >= 1: y = P(R and T); psi < 1: y = P(R and not T)
    p10 = np.where(big, pp - y, y)
    cells = np.stack([p11, p10, qq - p11, (1.0 - qq) - p10], axis=-1)
    return check_cells(cells, name="cells", owner=owner)


# ---------------------------------------------------------------------------
# The joint dynamic programme
# ---------------------------------------------------------------------------
def _increasing(value: Any, name: str, owner: str, n_max: int, *, min_length: int) -> list[int]:
    """Strictly increasing patient counts in [1, n_max]."""
    what = "a non-empty list of integers" if min_length else "a list of integers"
    try:
        looks = list(check_int_sequence(value, name, owner, min_length=min_length))
    except DesignError:
        raise fail(name, owner, what, value) from None
    if any(not 1 <= x <= n_max for x in looks):
        raise fail(name, owner, f"patient counts in [1, n_max = {n_max}]", looks)
    if any(b <= a for a, b in itertools.pairwise(looks)):
        raise fail(name, owner, "strictly increasing patient counts", looks)
    return looks


def _bounds(
    value: Any, name: str, owner: str, looks: list[int], lo: int, hi: int, what: str
) -> list[int]:
    """Integer bounds, one per look, each in [lo, n + hi] for its look's n."""
    allowed = f"a list of {len(looks)} integer(s), one per entry of {what}"
    try:
        seq = check_int_sequence(value, name, owner, min_length=0)
    except DesignError:
        raise fail(name, owner, allowed, value) from None
    if len(seq) != len(looks):
        raise fail(name, owner, allowed, list(seq))
    for x, n in zip(seq, looks, strict=True):
        if not lo <= x <= n + hi:
            hi_txt = f"{what}[k]" + (f" + {hi}" if hi else "")
            raise fail(name, owner, f"integers in [{lo}, {hi_txt}]", list(seq))
    return list(seq)


def _joint_iv(
    n_max: Any,
    eff_looks: Any,
    fut_bounds: Any,
    eff_bounds: Any,
    tox_looks: Any,
    tox_bounds: Any,
    tox_first: Any,
) -> tuple[int, list[int], list[int], list[int], list[int], list[int]]:
    owner = "joint_oc"
    n = check_int(n_max, "n_max", owner, low=1)
    looks = _increasing(eff_looks, "eff_looks", owner, n, min_length=1)
    if looks[-1] != n:
        raise fail("eff_looks", owner, f"patient counts ending at n_max = {n}", looks)
    a = _bounds(fut_bounds, "fut_bounds", owner, looks, -1, 0, "eff_looks")
    b = _bounds(eff_bounds, "eff_bounds", owner, looks, 0, 1, "eff_looks")
    if any(bk <= ak for ak, bk in zip(a, b, strict=True)):
        raise fail(
            "eff_bounds",
            owner,
            "greater than fut_bounds at every look (the futility and "
            f"efficacy regions must not overlap; fut_bounds = {a})",
            b,
        )
    t_looks = _increasing(tox_looks, "tox_looks", owner, n, min_length=0)
    c = _bounds(tox_bounds, "tox_bounds", owner, t_looks, 0, 1, "tox_looks")
    if not isinstance(tox_first, bool | np.bool_):
        raise fail("tox_first", owner, "True or False", tox_first)
    return n, looks, a, b, t_looks, c


def joint_oc(
    n_max: int,
    eff_looks: Sequence[int] | np.ndarray,
    fut_bounds: Sequence[int] | np.ndarray,
    eff_bounds: Sequence[int] | np.ndarray,
    tox_looks: Sequence[int] | np.ndarray,
    tox_bounds: Sequence[int] | np.ndarray,
    p: Any,
    q: Any,
    odds_ratio: Any = 1.0,
    *,
    tox_first: bool = True,
) -> dict[str, np.ndarray]:
    """Exact operating characteristics of a cohort monitored for efficacy and toxicity.

    Parameters
    ----------
    n_max : int
        Maximum number of patients (the final efficacy look).
    eff_looks : sequence of int, length K
        Cumulative patients ``n_k`` at the efficacy looks, strictly increasing,
        ending at ``n_max``.
    fut_bounds : sequence of int, length K
        ``a_k``: stop for futility if ``r <= a_k`` (``-1``: no futility stop).
        At the final look, ``r <= a_K`` is the final failure ("No-Go").
    eff_bounds : sequence of int, length K
        ``b_k``: stop and declare efficacy if ``r >= b_k`` (``n_k + 1``: no
        efficacy stop at this interim). At the final look, ``r >= b_K``
        declares efficacy and anything less does not. ``a_k < b_k`` at every
        look.
    tox_looks : sequence of int, length J (may be empty)
        Cumulative patients ``m_j`` at the toxicity checks, strictly
        increasing, each in [1, ``n_max``]; they need not be efficacy looks.
    tox_bounds : sequence of int, length J
        ``c_j``: stop for toxicity if ``t >= c_j`` events among ``m_j``
        patients (``m_j + 1``: no stop).
    p, q, odds_ratio : array-like of float
        Scenarios: response rate, toxicity rate and their odds ratio (see
        :func:`cell_probabilities`), broadcast together to a batch shape ``B``.
    tox_first : bool, keyword-only
        Where a toxicity check and an efficacy look fall on the same patient,
        check toxicity first (default), so a trial stopped for safety declares
        nothing. With ``False`` the efficacy look acts first and the toxicity
        check only sees trials that continue; a check at ``n_max`` then has no
        effect, since the final analysis ends every trial.

    Returns
    -------
    dict of str to numpy.ndarray
        Arrays of shape ``B`` unless stated:

        ``p_toxicity_at`` (``B + (J,)``), ``p_toxicity``
            Stop for toxicity at each check, and in total.
        ``p_futility_at`` (``B + (K,)``), ``p_futility``
            At interim looks, stop for futility; at the final look, the final
            failure ``r <= a_K`` (as in
            :func:`~adaptive2.kernels.binomial.stop_probabilities`).
            ``p_futility`` is the total of the early (interim) futility stops.
        ``p_efficacy_at`` (``B + (K,)``), ``p_efficacy``
            Declare efficacy at each look, and in total.
        ``p_consider``
            Final look with ``a_K < r < b_K``.
        ``p_final_fail``
            Reached the final analysis without declaring efficacy
            (``p_futility_at[..., -1] + p_consider``).
        ``p_early_stop``
            Stopped, for any reason, before ``n_max`` patients (``P(N < n_max)``;
            a toxicity stop at ``n_max`` is a stop for toxicity, not early).
        ``expected_n``, ``sd_n``
            Mean and standard deviation of the number of patients enrolled.
        ``n_support`` (``(D,)``, int), ``p_n`` (``B + (D,)``)
            The patient counts where a trial can end (the union of the looks
            and checks) and the distribution of N over them.

        ``p_toxicity + p_futility + p_efficacy + p_final_fail == 1``.

    Raises
    ------
    DesignError
        If an argument is invalid; the message names it and the allowed values.

    Notes
    -----
    The state after ``n`` patients is the joint probability ``P_n(r, t)`` of
    ``r`` responses and ``t`` events among trials still running, on the
    lattice ``0 <= r, t <= n``. Each patient moves it by the one-patient
    multinomial,

    ``P_{n+1}(r, t) = π00 P_n(r, t) + π10 P_n(r-1, t) + π01 P_n(r, t-1)
    + π11 P_n(r-1, t-1)``,

    with (π11, π10, π01, π00) the cells (R and T, R only, T only, neither), so
    checks anywhere between the efficacy looks are exact. At a toxicity check
    the mass with ``t >= c_j`` stops; at an efficacy look the mass with
    ``r <= a_k`` or ``r >= b_k`` stops (all of it at the final look). Each
    boundary is a band table of
    :func:`~adaptive2.kernels.lattice.joint_stop_probabilities`, which runs
    the programme. The cost is at most O(n_max³) operations and O(n_max²)
    memory per scenario; scenarios are processed together in chunks of
    bounded memory.

    References
    ----------
    J. Bryant and R. Day (1995). Incorporating toxicity considerations into the
    design of two-stage phase II clinical trials. *Biometrics* 51, 1372–1383.

    Examples
    --------
    One analysis of 10 patients (efficacy if r >= 3) and a toxicity check at 10
    (stop if t >= 4), toxicity independent of response:

    >>> out = joint_oc(10, [10], [2], [3], [10], [4], p=0.2, q=0.1)
    >>> round(float(out["p_efficacy"]), 4)    # P(Bin(10, .1) <= 3) * P(Bin(10, .2) >= 3)
    0.3181
    >>> round(float(out["p_toxicity"] + out["p_efficacy"] + out["p_final_fail"]), 12)
    1.0
    """
    n, looks, a, b, t_looks, c = _joint_iv(
        n_max, eff_looks, fut_bounds, eff_bounds, tox_looks, tox_bounds, tox_first
    )
    pp, qq, psi = _rates_iv(p, q, odds_ratio, "joint_oc")
    shape = pp.shape
    cells = _cells(pp, qq, psi, "joint_oc").reshape(-1, 4)
    support, tables, keys = _boundary_tables(n, looks, a, b, t_looks, c, bool(tox_first))
    masses = joint_stop_probabilities(support, tables, cells)
    n_scen = cells.shape[0]
    res = {
        "p_toxicity_at": np.zeros((n_scen, len(t_looks))),
        "p_futility_at": np.zeros((n_scen, len(looks))),
        "p_efficacy_at": np.zeros((n_scen, len(looks))),
        "p_consider": np.zeros((n_scen, 1)),
        "p_n": np.zeros((n_scen, len(support))),
    }
    for i, (mass, stage) in enumerate(zip(masses, keys, strict=True)):
        for col, (name, index) in enumerate(stage):
            res[name][:, index] = mass[0, :, col]
        res["p_n"][:, i] = mass[0].sum(axis=1)
    res["p_consider"] = res["p_consider"][:, 0]
    return _summaries(res, np.array(support, dtype=int), n, shape)


def _boundary_tables(
    n_max: int,
    looks: list[int],
    a: list[int],
    b: list[int],
    t_looks: list[int],
    c: list[int],
    tox_first: bool,
) -> tuple[list[int], list[np.ndarray], list[list[tuple[str, int]]]]:
    """Integer boundaries as the stop tables of :func:`joint_stop_probabilities`.

    Returns
    -------
    support : list of int
        The stages: every look and check, in order.
    tables : list of numpy.ndarray of bool
        Per stage, shape ``(1, C, n + 1, n + 1)``: toxicity ``t >= c_j``,
        futility ``r <= a_k``, efficacy ``r >= b_k`` and, at ``n_max``, the
        rest (``p_consider``); toxicity first or last as ``tox_first`` says.
    keys : list of list of (str, int)
        Per stage and table, the result it fills and its index there.
    """
    eff_at = {n: k for k, n in enumerate(looks)}
    tox_at = {m: j for j, m in enumerate(t_looks)}
    support = sorted(set(looks) | set(t_looks))
    tables, keys = [], []
    for n in support:
        r, t = np.ogrid[: n + 1, : n + 1]
        tox, eff = [], []
        if n in tox_at:
            tox.append(("p_toxicity_at", tox_at[n], t >= c[tox_at[n]]))
        if n in eff_at:
            k = eff_at[n]
            eff += [("p_futility_at", k, r <= a[k]), ("p_efficacy_at", k, r >= b[k])]
            if n == n_max:
                eff.append(("p_consider", 0, r >= 0))
        stage = tox + eff if tox_first else eff + tox
        tables.append(np.stack([np.broadcast_to(m, (n + 1, n + 1)) for _, _, m in stage])[None])
        keys.append([(name, index) for name, index, _ in stage])
    return support, tables, keys


def _summaries(
    res: dict[str, np.ndarray], support: np.ndarray, n_max: int, shape: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Totals, N moments and the final reshape to the scenarios' batch shape."""
    p_n = res["p_n"]
    en = (p_n * support).sum(axis=1)  # not BLAS: the same bits for any batch size
    dev = support[None, :] - en[:, None]
    var = (p_n * dev**2).sum(axis=1)  # central form: no cancellation when N is nearly fixed
    out = {
        "p_toxicity_at": res["p_toxicity_at"],
        "p_toxicity": res["p_toxicity_at"].sum(axis=1),
        "p_futility_at": res["p_futility_at"],
        "p_futility": res["p_futility_at"][:, :-1].sum(axis=1),
        "p_efficacy_at": res["p_efficacy_at"],
        "p_efficacy": res["p_efficacy_at"].sum(axis=1),
        "p_consider": res["p_consider"],
        "p_final_fail": res["p_futility_at"][:, -1] + res["p_consider"],
        "p_early_stop": p_n[:, support < n_max].sum(axis=1),
        "expected_n": en,
        "sd_n": np.sqrt(np.maximum(var, 0.0)),
        "p_n": p_n,
    }
    shaped = {k: v.reshape(shape + v.shape[1:]) for k, v in out.items()}
    shaped["n_support"] = support
    return shaped
