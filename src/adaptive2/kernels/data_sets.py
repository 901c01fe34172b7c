r"""Posterior predictive quantities of a borrowing model at chosen data sets, without a lattice.

:func:`adaptive2.kernels.quadrature.predictive` gives the posterior predictive of
one cohort's future responses at every outcome of the lattice Π (n_k + 1), or at
the outer product of selected counts. A Monte Carlo engine meets a few thousand
data sets of many cohorts instead, where the lattice is out of reach; here they
are evaluated directly, by the same quadrature (the same scaled per-count
marginals of :func:`~adaptive2.kernels.quadrature.lattice` and
:func:`~adaptive2.kernels.quadrature.p_above_data`, the same column weights):

* :func:`predictive_data`: P(X = x | data set g), x = 0..m, for G data sets;
* :func:`predictive_final_data`: the same, and for every future outcome x the
  posterior probability P(p_j > t | r_j + x of n_j + m, r_k of n_k for k ≠ j)
  of the analysis after those m patients, with every other cohort at its current
  data (the "current data" convention of predictive-probability rules,
  :mod:`adaptive2.model.cohorts`).

Computation. Given the data set's other cohorts' counts r_{-j}, both quantities
are functions of cohort j's count c = r_j + x at n_j + m through

.. math::

    D(c) = \sum_z b_z\, M^{(N)}_j[c, z] \prod_{k \ne j} M_k[r_k, z], \qquad
    U(c) = \sum_z b_z\, Q^{(N)}_j[c, z] \prod_{k \ne j} M_k[r_k, z],

with M_k the scaled marginals at the current sizes, M^{(N)}_j and Q^{(N)}_j
cohort j's scaled marginal and threshold part at N = n_j + m, and b the column
weights. So the data sets are grouped by r_{-j}: each distinct r_{-j} costs one
gathered product over the (μ, τ) columns and one matrix product with cohort j's
rows at N (every count the group needs); each data set then reads its m + 1
entries. With the true marginal Z(c) = D(c) · exp(shift_c) s_c (the per-count
scaling undone in log scale),

.. math::

    P(X = x \mid r) = \frac{C(m, x)\, Z(r_j + x)}{\sum_{x'} C(m, x')\, Z(r_j + x')},
    \qquad P(p_j > t \mid r_j + x, r_{-j}) = U(r_j + x) / D(r_j + x),

the formulas of :func:`~adaptive2.kernels.quadrature.predictive` and
:func:`~adaptive2.kernels.quadrature.p_above_data`, the same numbers to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adaptive2._base.cache import MEMO
from adaptive2._base.validation import check_int, check_real, fail
from adaptive2.kernels.quadrature import (
    _base_weights,
    _check_counts,
    _check_size,
    _data_block_rows,
    _Engine,
    _log_binomial,
    _pieces,
    _predictive_weights,
    _scaled_pieces,
    engine,
)

__all__ = ["predictive_data", "predictive_final_data"]

Model = Any  # adaptive2.model.hierarchical.Model (kernels read attributes only)
Cohort = Any  # adaptive2.model.hierarchical.Cohort
QuadratureGrid = Any  # adaptive2.model.hierarchical.QuadratureGrid


def predictive_data(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    counts: Any,
    *,
    cohort: str,
    m: int,
    grid: QuadratureGrid,
) -> np.ndarray:
    r"""Posterior predictive of ``cohort``'s next ``m`` responses, for G data sets.

    The numbers of :func:`adaptive2.kernels.quadrature.predictive` at the
    outcomes ``counts`` (to rounding), without the lattice: the cost grows with
    the number of distinct data sets, not with Π (n_k + 1), so it serves any
    number of cohorts.

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    n : sequence of int
        Patients per cohort now (same order as ``cohorts``), shared by every data set.
    counts : array_like of int, shape (G, J)
        Response counts, one row per data set, one column per cohort (0..n_k);
        validated as :func:`~adaptive2.kernels.quadrature.p_above_data` does.
    cohort : str
        Name of the cohort j whose future responses are predicted.
    m : int
        Number of further patients of that cohort (m ≥ 0).
    grid : QuadratureGrid

    Returns
    -------
    numpy.ndarray
        Shape (G, m + 1): row g is P(X = x | data set g), x = 0..m, under the
        borrowing model given every cohort's data; each row sums to one.

    Raises
    ------
    DesignError
        For invalid arguments (the message names the argument), or if a data
        set's predictive distribution underflows on this grid.

    Notes
    -----
    See the module notes: the data sets sharing the other cohorts' counts share
    one contraction over the (μ, τ) columns; identical data sets are evaluated
    once, and the distinct ones go through in blocks whose temporaries stay
    within the budget of ``p_above_data``'s blocks.

    Examples
    --------
    >>> from adaptive2.kernels.quadrature import predictive
    >>> from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
    >>> coh = (Cohort("a", 0.2), Cohort("b", 0.3))
    >>> pmf = predictive_data(Model(), coh, [10, 12], [[4, 3], [0, 12]], cohort="a", m=5,
    ...                       grid=DEFAULT_GRID)
    >>> pmf.shape
    (2, 6)
    >>> one = predictive(Model(), coh, [10, 12], cohort="a", m=5, grid=DEFAULT_GRID,
    ...                  rows=[[4], [3]])
    >>> bool(np.abs(pmf[0] - one[0, 0]).max() < 1e-12)
    True
    """
    owner = "predictive_data"
    coh, sizes, data, j, m = _check(owner, cohorts, n, counts, cohort, m)
    return _evaluate(model, coh, sizes, data, j, m, grid, None)[0]


def predictive_final_data(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    counts: Any,
    *,
    cohort: str,
    m: int,
    threshold: float,
    grid: QuadratureGrid,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The predictive of :func:`predictive_data` and the final posterior at each future outcome.

    For each data set g and each number x = 0..m of responses among
    ``cohort``'s next ``m`` patients: P(X = x | data set g) and P(p_j >
    ``threshold`` | r_gj + x of n_j + m, r_gk of n_k for every other cohort k),
    the posterior probability of an analysis after those m patients with every
    other cohort held at its current data. Both come from one contraction per
    distinct value of the other cohorts' counts (the module notes).

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    n : sequence of int
        Patients per cohort now (same order as ``cohorts``), shared by every data set.
    counts : array_like of int, shape (G, J)
        Response counts, one row per data set, one column per cohort (0..n_k).
    cohort : str
        Name of the cohort j whose future responses are predicted.
    m : int
        Number of further patients of that cohort (m ≥ 0).
    threshold : float
        Threshold t of the posterior probability P(p_j > t | ·), in [0, 1].
    grid : QuadratureGrid

    Returns
    -------
    pmf : numpy.ndarray
        Shape (G, m + 1): :func:`predictive_data`.
    p_above : numpy.ndarray
        Shape (G, m + 1): P(p_j > t | r_gj + x of n_j + m, r_g,-j of n_-j), the
        numbers of :func:`~adaptive2.kernels.quadrature.p_above_data` at sizes
        n with n_j replaced by n_j + m (to rounding).

    Raises
    ------
    DesignError
        For invalid arguments (the message names the argument), or if a data
        set's predictive distribution underflows on this grid.

    Examples
    --------
    >>> from adaptive2.kernels.quadrature import p_above_data
    >>> from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
    >>> coh = (Cohort("a", 0.2), Cohort("b", 0.3))
    >>> pmf, p = predictive_final_data(Model(), coh, [10, 12], [[4, 3]], cohort="a", m=5,
    ...                                threshold=0.2, grid=DEFAULT_GRID)
    >>> final = p_above_data(Model(), coh, [15, 12], [[4 + x, 3] for x in range(6)],
    ...                      grid=DEFAULT_GRID)["a"]
    >>> bool(np.abs(p[0] - final).max() < 1e-12)
    True
    """
    owner = "predictive_final_data"
    coh, sizes, data, j, m = _check(owner, cohorts, n, counts, cohort, m)
    t = check_real(threshold, "threshold", owner, low=0.0, high=1.0)
    pmf, p_above = _evaluate(model, coh, sizes, data, j, m, grid, t)
    assert p_above is not None  # computed whenever a threshold is given
    return pmf, p_above


# ---------------------------------------------------------------------------
# Checks and the computation
# ---------------------------------------------------------------------------
def _check(
    owner: str, cohorts: Sequence[Cohort], n: Sequence[int], counts: Any, cohort: Any, m: Any
) -> tuple[tuple[Cohort, ...], tuple[int, ...], np.ndarray, int, int]:
    """Checked (cohorts, sizes, counts (G, J), index of ``cohort``, m), or a DesignError."""
    coh = tuple(cohorts)
    names = [c.name for c in coh]
    if not coh:
        raise fail("cohorts", owner, "at least one cohort", list(coh))
    if isinstance(n, str | bytes) or len(n) != len(coh):
        raise fail("n", owner, f"one sample size per cohort ({len(coh)})", n)
    sizes = tuple(check_int(x, "n", owner, low=0) for x in n)
    data = _check_counts(counts, sizes, owner)
    if not isinstance(cohort, str) or cohort not in names:
        raise fail("cohort", owner, f"one of {{{', '.join(names)}}}", cohort)
    steps = check_int(m, "m", owner, low=0)
    return coh, sizes, data, names.index(cohort), steps


def _log_scale(eng: _Engine, cohort: str, n: int, threshold: float) -> np.ndarray:
    """The log of the per-count scale of the cohort's marginal at ``n``: M = scaled × exp(this).

    The binomial likelihood's shift (:meth:`_Engine.cohort_terms`) plus the log of
    the largest column of the unscaled marginal (the scale of :func:`_scaled_pieces`).
    """
    key = ("data_sets.log_scale", eng.model, tuple(eng.cohorts), eng.grid, cohort, n, threshold)

    def compute() -> np.ndarray:
        s = _pieces(eng, cohort, n, threshold)[0].max(axis=1)
        s = np.where(s > 0, s, 1.0)
        return eng.cohort_terms(cohort, n)["shift"] + np.log(s)

    return MEMO.get(key, compute)


def _evaluate(
    model: Model,
    coh: tuple[Cohort, ...],
    sizes: tuple[int, ...],
    data: np.ndarray,
    j: int,
    m: int,
    grid: QuadratureGrid,
    threshold: float | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(pmf, final posterior or None), each (G, m + 1), for checked arguments."""
    G = data.shape[0]
    if G == 0:
        return np.zeros((0, m + 1)), None if threshold is None else np.zeros((0, m + 1))
    eng = engine(model, coh, grid)
    _check_size(eng, [size + (m if k == j else 0) for k, size in enumerate(sizes)])
    name = coh[j].name
    size_j = sizes[j] + m
    thr = coh[j].p0 if threshold is None else threshold
    M_j, Q_j = _scaled_pieces(eng, name, size_j, thr)
    log_scale = _log_scale(eng, name, size_j, thr)
    unique, inverse = np.unique(data, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    others = [k for k in range(len(coh)) if k != j]
    # the data sets sharing the other cohorts' counts share the contraction
    if others:
        keys, group = np.unique(unique[:, others], axis=0, return_inverse=True)
        group = group.ravel()
    else:
        keys, group = np.zeros((1, 0), dtype=np.intp), np.zeros(len(unique), dtype=np.intp)
    # each key needs cohort j's counts first..last + m at n_j + m (first, last: its data
    # sets' smallest and largest r_j); keys in order of their windows share row slices
    r_j = unique[:, j]
    first = np.full(len(keys), sizes[j], dtype=np.intp)
    last = np.zeros(len(keys), dtype=np.intp)
    np.minimum.at(first, group, r_j)
    np.maximum.at(last, group, r_j)
    order = np.lexsort((last, first))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    keys, first, last, group = keys[order], first[order], last[order], rank[group]
    rows_j = [M_j] if threshold is None else [M_j, Q_j]
    pieces = [_scaled_pieces(eng, coh[k].name, sizes[k], coh[k].p0)[0] for k in others]
    sums = _contract_windows(_base_weights(eng), pieces, keys, first, last - first + m + 1,
                             rows_j)
    x = np.arange(m + 1)
    total = r_j[:, None] + x[None, :]  # r_j + x, (distinct data sets, m + 1)
    at = (group[:, None], total - first[group][:, None])
    den = sums[0][at]
    with np.errstate(divide="ignore"):
        logw = np.log(den) + log_scale[total] + _log_binomial(m)[None, :]
    w = _predictive_weights(logw, 1, name, sizes)
    if threshold is None:
        return w[inverse], None
    with np.errstate(invalid="ignore", divide="ignore"):
        p_above = np.clip(sums[1][at] / den, 0.0, 1.0)
    return w[inverse], p_above[inverse]


def _contract_windows(
    base: np.ndarray,
    pieces: list[np.ndarray],
    keys: np.ndarray,
    first: np.ndarray,
    width: np.ndarray,
    rows_j: list[np.ndarray],
) -> list[np.ndarray]:
    """Σ_z b_z A[first_u + i, z] Π_k M_k[key_uk, z] for each key u, i < width_u, A in ``rows_j``.

    ``pieces`` are the other cohorts' scaled marginals (one per column of
    ``keys``); the result is one (keys, largest width) array per A, entry [u, i]
    for cohort j's count first_u + i (zero beyond the key's width). Keys sorted
    by (first, width) come in runs sharing one slice of A's rows: one matrix
    product per run and block. The product of a block of keys' rows is rescaled
    to a largest column of 1 per key (which cancels in every ratio and
    normalisation over i) before the matrix products.
    """
    U = keys.shape[0]
    out = [np.zeros((U, int(width.max()))) for _ in rows_j]
    step = _data_block_rows(len(pieces) + 1, base.size)
    for lo in range(0, U, step):
        block = keys[lo : lo + step]
        if not pieces:
            w = np.repeat(base[None, :], len(block), axis=0)
        else:
            w = pieces[0][block[:, 0]] * base[None, :]
            for k in range(1, len(pieces)):
                w *= pieces[k][block[:, k]]
        top = w.max(axis=1, keepdims=True)
        w /= np.where(top > 0, top, 1.0)
        np.copyto(w, 0.0, where=w < 1e-280)  # no subnormal numbers in the products
        f, wd = first[lo : lo + step], width[lo : lo + step]
        cuts = np.flatnonzero((f[1:] != f[:-1]) | (wd[1:] != wd[:-1])) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(block)], strict=True):
            rows = slice(int(f[a]), int(f[a] + wd[a]))
            for res, arr in zip(out, rows_j, strict=True):
                res[lo + a : lo + b, : int(wd[a])] = w[a:b] @ arr[rows].T
    return out
