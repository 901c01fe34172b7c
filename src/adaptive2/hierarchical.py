"""Borrowing across cohorts by deterministic quadrature: BHM, EXNEX, pooled, independent.

Model (Berry et al. 2013; Neuenschwander et al. 2016). For cohort j with r_j
responses among n_j patients and response rate p_j,

    θ_j = logit(p_j) − o_j,   o_j = logit(p0_j) ("logit-offset" scale) or 0 ("logit"),
    exchangeable (EX):      θ_j ~ N(μ, τ²),  μ ~ N(m_μ, s_μ²),
                            τ ~ half-normal / half-Cauchy / half-t,
    non-exchangeable (NEX): θ_j ~ N(m_j, s_j²)   (EXNEX: EX with probability w_j).

Historical strata (phase 1) enter like cohorts whose data are fixed: exchangeable
strata share (μ, τ) and so form a meta-analytic-predictive prior; a stratum may
instead be *tied* to one cohort, θ_h ~ N(θ_j, σ_h²), which borrows more strongly
from it than exchangeability does.

Given (μ, τ) the cohorts are conditionally independent, so every posterior
quantity is a ratio of sums over a (μ, τ) grid of products of per-cohort
one-dimensional integrals over θ. Those integrals are matrix products of the
binomial likelihood on a θ grid (one row per possible response count) with a
normal kernel whose weights are exact normal probabilities of the grid cells,
so τ → 0 degrades gracefully to a point mass. Everything is vectorised over the
whole lattice of outcomes r_1 × r_2 (× r_3) at once and cached by sample sizes.

Defaults: μ ~ N(0, 2²) on the offset scale (centred on the null rate, sd 2 on the
log-odds spans rates from about 0.02 to 0.98 around p0 = 0.4); τ ~ half-normal(1)
— on the log-odds scale a between-cohort sd of 1 is already large, and the
half-normal keeps most mass below about 2, which avoids the strong
shrinkage-to-pooling a half-Cauchy allows when only two cohorts inform τ.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from adaptive2._validation import check_choice, check_int, check_probability, check_real, fail
from adaptive2.errors import DesignError

__all__ = [
    "Cohort",
    "Historical",
    "Model",
    "QuadratureGrid",
    "lattice",
    "posterior",
]

KINDS = ("independent", "pooled", "hierarchical", "exnex")
SCALES = ("logit-offset", "logit")
TAU_PRIORS = ("half_normal", "half_cauchy", "half_t")


@dataclass(frozen=True, slots=True)
class Historical:
    """A historical stratum (e.g. phase 1: 16 of 20).

    Parameters
    ----------
    name : str
    r, n : int
        Responses and patients.
    p0 : float, optional
        Reference rate for the offset scale (default: the tied cohort's, else
        the first cohort's).
    tie : str, optional
        Name of a cohort this stratum is tied to: θ_h ~ N(θ_tie, ``tie_sd``²)
        instead of being exchangeable.
    tie_sd : float
        Sd of the tie on the log-odds scale (default 0.5).
    weight : float
        Power-prior weight a0 in (0, 1] applied to the stratum's likelihood.
    """

    name: str
    r: int
    n: int
    p0: float | None = None
    tie: str | None = None
    tie_sd: float = 0.5
    weight: float = 1.0

    def __post_init__(self) -> None:
        owner = "Historical"
        if not isinstance(self.name, str) or not self.name:
            raise fail("name", owner, "a non-empty string", self.name)
        object.__setattr__(self, "n", check_int(self.n, "n", owner, low=1))
        object.__setattr__(self, "r", check_int(self.r, "r", owner, low=0, high=self.n))
        if self.p0 is not None:
            object.__setattr__(self, "p0", check_probability(self.p0, "p0", owner))
        object.__setattr__(
            self, "tie_sd", check_real(self.tie_sd, "tie_sd", owner, low=0.0, low_open=True)
        )
        object.__setattr__(
            self,
            "weight",
            check_real(self.weight, "weight", owner, low=0.0, high=1.0, low_open=True),
        )


@dataclass(frozen=True, slots=True)
class Model:
    """A borrowing model across cohorts.

    Parameters
    ----------
    kind : {"independent", "pooled", "hierarchical", "exnex"}
        ``independent``: each cohort alone with its NEX prior; ``pooled``: one
        θ shared by all cohorts (τ = 0); ``hierarchical``: BHM; ``exnex``: EXNEX.
    scale : {"logit-offset", "logit"}
        Exchangeability of ``logit p_j − logit p0_j`` (default) or of ``logit p_j``.
    mu_mean, mu_sd : float
        Normal prior on μ.
    tau_prior : {"half_normal", "half_cauchy", "half_t"}
    tau_scale : float
    tau_df : float
        Degrees of freedom of the half-t.
    weight : float or mapping
        EXNEX: prior probability that a cohort is exchangeable (one value or
        per cohort).
    nex_mean, nex_sd : float or mapping
        NEX normal prior on θ_j (also the prior of ``independent`` cohorts).
        Defaults: mean 0 on the offset scale, sd 2.
    historical : tuple of Historical
    """

    kind: str = "hierarchical"
    scale: str = "logit-offset"
    mu_mean: float = 0.0
    mu_sd: float = 2.0
    tau_prior: str = "half_normal"
    tau_scale: float = 1.0
    tau_df: float = 3.0
    weight: float | tuple[tuple[str, float], ...] = 0.5
    nex_mean: float | tuple[tuple[str, float], ...] = 0.0
    nex_sd: float | tuple[tuple[str, float], ...] = 2.0
    historical: tuple[Historical, ...] = ()

    def __post_init__(self) -> None:
        owner = "Model"
        check_choice(self.kind, "kind", owner, KINDS)
        check_choice(self.scale, "scale", owner, SCALES)
        check_choice(self.tau_prior, "tau_prior", owner, TAU_PRIORS)
        object.__setattr__(self, "mu_mean", check_real(self.mu_mean, "mu_mean", owner))
        for name in ("mu_sd", "tau_scale", "tau_df"):
            object.__setattr__(
                self, name, check_real(getattr(self, name), name, owner, low=0.0, low_open=True)
            )
        object.__setattr__(self, "weight", _per_cohort(self.weight, "weight", owner, prob=True))
        object.__setattr__(self, "nex_mean", _per_cohort(self.nex_mean, "nex_mean", owner))
        object.__setattr__(self, "nex_sd", _per_cohort(self.nex_sd, "nex_sd", owner, pos=True))
        hist = tuple(self.historical)
        for h in hist:
            if not isinstance(h, Historical):
                raise fail("historical", owner, "Historical strata", h)
        object.__setattr__(self, "historical", hist)

    def value(self, attr: str, cohort: str) -> float:
        """A per-cohort parameter (``weight``, ``nex_mean``, ``nex_sd``) for ``cohort``."""
        v = getattr(self, attr)
        if isinstance(v, tuple):
            d = dict(v)
            if cohort in d:
                return d[cohort]
            return d.get("*", {"weight": 0.5, "nex_mean": 0.0, "nex_sd": 2.0}[attr])
        return float(v)

    def tau_logpdf(self, tau: np.ndarray) -> np.ndarray:
        """Log density of the τ prior (up to a constant) at ``tau`` > 0."""
        s = self.tau_scale
        if self.tau_prior == "half_normal":
            return -0.5 * (tau / s) ** 2
        if self.tau_prior == "half_cauchy":
            return -np.log1p((tau / s) ** 2)
        nu = self.tau_df
        return -(nu + 1) / 2 * np.log1p((tau / s) ** 2 / nu)

    def describe(self) -> str:
        """The model in words."""
        if self.kind == "independent":
            txt = "independent cohorts (no borrowing)"
        elif self.kind == "pooled":
            txt = "pooled: one shared effect for all cohorts (tau = 0)"
        else:
            tau = {
                "half_normal": "half-normal",
                "half_cauchy": "half-Cauchy",
                "half_t": f"half-t({self.tau_df:g})",
            }[self.tau_prior]
            txt = (
                f"{'EXNEX' if self.kind == 'exnex' else 'BHM'} on {self.scale}: "
                f"theta_j ~ N(mu, tau^2), mu ~ N({self.mu_mean:g}, {self.mu_sd:g}^2), "
                f"tau ~ {tau}({self.tau_scale:g})"
            )
        for h in self.historical:
            how = f"tied to {h.tie} (sd {h.tie_sd:g})" if h.tie else "exchangeable"
            txt += f"; historical {h.name}: {h.r}/{h.n}, {how}, weight {h.weight:g}"
        return txt


def _per_cohort(
    value: Any, name: str, owner: str, *, prob: bool = False, pos: bool = False
) -> float | tuple[tuple[str, float], ...]:
    def one(v: Any) -> float:
        if prob:
            return check_probability(v, name, owner, closed=True)
        if pos:
            return check_real(v, name, owner, low=0.0, low_open=True)
        return check_real(v, name, owner)

    if isinstance(value, Mapping):
        return tuple(sorted((str(k), one(v)) for k, v in value.items()))
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return tuple(sorted((str(k), one(v)) for k, v in value))
    return one(value)


@dataclass(frozen=True, slots=True)
class Cohort:
    """A cohort's planning values and analysis schedule.

    Parameters
    ----------
    name : str
    p0, p1 : float
        Uninteresting and target response rates.
    looks : tuple of int
        Cumulative evaluable patients at each analysis.
    """

    name: str
    p0: float
    p1: float | None = None
    looks: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        owner = f"Cohort {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise fail("name", "Cohort", "a non-empty string", self.name)
        object.__setattr__(self, "p0", check_probability(self.p0, "p0", owner))
        if self.p1 is not None:
            object.__setattr__(self, "p1", check_probability(self.p1, "p1", owner))
        from adaptive2._validation import check_int_sequence

        looks = check_int_sequence(self.looks, "looks", owner, low=1) if self.looks else ()
        if any(b <= a for a, b in itertools.pairwise(looks)):
            raise fail("looks", owner, "strictly increasing patient counts", list(looks))
        object.__setattr__(self, "looks", looks)


# ---------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QuadratureGrid:
    """Quadrature resolution.

    Parameters
    ----------
    n_theta : int
        Points of the θ grid (cell midpoints) on [−theta_max, theta_max] around
        the cohort's NEX / μ-prior range.
    theta_max : float
        Half-width of the θ grid (log-odds).
    n_mu : int
        Points of the μ grid (Gauss–Hermite-free: a uniform grid over ±6 prior sd).
    n_tau : int
        Points of the τ grid (quantile grid of the τ prior: equal prior mass per point,
        which resolves τ near 0 as finely as the prior asks).
    """

    n_theta: int = 481
    theta_max: float = 12.0
    n_mu: int = 121
    n_tau: int = 80

    def __post_init__(self) -> None:
        for name, low in (("n_theta", 21), ("n_mu", 11), ("n_tau", 5)):
            object.__setattr__(
                self, name, check_int(getattr(self, name), name, "QuadratureGrid", low=low)
            )
        object.__setattr__(
            self,
            "theta_max",
            check_real(self.theta_max, "theta_max", "QuadratureGrid", low=2.0),
        )


DEFAULT_GRID = QuadratureGrid()
FINE_GRID = QuadratureGrid(n_theta=1201, theta_max=14.0, n_mu=241, n_tau=200)


def _tau_nodes(model: Model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """τ nodes at the mid-quantiles of the prior, each carrying mass 1/n."""
    q = (np.arange(n) + 0.5) / n
    s = model.tau_scale
    if model.tau_prior == "half_normal":
        tau = s * stats.norm.ppf(0.5 + q / 2)
    elif model.tau_prior == "half_cauchy":
        tau = s * np.tan(np.pi * q / 2)
    else:
        tau = s * stats.t.ppf(0.5 + q / 2, model.tau_df)
    return tau, np.full(n, 1.0 / n)


def _mu_nodes(model: Model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """μ nodes at mid-quantiles of its normal prior (mass 1/n each)."""
    q = (np.arange(n) + 0.5) / n
    return model.mu_mean + model.mu_sd * stats.norm.ppf(q), np.full(n, 1.0 / n)


class _Engine:
    """Precomputed kernels for one model, cohort set and grid."""

    def __init__(self, model: Model, cohorts: tuple[Cohort, ...], grid: QuadratureGrid) -> None:
        self.model = model
        self.cohorts = cohorts
        self.names = [c.name for c in cohorts]
        self.grid = grid
        width = grid.theta_max
        edges = np.linspace(-width, width, grid.n_theta + 1)
        self.theta = (edges[:-1] + edges[1:]) / 2  # cell midpoints
        self.edges = edges
        self.offset = {
            c.name: (special.logit(c.p0) if model.scale == "logit-offset" else 0.0) for c in cohorts
        }
        if model.kind in ("hierarchical", "exnex"):
            tau, wt = _tau_nodes(model, grid.n_tau)
            mu, wm = _mu_nodes(model, grid.n_mu)
            mu_g, tau_g = np.meshgrid(mu, tau, indexing="ij")
            self.mu = mu_g.ravel()
            self.tau = tau_g.ravel()
            self.log_prior = np.log(np.outer(wm, wt).ravel())
        elif model.kind == "pooled":
            mu, wm = _mu_nodes(model, grid.n_mu * 4)
            self.mu = mu
            self.tau = np.zeros_like(mu)
            self.log_prior = np.log(wm)
        else:
            self.mu = np.zeros(1)
            self.tau = np.zeros(1)
            self.log_prior = np.zeros(1)
        self.kernel = self._kernel(self.mu, self.tau)  # (theta, G): P(theta cell | mu, tau)
        self._hist = self._historical_terms()

    # -- kernels -------------------------------------------------------------
    def _kernel(self, mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Normal cell probabilities P(θ in cell i | μ, τ), exact for any τ ≥ 0."""
        e = self.edges.copy()
        e[0], e[-1] = -np.inf, np.inf  # end cells take the tails: prior mass is conserved
        e = e[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (e - mu[None, :]) / tau[None, :]
        z = np.where(tau[None, :] > 0, z, np.where(e >= mu[None, :], np.inf, -np.inf))
        cdf = special.ndtr(z)
        return np.diff(cdf, axis=0)

    def nex_weights(self, cohort: str) -> np.ndarray:
        """NEX prior cell probabilities of θ for ``cohort``."""
        m = self.model.value("nex_mean", cohort)
        s = self.model.value("nex_sd", cohort)
        e = self.edges.copy()
        e[0], e[-1] = -np.inf, np.inf
        return np.diff(special.ndtr((e - m) / s))

    def log_lik(self, cohort_offset: float, r: np.ndarray, n: int, weight: float = 1.0):
        """Binomial log likelihood on the θ grid: rows r, columns θ."""
        eta = self.theta[None, :] + cohort_offset
        rr = np.asarray(r, dtype=float)[:, None]
        return weight * (rr * special.log_expit(eta) + (n - rr) * special.log_expit(-eta))

    def _historical_terms(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(log factor over the (μ, τ) grid, per-cohort tie factors on the θ grid)."""
        logf = np.zeros(len(self.mu))
        ties: dict[str, np.ndarray] = {}
        for h in self.model.historical:
            if h.tie is not None:
                if h.tie not in self.offset:
                    raise DesignError(
                        f"`tie` of historical stratum {h.name!r} must be one of the cohorts "
                        f"{{{', '.join(self.names)}}}; got {h.tie!r}."
                    )
                o = self.offset[h.tie] if h.p0 is None else _off(self.model, h.p0)
                lik = np.exp(self.log_lik(o, np.array([h.r]), h.n, h.weight)[0])
                # integrate theta_h ~ N(theta_j, sd^2): convolution on the grid
                k = self._kernel(self.theta, np.full_like(self.theta, h.tie_sd))
                ties[h.tie] = ties.get(h.tie, 1.0) * (lik @ k)
                continue
            if self.model.kind not in ("hierarchical", "exnex", "pooled"):
                raise DesignError(
                    f"historical stratum {h.name!r} must be tied to a cohort (`tie`) when "
                    f"the model is {self.model.kind!r}."
                )
            p0 = h.p0 if h.p0 is not None else self.cohorts[0].p0
            o = _off(self.model, p0)
            lik = np.exp(self.log_lik(o, np.array([h.r]), h.n, h.weight)[0])
            logf += np.log(np.maximum(lik @ self.kernel, 1e-300))
        return logf, ties

    # -- per-cohort integrals ---------------------------------------------
    @functools.lru_cache(maxsize=256)  # noqa: B019 - engines are cached themselves
    def cohort_terms(self, cohort: str, n: int) -> dict[str, np.ndarray]:
        """For every r = 0..n: marginal m (r, G), and the θ-posterior pieces."""
        off = self.offset[cohort]
        r = np.arange(n + 1)
        loglik = self.log_lik(off, r, n)
        shift = loglik.max(axis=1, keepdims=True)
        lik = np.exp(loglik - shift)  # (R, theta), scaled per r
        tie = self._hist[1].get(cohort)
        if tie is not None:
            lik = lik * tie[None, :]
        return {"lik": lik, "shift": shift[:, 0], "offset": np.full(1, off)}

    def weights_theta(self, cohort: str) -> tuple[np.ndarray | None, np.ndarray | None, float]:
        """(EX kernel (theta, G) or None, NEX cell weights or None, P(EX))."""
        kind = self.model.kind
        if kind == "independent":
            return None, self.nex_weights(cohort), 0.0
        if kind == "exnex":
            return self.kernel, self.nex_weights(cohort), self.model.value("weight", cohort)
        return self.kernel, None, 1.0


def _off(model: Model, p0: float) -> float:
    return float(special.logit(p0)) if model.scale == "logit-offset" else 0.0


@functools.lru_cache(maxsize=32)
def _engine(model: Model, cohorts: tuple[Cohort, ...], grid: QuadratureGrid) -> _Engine:
    return _Engine(model, cohorts, grid)


# ---------------------------------------------------------------------------
# Lattice computation
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LatticeResult:
    """Posterior summaries for every outcome of a set of cohort sample sizes.

    Arrays have one axis per cohort (length n_j + 1, indexed by r_j).

    Attributes
    ----------
    p_above : dict
        Cohort → P(p_j > threshold_j | data) over the lattice.
    mean : dict
        Cohort → posterior mean of p_j over the lattice.
    """

    n: tuple[int, ...]
    p_above: dict[str, np.ndarray]
    mean: dict[str, np.ndarray] = field(default_factory=dict)


def _cohort_pieces(
    eng: _Engine, cohort: str, n: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per r: (M, Q, E) over the (μ, τ) grid.

    M = ∫ prior(θ | μ, τ) L(θ) dθ (the marginal), Q = the same over p > threshold,
    E = the same weighted by p — all including EX/NEX mixing and per-r scaling.
    """
    t = eng.cohort_terms(cohort, n)
    lik = t["lik"]
    off = eng.offset[cohort]
    p = special.expit(eng.theta + off)
    above = (p > threshold).astype(float)
    # cells straddling the threshold: split linearly on the theta scale
    th = special.logit(threshold) - off if 0 < threshold < 1 else None
    if th is not None:
        i = np.searchsorted(eng.edges, th) - 1
        if 0 <= i < len(eng.theta):
            lo, hi = eng.edges[i], eng.edges[i + 1]
            above[i] = (hi - th) / (hi - lo)
    ex, nex, w_ex = eng.weights_theta(cohort)
    outs = []
    for f in (np.ones_like(p), above, p):
        weighted = lik * f[None, :]
        total = 0.0
        if ex is not None and w_ex > 0:
            total = w_ex * (weighted @ ex)
        if nex is not None and w_ex < 1:
            total = total + (1 - w_ex) * (weighted @ nex)[:, None]
        outs.append(np.broadcast_to(total, (n + 1, len(eng.mu))).copy())
    return outs[0], outs[1], outs[2]


def lattice(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    *,
    thresholds: Mapping[str, float] | None = None,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> LatticeResult:
    """P(p_j > threshold_j | data) and posterior means for every outcome at sizes ``n``.

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    n : sequence of int
        Patients per cohort (same order as ``cohorts``); 0 means no data yet.
    thresholds : mapping, optional
        Cohort → threshold (default the cohort's p0).
    grid : QuadratureGrid

    Returns
    -------
    LatticeResult
        Arrays of shape ``(n_1 + 1, ..., n_J + 1)``.
    """
    coh = tuple(cohorts)
    if len(n) != len(coh):
        raise fail("n", "lattice", f"one sample size per cohort ({len(coh)})", list(n))
    return _lattice(
        model, coh, tuple(int(x) for x in n), tuple(sorted((thresholds or {}).items())), grid
    )


@functools.lru_cache(maxsize=256)
def _lattice(
    model: Model,
    coh: tuple[Cohort, ...],
    n: tuple[int, ...],
    thresholds: tuple[tuple[str, float], ...],
    grid: QuadratureGrid,
) -> LatticeResult:
    eng = _engine(model, coh, grid)
    thr = dict(thresholds)
    pieces = [
        _cohort_pieces(eng, c.name, nj, thr.get(c.name, c.p0)) for c, nj in zip(coh, n, strict=True)
    ]
    base = eng.log_prior + eng._hist[0]
    base = np.exp(base - base.max())  # (G,)
    J = len(coh)
    # log-scale normalisation of each cohort's marginal per r keeps products finite
    scaled = []
    for M, Q, E in pieces:
        s = M.max(axis=1, keepdims=True)
        s = np.where(s > 0, s, 1.0)
        scaled.append((M / s, Q / s, E / s))
    p_above: dict[str, np.ndarray] = {}
    mean: dict[str, np.ndarray] = {}
    for j, c in enumerate(coh):
        num_q = _contract(base, [scaled[k][1] if k == j else scaled[k][0] for k in range(J)])
        num_e = _contract(base, [scaled[k][2] if k == j else scaled[k][0] for k in range(J)])
        den = _contract(base, [scaled[k][0] for k in range(J)])
        with np.errstate(invalid="ignore", divide="ignore"):
            p_above[c.name] = np.clip(num_q / den, 0.0, 1.0)
            mean[c.name] = num_e / den
    return LatticeResult(n=n, p_above=p_above, mean=mean)


def _contract(base: np.ndarray, arrays: list[np.ndarray]) -> np.ndarray:
    """sum_g base[g] prod_j A_j[r_j, g] over the lattice (r_1, ..., r_J)."""
    if len(arrays) == 1:
        return arrays[0] @ base
    if len(arrays) == 2:
        return (arrays[0] * base[None, :]) @ arrays[1].T
    letters = "abcdefgh"[: len(arrays)]
    spec = ",".join(f"{ch}z" for ch in letters) + ",z->" + letters
    return np.einsum(spec, *arrays, base, optimize=True)


# ---------------------------------------------------------------------------
# Posterior for one data set
# ---------------------------------------------------------------------------
def posterior(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    *,
    level: float = 0.95,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> dict[str, dict[str, Any]]:
    """Posterior summaries of every cohort's response rate for observed data.

    Parameters
    ----------
    data : mapping
        Cohort → (r, n); cohorts without data may be omitted (n = 0).

    Returns
    -------
    dict
        Cohort → ``{"mean", "sd", "median", "interval": [lo, hi], "p_above_p0",
        "r", "n"}``.
    """
    coh = tuple(cohorts)
    names = [c.name for c in coh]
    for k in data:
        if k not in names:
            raise fail("data", "posterior", f"cohort names in {{{', '.join(names)}}}", k)
    rn = []
    for c in coh:
        r, n = data.get(c.name, (0, 0))
        n = check_int(n, f"n ({c.name})", "posterior", low=0)
        r = check_int(r, f"r ({c.name})", "posterior", low=0, high=n)
        rn.append((r, n))
    level = check_probability(level, "level", "posterior")
    eng = _engine(model, coh, grid)
    base = eng.log_prior + eng._hist[0]
    base = np.exp(base - base.max())
    # marginal of each cohort at its observed r (rows), over the (mu, tau) grid
    marg = []
    for c, (r, n) in zip(coh, rn, strict=True):
        M, _, _ = _cohort_pieces(eng, c.name, n, c.p0)
        marg.append(M[r] / max(M[r].max(), 1e-300))
    out = {}
    for j, c in enumerate(coh):
        r, n = rn[j]
        others = base.copy()
        for k in range(len(coh)):
            if k != j:
                others = others * marg[k]
        t = eng.cohort_terms(c.name, n)
        lik = t["lik"][r]
        ex, nex, w_ex = eng.weights_theta(c.name)
        dens = np.zeros_like(eng.theta)
        if ex is not None and w_ex > 0:
            dens = dens + w_ex * (ex @ others)
        if nex is not None and w_ex < 1:
            dens = dens + (1 - w_ex) * nex * others.sum()
        dens = dens * lik
        dens = dens / dens.sum()
        off = eng.offset[c.name]
        p = special.expit(eng.theta + off)
        mean = float((dens * p).sum())
        sd = float(np.sqrt(max((dens * p**2).sum() - mean**2, 0.0)))
        cdf_edges = np.concatenate([[0.0], np.cumsum(dens)])

        def q(x: float, cdf_edges: np.ndarray = cdf_edges, off: float = off) -> float:
            # piecewise-constant density within cells: linear CDF between cell edges
            return float(special.expit(np.interp(x, cdf_edges, eng.edges) + off))

        above = lattice(model, coh, [x[1] for x in rn], grid=grid).p_above[c.name]
        out[c.name] = {
            "r": r,
            "n": n,
            "mean": mean,
            "sd": sd,
            "median": q(0.5),
            "interval": [q((1 - level) / 2), q((1 + level) / 2)],
            "p_above_p0": float(above[tuple(x[0] for x in rn)]),
        }
    return out
