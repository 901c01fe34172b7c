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

Accuracy: the default grid keeps P(p_j > p0_j) and posterior means within 1e-4 for
priors like the shipped designs'. For small or heavy-tailed τ priors and vague
priors the engine integrates on :func:`refined_grid` (more τ nodes, a wider θ range
at the same step), which keeps that accuracy over the range that
benchmarks/accuracy_hierarchical.py measures; beyond it (and for cohorts of more
than :data:`TESTED_N` patients) a :class:`~adaptive2._base.errors.PrecisionWarning`
says by how much answers may be off (:func:`accuracy_warnings`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy import special

from adaptive2._base.cache import MEMO
from adaptive2._base.errors import ConvergenceWarning, DesignError, PrecisionWarning
from adaptive2._base.validation import check_int, fail

__all__ = [
    "MIN_VERIFIED_TAU_SCALE",
    "LatticeResult",
    "accuracy_warnings",
    "engine",
    "lattice",
    "marginal",
    "p_above_data",
    "predictive",
    "refined_grid",
    "warm_rows",
]

Model = Any  # adaptive2.model.hierarchical.Model (kernels read attributes only)
Cohort = Any  # adaptive2.model.hierarchical.Cohort
QuadratureGrid = Any  # adaptive2.model.hierarchical.QuadratureGrid
Historical = Any  # adaptive2.model.hierarchical.Historical


def _tau_range(model: Model) -> tuple[float, float]:
    """(lo, top): the smallest and largest positive τ node of the model's τ grid.

    lo = 1e-4 s; top is the 1 − 1e-12 quantile (half-normal; half-t at most 50 s) or the
    1 − 5e-5 quantile (half-Cauchy, about 12,700 s) of the prior of scale s. A fixed τ
    has the one node s (lo = top = s).
    """
    s = model.tau_scale
    if model.tau_prior == "fixed":
        return s, s
    if model.tau_prior == "half_normal":
        top = s * special.ndtri(1 - 1e-12)
    elif model.tau_prior == "half_cauchy":
        top = s * np.tan(np.pi / 2 * (1 - 0.5e-4))
    else:
        top = s * min(special.stdtrit(model.tau_df, 1 - 1e-12), 50.0)
    return 1e-4 * s, float(top)


def _tau_nodes(model: Model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """τ nodes: 0 plus a log-uniform grid from 1e-4 s to far in the prior's upper tail.

    The grid reaches the 1 − 1e-12 quantile (half-normal; half-t at most 50 s) or the
    1 − 5e-5 quantile (half-Cauchy, about 12,700 s), because data from conflicting
    cohorts can push the posterior of τ deep into an informative prior's tail.

    The positive nodes use the trapezoid rule in u = log τ, weights p(τ) τ Δu, which
    converges exponentially fast for these smooth, tail-decaying integrands; the node
    at τ = 0 carries the prior mass below the grid. Weights are normalised to one.

    A fixed τ (``tau_prior="fixed"``) is the one node τ = s of weight 1 (no node at 0,
    whatever ``n``): the engine's columns are then the μ grid at that τ, narrow (τ at
    most two θ steps: Gauss–Hermite on the likelihood, refined μ cells) or wide.
    """
    s = model.tau_scale
    if model.tau_prior == "fixed":
        return np.array([s]), np.ones(1)
    cdf: Callable[[float], float]
    pdf: Callable[[np.ndarray], np.ndarray]
    if model.tau_prior == "half_normal":
        cdf = lambda t: 2 * special.ndtr(t / s) - 1  # noqa: E731
        pdf = lambda t: 2 / s * _npdf(t / s)  # noqa: E731
    elif model.tau_prior == "half_cauchy":
        cdf = lambda t: 2 / np.pi * np.arctan(t / s)  # noqa: E731
        pdf = lambda t: 2 / (np.pi * s * (1 + (t / s) ** 2))  # noqa: E731
    else:
        nu = model.tau_df
        lognorm = special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)
        cdf = lambda t: 2 * special.stdtr(nu, t / s) - 1  # noqa: E731
        pdf = lambda t: 2 / s * np.exp(  # noqa: E731
            lognorm - (nu + 1) / 2 * np.log1p((t / s) ** 2 / nu)
        )
    lo, top = _tau_range(model)
    pos = np.geomspace(lo, top, n - 1)
    du = np.log(pos[1] / pos[0])
    w = np.concatenate([[cdf(lo)], pdf(pos) * pos * du])
    return np.concatenate([[0.0], pos]), w / w.sum()


def _mu_nodes(model: Model, n: int, limit: float) -> tuple[np.ndarray, ...]:
    """μ nodes: midpoints of uniform cells over ±5 prior sd, an edge at the prior mean.

    Returns (nodes, weights, cell widths); weights are the prior density times the
    cell width, normalised. On the logit-offset scale the prior mean is usually 0,
    the decision threshold p_j = p0_j, so a posterior that is nearly a step in μ
    there (τ → 0) is integrated without an O(h) error.

    The uniform cells stop at ±limit (one log-odds inside the θ grid). A vaguer μ
    prior continues beyond with cells each :data:`MU_TAIL_GROWTH` times wider than the
    last, out to ±5 prior sd: the θ integrals there are those of the grid's end nodes
    and change slowly with μ, whereas cutting the prior at ±limit would drop its
    mass (posterior means off by 3e-3 for μ sd 10 with 40 + 40 patients).
    """
    half = min(5 * model.mu_sd, limit)
    k = max(n // 2, 2)
    step = half / k
    mu = model.mu_mean + (np.arange(-k, k) + 0.5) * step
    width = np.full_like(mu, step)
    reach = 5 * model.mu_sd
    if reach > half * (1 + 1e-12):
        edges = [half]
        w = step
        while edges[-1] < reach:
            w *= MU_TAIL_GROWTH
            edges.append(min(edges[-1] + w, reach))
        e = np.array(edges)
        mid, wid = (e[1:] + e[:-1]) / 2, np.diff(e)
        mu = np.concatenate([model.mu_mean - mid[::-1], mu, model.mu_mean + mid])
        width = np.concatenate([wid[::-1], width, wid])
    return mu, _mu_weights(model, mu, width), width


MU_TAIL_GROWTH = 1.2
"""Width ratio of successive μ cells beyond ±(theta_max − 1) (vague μ priors)."""


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


_HERMITE_ORDERS = np.array([4, 8, 12, 16, 24, 32, 48, 64])
_HERMITE_REACH = np.array([0.06, 0.54, 1.245, 1.985, 3.41, 4.72, 7.0, 9.0])
"""For each Gauss–Hermite order m, the largest tilt c for which m nodes integrate e^{cz}
against N(0, 1) to 1e-13 relative (measured; ``tests/kernels/test_quadrature.py`` measures
it again). A narrow column's likelihood L(μ + τz) is such a tilt to first order, with
c ≤ τ · |d log L / dθ|; beyond the last reach the last order is used."""


def _hermite_order(tilt: np.ndarray) -> np.ndarray:
    """For each tilt, the index in :data:`_HERMITE_ORDERS` of the fewest nodes it needs."""
    at = np.searchsorted(_HERMITE_REACH, tilt, side="left")
    return np.minimum(at, len(_HERMITE_ORDERS) - 1)


def _times_p(wts: np.ndarray, theta: np.ndarray, off: float) -> np.ndarray:
    """Node weights times p = expit(θ + offset) at the nodes."""
    return cast(np.ndarray, wts * special.expit(theta + off))


@functools.cache
def _hermite_tables() -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights of the Gauss–Hermite rules for E[f(Z)], Z ~ N(0, 1).

    One row per order of :data:`_HERMITE_ORDERS`, zero-padded.
    """
    shape = (len(_HERMITE_ORDERS), int(_HERMITE_ORDERS[-1]))
    z_tab, w_tab = np.zeros(shape), np.zeros(shape)
    for i, m in enumerate(_HERMITE_ORDERS):
        z, w = np.polynomial.hermite_e.hermegauss(int(m))
        z_tab[i, :m], w_tab[i, :m] = z, w / np.sqrt(2 * np.pi)
    return z_tab, w_tab


_LEAST_REACH = 32
"""The narrow columns' nodes serve slopes up to 32 at least: one node set for every cohort
of up to 32 patients (a typical phase 2 cohort at every look)."""


def _slope_bucket(slope: float) -> int:
    """``slope`` rounded up to a power of two, at least :data:`_LEAST_REACH`.

    So that few node sets serve every size.
    """
    return max(_LEAST_REACH, 1 << max(0, math.ceil(math.log2(max(slope, 1.0)))))


def _composite_legendre(panels: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [−1, 1] of ``panels`` equal panels of ``order``-point Legendre."""
    z, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(-1.0, 1.0, panels + 1)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * z[None, :]).ravel(), (half[:, None] * w).ravel()


_CUT_Z, _CUT_W = _composite_legendre(6, 10)
"""The rule of the narrow columns a threshold cuts, over the part of μ ± 9τ above it: the
normal's mass there (tilted by up to 2.5 sd) to 1.1e-12 of the whole (one 24-point panel over
μ ± 9τ lost 2.4e-6 of it). Mass beyond 9τ is left out, Φ(c − 9) of it for a tilt c."""


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
        # columns whose normal is too narrow for the theta grid: Gauss-Hermite instead
        self.narrow = (self.tau > 0) & (self.tau <= 2 * self.h)
        self.wide = ~(self.point | self.narrow)  # columns integrated on the theta grid
        # the other columns' node weights within their bands, built on demand (densities)
        self._rest_bands: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.size_warned = False  # a cohort beyond TESTED_N patients was flagged
        if model.kind == "independent":
            self.wide = np.zeros_like(self.point)
        # the same columns as slices where they are contiguous (on the grids built here
        # they are: τ = 0, then the narrow τ, then the wide): views, not gathers
        self.point_at, self.wide_at = _columns(self.point), _columns(self.wide)
        # (theta, wide columns) weights of the Richardson-extrapolated rule, and every other
        # node's hat weights (the coarse level; see _kernels)
        self.kernel_r, self.kernel_c = self._kernels(self.mu[self.wide], self.tau[self.wide])
        self._hist = self._historical_terms()

    # -- kernels -------------------------------------------------------------
    def _kernels(self, mu: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights of the θ nodes (and of every other node) for N(μ, τ²): hat expectations.

        Node i carries E[hat_i(θ)] with hat_i the piecewise-linear interpolation basis
        function of the node (the end nodes' hats extend flat to ±∞, so the weights of
        every column sum to one). Integrals ∫ L(θ) N(θ | μ, τ²) dθ are then
        ∫ (linear interpolant of L) dN — second-order accurate for every τ ≥ 0, and for
        τ = 0 exactly the linear interpolation of L at μ (no rounding of μ to the grid).

        Returns the extrapolated rule's weights K_r = (4 K_h − E K_2h) / 3 (K_h the
        nodes' hat weights, K_2h every other node's, E placing them on the even nodes;
        :meth:`integrate`) and K_2h: one product with K_r integrates, and the fine
        weights are (3 K_r + E K_2h) / 4 where a density needs them (:meth:`mix_theta`).
        """
        fine, coarse = _hat_levels(self.theta, mu, tau, flush=True)
        fine *= 4.0 / 3.0
        fine[::2] -= coarse / 3.0
        return fine, coarse

    def nex_weights(self, cohort: str, coarse: bool = False) -> np.ndarray:
        """NEX prior weights of the θ nodes (every other node if ``coarse``)."""
        m = self.model.value("nex_mean", cohort)
        s = self.model.value("nex_sd", cohort)
        nodes = self.theta[::2] if coarse else self.theta
        return _hat_weights(nodes, np.array([m]), np.array([s]))[:, 0]

    def integrate(
        self,
        values: np.ndarray,
        cohort: str | None,
        coarse: np.ndarray | None = None,
        product: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Richardson-extrapolated ∫ f(θ) N(θ | μ, τ²) dθ and ∫ f(θ) NEX(θ) dθ.

        ``values`` holds f on the θ nodes (rows are separate functions); ``coarse``
        the values to use on every other node (default ``values[:, ::2]``; they
        differ where f has a step, whose cell fractions depend on the grid). The hat
        rule is second-order; combining the full and the every-other-node grids,
        (4 I_h − I_2h) / 3, cancels the h² term. The EX part is one product with that
        rule's weights (:meth:`_kernels`), corrected on the few coarse nodes whose values
        differ from every other fine value; ``product``, that product computed already
        (:func:`_stepped_products`), saves it. Returns (EX part (R, G), NEX part (R,)).
        """
        ex = np.zeros((values.shape[0], len(self.mu)))
        if self.wide.any():
            ex[:, self.wide_at] = self.wide_part(values, coarse, product)
        nex = np.zeros(values.shape[0]) if cohort is None else self.nex_part(values, cohort,
                                                                               coarse)
        return ex, nex

    def wide_part(
        self, values: np.ndarray, coarse: np.ndarray | None = None,
        product: np.ndarray | None = None,
    ) -> np.ndarray:
        """The EX part of :meth:`integrate` on the wide columns only (rows × wide columns)."""
        out = values @ self.kernel_r if product is None else product
        if coarse is not None:
            delta = coarse - values[:, ::2]
            nodes = np.flatnonzero((delta != 0).any(axis=0))
            if nodes.size:
                out = out - (delta[:, nodes] @ self.kernel_c[nodes]) / 3
        return cast(np.ndarray, out)

    def nex_part(
        self, values: np.ndarray, cohort: str, coarse: np.ndarray | None = None
    ) -> np.ndarray:
        """Richardson-extrapolated ∫ f(θ) NEX(θ) dθ of each row (see :meth:`integrate`)."""
        coarse = values[:, ::2] if coarse is None else coarse
        return cast(np.ndarray, (4 * (values @ self.nex_weights(cohort))
                                 - coarse @ self.nex_weights(cohort, coarse=True)) / 3)

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
                # or, for a tie narrower than the grid, by Gauss-Hermite on the likelihood
                # (as many nodes as its tilt sd · weight · n needs, as the narrow columns)
                sd = np.full_like(self.theta, h.tie_sd)
                if h.tie_sd >= 2 * self.h:
                    k_fine, k_coarse = _hat_levels(self.theta, self.theta, sd)
                    fine = lik @ k_fine
                    coarse = lik[::2] @ k_coarse
                    conv = np.clip((4 * fine - coarse) / 3, 0.0, None)
                else:
                    i = int(_hermite_order(np.array([h.tie_sd * h.weight * h.n]))[0])
                    k = int(_HERMITE_ORDERS[i])
                    z_tab, w_tab = _hermite_tables()
                    eta = self.theta[:, None] + h.tie_sd * z_tab[i, :k][None, :] + o
                    ll = h.weight * (
                        h.r * special.log_expit(eta) + (h.n - h.r) * special.log_expit(-eta)
                    )
                    conv = np.exp(ll) @ w_tab[i, :k]
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

            def loglik(theta: np.ndarray, tag: Any, h: Historical = h, o: float = o) -> Any:
                eta = theta + o
                ll = h.weight * (
                    h.r * special.log_expit(eta) + (h.n - h.r) * special.log_expit(-eta)
                )
                return lambda rows: ll[None]

            self._exact_columns(m[None, :], loglik, None, slope=h.weight * h.n)
            logf += np.log(np.maximum(m, 1e-300))
        return logf, ties

    def _exact_columns(
        self,
        out: np.ndarray,
        loglik: Any,
        th: float | None,
        without_th: np.ndarray | None = None,
        p_weighted: tuple[np.ndarray, float] | None = None,
        *,
        slope: float,
    ) -> None:
        """Overwrite point-mass and narrow columns of ``out`` (R, G) with exact values.

        ``loglik(theta, tag)`` prepares the log likelihood at θ (any shape; ``tag``
        names the θ set, which depends on the columns, ``th`` and ``slope`` only) and
        returns a function of a slice of rows giving its values there, shape (rows,
        *theta.shape); the rows are integrated a block at a time. ``slope`` bounds
        |d log L / dθ| over the rows (n for n patients; see :meth:`_narrow_nodes`). With
        ``th`` only the part θ > th is integrated. ``without_th``, the same rows
        integrated without ``th``, saves the work for the narrow columns wholly above
        ``th`` (their values). ``p_weighted`` = (array, offset) also fills that array's
        columns with the integrals weighted by p = expit(θ + offset), from the same
        likelihood values.
        """
        p_out, off = p_weighted if p_weighted is not None else (None, 0.0)
        if self.point.any():
            mu = self.mu[self.point]
            at = loglik(mu, ("point",))
            for rows in _row_blocks(out.shape[0], mu.size):
                vals = np.exp(at(rows))
                if th is not None:
                    hm = self.mu_width[self.point]
                    vals = vals * np.clip((mu + hm / 2 - th) / hm, 0.0, 1.0)
                out[rows, self.point_at] = vals
                if p_out is not None:
                    p_out[rows, self.point_at] = vals * special.expit(mu + off)
        if self.narrow.any():
            has_without = without_th is not None
            reach = _slope_bucket(slope)
            place, theta, wts, runs, same, empty = self._narrow_nodes(th, has_without, reach)
            if without_th is not None:
                out[:, same] = without_th[:, same]
            out[:, empty] = 0.0
            if not runs:
                return
            tag = ("narrow", th, has_without, reach)
            at = loglik(theta, tag)
            targets = [(out, wts)]
            if p_out is not None:  # the weights times p at the nodes, kept with the nodes
                key = ("quadrature.narrow_p", self.model, tuple(self.cohorts), self.grid, tag,
                       off)
                targets.append((p_out, MEMO.get(key, functools.partial(_times_p, wts, theta,
                                                                       off))))
            # consecutive rows step by the odds (_RowTerms.weighted_sums); others, row by row
            sums = getattr(at, "weighted_sums", None)
            stepped = [sums(w, runs) for _, w in targets] if sums else [None]
            if all(x is not None for x in stepped):
                for (target, _), values in zip(targets, stepped, strict=True):
                    target[:, place] = values
            else:
                for rows in _row_blocks(out.shape[0], theta.size):
                    vals = np.exp(at(rows))
                    for target, w in targets:
                        target[rows, place] = _run_sums(vals * w, runs)

    def _narrow_nodes(self, th: float | None, has_without: bool, reach: int) -> tuple[Any, ...]:
        """Nodes and weights of the narrow columns (kept in the memo).

        Each narrow column N(μ, τ²) is integrated by Gauss–Hermite nodes μ + τ z_k, as
        many as a tilt of ``reach`` · τ needs (:func:`_hermite_order`; the log likelihood
        of n patients changes by at most n per unit of θ, so ``reach`` ≥ n keeps every
        column within 1e-13). With ``th``, the columns whose μ ± 9τ straddles ``th`` are
        integrated above ``th`` by a composite Gauss–Legendre rule (:data:`_CUT_Z`) over
        [max(μ − 9τ, th), μ + 9τ]; those wholly below ``th`` are 0 (``empty``) and those
        wholly above it keep their whole integral (with ``has_without``: ``same``, their
        values without ``th``, and no nodes). Returns (the columns integrated, their nodes
        and weights one column after the other (flat), the runs of columns with as many
        nodes each (:func:`_run_sums`), same, empty); the nodes depend on the columns,
        ``th`` and ``reach`` only, so every cohort, size and row shares them.
        """
        key = ("quadrature.narrow", self.model, tuple(self.cohorts), self.grid, th, has_without,
               reach)

        def compute() -> tuple[Any, ...]:
            cols = np.flatnonzero(self.narrow)
            mu, tau = self.mu[cols], self.tau[cols]
            lo, hi = mu - 9 * tau, mu + 9 * tau
            cut = np.zeros(cols.size, dtype=bool)
            keep = np.ones(cols.size, dtype=bool)
            same = empty = np.zeros(0, dtype=np.intp)
            if th is not None:
                above, below = lo >= th, (hi <= th) & (lo < th)
                cut = ~(above | below)
                empty = cols[below]
                keep = cut | (above & (not has_without))
                if has_without:
                    same = cols[above]
            cols, mu, tau, lo, hi, cut = (x[keep] for x in (cols, mu, tau, lo, hi, cut))
            order = _hermite_order(tau * reach)
            # the whole columns by their number of nodes (in column order: it grows with τ),
            # then the cut ones: runs of columns with as many nodes each
            key_ = np.where(cut, len(_HERMITE_ORDERS), order)
            seq = np.argsort(key_, kind="stable")
            cols, mu, tau, lo, hi, cut, order = (x[seq] for x in (cols, mu, tau, lo, hi, cut,
                                                                   order))
            counts = np.where(cut, _CUT_Z.size, _HERMITE_ORDERS[order])
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
            first = np.flatnonzero(np.diff(key_[seq], prepend=-1)).tolist()
            runs = tuple((int(starts[a]), b - a, int(counts[a]))
                         for a, b in itertools.pairwise([*first, cols.size]))
            of = np.repeat(np.arange(cols.size), counts)  # the column of each node
            k = np.arange(of.size) - starts[of]  # the node's place within its column
            theta, wts = np.empty(of.size), np.empty(of.size)
            gh = ~cut[of]
            z_tab, w_tab = _hermite_tables()
            g, i = of[gh], order[of[gh]]
            theta[gh] = mu[g] + tau[g] * z_tab[i, k[gh]]
            wts[gh] = w_tab[i, k[gh]]
            if cut.any():
                assert th is not None
                a = np.maximum(lo, th)
                mid, half = (a + hi) / 2, (hi - a) / 2
                g = of[~gh]
                theta[~gh] = mid[g] + half[g] * _CUT_Z[k[~gh]]
                dens = _npdf((theta[~gh] - mu[g]) / tau[g]) / tau[g]
                wts[~gh] = half[g] * _CUT_W[k[~gh]] * dens
            place = _span(cols) if (np.diff(cols) > 0).all() else cols  # (_span: sorted only)
            return place, theta, wts, runs, same, empty

        return MEMO.get(key, compute)

    # -- per-cohort integrals ---------------------------------------------
    def slope(self, cohort: str, n: int) -> float:
        """A bound on |d log L / dθ| of the cohort's likelihood with n patients (ties included).

        n for the binomial (|r − n p| ≤ n), plus weight · n of each stratum tied to the
        cohort (the log of its likelihood smoothed by the tie changes no faster).
        """
        return float(n + sum(h.weight * h.n for h in self.model.historical if h.tie == cohort))

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
        """Σ_g weights_g · (node weights of N(μ_g, τ_g²)) on the θ nodes, all columns.

        ``weights`` is a vector over the (μ, τ) columns, or a matrix whose columns are
        such vectors: one pass over the kernels serves them all (reading the kernels,
        not the arithmetic, is the cost). The result has the θ nodes along its first
        axis. The columns narrower than the θ grid (τ ≤ 2h) use their weights within
        their bands (:func:`_banded_hat_weights`), which equal the whole columns'
        flushed weights: a few nodes per column instead of all.
        """
        out = np.zeros((len(self.theta), *weights.shape[1:]))
        if self.wide.any():  # the fine weights (3 K_r + E K_2h) / 4 (see _kernels)
            w = weights[self.wide]
            fine = 3 * (self.kernel_r @ w)
            fine[::2] += self.kernel_c @ w
            out += fine / 4
        if self.model.kind != "independent":
            cols, index, w = self.band_weights()
            vectors = weights.reshape(len(weights), -1)
            for k in range(vectors.shape[1]):
                vector = np.ascontiguousarray(vectors[:, k])
                out.reshape(len(self.theta), -1)[:, k] += np.bincount(
                    index, w * vector[cols], minlength=len(self.theta))
        return out

    def band_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column, node index, weight) of every band entry of the non-wide columns (kept).

        Built one τ at a time (:func:`_shared_bands`) and flattened, so that
        :meth:`mix_theta` is one weighted count over the nodes.
        """
        if self._rest_bands is None:
            rest = np.flatnonzero(~self.wide)
            parts = []
            for t in np.unique(self.tau[rest]):
                cols = rest[self.tau[rest] == t]
                index, w = _shared_bands(self.theta, self.mu[cols], float(t))
                parts.append((np.broadcast_to(cols[None, :], index.shape).ravel(),
                              index.ravel(), w.ravel()))
            self._rest_bands = (
                np.concatenate([c for c, _, _ in parts]) if parts else np.zeros(0, np.intp),
                np.concatenate([i for _, i, _ in parts]) if parts else np.zeros(0, np.intp),
                np.concatenate([w for _, _, w in parts]) if parts else np.zeros(0),
            )
        return self._rest_bands

    def weights_theta(self, cohort: str) -> tuple[np.ndarray | None, np.ndarray | None, float]:
        """(EX kernel (θ, wide columns; :meth:`_kernels`) or None, NEX weights or None, P(EX))."""
        kind = self.model.kind
        if kind == "independent":
            return None, self.nex_weights(cohort), 0.0
        if kind == "exnex":
            return self.kernel_r, self.nex_weights(cohort), self.model.value("weight", cohort)
        return self.kernel_r, None, 1.0


_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _columns(mask: np.ndarray) -> slice | np.ndarray:
    """The columns where ``mask`` holds: a slice if they are contiguous, else their indices."""
    return _span(np.flatnonzero(mask))


def _span(where: np.ndarray) -> slice | np.ndarray:
    """Sorted distinct indices as a slice if they are contiguous (a view), else as they are."""
    if where.size and where[-1] - where[0] + 1 == where.size:
        return slice(int(where[0]), int(where[-1]) + 1)
    return where


def _npdf(z: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, np.exp(-0.5 * z * z) * _INV_SQRT_2PI)


_FLUSH_FLOOR = 1e-280


def _flush(a: np.ndarray, floor: float = _FLUSH_FLOOR) -> np.ndarray:
    """Set values below ``floor`` to 0 (subnormal numbers make BLAS very slow).

    Every array here is scaled so that its relevant entries are far above the floor.
    """
    np.copyto(a, 0.0, where=np.abs(a) < floor)
    return a


def _partials(d: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[(θ − x)^+], E[(x − θ)^+]) for θ ~ N(μ, τ²), τ > 0, at offsets d = x − μ.

    Accurate in relative terms in the far tails: with z = |d|/τ the smaller of the two
    is τ e^(−z²/2) [1/√(2π) − (z/2) erfcx(z/√2)], which keeps its relative precision
    where the value is tiny, and the larger is that plus |d| (their difference is
    E[θ − x] = −d). One evaluation of the tail serves both.
    """
    z = np.abs(d) / tau
    # beyond _Z_ZERO, e^(−z²/2) underflows to 0 and so does the tail: no erfcx there
    ratio = np.zeros_like(z)
    live = z < _Z_ZERO
    ratio[live] = special.erfcx(z[live] / np.sqrt(2.0))
    tail = tau * np.exp(-0.5 * z * z) * (_INV_SQRT_2PI - 0.5 * z * ratio)
    return np.where(d >= 0, tail, tail - d), np.where(d <= 0, tail, tail + d)


_Z_ZERO = 38.7
"""z beyond which e^(−z²/2) is 0 in floating point (e^(−748.8); it is from e^(−745.2))."""


def _hats(
    d: np.ndarray,
    parts: tuple[np.ndarray, np.ndarray],
    zero: np.ndarray,
    h: float,
    ends: tuple[Any, Any] = (True, True),
) -> np.ndarray:
    """Hat weights of consecutive nodes from the offsets ``d`` (nodes, g) and :func:`_partials`.

    The weights are second differences of P_i = E[(θ − x_i)^+] right of μ and of
    N_i = E[(x_i − θ)^+] left of μ (equal, as P − N is linear), each in the form that
    keeps relative precision in its tail; columns with τ = 0 (``zero``) get the exact
    linear interpolation weights. The first and last rows are the grid's end nodes,
    whose hats are flat to ±∞, where ``ends`` says so (per column); elsewhere they are
    nodes far outside the band of the column's normal and get 0.
    """
    upper, lower = parts
    w = np.empty(d.shape)
    second_u = (upper[:-2] - 2 * upper[1:-1] + upper[2:]) / h
    second_l = (lower[:-2] - 2 * lower[1:-1] + lower[2:]) / h
    w[1:-1] = np.where(d[1:-1] >= 0, second_u, second_l)
    w[0] = (lower[1] - lower[0]) / h
    w[-1] = (upper[-2] - upper[-1]) / h
    if zero.any():  # point mass: exact linear interpolation weights
        dz = d[:, zero]
        wz = np.clip(1.0 - np.abs(dz) / h, 0.0, None)
        wz[0] = np.where(dz[0] >= 0, 1.0, wz[0])
        wz[-1] = np.where(dz[-1] <= 0, 1.0, wz[-1])
        w[:, zero] = wz
    w[0] = np.where(ends[0], w[0], 0.0)
    w[-1] = np.where(ends[1], w[-1], 0.0)
    return np.clip(w, 0.0, None)


def _tau_partials(
    d: np.ndarray, tau: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """:func:`_partials` of every column with τ > 0 (the others unused), and the τ = 0 mask."""
    zero = tau <= 0
    return _partials(d, np.where(zero, 1.0, tau)), zero


_HAT_BLOCK = 1 << 16
"""Cells per block of columns of the hat weights (the temporaries stay small)."""


def _hat_levels(
    nodes: np.ndarray, mu: np.ndarray, tau: np.ndarray, levels: int = 2, flush: bool = False
) -> list[np.ndarray]:
    """Hat weights on ``nodes`` and (``levels`` = 2) on every other node: the h and 2h rules.

    Both come from one evaluation of the normal tails on ``nodes`` (every other node's
    tails are a subset). Columns that share τ and the position of μ between two nodes
    (:func:`_shift_groups`: on a grid whose μ step is a multiple of the θ step, every
    column of a τ) have offsets θ_i − μ_g that differ by whole steps: their tails are
    one table along the offset, evaluated once and read per column
    (:func:`_table_hats`). The other columns are evaluated block by block. ``flush``
    sets weights below 1e-280 to 0 (:func:`_flush`).
    """
    steps = (1, 2)[:levels]
    hs = [nodes[1] - nodes[0], nodes[2] - nodes[0] if len(nodes) > 2 else 0.0]
    out = [np.empty((len(nodes[::s]), len(mu))) for s in steps]
    shared, rest = _shift_groups(nodes, mu, tau)
    for cols, shift, frac in shared:
        _table_hats(nodes, cols, shift, frac, float(tau[cols[0]]), hs[: len(steps)], out, flush)
    block = max(1, _HAT_BLOCK // len(nodes))
    for lo in range(0, len(rest), block):
        cols = rest[lo : lo + block]
        d = nodes[:, None] - mu[None, cols]
        (upper, lower), zero = _tau_partials(d, tau[cols])
        for s, w, h in zip(steps, out, hs, strict=False):
            block_w = _hats(d[::s], (upper[::s], lower[::s]), zero, h)
            w[:, cols] = _flush(block_w) if flush else block_w
    return out


_SHIFT_MIN_COLUMNS = 8
"""Columns that must share a table of tails before :func:`_table_hats` is worth it."""


def _shift_groups(
    nodes: np.ndarray, mu: np.ndarray, tau: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray, float]], np.ndarray]:
    """Columns whose offsets to the nodes are whole steps apart, grouped; and the others.

    With μ_g = θ_0 + (k_g + f) h (k_g an integer, 0 ≤ f < 1), θ_i − μ_g = (i − k_g − f) h:
    columns with the same τ > 0 and the same f (to 1e-10 of a step) see the same
    offsets, shifted by k_g. Returns ([(columns, k_g, f)], the other columns).
    """
    if len(nodes) < 3 or len(mu) < _SHIFT_MIN_COLUMNS:
        return [], np.arange(len(mu))
    h = (nodes[-1] - nodes[0]) / (len(nodes) - 1)  # the step, to rounding of the ends only
    pos = (mu - nodes[0]) / h
    shift = np.floor(pos + 1e-10)
    frac = np.maximum(pos - shift, 0.0)
    key = np.round(frac * 1e10)
    groups = []
    rest = []
    order = np.lexsort((key, tau))
    split = np.flatnonzero(np.diff(tau[order]) != 0) + 1
    split = np.union1d(split, np.flatnonzero(np.diff(key[order]) != 0) + 1)
    for cols in np.split(order, split):
        if tau[cols[0]] > 0 and len(cols) >= _SHIFT_MIN_COLUMNS:
            groups.append((cols, shift[cols].astype(np.intp), float(frac[cols[0]])))
        else:
            rest.append(cols)
    others = np.sort(np.concatenate(rest)) if rest else np.zeros(0, dtype=np.intp)
    return groups, others


def _table_hats(
    nodes: np.ndarray,
    cols: np.ndarray,
    shift: np.ndarray,
    frac: float,
    tau: float,
    hs: list[float],
    out: list[np.ndarray],
    flush: bool = False,
) -> None:
    """:func:`_hats` of columns sharing one table of tails (see :func:`_shift_groups`).

    Node i of column g sits at offset index m = i − k_g; the tails are evaluated once
    at d_m = (m − f) h over every m the columns meet, and each level's weights (step
    s h, s = 1, 2) are read from the table: interior nodes from the second
    differences at m − s, m, m + s (upper tail right of μ, lower left of it), the
    end nodes from the flat hats' first differences, as :func:`_hats` does.
    """
    n = len(nodes)
    h = (nodes[-1] - nodes[0]) / (n - 1)
    lo = -int(shift.max())
    m = np.arange(lo, n - int(shift.min()))
    d = (m - frac) * h
    upper, lower = _partials(d, np.full_like(d, tau))
    base = -shift - lo  # table index of node 0 in each column
    where: np.ndarray | slice = cols
    if len(cols) and (np.diff(cols) == 1).all():
        where = slice(int(cols[0]), int(cols[-1]) + 1)  # contiguous: views, not copies
    for level, (w, hh) in enumerate(zip(out, hs, strict=False)):
        s = level + 1
        second = np.zeros_like(d)
        mid = slice(s, len(d) - s)
        up = (upper[: -2 * s] - 2 * upper[s:-s] + upper[2 * s :]) / hh
        down = (lower[: -2 * s] - 2 * lower[s:-s] + lower[2 * s :]) / hh
        second[mid] = np.where(d[mid] >= 0, up, down)
        np.clip(second, 0.0, None, out=second)
        if flush:
            _flush(second)
        n_s = w.shape[0]
        step = int(base[0] - base[1]) if len(base) > 1 else 0
        if isinstance(where, slice) and (np.diff(base) == -step).all() and step >= 0:
            # consecutive columns one shift apart (a uniform μ grid): a strided view
            item = second.itemsize
            w[1:-1, where] = np.lib.stride_tricks.as_strided(
                second[int(base[0]) + s :], shape=(n_s - 2, len(base)),
                strides=(s * item, -step * item), writeable=False)
        else:
            w[1:-1, where] = second[(s * np.arange(1, n_s - 1))[:, None] + base[None, :]]
        last = s * (n_s - 1)
        for row, ends in ((0, (lower[base + s] - lower[base]) / hh),
                          (-1, (upper[base + last - s] - upper[base + last]) / hh)):
            ends = np.clip(ends, 0.0, None)
            w[row, where] = _flush(ends) if flush else ends


def _hat_weights(nodes: np.ndarray, mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """E[hat_i(θ)] for θ ~ N(μ_g, τ_g²): shape (nodes, g); τ = 0 allowed.

    hat_i is node i's linear interpolation basis function (end nodes' hats are flat
    to ±∞, so columns sum to one); see :func:`_hats`.
    """
    return _hat_levels(nodes, mu, tau, levels=1)[0]


_BAND = 37.0
"""Half-width of a narrow normal's band in sd: hat weights beyond it are below 1e-280."""


def _banded_hat_weights(nodes: np.ndarray, mu: np.ndarray, tau: float) -> tuple[np.ndarray, ...]:
    """The hat weights of N(μ_g, τ²) on the nodes within its band only (one τ, small).

    Returns (index, weights), both (W, g): node indices and weights of the W nodes
    around each μ_g covering μ_g ± (:data:`_BAND` τ + 2h); every node outside has a
    weight below 1e-280 (:func:`_flush` would zero it), so the flushed weights equal
    :func:`_hat_weights`' there. For the normals narrower than the θ grid this is a
    few nodes instead of all.
    """
    n_nodes = len(nodes)
    h = nodes[1] - nodes[0]
    start, width = _band_starts(nodes, mu, tau)
    index = start[None, :] + np.arange(width)[:, None]
    d = nodes[index] - mu[None, :]
    taus = np.full(len(mu), tau)
    parts, zero = _tau_partials(d, taus)
    ends = (start == 0, start + width == n_nodes)
    return index, _flush(_hats(d, parts, zero, h, ends))


def _band_starts(nodes: np.ndarray, mu: np.ndarray, tau: float) -> tuple[np.ndarray, int]:
    """First node of each column's band (see :func:`_banded_hat_weights`) and the width."""
    n_nodes = len(nodes)
    h = nodes[1] - nodes[0]
    reach = _BAND * tau + 2 * h
    width = min(n_nodes, int(np.ceil(2 * reach / h)) + 2)
    start = np.floor((mu - reach - nodes[0]) / h).astype(int)
    return np.clip(start, 0, n_nodes - width), width


def _shared_bands(nodes: np.ndarray, mu: np.ndarray, tau: float) -> tuple[np.ndarray, ...]:
    """:func:`_banded_hat_weights`, evaluated once per position of μ between nodes.

    A column whose band holds no end node sees the offsets θ_start+j − μ = (c + j) h,
    c = start − (μ − θ_0) / h: columns with the same c (to 1e-11 of a step; μ cells
    finer than the θ step take a few values of c) have the same weights, read from one
    of them. Columns at the ends of the grid are evaluated one by one.
    """
    h = nodes[1] - nodes[0]
    start, width = _band_starts(nodes, mu, tau)
    index = start[None, :] + np.arange(width)[:, None]
    weights = np.empty(index.shape)
    inside = np.flatnonzero((start > 0) & (start + width < len(nodes)))
    edge = np.setdiff1d(np.arange(len(mu)), inside)
    if edge.size:
        weights[:, edge] = _banded_hat_weights(nodes, mu[edge], tau)[1]
    if inside.size:
        c = start[inside] - (mu[inside] - nodes[0]) / h
        _, first, which = np.unique(np.round(c * 1e11), return_index=True, return_inverse=True)
        shared = _banded_hat_weights(nodes, mu[inside[first]], tau)[1]
        weights[:, inside] = shared[:, which.ravel()]
    return index, weights


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
    """The quadrature engine of a model, cohort set and grid (kept in the memo).

    The engine integrates on :func:`refined_grid` of ``grid`` (the grid itself for
    priors in its tested range) and warns once (:func:`accuracy_warnings`) where the
    answer may be off by more than the grid's accuracy.
    """
    key = ("quadrature.engine", model, tuple(cohorts), grid)
    return MEMO.get(key, lambda: _new_engine(model, tuple(cohorts), grid))


def _new_engine(model: Model, cohorts: tuple[Cohort, ...], grid: QuadratureGrid) -> _Engine:
    if (model.kind in ("hierarchical", "exnex") and model.tau_prior != "fixed"
            and model.tau_scale < MIN_VERIFIED_TAU_SCALE):
        warnings.warn(
            f"`tau_scale` = {model.tau_scale:g} is below {MIN_VERIFIED_TAU_SCALE:g}: the tau "
            "prior is close to pooling; when cohorts' data conflict, tau's posterior lies in "
            "the prior's far tail and posterior probabilities on this grid can be off by far "
            "more than the 1e-4 verified for larger scales; use kind='pooled', or a finer "
            "QuadratureGrid (more `n_tau` and `n_mu` points).",
            ConvergenceWarning,
            stacklevel=4,
        )
    for message in accuracy_warnings(model, cohorts, grid):
        warnings.warn(message, PrecisionWarning, stacklevel=4)
    return _Engine(model, cohorts, refined_grid(model, cohorts, grid))


MIN_VERIFIED_TAU_SCALE = 0.25


# ---------------------------------------------------------------------------
# Accuracy across priors: a refined grid where the prior needs it, warnings beyond
# ---------------------------------------------------------------------------
# The default grid (481 θ nodes on ±12, 401 μ, 40 τ) keeps posterior probabilities and
# means within 1e-4 of a much finer grid for priors like the shipped designs'. Two things
# break that for other priors (benchmarks/accuracy_hierarchical.py measures both):
#
# * the τ step. When cohorts' data conflict, τ's posterior sits in the prior's upper tail,
#   where a half-normal(s) makes it a peak of width ~ sqrt(s) in log τ, and the trapezoid
#   rule in log τ needs a step below ~0.3 sqrt(s). Half-t and half-Cauchy priors spread the
#   same number of nodes over a wider log range (to 50 s and 12,700 s). Largest errors on
#   the default grid, 40 + 40 / 100 + 100 patients: 3e-3 / 3e-3 at half-normal(0.25),
#   1e-4 / 2e-4 at half-normal(0.5), 2e-4 / 3e-4 for half-Cauchy priors of any scale.
# * the θ range. θ mass beyond ±theta_max is lumped on the end nodes at the likelihood
#   there: exact where the likelihood is flat (0/n, n/n), not where it still decays (1/n,
#   (n − 1)/n) while a vague prior puts much mass out there. Largest errors in posterior
#   means on the default grid: 2e-4 for NEX sd 10, 5e-3 for NEX sd 100, 2e-4 for
#   half-normal(10) and half-Cauchy τ priors, 3e-3 for μ sd 10 (no strata).
#
# With ``adapt=True`` (the default) the engine therefore refines the grid for such priors:
# τ nodes so that the step in log τ is at most TAU_LOG_STEP sqrt(min(s, 1))
# (TAU_LOG_STEP_CAUCHY for a half-Cauchy), and, once the θ prior spreads beyond
# THETA_SPREAD (NEX sd, μ sd, or sqrt(μ sd² + q²) with q the τ prior's 99% quantile, plus
# the prior centre), a θ range of ±(THETA_REACH + largest |offset| + |prior centre|) at the
# grid's own θ step, with as many more μ nodes as keep the μ step. (A μ prior wider than
# the θ grid is never cut: :func:`_mu_nodes` continues it with growing cells.) The
# refinement depends on the prior, the cohorts' p0 and the strata, never on the EXNEX
# weight (analysis branches with weight 0 and 1 share the grid).
TAU_LOG_STEP = 0.3
"""Largest step of the τ grid in log τ for a half-normal or half-t τ prior of scale ≥ 1."""
TAU_LOG_STEP_CAUCHY = 0.25
"""Largest step of the τ grid in log τ for a half-Cauchy τ prior (any scale)."""
THETA_SPREAD = 6.0
"""θ-prior spread (log-odds) up to which the θ range of the default grid (±12) suffices."""
THETA_REACH = 22.0
"""θ half-width of a refined grid beyond the largest |offset| + |prior centre| (log-odds)."""
MIN_TAU_DF = 2.0
"""Fewest half-t degrees of freedom tested (the τ grid stops at 50 scales)."""
MAX_TAU_SCALE = {"half_normal": 30.0, "half_t": 30.0, "half_cauchy": 10.0, "fixed": 1e4}
"""Largest τ prior scale (or fixed τ) tested, per prior.

A fixed τ = T is one τ node; its θ prior N(μ, T²) is lumped beyond the θ range like a
wide NEX prior: means off by 4e-6 at T = 1e4 and 3.5e-5 at 1e5 (one cohort of 20 or 100
patients, against N(m, s² + T²) integrated directly; tests/kernels/test_fixed_tau.py)."""
MAX_MU_SD = 1000.0
"""Largest μ prior sd tested."""
MAX_NEX_SD = 1e4
"""Largest NEX prior sd tested."""
TESTED_N = 100
"""Largest number of patients in a cohort the accuracy is tested at (40 + 40 and 100 + 100)."""
_SPAN_REFERENCE = float(np.log(special.ndtri(1 - 1e-12) / 1e-4))  # log range of a half-normal
_PRIOR_NAMES = {"half_normal": "half-normal", "half_cauchy": "half-Cauchy", "half_t": "half-t",
                "fixed": "fixed tau"}


def _tau_step(model: Model) -> float:
    """Largest step in log τ that keeps the τ integral within the default accuracy."""
    if model.tau_prior == "half_cauchy":
        return TAU_LOG_STEP_CAUCHY
    return TAU_LOG_STEP * float(np.sqrt(min(model.tau_scale, 1.0)))


def _tau_needs(model: Model) -> int:
    """τ nodes the model needs, or 0 where any grid's own suffice.

    The reference is a half-normal prior of scale ≥ 1 on the default grid (a step of
    0.294 in log τ, under :data:`TAU_LOG_STEP`); a prior needing a finer step, or
    spanning a wider log range, needs 2 + ⌈log(top / lo) / step⌉ nodes. Scales below
    :data:`MIN_VERIFIED_TAU_SCALE` are not refined (they have their own warning), nor is
    a fixed τ (one node whatever the grid).
    """
    if model.kind not in ("hierarchical", "exnex") or model.tau_prior == "fixed":
        return 0
    if model.tau_scale < MIN_VERIFIED_TAU_SCALE:
        return 0
    lo, top = _tau_range(model)
    span = float(np.log(top / lo))
    step = _tau_step(model)
    if span / step <= _SPAN_REFERENCE / TAU_LOG_STEP * (1 + 1e-12):
        return 0
    return 2 + int(np.ceil(span / step))


def _tau_quantile(model: Model, q: float) -> float:
    """The q quantile of the τ prior (a fixed τ: the value itself, for every q)."""
    s = model.tau_scale
    if model.tau_prior == "fixed":
        return float(s)
    if model.tau_prior == "half_normal":
        return float(s * special.ndtri((1 + q) / 2))
    if model.tau_prior == "half_cauchy":
        return float(s * np.tan(np.pi * q / 2))
    return float(s * special.stdtrit(model.tau_df, (1 + q) / 2))


def _theta_priors(model: Model, cohorts: Sequence[Cohort]) -> list[tuple[str, float, float]]:
    """(setting, centre, spread) of each part of the θ prior, on the grid's θ scale.

    The spread is the NEX sd, the μ sd (pooled), or sqrt(μ sd² + q²) with q the τ
    prior's 99% quantile (the exchangeable part, θ ~ N(μ, τ²)).
    """
    out: list[tuple[str, float, float]] = []
    if model.kind in ("independent", "exnex"):
        for c in cohorts:
            out.append(("nex_sd", model.value("nex_mean", c.name), model.value("nex_sd", c.name)))
    if model.kind == "pooled":
        out.append(("mu_sd", model.mu_mean, model.mu_sd))
    if model.kind in ("hierarchical", "exnex"):
        q = _tau_quantile(model, 0.99)
        setting = "mu_sd" if model.mu_sd >= q else "tau_scale"
        out.append((setting, model.mu_mean, float(np.hypot(model.mu_sd, q))))
    return out


def _theta_needs(model: Model, cohorts: Sequence[Cohort]) -> tuple[float, str, float]:
    """(θ half-width the model needs or 0, the setting that spreads it, the spread)."""
    priors = _theta_priors(model, cohorts)
    wide = [(abs(centre) + spread, setting) for setting, centre, spread in priors]
    reach, setting = max(wide, default=(0.0, ""))
    if reach <= THETA_SPREAD:
        return 0.0, setting, reach
    offsets = [abs(_off(model, c.p0)) for c in cohorts]
    offsets += [abs(_off(model, h.p0)) for h in model.historical if h.p0 is not None]
    shift = max(offsets, default=0.0) + max(abs(centre) for _, centre, _ in priors)
    return THETA_REACH + shift, setting, reach


def refined_grid(model: Model, cohorts: Sequence[Cohort], grid: QuadratureGrid) -> QuadratureGrid:
    """The grid the engine integrates ``model`` on: ``grid``, refined where the prior needs it.

    For priors in the range the default grid is tested on (τ ~ half-normal of scale
    ≥ 1, θ prior spread ≤ 6 on the log-odds scale, like the shipped designs) this is
    ``grid`` itself. Otherwise, if ``grid.adapt`` (the default), the τ grid gets the
    nodes the prior needs (a step of at most 0.3 sqrt(scale) in log τ, 0.25 for a
    half-Cauchy) and a vague prior gets a θ range of ±(22 + largest |offset| + |prior
    centre|) at the grid's own θ step (and μ step). Nothing ever shrinks, and the
    result depends on the prior, the cohorts' p0 and the strata only.

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    grid : QuadratureGrid

    Returns
    -------
    QuadratureGrid
        ``grid``, or a copy with a larger ``n_tau``, or a larger ``theta_max`` with
        ``n_theta`` (and ``n_mu``) grown to keep the step.

    Examples
    --------
    >>> from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
    >>> coh = (Cohort("a", 0.4), Cohort("b", 0.1))
    >>> refined_grid(Model(), coh, DEFAULT_GRID) is DEFAULT_GRID
    True
    >>> g = refined_grid(Model(tau_prior="half_cauchy"), coh, DEFAULT_GRID)
    >>> g.n_tau, g.n_theta, round(g.theta_max, 2)
    (77, 969, 24.2)
    """
    if not getattr(grid, "adapt", True):
        return grid
    n_tau = max(grid.n_tau, _tau_needs(model))
    theta_max = _theta_needs(model, cohorts)[0]
    if n_tau == grid.n_tau and theta_max <= grid.theta_max:
        return grid
    changes: dict[str, Any] = {"n_tau": n_tau}
    if theta_max > grid.theta_max:
        h = 2 * grid.theta_max / (grid.n_theta - 1)
        quarter = int(np.ceil(theta_max / (2 * h) - 1e-9))  # n_theta − 1 = 4 quarter
        theta_max = 2 * quarter * h
        changes.update(n_theta=4 * quarter + 1, theta_max=theta_max)
        # the uniform μ cells reach ±min(5 sd, theta_max − 1): keep their width
        half = min(5 * model.mu_sd, grid.theta_max - 1)
        wider = min(5 * model.mu_sd, theta_max - 1)
        if model.kind != "independent" and wider > half:
            changes["n_mu"] = int(np.ceil(grid.n_mu * wider / half - 1e-9))
    return cast(QuadratureGrid, dataclasses.replace(grid, **changes))


def accuracy_warnings(
    model: Model, cohorts: Sequence[Cohort], grid: QuadratureGrid
) -> list[str]:
    """Why the engine's answers for ``model`` on ``grid`` may be off by more than 1e-4.

    One line per cause, naming the setting, the size of the possible error (measured
    by benchmarks/accuracy_hierarchical.py, or extrapolated from its largest tested
    value) and the remedy: a τ scale, μ sd or NEX sd beyond the largest tested, a
    half-t with fewer than 2 degrees of freedom, and on a grid with ``adapt=False``
    each refinement the prior needs but does not get. Empty within the tested range
    (τ scales below :data:`MIN_VERIFIED_TAU_SCALE` have their own warning; cohorts of
    more than :data:`TESTED_N` patients are flagged when a lattice is computed).

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    grid : QuadratureGrid

    Returns
    -------
    list of str
    """
    out: list[str] = []
    borrowing = model.kind in ("hierarchical", "exnex")
    prior = _PRIOR_NAMES[model.tau_prior]
    if not getattr(grid, "adapt", True):
        need = _tau_needs(model)
        if need > grid.n_tau:
            size = "3e-4" if model.tau_prior == "half_cauchy" else "2e-4 at scale 0.5, 3e-3 at 0.25"
            out.append(
                f"`tau_scale` = {model.tau_scale:g} of Model ({prior}) needs a step of at most "
                f"{_tau_step(model):.2g} in log tau ({need} tau nodes), but the grid has "
                f"{grid.n_tau} and is not refined (adapt=False): posterior probabilities and "
                f"means may be off by up to {size} (measured on the default grid); use "
                f"adapt=True (the default) or n_tau >= {need}."
            )
        reach, setting, spread = _theta_needs(model, cohorts)
        if reach > grid.theta_max:
            value = (max(model.value("nex_sd", c.name) for c in cohorts)
                     if setting == "nex_sd" else getattr(model, setting))
            out.append(
                f"`{setting}` = {value:g} of Model spreads the theta prior ({spread:.3g} on the "
                f"log-odds scale) beyond the grid's theta_max {grid.theta_max:g}, not refined "
                "(adapt=False): its tails are lumped on the end nodes and posterior means may "
                "be off by up to 2e-4 for a spread of 10 to 30, 5e-3 for 100, 2e-2 for 1000 "
                "(measured on the default grid); use adapt=True (the default) or theta_max "
                f">= {reach:.3g}."
            )
    if borrowing and model.tau_scale > MAX_TAU_SCALE[model.tau_prior]:
        top = MAX_TAU_SCALE[model.tau_prior]
        at = {"half_normal": 2e-5, "half_t": 2e-5, "half_cauchy": 1e-5, "fixed": 4e-6}[
            model.tau_prior]
        out.append(
            f"`tau_scale` = {model.tau_scale:g} of Model ({prior}) is beyond {top:g}, the "
            f"largest scale tested: the error grows with the scale ({at:.1g} at {top:g} for "
            f"up to 100 + 100 patients), so posterior probabilities may be off by about "
            f"{at * model.tau_scale / top:.0e}; such a scale makes the cohorts nearly "
            "independent: consider kind='independent', or check with a finer QuadratureGrid."
        )
    if borrowing and model.tau_prior == "half_t" and model.tau_df < MIN_TAU_DF:
        out.append(
            f"`tau_df` = {model.tau_df:g} of Model is below {MIN_TAU_DF:g}, the fewest degrees "
            "of freedom tested: the tau grid stops at 50 scales, cutting off 1.3% of the "
            "prior at 1 degree of freedom, and posterior means may be off by 1e-4 or more "
            "(1.1e-4 measured at 1, 40 + 40 patients); use tau_prior='half_cauchy' for 1 "
            "degree of freedom, or tau_df >= 2."
        )
    if model.kind != "independent" and model.mu_sd > MAX_MU_SD:
        out.append(
            f"`mu_sd` = {model.mu_sd:g} of Model is beyond {MAX_MU_SD:g}, the largest tested: "
            f"the error grows in proportion to it (1e-5 at {MAX_MU_SD:g}), so posterior "
            f"means may be off by about {1e-5 * model.mu_sd / MAX_MU_SD:.0e}; use a "
            f"smaller sd (an sd of {MAX_MU_SD:g} on the log-odds is already flat)."
        )
    if model.kind in ("independent", "exnex"):
        sd = max(model.value("nex_sd", c.name) for c in cohorts) if cohorts else 0.0
        if sd > MAX_NEX_SD:
            out.append(
                f"`nex_sd` = {sd:g} of Model is beyond {MAX_NEX_SD:g}, the largest tested: the "
                f"error grows in proportion to it (3e-6 at {MAX_NEX_SD:g}), so posterior means "
                f"may be off by about {3e-6 * sd / MAX_NEX_SD:.0e}; use a smaller sd (an sd "
                f"of {MAX_NEX_SD:g} on the log-odds is already flat)."
            )
    return out


def _check_size(eng: _Engine, sizes: Sequence[int]) -> None:
    """Warn once per engine when a cohort has more patients than the accuracy is tested at."""
    big = max(sizes, default=0)
    if big <= TESTED_N or eng.size_warned:
        return
    eng.size_warned = True
    warnings.warn(
        f"a cohort of {big} patients is beyond {TESTED_N}, the most the quadrature accuracy "
        "is tested at: the error grows with the square of the sample size (4e-5 at 200 + "
        "200 for the shipped designs' priors), so posterior probabilities may be off by about "
        f"{4e-5 * (big / 200) ** 2:.0e}; check with a finer QuadratureGrid (n_theta = 961 "
        "halves the theta step).",
        PrecisionWarning,
        stacklevel=5,
    )


# ---------------------------------------------------------------------------
# Lattice computation
# ---------------------------------------------------------------------------
Rows = tuple[tuple[int, ...], ...]
"""Response counts selected per cohort: the outcomes are their outer product."""


@dataclass(frozen=True)
class LatticeResult:
    """Posterior summaries for every outcome of a set of cohort sample sizes.

    Arrays have one axis per cohort (length n_j + 1, indexed by r_j); for a
    selection of outcomes (``rows``) the axis of cohort j has one entry per
    selected count ``rows[j]`` (a single data set: every axis of length 1).

    Attributes
    ----------
    p_above : dict
        Cohort → P(p_j > threshold_j | data) over the lattice.
    mean : dict
        Cohort → posterior mean of p_j over the lattice (empty if not computed).
    rows : tuple of tuple of int, optional
        The response counts selected per cohort; None for the whole lattice.
    """

    n: tuple[int, ...]
    p_above: dict[str, np.ndarray]
    mean: dict[str, np.ndarray] = field(default_factory=dict)
    rows: Rows | None = None


_ROW_BLOCK = 1 << 19
"""Cells per block of rows of the exact (point and narrow) columns' integrands."""


def _row_blocks(n_rows: int, cells: int) -> list[slice]:
    """Slices of at most :data:`_ROW_BLOCK` // ``cells`` rows (at least one) covering ``n_rows``."""
    step = max(1, _ROW_BLOCK // max(cells, 1))
    return [slice(lo, min(lo + step, n_rows)) for lo in range(0, n_rows, step)]


def _cohort_pieces(
    eng: _Engine,
    cohort: str,
    n: int,
    threshold: float,
    rows: np.ndarray | None = None,
    means: bool = True,
    weight: float | None = None,
    parts: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per r: (M, Q, E) over the (μ, τ) grid.

    M = ∫ prior(θ | μ, τ) L(θ) dθ (the marginal), Q = the same over p > threshold,
    E = the same weighted by p — all including EX/NEX mixing and per-r scaling.
    For every r = 0..n, or for the response counts ``rows`` only (one row each: the
    same arithmetic, a row at a time); E only if ``means``. ``weight`` replaces the
    model's P(EX) of the cohort (EXNEX: 1 and 0 give the EX and the NEX branch).
    ``parts``, the EX and NEX integrals of :func:`_cohort_parts` for the same
    arguments, saves computing them.
    """
    ex_nodes, nex_nodes, w_ex = eng.weights_theta(cohort)
    if weight is not None:
        w_ex = weight
    ex, nex = _cohort_parts(eng, cohort, n, threshold, rows, means) if parts is None else parts
    R = ex.shape[0] // (3 if means else 2)
    outs: list[np.ndarray] = []
    for k in range(3 if means else 2):
        if ex_nodes is not None and w_ex > 0:
            total = w_ex * ex[k * R : (k + 1) * R]
        else:
            total = np.zeros((R, len(eng.mu)))
        if nex_nodes is not None and w_ex < 1:
            total += (1 - w_ex) * nex[k * R : (k + 1) * R][:, None]
        # negative rounding and values below the flush floor both become 0
        np.copyto(total, 0.0, where=total < _FLUSH_FLOOR)
        outs.append(total)
    return outs[0], outs[1], (outs[2] if means else None)


def _cohort_parts(
    eng: _Engine,
    cohort: str,
    n: int,
    threshold: float,
    rows: np.ndarray | None = None,
    means: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The EX integrals (stacked M, Q, E rows × (μ, τ) grid) and NEX ones (rows) of a cohort.

    :func:`_cohort_pieces` before the EX/NEX weighting: (M; Q; E) stacked along the
    rows (E only if ``means``), each block one row per response count.
    """
    return _cohort_parts_at(eng, cohort, n, (threshold,), rows, means)[0]


def _cohort_parts_at(
    eng: _Engine,
    cohort: str,
    n: int,
    thresholds: tuple[float, ...],
    rows: np.ndarray | None = None,
    means: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_cohort_parts` for several thresholds at once, one per threshold.

    The likelihood rows, their marginal M and mean part E are integrated once; each
    threshold adds its Q rows to the same stack (one product with the kernels).
    """
    t = eng.cohort_terms(cohort, n)
    rr_all = np.arange(n + 1, dtype=float) if rows is None else np.asarray(rows, dtype=float)
    lik = t["lik"] if rows is None else t["lik"][rows]
    shift = t["shift"] if rows is None else t["shift"][rows]
    off = eng.offset[cohort]
    p = special.expit(eng.theta + off)
    lik_c = lik[:, ::2]
    ths, aboves, blocks, blocks_c = [], [], [lik], [lik_c]
    for threshold in thresholds:
        th, above, above_c = _steps(eng, threshold, off)
        ths.append(th)
        aboves.append(above)
        blocks.append(lik * above[None, :])
        blocks_c.append(lik_c * above_c[None, :])
    if means:
        blocks.append(lik * p[None, :])
        blocks_c.append(lik_c * p[None, ::2])
    ex_nodes, nex_nodes, _ = eng.weights_theta(cohort)
    R = len(rr_all)
    product = None
    if ex_nodes is not None and eng.wide.any():
        # (lik ⊙ above) @ K for every threshold from one pass over the kernel
        lik_m, above_m, means_m = _stepped_products(
            lik, aboves, blocks[-1] if means else None, eng.kernel_r)
        product = np.concatenate([lik_m, *above_m, *([] if means_m is None else [means_m])])
    ex, nex = eng.integrate(np.concatenate(blocks), cohort if nex_nodes is not None else None,
                            np.concatenate(blocks_c), product)
    if ex_nodes is not None and (eng.point.any() or eng.narrow.any()):
        # columns with tau too small for the theta grid: exact likelihood evaluations
        loglik = _row_loglik(eng, cohort, n, rr_all, shift)
        slope = eng.slope(cohort, n)
        eng._exact_columns(ex[:R], loglik, None,
                           p_weighted=(ex[(len(ths) + 1) * R :], off) if means else None,
                           slope=slope)
        for i, th in enumerate(ths, start=1):
            q = ex[i * R : (i + 1) * R]
            eng._exact_columns(q, loglik, th if np.isfinite(th) else None, without_th=ex[:R],
                               slope=slope)
            if not np.isfinite(th):
                q[:] = ex[:R] if th < 0 else 0.0
    out = []
    for i in range(1, len(ths) + 1):
        keep = [slice(0, R), slice(i * R, (i + 1) * R)]
        if means:
            keep.append(slice((len(ths) + 1) * R, None))
        out.append((np.concatenate([ex[k] for k in keep]),
                    np.concatenate([nex[k] for k in keep])))
    return out


def _steps(eng: _Engine, threshold: float, off: float) -> tuple[float, np.ndarray, np.ndarray]:
    """A threshold on the θ scale (±inf at 0 and 1) and each node's share above it.

    (θ threshold, shares of the θ nodes' hats above it, the same for every other node).
    """
    th = float(special.logit(threshold) - off if 0 < threshold < 1
               else (-np.inf if threshold <= 0 else np.inf))
    nodes_c = eng.theta[::2]
    if not np.isfinite(th):
        return th, np.full(len(eng.theta), float(th < 0)), np.full(len(nodes_c), float(th < 0))
    return th, _above_fraction(eng.theta, th), _above_fraction(nodes_c, th)


def _stepped_products(
    rows: np.ndarray, steps: list[np.ndarray], extra: np.ndarray | None, kernel: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Products with the kernel of rows, rows ⊙ each step and extra rows, in one pass.

    The steps (the share of each node above a threshold) are constant over runs of
    nodes: 0 below the threshold, 1 above it, a fraction on the one or two nodes
    beside it. Each run's product with its kernel rows is computed once; the plain
    product is their sum and each step's product their sum weighted by its value on
    the run. So every threshold costs a few sums of products, not another product
    of the whole kernel: for a few rows the kernel is read once, for many the work
    is that of one product. ``extra`` (rows with no step, e.g. weighted by p) joins
    the runs' products.
    """
    R = rows.shape[0]
    both = rows if extra is None else np.concatenate([rows, extra])
    n_nodes = rows.shape[1]
    table = np.array(steps).reshape(len(steps), n_nodes)
    starts = np.flatnonzero((table[:, 1:] != table[:, :-1]).any(axis=0)) + 1
    edges = [0, *starts.tolist(), n_nodes]
    total = np.zeros((both.shape[0], kernel.shape[1]))
    stepped = [np.zeros((R, kernel.shape[1])) for _ in steps]
    for a, b in itertools.pairwise(edges):
        part = both[:, a:b] @ kernel[a:b]
        total += part
        for t, out in enumerate(stepped):
            share = table[t, a]
            if share == 1.0:
                out += part[:R]
            elif share != 0.0:
                out += share * part[:R]
    return total[:R], stepped, None if extra is None else total[R:]


def warm_rows(
    eng: _Engine, cohort: str, n: int, rows: Sequence[int], thresholds: Sequence[float]
) -> None:
    """Compute a cohort's rows for several thresholds in one stack, into the memo.

    What :func:`marginal` and :func:`lattice` with ``rows`` would compute threshold by
    threshold (with each single row's mean, see :func:`_row_pieces`), integrated
    together: the analysis of one data set needs each cohort's row at its p0 and p1.
    """
    counts = tuple(int(r) for r in rows)
    wanted = tuple(dict.fromkeys(float(t) for t in thresholds))
    with_means = len(counts) == 1
    parts = _cohort_parts_at(eng, cohort, n, wanted, np.array(counts, dtype=int), with_means)
    for t, value in zip(wanted, parts, strict=True):

        def computed(value: tuple[np.ndarray, np.ndarray] = value) -> tuple[np.ndarray, ...]:
            return value

        MEMO.get(_parts_key(eng, cohort, n, t, counts, with_means), computed)


def _parts_key(
    eng: _Engine, cohort: str, n: int, threshold: float, rows: tuple[int, ...], means: bool
) -> tuple[Any, ...]:
    """The memo key of a cohort's EX/NEX integrals at ``rows`` (:func:`_cohort_parts`)."""
    return ("quadrature.row_parts", eng.model, tuple(eng.cohorts), eng.grid, cohort, n,
            threshold, rows, means)


def _row_loglik(
    eng: _Engine, cohort: str, n: int, rr_all: np.ndarray, shift: np.ndarray
) -> Callable[[np.ndarray, Any], _RowTerms]:
    """The scaled binomial log likelihood of the rows ``rr_all`` at any θ (tie included).

    For :meth:`_Engine._exact_columns`: prepares the θ terms once (kept in the memo
    by the θ set's tag: every size and row of the cohort shares them), then gives a
    block of rows at a time (:class:`_RowTerms`).
    """
    # cohorts with the same offset and no tie share their θ terms (a basket's cohorts)
    who = cohort if cohort in eng._hist[1] else ("offset", eng.offset[cohort])

    def prepare(theta: np.ndarray, tag: Any) -> _RowTerms:
        key = ("quadrature.loglik", eng.model, tuple(eng.cohorts), eng.grid, who, tag)
        steps = tag[0] == "narrow"  # rows of the narrow nodes step by the odds
        terms = MEMO.get((*key, n), lambda: _level_terms(key, eng, cohort, theta, n, steps))
        return _RowTerms(rr_all, shift, terms)

    return prepare


_RECURRENCE_SPAN = 600.0
"""Largest span (nats) of the log likelihood on a θ set for which :meth:`_RowTerms.weighted_sums`
steps from row to row: values within e^±600 are normal doubles, so no step underflows."""


class _RowTerms:
    """The scaled log likelihood of response counts r at a θ set: r·slope + level − scale.

    ``terms`` holds (slope, level, span, odds) from :func:`_level_terms`; ``scale`` is each
    row's log scale (its maximum over the θ grid).
    """

    def __init__(
        self,
        rr: np.ndarray,
        scale: np.ndarray,
        terms: tuple[np.ndarray, np.ndarray, float, np.ndarray | None],
    ) -> None:
        self.rr = rr
        self.scale = scale
        self.slope, self.level, self.span, self.odds = terms

    def __call__(self, rows: slice) -> np.ndarray:
        """The rows' log likelihood, shape (rows, θ nodes): one product and two in-place sums."""
        ll = self.rr[rows].reshape(-1, 1) * self.slope
        ll += self.level
        ll -= self.scale[rows].reshape(-1, 1)
        return cast(np.ndarray, ll)

    def weighted_sums(
        self, wts: np.ndarray, runs: tuple[tuple[int, int, int], ...]
    ) -> np.ndarray | None:
        """Σ_{k in g} exp(log L_r(θ_k)) wts_k for every row r and column g, or None.

        The θ set is flat, each column's nodes one after the other, in ``runs`` of
        columns with as many nodes each (:func:`_run_sums`).

        For rows r, r + 1, r + 2, ... the likelihood steps by the odds p / (1 − p):
        L_{r+1}(θ) = L_r(θ) · p / (1 − p), one product per row instead of an exponential.
        Each row is the first one's exponential times a product of odds, equal to the
        direct one to a few rounding errors per step. Used only where the log likelihood
        spans at most :data:`_RECURRENCE_SPAN` nats, so that no step underflows; returns
        None otherwise (rows not consecutive, fewer than three, or a wider span), and the
        caller exponentiates row by row.
        """
        rr, odds = self.rr, self.odds
        if (odds is None or rr.size < 3 or self.span > _RECURRENCE_SPAN
                or not (np.diff(rr) == 1).all()):
            return None
        acc = np.exp(self(slice(0, 1))[0]) * wts  # row 0, scaled by its own scale
        out = np.empty((rr.size, sum(g for _, g, _ in runs)))
        out[0] = _run_sums(acc, runs)
        factor = np.exp(self.scale[0] - self.scale)
        for i in range(1, rr.size):
            acc *= odds
            out[i] = _run_sums(acc, runs) * factor[i]
        return out


def _run_sums(values: np.ndarray, runs: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """Sums over each column's nodes of a flat node axis (the last), run by run.

    A run (first node, columns, nodes per column) is a (columns × nodes) block: one
    product with ones per run.
    """
    lead = values.shape[:-1]
    out = np.empty((*lead, sum(g for _, g, _ in runs)))
    at = 0
    for first, g, m in runs:
        block = values[..., first : first + g * m].reshape(*lead, g, m)
        out[..., at : at + g] = block @ np.ones(m)
        at += g
    return out


def _level_terms(
    key: tuple[Any, ...], eng: _Engine, cohort: str, theta: np.ndarray, n: int, steps: bool
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """The log likelihood's terms on a θ set, for n patients (kept).

    (d log L / d r (the same array for every n), log L at r = 0 with the tie, a bound on
    the span of log L over the set for any r (n · max(−log p, −log(1 − p)) plus the
    tie's), the odds p / (1 − p) if ``steps``, else None).
    """
    slope, down, tied, odds, lowest = MEMO.get(
        key, lambda: _theta_terms(eng, cohort, theta, steps))
    level = n * down if tied is None else n * down + tied
    span = -n * lowest
    if tied is not None:
        span -= float(tied.min(initial=0.0))
    return slope, level, span, odds


def _theta_terms(
    eng: _Engine, cohort: str, theta: np.ndarray, steps: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, float]:
    """The θ terms of the log likelihood at the nodes ``theta`` (1-D), shaped (1, nodes).

    (log p − log(1 − p), log(1 − p), the tie's log factor or None, the odds p / (1 − p)
    at the nodes if ``steps`` (the narrow columns' nodes, see
    :meth:`_RowTerms.weighted_sums`) or None, the least of log p and log(1 − p) over the
    set (0 for an empty set)).
    """
    off = eng.offset[cohort]
    eta = theta[None, :] + off
    tie = eng._hist[1].get(cohort)
    tied = None
    if tie is not None:
        log_tie = np.log(np.maximum(tie, 1e-300))
        tied = np.interp(theta, eng.theta, log_tie)[None, :]
    odds = np.exp(eta[0]) if steps else None
    up, down = special.log_expit(eta), special.log_expit(-eta)
    lowest = min(float(up.min(initial=0.0)), float(down.min(initial=0.0)))
    up -= down
    return up, down, tied, odds, lowest


def _pieces(
    eng: _Engine, cohort: str, n: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_cohort_pieces`, kept in the memo (read-only arrays).

    One cohort's pieces at one sample size serve every lattice that contains that
    size (a multi-look design meets each size in several combinations).
    """
    key = ("quadrature.pieces", eng.model, tuple(eng.cohorts), eng.grid, cohort, n, threshold)
    return cast(
        "tuple[np.ndarray, np.ndarray, np.ndarray]",
        MEMO.get(key, lambda: _cohort_pieces(eng, cohort, n, threshold)),
    )


def _row_pieces(
    eng: _Engine,
    cohort: str,
    n: int,
    threshold: float,
    rows: tuple[int, ...],
    means: bool = False,
    weight: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`_cohort_pieces` at the response counts ``rows`` only, kept in the memo."""
    key = ("quadrature.row_pieces", eng.model, tuple(eng.cohorts), eng.grid, cohort, n,
           threshold, rows, means, weight)
    counts = np.array(rows, dtype=int)

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        # a single row's EX/NEX integrals are kept apart: EXNEX's branches (weight 1 and
        # 0, asked for at the data only) and the mixture share them; one data set's row
        # is computed with its mean (one more row of the stack), so the posterior
        # summaries and the lattice rows share it too. Several rows (a line) are kept
        # as pieces only.
        with_means = means or len(rows) == 1
        if len(rows) == 1:
            ex, nex = MEMO.get(_parts_key(eng, cohort, n, threshold, rows, with_means),
                               lambda: _cohort_parts(eng, cohort, n, threshold, counts,
                                                     with_means))
        else:
            ex, nex = _cohort_parts(eng, cohort, n, threshold, counts, with_means)
        if with_means and not means:  # (M; Q; E) stacked: M and Q are the first two blocks
            ex, nex = ex[: 2 * len(rows)], nex[: 2 * len(rows)]
        return _cohort_pieces(eng, cohort, n, threshold, counts, means, weight, (ex, nex))

    return MEMO.get(key, compute)


def marginal(
    eng: _Engine,
    cohort: str,
    n: int,
    threshold: float,
    *,
    rows: Sequence[int] | None = None,
    weight: float | None = None,
) -> np.ndarray:
    """Cohort's marginal M[r, g] at every r of n over the (μ, τ) grid (scaled per r).

    With ``rows``, at those response counts only (one row each); ``weight``
    replaces the model's P(EX) of the cohort (EXNEX: 1 for the EX branch, 0 for
    NEX). Read-only; kept in the memo with the other pieces of :func:`lattice`.
    """
    if rows is None and weight is None:
        return _pieces(eng, cohort, n, threshold)[0]
    counts = tuple(range(n + 1)) if rows is None else tuple(int(r) for r in rows)
    return _row_pieces(eng, cohort, n, threshold, counts, weight=weight)[0]


def lattice(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    *,
    thresholds: Mapping[str, float] | None = None,
    grid: QuadratureGrid,
    rows: Sequence[Sequence[int]] | None = None,
    means: bool = True,
    only: str | None = None,
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
    rows : sequence of sequence of int, optional
        Response counts per cohort: only the outcomes of their outer product are
        computed, by the same arithmetic (one observed data set: one count per
        cohort; the line of cohort j: all of its counts and one of each other's).
        The cost then grows with the number of counts selected, not with the
        lattice. Default: every count, the whole lattice.
    means : bool
        Whether to compute the posterior means (always, for the whole lattice).
    only : str, optional
        With ``rows``: the one cohort whose figures to compute (a line of cohort j
        needs j's alone; the others' would cost a contraction each).

    Returns
    -------
    LatticeResult
        Arrays of shape ``(n_1 + 1, ..., n_J + 1)``, or ``(len(rows[0]), ...)``.

    Examples
    --------
    >>> from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
    >>> coh = (Cohort("a", 0.2), Cohort("b", 0.3))
    >>> whole = lattice(Model(), coh, [10, 12], grid=DEFAULT_GRID)
    >>> one = lattice(Model(), coh, [10, 12], grid=DEFAULT_GRID, rows=[[4], [3]])
    >>> one.p_above["a"].shape
    (1, 1)
    >>> bool(abs(one.p_above["a"][0, 0] - whole.p_above["a"][4, 3]) < 1e-12)
    True
    """
    coh = tuple(cohorts)
    if len(n) != len(coh):
        raise fail("n", "lattice", f"one sample size per cohort ({len(coh)})", list(n))
    sizes = tuple(int(x) for x in n)
    thr = tuple(sorted((thresholds or {}).items()))
    if rows is None and only is not None:
        raise fail("only", "lattice", "None without `rows` (the whole lattice has every "
                   "cohort's figures)", only)
    if rows is None:
        key = ("quadrature.lattice", model, coh, sizes, thr, grid)
        return MEMO.get(key, lambda: _lattice(*key[1:]))
    counts = _check_rows(rows, sizes, "lattice")
    if only is not None and only not in [c.name for c in coh]:
        raise fail("only", "lattice", f"one of {{{', '.join(c.name for c in coh)}}}", only)
    key_rows = ("quadrature.lattice_rows", model, coh, sizes, thr, grid, counts, bool(means),
                only)
    return MEMO.get(key_rows,
                    lambda: _lattice(model, coh, sizes, thr, grid, counts, means, only))


def p_above_data(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    counts: Any,
    *,
    thresholds: Mapping[str, float] | None = None,
    grid: QuadratureGrid,
) -> dict[str, np.ndarray]:
    r"""P(p_j > threshold_j | data) of every cohort for G data sets at sizes ``n``.

    The same numbers as :func:`lattice`'s ``p_above`` at the outcomes ``counts``
    (to rounding), without the lattice: the cost grows with the number of
    distinct data sets, not with Π (n_j + 1), so it serves any number of cohorts.

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    n : sequence of int
        Patients per cohort (same order as ``cohorts``), shared by every data set.
    counts : array_like of int, shape (G, J)
        Response counts, one row per data set, one column per cohort (0..n_j).
    thresholds : mapping, optional
        Cohort → threshold (default the cohort's p0).
    grid : QuadratureGrid

    Returns
    -------
    dict
        Cohort → array of shape (G,): P(p_j > threshold_j | data set g).

    Notes
    -----
    With the per-count scaled marginals M_k and threshold parts Q_j of
    :func:`lattice` (the same pieces, scaling and column weights b), for data set
    g with counts r_g,

    .. math::

        P(p_j > t_j \mid r_g) = \frac{\sum_z b_z\, Q_j[r_{gj}, z]
        \prod_{k \ne j} M_k[r_{gk}, z]}{\sum_z b_z \prod_k M_k[r_{gk}, z]}.

    The rows M_k[r_gk] are gathered per data set and the products over k ≠ j come
    from prefix and suffix products (about 5 J passes over a data sets × columns
    block, then J + 1 matrix-vector products with b). Identical data sets are
    evaluated once, and the data sets go through in blocks whose temporaries
    together stay below :data:`_DATA_BLOCK_BYTES`.

    Examples
    --------
    >>> from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
    >>> coh = (Cohort("a", 0.2), Cohort("b", 0.3))
    >>> whole = lattice(Model(), coh, [10, 12], grid=DEFAULT_GRID)
    >>> some = p_above_data(Model(), coh, [10, 12], [[4, 3], [0, 12]], grid=DEFAULT_GRID)
    >>> bool(abs(some["a"][0] - whole.p_above["a"][4, 3]) < 1e-12)
    True
    """
    owner = "p_above_data"
    coh = tuple(cohorts)
    names = [c.name for c in coh]
    if len(n) != len(coh):
        raise fail("n", owner, f"one sample size per cohort ({len(coh)})", list(n))
    sizes = tuple(check_int(x, "n", owner, low=0) for x in n)
    data = _check_counts(counts, sizes, owner)
    thr = dict(thresholds or {})
    unknown = sorted(set(thr) - set(names))
    if unknown:
        raise fail("thresholds", owner, f"thresholds of the cohorts {{{', '.join(names)}}}",
                   unknown)
    if data.shape[0] == 0:
        return {c: np.zeros(0) for c in names}
    unique, inverse = np.unique(data, axis=0, return_inverse=True)
    eng = engine(model, coh, grid)
    _check_size(eng, sizes)
    pieces = [
        _scaled_pieces(eng, c.name, nj, float(thr.get(c.name, c.p0)))
        for c, nj in zip(coh, sizes, strict=True)
    ]
    p = _gather_contract(_base_weights(eng), pieces, unique)
    at = inverse.ravel()
    return {c: p[at, j] for j, c in enumerate(names)}


_DATA_BLOCK_BYTES = 1 << 26
"""Bytes of the (data sets × columns) temporaries of one block of :func:`p_above_data`."""


def _data_block_rows(n_cohorts: int, n_columns: int) -> int:
    """Data sets per block of :func:`p_above_data`: its J + 3 temporaries within the budget."""
    return max(1, _DATA_BLOCK_BYTES // (8 * max(n_columns, 1) * (n_cohorts + 3)))


def _check_counts(counts: Any, sizes: tuple[int, ...], owner: str) -> np.ndarray:
    """``counts`` as an int array (G, J) with every count in 0..n_j."""
    data = np.asarray(counts)
    J = len(sizes)
    if data.ndim == 1 and data.size == J:
        data = data[None, :]
    if data.ndim != 2 or data.shape[1] != J or not (
        np.issubdtype(data.dtype, np.integer) or data.size == 0
    ):
        raise fail("counts", owner, f"an integer array of shape (G, {J})",
                   f"{data.dtype} array of shape {data.shape}")
    data = data.astype(np.intp, copy=False)
    if data.size and ((data < 0).any() or (data > np.asarray(sizes)).any()):
        raise fail("counts", owner, f"response counts in 0..n_j (n = {list(sizes)})",
                   "counts outside that range")
    return data


def _scaled_pieces(
    eng: _Engine, cohort: str, n: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(M, Q) of :func:`_pieces`, scaled per count as :func:`_lattice` scales them (kept)."""
    key = ("quadrature.scaled", eng.model, tuple(eng.cohorts), eng.grid, cohort, n, threshold)

    def compute() -> tuple[np.ndarray, np.ndarray]:
        M, Q, _ = _scaled(*_pieces(eng, cohort, n, threshold)[:2], None)
        return M, Q

    return MEMO.get(key, compute)


def _gather_contract(
    base: np.ndarray, pieces: list[tuple[np.ndarray, np.ndarray]], counts: np.ndarray
) -> np.ndarray:
    """num_j / den of :func:`p_above_data` for the data sets ``counts`` (G, J) → (G, J)."""
    G, J = counts.shape
    out = np.empty((G, J))
    step = _data_block_rows(J, base.size)
    for lo in range(0, G, step):
        rows = counts[lo : lo + step]
        # suffix[k] = prod_{i > k} M_i[r_i] (None: empty product)
        suffix: list[np.ndarray | None] = [None] * J
        acc: np.ndarray | None = None
        for k in range(J - 1, 0, -1):
            row = pieces[k][0][rows[:, k]]
            acc = row if acc is None else np.multiply(acc, row, out=row)
            suffix[k - 1] = acc
        num = np.empty((len(rows), J))
        prefix: np.ndarray | None = None
        for j in range(J):
            term = pieces[j][1][rows[:, j]]
            for other in (prefix, suffix[j]):
                if other is not None:
                    term *= other
            num[:, j] = term @ base
            suffix[j] = None  # no longer needed
            row = pieces[j][0][rows[:, j]]
            prefix = row if prefix is None else np.multiply(prefix, row, out=row)
        assert prefix is not None
        den = prefix @ base
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + step] = np.clip(num / den[:, None], 0.0, 1.0)
    return out


def _check_rows(rows: Sequence[Sequence[int]], n: Sequence[int], owner: str) -> Rows:
    """``rows`` as tuples of ints, one per cohort, each count in 0..n_j."""
    if len(rows) != len(n):
        raise fail("rows", owner, f"one sequence of response counts per cohort ({len(n)})",
                    rows)
    out = []
    for counts, size in zip(rows, n, strict=True):
        checked = tuple(check_int(r, "rows", owner, low=0, high=size) for r in counts)
        if not checked:
            raise fail("rows", owner, "at least one response count per cohort", rows)
        out.append(checked)
    return tuple(out)


def _lattice(
    model: Model,
    coh: tuple[Cohort, ...],
    n: tuple[int, ...],
    thresholds: tuple[tuple[str, float], ...],
    grid: QuadratureGrid,
    rows: Rows | None = None,
    means: bool = True,
    only: str | None = None,
) -> LatticeResult:
    eng = engine(model, coh, grid)
    _check_size(eng, n)
    thr = dict(thresholds)
    names = [c.name for c in coh]
    if only is not None and not means and _is_line(rows, names.index(only)):
        # one cohort's line through a data set, its figures only: contracted sums
        assert rows is not None
        j = names.index(only)
        den, num = _line_sums(eng, coh, n, rows, j, thr.get(only, coh[j].p0))
        shape = [1] * len(coh)
        shape[j] = len(rows[j])
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.clip(num / den, 0.0, 1.0).reshape(shape)
        return LatticeResult(n=n, p_above={only: p}, mean={}, rows=rows)
    pieces = [
        _pieces(eng, c.name, nj, thr.get(c.name, c.p0))
        if rows is None
        else _row_pieces(eng, c.name, nj, thr.get(c.name, c.p0), rows[k], means)
        for k, (c, nj) in enumerate(zip(coh, n, strict=True))
    ]
    base = _base_weights(eng)  # (G,)
    J = len(coh)
    # log-scale normalisation of each cohort's marginal per r keeps products finite; a
    # line (one cohort with several rows, the others single) needs none for its own
    # rows: each row's scale cancels in the ratios below
    many = [k for k, (M, _, _) in enumerate(pieces) if M.shape[0] != 1]
    scaled = [pc if many == [k] else _scaled(*pc) for k, pc in enumerate(pieces)]
    p_above: dict[str, np.ndarray] = {}
    mean: dict[str, np.ndarray] = {}
    den = _contract(base, [scaled[k][0] for k in range(J)])
    for j, c in enumerate(coh):
        if only is not None and c.name != only:
            continue
        num_q = _contract(base, [scaled[k][1] if k == j else scaled[k][0] for k in range(J)])
        with np.errstate(invalid="ignore", divide="ignore"):
            p_above[c.name] = np.clip(num_q / den, 0.0, 1.0)
        e_j = scaled[j][2]
        if e_j is not None:
            num_e = _contract(base, [e_j if k == j else scaled[k][0] for k in range(J)])
            with np.errstate(invalid="ignore", divide="ignore"):
                mean[c.name] = num_e / den
    return LatticeResult(n=n, p_above=p_above, mean=mean, rows=rows)


def _base_weights(eng: _Engine) -> np.ndarray:
    """The (μ, τ) columns' prior weights times the strata's factor, scaled to a maximum of 1."""
    base = eng.log_prior + eng._hist[0]
    return cast(np.ndarray, np.exp(base - base.max()))


def _scaled(
    M: np.ndarray, Q: np.ndarray, E: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The pieces divided, per response count, by the marginal's largest column (or 1)."""
    s = M.max(axis=1, keepdims=True)
    s = np.where(s > 0, s, 1.0)
    return M / s, Q / s, None if E is None else E / s


_CONTRACT_BLOCK = 1 << 22
"""Cells (rows × grid columns) per block of the leading cohorts' outer product (_contract)."""


def _contract(base: np.ndarray, arrays: list[np.ndarray]) -> np.ndarray:
    """sum_g base[g] prod_j A_j[r_j, g] over the lattice (r_1, ..., r_J).

    When every cohort but at most one has a single row (one data set, or one
    cohort's line through it), the single rows and ``base`` make one weight vector
    and the result is a matrix-vector product. Otherwise, three or more cohorts: the
    outer product of all but the last cohort's rows (times ``base``) is formed a block
    of lattice rows at a time and multiplied by the last cohort's rows (a matrix
    product), so the work is one pass over the leading rows and one BLAS product,
    with bounded memory.
    """
    if len(arrays) == 1:
        return cast(np.ndarray, arrays[0] @ base)
    many = [k for k, a in enumerate(arrays) if a.shape[0] != 1]
    if len(many) <= 1:  # one data set, or one cohort's line: a product of rows, a matvec
        w = base.copy()
        for k, a in enumerate(arrays):
            if k not in many:
                w *= a[0]
        _flush(w)
        single = [1] * len(arrays)
        if not many:
            return np.full(single, w.sum())
        single[many[0]] = arrays[many[0]].shape[0]
        return cast(np.ndarray, (arrays[many[0]] @ w).reshape(single))
    if len(arrays) == 2:
        return cast(
            np.ndarray, _flush(arrays[0] * base[None, :]) @ np.ascontiguousarray(arrays[1].T)
        )
    lead, last = arrays[:-1], np.ascontiguousarray(arrays[-1].T)
    shape = tuple(a.shape[0] for a in lead)
    rows = math.prod(shape)
    out = np.empty((rows, last.shape[1]))
    step = max(1, _CONTRACT_BLOCK // max(base.size, 1))
    for lo in range(0, rows, step):
        idx = np.unravel_index(np.arange(lo, min(lo + step, rows)), shape)
        block = lead[0][idx[0]] * base[None, :]
        for a, i in zip(lead[1:], idx[1:], strict=True):
            block *= a[i]
        out[lo : lo + len(block)] = block @ last
    return out.reshape(*shape, last.shape[1])


# ---------------------------------------------------------------------------
# A cohort's line through one data set: contracted before it is formed
# ---------------------------------------------------------------------------
def _is_line(rows: Rows | None, j: int) -> bool:
    """Whether ``rows`` select several counts of cohort j and one count of every other."""
    return (rows is not None and len(rows[j]) > 1
            and all(len(r) == 1 for k, r in enumerate(rows) if k != j))


def _line_weights(
    eng: _Engine, coh: tuple[Cohort, ...], n: tuple[int, ...], rows: Rows, j: int
) -> np.ndarray:
    """The (μ, τ) weights of cohort j's line through a data set (kept in the memo).

    w = b ∏_{k≠j} M̃_k[r_k] (flushed): the columns' prior weights times every other
    cohort's scaled marginal at its one count, as :func:`_contract` forms it. Cohort
    j's lines at every size through the same data share it.
    """
    others = tuple((k, n[k], rows[k]) for k in range(len(coh)) if k != j)
    key = ("quadrature.line_weights", eng.model, tuple(eng.cohorts), eng.grid, j, others)

    def compute() -> np.ndarray:
        w = _base_weights(eng)
        for k, size, counts in others:
            c = coh[k]
            w *= _scaled(*_row_pieces(eng, c.name, size, c.p0, counts)[:2], None)[0][0]
        return _flush(w)

    return MEMO.get(key, compute)


def _line_sums(
    eng: _Engine, coh: tuple[Cohort, ...], n: tuple[int, ...], rows: Rows, j: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_g w_g M_j[r, g] and Σ_g w_g Q_j[r, g] for cohort j's counts r along its line.

    The values :func:`_contract` gives for the line's pieces (:func:`_row_pieces`: M_j
    per count scaled by its likelihood's largest value only) with the weights of
    :func:`_line_weights`, summed a block of columns at a time as the pieces are
    formed: the wide columns, then the exact (point and narrow) ones, each block mixed
    (EX/NEX) and flushed as :func:`_cohort_pieces` does it (values below 1e-280, and the
    negative ones the extrapolation leaves in the tails, become 0) and summed against
    w. No (counts × grid) array is built or kept. Kept in the memo; the predictive
    (:func:`predictive`) reads the first sum.
    """
    key = ("quadrature.line_sums", eng.model, tuple(eng.cohorts), eng.grid, n, rows, j,
           threshold)
    return MEMO.get(key, lambda: _compute_line_sums(eng, coh, n, rows, j, threshold))


def _compute_line_sums(
    eng: _Engine, coh: tuple[Cohort, ...], n: tuple[int, ...], rows: Rows, j: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    c = coh[j]
    w = _line_weights(eng, coh, n, rows, j)
    t = eng.cohort_terms(c.name, n[j])
    counts = np.array(rows[j], dtype=int)
    lik, shift = t["lik"][counts], t["shift"][counts]
    th, above, above_c = _steps(eng, threshold, eng.offset[c.name])
    finite = bool(np.isfinite(th))
    R = len(counts)
    values = np.concatenate([lik, lik * above[None, :]])  # (M; Q) rows on the θ nodes
    coarse = np.concatenate([lik[:, ::2], lik[:, ::2] * above_c[None, :]])
    ex_nodes, nex_nodes, w_ex = eng.weights_theta(c.name)
    nex = eng.nex_part(values, c.name, coarse) if nex_nodes is not None else None
    # (EX integrals of a block of columns or None, those columns' weights)
    blocks: list[tuple[np.ndarray | None, np.ndarray]] = []
    if ex_nodes is None:
        blocks.append((None, w))
    else:
        if eng.wide.any():
            lik_m, above_m, _ = _stepped_products(lik, [above], None, eng.kernel_r)
            wide = eng.wide_part(values, coarse, np.concatenate([lik_m, above_m[0]]))
            blocks.append((wide, w[eng.wide_at]))
        exact = eng.point | eng.narrow
        if exact.any():
            # the exact columns lead the grid (τ = 0, then the narrow τ): a block that wide
            width = int(np.flatnonzero(exact)[-1]) + 1
            part = np.zeros((2 * R, width))
            loglik = _row_loglik(eng, c.name, n[j], counts.astype(float), shift)
            slope = eng.slope(c.name, n[j])
            eng._exact_columns(part[:R], loglik, None, slope=slope)
            eng._exact_columns(part[R:], loglik, th if finite else None, without_th=part[:R],
                               slope=slope)
            if not finite:
                part[R:] = part[:R] if th < 0 else 0.0
            leading = not eng.wide[:width].any()
            blocks.append((part, w[:width]) if leading else (part[:, exact[:width]], w[exact]))
    sums = np.zeros(2 * R)
    for ex, wb in blocks:
        if ex is not None and w_ex > 0:
            total = w_ex * ex
        else:
            total = np.zeros((2 * R, len(wb)))
        if nex is not None and w_ex < 1:
            total += (1 - w_ex) * nex[:, None]
        np.copyto(total, 0.0, where=total < _FLUSH_FLOOR)  # as _cohort_pieces flushes
        sums += total @ wb
    return sums[:R], sums[R:]


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
    rows: Sequence[Sequence[int]] | None = None,
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
    rows : sequence of sequence of int, optional
        Response counts per cohort now: only the outcomes of their outer product
        (one data set: one count per cohort), as in :func:`lattice`. Default:
        the whole lattice.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_1 + 1, ..., n_J + 1, m + 1)`` (with ``rows``,
        ``(len(rows[0]), ..., m + 1)``); the last axis sums to one.

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
    For selected outcomes only cohort j's counts r_j + x at n_j + m and the other
    cohorts' selected counts enter: the cost grows with them, not with the lattice.
    """
    coh = tuple(cohorts)
    names = [c.name for c in coh]
    if len(n) != len(coh):
        raise fail("n", "predictive", f"one sample size per cohort ({len(coh)})", list(n))
    sizes = tuple(check_int(x, "n", "predictive", low=0) for x in n)
    if cohort not in names:
        raise fail("cohort", "predictive", f"one of {{{', '.join(names)}}}", cohort)
    m = check_int(m, "m", "predictive", low=0)
    counts = None if rows is None else _check_rows(rows, sizes, "predictive")
    key = ("quadrature.predictive", model, coh, sizes, cohort, m, grid, counts)
    return MEMO.get(key, lambda: _predictive(model, coh, sizes, cohort, m, grid, counts))


def _predictive(
    model: Model,
    coh: tuple[Cohort, ...],
    n: tuple[int, ...],
    cohort: str,
    m: int,
    grid: QuadratureGrid,
    rows: Rows | None = None,
) -> np.ndarray:
    eng = engine(model, coh, grid)
    j = [c.name for c in coh].index(cohort)
    _check_size(eng, [size + (m if k == j else 0) for k, size in enumerate(n)])
    # cohort j's counts r_j + x at n_j + m: from its smallest selected count on
    now = np.arange(n[j] + 1) if rows is None else np.array(rows[j])
    first = int(now.min())
    line = None if rows is None else tuple(
        tuple(range(first, int(now.max()) + m + 1)) if k == j else r for k, r in enumerate(rows))
    if _is_line(line, j):  # the others at one count each: cohort j's line, contracted
        assert line is not None
        sizes = tuple(size + (m if k == j else 0) for k, size in enumerate(n))
        z = _line_sums(eng, coh, sizes, line, j, coh[j].p0)[0]
        # its rows are scaled by their likelihoods' largest values only
        log_scale = eng.cohort_terms(cohort, sizes[j])["shift"][first : first + len(z)]
        z = z.reshape((len(z),) + (1,) * (len(coh) - 1))
    else:
        arrays, log_scale = [], np.zeros(0)
        for k, c in enumerate(coh):
            size = n[k] + m if k == j else n[k]
            if line is None:
                M = _pieces(eng, c.name, size, c.p0)[0]
            else:
                M = _row_pieces(eng, c.name, size, c.p0, line[k])[0]
            s = M.max(axis=1, keepdims=True)
            s = np.where(s > 0, s, 1.0)
            arrays.append(M / s)
            if k == j:  # true marginal = scaled × exp(log_scale), per response count
                shift = eng.cohort_terms(c.name, size)["shift"][first:]
                log_scale = shift[: len(s)] + np.log(s[:, 0])
        z = np.moveaxis(_contract(_base_weights(eng), arrays), j, 0)  # (j's counts, others...)
    x = np.arange(m + 1)
    total = (now - first)[:, None] + x[None, :]  # r_j + x, shape (len(now), m + 1)
    extra = (log_scale[total] + _log_binomial(m)[None, :]).reshape(
        total.shape + (1,) * (z.ndim - 1))
    with np.errstate(divide="ignore"):
        logw = np.log(z)[total] + extra  # (n_j + 1, m + 1, other cohorts...)
    w = _predictive_weights(logw, 1, cohort, n)
    return np.moveaxis(np.moveaxis(w, 1, -1), 0, j)


def _log_binomial(m: int) -> np.ndarray:
    """The log binomial coefficients log C(m, x), x = 0..m."""
    x = np.arange(m + 1)
    return cast(np.ndarray,
                special.gammaln(m + 1) - special.gammaln(x + 1) - special.gammaln(m - x + 1))


def _predictive_weights(
    logw: np.ndarray, axis: int, cohort: str, sizes: Sequence[int]
) -> np.ndarray:
    """The predictive pmf from its log weights C(m, x) Z(r_j + x, ·): normalised along ``axis``.

    Raises the grid error where every weight of a data set underflowed.
    """
    top = logw.max(axis=axis, keepdims=True)
    if not np.isfinite(top).all():
        raise DesignError(
            f"the predictive distribution of cohort {cohort!r} underflowed on this grid "
            f"at sizes {list(sizes)}; use a finer QuadratureGrid."
        )
    w = np.exp(logw - top)
    w /= w.sum(axis=axis, keepdims=True)
    return cast(np.ndarray, w)
