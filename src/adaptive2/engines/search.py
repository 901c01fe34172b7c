"""Design searches: Lee & Liu's predictive-probability design, and Simon-style searches.

Two searches share one result type, :class:`SearchResult`:

* :func:`lee_liu` — the predictive-probability (PP) design of Lee & Liu (2008):
  for every maximum sample size ``N``, every final cutoff θ_T and every futility
  threshold θ_L, the exact type I error, power, E[N | p0] and PET(p0), and the
  designs meeting both error targets;
* :func:`design_search` — for a *rule family* (PP futility with a posterior
  final rule, posterior-probability futility, BOP2, or any template
  :class:`~adaptive2.model.designs.Design`) over sample sizes and look schedules,
  each family's tuning parameter calibrated to the type I error target with
  :func:`adaptive2.engines.calibration.calibrate` (or
  :func:`~adaptive2.engines.calibration.calibrate_bop2`);
* :func:`pareto` — the same classification for a list of designs you already
  have.

Every result marks, as in Simon (1989) and Jung et al. (2004):

* ``optimal``: the smallest E[N | p0];
* ``minimax``: the smallest ``N`` (ties broken by a criterion, by default the
  smallest E[N | p0]);
* ``admissible``: the vertices of the lower convex hull of the points
  (N, smallest E[N | p0] at that N), from the minimax (weight q = 1 on N) to
  the optimal design (q = 0): each minimises q N + (1 − q) E[N | p0] for q in
  ``[q_low, q_high]``;
* ``pareto``: designs not dominated in (smaller N, smaller E[N | p0], larger
  power).

References
----------
Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer
clinical trials. Clinical Trials 5:93-106.
Simon R (1989). Optimal two-stage designs for phase II clinical trials.
Controlled Clinical Trials 10:1-10.
Jung SH, Lee T, Kim K, George SL (2004). Admissible two-stage designs for
phase II cancer clinical trials. Journal of Statistical Planning and
Inference 125:129-142.
Zhou H, Lee JJ, Yuan Y (2017). BOP2: Bayesian optimal design for phase II
clinical trials with simple and complex endpoints. Stat Med 36:3302-3314.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.formatting import jsonable
from adaptive2._base.validation import check_choice, check_int, check_probability, fail
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.priors import Beta, BetaMixture, Prior, PriorSpec

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd



__all__ = ["OBJECTIVES", "SearchDesign", "SearchResult", "objective_key"]


_MAX_N = 300  # largest maximum sample size a search considers
_TOL = 1e-12


#: Default θ_L grid of :func:`lee_liu`: 0.001, 0.002, ..., 0.200.
DEFAULT_THETA_L: tuple[float, ...] = tuple(round(k / 1000, 3) for k in range(1, 201))


#: Default range of θ_T values explored exactly by :func:`lee_liu`.
DEFAULT_THETA_T_RANGE: tuple[float, float] = (0.80, 0.999)


_CRITERIA = ("expected_n", "pet", "power")


#: How a search result's design is chosen (:meth:`SearchResult.choose`):
#:
#: * ``"min-EN0"``: the smallest E[N | p0] (the *optimal* design of Simon 1989);
#: * ``"min-max-N"``: the smallest maximum N, ties broken by the smallest
#:   E[N | p0] (the *minimax* design);
#: * ``"balanced"``: the smallest (N + E[N | p0]) / 2, i.e. the admissible
#:   design of Jung et al. (2004) for the weight q = 1/2 on N.
#:
#: Remaining ties go to the smaller E[N | p0], then the smaller N, then the
#: larger power.
OBJECTIVES: tuple[str, ...] = ("min-EN0", "min-max-N", "balanced")


def objective_key(objective: str) -> Callable[[float, float, float], tuple[float, ...]]:
    """The sort key of ``objective`` as a function of (N, E[N | p0], power); smallest wins.

    Parameters
    ----------
    objective : {"min-EN0", "min-max-N", "balanced"}
        See :data:`OBJECTIVES`.

    Returns
    -------
    callable
        ``key(n_max, expected_n_p0, power)``, a tuple to minimise.

    Raises
    ------
    DesignError
        If ``objective`` is not one of :data:`OBJECTIVES`.

    Examples
    --------
    >>> key = objective_key("balanced")
    >>> key(25, 19.5, 0.8) < key(29, 15.0, 0.8)      # (25 + 19.5) / 2 < (29 + 15) / 2
    False
    """
    objective = check_choice(objective, "objective", "objective_key", OBJECTIVES)
    if objective == "min-EN0":
        return lambda n, en, pw: (en, n, -pw)
    if objective == "min-max-N":
        return lambda n, en, pw: (n, en, -pw)
    return lambda n, en, pw: ((n + en) / 2, en, n, -pw)


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class SearchDesign:
    """One design found by a search, with its exact operating characteristics.

    The :class:`~adaptive2.model.designs.Design` object is built on first access of
    :attr:`design` (searches may list thousands of designs; building each one
    re-derives its boundaries, which the search already has).

    Attributes
    ----------
    index : int
        Row label of the design in :attr:`SearchResult.table`.
    name : str
        Design name.
    n_max : int
        Maximum sample size N.
    looks : tuple of int
        Cumulative patients at each analysis (the last is N).
    parameters : dict
        Tuning parameters, keyed like :func:`adaptive2.engines.calibration.set_parameter`
        (``"futility.threshold"``, ``"final.cutoff"``, ...).
    alpha : float
        Type I error: P(efficacy) at p0, which for these monotone boundary
        designs is the worst case over p ≤ p0.
    power : float
        P(efficacy) at p1.
    expected_n_p0 : float
        E[N | p0].
    pet_p0 : float
        Probability of stopping before the last look at p0.
    boundaries : Boundaries
        Integer stopping boundaries per look.
    q_interval : (float, float) or None
        For an admissible design, the weights q on N for which it minimises
        q N + (1 − q) E[N | p0]; otherwise None.
    """

    index: int
    name: str
    n_max: int
    looks: tuple[int, ...]
    parameters: dict[str, float]
    alpha: float
    power: float
    expected_n_p0: float
    pet_p0: float
    boundaries: Boundaries
    q_interval: tuple[float, float] | None = None
    _build: Callable[[], Design] = field(repr=False)

    @functools.cached_property
    def design(self) -> Design:
        """The :class:`~adaptive2.model.designs.Design` (built on first access)."""
        return self._build()

    def to_dict(self, *, boundaries: bool = True) -> dict[str, Any]:
        """JSON-ready dict of the figures (and, by default, the boundary table)."""
        out: dict[str, Any] = {
            "index": int(self.index),
            "name": self.name,
            "n_max": int(self.n_max),
            "looks": [int(n) for n in self.looks],
            "parameters": {k: _json_float(v) for k, v in self.parameters.items()},
            "alpha": float(self.alpha),
            "power": float(self.power),
            "expected_n_p0": float(self.expected_n_p0),
            "pet_p0": float(self.pet_p0),
        }
        if self.q_interval is not None:
            out["q_interval"] = [float(self.q_interval[0]), float(self.q_interval[1])]
        if boundaries:
            out["boundaries"] = self.boundaries.to_records()
        return out

    def __str__(self) -> str:
        params = ", ".join(f"{k} = {_fmt_param(v)}" for k, v in self.parameters.items())
        return (
            f"{self.name}: N = {self.n_max}, looks = {_looks_text(self.looks)}"
            + (f", {params}" if params else "")
            + f": alpha = {self.alpha:.4f}, power = {self.power:.4f}, "
            f"EN(p0) = {self.expected_n_p0:.2f}, PET(p0) = {self.pet_p0:.3f}"
        )


@dataclass(frozen=True, eq=False, kw_only=True)
class SearchResult:
    """Result of :func:`lee_liu`, :func:`design_search` or :func:`pareto`.

    Attributes
    ----------
    method : str
        ``"lee_liu"``, ``"design_search"`` or ``"pareto"``.
    p0, p1 : float
        Null and alternative response rates.
    target_alpha, target_power : float or None
        The error targets (None where :func:`pareto` was given none).
    table : pandas.DataFrame
        One row per design meeting the targets (index 0, 1, ... matching
        :attr:`designs`), sorted by ``n_max`` then ``expected_n_p0``. Columns
        include ``n_max``, ``looks``, ``parameters``, ``alpha``, ``power``,
        ``expected_n_p0``, ``pet_p0``, the flags ``optimal``, ``minimax``,
        ``admissible``, ``pareto`` and, for admissible designs, ``q_low`` and
        ``q_high``; each search adds its own columns (θ values, schedule).
    designs : tuple of SearchDesign
        One per row of :attr:`table`.
    optimal, minimax : SearchDesign or None
        None when no design meets the targets.
    admissible, pareto : tuple of SearchDesign
        Admissible designs sorted by N (minimax first, optimal last); the
        Pareto front sorted by N then E[N | p0].
    feasible : bool
        Whether any design meets the targets.
    message : str
        What was searched, or why nothing meets the targets.
    settings : dict
        The search settings (JSON-ready), for provenance.
    n_evaluated : int
        Number of distinct designs (boundary tables) whose OC were computed.
    """

    method: str
    p0: float
    p1: float
    target_alpha: float | None
    target_power: float | None
    table: pd.DataFrame
    designs: tuple[SearchDesign, ...]
    optimal: SearchDesign | None
    minimax: SearchDesign | None
    admissible: tuple[SearchDesign, ...]
    pareto: tuple[SearchDesign, ...]
    feasible: bool
    message: str
    settings: dict[str, Any]
    n_evaluated: int

    def choose(self, objective: str = "min-EN0") -> SearchDesign | None:
        """The design the ``objective`` picks among all designs meeting the targets.

        Parameters
        ----------
        objective : {"min-EN0", "min-max-N", "balanced"}
            See :data:`OBJECTIVES`: ``"min-EN0"`` gives :attr:`optimal`,
            ``"min-max-N"`` the minimax design with ties broken by E[N | p0],
            ``"balanced"`` the admissible design for q = 1/2.

        Returns
        -------
        SearchDesign or None
            None when no design meets the targets.
        """
        key = objective_key(objective)
        if not self.designs:
            return None
        return min(self.designs, key=lambda d: key(d.n_max, d.expected_n_p0, d.power))

    def design(self, index: int) -> Design:
        """The :class:`~adaptive2.model.designs.Design` of row ``index`` of :attr:`table`."""
        if not self.designs:
            raise DesignError("`index` of SearchResult.design: the result lists no design.")
        i = check_int(index, "index", "SearchResult.design", low=0, high=len(self.designs) - 1)
        return self.designs[i].design

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: settings, the marked designs and the Pareto front.

        Optimal, minimax and admissible designs carry their boundary tables;
        Pareto-front entries carry figures and parameters only.
        """
        return {
            "method": self.method,
            "p0": float(self.p0),
            "p1": float(self.p1),
            "target_alpha": _json_float(self.target_alpha),
            "target_power": _json_float(self.target_power),
            "feasible": bool(self.feasible),
            "message": self.message,
            "n_designs": len(self.designs),
            "n_evaluated": int(self.n_evaluated),
            "settings": self.settings,
            "optimal": None if self.optimal is None else self.optimal.to_dict(),
            "minimax": None if self.minimax is None else self.minimax.to_dict(),
            "admissible": [d.to_dict() for d in self.admissible],
            "pareto": [d.to_dict(boundaries=False) for d in self.pareto],
        }

    def __str__(self) -> str:
        targets = []
        if self.target_alpha is not None:
            targets.append(f"alpha <= {self.target_alpha:g}")
        if self.target_power is not None:
            targets.append(f"power >= {self.target_power:g}")
        head = (
            f"{self.method}: p0 = {self.p0:g}, p1 = {self.p1:g}"
            + (f", {', '.join(targets)}" if targets else "")
            + f"; {len(self.designs)} designs listed of {self.n_evaluated} evaluated"
        )
        if not self.feasible or self.optimal is None or self.minimax is None:
            return f"{head}\n  {self.message}"
        lines = [head, f"  minimax: {self.minimax}", f"  optimal: {self.optimal}"]
        lines += [f"  admissible: {d}" for d in self.admissible]
        lines.append(f"  Pareto front: {len(self.pareto)} designs")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Classification shared by all searches
# ---------------------------------------------------------------------------
def _finish(
    method: str,
    records: list[dict[str, Any]],
    cfg: Mapping[str, Any],
    *,
    criterion: str,
    message: str,
    n_evaluated: int,
    make_builder: Callable[[dict[str, Any]], Callable[[], Design]],
    parameters_of: Callable[[dict[str, Any]], dict[str, float]],
    name_of: Callable[[dict[str, Any]], str],
    n_top: int | None = None,
) -> SearchResult:
    import pandas as pd

    records = sorted(
        records, key=lambda r: (r["n_max"], r["expected_n_p0"], -r["power"], r["n_looks"])
    )
    n = np.array([r["n_max"] for r in records], dtype=float)
    en = np.array([r["expected_n_p0"] for r in records], dtype=float)
    pw = np.array([r["power"] for r in records], dtype=float)
    pet = np.array([r["pet_p0"] for r in records], dtype=float)
    k = len(records)
    flags = {name: np.zeros(k, dtype=bool) for name in ("optimal", "minimax", "admissible")}
    q_low = np.full(k, np.nan)
    q_high = np.full(k, np.nan)
    i_opt = i_mm = None
    hull: list[int] = []
    if k:
        i_opt = int(np.lexsort((-pw, n, en))[0])
        at_min = np.flatnonzero(n == n.min())
        keys = {
            "expected_n": (-pet[at_min], -pw[at_min], en[at_min]),
            "pet": (-pw[at_min], en[at_min], -pet[at_min]),
            "power": (en[at_min], -pw[at_min]),
        }[criterion]
        i_mm = int(at_min[np.lexsort(keys)[0]])
        flags["optimal"][i_opt] = True
        flags["minimax"][i_mm] = True
        hull = _admissible(n, en, pw, pet)
        qs = [_q_break(n[a], en[a], n[b], en[b]) for a, b in itertools.pairwise(hull)]
        for idx, lo, hi in zip(hull, [*qs, 0.0], [1.0, *qs], strict=True):
            flags["admissible"][idx] = True
            q_low[idx], q_high[idx] = lo, hi
    front = _pareto_mask(n, en, pw)
    if i_opt is not None and n_top is not None and n[i_opt] == n_top:
        message += (
            f"; the optimal design has the largest N searched ({n_top}): a larger N may "
            "give a smaller E[N | p0]"
        )
    rows = []
    entries = []
    for i, rec in enumerate(records):
        params = parameters_of(rec)
        if "_a" in rec:
            bnd = _boundaries_from(rec["looks"], rec["_a"], rec["_b"])
        else:
            bnd = rec["_bnd"]
        row = {key: val for key, val in rec.items() if not key.startswith("_")}
        row["parameters"] = params
        row.update(
            optimal=bool(flags["optimal"][i]),
            minimax=bool(flags["minimax"][i]),
            admissible=bool(flags["admissible"][i]),
            pareto=bool(front[i]),
            q_low=q_low[i],
            q_high=q_high[i],
        )
        rows.append(row)
        entries.append(
            SearchDesign(
                index=i,
                name=name_of(rec),
                n_max=int(rec["n_max"]),
                looks=tuple(rec["looks"]),
                parameters=params,
                alpha=float(rec["alpha"]),
                power=float(rec["power"]),
                expected_n_p0=float(rec["expected_n_p0"]),
                pet_p0=float(rec["pet_p0"]),
                boundaries=bnd,
                q_interval=(float(q_low[i]), float(q_high[i])) if flags["admissible"][i] else None,
                _build=make_builder(rec),
            )
        )
    base_cols = [
        "n_max",
        "looks",
        "n_looks",
        "parameters",
        "alpha",
        "power",
        "expected_n_p0",
        "pet_p0",
        "optimal",
        "minimax",
        "admissible",
        "pareto",
        "q_low",
        "q_high",
    ]
    table = pd.DataFrame(rows)
    if table.empty:
        table = pd.DataFrame(columns=base_cols)
    else:
        extra = [c for c in table.columns if c not in base_cols]
        table = table[base_cols[:4] + extra + base_cols[4:]]
    designs = tuple(entries)
    return SearchResult(
        method=method,
        p0=float(cfg["p0"]),
        p1=float(cfg["p1"]),
        target_alpha=cfg["alpha"],
        target_power=cfg["power"],
        table=table,
        designs=designs,
        optimal=None if i_opt is None else designs[i_opt],
        minimax=None if i_mm is None else designs[i_mm],
        admissible=tuple(designs[i] for i in hull),
        pareto=tuple(d for d, f in zip(designs, front, strict=True) if f),
        feasible=bool(k),
        message=message,
        settings=dict(cfg["settings"]),
        n_evaluated=int(n_evaluated),
    )


def _boundaries_from(looks: tuple[int, ...], a: tuple[int, ...], b: tuple[int, ...]) -> Boundaries:
    fut = tuple(None if x < 0 else int(x) for x in a)
    eff = tuple(None if x > n else int(x) for x, n in zip(b, looks, strict=True))
    return Boundaries(tuple(looks), fut, eff)


def _admissible(n: np.ndarray, en: np.ndarray, pw: np.ndarray, pet: np.ndarray) -> list[int]:
    """Row indices of the admissible designs (lower convex hull of (N, min EN)), by N."""
    frontier: list[int] = []
    for size in np.unique(n):
        rows = np.flatnonzero(n == size)
        i = int(rows[np.lexsort((-pet[rows], -pw[rows], en[rows]))[0]])  # as the minimax
        if not frontier or en[i] < en[frontier[-1]]:
            frontier.append(i)
    hull: list[int] = []
    for i in frontier:
        while len(hull) >= 2:
            ia, ib = hull[-2], hull[-1]
            cross = (n[ib] - n[ia]) * (en[i] - en[ia]) - (en[ib] - en[ia]) * (n[i] - n[ia])
            scale = max(abs(en[ia]), abs(en[ib]), abs(en[i]), 1.0) * (n[i] - n[ia])
            if cross > 1e-12 * scale:  # strict left turn: hull[-1] is a vertex
                break
            hull.pop()
        hull.append(i)
    return hull


def _q_break(n_a: float, en_a: float, n_b: float, en_b: float) -> float:
    """Weight q at which q N + (1 − q) EN is equal for hull points a (smaller N) and b."""
    slope = (en_a - en_b) / (n_b - n_a)
    return float(slope / (1.0 + slope))


def _pareto_mask(n: np.ndarray, en: np.ndarray, pw: np.ndarray) -> np.ndarray:
    """True for points not dominated in (smaller n, smaller en, larger pw).

    Points are visited in lexicographic order (n, en, −pw): a dominator always
    comes first, and domination is transitive, so each point need only be
    compared with the front found so far.
    """
    k = n.size
    keep = np.zeros(k, dtype=bool)
    if k == 0:
        return keep
    order = np.lexsort((-pw, en, n))
    fn, fe, fp = np.empty(k), np.empty(k), np.empty(k)
    size = 0
    for i in order:
        if size:
            cn, ce, cp = fn[:size], fe[:size], fp[:size]
            weak = (cn <= n[i]) & (ce <= en[i]) & (cp >= pw[i])
            strict = (cn < n[i]) | (ce < en[i]) | (cp > pw[i])
            if np.any(weak & strict):
                continue
        keep[i] = True
        fn[size], fe[size], fp[size] = n[i], en[i], pw[i]
        size += 1
    return keep


# ---------------------------------------------------------------------------
# Argument checks and small helpers
# ---------------------------------------------------------------------------
def _rates_iv(p0: Any, p1: Any, owner: str) -> tuple[float, float]:
    p0f = check_probability(p0, "p0", owner)
    p1f = check_probability(p1, "p1", owner)
    if not p1f > p0f:
        raise fail("p1", owner, f"a probability in (p0, 1) = ({p0f:g}, 1)", p1)
    return p0f, p1f


def _prior_iv(prior: Any, p0: float, owner: str) -> tuple[Prior | PriorSpec, Prior]:
    if prior is None:
        beta = Beta(p0, 1.0 - p0)
        return beta, beta
    if isinstance(prior, PriorSpec):
        return prior, prior.build()
    if isinstance(prior, Beta | BetaMixture):
        return prior, prior
    raise fail("prior", owner, "a Beta, BetaMixture, PriorSpec or None", prior)


def _n_range_iv(n_range: Any, owner: str) -> tuple[int, int]:
    allowed = f"a pair (low, high) of integers with 1 <= low <= high <= {_MAX_N}"
    if isinstance(n_range, str | bytes) or not isinstance(n_range, Sequence) or len(n_range) != 2:
        raise fail("n_range", owner, allowed, n_range)
    try:
        lo = check_int(n_range[0], "n_range", owner, low=1, high=_MAX_N)
        hi = check_int(n_range[1], "n_range", owner, low=1, high=_MAX_N)
    except DesignError:
        raise fail("n_range", owner, allowed, n_range) from None
    if lo > hi:
        raise fail("n_range", owner, allowed, n_range)
    return lo, hi


def _nonempty_list(values: Any, name: str, owner: str, allowed: str) -> list[Any]:
    """``values`` as a non-empty list (not a string), else an error naming ``name``."""
    if isinstance(values, str | bytes):
        raise fail(name, owner, allowed, values)
    try:
        vals = list(values)
    except TypeError:
        raise fail(name, owner, allowed, values) from None
    if not vals:
        raise fail(name, owner, allowed, vals)
    return vals


def _n_values_iv(values: Any, owner: str) -> tuple[int, ...]:
    allowed = f"a non-empty list of integers in [1, {_MAX_N}]"
    vals = _nonempty_list(values, "n_values", owner, allowed)
    try:
        out = [check_int(v, "n_values", owner, low=1, high=_MAX_N) for v in vals]
    except DesignError:
        raise fail("n_values", owner, allowed, vals) from None
    return tuple(sorted(set(out)))


def _schedules_iv(values: Any, owner: str) -> tuple[int | tuple[float, ...], ...]:
    allowed = (
        "a non-empty list of look counts (integers >= 1) or increasing fractions in (0, 1] "
        "ending at 1"
    )
    vals = _nonempty_list(values, "look_schedules", owner, allowed)
    out: list[int | tuple[float, ...]] = []
    for v in vals:
        if isinstance(v, int | np.integer) and not isinstance(v, bool):
            if not 1 <= int(v) <= 50:
                raise fail("look_schedules", owner, allowed, vals)
            out.append(int(v))
            continue
        if isinstance(v, str | bytes) or not isinstance(v, Sequence) or not v:
            raise fail("look_schedules", owner, allowed, vals)
        try:
            fr = tuple(float(x) for x in v)
        except (TypeError, ValueError):
            raise fail("look_schedules", owner, allowed, vals) from None
        ok = all(0 < f <= 1 for f in fr) and fr[-1] == 1.0
        ok = ok and all(b > a for a, b in itertools.pairwise(fr))
        if not ok:
            raise fail("look_schedules", owner, allowed, vals)
        out.append(fr)
    return tuple(dict.fromkeys(out))


def _prob_grid(values: Any, name: str, owner: str) -> tuple[float, ...]:
    allowed = "a non-empty list of probabilities in (0, 1)"
    if isinstance(values, str | bytes):
        raise fail(name, owner, allowed, values)
    try:
        vals = [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]
    except (TypeError, ValueError):
        raise fail(name, owner, allowed, values) from None
    if not vals or not all(math.isfinite(v) and 0.0 < v < 1.0 for v in vals):
        raise fail(name, owner, allowed, values)
    return tuple(sorted(set(vals)))


def _prob_pair(values: Any, name: str, owner: str) -> tuple[float, float]:
    allowed = "a pair (low, high) of probabilities with 0 < low < high < 1"
    try:
        lo, hi = (float(v) for v in values)
    except (TypeError, ValueError):
        raise fail(name, owner, allowed, values) from None
    if not (0.0 < lo < hi < 1.0):
        raise fail(name, owner, allowed, values)
    return lo, hi


def _json_float(v: Any) -> float | None:
    return None if v is None else cast(float | None, jsonable(float(v)))


def _fmt_param(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _looks_text(looks: Sequence[int]) -> str:
    looks = list(looks)
    step = looks[1] - looks[0] if len(looks) > 1 else 0
    if len(looks) > 6 and all(b - a == step for a, b in itertools.pairwise(looks[:-1])):
        every = "every patient" if step == 1 else f"every {step}"
        return f"{looks[0]}..{looks[-2]} ({every}), {looks[-1]}"
    return "(" + ", ".join(str(x) for x in looks) + ")"
