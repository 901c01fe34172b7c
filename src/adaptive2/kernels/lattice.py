"""The one forward dynamic programme over the (responses, events) lattice, driven by stop tables.

A single cohort is followed patient by patient. Each patient falls in one of
four cells (R and T, R only, T only, neither; see
:data:`adaptive2.kernels.joint.CELLS`), so the joint distribution ``P_n(r, t)``
of responses ``r`` and events ``t`` among trials still running moves by the
one-patient multinomial. At a *stage* (a patient count where anything is
decided) the trial stops in one of several *categories*, each a boolean table
over ``(r, t)``; the mass a table covers leaves the state and is reported.

Both joint OC kernels run this programme:

- :func:`adaptive2.kernels.joint.joint_oc` compiles integer boundaries
  (futility ``r <= a_k``, efficacy ``r >= b_k``, toxicity ``t >= c_j``) to
  band tables, one stage per look or check;
- :func:`adaptive2.kernels.bop2_joint.table_oc` passes BOP2's futility,
  toxicity and early-Go tables of many designs at once.

The state is stored lattice-first, ``(r, t, design, scenario)``, so each
arithmetic operation runs over long contiguous runs of the batch, and only on
the bounding box of the lattice cells that can still hold mass: mass moves only
up in ``r`` and ``t``, so what a stop region cuts off at the bottom never
returns, and what it cuts off at the top returns one cell per patient. The box
changes no result: the cells outside it are exactly zero. A stop table's mass
is summed only over the rows and columns it touches, so band tables (integer
boundaries) cost little more than a cumulative sum over one margin, and need
no path of their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_int_sequence, fail

__all__ = ["check_looks", "joint_stop_probabilities"]

_CHUNK_ELEMENTS = 1 << 21  # lattice cells × designs × scenarios per chunk: ~16 MiB per buffer

Box = tuple[int, int, int, int]  # r0, r1, t0, t1: the half-open rows and columns in use


def check_looks(looks: Any, owner: str) -> list[int]:
    """Strictly increasing patient counts >= 1 (the stages of a joint programme)."""
    allowed = "a non-empty list of strictly increasing integers >= 1"
    try:
        out = list(check_int_sequence(looks, "looks", owner, low=1, min_length=1))
    except DesignError:
        raise fail("looks", owner, allowed, looks) from None
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise fail("looks", owner, allowed, out)
    return out


def _stages_iv(looks: Any, tables: Any, cells: Any) -> tuple[list[int], list[np.ndarray], int]:
    """Check the stages and tables; return them and the number of designs ``D``."""
    owner = "joint_stop_probabilities"
    lk = check_looks(looks, owner)
    allowed = f"a list of {len(lk)} boolean arrays of shape (D or 1, C, n+1, n+1), one per look"
    if not isinstance(tables, Sequence) or len(tables) != len(lk):
        raise fail("tables", owner, allowed, type(tables).__name__)
    tabs = [np.asarray(t) for t in tables]
    for tab, n in zip(tabs, lk, strict=True):
        if tab.dtype != np.bool_ or tab.ndim != 4 or tab.shape[2:] != (n + 1, n + 1):
            raise fail("tables", owner, allowed, f"dtype {tab.dtype}, shape {tab.shape} at n = {n}")
    n_des = max(t.shape[0] for t in tabs)
    if any(t.shape[0] not in (1, n_des) for t in tabs):
        raise fail(
            "tables",
            owner,
            f"tables of one design count D (or 1); D = {n_des}",
            [t.shape for t in tabs],
        )
    if np.ndim(cells) != 2 or np.shape(cells)[1] != 4:
        raise fail("cells", owner, "a float array of shape (S, 4)", np.shape(cells))
    return lk, tabs, n_des


def joint_stop_probabilities(
    looks: Sequence[int], tables: Sequence[np.ndarray], cells: np.ndarray
) -> list[np.ndarray]:
    """Probability of stopping in each table at each stage, for many designs and scenarios.

    Parameters
    ----------
    looks : sequence of int, length K
        Patient counts ``n_k`` of the stages, strictly increasing. The
        programme ends at the last one.
    tables : sequence of K boolean arrays
        Array ``k`` has shape ``(D, C_k, n_k + 1, n_k + 1)`` (or ``(1, ...)``,
        shared by all designs), indexed ``[design, category, r, t]``. At stage
        ``k`` the categories act in order: category ``c`` takes the running
        mass in its table that the categories before it left. Mass no category
        takes runs on; at the last stage it is dropped (give a table of all
        ``True`` last to collect it).
    cells : numpy.ndarray of float, shape (S, 4)
        Scenarios: probabilities of (R and T, R only, T only, neither), already
        checked (:func:`adaptive2.kernels.joint.check_cells`).

    Returns
    -------
    list of numpy.ndarray
        Array ``k`` has shape ``(D, S, C_k)``: the probability that a trial
        stops at stage ``k`` in category ``c``.

    Raises
    ------
    DesignError
        If the looks or the tables' shapes are invalid.

    Notes
    -----
    ``P_{n+1}(r, t) = π00 P_n(r, t) + π10 P_n(r-1, t) + π01 P_n(r, t-1)
    + π11 P_n(r-1, t-1)`` with (π11, π10, π01, π00) the cells; at a stage the
    tables' mass leaves the state. Cost O(n_K³) per design and scenario at
    most, less where the stop regions confine the mass; memory O(n_K²) per
    design and scenario, in chunks of bounded size. The bits of a design's and
    a scenario's result do not depend on the rest of the batch.

    Examples
    --------
    Two patients, one stage: stop if no response, then collect the rest.

    >>> r = np.arange(3)[:, None] + np.zeros(3, dtype=int)
    >>> tab = np.stack([r == 0, r >= 0])[None]          # (D=1, C=2, 3, 3)
    >>> out = joint_stop_probabilities([2], [tab], np.array([[0.1, 0.4, 0.1, 0.4]]))
    >>> out[0].round(4).tolist()                         # P(no response) = 0.5**2
    [[[0.25, 0.75]]]
    """
    lk, tabs, n_des = _stages_iv(looks, tables, cells)
    cel = np.asarray(cells, dtype=float)
    n_scen = cel.shape[0]
    size = (lk[-1] + 1) ** 2
    s_step = min(n_scen, max(1, _CHUNK_ELEMENTS // size))
    d_step = max(1, _CHUNK_ELEMENTS // (s_step * size))
    out = [np.zeros((n_des, n_scen, t.shape[1])) for t in tabs]
    for d0 in range(0, n_des, d_step):
        d_part = slice(d0, d0 + d_step)
        part = _lattice_first([t if t.shape[0] == 1 else t[d_part] for t in tabs])
        n_part = max(t.shape[-1] for t in part)
        for s0 in range(0, n_scen, s_step):
            s_part = slice(s0, s0 + s_step)
            for res, mass in zip(out, _forward(lk, part, cel[s_part], n_part), strict=True):
                res[d_part, s_part] = mass
    return out


def _lattice_first(tables: list[np.ndarray]) -> list[np.ndarray]:
    """Tables ``(D, C, r, t)`` as ``(C, r, t, D)``, the layout of the state."""
    return [np.ascontiguousarray(np.moveaxis(t, 0, -1)) for t in tables]


def _forward(
    looks: list[int], tables: list[np.ndarray], cells: np.ndarray, n_des: int
) -> list[np.ndarray]:
    """The programme for one chunk: tables ``(C, r, t, D)``, cells ``(S, 4)``; out ``(D, S, C)``."""
    n_max = looks[-1]
    shape = (n_max + 1, n_max + 1, n_des, cells.shape[0])
    cur = np.zeros(shape)
    nxt = np.empty(shape)
    tmp = np.empty(shape)
    cur[0, 0] = 1.0
    out = [np.zeros((n_des, cells.shape[0], t.shape[0])) for t in tables]
    box: Box = (0, 1, 0, 1)
    m = 0
    for k, n in enumerate(looks):
        for _ in range(m, n):
            box = _step(cur, nxt, tmp, box, cells)
            cur, nxt = nxt, cur
        m = n
        left = _absorb(cur, tables[k], box, out[k])
        if left is None:  # nothing runs on
            break
        box = left
    return out


def _step(cur: np.ndarray, nxt: np.ndarray, tmp: np.ndarray, box: Box, cells: np.ndarray) -> Box:
    """One more patient: (r, t) -> (r + R, t + T) on the box; returns the grown box."""
    r0, r1, t0, t1 = box
    src = cur[r0:r1, t0:t1]
    dst = nxt[r0 : r1 + 1, t0 : t1 + 1]
    t = tmp[: r1 - r0, : t1 - t0]
    p11, p10, p01, p00 = cells.T
    np.multiply(src, p00, out=dst[:-1, :-1])
    dst[-1] = 0.0
    dst[:-1, -1] = 0.0
    np.multiply(src, p10, out=t)
    dst[1:, :-1] += t
    np.multiply(src, p01, out=t)
    dst[:-1, 1:] += t
    np.multiply(src, p11, out=t)
    dst[1:, 1:] += t
    return r0, r1 + 1, t0, t1 + 1


def _total(view: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mass of ``view`` (h, w, D, S) in ``mask`` (h, w, D or 1, 1), as (D, S).

    Summed over (r, t) in order, row by row, on the rows and columns the mask
    touches: the zeros left out would add nothing, so the bits are the same
    whatever the box and the batch. (``numpy.sum`` adds pairwise along a
    contiguous axis, in an order that depends on the shape: a one-scenario
    batch would differ in the last bit from a larger one.)
    """
    rows = np.flatnonzero(mask.any(axis=(1, 2, 3)))
    cols = np.flatnonzero(mask.any(axis=(0, 2, 3)))
    part = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    by_t = np.cumsum(np.where(mask[part], view[part], 0.0), axis=0)[-1]  # (w, D, S)
    return np.asarray(np.cumsum(by_t, axis=0)[-1])


def _absorb(state: np.ndarray, tables: np.ndarray, box: Box, out: np.ndarray) -> Box | None:
    """Take the tables' mass out of the state (into ``out``, (D, S, C)); return the new box."""
    r0, r1, t0, t1 = box
    view = state[r0:r1, t0:t1]
    stop = np.zeros((r1 - r0, t1 - t0, tables.shape[-1], 1), dtype=bool)
    for c, table in enumerate(tables):
        mask = table[r0:r1, t0:t1, :, None] & ~stop  # what the categories before left
        if mask.any():
            out[..., c] = _total(view, mask)
            stop |= mask
    keep = ~stop[..., 0]  # (h, w, D)
    rows = np.flatnonzero(keep.any(axis=(1, 2)))
    cols = np.flatnonzero(keep.any(axis=(0, 2)))
    if rows.size == 0:
        return None
    i0, i1, j0, j1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    inner = keep[i0:i1, j0:j1]
    if not inner.all():
        view[i0:i1, j0:j1] *= inner[..., None]
    return r0 + int(i0), r0 + int(i1), t0 + int(j0), t0 + int(j1)
