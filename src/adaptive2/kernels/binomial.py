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


def stop_probabilities(looks: Sequence[int] | np.ndarray, a: Any, b: Any, p: Any) -> np.ndarray:
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
    pp = np.atleast_1d(np.asarray(p, dtype=float))
    if a_arr.ndim == 1:
        return _one_table(looks, a_arr, b_arr, pp)
    single = False
    n_tab, n_looks = a_arr.shape
    out = np.zeros((n_tab, pp.size, n_looks, 3))
    state = np.ones((n_tab, pp.size, 1))  # P(r = 0 of 0 patients, running) = 1
    tables = np.arange(n_tab)[:, None]
    prev = 0
    for k in range(n_looks):
        n = int(looks[k])
        pmf = binom_pmf(n - prev, pp)  # (P, m + 1)
        new = np.zeros((n_tab, pp.size, n + 1))
        for j in range(n - prev + 1):
            new[:, :, j : j + prev + 1] += state * pmf[None, :, j : j + 1]
        # mass at or below a (futility) and at or above b (efficacy), from cumulative sums
        cum = np.cumsum(new, axis=-1)
        total = cum[..., -1]
        ak = np.clip(a_arr[:, k], -1, n)
        bk = np.clip(b_arr[:, k], 0, n + 1)
        below = cum[tables, :, np.maximum(ak, 0)[:, None]][:, 0]  # (T, P)
        fut = np.where((ak >= 0)[:, None], below, 0.0)
        upto = cum[tables, :, np.maximum(bk - 1, 0)[:, None]][:, 0]
        eff = np.where((bk <= n)[:, None], total - np.where((bk > 0)[:, None], upto, 0.0), 0.0)
        out[:, :, k, 0] = fut
        out[:, :, k, 1] = eff
        if k == n_looks - 1:
            out[:, :, k, 2] = np.maximum(total - fut - eff, 0.0)
        else:
            r = np.arange(n + 1)
            keep = (r[None, :] > ak[:, None]) & (r[None, :] < bk[:, None])  # (T, R)
            new *= keep[:, None, :]
        state = new
        prev = n
    return out[0] if single else out


def _one_table(
    looks: Sequence[int] | np.ndarray, a: np.ndarray, b: np.ndarray, pp: np.ndarray
) -> np.ndarray:
    """:func:`stop_probabilities` for one table: arrays that grow with the looks."""
    n_looks = len(looks)
    out = np.zeros((pp.size, n_looks, 3))
    state = np.ones((pp.size, 1))
    prev = 0
    for k in range(n_looks):
        n = int(looks[k])
        m = n - prev
        pmf = binom_pmf(m, pp)
        new = np.zeros((pp.size, n + 1))
        for j in range(m + 1):
            new[:, j : j + prev + 1] += state * pmf[:, j : j + 1]
        ak, bk = int(a[k]), int(b[k])
        out[:, k, 0] = new[:, : ak + 1].sum(axis=1) if ak >= 0 else 0.0
        out[:, k, 1] = new[:, bk:].sum(axis=1) if bk <= n else 0.0
        if k == n_looks - 1:
            lo, hi = max(ak + 1, 0), min(bk, n + 1)
            out[:, k, 2] = new[:, lo:hi].sum(axis=1) if hi > lo else 0.0
        else:
            if ak >= 0:
                new[:, : ak + 1] = 0.0
            if bk <= n:
                new[:, bk:] = 0.0
        state = new
        prev = n
    return out
