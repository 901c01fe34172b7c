"""Borrowing models across cohorts: BHM, EXNEX, pooled, independent (value objects).

Model (Berry et al. 2013; Neuenschwander et al. 2016). For cohort j with r_j
responses among n_j patients and response rate p_j,

    θ_j = logit(p_j) − o_j,   o_j = logit(p0_j) ("logit-offset" scale) or 0 ("logit"),
    exchangeable (EX):      θ_j ~ N(μ, τ²),  μ ~ N(m_μ, s_μ²),
                            τ ~ half-normal / half-Cauchy / half-t, or τ fixed,
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
so τ → 0 degrades gracefully to a point mass. The computation lives in
:mod:`adaptive2.kernels.quadrature`; this module holds the values that describe
a model, its cohorts and the quadrature resolution.

Defaults: μ ~ N(0, 2²) on the offset scale (centred on the null rate, sd 2 on the
log-odds spans rates from about 0.02 to 0.98 around p0 = 0.4); τ ~ half-normal(1)
— on the log-odds scale a between-cohort sd of 1 is already large, and the
half-normal keeps most mass below about 2, which avoids the strong
shrinkage-to-pooling a half-Cauchy allows when only two cohorts inform τ.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import (
    check_choice,
    check_int,
    check_int_sequence,
    check_probability,
    check_real,
    fail,
)

__all__ = [
    "DEFAULT_GRID",
    "FINE_GRID",
    "MODEL_READS",
    "Cohort",
    "Historical",
    "Model",
    "QuadratureGrid",
]

KINDS = ("independent", "pooled", "hierarchical", "exnex")
SCALES = ("logit-offset", "logit")
TAU_PRIORS = ("half_normal", "half_cauchy", "half_t", "fixed")


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
            self, "tie_sd",
            check_real(self.tie_sd, "tie_sd", owner, low=0.0, low_open=True, finite=True),
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
    tau_prior : {"half_normal", "half_cauchy", "half_t", "fixed"}
        Prior of τ, of scale ``tau_scale``; ``fixed``: τ = ``tau_scale`` exactly (a
        point mass, for sensitivity analyses; given τ the cohorts are coupled through
        μ only, each θ_j ~ N(mu_mean, mu_sd² + τ²) a priori).
    tau_scale : float
        Scale of the τ prior, or the fixed value of τ (> 0; τ = 0 is
        ``kind="pooled"``).
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
        object.__setattr__(self, "mu_mean", check_real(self.mu_mean, "mu_mean", owner,
                                                         finite=True))
        for name in ("mu_sd", "tau_scale", "tau_df"):
            allowed = _FIXED_TAU if name == "tau_scale" and self.tau_prior == "fixed" else None
            object.__setattr__(
                self, name,
                check_real(getattr(self, name), name, owner, low=0.0, low_open=True, finite=True,
                           allowed=allowed),
            )
        object.__setattr__(self, "weight", _per_cohort(self.weight, "weight", owner, prob=True))
        object.__setattr__(self, "nex_mean", _per_cohort(self.nex_mean, "nex_mean", owner))
        object.__setattr__(self, "nex_sd", _per_cohort(self.nex_sd, "nex_sd", owner, pos=True))
        hist = tuple(self.historical)
        for h in hist:
            if not isinstance(h, Historical):
                raise fail("historical", owner, "Historical strata", h)
        object.__setattr__(self, "historical", hist)
        _check_settings_used(self)

    def value(self, attr: str, cohort: str) -> float:
        """A per-cohort parameter (``weight``, ``nex_mean``, ``nex_sd``) for ``cohort``."""
        v = getattr(self, attr)
        if isinstance(v, tuple):
            d: dict[str, float] = dict(v)
            if cohort in d:
                return d[cohort]
            return d.get("*", {"weight": 0.5, "nex_mean": 0.0, "nex_sd": 2.0}[attr])
        return float(v)

    def tau_logpdf(self, tau: np.ndarray) -> np.ndarray:
        """Log density of the τ prior (up to a constant) at ``tau`` > 0.

        A fixed τ has no density: 0 at τ = ``tau_scale``, −inf elsewhere (the log of
        the point mass's indicator).
        """
        s = self.tau_scale
        if self.tau_prior == "fixed":
            return np.where(np.asarray(tau) == s, 0.0, -np.inf)
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
                "half_normal": "~ half-normal",
                "half_cauchy": "~ half-Cauchy",
                "half_t": f"~ half-t({self.tau_df:g})",
                "fixed": "fixed at ",
            }[self.tau_prior]
            scale = f"{self.tau_scale:g}" if self.tau_prior == "fixed" else f"({self.tau_scale:g})"
            txt = (
                f"{'EXNEX' if self.kind == 'exnex' else 'BHM'} on {self.scale}: "
                f"theta_j ~ N(mu, tau^2), mu ~ N({self.mu_mean:g}, {self.mu_sd:g}^2), "
                f"tau {tau}{scale}"
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
            return check_real(v, name, owner, low=0.0, low_open=True, finite=True)
        return check_real(v, name, owner, finite=True)

    if isinstance(value, Mapping):
        return tuple(sorted((str(k), one(v)) for k, v in value.items()))
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return tuple(sorted((str(k), one(v)) for k, v in value))
    return one(value)


_FIXED_TAU = (
    "a finite number > 0 with tau_prior 'fixed' (the value of tau; tau = 0 is "
    "kind='pooled')"
)

# the settings each kind of model reads; any other setting away from its default is ignored
MODEL_READS = {
    "independent": {"nex_mean", "nex_sd"},
    "pooled": {"mu_mean", "mu_sd"},
    "hierarchical": {"mu_mean", "mu_sd", "tau_prior", "tau_scale", "tau_df"},
    "exnex": {"mu_mean", "mu_sd", "tau_prior", "tau_scale", "tau_df", "weight", "nex_mean",
              "nex_sd"},
}
_WHY = {
    "independent": "analyses each cohort alone with its NEX prior (no mu, tau or weight)",
    "pooled": "shares one theta across cohorts (tau = 0; no weight or NEX prior)",
    "hierarchical": "makes every cohort exchangeable (no EXNEX weight or NEX prior)",
}


def _check_settings_used(model: Model) -> None:
    """A setting the chosen kind of model ignores is an error, not a silent no-op."""
    defaults = {f.name: f.default for f in fields(Model)}
    reads = set(MODEL_READS[model.kind])
    if model.tau_prior != "half_t":
        reads.discard("tau_df")
    for name in ("mu_mean", "mu_sd", "tau_prior", "tau_scale", "tau_df", "weight", "nex_mean",
                 "nex_sd"):
        if name in reads or getattr(model, name) == defaults[name]:
            continue
        why = (_WHY[model.kind] if name != "tau_df" or model.kind not in ("hierarchical", "exnex")
               else f"{_tau_words(model)} (tau_df is for half_t)")
        raise DesignError(
            f"`{name}` of Model is set ({getattr(model, name)!r}) but the {model.kind} model "
            f"{why}, so it would be ignored; remove it, or choose a model that uses it."
        )


def _tau_words(model: Model) -> str:
    """How ``model`` treats τ, for messages: "uses a half_normal prior on tau", ..."""
    if model.tau_prior == "fixed":
        return f"fixes tau at {model.tau_scale:g}"
    return f"uses a {model.tau_prior} prior on tau"


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
        Points of the μ grid (uniform over ±5 prior sd, weights ∝ prior density:
        uniform grids integrate smooth posteriors to spectral accuracy, also where
        the data pull μ into the prior's tails). The uniform cells stop at
        ±(theta_max − 1); a vaguer μ prior continues in cells 20% wider each, out to
        ±5 prior sd.
    n_tau : int
        Points of the τ grid (0 and a log-uniform grid from 1e-4 × scale far into
        the prior's upper tail, trapezoid weights in log τ), which resolves τ near 0.
    adapt : bool
        Refine the grid where the model's prior needs it (default): more τ nodes
        for half-normal scales below 1 and for half-t and half-Cauchy priors, and a
        wider θ range at the same θ step (and μ step) for vague priors, whose θ
        prior spreads beyond 6 on the log-odds scale (NEX sd, μ sd, or the τ prior's
        99% quantile); see :func:`adaptive2.kernels.quadrature.refined_grid`. Priors
        like the shipped designs' (τ ~ half-normal of scale ≥ 1, μ sd 2, NEX sd 2)
        use the grid as given. ``False`` uses the grid exactly as given (for accuracy
        studies; a :class:`~adaptive2._base.errors.PrecisionWarning` then names each
        refinement skipped and the error it may cost).

    Notes
    -----
    With the refinement the default grid keeps P(p_j > p0_j) and posterior means
    within 1e-4 (measured 6e-5 at most) of a much finer grid over the priors that
    ``python benchmarks/accuracy_hierarchical.py`` runs, on 40 + 40 and 100 + 100
    patients: half-normal τ scales 0.25 to 30, half-t(3) up to 30, half-Cauchy up to
    10, half-t with 2 degrees of freedom, μ sd up to 1000, NEX sd up to 10,000, EXNEX
    weights, pooled and independent models and tied or exchangeable strata. Beyond
    that range, and for cohorts of more than 100 patients, a
    :class:`~adaptive2._base.errors.PrecisionWarning` says by how much answers may be
    off; τ scales below 0.25 raise a :class:`~adaptive2._base.errors.ConvergenceWarning`.
    """

    n_theta: int = 481
    theta_max: float = 12.0
    n_mu: int = 401
    n_tau: int = 40
    adapt: bool = True

    def __post_init__(self) -> None:
        for name, low in (("n_theta", 21), ("n_mu", 11), ("n_tau", 5)):
            object.__setattr__(
                self, name, check_int(getattr(self, name), name, "QuadratureGrid", low=low)
            )
        if self.n_theta % 4 != 1:
            raise fail(
                "n_theta",
                "QuadratureGrid",
                "an integer of the form 4k + 1 (so that 0 and the coarse grid of every "
                "other node are on it)",
                self.n_theta,
            )
        object.__setattr__(
            self,
            "theta_max",
            check_real(self.theta_max, "theta_max", "QuadratureGrid", low=2.0),
        )
        if not isinstance(self.adapt, bool):
            raise fail("adapt", "QuadratureGrid", "True or False", self.adapt)

DEFAULT_GRID = QuadratureGrid()
FINE_GRID = QuadratureGrid(n_theta=1201, theta_max=14.0, n_mu=801, n_tau=100, adapt=False)
"""A reference grid, used exactly as given (``adapt=False``): 2.5x finer than the default in θ,
2x in μ and τ."""
