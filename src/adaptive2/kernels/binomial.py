"""Binomial arithmetic for exact operating characteristics: one pmf, one forward DP.

Every exact single-cohort OC in adaptive2 is the forward dynamic programme of
:func:`stop_probabilities` over (look, responses so far): the distribution of
the response count is carried look to look by convolution with the binomial
distribution of the new patients' responses, and the mass at or below the
futility boundary, or at or above the efficacy boundary, stops. It runs for
many boundary tables and many true rates at once (arrays in, arrays out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

__all__ = ["binom_pmf", "stop_probabilities"]


def binom_pmf(m: int, p: Any) -> np.ndarray:
    """Binomial(m, p) probabilities of k = 0..m, one row per rate in ``p``.

    Computed on the log scale (exact at p = 0 and p = 1).

    Examples
    --------
    >>> binom_pmf(2, [0.5]).tolist()
    [[0.25, 0.5, 0.25]]
    """
    pc = np.atleast_1d(np.asarray(p, dtype=float))[:, None]
    k = np.arange(m + 1, dtype=float)[None, :]
    logc = special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1)
    with np.errstate(divide="ignore"):
        return np.asarray(np.exp(logc + special.xlogy(k, pc) + special.xlog1py(m - k, -pc)))


def stop_probabilities(looks: Sequence[int], a: Any, b: Any, p: Any) -> np.ndarray:
    """Exact stop probabilities per look and reason, for one or many boundary tables.

    Parameters
    ----------
    looks : sequence of int
        Cumulative patients at each look.
    a : array-like of int, shape (L,) or (T, L)
        Per look, the largest r that stops for futility (−1: none); at the final
        look, the largest r that fails (No-Go).
    b : array-like of int, shape (L,) or (T, L)
        Per look, the smallest r that stops for efficacy (n + 1: none); at the
        final look, the smallest r that succeeds (Go).
    p : array-like of float
        True response rates.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(p), L, 3)`` for one table, ``(T, len(p), L, 3)`` for T
        tables: the probability of stopping at each look for futility, for
        efficacy, and of "consider" (between the two final boundaries; final
        look only).

    Examples
    --------
    >>> out = stop_probabilities([10], [2], [3], [0.2])   # efficacy if r >= 3 of 10
    >>> round(float(out[0, 0, 1]), 4)                     # P(Bin(10, 0.2) >= 3)
    0.3222
    """
    a_arr = np.asarray(a, dtype=int)
    b_arr = np.asarray(b, dtype=int)
    single = a_arr.ndim == 1
    a_arr, b_arr = np.atleast_2d(a_arr), np.atleast_2d(b_arr)
    pp = np.atleast_1d(np.asarray(p, dtype=float))
    n_tab, n_looks = a_arr.shape
    n_max = int(looks[-1])
    state = np.zeros((n_tab, pp.size, n_max + 1))
    state[:, :, 0] = 1.0  # P(r = 0 of 0 patients, running) = 1
    out = np.zeros((n_tab, pp.size, n_looks, 3))
    r = np.arange(n_max + 1)
    prev = 0
    for k in range(n_looks):
        n = int(looks[k])
        pmf = binom_pmf(n - prev, pp)  # (P, m + 1)
        new = np.zeros_like(state)
        for j in range(n - prev + 1):
            new[:, :, j : j + prev + 1] += state[:, :, : prev + 1] * pmf[None, :, j : j + 1]
        fut = r[None, :] <= a_arr[:, k, None]  # (T, R)
        eff = (r[None, :] >= b_arr[:, k, None]) & (r[None, :] <= n)
        out[:, :, k, 0] = np.einsum("tpr,tr->tp", new, fut)
        out[:, :, k, 1] = np.einsum("tpr,tr->tp", new, eff)
        if k == n_looks - 1:
            out[:, :, k, 2] = np.einsum("tpr,tr->tp", new, ~(fut | eff) & (r[None, :] <= n))
        new *= ~(fut | eff)[:, None, :]
        state = new
        prev = n
    return out[0] if single else out
