"""BOP2's joint efficacy–toxicity rule: marginal posteriors, boundaries and exact OC.

Each patient falls in one of four cells, in the order of
:data:`adaptive2.kernels.joint.CELLS`::

    0: R and T      1: R and not T      2: not R and T      3: not R and not T

BOP2 (Zhou, Lee & Yuan 2017) puts a Dirichlet(a1, ..., a4) prior on the cell
probabilities, so the response rate ``p_E = π1 + π2`` and the toxicity rate
``p_T = π1 + π3`` have Beta posteriors that depend on the data only through the
response count ``x_R`` and the toxicity count ``x_T``:

``p_E | data ~ Beta(a1 + a2 + x_R, a3 + a4 + n - x_R)``,
``p_T | data ~ Beta(a1 + a3 + x_T, a2 + a4 + n - x_T)``.

At a look with ``n`` of ``N`` patients the trial stops (No-Go) if

``P(p_E <= φ_E | data) > C(n)``  (futility) or ``P(p_T > φ_T | data) > C(n)``
(toxicity), with ``C(n) = 1 - λ (n / N)^γ``.

Equivalently, futility if ``P(p_E > φ_E | data) < λ (n/N)^γ`` and toxicity if
``P(p_T <= φ_T | data) < λ (n/N)^γ``; these are the forms evaluated here (each
tail computed directly, with no ``1 - x`` cancellation). At the final look
(``n = N``) a trial that meets neither condition declares the drug acceptable
(efficacious and safe).

The first posterior tail increases with ``x_R`` and the second decreases with
``x_T``, so each look's stop region on the ``(x_R, x_T)`` lattice is the union
of a lower band and an upper band, ``{x_R <= a_k} ∪ {x_T >= b_k}``: the
continuation region is a rectangle. :func:`efftox_boundaries` returns
``(a_k, b_k)``; :func:`rectangle_tables` turns them into boolean tables, and
:func:`table_oc` gives exact OC for any boolean tables (not only rectangles)
from the one forward dynamic programme over ``(x_R, x_T)``,
:func:`adaptive2.kernels.lattice.joint_stop_probabilities`.

References
----------
H. Zhou, J. J. Lee and Y. Yuan (2017). BOP2: Bayesian optimal design for phase
II clinical trials with simple and complex endpoints. *Statistics in Medicine*
36, 3302–3314.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from adaptive2._base.validation import fail
from adaptive2.kernels.joint import check_cells
from adaptive2.kernels.lattice import check_looks, joint_stop_probabilities

__all__ = [
    "REASONS",
    "efftox_boundaries",
    "marginal_tail",
    "rectangle_tables",
    "stopping_cutoffs",
    "table_oc",
]

REASONS = ("futility", "toxicity", "both")
"""Reasons for a No-Go, in the order of the last axis of ``p_stop_at``."""


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
def _unit_open(value: Any, name: str, owner: str) -> np.ndarray:
    """A float array with every entry in (0, 1)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise fail(name, owner, "numbers in (0, 1)", value) from None
    if not np.all((arr > 0.0) & (arr < 1.0)):  # NaN fails too
        raise fail(name, owner, "numbers in (0, 1)", value)
    return arr


def _beta_iv(value: Any, name: str, owner: str) -> tuple[float, float]:
    """A pair (a, b) of finite numbers > 0."""
    allowed = "a pair (a, b) of finite numbers > 0"
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise fail(name, owner, allowed, value) from None
    if not (np.isfinite(a) and np.isfinite(b) and a > 0.0 and b > 0.0):
        raise fail(name, owner, allowed, value)
    return a, b


# ---------------------------------------------------------------------------
# Posteriors, cutoffs and boundaries
# ---------------------------------------------------------------------------
def marginal_tail(n: int, threshold: float, a: float, b: float, *, upper: bool) -> np.ndarray:
    """Posterior tail of a Beta-binomial rate for every count ``x = 0..n``.

    Parameters
    ----------
    n : int
        Patients so far (>= 0).
    threshold : float
        The rate φ in (0, 1).
    a, b : float
        Beta prior parameters (> 0).
    upper : bool, keyword-only
        ``True``: ``P(p > φ | x of n)``; ``False``: ``P(p <= φ | x of n)``.

    Returns
    -------
    numpy.ndarray, shape (n + 1,)
        The tail under the posterior ``Beta(a + x, b + n - x)``, each computed
        directly (``scipy.special.betaincc`` or ``betainc``), so neither tail
        loses digits to a subtraction from 1.

    Examples
    --------
    >>> np.round(marginal_tail(2, 0.5, 1.0, 1.0, upper=True), 4).tolist()
    [0.125, 0.5, 0.875]
    """
    x = np.arange(n + 1, dtype=float)
    fn = special.betaincc if upper else special.betainc
    return np.asarray(fn(a + x, b + n - x, threshold), dtype=float)


def _go_thresholds(looks: list[int], lam: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """λ (n_k / N)^γ with shape broadcast(lam, gamma) + (K,)."""
    frac = np.asarray(looks, dtype=float) / looks[-1]
    lam_b, gam_b = np.broadcast_arrays(lam, gamma)
    with np.errstate(divide="ignore"):  # 0**0 = 1 is numpy's rule, as wanted for γ = 0
        return np.asarray(lam_b[..., None] * frac ** gam_b[..., None])


def _lam_gamma_iv(lam: Any, gamma: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    lam_a = _unit_open(lam, "lambda_", owner)
    try:
        gam_a = np.asarray(gamma, dtype=float)
    except (TypeError, ValueError):
        raise fail("gamma", owner, "finite numbers >= 0", gamma) from None
    if not np.all(np.isfinite(gam_a) & (gam_a >= 0.0)):
        raise fail("gamma", owner, "finite numbers >= 0", gamma)
    try:
        np.broadcast_shapes(lam_a.shape, gam_a.shape)
    except ValueError:
        raise fail(
            "lambda_, gamma", owner, "arrays that broadcast together", [lam_a.shape, gam_a.shape]
        ) from None
    return lam_a, gam_a


def stopping_cutoffs(looks: Sequence[int], lam: Any, gamma: Any) -> np.ndarray:
    """BOP2's cutoff ``C(n) = 1 - λ (n / N)^γ`` at every look.

    Parameters
    ----------
    looks : sequence of int
        Cumulative patients at the looks; the last is N.
    lam : array-like of float
        λ in (0, 1).
    gamma : array-like of float
        γ >= 0 (γ = 0: the same cutoff 1 - λ at every look).

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast(lam, gamma).shape + (K,)``. The trial stops when
        ``P(p_E <= φ_E | data)`` or ``P(p_T > φ_T | data)`` exceeds it.

    Examples
    --------
    >>> stopping_cutoffs([10, 20], 0.8, 1.0).round(3).tolist()
    [0.6, 0.2]
    """
    owner = "stopping_cutoffs"
    lk = check_looks(looks, owner)
    lam_a, gam_a = _lam_gamma_iv(lam, gamma, owner)
    return 1.0 - _go_thresholds(lk, lam_a, gam_a)


def efftox_boundaries(
    looks: Sequence[int],
    phi_e: float,
    phi_t: float,
    lam: Any,
    gamma: Any,
    *,
    prior_response: tuple[float, float] | None = None,
    prior_toxicity: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer boundaries of the BOP2 joint rule for one or many (λ, γ).

    Parameters
    ----------
    looks : sequence of int
        Cumulative patients ``n_k`` at the looks, strictly increasing; the last
        is the maximum sample size N.
    phi_e : float
        Null response rate φ_E in (0, 1).
    phi_t : float
        Null (unacceptable) toxicity rate φ_T in (0, 1).
    lam, gamma : array-like of float
        λ in (0, 1) and γ >= 0, broadcast together to a grid shape ``G``.
    prior_response, prior_toxicity : (float, float), optional
        Beta marginals of the Dirichlet prior: ``(a1 + a2, a3 + a4)`` and
        ``(a1 + a3, a2 + a4)``. Default BOP2's: the Dirichlet whose mean is the
        null cell table and whose effective sample size is 1, i.e.
        ``Beta(φ_E, 1 - φ_E)`` and ``Beta(φ_T, 1 - φ_T)`` (whatever the
        association in that table, since only its margins enter).

    Returns
    -------
    a : numpy.ndarray of int, shape ``G + (K,)``
        Stop for futility if responses ``x_R <= a_k`` (``-1``: never).
    b : numpy.ndarray of int, shape ``G + (K,)``
        Stop for toxicity if toxicities ``x_T >= b_k`` (``n_k + 1``: never).

    Raises
    ------
    DesignError
        If an argument is invalid; the message names it.

    Notes
    -----
    With ``c_k = λ (n_k / N)^γ``, ``a_k`` is the largest ``x`` with
    ``P(p_E > φ_E | x of n_k) < c_k`` and ``b_k`` the smallest ``t`` with
    ``P(p_T <= φ_T | t of n_k) < c_k``. The first tail increases in ``x`` and
    the second decreases in ``t`` (the Beta family is stochastically ordered
    in its first parameter), so the counts below ``a_k`` and above ``b_k`` stop
    as well: the stop region is ``{x_R <= a_k} ∪ {x_T >= b_k}``.

    Examples
    --------
    The efficacy–toxicity example of Zhou, Lee & Yuan (2017) (φ_E = 0.45,
    φ_T = 0.30, looks 10, 15, ..., 40), with λ = 0.7 and γ = 1:

    >>> a, b = efftox_boundaries(range(10, 41, 5), 0.45, 0.30, 0.7, 1.0)
    >>> a.tolist(), b.tolist()
    ([3, 5, 8, 10, 13, 16, 19], [5, 6, 7, 8, 9, 10, 11])
    """
    owner = "efftox_boundaries"
    lk = check_looks(looks, owner)
    pe = float(_unit_open(phi_e, "phi_e", owner))
    pt = float(_unit_open(phi_t, "phi_t", owner))
    lam_a, gam_a = _lam_gamma_iv(lam, gamma, owner)
    ae, be = (
        (pe, 1.0 - pe)
        if prior_response is None
        else _beta_iv(prior_response, "prior_response", owner)
    )
    at, bt = (
        (pt, 1.0 - pt)
        if prior_toxicity is None
        else _beta_iv(prior_toxicity, "prior_toxicity", owner)
    )
    go = _go_thresholds(lk, lam_a, gam_a)  # G + (K,)
    a = np.empty(go.shape, dtype=int)
    b = np.empty(go.shape, dtype=int)
    for k, n in enumerate(lk):
        upper = marginal_tail(n, pe, ae, be, upper=True)  # increasing in x
        lower = marginal_tail(n, pt, at, bt, upper=False)  # decreasing in t
        c = go[..., k, None]
        a[..., k] = np.count_nonzero(upper < c, axis=-1) - 1
        b[..., k] = n + 1 - np.count_nonzero(lower < c, axis=-1)
    return a, b


def rectangle_tables(
    looks: Sequence[int], a: Any, b: Any
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Boolean futility and toxicity tables over ``(x_R, x_T)`` from integer boundaries.

    Parameters
    ----------
    looks : sequence of int
        Cumulative patients ``n_k``.
    a, b : array-like of int, shape ``B + (K,)``
        Futility if ``x_R <= a_k``; toxicity if ``x_T >= b_k``.

    Returns
    -------
    futility, toxicity : list of numpy.ndarray of bool
        Per look, arrays of shape ``B + (n_k + 1, n_k + 1)`` indexed
        ``[..., x_R, x_T]``.

    Examples
    --------
    >>> fut, tox = rectangle_tables([2], [0], [2])
    >>> (fut[0] | tox[0]).astype(int).tolist()      # rows x_R, columns x_T
    [[1, 1, 1], [0, 0, 1], [0, 0, 1]]
    """
    owner = "rectangle_tables"
    lk = check_looks(looks, owner)
    try:
        aa = np.asarray(a, dtype=int)
        bb = np.asarray(b, dtype=int)
    except (TypeError, ValueError):
        raise fail("a, b", owner, "integer arrays", [a, b]) from None
    if aa.ndim == 0 or aa.shape[-1] != len(lk) or aa.shape != bb.shape:
        raise fail(
            "a, b",
            owner,
            f"integer arrays of one shape ending in {len(lk)} (looks)",
            [aa.shape, bb.shape],
        )
    fut, tox = [], []
    for k, n in enumerate(lk):
        counts = np.arange(n + 1)
        f = counts <= aa[..., k, None]  # B + (n + 1,) over x_R
        t = counts >= bb[..., k, None]  # B + (n + 1,) over x_T
        shape = (*aa.shape[:-1], n + 1, n + 1)
        fut.append(np.broadcast_to(f[..., :, None], shape).copy())
        tox.append(np.broadcast_to(t[..., None, :], shape).copy())
    return fut, tox


# ---------------------------------------------------------------------------
# The forward dynamic programme
# ---------------------------------------------------------------------------
def _tables_iv(
    tables: Any, name: str, owner: str, looks: list[int], *, interim_only: bool = False
) -> list[np.ndarray]:
    n_tables = len(looks) - 1 if interim_only else len(looks)
    what = "interim look" if interim_only else "look"
    allowed = f"a list of {n_tables} boolean array(s), one per {what}, of shape (..., n+1, n+1)"
    if isinstance(tables, np.ndarray) or not isinstance(tables, Sequence):
        raise fail(name, owner, allowed, type(tables).__name__)
    if len(tables) != n_tables:
        raise fail(name, owner, allowed, f"{len(tables)} arrays")
    out = []
    for tab, n in zip(tables, looks, strict=False):
        arr = np.asarray(tab)
        if arr.dtype != np.bool_ or arr.ndim < 2 or arr.shape[-2:] != (n + 1, n + 1):
            raise fail(name, owner, allowed, f"dtype {arr.dtype}, shape {arr.shape} at n = {n}")
        out.append(arr)
    return out


def table_oc(
    looks: Sequence[int],
    futility: Sequence[np.ndarray],
    toxicity: Sequence[np.ndarray],
    cells: Any,
    *,
    efficacy: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Exact OC of a trial that stops on boolean tables over (responses, toxicities).

    Parameters
    ----------
    looks : sequence of int, length K
        Cumulative patients ``n_k`` at the looks, strictly increasing; the last
        is the final analysis.
    futility, toxicity : sequence of K boolean arrays
        Array ``k`` has shape ``B + (n_k + 1, n_k + 1)``, indexed
        ``[..., x_R, x_T]``, with one batch shape ``B`` (one entry per design)
        shared by all (or broadcastable to it). A trial whose counts fall in
        either table stops with a No-Go; the reason is ``futility``,
        ``toxicity`` or ``both`` (in both tables). At the final look the trial
        declares the drug acceptable when it is in neither.
    cells : array-like of float, shape ``C + (4,)``
        Scenarios: probabilities of (R and T, R only, T only, neither), see
        :func:`adaptive2.kernels.joint.check_cells`.
    efficacy : sequence of K - 1 boolean arrays, optional, keyword-only
        Early Go tables at the interim looks (as in BOP2-FE): a trial in one,
        and in neither No-Go table, stops and declares the drug acceptable.
        A No-Go takes precedence.

    Returns
    -------
    dict of str to numpy.ndarray
        Shapes ``B + C`` unless stated:

        ``p_stop_at`` (``B + C + (K, 3)``)
            No-Go at each look by reason, in the order of :data:`REASONS`; at
            the final look, the final No-Go.
        ``p_declare_at`` (``B + C + (K,)``)
            Early Go at interim looks (only with ``efficacy``) and the final
            declaration at the last look.
        ``p_declare``, ``p_nogo``
            Totals; they sum to 1.
        ``p_n`` (``B + C + (K,)``), ``p_early_stop``, ``expected_n``, ``sd_n``
            Distribution of the number of patients N over the looks,
            ``P(N < n_K)``, its mean and standard deviation.

    Raises
    ------
    DesignError
        If an argument is invalid; the message names it.

    Notes
    -----
    The state after ``m`` patients is ``P_m(x_R, x_T)``, the joint probability
    of the counts among trials still running. One more patient moves it by the
    one-patient multinomial,
    ``P_{m+1}(r, t) = π4 P_m(r, t) + π2 P_m(r-1, t) + π3 P_m(r, t-1) + π1 P_m(r-1, t-1)``
    with (π1, π2, π3, π4) the cells; at a look the mass in the tables leaves
    the state (:func:`~adaptive2.kernels.lattice.joint_stop_probabilities`).
    The cost is at most O(n_K³) per design and scenario; designs and
    scenarios run together in chunks of bounded memory. Every probability is
    exact up to rounding, and a design's bits do not depend on the others in
    the batch.

    Examples
    --------
    One look at 2 patients: No-Go if no response (futility) or 2 toxicities.

    >>> fut, tox = rectangle_tables([2], [0], [2])
    >>> out = table_oc([2], fut, tox, [0.1, 0.4, 0.1, 0.4])   # P(R) 0.5, P(T) 0.2
    >>> round(float(out["p_declare"]), 4)     # P(x_R >= 1) - P(x_R >= 1, x_T = 2)
    0.72
    >>> out["p_stop_at"].round(4).tolist()    # futility only, toxicity only, both
    [[0.24, 0.03, 0.01]]
    """
    owner = "table_oc"
    lk = check_looks(looks, owner)
    fut = _tables_iv(futility, "futility", owner, lk)
    tox = _tables_iv(toxicity, "toxicity", owner, lk)
    eff = (
        None if efficacy is None else _tables_iv(efficacy, "efficacy", owner, lk, interim_only=True)
    )
    try:
        batch = np.broadcast_shapes(*(t.shape[:-2] for t in fut + tox + (eff or [])))
    except ValueError:
        raise fail(
            "futility, toxicity",
            owner,
            "tables whose batch shapes broadcast together",
            [t.shape for t in fut + tox],
        ) from None
    cel = check_cells(cells, name="cells", owner=owner)
    cshape = cel.shape[:-1]
    cflat = cel.reshape(-1, 4)
    n_des = int(np.prod(batch, dtype=int))
    n_scen = cflat.shape[0]

    def flat(tabs: list[np.ndarray]) -> list[np.ndarray]:
        return [
            np.broadcast_to(t, batch + t.shape[-2:]).reshape((n_des, *t.shape[-2:])) for t in tabs
        ]

    stages = _stage_tables(flat(fut), flat(tox), None if eff is None else flat(eff))
    masses = joint_stop_probabilities(lk, stages, cflat)
    stop_at = np.stack([m[..., :3] for m in masses], axis=2)  # (D, S, K, 3)
    declare_at = np.zeros((n_des, n_scen, len(lk)))
    for k, m in enumerate(masses):
        if m.shape[-1] > 3:
            declare_at[:, :, k] = m[..., 3]
    return _summaries(stop_at, declare_at, lk, batch + cshape)


def _stage_tables(
    fut: list[np.ndarray], tox: list[np.ndarray], eff: list[np.ndarray] | None
) -> list[np.ndarray]:
    """The stop tables of :func:`~adaptive2.kernels.lattice.joint_stop_probabilities`, per look.

    Shape ``(D, C, n + 1, n + 1)``: No-Go for futility only, toxicity only and
    both (the order of :data:`REASONS`), then Go: the early-Go table at an
    interim look (if any) and everything left at the final look.
    """
    out = []
    for k, (f, x) in enumerate(zip(fut, tox, strict=True)):
        stage = [f & ~x, ~f & x, f & x]
        if k == len(fut) - 1:
            stage.append(np.ones_like(f))
        elif eff is not None:
            stage.append(eff[k])
        out.append(np.stack(stage, axis=1))
    return out


def _summaries(
    stop_at: np.ndarray, declare_at: np.ndarray, looks: list[int], shape: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Totals, N moments and the reshape to the batch shape."""
    n = np.asarray(looks, dtype=float)
    p_n = stop_at.sum(axis=-1) + declare_at
    en = (p_n * n).sum(axis=-1)
    var = (p_n * (n - en[..., None]) ** 2).sum(axis=-1)
    out = {
        "p_stop_at": stop_at,
        "p_declare_at": declare_at,
        "p_declare": declare_at.sum(axis=-1),
        "p_nogo": stop_at.sum(axis=(-2, -1)),
        "p_n": p_n,
        "p_early_stop": p_n[..., :-1].sum(axis=-1),
        "expected_n": en,
        "sd_n": np.sqrt(np.maximum(var, 0.0)),
    }
    return {k: v.reshape(shape + v.shape[2:]) for k, v in out.items()}
