"""Bryant & Day two-stage designs: response and toxicity judged together.

Stage 1 enrols ``n1`` patients and continues only if more than ``r1`` respond
**and** more than ``t1`` are free of toxicity; stage 2 brings the total to
``n``, and the drug is declared promising if more than ``r`` of the ``n``
respond **and** more than ``t`` are free of toxicity. With ``p`` the response
rate and ``q`` the *non-toxicity* rate (1 − toxicity rate), the design meets

* P(declare | p0, q1) <= ``alpha_r`` (inactive but safe),
* P(declare | p1, q0) <= ``alpha_t`` (active but too toxic),
* P(declare | p1, q1) >= 1 − ``beta`` (active and safe),

and the *optimal* design minimises the larger of the expected sample sizes in
the two null cases, ``max(EN(p0, q1), EN(p1, q0))``; the *minimax* design has
the smallest ``n`` (ties: the smallest of that objective). P(declare | p0, q0)
is below both alphas automatically (declaring is monotone in p and q).

Exact computation
-----------------
Response ``X`` and non-toxicity ``Y`` counts are binomial. Under independence
(odds ratio 1, Bryant & Day's working assumption) every probability factorises:
P(declare | p, q) = A(p; r1, r) · A(q; t1, t), with
``A(p; r1, r) = sum_{x1 > r1} P(X1 = x1) P(X2 > r - x1)`` the Simon acceptance
probability, and P(continue | p, q) = P(X1 > r1) P(Y1 > t1). For an odds ratio
``psi != 1`` between response and toxicity, the four cells of each patient
(:func:`adaptive2.kernels.joint.cell_probabilities`) give the joint law of
(X, Y) by a dynamic programme over patients, and
``P(declare) = sum_{x1 > r1, y1 > t1} P(X1 = x1, Y1 = y1) P(X2 > r - x1, Y2 > t - y1)``.

Search
------
For each total ``n <= nmax`` and each ``n1 < n`` the three declaration
probabilities of every ``(r1, t1, r, t)`` are computed at once from cumulative
sums of binomial tables (Simon's conventions: ``0 <= r1 < r < n``,
``0 <= t1 < t < n``). The search is pruned by necessary conditions only:
P(declare | p1, q1) <= P(X1 > r1 | p1) and <= P(X > r | p1) bound ``r1`` and
``r`` above (likewise ``t1``, ``t``); since the non-toxicity factor at ``q1``
is at least 1 − beta, the alpha_r constraint needs ``A(p0; r1, r) <=
alpha_r / (1 - beta)`` (under an odds ratio ``psi != 1``, by Fréchet's bound,
``<= alpha_r + beta``), which bounds ``r`` below (likewise ``t`` from
alpha_t); and once a feasible design is known, first stages whose smallest
possible objective is no better are skipped (as in
:mod:`adaptive2.engines.simon`). Within one ``(n1, n)``, first stages
``(r1, t1)`` are screened in two dimensions (objective below the best so far;
power at the most favourable ``(r, t)``; under independence, the alphas at the
least favourable) before the four-dimensional block is evaluated, in chunks of
bounded size. Among the ``(r, t)`` that make a first stage
feasible, the one with the largest P(declare | p1, q1) is reported (ties: the
smallest ``r``, then ``t``).

References
----------
Bryant J, Day R (1995). Incorporating toxicity considerations into the design
of two-stage phase II clinical trials. Biometrics 51:1372-1383.
Simon R (1989). Optimal two-stage designs for phase II clinical trials.
Controlled Clinical Trials 10:1-10.
Plackett RL (1965). A class of bivariate distributions. JASA 60:516-522.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_int, check_probability, check_real, fail
from adaptive2.kernels.binomial import binom_pmf
from adaptive2.kernels.joint import cell_probabilities

__all__ = ["BryantDayDesign", "BryantDayOC", "BryantDayResult", "bryant_day"]

_OWNER = "bryant_day"
_NMAX_HIGH = 300
_BLOCK_CELLS = 1 << 20  # largest number of (r1, t1, r, t) cells evaluated at once
_REMEDY = "use a smaller nmax"

Float = NDArray[np.float64]


# ---------------------------------------------------------------------------
# exact tables
# ---------------------------------------------------------------------------
def _binomial_tables(rates: list[float], nmax: int) -> tuple[Float, Float]:
    """``pmf[s, m, k] = P(Bin(m, rates[s]) = k)`` and ``ge[s, m, j] = P(Bin(m) >= j)``."""
    size = len(rates)
    pmf = np.zeros((size, nmax + 1, nmax + 1))
    for m in range(nmax + 1):
        pmf[:, m, : m + 1] = binom_pmf(m, rates)
    ge = np.zeros((size, nmax + 1, nmax + 2))
    ge[:, :, :-1] = np.cumsum(pmf[:, :, ::-1], axis=2)[:, :, ::-1]
    ge[:, :, 0] = 1.0
    return pmf, ge


def _joint_step(joint: Float, cells: Float) -> Float:
    """Add one patient to ``joint[b, x, y]`` = P(x responses, y without toxicity)."""
    b, k = joint.shape[0], joint.shape[1]
    c = [cells[:, i, None, None] for i in range(4)]
    new = np.zeros((b, k + 1, k + 1))
    new[:, 1:, :k] += c[0] * joint  # response and toxicity
    new[:, 1:, 1:] += c[1] * joint  # response, no toxicity
    new[:, :k, :k] += c[2] * joint  # toxicity only
    new[:, :k, 1:] += c[3] * joint  # neither
    return new


def _joint_ge(joint: Float) -> Float:
    """``ge[b, a, c] = P(X >= a, Y >= c)`` for a, c = 0..m + 1 (0 past the end)."""
    b, k = joint.shape[0], joint.shape[1]
    ge = np.zeros((b, k + 1, k + 1))
    tail = np.cumsum(np.cumsum(joint[:, ::-1, ::-1], axis=1), axis=2)[:, ::-1, ::-1]
    ge[:, :k, :k] = tail
    return ge


def _joint_tables(cells: Float, nmax: int) -> tuple[list[Float], list[Float]]:
    """Joint pmfs and survival tables of (X, Y) for m = 0..nmax patients."""
    joint = np.ones((cells.shape[0], 1, 1))
    pmfs, ges = [joint], [_joint_ge(joint)]
    for _ in range(nmax):
        joint = _joint_step(joint, cells)
        pmfs.append(joint)
        ges.append(_joint_ge(joint))
    return pmfs, ges


def _joint_cells(p: Any, q: Any, odds_ratio: Any) -> Float:
    """Cells (R&T, R only, T only, neither) for response ``p`` and non-toxicity ``q``."""
    pp, qq, psi = np.broadcast_arrays(
        np.asarray(p, dtype=float), np.asarray(q, dtype=float), np.asarray(odds_ratio, dtype=float)
    )
    return np.asarray(cell_probabilities(pp.ravel(), 1.0 - qq.ravel(), psi.ravel()), dtype=float)


def _declare(
    n1: int, r1: int, t1: int, n: int, r: int, t: int, cells: Float
) -> tuple[Float, Float]:
    """Exact (P(declare), P(continue after stage 1)) for each row of ``cells``."""
    m = n - n1
    j1 = np.ones((cells.shape[0], 1, 1))
    for _ in range(n1):
        j1 = _joint_step(j1, cells)
    j2 = np.ones((cells.shape[0], 1, 1))
    for _ in range(m):
        j2 = _joint_step(j2, cells)
    ge1, ge2 = _joint_ge(j1), _joint_ge(j2)
    x1 = np.arange(r1 + 1, n1 + 1)
    y1 = np.arange(t1 + 1, n1 + 1)
    ir = np.clip(r - x1 + 1, 0, m + 1)
    it = np.clip(t - y1 + 1, 0, m + 1)
    block = j1[:, r1 + 1 :, t1 + 1 :] * ge2[:, ir][:, :, it]
    declare = block.sum(axis=(1, 2))
    cont = ge1[:, r1 + 1, t1 + 1]
    return np.asarray(declare, dtype=float), np.asarray(cont, dtype=float)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class BryantDayOC:
    """Exact operating characteristics of a :class:`BryantDayDesign`.

    Attributes
    ----------
    p, q, odds_ratio : numpy.ndarray
        The scenarios (broadcast together, flattened): response rate,
        non-toxicity rate, odds ratio of response and toxicity.
    p_declare : numpy.ndarray
        P(declare the drug promising).
    p_early_stop : numpy.ndarray
        P(stop after stage 1) (PET).
    expected_n : numpy.ndarray
        Expected number of patients, ``n1 + (1 - PET)(n - n1)``.
    """

    p: Float
    q: Float
    odds_ratio: Float
    p_declare: Float
    p_early_stop: Float
    expected_n: Float


@dataclass(frozen=True, slots=True, kw_only=True)
class BryantDayDesign:
    """A Bryant & Day two-stage design with its exact figures.

    Continue after ``n1`` patients only if responses > ``r1`` and patients
    without toxicity > ``t1``; declare promising after ``n`` if responses >
    ``r`` and patients without toxicity > ``t``.

    Attributes
    ----------
    n1, r1, t1, n, r, t : int
        Stage sizes and boundaries (``0 <= r1 < r < n``, ``0 <= t1 < t < n``).
    p0, p1, q0, q1 : float
        Response rates (uninteresting, acceptable) and non-toxicity rates
        (unacceptable, acceptable).
    odds_ratio : float
        Odds ratio of response and toxicity at which the figures are computed.
    p_declare_p0q1, p_declare_p1q0, p_declare_p1q1, p_declare_p0q0 : float
        P(declare promising) at the four corners.
    expected_n_p0q1, expected_n_p1q0 : float
        Expected sample size in the two null cases.
    pet_p0q1, pet_p1q0 : float
        Probability of early termination in the two null cases.
    """

    n1: int
    r1: int
    t1: int
    n: int
    r: int
    t: int
    p0: float
    p1: float
    q0: float
    q1: float
    odds_ratio: float
    p_declare_p0q1: float
    p_declare_p1q0: float
    p_declare_p1q1: float
    p_declare_p0q0: float
    expected_n_p0q1: float
    expected_n_p1q0: float
    pet_p0q1: float
    pet_p1q0: float

    @classmethod
    def from_boundaries(
        cls,
        n1: int,
        r1: int,
        t1: int,
        n: int,
        r: int,
        t: int,
        p0: float,
        p1: float,
        q0: float,
        q1: float,
        odds_ratio: float = 1.0,
    ) -> BryantDayDesign:
        """Build a design from its boundaries, computing its exact figures.

        Parameters
        ----------
        n1, r1, t1, n, r, t : int
            Sizes and boundaries, ``1 <= n1 < n``, ``0 <= r1 < r < n``,
            ``0 <= t1 < t < n``.
        p0, p1 : float
            Response rates, ``0 < p0 < p1 < 1``.
        q0, q1 : float
            Non-toxicity rates, ``0 < q0 < q1 < 1``.
        odds_ratio : float
            Odds ratio of response and toxicity (1: independent).

        Returns
        -------
        BryantDayDesign

        Raises
        ------
        DesignError
            If an argument is out of range; the message names it.

        Examples
        --------
        >>> d = BryantDayDesign.from_boundaries(19, 5, 11, 33, 12, 22, 0.3, 0.5, 0.6, 0.8)
        >>> round(d.alpha_r, 4), round(d.alpha_t, 4), round(d.beta, 4)
        (0.1447, 0.1458, 0.1458)
        >>> round(d.expected_n, 2)
        26.19
        """
        owner = "BryantDayDesign"
        n = check_int(n, "n", owner, low=2)
        n1 = check_int(n1, "n1", owner, low=1, high=n - 1)
        r1 = check_int(r1, "r1", owner, low=0, high=n1 - 1)
        t1 = check_int(t1, "t1", owner, low=0, high=n1 - 1)
        r = check_int(r, "r", owner, low=r1 + 1, high=n - 1)
        t = check_int(t, "t", owner, low=t1 + 1, high=n - 1)
        p0, p1, q0, q1, psi = _rates_iv(p0, p1, q0, q1, odds_ratio, owner)
        cells = _joint_cells([p0, p1, p1, p0], [q1, q0, q1, q0], psi)
        dec, cont = _declare(n1, r1, t1, n, r, t, cells)
        en = n1 + cont * (n - n1)
        return cls(
            n1=n1, r1=r1, t1=t1, n=n, r=r, t=t,
            p0=p0, p1=p1, q0=q0, q1=q1, odds_ratio=psi,
            p_declare_p0q1=float(dec[0]),
            p_declare_p1q0=float(dec[1]),
            p_declare_p1q1=float(dec[2]),
            p_declare_p0q0=float(dec[3]),
            expected_n_p0q1=float(en[0]),
            expected_n_p1q0=float(en[1]),
            pet_p0q1=float(1.0 - cont[0]),
            pet_p1q0=float(1.0 - cont[1]),
        )  # fmt: skip

    @property
    def alpha_r(self) -> float:
        """Achieved P(declare | p0, q1): an inactive, safe drug declared promising."""
        return self.p_declare_p0q1

    @property
    def alpha_t(self) -> float:
        """Achieved P(declare | p1, q0): an active, too toxic drug declared promising."""
        return self.p_declare_p1q0

    @property
    def beta(self) -> float:
        """Achieved P(not declared | p1, q1): an active, safe drug missed."""
        return 1.0 - self.p_declare_p1q1

    @property
    def expected_n(self) -> float:
        """The design objective, ``max(EN(p0, q1), EN(p1, q0))``."""
        return max(self.expected_n_p0q1, self.expected_n_p1q0)

    def oc(self, p: Any, q: Any, odds_ratio: Any = 1.0) -> BryantDayOC:
        """Exact operating characteristics at response rates ``p`` and non-toxicity rates ``q``.

        Parameters
        ----------
        p, q : float or array-like
            Response and non-toxicity (1 − toxicity) rates in [0, 1].
        odds_ratio : float or array-like
            Odds ratio of response and toxicity, finite and > 0 (1:
            independent; > 1: responders have more toxicity). Broadcast with
            ``p`` and ``q``.

        Returns
        -------
        BryantDayOC
            P(declare), PET and expected sample size per scenario.

        Examples
        --------
        >>> d = BryantDayDesign.from_boundaries(19, 5, 11, 33, 12, 22, 0.3, 0.5, 0.6, 0.8)
        >>> oc = d.oc([0.5, 0.5], [0.8, 0.8], odds_ratio=[1.0, 4.0])
        >>> [round(float(x), 4) for x in oc.p_declare]
        [0.8542, 0.8504]
        """
        owner = "BryantDayDesign.oc"
        try:
            pp, qq, psi = np.broadcast_arrays(
                np.asarray(p, dtype=float),
                np.asarray(q, dtype=float),
                np.asarray(odds_ratio, dtype=float),
            )
        except ValueError:
            raise fail(
                "p, q, odds_ratio", owner, "arrays that broadcast together", (p, q)
            ) from None
        for arr, name in ((pp, "p"), (qq, "q")):
            bad = ~((arr >= 0.0) & (arr <= 1.0))
            if bad.any():
                raise fail(name, owner, "a probability in [0, 1]", float(arr[bad].flat[0]))
        bad = ~(np.isfinite(psi) & (psi > 0.0))
        if bad.any():
            raise fail("odds_ratio", owner, "a finite number > 0", float(psi[bad].flat[0]))
        cells = _joint_cells(pp, qq, psi)
        dec, cont = _declare(self.n1, self.r1, self.t1, self.n, self.r, self.t, cells)
        return BryantDayOC(
            p=pp.ravel().astype(float),
            q=qq.ravel().astype(float),
            odds_ratio=psi.ravel().astype(float),
            p_declare=dec,
            p_early_stop=1.0 - cont,
            expected_n=self.n1 + cont * (self.n - self.n1),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the boundaries and figures."""
        out: dict[str, Any] = {
            name: getattr(self, name) for name in BryantDayDesign.__dataclass_fields__
        }
        out.update(
            alpha_r=self.alpha_r, alpha_t=self.alpha_t, beta=self.beta, expected_n=self.expected_n
        )
        return out

    def __str__(self) -> str:
        return (
            f"n1 = {self.n1} (continue if responses > {self.r1} and non-toxic > {self.t1}), "
            f"n = {self.n} (promising if responses > {self.r} and non-toxic > {self.t}); "
            f"alpha_r = {self.alpha_r:.4f}, alpha_t = {self.alpha_t:.4f}, "
            f"beta = {self.beta:.4f}, EN(p0, q1) = {self.expected_n_p0q1:.2f}, "
            f"EN(p1, q0) = {self.expected_n_p1q0:.2f}"
        )


@dataclass(frozen=True, slots=True)
class BryantDayResult:
    """Result of :func:`bryant_day`: the optimal and minimax designs.

    Attributes
    ----------
    p0, p1, q0, q1, alpha_r, alpha_t, beta : float
        The design problem.
    nmax : int
        Largest total sample size searched.
    odds_ratio : float
        Odds ratio of response and toxicity assumed by the search.
    optimal : BryantDayDesign or None
        Smallest ``max(EN(p0, q1), EN(p1, q0))`` (None if no design is
        feasible up to ``nmax``).
    minimax : BryantDayDesign or None
        Smallest ``n``, then the smallest objective.
    """

    p0: float
    p1: float
    q0: float
    q1: float
    alpha_r: float
    alpha_t: float
    beta: float
    nmax: int
    odds_ratio: float
    optimal: BryantDayDesign | None
    minimax: BryantDayDesign | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"problem": {...}, "optimal": {...}, "minimax": {...}}``."""
        problem = {
            "p0": self.p0, "p1": self.p1, "q0": self.q0, "q1": self.q1,
            "alpha_r": self.alpha_r, "alpha_t": self.alpha_t, "beta": self.beta,
            "nmax": self.nmax, "odds_ratio": self.odds_ratio,
        }  # fmt: skip
        return {
            "problem": problem,
            "optimal": None if self.optimal is None else self.optimal.to_dict(),
            "minimax": None if self.minimax is None else self.minimax.to_dict(),
        }

    def __str__(self) -> str:
        head = (
            f"Bryant & Day two-stage designs: p0 = {self.p0:g}, p1 = {self.p1:g}, "
            f"q0 = {self.q0:g}, q1 = {self.q1:g} (non-toxicity), alpha_r = {self.alpha_r:g}, "
            f"alpha_t = {self.alpha_t:g}, beta = {self.beta:g}, nmax = {self.nmax}"
        )
        if self.optimal is None or self.minimax is None:
            return head + "\n  no design meets the constraints"
        return "\n".join([head, f"  optimal: {self.optimal}", f"  minimax: {self.minimax}"])


# ---------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------
def _rates_iv(
    p0: Any, p1: Any, q0: Any, q1: Any, odds_ratio: Any, owner: str
) -> tuple[float, float, float, float, float]:
    p0 = check_probability(p0, "p0", owner)
    p1 = check_probability(p1, "p1", owner)
    if not p1 > p0:
        raise fail("p1", owner, f"a probability in (p0, 1) = ({p0:g}, 1)", p1)
    q0 = check_probability(q0, "q0", owner)
    q1 = check_probability(q1, "q1", owner)
    if not q1 > q0:
        raise fail("q1", owner, f"a non-toxicity rate in (q0, 1) = ({q0:g}, 1)", q1)
    psi = check_real(
        odds_ratio, "odds_ratio", owner, low=0.0, low_open=True, finite=True,
        allowed="a finite number > 0",
    )  # fmt: skip
    return p0, p1, q0, q1, psi


def bryant_day(
    p0: float,
    p1: float,
    q0: float,
    q1: float,
    alpha_r: float = 0.10,
    alpha_t: float = 0.10,
    beta: float = 0.10,
    nmax: int = 60,
    odds_ratio: float = 1.0,
) -> BryantDayResult:
    """Optimal and minimax Bryant & Day two-stage designs for response and toxicity.

    Parameters
    ----------
    p0 : float
        Uninteresting response rate, in (0, 1).
    p1 : float
        Acceptable response rate, in (p0, 1).
    q0 : float
        Unacceptable *non-toxicity* rate (1 − the toxicity limit), in (0, 1).
    q1 : float
        Acceptable non-toxicity rate, in (q0, 1).
    alpha_r : float
        Largest P(declare | p0, q1), in (0, 1); default 0.10.
    alpha_t : float
        Largest P(declare | p1, q0), in (0, 1); default 0.10.
    beta : float
        Largest P(not declared | p1, q1), in (0, 1); default 0.10.
    nmax : int
        Largest total sample size searched, in [2, 300]; default 60.
    odds_ratio : float
        Odds ratio of response and toxicity assumed in the constraints and the
        objective; default 1 (independence, Bryant & Day's working
        assumption, and the fast factorised search).

    Returns
    -------
    BryantDayResult
        The optimal and minimax designs (None if none is feasible up to
        ``nmax``), each with its exact figures at ``odds_ratio``.

    Raises
    ------
    DesignError
        If an argument is out of range; the message names it.
    ResourceError
        If the search would need more memory than the limit allows.

    Notes
    -----
    The search is exhaustive over ``1 <= n1 < n <= nmax``,
    ``0 <= r1 < r < n``, ``0 <= t1 < t < n`` apart from the necessary
    conditions described in the module docstring, and every probability is
    exact. Constraints are checked without slack.

    References
    ----------
    Bryant J, Day R (1995). Incorporating toxicity considerations into the
    design of two-stage phase II clinical trials. Biometrics 51:1372-1383.

    Examples
    --------
    The worked example of Bryant & Day (1995, p. 1379): response 0.3 vs 0.5,
    non-toxicity 0.6 vs 0.8, all three error rates 0.15.

    >>> res = bryant_day(0.3, 0.5, 0.6, 0.8, alpha_r=0.15, alpha_t=0.15, beta=0.15, nmax=45)
    >>> d = res.optimal
    >>> (d.n1, d.r1, d.t1, d.n, d.r, d.t), round(d.expected_n, 2)
    ((19, 5, 11, 33, 12, 22), 26.19)
    """
    p0, p1, q0, q1, psi = _rates_iv(p0, p1, q0, q1, odds_ratio, _OWNER)
    alpha_r = check_probability(alpha_r, "alpha_r", _OWNER)
    alpha_t = check_probability(alpha_t, "alpha_t", _OWNER)
    beta = check_probability(beta, "beta", _OWNER)
    nmax = check_int(nmax, "nmax", _OWNER, low=2, high=_NMAX_HIGH)
    require_memory(
        _cost(nmax, psi != 1.0), f"the Bryant & Day search up to nmax = {nmax} patients", _REMEDY
    )
    records = _search(p0, p1, q0, q1, alpha_r, alpha_t, beta, nmax, psi)
    if not records:
        return BryantDayResult(p0, p1, q0, q1, alpha_r, alpha_t, beta, nmax, psi, None, None)

    def build(rec: _Record) -> BryantDayDesign:
        _, n, n1, r1, t1, r, t = rec
        return BryantDayDesign.from_boundaries(n1, r1, t1, n, r, t, p0, p1, q0, q1, psi)

    minimax = build(records[0])
    optimal = build(min(records, key=lambda rec: (rec[0], rec[1])))
    return BryantDayResult(p0, p1, q0, q1, alpha_r, alpha_t, beta, nmax, psi, optimal, minimax)


_Record = tuple[float, int, int, int, int, int, int]  # (objective, n, n1, r1, t1, r, t)


def _cost(nmax: int, joint: bool) -> float:
    """Peak bytes of the search: its tables and a dozen arrays of one block."""
    tables = 2 * 2 * (nmax + 1) * (nmax + 2) * 8.0
    if joint:  # joint pmf and survival tables, m = 0..nmax, three scenarios
        tables += 3 * 2 * sum((m + 2) ** 2 for m in range(nmax + 1)) * 8.0
    return tables + 12 * _BLOCK_CELLS * 8.0 + float(1 << 20)


def _largest_le(cdf: Float, level: float) -> NDArray[np.int64]:
    """Per row m, the largest k <= m - 1 with cdf[m, k] <= level (-1 if none)."""
    m = np.arange(cdf.shape[0])
    k = (cdf <= level).sum(axis=1) - 1  # cdf increases in k: a prefix qualifies
    return np.asarray(np.minimum(k, m - 1), dtype=np.int64)


def _accept(pmf: Float, ge: Float, n1: int, n: int, cap: int, hi: int) -> Float:
    """Simon acceptance ``A[s, r1, r] = P(X1 > r1, X1 + X2 > r)``, r1 = 0..cap, r = 0..hi."""
    m = n - n1
    x1 = np.arange(n1 + 1)
    rr = np.arange(hi + 1)
    j = np.clip(rr[None, :] - x1[:, None] + 1, 0, m + 1)  # P(X2 > r - x1) = ge[m, j]
    terms = pmf[:, n1, : n1 + 1][:, :, None] * ge[:, m][:, j]  # (S, x1, r)
    tail = np.cumsum(terms[:, ::-1], axis=1)[:, ::-1]  # sum over x1' >= x1
    return np.asarray(tail[:, 1 : cap + 2], dtype=float)


def _joint_rows(
    pmf1: Float,
    ge2: Float,
    m: int,
    r: int,
    r1s: NDArray[np.int64],
    t1s: NDArray[np.int64],
    ts: NDArray[np.int64],
) -> Float:
    """``D[s, r1, t1, t] = sum_{x1 > r1, y1 > t1} P(x1, y1) P(X2 > r - x1, Y2 > t - y1)``."""
    n1 = pmf1.shape[1] - 1
    lo_x, lo_y = int(r1s[0]) + 1, int(t1s[0]) + 1  # only x1 > min r1, y1 > min t1 matter
    x1 = np.arange(lo_x, n1 + 1)
    y1 = np.arange(lo_y, n1 + 1)
    jr = np.clip(r - x1 + 1, 0, m + 1)  # (x1,)
    jt = np.clip(ts[:, None] - y1[None, :] + 1, 0, m + 1)  # (T, y1)
    g = ge2[:, jr][:, :, jt]  # (S, x1, T, y1)
    terms = pmf1[:, lo_x:, None, lo_y:] * g
    tail = np.cumsum(np.cumsum(terms[:, ::-1, :, ::-1], axis=1), axis=3)[:, ::-1, :, ::-1]
    rows = tail[:, r1s + 1 - lo_x][:, :, :, t1s + 1 - lo_y]  # (S, R1, T, T1)
    return np.asarray(rows.transpose(0, 1, 3, 2), dtype=float)  # (S, R1, T1, T)


def _search(
    p0: float,
    p1: float,
    q0: float,
    q1: float,
    alpha_r: float,
    alpha_t: float,
    beta: float,
    nmax: int,
    odds_ratio: float,
    *,
    factorised: bool | None = None,
) -> list[_Record]:
    """Per total size n (increasing), the feasible design with the smallest objective.

    Only sizes whose best objective beats every smaller size are guaranteed to
    be present; the first record is the minimax design. ``factorised`` forces
    (True) or refuses (False) the product form; by default it is used at odds
    ratio 1.
    """
    if factorised is None:
        factorised = odds_ratio == 1.0
    if factorised and odds_ratio != 1.0:
        raise ValueError("the factorised search needs odds_ratio = 1")
    target = 1.0 - beta
    resp_pmf, resp_ge = _binomial_tables([p0, p1], nmax)  # s = 0: p0, 1: p1
    tox_pmf, tox_ge = _binomial_tables([q0, q1], nmax)  # s = 0: q0, 1: q1
    # stage-1 caps from P(X1 > r1 | p1) >= 1 - beta, final caps from P(X > r | p1) >= 1 - beta
    r1max = _largest_le(np.cumsum(resp_pmf[1], axis=1), beta)
    t1max = _largest_le(np.cumsum(tox_pmf[1], axis=1), beta)
    rhi = np.minimum((resp_ge[1, :, 1:] >= target).sum(axis=1) - 1, np.arange(nmax + 1) - 1)
    thi = np.minimum((tox_ge[1, :, 1:] >= target).sum(axis=1) - 1, np.arange(nmax + 1) - 1)
    bound_r = alpha_r / target if factorised else alpha_r + beta
    bound_t = alpha_t / target if factorised else alpha_t + beta
    joint_pmf: list[Float] = []
    joint_ge: list[Float] = []
    if not factorised:  # scenarios (p0, q1), (p1, q0), (p1, q1)
        cells = _joint_cells([p0, p1, p1], [q1, q0, q1], odds_ratio)
        joint_pmf, joint_ge = _joint_tables(cells, nmax)

    # smallest possible P(continue) per n1 in the two null cases (r1, t1 at their caps)
    sizes = np.arange(nmax + 1)
    sr = np.where(r1max >= 0, resp_ge[:, sizes, np.maximum(r1max, 0) + 1], 1.0)  # (2, n1)
    st = np.where(t1max >= 0, tox_ge[:, sizes, np.maximum(t1max, 0) + 1], 1.0)
    if factorised:
        cont_min = np.maximum(sr[0] * st[1], sr[1] * st[0])
    else:  # Fréchet: P(A and B) >= P(A) + P(B) - 1
        cont_min = np.maximum(
            np.maximum(sr[0] + st[1] - 1.0, 0.0), np.maximum(sr[1] + st[0] - 1.0, 0.0)
        )

    records: list[_Record] = []
    best = np.inf
    for n in range(2, nmax + 1):
        if rhi[n] < 1 or thi[n] < 1:
            continue
        n1s = np.arange(1, n)
        keep = (r1max[n1s] >= 0) & (t1max[n1s] >= 0)
        keep &= n1s + (n - n1s) * cont_min[n1s] < best
        if not keep.any():
            if records and n >= best:
                break  # every n1 < n is pruned and every n1 >= n has EN >= n1 >= best
            continue
        rec: _Record | None = None
        for n1 in n1s[keep].tolist():
            cand = _best_first_stage(
                n, n1, int(r1max[n1]), int(t1max[n1]), int(rhi[n]), int(thi[n]),
                resp_pmf, resp_ge, tox_pmf, tox_ge, joint_pmf, joint_ge,
                bound_r, bound_t, alpha_r, alpha_t, target, best,
            )  # fmt: skip
            if cand is not None and (rec is None or cand[0] < rec[0]):
                rec = cand
                best = min(best, cand[0])
        if rec is not None:
            records.append(rec)
    return records


def _first_le(row: Float, level: float, hi: int) -> int:
    """First index of the non-increasing ``row`` with value <= ``level`` (``hi + 1``: none)."""
    le = row <= level
    return int(np.argmax(le)) if le.any() else hi + 1


def _chunks(
    rlo: int, rhi: int, ts: NDArray[np.int64], shape: tuple[int, int], joint_n1: int | None
) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Blocks of (r values, t values), in order of r then t, of at most ~_BLOCK_CELLS cells.

    A block holds ``R1 T1 len(rs) len(ts)`` cells of ``(r1, t1, r, t)``; for the joint
    path (``joint_n1`` given) one ``r`` at a time, with the ``3 (n1 + 1)**2 len(ts)``
    cells of the joint tail sums also bounded.
    """
    per_t = shape[0] * shape[1]
    if joint_n1 is not None:
        per_t = max(per_t, 3 * (joint_n1 + 1) ** 2)
    tc = int(min(ts.size, max(1, _BLOCK_CELLS // per_t)))
    rc = 1 if joint_n1 is not None else int(max(1, _BLOCK_CELLS // (per_t * tc)))
    out: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []
    for start in range(rlo, rhi + 1, rc):
        rs = np.arange(start, min(start + rc, rhi + 1))
        out.extend((rs, ts[i : i + tc]) for i in range(0, ts.size, tc))
    return out


def _best_first_stage(
    n: int,
    n1: int,
    r1cap: int,
    t1cap: int,
    rhi: int,
    thi: int,
    resp_pmf: Float,
    resp_ge: Float,
    tox_pmf: Float,
    tox_ge: Float,
    joint_pmf: list[Float],
    joint_ge: list[Float],
    bound_r: float,
    bound_t: float,
    alpha_r: float,
    alpha_t: float,
    target: float,
    best: float,
) -> _Record | None:
    """The feasible (r1, t1, r, t) of sizes (n1, n) with the smallest objective below ``best``.

    First stages ``(r1, t1)`` are screened in two dimensions: the objective
    ``n1 + (n - n1) max(P(continue | p0, q1), P(continue | p1, q0))`` must be below
    ``best``, the power at the most favourable ``(r, t)`` (the smallest allowed) must
    reach ``1 - beta`` and, under independence, the alphas at the least favourable
    (the largest) must be met. Only the bounding box of the survivors is evaluated in
    full, in chunks of at most about :data:`_BLOCK_CELLS` cells of ``(r1, t1, r, t)``.
    """
    m = n - n1
    if joint_pmf:
        cont = joint_ge[n1][:, 1 : r1cap + 2, 1 : t1cap + 2]  # P(X1 > r1, Y1 > t1)
        cont_null = np.maximum(cont[0], cont[1])
    else:
        sr = resp_ge[:, n1, 1 : r1cap + 2]  # P(X1 > r1): p0, p1
        st = tox_ge[:, n1, 1 : t1cap + 2]  # P(Y1 > t1): q0, q1
        cont_null = np.maximum(sr[0][:, None] * st[1][None, :], sr[1][:, None] * st[0][None, :])
    obj = n1 + m * cont_null  # (R1, T1)
    cand = obj < best
    if not cand.any():
        return None
    a = _accept(resp_pmf, resp_ge, n1, n, r1cap, rhi)  # (2, r1 = 0..r1cap, r = 0..rhi): p0, p1
    b = _accept(tox_pmf, tox_ge, n1, n, t1cap, thi)  # (2, t1 = 0..t1cap, t = 0..thi): q0, q1
    # alpha_r needs A(p0; r1, r) <= bound_r: A decreases in r1, so the largest r1 bounds r
    rlo, tlo = _first_le(a[0, -1], bound_r, rhi), _first_le(b[0, -1], bound_t, thi)
    # necessary for (r1, t1), from the most favourable (r, t) for each constraint:
    # power at the smallest r > r1 and t > t1, the alphas at the largest r and t
    rf = np.maximum(np.arange(r1cap + 1) + 1, rlo)
    tf = np.maximum(np.arange(t1cap + 1) + 1, tlo)
    a1_max = np.where(rf <= rhi, a[1, np.arange(r1cap + 1), np.minimum(rf, rhi)], 0.0)
    b1_max = np.where(tf <= thi, b[1, np.arange(t1cap + 1), np.minimum(tf, thi)], 0.0)
    if joint_pmf:  # P(A and B) <= min(P(A), P(B))
        cand &= np.minimum(a1_max[:, None], b1_max[None, :]) >= target
    else:
        cand &= a1_max[:, None] * b1_max[None, :] >= target
    if not joint_pmf:  # the alphas factorise too
        cand &= a[0, :, rhi][:, None] * b[1, :, thi][None, :] <= alpha_r
        cand &= a[1, :, rhi][:, None] * b[0, :, thi][None, :] <= alpha_t
    if not cand.any():
        return None
    rows, cols = np.flatnonzero(cand.any(axis=1)), np.flatnonzero(cand.any(axis=0))
    r1s = np.arange(rows[0], rows[-1] + 1)
    t1s = np.arange(cols[0], cols[-1] + 1)
    a, b = a[:, r1s], b[:, t1s]
    rlo = max(_first_le(a[0, -1], bound_r, rhi), int(r1s[0]) + 1)
    tlo = max(_first_le(b[0, -1], bound_t, thi), int(t1s[0]) + 1)
    if rlo > rhi or tlo > thi:
        return None
    ts_all = np.arange(tlo, thi + 1)
    shape = (r1s.size, t1s.size)
    best_pw = np.full(shape, -np.inf)  # per (r1, t1): largest feasible P(declare | p1, q1)
    best_r = np.zeros(shape, dtype=np.int64)
    best_t = np.zeros(shape, dtype=np.int64)
    for rs, ts in _chunks(rlo, rhi, ts_all, shape, n1 if joint_pmf else None):
        if joint_pmf:  # one r at a time
            d = _joint_rows(joint_pmf[n1], joint_ge[m], m, int(rs[0]), r1s, t1s, ts)[..., None, :]
            d0, d1, d2 = d[0], d[1], d[2]  # (R1, T1, 1, T): (p0, q1), (p1, q0), (p1, q1)
        else:
            ar0, ar1 = a[0][:, rs], a[1][:, rs]
            bt0, bt1 = b[0][:, ts], b[1][:, ts]
            d0 = ar0[:, None, :, None] * bt1[None, :, None, :]
            d1 = ar1[:, None, :, None] * bt0[None, :, None, :]
            d2 = ar1[:, None, :, None] * bt1[None, :, None, :]
        ok = (d0 <= alpha_r) & (d1 <= alpha_t) & (d2 >= target)
        ok &= rs[None, None, :, None] > r1s[:, None, None, None]
        ok &= ts[None, None, None, :] > t1s[None, :, None, None]
        pw = np.where(ok, d2, -np.inf).reshape(*shape, -1)
        k = np.argmax(pw, axis=2)  # first maximum: smallest r, then t
        val = np.take_along_axis(pw, k[:, :, None], axis=2)[:, :, 0]
        better = val > best_pw  # strict: an earlier chunk (smaller r, then t) keeps a tie
        best_pw = np.where(better, val, best_pw)
        best_r = np.where(better, rs[k // ts.size], best_r)
        best_t = np.where(better, ts[k % ts.size], best_t)
    obj = obj[np.ix_(r1s, t1s)]
    good = (best_pw > -np.inf) & (obj < best)
    if not good.any():
        return None
    k = int(np.argmin(np.where(good, obj, np.inf)))  # first minimum: smallest r1, then t1
    i, j = divmod(k, t1s.size)
    return (float(obj[i, j]), n, n1, int(r1s[i]), int(t1s[j]), int(best_r[i, j]),
            int(best_t[i, j]))  # fmt: skip
