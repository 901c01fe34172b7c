"""Toxicity stopping boundaries and their exact single-endpoint operating characteristics.

A toxicity monitor checks the number of patients with the event (toxicity)
among the first ``n_k`` evaluable patients at each monitoring point
``n_1 < ... < n_K`` and stops the trial as soon as that count reaches the
boundary ``c_k`` ("stop if at least ``c_k`` of the first ``n_k`` patients have
the event"). ``c_k = n_k + 1`` is the sentinel for "no count stops here".
Two families of boundaries are built here, both as integer arrays:

* **posterior** (Bayesian): with a Beta(a, b) prior on the event rate, stop
  at ``n_k`` if P(rate > limit | x events of n_k) > cutoff
  (:func:`posterior_boundary`);
* **pocock** (repeated significance testing, Ivanova, Qaqish & Schell 2005):
  stop at ``n_k`` if the count exceeds the one-sided binomial critical value at
  the acceptable rate and a nominal level ``level_k``
  (:func:`pocock_boundary`), with the nominal level tuned so that the exact
  probability of ever stopping at the acceptable rate meets a target
  (:func:`calibrate_pocock`).

The operating characteristics of any boundary follow exactly from one forward
dynamic programme over the event count (:func:`stop_probabilities`), with
binomial increments between monitoring points and absorption at the boundary.

Everything here is numpy/scipy, arrays in and arrays out.

References
----------
Ivanova A, Qaqish BF, Schell MJ (2005). Continuous toxicity monitoring in
phase II trials in oncology. Biometrics 61:540-545.
Seshan VE. clinfun: Clinical Trial Design and Data Analysis Functions
(R package; ``toxbdry``, ``bdrycross.prob``).
Jennison C, Turnbull BW (2000). Group Sequential Methods with Applications
to Clinical Trials, chapter 12. Chapman & Hall/CRC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from adaptive2.kernels.binomial import binom_pmf

__all__ = [
    "TIE_TOLERANCE",
    "PocockCalibration",
    "calibrate_pocock",
    "expected_n",
    "nominal_levels",
    "pocock_boundary",
    "posterior_boundary",
    "posterior_exceeds",
    "stop_probabilities",
]

TIE_TOLERANCE = 1e-12
"""A posterior probability must exceed the cutoff by more than this to stop."""

# Φ(±38.5) is 0 and 1 in double precision: the ends of the nominal-level search.
_Z_EDGE = 38.5


def _looks_array(looks: Sequence[int] | NDArray[Any]) -> NDArray[np.int64]:
    return np.asarray(looks, dtype=np.int64).reshape(-1)


# ---------------------------------------------------------------------------
# Posterior (Bayesian) rule
# ---------------------------------------------------------------------------
def posterior_exceeds(x: Any, n: Any, limit: float, a: float, b: float) -> NDArray[np.float64]:
    """P(rate > limit | x events of n) under a Beta(a, b) prior.

    Parameters
    ----------
    x, n : array-like of int
        Event counts and patients (broadcast together).
    limit : float
        Unacceptable event rate.
    a, b : float
        Beta prior parameters (> 0).

    Returns
    -------
    numpy.ndarray
        The upper tail of the Beta(a + x, b + n − x) posterior at ``limit``.

    Examples
    --------
    >>> round(float(posterior_exceeds(0, 0, 0.3, 1.0, 1.0)), 12)   # uniform prior
    0.7
    """
    xa = np.asarray(x, dtype=float)
    na = np.asarray(n, dtype=float)
    return np.asarray(special.betaincc(a + xa, b + na - xa, limit), dtype=float)


def posterior_boundary(
    looks: Sequence[int] | NDArray[Any],
    limit: float,
    cutoff: float,
    a: float,
    b: float,
    *,
    tol: float = TIE_TOLERANCE,
) -> NDArray[np.int64]:
    """Smallest event count that stops at each look under the posterior rule.

    Stop at ``n_k`` if P(rate > limit | x of n_k) > cutoff + ``tol``. The
    posterior probability increases with x, so the stopping counts form the
    upper range ``x >= c_k``.

    Parameters
    ----------
    looks : sequence of int
        Patients evaluated for the event at each monitoring point.
    limit : float
        Unacceptable event rate.
    cutoff : float
        Posterior-probability threshold in (0, 1).
    a, b : float
        Beta prior parameters (> 0).
    tol : float
        Tie tolerance (default :data:`TIE_TOLERANCE`, 1e-12): a posterior
        probability equal to the cutoff up to rounding does not stop, so the
        boundary is the same for every representation of a tied cutoff.

    Returns
    -------
    numpy.ndarray of int
        ``c_k`` per look; ``n_k + 1`` where no count stops.

    Notes
    -----
    The tail is computed with ``scipy.special.betaincc`` (the complemented
    regularised incomplete beta function, i.e. the Beta survival function),
    accurate to a few units in the 15th digit; the tolerance is far above that
    error and far below any cutoff a protocol would print.

    Examples
    --------
    >>> posterior_boundary([5, 10], limit=0.3, cutoff=0.9, a=1.0, b=1.0).tolist()
    [3, 5]
    """
    out = []
    for n in _looks_array(looks).tolist():
        x = np.arange(n + 1)
        stop = posterior_exceeds(x, n, limit, a, b) > cutoff + tol
        out.append(int(np.argmax(stop)) if stop.any() else n + 1)
    return np.asarray(out, dtype=np.int64)


# ---------------------------------------------------------------------------
# Pocock / power-family rule (repeated significance testing)
# ---------------------------------------------------------------------------
def nominal_levels(
    eta: float, looks: Sequence[int] | NDArray[Any], shape: float = 0.0
) -> NDArray[np.float64]:
    """Per-look nominal significance levels of the power family of boundaries.

    ``level_k = Φ(Φ⁻¹(η) / t_k^shape)`` with information fraction
    ``t_k = n_k / n_K``: ``shape = 0`` is Pocock's constant level ``η``;
    ``shape = 0.5`` is the O'Brien-Fleming shape (small levels early). This is
    the parametrisation of clinfun's ``toxbdry`` (argument ``delta``).

    Parameters
    ----------
    eta : float
        Nominal level at the last look, in [0, 1].
    looks : sequence of int
        Patients at each monitoring point.
    shape : float
        Boundary shape in [0, 0.5].

    Returns
    -------
    numpy.ndarray
        One level per look.

    Examples
    --------
    >>> nominal_levels(0.05, [10, 20]).tolist()
    [0.05, 0.05]
    """
    n = _looks_array(looks).astype(float)
    scale = (n / n[-1]) ** shape
    with np.errstate(divide="ignore", invalid="ignore"):
        z = special.ndtri(eta) / scale
    # where the scale is 1 (every look when shape = 0) the level is η itself, not Φ(Φ⁻¹(η))
    return np.where(scale == 1.0, float(eta), np.asarray(special.ndtr(z), dtype=float))


def _tail_tables(looks: NDArray[np.int64], acceptable: float) -> list[NDArray[np.float64]]:
    """P(Bin(n_k, acceptable) > b) for b = 0..n_k, per look (decreasing in b)."""
    from scipy import stats  # only the Pocock rule needs it (scipy.stats loads scipy.optimize)

    return [
        np.asarray(stats.binom.sf(np.arange(n + 1), n, acceptable), dtype=float)
        for n in looks.tolist()
    ]


def _counts_from_tables(
    tables: list[NDArray[np.float64]], levels: NDArray[np.float64]
) -> NDArray[np.int64]:
    # smallest b with P(Bin > b) <= level (b = n always qualifies: its tail is 0); stop at b + 1
    out = [int(np.argmax(tab <= lev)) + 1 for tab, lev in zip(tables, levels.tolist(), strict=True)]
    return np.asarray(out, dtype=np.int64)


def pocock_boundary(
    looks: Sequence[int] | NDArray[Any], acceptable: float, eta: float, shape: float = 0.0
) -> NDArray[np.int64]:
    """Smallest event count that stops at each look under the power-family rule.

    At look k the critical value ``b_k`` is the smallest b >= 0 with
    P(Bin(n_k, acceptable) > b) <= ``level_k`` (:func:`nominal_levels`), and
    the trial stops if the count exceeds it: ``c_k = b_k + 1``.

    Parameters
    ----------
    looks : sequence of int
        Patients at each monitoring point.
    acceptable : float
        Acceptable event rate (the null of the repeated tests).
    eta : float
        Nominal level in [0, 1].
    shape : float
        Boundary shape in [0, 0.5] (0: Pocock).

    Returns
    -------
    numpy.ndarray of int
        ``c_k`` per look, in 1..n_k + 1 (``n_k + 1``: no count stops).

    Examples
    --------
    >>> pocock_boundary([20, 40, 60, 75], 0.2, 0.03).tolist()
    [9, 14, 19, 23]
    """
    n = _looks_array(looks)
    return _counts_from_tables(_tail_tables(n, acceptable), nominal_levels(eta, n, shape))


@dataclass(frozen=True, slots=True)
class PocockCalibration:
    """Result of :func:`calibrate_pocock`.

    Attributes
    ----------
    counts : tuple of int
        Stopping counts ``c_k`` per look (``n_k + 1``: no count stops).
    eta : float
        A nominal level generating ``counts`` (the largest the search found).
    p_stop : float
        Exact P(stop at any look | acceptable rate) of ``counts``.
    iterations : int
        Bisection steps taken.
    """

    counts: tuple[int, ...]
    eta: float
    p_stop: float
    iterations: int


def calibrate_pocock(
    looks: Sequence[int] | NDArray[Any],
    acceptable: float,
    target: float,
    shape: float = 0.0,
    *,
    max_iter: int = 200,
) -> PocockCalibration:
    """Tune the nominal level so that P(stop | acceptable) is the largest not above ``target``.

    The boundaries of the power family shrink look by look as the nominal
    level η grows, so the exact probability of ever stopping at the acceptable
    rate is a non-decreasing step function of η. Bisection on Φ⁻¹(η) keeps a
    lower end whose boundary stops with probability <= ``target`` and an upper
    end whose boundary stops with probability > ``target``, and ends when the
    two boundaries are neighbours in the family (they differ by one count at
    one look). The lower end's boundary is then the member of the family with
    the largest stopping probability not above ``target`` — the "high
    boundary" of clinfun's ``toxbdry`` with ``priority = "null"``.

    Parameters
    ----------
    looks : sequence of int
        Patients at each monitoring point (strictly increasing).
    acceptable : float
        Acceptable event rate.
    target : float
        Largest acceptable P(stop at any look | acceptable), in (0, 1).
    shape : float
        Boundary shape in [0, 0.5] (0: Pocock).
    max_iter : int
        Bisection steps at most (ties between looks can keep two boundaries
        apart by more than one count; the search then ends at the float
        resolution of Φ⁻¹(η)).

    Returns
    -------
    PocockCalibration
        Counts, nominal level, achieved stopping probability, iterations.

    Examples
    --------
    >>> cal = calibrate_pocock([20, 40, 60, 75], acceptable=0.2, target=0.1)
    >>> cal.counts
    (8, 13, 18, 22)
    >>> round(cal.p_stop, 3)
    0.088
    """
    n = _looks_array(looks)
    tables = _tail_tables(n, acceptable)
    rate = np.array([acceptable])

    def evaluate(z: float) -> tuple[NDArray[np.int64], float]:
        counts = _counts_from_tables(tables, nominal_levels(float(special.ndtr(z)), n, shape))
        return counts, float(stop_probabilities(counts, n, rate).sum())

    lo, hi = -_Z_EDGE, _Z_EDGE
    c_lo, p_lo = evaluate(lo)
    c_hi, p_hi = evaluate(hi)
    iterations = 0
    if p_hi <= target:  # even stopping on the first event everywhere meets the target
        c_lo, p_lo, lo = c_hi, p_hi, hi
    elif p_lo <= target:
        while int((c_lo - c_hi).sum()) > 1 and iterations < max_iter:
            mid = 0.5 * (lo + hi)
            if not lo < mid < hi:
                break
            iterations += 1
            c_mid, p_mid = evaluate(mid)
            if p_mid <= target:
                lo, c_lo, p_lo = mid, c_mid, p_mid
            else:
                hi, c_hi = mid, c_mid
    else:  # only for a target below P(every patient has the event)
        raise ValueError(f"no boundary stops with probability <= {target!r} at rate {acceptable!r}")
    eta = float(special.ndtr(lo))
    return PocockCalibration(
        counts=tuple(int(c) for c in c_lo), eta=eta, p_stop=p_lo, iterations=iterations
    )


# ---------------------------------------------------------------------------
# Exact operating characteristics
# ---------------------------------------------------------------------------
def stop_probabilities(
    boundary_counts: Sequence[int] | NDArray[Any],
    looks: Sequence[int] | NDArray[Any],
    rates: Any,
) -> NDArray[np.float64]:
    """P(first stop at look k | rate), exactly, for every true rate at once.

    Forward dynamic programme over the event count of the patients still
    running: between looks the count grows by a Binomial(n_k − n_{k−1}, rate)
    increment; at look k the mass at counts ``>= c_k`` is absorbed (stopped).

    Parameters
    ----------
    boundary_counts : sequence of int
        ``c_k`` per look: stop if at least ``c_k`` of the first ``n_k``
        patients have the event (``c_k > n_k``: no stop at look k).
    looks : sequence of int
        Patients at each monitoring point, strictly increasing.
    rates : array-like of float
        True event rates in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape ``(len(rates), len(looks))``. Row sums are P(stop at any look);
        cumulative sums along the looks are P(stopped by look k).

    Examples
    --------
    >>> stop_probabilities([2], [2], [0.5]).tolist()   # both of 2 patients
    [[0.25]]
    """
    n = _looks_array(looks)
    c = _looks_array(boundary_counts)
    p = np.atleast_1d(np.asarray(rates, dtype=float)).reshape(-1)
    if c.size != n.size or n.size == 0 or n[0] < 0 or np.any(np.diff(n) <= 0):
        raise ValueError(
            "`looks` must be strictly increasing counts >= 0 with one boundary count each; "
            f"got looks {n.tolist()} and boundary counts {c.tolist()}"
        )
    out = np.zeros((p.size, n.size))
    state = np.ones((p.size, 1))  # P(0 events among 0 patients, running)
    prev = 0
    for k, nk in enumerate(n.tolist()):
        m = nk - prev
        pmf = binom_pmf(m, p)  # (R, m + 1)
        width = state.shape[1]
        new = np.zeros((p.size, width + m))
        for j in range(m + 1):
            new[:, j : j + width] += state * pmf[:, j : j + 1]
        ck = max(int(c[k]), 0)
        if ck < new.shape[1]:
            out[:, k] = new[:, ck:].sum(axis=1)
            new = new[:, :ck]  # only counts below the boundary keep running
        state = new
        prev = nk
    return out


def expected_n(p_stop_at: Any, looks: Sequence[int] | NDArray[Any]) -> NDArray[np.float64]:
    """Expected patients evaluated for the event: Σ_k n_k P(stop at k) + n_K P(no stop).

    Parameters
    ----------
    p_stop_at : array-like, shape (..., K)
        Output of :func:`stop_probabilities`.
    looks : sequence of int
        Patients at each monitoring point.

    Returns
    -------
    numpy.ndarray
        Shape ``p_stop_at.shape[:-1]``.

    Examples
    --------
    >>> expected_n([[0.5, 0.0]], [10, 20]).tolist()
    [15.0]
    """
    q = np.asarray(p_stop_at, dtype=float)
    n = _looks_array(looks).astype(float)
    return np.asarray(q @ n + n[-1] * (1.0 - q.sum(axis=-1)), dtype=float)
