"""Lee & Liu (2008) predictive-probability designs, searched exactly.

For every maximum sample size N and every pair of thresholds (θ_L, θ_T) the
futility boundaries and the final rule compile to integer tables; every
distinct table is evaluated once by the dynamic programme, and the design
with the smallest N (then the smallest E[N | p0]) meeting the α and power
targets is returned with the whole search.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from scipy import special

from adaptive2._base.errors import DesignError
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_choice, check_int, check_probability, fail
from adaptive2.engines.sizes import REMEDY_SEARCH, lee_liu_cost
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.kernels.cutoffs import shortest_decimal
from adaptive2.model.designs import Design
from adaptive2.model.priors import Prior, PriorSpec, as_mixture, log_weights
from adaptive2.model.rules import (
    PosteriorProbability,
    PredictiveProbability,
    posterior_prob_exceeds,
)

if TYPE_CHECKING:  # pragma: no cover

    pass

from adaptive2.engines.search import (
    _CRITERIA,
    _TOL,
    DEFAULT_THETA_L,
    DEFAULT_THETA_T_RANGE,
    SearchResult,
    _finish,
    _n_range_iv,
    _prior_iv,
    _prob_grid,
    _prob_pair,
    _rates_iv,
)

__all__ = ["lee_liu"]




_TAIL_CELLS = 2_000_000  # bound on the (look, r, y) cells held at once


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
    step = 1 if cfg["looks"] == "every" else int(cfg["looks"])
    cost = lee_liu_cost((cfg["n_lo"], cfg["n_hi"]), cfg["first_look"], step,
                        len(cfg["theta_l_grid"]), cfg["theta_u"] is not None)
    require_memory(cost.nbytes,
                   f"the Lee & Liu search over N = {cfg['n_lo']}..{cfg['n_hi']} patients",
                   REMEDY_SEARCH, seconds=cost.seconds)
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
    return cast(np.ndarray, special.logsumexp(terms, axis=-1))


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
