"""Meta-analytic-predictive (MAP) priors by quadrature, approximated by beta mixtures.

The RBesT workflow ``gMAP`` → ``automixfit`` → ``robustify`` without MCMC:

1. the MAP prior of a new cohort's response rate is the predictive distribution
   of θ* ~ N(μ, τ²) under the posterior of (μ, τ) given the historical strata
   (same hierarchical model as :mod:`adaptive2.model.hierarchical`), computed on the
   quadrature grid;
2. it is mapped to the rate scale, p* = expit(θ* + offset), and approximated by
   a mixture of 1–4 beta densities minimising the Kullback–Leibler divergence
   from the MAP density (the smallest number of components whose KL divergence is
   below ``kl_tol``, or the best with 4); and
3. it can then be robustified (:func:`adaptive2.model.priors.robustify`) and its ESS
   computed (:func:`adaptive2.model.priors.ess`).

References
----------
Neuenschwander B, et al. (2010). Summarizing historical information on controls
in clinical trials. Clinical Trials 7:5-18. Schmidli H, et al. (2014). Robust
meta-analytic-predictive priors in clinical trials with historical control
information. Biometrics 70:1023-1032.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from scipy import optimize, special

from adaptive2._base.errors import ConvergenceWarning, DesignError
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_int, check_probability, check_real, fail
from adaptive2.engines.sizes import REMEDY_GRID, map_prior_cost
from adaptive2.kernels import quadrature
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Historical, Model, QuadratureGrid
from adaptive2.model.priors import Beta, BetaMixture

__all__ = ["MAPPrior", "map_prior"]


@dataclass(frozen=True)
class MAPPrior:
    """A MAP prior: its grid density and its beta-mixture approximation.

    Attributes
    ----------
    p : numpy.ndarray
        Rate-scale grid (cell midpoints).
    mass : numpy.ndarray
        MAP probability of each cell.
    mixture : Beta or BetaMixture
        Beta-mixture approximation.
    kl : float
        KL divergence (nats) of the approximation from the MAP distribution.
    tau_mean : float
        Posterior mean of the between-stratum sd τ.
    """

    p: np.ndarray
    mass: np.ndarray
    mixture: Beta | BetaMixture
    kl: float
    tau_mean: float

    @property
    def mean(self) -> float:
        """MAP mean of the response rate (from the grid)."""
        return float((self.mass * self.p).sum())

    @property
    def sd(self) -> float:
        """MAP sd of the response rate (from the grid)."""
        m = self.mean
        return float(np.sqrt(max((self.mass * self.p**2).sum() - m**2, 0.0)))


def map_prior(
    historical: Sequence[Historical],
    *,
    p0: float,
    model: Model | None = None,
    max_components: int = 4,
    kl_tol: float = 0.002,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> MAPPrior:
    """MAP prior for a new cohort with reference rate ``p0`` from historical strata.

    Parameters
    ----------
    historical : sequence of Historical
        Historical strata (their ``tie`` must be None: they are exchangeable).
    p0 : float
        Reference rate of the new cohort (sets the offset on the logit-offset scale).
    model : Model, optional
        Hyperpriors (``kind`` must be ``hierarchical``); default ``Model()``.
    max_components : int
        Largest number of beta components tried (1–6).
    kl_tol : float
        Accept the smallest mixture whose KL divergence is below this (nats).

    Returns
    -------
    MAPPrior
    """
    owner = "map_prior"
    p0 = check_probability(p0, "p0", owner)
    max_components = check_int(max_components, "max_components", owner, low=1, high=6)
    kl_tol = check_real(kl_tol, "kl_tol", owner, low=0.0, low_open=True)
    hist = tuple(historical)
    if not hist or not all(isinstance(h, Historical) for h in hist):
        raise fail("historical", owner, "a non-empty sequence of Historical strata", hist)
    if any(h.tie is not None for h in hist):
        raise DesignError(f"`historical` of {owner} must be exchangeable strata (no `tie`).")
    model = Model() if model is None else model
    if model.kind != "hierarchical":
        raise fail("model", owner, "a Model with kind='hierarchical'", model.kind)
    new = Cohort("new", p0)
    m = Model(**{**_model_kwargs(model), "historical": hist})
    cost = map_prior_cost(m, grid, (new,))
    require_memory(cost.nbytes, f"the MAP prior of {len(hist)} historical strata on a "
                   f"{grid.n_theta} x {grid.n_mu} x {grid.n_tau} quadrature grid", REMEDY_GRID,
                   seconds=cost.seconds)
    eng = quadrature.engine(m, (new,), grid)
    logpost = eng.log_prior + eng._hist[0]
    post = np.exp(logpost - logpost.max())
    post /= post.sum()
    mass = eng.mix_theta(post)  # predictive node probabilities of theta*
    mass = mass / mass.sum()
    p = special.expit(eng.theta + eng.offset["new"])
    keep = mass > 1e-14
    p, mass = p[keep], mass[keep]
    tau_mean = float((post * eng.tau).sum())
    mixture, kl = _fit_mixture(p, mass, max_components, kl_tol)
    return MAPPrior(p=p, mass=mass, mixture=mixture, kl=kl, tau_mean=tau_mean)


def _model_kwargs(model: Model) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(model, f.name) for f in fields(model)}


def _log_beta_mix(x: np.ndarray, w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lx, l1x = np.log(x)[:, None], np.log1p(-x)[:, None]
    comp = np.log(w) + (a - 1) * lx + (b - 1) * l1x - special.betaln(a, b)
    return cast(np.ndarray, special.logsumexp(comp, axis=1))


_LOG_AB = (-7.0, 14.0)
"""Range of log a and log b of a fitted mixture component."""


def _fit_mixture(
    p: np.ndarray, mass: np.ndarray, max_k: int, kl_tol: float
) -> tuple[Beta | BetaMixture, float]:
    """Minimise KL(target || mixture) over mixtures of 1..max_k betas."""
    # target log density on the rate scale: cell mass / cell width in p
    order = np.argsort(p)
    p, mass = p[order], mass[order]
    edges = np.concatenate([[0.0], (p[1:] + p[:-1]) / 2, [1.0]])
    width = np.diff(edges)
    logf = np.log(mass) - np.log(width)
    mean = float((mass * p).sum())
    best: tuple[Beta | BetaMixture, float] | None = None
    for k in range(1, max_k + 1):
        x0 = _initial(p, mass, k)

        def kl(x: np.ndarray, k: int = k) -> float:
            w = special.softmax(np.concatenate([[0.0], x[: k - 1]]))
            a = np.exp(x[k - 1 : 2 * k - 1])
            b = np.exp(x[2 * k - 1 :])
            return float((mass * (logf - _log_beta_mix(p, w, a, b))).sum())

        # bounded: log a and log b of each beta in [-7, 14] (a, b from 9e-4 to 1.2e6), the
        # weights' logits in [-50, 50]; unbounded, a flat direction could carry the search
        # to parameters whose exp overflows
        bounds = [(-50.0, 50.0)] * (k - 1) + [_LOG_AB] * (2 * k)
        x0 = np.clip(x0, [lo for lo, _ in bounds], [hi for _, hi in bounds])
        res = optimize.minimize(kl, x0, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 2000})
        if not np.isfinite(res.fun):
            import warnings

            warnings.warn(
                f"MAP mixture fit with {k} components did not converge.",
                ConvergenceWarning,
                stacklevel=3,
            )
            continue
        x = res.x
        w = special.softmax(np.concatenate([[0.0], x[: k - 1]]))
        a, b = np.exp(x[k - 1 : 2 * k - 1]), np.exp(x[2 * k - 1 :])
        mix: Beta | BetaMixture = (
            Beta(float(a[0]), float(b[0]))
            if k == 1
            else BetaMixture(tuple(map(float, w)), tuple(map(float, a)), tuple(map(float, b)))
        )
        if best is None or res.fun < best[1] - 1e-6:
            best = (mix, float(res.fun))
        if res.fun < kl_tol:
            break
    if best is None:
        raise DesignError("the MAP prior could not be approximated by a beta mixture.")
    del mean
    return best


def _initial(p: np.ndarray, mass: np.ndarray, k: int) -> np.ndarray:
    """Start: components at the MAP quantiles, moment-matched widths, equal weights."""
    cdf = np.cumsum(mass)
    qs = (np.arange(k) + 0.5) / k
    centres = np.interp(qs, cdf, p)
    m = float((mass * p).sum())
    v = float((mass * p**2).sum()) - m**2
    n = max(m * (1 - m) / max(v / k**2, 1e-8) - 1, 2.0)
    a = np.clip(centres * n, 0.05, 1e5)
    b = np.clip((1 - centres) * n, 0.05, 1e5)
    return np.concatenate([np.zeros(k - 1), np.log(a), np.log(b)])
