"""Simon's two-stage designs: optimal, minimax and admissible.

A Simon two-stage design enrols ``n1`` patients, stops for futility if at most
``r1`` respond, otherwise enrols ``n - n1`` more and declares efficacy if more
than ``r`` of all ``n`` patients respond. With ``X1 ~ Bin(n1, p)`` and
``X2 ~ Bin(n - n1, p)``:

* PET(p) = P(X1 <= r1) (probability of early termination);
* P(reject | p) = P(X1 > r1, X1 + X2 > r);
* EN(p) = n1 + (1 - PET(p)) (n - n1).

A design is feasible if P(reject | p0) <= alpha and P(reject | p1) >= 1 - beta.
The *optimal* design minimises EN(p0); the *minimax* design minimises ``n``
(ties broken by the smallest EN(p0)). The *admissible* designs (Jung et al.
2004) minimise the expected loss ``q n + (1 - q) EN(p0)`` for some weight
``q`` in [0, 1]; they are the vertices of the lower convex hull of the points
(n, smallest EN(p0) among feasible designs with that n), from the minimax
design (q = 1) to the optimal design (q = 0).

Search
------
The search follows Simon's conventions (``0 <= r1 < n1 < n``,
``r1 < r < n``). For every total ``n`` and all first-stage sizes ``n1`` at once,
the rejection probabilities of all ``(r1, r)`` pairs are obtained from
cumulative sums of binomial tables computed once per call:
``P(reject) = P(X1 + X2 > r) - sum_{x1 <= r1} P(X1 = x1) P(X2 > r - x1)``.
Since P(reject) decreases in ``r`` at both ``p0`` and ``p1``, for each
``(n1, r1)`` only the smallest ``r`` meeting the ``alpha`` constraint can be
feasible (it has the largest power). The search is pruned by necessary
conditions: ``n`` starts at the smallest sample size whose most powerful
(randomised) single-stage test meets both constraints; ``r`` cannot exceed the
largest single-stage critical value with power ``1 - beta``;
PET(p1) <= beta bounds ``r1``; and once a feasible design is known, the lower
bound ``EN(p0) >= n1 + (1 - PET_max(p0)) (n - n1)`` discards first stages (and
eventually all larger ``n``) that cannot improve on it.

References
----------
Simon R (1989). Optimal two-stage designs for phase II clinical trials.
Controlled Clinical Trials 10:1-10.
Jung SH, Lee T, Kim K, George SL (2004). Admissible two-stage designs for
phase II cancer clinical trials. Journal of Statistical Planning and
Inference 125:129-142.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_int, check_probability, fail
from adaptive2.engines.search import objective_key
from adaptive2.engines.sizes import REMEDY_SIMON, simon_cost
from adaptive2.kernels.binomial import binom_pmf
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import Boundary

if TYPE_CHECKING:  # pragma: no cover
    from adaptive2.model.designs import Design
    from adaptive2.model.priors import Prior, PriorSpec

__all__ = ["AdmissibleDesign", "SimonDesign", "SimonResult", "simon"]

_OWNER = "simon"
# Largest number of (n1, r1, r) cells evaluated in one vectorised block.
_BLOCK_CELLS = 1 << 21
# Slack in the single-stage lower bound on n (guards against rounding only).
_BOUND_SLACK = 1e-9


# ---------------------------------------------------------------------------
# binomial tables
# ---------------------------------------------------------------------------
def _binom_rows(p: np.ndarray, mmax: int) -> np.ndarray:
    """Binomial pmfs ``out[i, m, k] = P(Bin(m, p[i]) = k)`` for ``m, k = 0..mmax``.

    Built by the recursion ``pmf_m = (1 - p) pmf_{m-1} + p shift(pmf_{m-1})``:
    every entry is a sum of positive terms, so it has a small *relative* error
    (about ``m`` ulps) even far in the tails, and it is exact at p = 0 and 1.
    """
    p = np.asarray(p, dtype=float).reshape(-1)
    q = 1.0 - p
    out = np.zeros((p.size, mmax + 1, mmax + 1))
    out[:, 0, 0] = 1.0
    pc, qc = p[:, None], q[:, None]
    for m in range(1, mmax + 1):
        prev = out[:, m - 1, :m]
        row = out[:, m]
        row[:, :m] = prev * qc
        row[:, 1 : m + 1] += prev * pc
    return out


def _ge_table(pmf: np.ndarray) -> np.ndarray:
    """``ge[..., m, j] = P(Bin(m) >= j)`` for ``j = 0..mmax + 1`` (tail sums, exact 1 at j = 0)."""
    shape = (*pmf.shape[:-1], pmf.shape[-1] + 1)
    ge = np.zeros(shape)
    ge[..., :-1] = np.cumsum(pmf[..., ::-1], axis=-1)[..., ::-1]
    ge[..., 0] = 1.0
    return ge


def _operating(
    r1: int, n1: int, r: int, n: int, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact (P(reject), PET, EN) of the design at the rates ``p`` (1-d array)."""
    m = n - n1
    b1 = binom_pmf(n1, p)
    b2 = binom_pmf(m, p)
    ge2 = _ge_table(b2)  # P(X2 >= j), j = 0..m + 1
    pet = b1[:, : r1 + 1].sum(axis=1)
    x1 = np.arange(r1 + 1, n1 + 1)
    # P(X2 > r - x1) = P(X2 >= r - x1 + 1); index clipped at 0 (prob 1) and m + 1 (prob 0).
    j = np.clip(r - x1 + 1, 0, m + 1)
    reject = (b1[:, r1 + 1 :] * ge2[:, j]).sum(axis=1)
    en = n1 + (1.0 - pet) * m
    return reject, pet, en


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SimonDesign:
    """A Simon two-stage design with its exact operating characteristics.

    Stop after stage 1 if at most ``r1`` of ``n1`` patients respond; otherwise
    continue to ``n`` patients and declare efficacy if more than ``r`` respond.

    Attributes
    ----------
    r1, n1 : int
        Stage-1 futility boundary and sample size.
    r, n : int
        Final boundary and total sample size.
    p0, p1 : float
        Uninteresting and target response rates.
    expected_n_p0 : float
        Expected sample size under ``p0``, EN(p0).
    pet_p0 : float
        Probability of early termination under ``p0``, PET(p0).
    alpha : float
        Exact type I error, P(reject | p0).
    power : float
        Exact power, P(reject | p1).
    """

    r1: int
    n1: int
    r: int
    n: int
    p0: float
    p1: float
    expected_n_p0: float
    pet_p0: float
    alpha: float
    power: float

    @classmethod
    def from_boundaries(cls, r1: int, n1: int, r: int, n: int, p0: float, p1: float) -> SimonDesign:
        """Build a design from its boundaries, computing its exact figures.

        Parameters
        ----------
        r1, n1, r, n : int
            Boundaries, with ``0 <= r1 < n1 < n`` and ``r1 < r < n``.
        p0, p1 : float
            Uninteresting and target response rates, ``0 < p0 < p1 < 1``.

        Returns
        -------
        SimonDesign
            The design with exact alpha, power, EN(p0) and PET(p0).

        Raises
        ------
        DesignError
            If a boundary or rate is out of range; the message names it.

        Examples
        --------
        >>> d = SimonDesign.from_boundaries(1, 10, 5, 29, 0.1, 0.3)
        >>> round(d.expected_n_p0, 1), round(d.pet_p0, 2)
        (15.0, 0.74)
        """
        owner = "SimonDesign"
        n = check_int(n, "n", owner, low=2)
        n1 = check_int(n1, "n1", owner, low=1, high=n - 1)
        r1 = check_int(r1, "r1", owner, low=0, high=n1 - 1)
        r = check_int(r, "r", owner, low=r1 + 1, high=n - 1)
        p0 = check_probability(p0, "p0", owner)
        p1 = check_probability(p1, "p1", owner)
        if not p1 > p0:
            raise fail("p1", owner, f"a probability in (p0, 1) = ({p0:g}, 1)", p1)
        reject, pet, en = _operating(r1, n1, r, n, np.array([p0, p1]))
        return cls(
            r1=r1,
            n1=n1,
            r=r,
            n=n,
            p0=p0,
            p1=p1,
            expected_n_p0=float(en[0]),
            pet_p0=float(pet[0]),
            alpha=float(reject[0]),
            power=float(reject[1]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with keys r1, n1, r, n, expected_n_p0, pet_p0, alpha, power."""
        return {
            "r1": int(self.r1),
            "n1": int(self.n1),
            "r": int(self.r),
            "n": int(self.n),
            "expected_n_p0": float(self.expected_n_p0),
            "pet_p0": float(self.pet_p0),
            "alpha": float(self.alpha),
            "power": float(self.power),
        }

    def oc(self, p: Any) -> dict[str, np.ndarray]:
        """Exact operating characteristics at arbitrary response rates.

        Parameters
        ----------
        p : float or array-like of float
            True response rates in [0, 1].

        Returns
        -------
        dict of str to numpy.ndarray
            ``p``, ``p_efficacy`` (P(reject)), ``p_early_stop`` (PET) and
            ``expected_n``, each with the shape of ``p``.

        Examples
        --------
        >>> d = SimonDesign.from_boundaries(1, 10, 5, 29, 0.1, 0.3)
        >>> float(d.oc(0.3)["p_efficacy"]) == d.power
        True
        """
        arr = np.asarray(p, dtype=float)
        flat = arr.reshape(-1)
        if flat.size and not (np.all(np.isfinite(flat)) and flat.min() >= 0 and flat.max() <= 1):
            raise fail("p", "SimonDesign.oc", "response rates in [0, 1]", p)
        reject, pet, en = _operating(self.r1, self.n1, self.r, self.n, flat)
        shape = arr.shape
        return {
            "p": arr.copy(),
            "p_efficacy": reject.reshape(shape),
            "p_early_stop": pet.reshape(shape),
            "expected_n": en.reshape(shape),
        }

    def to_design(self, name: str | None = None, prior: Prior | PriorSpec | None = None) -> Design:
        """The design as a single-cohort :class:`~adaptive2.model.designs.Design`.

        Parameters
        ----------
        name : str, optional
            Design name; default ``"simon-r1/n1-r/n"``.
        prior : Beta, BetaMixture or PriorSpec, optional
            Recorded prior (boundary rules do not use it); default Beta(1, 1).

        Returns
        -------
        Design
            Looks ``(n1, n)``, futility boundary ``r1`` and final boundary ``r``.
        """
        r1, n1, r, n = self.r1, self.n1, self.r, self.n
        return Design(
            name=name or f"simon-{r1}/{n1}-{r}/{n}",
            prior=prior if prior is not None else Beta(1, 1),
            looks=(n1, n),
            futility=Boundary(r=(r1,)),
            final=Boundary(r=(r,)),
            p0=self.p0,
            p1=self.p1,
            title=f"Simon two-stage: stop if <= {r1}/{n1}, efficacy if > {r}/{n}",
        )

    def __str__(self) -> str:
        return (
            f"r1/n1 = {self.r1}/{self.n1}, r/n = {self.r}/{self.n}: "
            f"EN(p0) = {self.expected_n_p0:.2f}, PET(p0) = {self.pet_p0:.3f}, "
            f"alpha = {self.alpha:.4f}, power = {self.power:.4f}"
        )


@dataclass(frozen=True, slots=True)
class AdmissibleDesign(SimonDesign):
    """An admissible design: optimal for the weights ``q`` in ``[q_low, q_high]``.

    The loss is ``q n + (1 - q) EN(p0)`` (Jung et al. 2004).

    Attributes
    ----------
    q_low, q_high : float
        Range of the weight ``q`` on the maximum sample size for which the
        design minimises the loss.
    """

    q_low: float
    q_high: float

    def to_dict(self) -> dict[str, Any]:
        """The :meth:`SimonDesign.to_dict` keys plus ``q_low`` and ``q_high``."""
        out = SimonDesign.to_dict(self)
        out["q_low"] = float(self.q_low)
        out["q_high"] = float(self.q_high)
        return out

    def __str__(self) -> str:
        return f"{SimonDesign.__str__(self)}, q in [{self.q_low:.3f}, {self.q_high:.3f}]"


@dataclass(frozen=True, slots=True)
class SimonResult:
    """Result of :func:`simon`: the optimal, minimax and admissible designs.

    Attributes
    ----------
    p0, p1, alpha, beta : float
        The design problem.
    nmax : int
        Largest total sample size searched.
    optimal : SimonDesign or None
        Design minimising EN(p0) (None if no design is feasible).
    minimax : SimonDesign or None
        Design minimising ``n``, then EN(p0) (None if no design is feasible).
    admissible : tuple of AdmissibleDesign
        Admissible designs sorted by ``n``: the first is the minimax design
        (``q_high = 1``), the last the optimal one (``q_low = 0``); their
        q-intervals partition [0, 1].
    """

    p0: float
    p1: float
    alpha: float
    beta: float
    nmax: int
    optimal: SimonDesign | None
    minimax: SimonDesign | None
    admissible: tuple[AdmissibleDesign, ...]

    def choose(self, objective: str = "min-EN0") -> SimonDesign | None:
        """The design ``objective`` picks: optimal, minimax or admissible for q = 1/2.

        Parameters
        ----------
        objective : {"min-EN0", "min-max-N", "balanced"}
            ``"min-EN0"``: the optimal design (smallest EN(p0)); ``"min-max-N"``:
            the minimax design (smallest n, then EN(p0)); ``"balanced"``: the
            smallest (n + EN(p0)) / 2, the admissible design for the weight
            q = 1/2 of Jung et al. (2004). See
            :data:`adaptive2.engines.search.OBJECTIVES`.

        Returns
        -------
        SimonDesign or None
            One of :attr:`admissible` (every objective's choice is admissible:
            a linear loss in (n, EN(p0)) is smallest at a vertex of their lower
            convex hull); None if no design is feasible.

        Examples
        --------
        >>> res = simon(0.1, 0.3)
        >>> [(d.r1, d.n1, d.r, d.n) for d in map(res.choose, ("min-EN0", "min-max-N"))]
        [(1, 10, 5, 29), (1, 15, 5, 25)]
        """
        key = objective_key(objective)
        if not self.admissible:
            return None
        return min(self.admissible, key=lambda d: key(d.n, d.expected_n_p0, d.power))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"optimal": ..., "minimax": ..., "admissible": [...]}``."""
        return {
            "optimal": None if self.optimal is None else self.optimal.to_dict(),
            "minimax": None if self.minimax is None else self.minimax.to_dict(),
            "admissible": [d.to_dict() for d in self.admissible],
        }

    def __str__(self) -> str:
        head = (
            f"Simon two-stage designs: p0 = {self.p0:g}, p1 = {self.p1:g}, "
            f"alpha = {self.alpha:g}, beta = {self.beta:g}, nmax = {self.nmax}"
        )
        if self.optimal is None or self.minimax is None:
            return head + "\n  no design meets the constraints"
        lines = [head, f"  optimal: {self.optimal}", f"  minimax: {self.minimax}"]
        lines += [f"  admissible: {d}" for d in self.admissible]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------
def simon(
    p0: float, p1: float, alpha: float = 0.05, beta: float = 0.20, nmax: int = 100
) -> SimonResult:
    """Optimal, minimax and admissible Simon two-stage designs.

    Parameters
    ----------
    p0 : float
        Uninteresting response rate (null hypothesis), in (0, 1).
    p1 : float
        Target response rate (alternative), in (p0, 1).
    alpha : float
        Largest type I error P(reject | p0), in (0, 1).
    beta : float
        Largest type II error 1 - P(reject | p1), in (0, 1).
    nmax : int
        Largest total sample size searched, in [2, 1000].

    Returns
    -------
    SimonResult
        Optimal and minimax designs (None if no design with ``n <= nmax``
        meets both constraints) and the admissible designs between them.

    Raises
    ------
    DesignError
        If an argument is out of range; the message names it.

    Notes
    -----
    Conventions follow Simon (1989): ``0 <= r1 < n1 < n`` and ``r1 < r < n``;
    for each ``(n, n1, r1)`` the smallest ``r`` meeting the ``alpha``
    constraint is used (it maximises power). Ties in EN(p0) are broken by the
    smaller ``n``, then ``n1``, then ``r1``. Designs that minimise the loss at a
    single ``q`` only (collinear hull points) are not listed as admissible.

    Examples
    --------
    >>> res = simon(0.1, 0.3)
    >>> d = res.optimal
    >>> (d.r1, d.n1, d.r, d.n), round(d.expected_n_p0, 1)
    ((1, 10, 5, 29), 15.0)
    >>> m = res.minimax
    >>> (m.r1, m.n1, m.r, m.n), round(m.expected_n_p0, 1)
    ((1, 15, 5, 25), 19.5)
    """
    p0 = check_probability(p0, "p0", _OWNER)
    p1 = check_probability(p1, "p1", _OWNER)
    if not p1 > p0:
        raise fail("p1", _OWNER, f"a probability in (p0, 1) = ({p0:g}, 1)", p1)
    alpha = check_probability(alpha, "alpha", _OWNER)
    beta = check_probability(beta, "beta", _OWNER)
    nmax = check_int(nmax, "nmax", _OWNER, low=2, high=1000)
    cost = simon_cost(nmax)
    require_memory(cost.nbytes, f"the Simon two-stage search up to nmax = {nmax} patients",
                   REMEDY_SIMON, seconds=cost.seconds)

    records = _search(p0, p1, alpha, beta, nmax)
    if not records:
        return SimonResult(p0, p1, alpha, beta, nmax, None, None, ())

    def build(rec: tuple[int, float, int, int, int]) -> SimonDesign:
        n, _, n1, r1, r = rec
        return SimonDesign.from_boundaries(r1, n1, r, n, p0, p1)

    # records: per n (increasing), the feasible design with the smallest EN(p0).
    minimax_rec = records[0]
    frontier = [minimax_rec]  # strictly decreasing EN as n increases
    for rec in records[1:]:
        if rec[1] < frontier[-1][1]:
            frontier.append(rec)
    hull = _lower_hull(frontier)
    qs = [_q_break(a, b) for a, b in itertools.pairwise(hull)]
    q_high = [1.0, *qs]
    q_low = [*qs, 0.0]
    admissible = []
    for rec, lo, hi in zip(hull, q_low, q_high, strict=True):
        d = build(rec)
        fields = {name: getattr(d, name) for name in SimonDesign.__dataclass_fields__}
        admissible.append(AdmissibleDesign(**fields, q_low=lo, q_high=hi))
    minimax = build(minimax_rec)
    optimal = build(frontier[-1])
    return SimonResult(p0, p1, alpha, beta, nmax, optimal, minimax, tuple(admissible))


def _lower_hull(
    points: list[tuple[int, float, int, int, int]],
) -> list[tuple[int, float, int, int, int]]:
    """Vertices of the lower convex hull of (n, EN) points sorted by n (collinear dropped)."""
    hull: list[tuple[int, float, int, int, int]] = []
    for pt in points:
        while len(hull) >= 2:
            (xa, ya), (xb, yb) = hull[-2][:2], hull[-1][:2]
            xc, yc = pt[:2]
            cross = (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa)
            scale = max(abs(ya), abs(yb), abs(yc), 1.0) * (xc - xa)
            if cross > 1e-12 * scale:  # strict left turn: hull[-1] is a vertex
                break
            hull.pop()
        hull.append(pt)
    return hull


def _q_break(a: tuple[int, float, int, int, int], b: tuple[int, float, int, int, int]) -> float:
    """Weight q at which q n + (1 - q) EN is equal for hull points a (smaller n) and b."""
    slope = (a[1] - b[1]) / (b[0] - a[0])  # EN saved per extra patient in n, > 0
    return slope / (1.0 + slope)


def _single_stage_bound(pmf: np.ndarray, ge: np.ndarray, alpha: float, beta: float) -> int | None:
    """Smallest n whose most powerful randomised level-alpha test has power >= 1 - beta.

    Any two-stage design with total size n is a (non-randomised) level-alpha
    test based on n observations, so its power cannot exceed that bound.
    """
    nmax = pmf.shape[1] - 1
    gt0 = ge[0, :, 1:]  # P0(X > c), c = 0..nmax, rows n
    c = (gt0 > alpha).sum(axis=1)  # smallest c with P0(X > c) <= alpha (c <= n)
    rows = np.arange(nmax + 1)
    f0 = pmf[0, rows, c]
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(f0 > 0, (alpha - gt0[rows, c]) / f0, 0.0)
    power = ge[1, rows, c + 1] + gamma * pmf[1, rows, c]
    ok = np.flatnonzero(power >= 1.0 - beta - _BOUND_SLACK)
    ok = ok[ok >= 2]
    return int(ok[0]) if ok.size else None


def _search(
    p0: float, p1: float, alpha: float, beta: float, nmax: int
) -> list[tuple[int, float, int, int, int]]:
    """Per total size n, the feasible design with the smallest EN(p0).

    Returns
    -------
    list of (n, EN(p0), n1, r1, r)
        In increasing ``n``; only sizes that may lie on the admissible frontier
        (EN below the best EN of every smaller n) are guaranteed to be present,
        and the first entry is the minimax design.
    """
    target = 1.0 - beta
    pmf = _binom_rows(np.array([p0, p1]), nmax)  # (2, m, k)
    ge = _ge_table(pmf)  # (2, m, j): P(Bin(m) >= j)
    cdf0 = np.cumsum(pmf[0], axis=1)  # P0(Bin(m) <= k)
    cdf1 = np.cumsum(pmf[1], axis=1)

    n_lo = _single_stage_bound(pmf, ge, alpha, beta)
    if n_lo is None:
        return []
    sizes = np.arange(nmax + 1)
    # Largest r1 with PET(p1) <= beta (power <= 1 - PET(p1)); -1 if none, always < n1.
    r1_max = np.minimum((cdf1 <= beta).sum(axis=1) - 1, sizes - 1)
    pet0_max = np.where(r1_max >= 0, cdf0[sizes, np.maximum(r1_max, 0)], 0.0)
    # Largest r with P1(Bin(n) > r) >= 1 - beta: a two-stage test rejects less often.
    r_hi_all = np.minimum((ge[1, :, 1:] >= target).sum(axis=1) - 1, sizes - 1)

    records: list[tuple[int, float, int, int, int]] = []
    best_en = math.inf
    for n in range(n_lo, nmax + 1):
        r_hi = int(r_hi_all[n])
        if r_hi < 1:
            continue
        n1s = np.arange(1, n)
        keep = r1_max[n1s] >= 0
        if records:
            bound = n1s + (1.0 - pet0_max[n1s]) * (n - n1s)
            keep &= bound < best_en
        n1s = n1s[keep]
        if n1s.size == 0:
            if records and n >= best_en:
                break  # every n1 < n is pruned and every n1 >= n has EN >= n1 >= best
            continue
        rec = _best_for_n(n, n1s, r_hi, r1_max, pmf, ge, cdf0, alpha, target)
        if rec is not None:
            records.append(rec)
            best_en = min(best_en, rec[1])
    return records


def _best_for_n(
    n: int,
    n1s: np.ndarray,
    r_hi: int,
    r1_max: np.ndarray,
    pmf: np.ndarray,
    ge: np.ndarray,
    cdf0: np.ndarray,
    alpha: float,
    target: float,
) -> tuple[int, float, int, int, int] | None:
    """Feasible design of total size n with the smallest EN(p0), over first stages ``n1s``."""
    r1cap_all = np.minimum(r1_max[n1s], r_hi - 1)
    rr = np.arange(r_hi + 1)
    best: tuple[float, int, int, int] | None = None
    cells = max(1, int(r1cap_all.max()) + 1) * (r_hi + 1)
    step = max(1, _BLOCK_CELLS // cells)
    for start in range(0, n1s.size, step):
        block = n1s[start : start + step]
        r1cap = r1cap_all[start : start + step]
        width = int(r1cap.max()) + 1
        if width <= 0:
            continue
        xs = np.arange(width)  # x1 values, also the r1 values
        m = n - block
        # P(X2 > r - x1) = ge[m, r - x1 + 1], clipped at 0 where x1 > r (probability 1).
        j = np.clip(rr[None, :] - xs[:, None] + 1, 0, None)
        rej = []
        for i in (0, 1):
            terms = pmf[i][block, :width][:, :, None] * ge[i][m[:, None, None], j[None, :, :]]
            np.cumsum(terms, axis=1, out=terms)  # sum over x1 <= r1
            rej.append(np.subtract(ge[i, n, rr + 1][None, None, :], terms, out=terms))
        rej0, rej1 = rej
        # P(reject) decreases in r: the cells violating alpha or r > r1 form a prefix.
        viol = (rej0 > alpha) | (rr[None, None, :] <= xs[None, :, None])
        rstar = viol.sum(axis=2)  # (block, r1): smallest admissible r (r_hi + 1 if none)
        ok = (rstar <= r_hi) & (xs[None, :] <= r1cap[:, None])
        power = np.take_along_axis(rej1, np.minimum(rstar, r_hi)[:, :, None], axis=2)[:, :, 0]
        ok &= power >= target
        if not ok.any():
            continue
        en = block[:, None] + (1.0 - cdf0[block][:, :width]) * m[:, None]
        en = np.where(ok, en, np.inf)
        k = int(np.argmin(en))  # first minimum: smallest n1, then r1
        bi, r1 = divmod(k, width)
        cand = (float(en[bi, r1]), int(block[bi]), r1, int(rstar[bi, r1]))
        if best is None or cand[0] < best[0]:
            best = cand
    if best is None:
        return None
    return (n, *best)
