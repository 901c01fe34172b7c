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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from adaptive2._base.errors import CalibrationError, DesignError
from adaptive2._base.validation import check_choice, check_int, check_probability, fail
from adaptive2.engines.calibration import calibrate, calibrate_bop2, worst_case_alpha
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.kernels.cutoffs import shortest_decimal
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.priors import Beta, BetaMixture, Prior, PriorSpec, as_mixture, log_weights
from adaptive2.model.rules import (
    BOP2,
    PosteriorProbability,
    PredictiveProbability,
    posterior_prob_exceeds,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from adaptive2.engines.calibration import CalibrationResult

__all__ = ["SearchDesign", "SearchResult", "design_search", "lee_liu", "pareto"]

_TOL = 1e-12
#: Default θ_L grid of :func:`lee_liu`: 0.001, 0.002, ..., 0.200.
DEFAULT_THETA_L: tuple[float, ...] = tuple(round(k / 1000, 3) for k in range(1, 201))
#: Default range of θ_T values explored exactly by :func:`lee_liu`.
DEFAULT_THETA_T_RANGE: tuple[float, float] = (0.80, 0.999)
_CRITERIA = ("expected_n", "pet", "power")
_MAX_N = 300
_TAIL_CELLS = 2_000_000  # bound on the (look, r, y) cells held at once


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
# Lee & Liu (2008)
# ---------------------------------------------------------------------------
def lee_liu(
    p0: float,
    p1: float,
    *,
    alpha: float,
    power: float,
    prior: Prior | PriorSpec | None = None,
    n_range: tuple[int, int] = (10, 60),
    first_look: int = 10,
    looks: str | int = "every",
    theta_t_grid: Sequence[float] | None = None,
    theta_t_range: tuple[float, float] = DEFAULT_THETA_T_RANGE,
    theta_l_grid: Sequence[float] | None = None,
    theta_u: float | None = None,
    criterion: str = "expected_n",
) -> SearchResult:
    r"""Search Lee & Liu's predictive-probability designs meeting α and power.

    Design: with maximum sample size N and analysis prior π,

    * final look: success if P(p > p0 | r of N) > θ_T;
    * interim looks: stop for futility if PP < θ_L (and, optionally, for
      efficacy if PP > θ_U), where PP is the predictive probability that the
      final analysis succeeds.

    For every N in ``n_range``, every final cutoff θ_T and every θ_L, the exact
    type I error P(efficacy | p0), power P(efficacy | p1), E[N | p0] and
    PET(p0) are computed; the designs with α ≤ ``alpha`` and power ≥ ``power``
    are listed and classified (see :class:`SearchResult`).

    Parameters
    ----------
    p0, p1 : float
        Uninteresting and target response rates, 0 < p0 < p1 < 1.
    alpha : float
        Largest type I error.
    power : float
        Smallest power.
    prior : Beta, BetaMixture or PriorSpec, optional
        Analysis prior; default Beta(p0, 1 − p0) (mean p0, one patient's worth
        of information).
    n_range : (int, int)
        Smallest and largest N searched (inclusive), at most 300.
    first_look : int
        Patients at the first interim look.
    looks : "every" or int
        ``"every"`` (default): an interim look after every patient from
        ``first_look`` to N − 1 (continuous monitoring, as in Lee & Liu); an
        integer c: looks at ``first_look``, ``first_look + c``, ... below N.
        The final look is always N. Sizes N ≤ ``first_look`` have no interim
        look (single-stage designs; θ_L is then irrelevant and reported as NaN).
    theta_t_grid : sequence of float, optional
        θ_T values to try. Default: *exact* — every distinct final boundary
        obtainable with θ_T in ``theta_t_range`` (the posterior probabilities
        P(p > p0 | r of N) are the break points), each reported with the
        shortest decimal θ_T giving it.
    theta_t_range : (float, float)
        Range of θ_T explored in the exact mode; default (0.80, 0.999).
    theta_l_grid : sequence of float, optional
        θ_L values; default 0.001, 0.002, ..., 0.200.
    theta_u : float, optional
        θ_U for early efficacy stopping (off by default); must exceed every
        θ_L.
    criterion : {"expected_n", "pet", "power"}
        How the minimax design is chosen among the designs with the smallest
        N: smallest E[N | p0] (default), largest PET(p0), or largest power.

    Returns
    -------
    SearchResult
        ``minimax`` is Lee & Liu's design. Each row of ``table`` is a distinct
        boundary table; ``theta_t``/``theta_l`` give the smallest grid value
        (or shortest decimal) producing it and ``theta_t_interval`` /
        ``theta_l_interval`` the range of values that produce it.

    Raises
    ------
    DesignError
        If an argument is invalid; the message names it.

    Notes
    -----
    **Selection rule.** Lee & Liu (2008, abstract) choose the design by the
    *minimax* criterion: the smallest N for which some (θ_L, θ_T) meets both
    error constraints, found by a three-dimensional search over (N, θ_L, θ_T).
    The rule they use among the (θ_L, θ_T) pairs at that N could not be
    checked against the paper's text when this was written; the default here
    is the smallest E[N | p0] (ties: larger power, then larger PET(p0)), and
    ``criterion="pet"`` takes the largest PET(p0) instead.

    **Computation.** For a mixture prior Σ_k w_k Beta(a_k, b_k) let
    g_n(r) = Σ_k w_k B(a_k + r, b_k + n − r) / B(a_k, b_k). The predictive
    probability that the final count reaches y after r of n is
    C(N − n, y − r) g_N(y) / g_n(r), so

    .. math:: PP(n, r; s) = \sum_{y \ge s} \binom{N-n}{y-r} g_N(y) / g_n(r),

    where s is the smallest final count that succeeds. One table of these
    tails per N serves every θ_T (one s each) and every θ_L (a comparison), and
    the dynamic programme of :mod:`adaptive2.engines.exact` is run once per distinct
    boundary table, vectorised over all tables of an (N, s) pair. Since power
    only falls when futility stopping is added, an s whose single-stage power
    is below the target is skipped (unless θ_U is given). P(efficacy) is
    non-decreasing in p for designs with monotone boundaries, so α at p0 is
    the worst case over p ≤ p0.

    Examples
    --------
    >>> res = lee_liu(0.2, 0.4, alpha=0.1, power=0.8, n_range=(20, 30),
    ...               theta_l_grid=[0.01, 0.05, 0.1])
    >>> m = res.minimax
    >>> m.n_max, m.parameters["futility.threshold"], m.parameters["final.cutoff"]
    (25, 0.05, 0.9)
    >>> round(m.alpha, 4), round(m.power, 4), round(m.expected_n_p0, 2)
    (0.0967, 0.8109, 15.76)
    """
    cfg = _lee_liu_iv(
        p0,
        p1,
        alpha,
        power,
        prior,
        n_range,
        first_look,
        looks,
        theta_t_grid,
        theta_t_range,
        theta_l_grid,
        theta_u,
        criterion,
    )
    prior_obj: Prior = cfg["prior_obj"]
    grid_l = np.asarray(cfg["theta_l_grid"], dtype=float)
    rates = np.array([cfg["p0"], cfg["p1"]])
    records: list[dict[str, Any]] = []
    n_evaluated = 0
    best_power: tuple[float, int | None] = (-1.0, None)  # most power with alpha met
    best_single: tuple[float, int | None] = (-1.0, None)  # most power, no interim stopping
    for n_max in range(cfg["n_lo"], cfg["n_hi"] + 1):
        interim = _interim_looks(cfg["first_look"], cfg["looks"], n_max)
        finals = _final_counts(
            prior_obj, cfg["p0"], n_max, cfg["theta_t_grid"], cfg["theta_t_range"]
        )
        if cfg["theta_u"] is None and finals:  # futility stopping can only lower power
            single = [_binom_sf(f[0] - 1, n_max, cfg["p1"]) for f in finals]
            if max(single) > best_single[0]:
                best_single = (max(single), n_max)
            finals = [f for f, pw in zip(finals, single, strict=True) if pw >= cfg["power"] - _TOL]
        if not finals:
            continue
        look_arr = np.asarray([*interim, n_max], dtype=int)
        tails = _predictive_tails(prior_obj, interim, n_max) if interim else None
        for s, theta_t, t_interval in finals:
            a_int, b_int, l_groups = _interim_tables(tails, interim, s, grid_l, cfg["theta_u"])
            n_tab = a_int.shape[0]
            a_all = np.concatenate([a_int, np.full((n_tab, 1), s - 1)], axis=1)
            b_all = np.concatenate([b_int, np.full((n_tab, 1), s)], axis=1)
            stops = stop_probabilities(look_arr, a_all, b_all, rates)[..., :2]  # (T, 2, L, 2)
            n_evaluated += n_tab
            p_eff = stops[:, :, :, 1].sum(axis=2)  # (T, 2)
            p_n0 = stops[:, 0].sum(axis=2)  # (T, L)
            en0 = p_n0 @ look_arr
            pet0 = p_n0[:, :-1].sum(axis=1)
            for t in range(n_tab):
                a_t, pw_t = float(p_eff[t, 0]), float(p_eff[t, 1])
                if a_t <= cfg["alpha"] + _TOL and pw_t > best_power[0]:
                    best_power = (pw_t, n_max)
                if a_t > cfg["alpha"] + _TOL or pw_t < cfg["power"] - _TOL:
                    continue
                lo_l, hi_l = l_groups[t]
                records.append(
                    {
                        "n_max": n_max,
                        "looks": tuple(int(x) for x in look_arr),
                        "n_looks": len(look_arr),
                        "theta_t": theta_t,
                        "theta_t_interval": t_interval,
                        "theta_l": lo_l,
                        "theta_l_interval": (lo_l, hi_l),
                        "theta_u": math.nan if cfg["theta_u"] is None else cfg["theta_u"],
                        "final_min_r": int(s),
                        "alpha": a_t,
                        "power": pw_t,
                        "expected_n_p0": float(en0[t]),
                        "pet_p0": float(pet0[t]),
                        "_a": tuple(int(x) for x in a_all[t]),
                        "_b": tuple(int(x) for x in b_all[t]),
                    }
                )
    if records:
        message = (
            f"{len(records)} designs with alpha <= {cfg['alpha']:g} and power >= "
            f"{cfg['power']:g} among {n_evaluated} distinct boundary tables "
            f"(N = {cfg['n_lo']}..{cfg['n_hi']})"
        )
    elif n_evaluated == 0 and best_single[1] is not None:
        message = (
            f"no design can meet power >= {cfg['power']:g} with N = {cfg['n_lo']}..{cfg['n_hi']}: "
            f"even without futility stopping the most powerful final rule has power "
            f"{best_single[0]:.4f} (N = {best_single[1]}); widen n_range or relax the targets"
        )
    elif best_power[1] is None:
        message = (
            f"no design meets alpha <= {cfg['alpha']:g} with N = {cfg['n_lo']}..{cfg['n_hi']} "
            "and the theta grids given"
        )
    else:
        message = (
            f"no design meets both targets with N = {cfg['n_lo']}..{cfg['n_hi']}: the most "
            f"powerful design with alpha <= {cfg['alpha']:g} has power {best_power[0]:.4f} "
            f"(N = {best_power[1]}); widen n_range or relax the targets"
        )
    builder = functools.partial(
        _build_lee_liu,
        prior=cfg["prior_arg"],
        p0=cfg["p0"],
        p1=cfg["p1"],
        theta_u=cfg["theta_u"],
    )
    return _finish(
        "lee_liu",
        records,
        cfg,
        criterion=cfg["criterion"],
        message=message,
        n_evaluated=n_evaluated,
        make_builder=lambda rec: functools.partial(
            builder,
            name=_lee_liu_name(rec),
            looks=rec["looks"],
            theta_l=None if math.isnan(rec["theta_l"]) else rec["theta_l"],
            theta_t=rec["theta_t"],
        ),
        parameters_of=_lee_liu_parameters,
        name_of=_lee_liu_name,
        n_top=cfg["n_hi"],
    )


def _lee_liu_iv(
    p0: Any,
    p1: Any,
    alpha: Any,
    power: Any,
    prior: Any,
    n_range: Any,
    first_look: Any,
    looks: Any,
    theta_t_grid: Any,
    theta_t_range: Any,
    theta_l_grid: Any,
    theta_u: Any,
    criterion: Any,
) -> dict[str, Any]:
    owner = "lee_liu"
    p0f, p1f = _rates_iv(p0, p1, owner)
    cfg: dict[str, Any] = {
        "p0": p0f,
        "p1": p1f,
        "alpha": check_probability(alpha, "alpha", owner),
        "power": check_probability(power, "power", owner),
    }
    cfg["prior_arg"], cfg["prior_obj"] = _prior_iv(prior, p0f, owner)
    cfg["n_lo"], cfg["n_hi"] = _n_range_iv(n_range, owner)
    cfg["first_look"] = check_int(first_look, "first_look", owner, low=1)
    if isinstance(looks, str):
        if looks != "every":
            raise fail("looks", owner, "'every' or a cohort size (an integer >= 1)", looks)
        cfg["looks"] = "every"
    else:
        try:
            cfg["looks"] = check_int(looks, "looks", owner, low=1)
        except DesignError:
            allowed = "'every' or a cohort size (an integer >= 1)"
            raise fail("looks", owner, allowed, looks) from None
    cfg["theta_t_grid"] = (
        None if theta_t_grid is None else _prob_grid(theta_t_grid, "theta_t_grid", owner)
    )
    cfg["theta_t_range"] = _prob_pair(theta_t_range, "theta_t_range", owner)
    cfg["theta_l_grid"] = (
        DEFAULT_THETA_L if theta_l_grid is None else _prob_grid(theta_l_grid, "theta_l_grid", owner)
    )
    if theta_u is not None:
        theta_u = check_probability(theta_u, "theta_u", owner)
        top = max(cfg["theta_l_grid"])
        if theta_u <= top:
            allowed = f"a probability above every theta_l (max {top:g})"
            raise fail("theta_u", owner, allowed, theta_u)
    cfg["theta_u"] = theta_u
    cfg["criterion"] = check_choice(criterion, "criterion", owner, _CRITERIA)
    cfg["settings"] = {
        "prior": str(cfg["prior_obj"]),
        "n_range": [cfg["n_lo"], cfg["n_hi"]],
        "first_look": cfg["first_look"],
        "looks": cfg["looks"],
        "theta_t_grid": None if cfg["theta_t_grid"] is None else list(cfg["theta_t_grid"]),
        "theta_t_range": list(cfg["theta_t_range"]),
        "theta_l_grid": list(cfg["theta_l_grid"]),
        "theta_u": theta_u,
        "criterion": cfg["criterion"],
        "type1": "P(efficacy) at p0 (worst case over p <= p0 for monotone boundaries)",
    }
    return cfg


def _lee_liu_name(rec: Mapping[str, Any]) -> str:
    parts = [f"lee-liu-N{rec['n_max']}", f"tt{rec['theta_t']:g}"]
    if not math.isnan(rec["theta_l"]):
        parts.append(f"tl{rec['theta_l']:g}")
    return "-".join(parts)


def _lee_liu_parameters(rec: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    if not math.isnan(rec["theta_l"]):
        out["futility.threshold"] = rec["theta_l"]
    if not math.isnan(rec["theta_u"]) and rec["n_looks"] > 1:
        out["efficacy.threshold"] = rec["theta_u"]
    out["final.cutoff"] = rec["theta_t"]
    return out


def _build_lee_liu(
    *,
    name: str,
    looks: tuple[int, ...],
    theta_l: float | None,
    theta_t: float,
    prior: Prior | PriorSpec,
    p0: float,
    p1: float,
    theta_u: float | None,
) -> Design:
    interim = len(looks) > 1
    return Design(
        name=name,
        title="Lee & Liu (2008) predictive-probability design",
        prior=prior,
        looks=looks,
        futility=PredictiveProbability(theta_l) if interim and theta_l is not None else None,
        efficacy=PredictiveProbability(theta_u) if interim and theta_u is not None else None,
        final=PosteriorProbability(p0=p0, cutoff=theta_t),
        p0=p0,
        p1=p1,
    )


def _interim_looks(first_look: int, looks: str | int, n_max: int) -> list[int]:
    step = 1 if looks == "every" else int(looks)
    return list(range(first_look, n_max, step))


def _final_counts(
    prior: Prior,
    p0: float,
    n_max: int,
    grid: tuple[float, ...] | None,
    rng: tuple[float, float],
) -> list[tuple[int, float, tuple[float, float]]]:
    """Distinct final success counts s with a θ_T giving each, and the θ_T interval.

    The final rule succeeds if q[r] = P(p > p0 | r of N) > θ_T; q increases in
    r, so s(θ_T) = #{r : q[r] <= θ_T} and s is produced by θ_T in
    [q[s - 1], q[s]).
    """
    q = posterior_prob_exceeds(prior, np.arange(n_max + 1), n_max, p0)
    out: list[tuple[int, float, tuple[float, float]]] = []
    if grid is not None:
        g = np.asarray(grid, dtype=float)
        s_of = np.array([int(np.count_nonzero(q <= t)) for t in g])
        for s in np.unique(s_of):
            if s > n_max:
                continue
            vals = g[s_of == s]
            out.append((int(s), float(vals.min()), (float(vals.min()), float(vals.max()))))
        return out
    lo, hi = rng
    s_lo, s_hi = int(np.count_nonzero(q <= lo)), int(np.count_nonzero(q <= hi))
    for s in range(s_lo, min(s_hi, n_max) + 1):
        left = float(q[s - 1]) if s > 0 else 0.0
        right = float(q[s])
        i_lo, i_hi = max(left, lo), min(right, hi)
        if i_hi < i_lo or (i_hi == i_lo and i_hi != hi):
            continue
        rep = shortest_decimal(i_lo, i_hi) if i_hi > i_lo else i_lo
        if not (left <= rep < right):  # float guard; the rule is q > θ_T
            continue
        out.append((s, rep, (i_lo, i_hi)))
    return out


def _log_marginal(prior: Prior, n: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Compute log g_n(r) = log Σ_k w_k B(a_k + r, b_k + n − r) / B(a_k, b_k) (broadcast n, r)."""
    mix = as_mixture(prior)
    w, a, b = (np.asarray(x) for x in (mix.weights, mix.a, mix.b))
    nn = np.asarray(n, dtype=float)[..., None]
    rr = np.asarray(r, dtype=float)[..., None]
    terms = log_weights(w) + special.betaln(a + rr, b + nn - rr) - special.betaln(a, b)
    return special.logsumexp(terms, axis=-1)


def _predictive_tails(prior: Prior, looks: Sequence[int], n_max: int) -> np.ndarray:
    """PP tails T[l, r, s] = P(R_final >= s | r of looks[l]) for s = 0..N+1.

    Entries with r > looks[l] are NaN; entries with s <= r are exactly 1.
    """
    size = n_max + 1
    y = np.arange(size)
    log_final = _log_marginal(prior, np.array(n_max), y)  # (N+1,)
    out = np.full((len(looks), size, size + 1), np.nan)
    chunk = max(1, _TAIL_CELLS // (size * size))
    r = np.arange(size)
    for start in range(0, len(looks), chunk):
        ns = np.asarray(looks[start : start + chunk], dtype=int)
        n3 = ns[:, None, None]
        m3 = n_max - n3
        x = y[None, None, :] - r[None, :, None]
        inside = (x >= 0) & (x <= m3) & (r[None, :, None] <= n3)
        xs = np.where(inside, x, 0)
        log_comb = special.gammaln(m3 + 1) - special.gammaln(xs + 1) - special.gammaln(m3 - xs + 1)
        r_ok = np.minimum(r[None, :], ns[:, None])  # clip r <= n (masked below)
        log_now = _log_marginal(prior, ns[:, None], r_ok)  # (C, R)
        logp = np.where(inside, log_comb + log_final[None, None, :] - log_now[:, :, None], -np.inf)
        pmf = np.exp(logp)
        tail = np.cumsum(pmf[:, :, ::-1], axis=2)[:, :, ::-1]  # P(Y >= s), s = 0..N
        block = np.concatenate([tail, np.zeros((*tail.shape[:2], 1))], axis=2)
        block = np.where(np.arange(size + 1)[None, None, :] <= r[None, :, None], 1.0, block)
        block = np.where((r[None, :] <= ns[:, None])[:, :, None], block, np.nan)
        out[start : start + len(ns)] = block
    return out


def _interim_tables(
    tails: np.ndarray | None,
    interim: Sequence[int],
    s: int,
    grid_l: np.ndarray,
    theta_u: float | None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Distinct interim boundary tables over the θ_L grid for final count ``s``.

    Returns (a, b, groups): futility max r (T, L) and efficacy min r (T, L) per
    distinct table, and for each the (smallest, largest) θ_L producing it.
    """
    if tails is None or not interim:
        return np.zeros((1, 0), dtype=int), np.zeros((1, 0), dtype=int), [(math.nan, math.nan)]
    pp = tails[:, :, s]  # (L, R), NaN where r > n
    n_arr = np.asarray(interim, dtype=int)
    with np.errstate(invalid="ignore"):
        a = (pp[None, :, :] < grid_l[:, None, None]).sum(axis=2) - 1  # (G, L)
        b_one = n_arr + 1 - (pp > theta_u).sum(axis=1) if theta_u is not None else n_arr + 1
    uniq, inverse = np.unique(a, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    groups = []
    keep = []
    for t in range(uniq.shape[0]):
        if np.any(b_one <= uniq[t]):  # overlapping regions: not a valid design
            continue
        vals = grid_l[inverse == t]
        groups.append((float(vals.min()), float(vals.max())))
        keep.append(t)
    uniq = uniq[keep]
    b = np.broadcast_to(b_one, uniq.shape).copy()
    return uniq, b, groups


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) > k)."""
    from scipy import stats

    return float(stats.binom.sf(k, n, p))


# ---------------------------------------------------------------------------
# Simon-style search over a rule family
# ---------------------------------------------------------------------------
_FAMILIES = ("predictive", "posterior", "bop2")
_CALIBRATE_KEYS = ("within",)
_BOP2_KEYS = ("lambdas", "gammas", "etas")


def design_search(
    family: str | Design,
    p0: float,
    p1: float,
    *,
    alpha: float,
    power: float,
    n_values: Iterable[int],
    look_schedules: Iterable[int | Sequence[float]] = (2, 3, 4),
    prior: Prior | PriorSpec | None = None,
    parameter: str | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> SearchResult:
    """Simon-style search for Bayesian designs of one rule family.

    For every maximum sample size in ``n_values`` and every look schedule, the
    family's tuning parameter is calibrated so that the worst-case type I error
    is at most ``alpha`` with the largest power
    (:func:`adaptive2.engines.calibration.calibrate`); designs whose power also reaches
    ``power`` are listed, and the optimal, minimax, admissible and Pareto
    designs marked (see :class:`SearchResult`).

    Parameters
    ----------
    family : {"predictive", "posterior", "bop2"} or Design
        Rule family, with prior Beta(p0, 1 − p0) unless ``prior`` is given:

        * ``"predictive"``: futility if PP(final success) < 0.05 (Lee & Liu),
          final success if P(p > p0 | data) > cutoff; the cutoff is tuned;
        * ``"posterior"``: futility if P(p > p0 | data) ≤ 0.05, same final
          rule; the cutoff is tuned;
        * ``"bop2"``: BOP2 futility 1 − λ (n/N)^γ with final success if
          P(p > p0 | data) > λ; (λ, γ) tuned by
          :func:`~adaptive2.engines.calibration.calibrate_bop2`;
        * a template Design: its rules and prior are kept, its looks replaced.
          The tuned parameter is ``parameter`` (default ``"final.cutoff"``, or
          BOP2's grid search when the futility rule is BOP2).
    p0, p1 : float
        Null and target response rates.
    alpha, power : float
        Error targets.
    n_values : iterable of int
        Maximum sample sizes N.
    look_schedules : iterable of int or sequence of float
        An integer k: k equally spaced looks (round(j N / k), j = 1..k; k = 1
        is a single-stage design). A sequence of fractions in (0, 1] ending
        at 1: looks at round(f N). Schedules giving repeated looks are skipped.
    prior : Beta, BetaMixture or PriorSpec, optional
        Prior for the string families (ignored for a template Design).
    parameter : str, optional
        Tuned parameter, see :func:`adaptive2.engines.calibration.set_parameter`.
    calibration : mapping, optional
        Extra keyword arguments for the calibration functions: ``within`` for
        :func:`~adaptive2.engines.calibration.calibrate`; ``lambdas``, ``gammas`` and
        ``etas`` for :func:`~adaptive2.engines.calibration.calibrate_bop2` (each is
        passed only to the function that takes it).

    Returns
    -------
    SearchResult
        ``table`` has one row per (N, schedule) meeting both targets, with the
        calibrated ``parameters``, the worst-case ``alpha``, ``power``,
        ``expected_n_p0`` and ``pet_p0``.

    Examples
    --------
    >>> res = design_search("predictive", 0.2, 0.4, alpha=0.1, power=0.8,
    ...                     n_values=range(24, 31, 2), look_schedules=[2])
    >>> res.minimax.n_max, res.minimax.looks
    (28, (14, 28))
    >>> res.minimax.parameters
    {'final.cutoff': 0.9}
    """
    owner = "design_search"
    p0f, p1f = _rates_iv(p0, p1, owner)
    alpha = check_probability(alpha, "alpha", owner)
    power = check_probability(power, "power", owner)
    ns = _n_values_iv(n_values, owner)
    schedules = _schedules_iv(look_schedules, owner)
    template = _template(family, p0f, p1f, prior, owner)
    if calibration is not None and not isinstance(calibration, Mapping):
        raise fail("calibration", owner, "a mapping of keyword arguments or None", calibration)
    extra = dict(calibration or {})
    unknown = sorted(set(extra) - set(_CALIBRATE_KEYS) - set(_BOP2_KEYS))
    if unknown:
        allowed = "a mapping with keys among {'within', 'lambdas', 'gammas', 'etas'}"
        raise fail("calibration", owner, allowed, dict(calibration or {}))
    if parameter is not None and not isinstance(parameter, str):
        raise fail("parameter", owner, "a parameter name such as 'final.cutoff'", parameter)
    family_name = family if isinstance(family, str) else template.name


    records: list[dict[str, Any]] = []
    designs: dict[int, Design] = {}
    n_evaluated = 0
    skipped: list[str] = []
    best: tuple[float, str] = (-1.0, "")
    for n_max in ns:
        for sched in schedules:
            looks = _schedule_looks(sched, n_max)
            label = _schedule_label(sched)
            if looks is None:
                continue
            try:
                cand = _with_looks(template, looks, f"{family_name}-N{n_max}-{label}", p0f, p1f)
                res = _calibrate_one(
                    cand, parameter, alpha, power, p0f, p1f, extra, calibrate, calibrate_bop2
                )
            except (CalibrationError, DesignError) as exc:
                skipped.append(f"N = {n_max}, {label}: {exc}")
                continue
            n_evaluated += 1
            if res.alpha <= alpha + _TOL and res.power > best[0]:
                best = (res.power, f"N = {n_max}, looks = {_looks_text(looks)}")
            if not res.feasible:
                continue
            design = res.design
            bnd = design.boundaries()
            n_arr, a_arr, b_arr = bnd.arrays()
            stop0 = stop_probabilities(n_arr, a_arr, b_arr, [p0f])[0]
            p_n0 = stop0.sum(axis=-1)
            rec = {
                "n_max": n_max,
                "looks": tuple(int(x) for x in n_arr),
                "n_looks": len(n_arr),
                "schedule": label,
                "family": family_name,
                "parameters": dict(res.parameters),
                "alpha": float(res.alpha),
                "worst_case_p": float(res.worst_case_p),
                "power": float(res.power),
                "expected_n_p0": float(p_n0 @ n_arr),
                "pet_p0": float(p_n0[:-1].sum()),
                "_name": design.name,
                "_bnd": bnd,
            }
            designs[id(rec)] = design
            records.append(rec)
    if records:
        message = (
            f"{len(records)} of {n_evaluated} calibrated designs meet alpha <= {alpha:g} and "
            f"power >= {power:g}"
        )
    elif best[1]:
        message = (
            f"no design meets power >= {power:g}: the most powerful calibrated design with "
            f"alpha <= {alpha:g} has power {best[0]:.4f} ({best[1]})"
        )
    else:
        message = f"no design meets alpha <= {alpha:g} for the sizes and schedules given"
    if skipped:
        message += f"; {len(skipped)} (N, schedule) pairs could not be calibrated ({skipped[0]})"
    cfg = {
        "p0": p0f,
        "p1": p1f,
        "alpha": alpha,
        "power": power,
        "settings": {
            "family": family_name,
            "prior": str(template.prior),
            "n_values": list(ns),
            "look_schedules": [s if isinstance(s, int) else list(s) for s in schedules],
            "parameter": parameter,
            "rules": template.describe().splitlines()[2:],
            "type1": "worst case of P(efficacy) over p <= p0",
        },
    }
    return _finish(
        "design_search",
        records,
        cfg,
        criterion="expected_n",
        message=message,
        n_evaluated=n_evaluated,
        make_builder=lambda rec: _constant(designs[id(rec)]),
        parameters_of=lambda rec: dict(rec["parameters"]),
        name_of=lambda rec: rec["_name"],
        n_top=max(ns),
    )


def _calibrate_one(
    design: Design,
    parameter: str | None,
    alpha: float,
    power: float,
    p0: float,
    p1: float,
    extra: dict[str, Any],
    calibrate: Callable[..., CalibrationResult],
    calibrate_bop2: Callable[..., CalibrationResult],
) -> CalibrationResult:
    if parameter is None and isinstance(design.futility, BOP2):
        kw = {k: v for k, v in extra.items() if k in _BOP2_KEYS}
        return calibrate_bop2(design, alpha=alpha, power=power, p0=p0, p1=p1, **kw)
    if parameter is None:
        parameter = "final.lambda" if isinstance(design.final, BOP2) else "final.cutoff"
    kw = {k: v for k, v in extra.items() if k in _CALIBRATE_KEYS}
    return calibrate(design, parameter, alpha=alpha, power=power, p0=p0, p1=p1, **kw)


def _constant(design: Design) -> Callable[[], Design]:
    return functools.partial(_identity, design)


def _identity(design: Design) -> Design:
    return design


def _template(family: Any, p0: float, p1: float, prior: Any, owner: str) -> Design:
    if isinstance(family, Design):
        return family
    if not isinstance(family, str) or family not in _FAMILIES:
        allowed = "one of {" + ", ".join(repr(f) for f in _FAMILIES) + "} or a template Design"
        raise fail("family", owner, allowed, family)
    prior_arg, _ = _prior_iv(prior, p0, owner)
    final = PosteriorProbability(p0=p0, cutoff=0.9)
    futility: Any
    if family == "predictive":
        futility = PredictiveProbability(threshold=0.05)
    elif family == "posterior":
        futility = PosteriorProbability(p0=p0, cutoff=0.05)
    else:
        futility = BOP2(p0=p0, lambda_=0.9, gamma=1.0)
        final = BOP2(p0=p0, lambda_=0.9)
    return Design(
        name=family,
        prior=prior_arg,
        looks=(1, 2),
        futility=futility,
        final=final,
        p0=p0,
        p1=p1,
    )


def _with_looks(
    template: Design, looks: tuple[int, ...], name: str, p0: float, p1: float
) -> Design:
    changes: dict[str, Any] = {"looks": looks, "name": name, "p0": p0, "p1": p1}
    if len(looks) == 1:
        changes["futility"] = None
        changes["efficacy"] = None
    return template.replace(**changes)


def _schedule_looks(sched: int | tuple[float, ...], n_max: int) -> tuple[int, ...] | None:
    if isinstance(sched, int):
        fr = [j / sched for j in range(1, sched + 1)]
    else:
        fr = list(sched)
    looks = [math.floor(f * n_max + 0.5) for f in fr]
    looks[-1] = n_max
    if looks[0] < 1 or any(b <= a for a, b in itertools.pairwise(looks)):
        return None
    return tuple(looks)


def _schedule_label(sched: int | tuple[float, ...]) -> str:
    if isinstance(sched, int):
        return f"{sched} equal" if sched > 1 else "single"
    return "at " + "/".join(f"{f:g}" for f in sched)


# ---------------------------------------------------------------------------
# Classify a list of designs you already have
# ---------------------------------------------------------------------------
def pareto(
    designs: Iterable[Design],
    *,
    p0: float | None = None,
    p1: float | None = None,
    alpha: float | None = None,
    power: float | None = None,
) -> SearchResult:
    """Exact figures, optimal / minimax / admissible flags and Pareto front of given designs.

    Parameters
    ----------
    designs : iterable of Design
        Candidate designs (any rules, any looks).
    p0, p1 : float, optional
        Null and target rates; default the designs' planning values (which
        must then agree).
    alpha, power : float, optional
        If given, only designs meeting the target(s) are listed.

    Returns
    -------
    SearchResult
        Type I error is the worst case over p ≤ p0
        (:func:`adaptive2.engines.calibration.worst_case_alpha`).

    Examples
    --------
    >>> from adaptive2 import Beta, PosteriorProbability, PredictiveProbability
    >>> base = Design(name="a", prior=Beta(0.2, 0.8), looks=(15, 30),
    ...               futility=PredictiveProbability(0.05),
    ...               final=PosteriorProbability(p0=0.2, cutoff=0.9))
    >>> res = pareto([base, base.replace(name="b", looks=(10, 20, 30))], p0=0.2, p1=0.4)
    >>> res.optimal.name
    'b'
    """
    owner = "pareto"
    items = list(designs) if not isinstance(designs, Design) else [designs]
    if not items or not all(isinstance(d, Design) for d in items):
        raise fail("designs", owner, "a non-empty list of Design objects", designs)
    names = [d.name for d in items]
    if len(set(names)) != len(names):
        raise fail("designs", owner, "designs with distinct names", names)
    p0f = _planning_value(items, p0, "p0", owner)
    p1f = _planning_value(items, p1, "p1", owner)
    p0f, p1f = _rates_iv(p0f, p1f, owner)
    if alpha is not None:
        alpha = check_probability(alpha, "alpha", owner)
    if power is not None:
        power = check_probability(power, "power", owner)
    records: list[dict[str, Any]] = []
    by_id: dict[int, Design] = {}
    for d in items:
        bnd = d.boundaries()
        n_arr, a_arr, b_arr = bnd.arrays()
        stop = stop_probabilities(n_arr, a_arr, b_arr, [p0f, p1f])
        a_wc, p_wc = worst_case_alpha(d, p0f)
        p_n0 = stop[0].sum(axis=-1)
        pw = float(stop[1, :, 1].sum())
        if alpha is not None and a_wc > alpha + _TOL:
            continue
        if power is not None and pw < power - _TOL:
            continue
        rec = {
            "n_max": int(n_arr[-1]),
            "looks": tuple(int(x) for x in n_arr),
            "n_looks": len(n_arr),
            "name": d.name,
            "parameters": {},
            "alpha": float(a_wc),
            "worst_case_p": float(p_wc),
            "power": pw,
            "expected_n_p0": float(p_n0 @ n_arr),
            "pet_p0": float(p_n0[:-1].sum()),
            "_name": d.name,
            "_bnd": bnd,
        }
        by_id[id(rec)] = d
        records.append(rec)
    message = f"{len(records)} of {len(items)} designs listed"
    cfg = {
        "p0": p0f,
        "p1": p1f,
        "alpha": alpha,
        "power": power,
        "settings": {"designs": names, "type1": "worst case of P(efficacy) over p <= p0"},
    }
    return _finish(
        "pareto",
        records,
        cfg,
        criterion="expected_n",
        message=message,
        n_evaluated=len(items),
        make_builder=lambda rec: _constant(by_id[id(rec)]),
        parameters_of=lambda rec: {},
        name_of=lambda rec: rec["_name"],
    )


def _planning_value(items: list[Design], value: Any, name: str, owner: str) -> Any:
    if value is not None:
        return value
    vals = {getattr(d, name) for d in items}
    if len(vals) != 1 or None in vals:
        raise fail(name, owner, "given (the designs' planning values are missing or differ)", None)
    v = vals.pop()
    return v.mean if isinstance(v, Beta) else v


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
    if v is None:
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def _fmt_param(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _looks_text(looks: Sequence[int]) -> str:
    looks = list(looks)
    step = looks[1] - looks[0] if len(looks) > 1 else 0
    if len(looks) > 6 and all(b - a == step for a, b in itertools.pairwise(looks[:-1])):
        every = "every patient" if step == 1 else f"every {step}"
        return f"{looks[0]}..{looks[-2]} ({every}), {looks[-1]}"
    return "(" + ", ".join(str(x) for x in looks) + ")"
