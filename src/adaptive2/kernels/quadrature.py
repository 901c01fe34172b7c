"""Deterministic quadrature for borrowing models: posteriors over a whole outcome lattice.

Given (μ, τ) the cohorts of a borrowing model (:mod:`adaptive2.model.hierarchical`)
are conditionally independent, so every posterior quantity is a ratio of sums over
a (μ, τ) grid of products of per-cohort one-dimensional integrals over θ. Those
integrals are matrix products of the binomial likelihood on a θ grid (one row per
possible response count) with a normal kernel whose weights are exact
expectations of the grid's hat functions, so τ → 0 degrades gracefully to a point
mass. Everything is vectorised over the whole lattice of outcomes r_1 × r_2 (× r_3)
at once and kept in the package's byte-bounded memo (:mod:`adaptive2._base.cache`)
by sample sizes. The posterior predictive of a cohort's future responses
(:func:`predictive`, for predictive-probability rules) is a ratio of the same
marginal likelihoods. Summaries for one observed data set are in
:mod:`adaptive2.kernels.posterior_summaries`.

Arrays in, arrays out: the functions take the model, its cohorts and the
quadrature grid as the value objects of :mod:`adaptive2.model.hierarchical` (read
through their attributes only) and a grid argument is always required; the
engines layer (:mod:`adaptive2.engines.posterior`) supplies the default grid.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy import special

from adaptive2._base.cache import MEMO
from adaptive2._base.errors import ConvergenceWarning, DesignError
from adaptive2._base.validation import check_int, fail

__all__ = [
    "MIN_VERIFIED_TAU_SCALE",
    "LatticeResult",
    "engine",
    "lattice",
    "marginal",
    "predictive",
]

Model = Any  # adaptive2.model.hierarchical.Model (kernels read attributes only)
Cohort = Any  # adaptive2.model.hierarchical.Cohort
QuadratureGrid = Any  # adaptive2.model.hierarchical.QuadratureGrid
Historical = Any  # adaptive2.model.hierarchical.Historical


def _tau_nodes(model: Model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """τ nodes: 0 plus a log-uniform grid from 1e-4 s to far in the prior's upper tail.

    The grid reaches the 1 − 1e-12 quantile (half-normal; half-t at most 50 s) or the
    1 − 5e-5 quantile (half-Cauchy, about 12,700 s), because data from conflicting
    cohorts can push the posterior of τ deep into an informative prior's tail.

    The positive nodes use the trapezoid rule in u = log τ, weights p(τ) τ Δu, which
    converges exponentially fast for these smooth, tail-decaying integrands; the node
    at τ = 0 carries the prior mass below the grid. Weights are normalised to one.
    """
    s = model.tau_scale
    cdf: Callable[[float], float]
    pdf: Callable[[np.ndarray], np.ndarray]
    if model.tau_prior == "half_normal":
        cdf = lambda t: 2 * special.ndtr(t / s) - 1  # noqa: E731
        pdf = lambda t: 2 / s * _npdf(t / s)  # noqa: E731
        top = s * special.ndtri(1 - 1e-12)
    elif model.tau_prior == "half_cauchy":
        cdf = lambda t: 2 / np.pi * np.arctan(t / s)  # noqa: E731
        pdf = lambda t: 2 / (np.pi * s * (1 + (t / s) ** 2))  # noqa: E731
        top = s * np.tan(np.pi / 2 * (1 - 0.5e-4))
    else:
        nu = model.tau_df
        lognorm = special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)
        cdf = lambda t: 2 * special.stdtr(nu, t / s) - 1  # noqa: E731
        pdf = lambda t: 2 / s * np.exp(  # noqa: E731
            lognorm - (nu + 1) / 2 * np.log1p((t / s) ** 2 / nu)
        )
        top = s * min(special.stdtrit(nu, 1 - 1e-12), 50.0)
    lo = 1e-4 * s
    pos = np.geomspace(lo, top, n - 1)
    du = np.log(pos[1] / pos[0])
    w = np.concatenate([[cdf(lo)], pdf(pos) * pos * du])
    return np.concatenate([[0.0], pos]), w / w.sum()


def _mu_nodes(model: Model, n: int, limit: float) -> tuple[np.ndarray, ...]:
    """μ nodes: midpoints of uniform cells over ±5 prior sd, an edge at the prior mean.

    Returns (nodes, weights, cell widths); weights are the prior density times the
    cell width, normalised (within ±limit). On the logit-offset scale the prior mean
    is usually 0, the decision threshold p_j = p0_j, so a posterior that is nearly a
    step in μ there (τ → 0) is integrated without an O(h) error.
    """
    half = min(5 * model.mu_sd, limit)
    k = max(n // 2, 2)
    step = half / k
    mu = model.mu_mean + (np.arange(-k, k) + 0.5) * step
    width = np.full_like(mu, step)
    return mu, _mu_weights(model, mu, width), width


def _mu_weights(model: Model, mu: np.ndarray, width: np.ndarray) -> np.ndarray:
    logw = -0.5 * ((mu - model.mu_mean) / model.mu_sd) ** 2 + np.log(width)
    w = np.exp(logw - logw.max())
    return cast(np.ndarray, w / w.sum())


def _refine_mu(
    model: Model, mu: np.ndarray, width: np.ndarray, *, centre: float, half: float, factor: int
) -> tuple[np.ndarray, ...]:
    """Split the cells within ``half`` of ``centre`` into ``factor`` sub-cells."""
    near = np.abs(mu - centre) < half + width / 2
    subs = [mu[~near]]
    sub_w = [width[~near]]
    for m, w in zip(mu[near], width[near], strict=True):
        subs.append(m - w / 2 + (np.arange(factor) + 0.5) * w / factor)
        sub_w.append(np.full(factor, w / factor))
    nodes = np.concatenate(subs)
    widths = np.concatenate(sub_w)
    order = np.argsort(nodes)
    nodes, widths = nodes[order], widths[order]
    return nodes, _mu_weights(model, nodes, widths), widths


_GL_Z, _GL_W = np.polynomial.legendre.leggauss(24)


class _Engine:
    """Precomputed kernels for one model, cohort set and grid."""

    def __init__(self, model: Model, cohorts: tuple[Cohort, ...], grid: QuadratureGrid) -> None:
        self.model = model
        self.cohorts = cohorts
        self.names = [c.name for c in cohorts]
        self.grid = grid
        width = grid.theta_max
        self.theta = np.linspace(-width, width, grid.n_theta)  # quadrature nodes
        self.h = self.theta[1] - self.theta[0]
        # edges of the cells centred on the nodes (for quantiles of a posterior)
        self.edges = np.concatenate(
            [
                [self.theta[0] - self.h / 2],
                (self.theta[1:] + self.theta[:-1]) / 2,
                [self.theta[-1] + self.h / 2],
            ]
        )
        self.offset = {
            c.name: (special.logit(c.p0) if model.scale == "logit-offset" else 0.0) for c in cohorts
        }
        limit = grid.theta_max - 1.0
        if model.kind in ("hierarchical", "exnex"):
            tau, wt = _tau_nodes(model, grid.n_tau)
            mu, wm, hm = _mu_nodes(model, grid.n_mu, limit)
            # For tau below the theta step, P(theta_j > 0 | mu, tau) is nearly a step in
            # mu at 0 (p_j = p0_j on the offset scale): those columns get 8x finer mu
            # cells within 0.5 of it.
            mu_r, wm_r, hm_r = _refine_mu(model, mu, hm, centre=0.0, half=0.5, factor=8)
            cols_mu, cols_tau, cols_w, cols_h = [], [], [], []
            for t, w in zip(tau, wt, strict=True):
                m_, w_, h_ = (mu_r, wm_r, hm_r) if t <= 2 * self.h else (mu, wm, hm)
                cols_mu.append(m_)
                cols_tau.append(np.full_like(m_, t))
                cols_w.append(w_ * w)
                cols_h.append(h_)
            self.mu = np.concatenate(cols_mu)
            self.tau = np.concatenate(cols_tau)
            self.log_prior = np.log(np.concatenate(cols_w))
            self.mu_width = np.concatenate(cols_h)
        elif model.kind == "pooled":
            mu, wm, hm = _mu_nodes(model, grid.n_mu * 16, limit)
            self.mu = mu
            self.tau = np.zeros_like(mu)
            self.log_prior = np.log(wm)
            self.mu_width = hm
        else:
            self.mu = np.zeros(1)
            self.tau = np.zeros(1)
            self.log_prior = np.zeros(1)
            self.mu_width = np.ones(1)
        self.point = self.tau <= 0  # columns where theta_j = mu exactly
        # columns whose normal is too narrow for the theta grid: Gauss-Legendre instead
        self.narrow = (self.tau > 0) & (self.tau <= 2 * self.h)
        self.wide = ~(self.point | self.narrow)  # columns integrated on the theta grid
        self._rest_kernel: np.ndarray | None = None  # built on demand (posterior densities)
        if model.kind == "independent":
            self.wide = np.zeros_like(self.point)
        # (theta, wide columns) node weights, and every other node: the coarse level of
        # the Richardson extrapolation
        self.kernel = self._kernel(self.mu[self.wide], self.tau[self.wide])
        self.kernel_c = _flush(
            _hat_weights(self.theta[::2], self.mu[self.wide], self.tau[self.wide])
        )
        self._hist = self._historical_terms()

    # -- kernels -------------------------------------------------------------
    def _kernel(self, mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Weights of the θ nodes for N(μ, τ²): expectations of linear hat functions.

        Node i carries E[hat_i(θ)] with hat_i the piecewise-linear interpolation basis
        function of the node (the end nodes' hats extend flat to ±∞, so the weights of
        every column sum to one). Integrals ∫ L(θ) N(θ | μ, τ²) dθ are then
        ∫ (linear interpolant of L) dN — second-order accurate for every τ ≥ 0, and for
        τ = 0 exactly the linear interpolation of L at μ (no rounding of μ to the grid).
        """
        return _flush(_hat_weights(self.theta, mu, tau))

    def nex_weights(self, cohort: str, coarse: bool = False) -> np.ndarray:
        """NEX prior weights of the θ nodes (every other node if ``coarse``)."""
        m = self.model.value("nex_mean", cohort)
        s = self.model.value("nex_sd", cohort)
        nodes = self.theta[::2] if coarse else self.theta
        return _hat_weights(nodes, np.array([m]), np.array([s]))[:, 0]

    def integrate(
        self, values: np.ndarray, cohort: str | None, coarse: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Richardson-extrapolated ∫ f(θ) N(θ | μ, τ²) dθ and ∫ f(θ) NEX(θ) dθ.

        ``values`` holds f on the θ nodes (rows are separate functions); ``coarse``
        the values to use on every other node (default ``values[:, ::2]``; they
        differ where f has a step, whose cell fractions depend on the grid). The hat
        rule is second-order; combining the full and the every-other-node grids,
        (4 I_h − I_2h) / 3, cancels the h² term. Returns (EX part (R, G), NEX part (R,)).
        """
        coarse = values[:, ::2] if coarse is None else coarse
        ex = np.zeros((values.shape[0], len(self.mu)))
        if self.wide.any():
            ex[:, self.wide] = (4 * (values @ self.kernel) - coarse @ self.kernel_c) / 3
        nex = np.zeros(values.shape[0])
        if cohort is not None:
            nex = (
                4 * (values @ self.nex_weights(cohort))
                - coarse @ self.nex_weights(cohort, coarse=True)
            ) / 3
        return ex, nex

    def log_lik(
        self, cohort_offset: float, r: np.ndarray, n: int, weight: float = 1.0
    ) -> np.ndarray:
        """Binomial log likelihood on the θ grid: rows r, columns θ."""
        eta = self.theta[None, :] + cohort_offset
        rr = np.asarray(r, dtype=float)[:, None]
        ll = weight * (rr * special.log_expit(eta) + (n - rr) * special.log_expit(-eta))
        return cast(np.ndarray, ll)

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
                # integrate theta_h ~ N(theta_j, sd^2): on the grid, Richardson-extrapolated,
                # or, for a tie narrower than the grid, by Gauss-Legendre on the likelihood
                sd = np.full_like(self.theta, h.tie_sd)
                if h.tie_sd >= 2 * self.h:
                    fine = lik @ _hat_weights(self.theta, self.theta, sd)
                    coarse = lik[::2] @ _hat_weights(self.theta[::2], self.theta, sd)
                    conv = np.clip((4 * fine - coarse) / 3, 0.0, None)
                else:
                    t = self.theta[:, None] + 9 * h.tie_sd * _GL_Z[None, :]
                    eta = t + o
                    ll = h.weight * (
                        h.r * special.log_expit(eta) + (h.n - h.r) * special.log_expit(-eta)
                    )
                    wts = 9 * h.tie_sd * _GL_W * _npdf(9 * _GL_Z) / h.tie_sd
                    conv = np.exp(ll) @ wts
                ties[h.tie] = ties.get(h.tie, 1.0) * conv
                continue
            if self.model.kind not in ("hierarchical", "exnex", "pooled"):
                raise DesignError(
                    f"historical stratum {h.name!r} must be tied to a cohort (`tie`) when "
                    f"the model is {self.model.kind!r}."
                )
            p0 = h.p0 if h.p0 is not None else self.cohorts[0].p0
            o = _off(self.model, p0)
            lik = np.exp(self.log_lik(o, np.array([h.r]), h.n, h.weight))
            m, _ = self.integrate(lik, None)
            m = m[0]

            def loglik(theta: np.ndarray, h: Historical = h, o: float = o) -> np.ndarray:
                eta = theta + o
                ll = h.weight * (
                    h.r * special.log_expit(eta) + (h.n - h.r) * special.log_expit(-eta)
                )
                return cast(np.ndarray, ll[None])

            self._exact_columns(m[None, :], loglik, None, None)
            logf += np.log(np.maximum(m, 1e-300))
        return logf, ties

    def _exact_columns(
        self,
        out: np.ndarray,
        loglik: Any,
        th: float | None,
        extra: np.ndarray | None,
    ) -> None:
        """Overwrite point-mass and narrow columns of ``out`` (R, G) with exact values.

        ``loglik(theta)`` gives the log likelihood, shape (R, *theta.shape), at any θ.
        With ``th`` only the part θ > th is integrated; with ``extra`` = "p" the
        integrand is weighted by p (``extra`` holds the offset).
        """
        if self.point.any():
            mu = self.mu[self.point]
            vals = np.exp(loglik(mu))
            if th is not None:
                hm = self.mu_width[self.point]
                vals = vals * np.clip((mu + hm / 2 - th) / hm, 0.0, 1.0)
            if extra is not None:
                vals = vals * special.expit(mu + extra[0])
            out[:, self.point] = vals
        if self.narrow.any():
            mu = self.mu[self.narrow][:, None]
            tau = self.tau[self.narrow][:, None]
            lo, hi = mu - 9 * tau, mu + 9 * tau
            if th is not None:
                lo = np.maximum(lo, th)
                hi = np.maximum(hi, lo)
            mid, half = (lo + hi) / 2, (hi - lo) / 2
            theta = mid + half * _GL_Z[None, :]  # (G0, K)
            dens = np.exp(-0.5 * ((theta - mu) / tau) ** 2) / (tau * np.sqrt(2 * np.pi))
            wts = half * _GL_W[None, :] * dens
            vals = np.exp(loglik(theta))  # (R, G0, K)
            if extra is not None:
                vals = vals * special.expit(theta + extra[0])[None]
            out[:, self.narrow] = np.einsum("rgk,gk->rg", vals, wts)

    # -- per-cohort integrals ---------------------------------------------
    def cohort_terms(self, cohort: str, n: int) -> dict[str, np.ndarray]:
        """For every r = 0..n: the scaled likelihood on the θ grid and its log scale."""
        key = ("quadrature.terms", self.model, tuple(self.cohorts), self.grid, cohort, n)
        return MEMO.get(key, lambda: self._cohort_terms(cohort, n))

    def _cohort_terms(self, cohort: str, n: int) -> dict[str, np.ndarray]:
        off = self.offset[cohort]
        r = np.arange(n + 1)
        loglik = self.log_lik(off, r, n)
        shift = loglik.max(axis=1, keepdims=True)
        lik = _flush(np.exp(loglik - shift))  # (R, theta), scaled per r
        tie = self._hist[1].get(cohort)
        if tie is not None:
            lik = lik * tie[None, :]
        return {"lik": lik, "shift": shift[:, 0]}

    def mix_theta(self, weights: np.ndarray) -> np.ndarray:
        """Σ_g weights_g · (node weights of N(μ_g, τ_g²)) on the θ nodes, all columns."""
        out = np.zeros_like(self.theta)
        if self.wide.any():
            out += self.kernel @ weights[self.wide]
        rest = ~self.wide
        if rest.any() and self.model.kind != "independent":
            if self._rest_kernel is None:
                self._rest_kernel = _flush(_hat_weights(self.theta, self.mu[rest], self.tau[rest]))
            out += self._rest_kernel @ weights[rest]
        return out

    def weights_theta(self, cohort: str) -> tuple[np.ndarray | None, np.ndarray | None, float]:
        """(EX kernel (theta, G) or None, NEX cell weights or None, P(EX))."""
        kind = self.model.kind
        if kind == "independent":
            return None, self.nex_weights(cohort), 0.0
        if kind == "exnex":
            return self.kernel, self.nex_weights(cohort), self.model.value("weight", cohort)
        return self.kernel, None, 1.0


_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _npdf(z: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, np.exp(-0.5 * z * z) * _INV_SQRT_2PI)


def _flush(a: np.ndarray, floor: float = 1e-280) -> np.ndarray:
    """Set values below ``floor`` to 0 (subnormal numbers make BLAS very slow).

    Every array here is scaled so that its relevant entries are far above the floor.
    """
    a[np.abs(a) < floor] = 0.0
    return a


def _upper_partial(y: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """E[(t − y)^+] for t ~ N(0, τ²), τ > 0, accurate in relative terms in the far tail.

    For y ≥ 0 it is τ e^(−z²/2) [1/√(2π) − (z/2) erfcx(z/√2)] (z = y/τ), which keeps
    its relative precision where the value is tiny; for y < 0 it is −y + E[(t + y)^+].
    """
    z = np.abs(y) / tau
    tail = tau * np.exp(-0.5 * z * z) * (_INV_SQRT_2PI - 0.5 * z * special.erfcx(z / np.sqrt(2.0)))
    return cast(np.ndarray, np.where(y >= 0, tail, tail - y))


def _hat_weights(nodes: np.ndarray, mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """E[hat_i(θ)] for θ ~ N(μ_g, τ_g²): shape (nodes, g); τ = 0 allowed.

    hat_i is node i's linear interpolation basis function (end nodes' hats are flat
    to ±∞, so columns sum to one). The weights are second differences of
    P_i = E[(θ − x_i)^+] right of μ and of N_i = E[(x_i − θ)^+] left of μ (equal,
    as P − N is linear), each computed in the form that keeps relative precision
    in its tail, so tiny weights far from μ are not swamped by rounding noise.
    """
    h = nodes[1] - nodes[0]
    x = nodes[:, None]
    d = x - mu[None, :]
    n_nodes = len(nodes)
    w = np.zeros((n_nodes, len(mu)))
    zero = tau <= 0
    if zero.any():  # point mass: exact linear interpolation weights
        dz = d[:, zero]
        w[:, zero] = np.clip(1.0 - np.abs(dz) / h, 0.0, None)
        w[0, zero] = np.where(dz[0] >= 0, 1.0, np.clip(1.0 - np.abs(dz[0]) / h, 0.0, None))
        w[-1, zero] = np.where(dz[-1] <= 0, 1.0, np.clip(1.0 - np.abs(dz[-1]) / h, 0.0, None))
    pos = ~zero
    if pos.any():
        t = tau[pos][None, :]
        dp = d[:, pos]
        upper = _upper_partial(dp, t)  # E[(theta - x_i)^+]
        lower = _upper_partial(-dp, t)  # E[(x_i - theta)^+]
        second_u = (upper[:-2] - 2 * upper[1:-1] + upper[2:]) / h
        second_l = (lower[:-2] - 2 * lower[1:-1] + lower[2:]) / h
        right = dp[1:-1] >= 0
        w[1:-1, pos] = np.where(right, second_u, second_l)
        w[0, pos] = (lower[1] - lower[0]) / h
        w[-1, pos] = (upper[-2] - upper[-1]) / h
    return np.clip(w, 0.0, None)


def _above_fraction(nodes: np.ndarray, th: float) -> np.ndarray:
    """Share of each node's hat function lying above ``th`` (area-weighted)."""
    h = nodes[1] - nodes[0]
    out = (nodes > th).astype(float)
    for i in np.flatnonzero(np.abs(nodes - th) < h):
        x = nodes[i]
        if th <= x:  # th in (x - h, x]: the part of the left half below th is cut
            out[i] = 1.0 - (th - (x - h)) ** 2 / (2 * h * h)
        else:  # th in (x, x + h): only the right half above th remains
            out[i] = ((x + h) - th) ** 2 / (2 * h * h)
    if th <= nodes[0]:
        out[0] = 1.0 if th < nodes[0] - h else out[0]
    return out


def _off(model: Model, p0: float) -> float:
    return float(special.logit(p0)) if model.scale == "logit-offset" else 0.0


def engine(model: Model, cohorts: tuple[Cohort, ...], grid: QuadratureGrid) -> _Engine:
    """The quadrature engine of a model, cohort set and grid (kept in the memo)."""
    key = ("quadrature.engine", model, tuple(cohorts), grid)
    return MEMO.get(key, lambda: _new_engine(model, tuple(cohorts), grid))


def _new_engine(model: Model, cohorts: tuple[Cohort, ...], grid: QuadratureGrid) -> _Engine:
    if model.kind in ("hierarchical", "exnex") and model.tau_scale < MIN_VERIFIED_TAU_SCALE:
        warnings.warn(
            f"`tau_scale` = {model.tau_scale:g} is below {MIN_VERIFIED_TAU_SCALE:g}: the tau "
            "prior is close to pooling; when cohorts' data conflict, tau's posterior lies in "
            "the prior's far tail and posterior probabilities on this grid can be off by far "
            "more than the 1e-4 verified for larger scales; use kind='pooled', or a finer "
            "QuadratureGrid (more `n_tau` and `n_mu` points).",
            ConvergenceWarning,
            stacklevel=4,
        )
    return _Engine(model, cohorts, grid)


MIN_VERIFIED_TAU_SCALE = 0.25


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
    th = (
        special.logit(threshold) - off
        if 0 < threshold < 1
        else (-np.inf if threshold <= 0 else np.inf)
    )
    above = _above_fraction(eng.theta, th) if np.isfinite(th) else np.full_like(p, float(th < 0))
    ex_nodes, nex_nodes, w_ex = eng.weights_theta(cohort)
    R, G = n + 1, len(eng.mu)
    outs = []
    stacked = np.concatenate([lik, lik * above[None, :], lik * p[None, :]])
    nodes_c = eng.theta[::2]
    above_c = (
        _above_fraction(nodes_c, th) if np.isfinite(th) else np.full(len(nodes_c), float(th < 0))
    )
    lik_c = lik[:, ::2]
    stacked_c = np.concatenate([lik_c, lik_c * above_c[None, :], lik_c * p[None, ::2]])
    ex, nex = eng.integrate(stacked, cohort if nex_nodes is not None else None, stacked_c)
    if ex_nodes is not None and (eng.point.any() or eng.narrow.any()):
        # columns with tau too small for the theta grid: exact likelihood evaluations
        rr = np.arange(R, dtype=float).reshape((R,) + (1,) * 2)
        tie = eng._hist[1].get(cohort)
        log_tie = None if tie is None else np.log(np.maximum(tie, 1e-300))

        def loglik(theta: np.ndarray) -> np.ndarray:
            th3 = theta[None] if theta.ndim == 2 else theta[None, :, None]
            eta = th3 + off
            ll = rr * special.log_expit(eta) + (n - rr) * special.log_expit(-eta)
            ll = ll - t["shift"].reshape(R, 1, 1)
            if log_tie is not None:
                ll = ll + np.interp(theta, eng.theta, log_tie).reshape((1, *th3.shape[1:]))
            return cast(np.ndarray, ll if theta.ndim == 2 else ll[:, :, 0])

        eng._exact_columns(ex[:R], loglik, None, None)
        eng._exact_columns(ex[R : 2 * R], loglik, th if np.isfinite(th) else None, None)
        if not np.isfinite(th):
            ex[R : 2 * R] = ex[:R] if th < 0 else 0.0
        eng._exact_columns(ex[2 * R :], loglik, None, np.array([off]))
    for k in range(3):
        total = np.zeros((R, G))
        if ex_nodes is not None and w_ex > 0:
            total = total + w_ex * ex[k * R : (k + 1) * R]
        if nex_nodes is not None and w_ex < 1:
            total = total + (1 - w_ex) * nex[k * R : (k + 1) * R][:, None]
        outs.append(_flush(np.clip(total, 0.0, None)))
    return outs[0], outs[1], outs[2]


def _pieces(
    eng: _Engine, cohort: str, n: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_cohort_pieces`, kept in the memo (read-only arrays).

    One cohort's pieces at one sample size serve every lattice that contains that
    size (a multi-look design meets each size in several combinations).
    """
    key = ("quadrature.pieces", eng.model, tuple(eng.cohorts), eng.grid, cohort, n, threshold)
    return MEMO.get(key, lambda: _cohort_pieces(eng, cohort, n, threshold))


def marginal(eng: _Engine, cohort: str, n: int, threshold: float) -> np.ndarray:
    """Cohort's marginal M[r, g] at every r of n over the (μ, τ) grid (scaled per r).

    Read-only; kept in the memo with the other pieces of :func:`lattice`.
    """
    return _pieces(eng, cohort, n, threshold)[0]


def lattice(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    *,
    thresholds: Mapping[str, float] | None = None,
    grid: QuadratureGrid,
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
    key = ("quadrature.lattice", model, coh, tuple(int(x) for x in n),
           tuple(sorted((thresholds or {}).items())), grid)
    return MEMO.get(key, lambda: _lattice(*key[1:]))


def _lattice(
    model: Model,
    coh: tuple[Cohort, ...],
    n: tuple[int, ...],
    thresholds: tuple[tuple[str, float], ...],
    grid: QuadratureGrid,
) -> LatticeResult:
    eng = engine(model, coh, grid)
    thr = dict(thresholds)
    pieces = [_pieces(eng, c.name, nj, thr.get(c.name, c.p0)) for c, nj in zip(coh, n, strict=True)]
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
    den = _contract(base, [scaled[k][0] for k in range(J)])
    for j, c in enumerate(coh):
        num_q = _contract(base, [scaled[k][1] if k == j else scaled[k][0] for k in range(J)])
        num_e = _contract(base, [scaled[k][2] if k == j else scaled[k][0] for k in range(J)])
        with np.errstate(invalid="ignore", divide="ignore"):
            p_above[c.name] = np.clip(num_q / den, 0.0, 1.0)
            mean[c.name] = num_e / den
    return LatticeResult(n=n, p_above=p_above, mean=mean)


def _contract(base: np.ndarray, arrays: list[np.ndarray]) -> np.ndarray:
    """sum_g base[g] prod_j A_j[r_j, g] over the lattice (r_1, ..., r_J)."""
    if len(arrays) == 1:
        return cast(np.ndarray, arrays[0] @ base)
    if len(arrays) == 2:
        return cast(
            np.ndarray, _flush(arrays[0] * base[None, :]) @ np.ascontiguousarray(arrays[1].T)
        )
    letters = "abcdefgh"[: len(arrays)]
    spec = ",".join(f"{ch}z" for ch in letters) + ",z->" + letters
    return cast(np.ndarray, np.einsum(spec, *arrays, base, optimize=True))


# ---------------------------------------------------------------------------
# Posterior predictive of a cohort's future responses
# ---------------------------------------------------------------------------
def predictive(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    *,
    cohort: str,
    m: int,
    grid: QuadratureGrid,
) -> np.ndarray:
    r"""Posterior predictive of the responses among ``cohort``'s next ``m`` patients.

    For every outcome (r_1, ..., r_J) of the lattice at sizes ``n``, the
    probability that X = x of the next m patients of cohort j respond, x = 0..m,
    under the borrowing model given all cohorts' current data:

    .. math::

        P(X = x \mid r) = \int \mathrm{Bin}(x; m, p_j)\,
        \pi(p_j \mid r_1, \ldots, r_J)\, dp_j

    (a beta-binomial mixture over the quadrature posterior of p_j).

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    n : sequence of int
        Patients per cohort now (same order as ``cohorts``).
    cohort : str
        Name of the cohort whose future responses are predicted.
    m : int
        Number of further patients of that cohort (m ≥ 0).
    grid : QuadratureGrid

    Returns
    -------
    numpy.ndarray
        Shape ``(n_1 + 1, ..., n_J + 1, m + 1)``; the last axis sums to one.

    Notes
    -----
    Because Bin(x; m, p) p^r (1 − p)^(n−r) = C(m, x) p^(r+x) (1 − p)^(n+m−r−x), the
    integral against the posterior is a ratio of the model's marginal likelihoods,

    .. math::

        P(X = x \mid r) = C(m, x)\, \frac{Z(r_j + x \text{ of } n_j + m,\ r_{-j}
        \text{ of } n_{-j})}{Z(r_j \text{ of } n_j,\ r_{-j} \text{ of } n_{-j})},

    where Z is the quadrature marginal of :func:`lattice` (the same θ, μ and τ
    rules, τ → 0 columns and tied strata included). The quadrature's node values
    obey the binomial identity Σ_x C(m, x) Z(r_j + x, ·) = Z(r_j, ·) exactly, so
    the ratios sum to one up to rounding; they are normalised over x all the same.
    The accuracy is that of the engine's marginals (see the module notes; the
    tests compare these probabilities with an independent brute force to 1e-4).
    """
    coh = tuple(cohorts)
    names = [c.name for c in coh]
    if len(n) != len(coh):
        raise fail("n", "predictive", f"one sample size per cohort ({len(coh)})", list(n))
    sizes = tuple(check_int(x, "n", "predictive", low=0) for x in n)
    if cohort not in names:
        raise fail("cohort", "predictive", f"one of {{{', '.join(names)}}}", cohort)
    m = check_int(m, "m", "predictive", low=0)
    key = ("quadrature.predictive", model, coh, sizes, cohort, m, grid)
    return MEMO.get(key, lambda: _predictive(model, coh, sizes, cohort, m, grid))


def _predictive(
    model: Model,
    coh: tuple[Cohort, ...],
    n: tuple[int, ...],
    cohort: str,
    m: int,
    grid: QuadratureGrid,
) -> np.ndarray:
    eng = engine(model, coh, grid)
    j = [c.name for c in coh].index(cohort)
    base = eng.log_prior + eng._hist[0]
    base = np.exp(base - base.max())
    arrays = []
    log_scale = np.zeros(0)
    for k, c in enumerate(coh):
        size = n[k] + m if k == j else n[k]
        M = _pieces(eng, c.name, size, c.p0)[0]
        s = M.max(axis=1, keepdims=True)
        s = np.where(s > 0, s, 1.0)
        arrays.append(M / s)
        if k == j:  # true marginal = scaled × exp(log_scale), per response count
            log_scale = eng.cohort_terms(c.name, size)["shift"] + np.log(s[:, 0])
    z = np.moveaxis(_contract(base, arrays), j, 0)  # (n_j + m + 1, other cohorts...)
    x = np.arange(m + 1)
    total = np.arange(n[j] + 1)[:, None] + x[None, :]  # r_j + x, shape (n_j + 1, m + 1)
    log_comb = special.gammaln(m + 1) - special.gammaln(x + 1) - special.gammaln(m - x + 1)
    extra = (log_scale[total] + log_comb[None, :]).reshape(total.shape + (1,) * (z.ndim - 1))
    with np.errstate(divide="ignore"):
        logw = np.log(z)[total] + extra  # (n_j + 1, m + 1, other cohorts...)
    top = logw.max(axis=1, keepdims=True)
    if not np.isfinite(top).all():
        raise DesignError(
            f"the predictive distribution of cohort {cohort!r} underflowed on this grid "
            f"at sizes {list(n)}; use a finer QuadratureGrid."
        )
    w = np.exp(logw - top)
    w /= w.sum(axis=1, keepdims=True)
    return np.moveaxis(np.moveaxis(w, 1, -1), 0, j)
