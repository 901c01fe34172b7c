"""NUTS fits (PyMC) of the borrowing models of :mod:`adaptive2.model.hierarchical`.

The quadrature engine in :mod:`adaptive2.model.hierarchical` is the workhorse: it gives
posteriors for every outcome at once. This module fits the *same* models by
Markov chain Monte Carlo, to cross-check the engine and to give a familiar
ArviZ ``InferenceData`` (with diagnostics) for an interim or final analysis.

Model (identical to :mod:`adaptive2.model.hierarchical`; see its docstring). For cohort
j with offset o_j = logit(p0_j) on the "logit-offset" scale (0 on "logit"),

    logit p_j = θ_j + o_j,        r_j ~ Binomial(n_j, p_j),
    hierarchical:  θ_j = μ + τ z_j,  z_j ~ N(0, 1)          (non-centred),
    pooled:        θ_j = μ,
    independent:   θ_j = m_j + s_j z_j                       (the NEX prior),
    exnex:         θ_j is θ_j^EX = μ + τ z_j with probability w_j, else
                   θ_j^NEX = m_j + s_j u_j,

with μ ~ N(mu_mean, mu_sd²) and τ ~ half-normal / half-Cauchy / half-t(ν) of
scale ``tau_scale``. EXNEX keeps both latent values and marginalises the
indicator in the likelihood (Neuenschwander et al. 2016): the cohort's log
likelihood is ``logaddexp(log w + ℓ(θ^EX), log(1 − w) + ℓ(θ^NEX))`` added as a
``pm.Potential``, so no discrete parameter is sampled. Posterior summaries of
p_j then use the conditional EX probability π_j of each draw (Rao–Blackwell):
E f(p_j) = E[π_j f(p_j^EX) + (1 − π_j) f(p_j^NEX)].

Historical strata add binomial log likelihoods raised to their power-prior
weight a0 (``pm.Potential``): an exchangeable stratum has θ_h = μ + τ z_h
(θ_h = μ when pooled) and offset logit of its own p0 or else the first cohort's;
a stratum tied to cohort j has θ_h = θ_j + σ_h u_h, u_h ~ N(0, 1), and the tied
cohort's offset unless it has its own p0 (under EXNEX each branch carries its
own copy, so the tie follows the cohort into either branch).

Seeding: chain k is seeded with ``SeedSequence(entropy, spawn_key=(..., k))`` of
the root ``SeedSequence(seed)`` and run by its own ``pm.sample(chains=1)`` call,
so a chain's draws depend only on ``seed`` and ``k`` — never on the number of
chains or on how PyMC splits seeds between chains.

PyMC and ArviZ are imported inside the functions only (``pip install
adaptive2[bayes]``), so ``import adaptive2.engines.pymc_fit`` stays cheap.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from scipy import special

from adaptive2._base.errors import Adaptive2Error, ConvergenceWarning, DesignError
from adaptive2._base.rng import seed_sequence
from adaptive2._base.validation import check_int, check_probability, fail
from adaptive2._base.version import __version__
from adaptive2.model.hierarchical import Cohort, Model

if TYPE_CHECKING:  # pragma: no cover
    import arviz

__all__ = ["ESS_MIN", "RHAT_MAX", "diagnostics", "fit", "summary"]

#: Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
RHAT_MAX = 1.01
#: Smallest acceptable bulk effective sample size.
ESS_MIN = 400.0


# ---------------------------------------------------------------------------
# Lazy imports
# ---------------------------------------------------------------------------
def _require() -> tuple[Any, Any]:
    """Import PyMC and ArviZ, or raise an error that says how to install them."""
    try:
        with warnings.catch_warnings():
            # ArviZ announces its coming refactor on import; not the user's concern here
            warnings.filterwarnings(
                "ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning
            )
            import arviz
            import pymc
    except ImportError as exc:
        raise Adaptive2Error(
            "NUTS fits need PyMC and ArviZ, which are not installed "
            f"({exc}); install them with `pip install adaptive2[bayes]`."
        ) from exc
    return pymc, arviz


@contextlib.contextmanager
def _quiet_pymc() -> Iterator[None]:
    """Silence PyMC's INFO chatter for one fit, restoring the logger afterwards."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------
def _data_iv(
    cohorts: Sequence[Cohort], data: Mapping[str, tuple[int, int]], owner: str
) -> list[tuple[int, int]]:
    names = [c.name for c in cohorts]
    if not isinstance(data, Mapping):
        raise fail("data", owner, "a mapping cohort -> (r, n)", data)
    for k in data:
        if k not in names:
            raise fail("data", owner, f"keyed by cohort names in {{{', '.join(names)}}}", k)
    rn = []
    for c in cohorts:
        value = data.get(c.name, (0, 0))
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
            raise fail(f"data[{c.name!r}]", owner, "a pair (r, n)", value)
        n = check_int(value[1], f"n ({c.name})", owner, low=0)
        r = check_int(value[0], f"r ({c.name})", owner, low=0, high=n)
        rn.append((r, n))
    return rn


def _fit_iv(
    model: Any,
    cohorts: Any,
    data: Any,
    draws: Any,
    tune: Any,
    chains: Any,
    target_accept: Any,
) -> tuple[tuple[Cohort, ...], list[tuple[int, int]], int, int, int, float]:
    owner = "fit"
    if not isinstance(model, Model):
        raise fail("model", owner, "an adaptive2.model.hierarchical.Model", model)
    if isinstance(cohorts, Cohort | str) or not isinstance(cohorts, Sequence) or not cohorts:
        raise fail("cohorts", owner, "a non-empty sequence of Cohort", cohorts)
    coh = tuple(cohorts)
    for c in coh:
        if not isinstance(c, Cohort):
            raise fail("cohorts", owner, "a non-empty sequence of Cohort", c)
    names = [c.name for c in coh]
    if len(set(names)) != len(names):
        raise fail("cohorts", owner, "cohorts with distinct names", names)
    strata = [h.name for h in model.historical]
    if len(set(strata)) != len(strata):
        raise fail("historical", "Model", "strata with distinct names", strata)
    for h in model.historical:
        if h.tie is not None and h.tie not in names:
            raise DesignError(
                f"`tie` of historical stratum {h.name!r} must be one of the cohorts "
                f"{{{', '.join(names)}}}; got {h.tie!r}."
            )
        if h.tie is None and model.kind == "independent":
            raise DesignError(
                f"historical stratum {h.name!r} must be tied to a cohort (`tie`) when "
                f"the model is 'independent'."
            )
    rn = _data_iv(coh, data, owner)
    draws = check_int(draws, "draws", owner, low=10)
    tune = check_int(tune, "tune", owner, low=0)
    chains = check_int(chains, "chains", owner, low=1)
    target_accept = check_probability(target_accept, "target_accept", owner)
    return coh, rn, draws, tune, chains, target_accept


# ---------------------------------------------------------------------------
# The PyMC model
# ---------------------------------------------------------------------------
def _offset(model: Model, p0: float) -> float:
    return float(special.logit(p0)) if model.scale == "logit-offset" else 0.0


def _build(model: Model, cohorts: tuple[Cohort, ...], rn: list[tuple[int, int]]) -> Any:
    """The PyMC model for ``model`` with data ``rn`` (one (r, n) per cohort)."""
    pm, _ = _require()
    import pytensor.tensor as pt

    def loglik(eta: Any, r: float | np.ndarray, n: float | np.ndarray) -> Any:
        # binomial log likelihood without the constant log C(n, r)
        return -(r * pm.math.log1pexp(-eta) + (n - r) * pm.math.log1pexp(eta))

    names = [c.name for c in cohorts]
    off = np.array([_offset(model, c.p0) for c in cohorts])
    r = np.array([x[0] for x in rn], dtype=float)
    n = np.array([x[1] for x in rn], dtype=float)
    nex_m = np.array([model.value("nex_mean", c) for c in names])
    nex_s = np.array([model.value("nex_sd", c) for c in names])
    exch = [h for h in model.historical if h.tie is None]
    tied = [h for h in model.historical if h.tie is not None]
    kind = model.kind
    coords: dict[str, list[str]] = {"cohort": names}
    if exch:
        coords["stratum"] = [h.name for h in exch]

    with pm.Model(coords=coords) as pmodel:
        mu = tau = None
        if kind in ("hierarchical", "exnex", "pooled"):
            mu = pm.Normal("mu", mu=model.mu_mean, sigma=model.mu_sd)
        if kind in ("hierarchical", "exnex"):
            s = model.tau_scale
            if model.tau_prior == "fixed":
                tau = pm.Data("tau", s)
            elif model.tau_prior == "half_normal":
                tau = pm.HalfNormal("tau", sigma=s)
            elif model.tau_prior == "half_cauchy":
                tau = pm.HalfCauchy("tau", beta=s)
            else:
                tau = pm.HalfStudentT("tau", nu=model.tau_df, sigma=s)

        def ex_theta(name: str, dims: str) -> Any:
            if kind == "pooled":
                return mu + pt.zeros(len(coords[dims]))
            z = pm.Normal(name, 0.0, 1.0, dims=dims)
            return mu + tau * z

        # cohort effects: one branch, or the EX and NEX branches of EXNEX
        branches: list[tuple[str, Any]] = []
        if kind == "independent":
            z = pm.Normal("z_nex", 0.0, 1.0, dims="cohort")
            branches.append(("", pm.Deterministic("theta", nex_m + nex_s * z, dims="cohort")))
        elif kind == "exnex":
            t_ex = pm.Deterministic("theta_ex", ex_theta("z", "cohort"), dims="cohort")
            z = pm.Normal("z_nex", 0.0, 1.0, dims="cohort")
            t_nex = pm.Deterministic("theta_nex", nex_m + nex_s * z, dims="cohort")
            branches += [("_ex", t_ex), ("_nex", t_nex)]
        else:
            branches.append(("", pm.Deterministic("theta", ex_theta("z", "cohort"), dims="cohort")))

        # per-cohort log likelihood of each branch: own data plus tied strata
        branch_ll = []
        for suffix, theta in branches:
            ll = loglik(theta + off, r, n)
            for h in tied:
                j = names.index(cast(str, h.tie))  # tied strata only
                o = off[j] if h.p0 is None else _offset(model, h.p0)
                u = pm.Normal(f"u_{h.name}{suffix}", 0.0, 1.0)
                term = h.weight * loglik(theta[j] + h.tie_sd * u + o, h.r, h.n)
                ll = pt.set_subtensor(ll[j], ll[j] + term)
            branch_ll.append(ll)

        if kind == "exnex":
            w = np.array([model.value("weight", c) for c in names])
            with np.errstate(divide="ignore"):
                log_w, log_1w = np.log(w), np.log1p(-w)
            a = branch_ll[0] + log_w
            b = branch_ll[1] + log_1w
            total = pt.logaddexp(a, b)
            pm.Potential("exnex", total.sum())
            pm.Deterministic("w_ex", pt.exp(a - total), dims="cohort")
            pm.Deterministic("p_ex", pm.math.invlogit(branches[0][1] + off), dims="cohort")
            pm.Deterministic("p_nex", pm.math.invlogit(branches[1][1] + off), dims="cohort")
        else:
            pm.Potential("likelihood", branch_ll[0].sum())
            pm.Deterministic("p", pm.math.invlogit(branches[0][1] + off), dims="cohort")

        if exch:
            theta_h = ex_theta("z_hist", "stratum")
            o_h = np.array(
                [_offset(model, h.p0 if h.p0 is not None else cohorts[0].p0) for h in exch]
            )
            r_h = np.array([h.r for h in exch], dtype=float)
            n_h = np.array([h.n for h in exch], dtype=float)
            a0 = np.array([h.weight for h in exch])
            pm.Potential("historical", (a0 * loglik(theta_h + o_h, r_h, n_h)).sum())
    return pmodel


# ---------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------
def fit(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    *,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | np.random.SeedSequence | None,
    target_accept: float = 0.95,
) -> arviz.InferenceData:
    """Fit a borrowing model by NUTS (PyMC).

    Parameters
    ----------
    model : Model
        The borrowing model, exactly as for :func:`adaptive2.engines.posterior.posterior`.
    cohorts : sequence of Cohort
    data : mapping
        Cohort name → (r, n); cohorts without data may be omitted (n = 0).
    draws, tune, chains : int
        Kept draws and tuning steps per chain, and the number of chains.
    seed : int, numpy.random.SeedSequence or None
        Root of the per-chain seeds (keyword, required). ``None`` draws fresh
        entropy, which is recorded in ``posterior.attrs["seed_entropy"]``.
    target_accept : float
        NUTS target acceptance rate (0.95: small steps, few divergences near τ = 0).

    Returns
    -------
    arviz.InferenceData
        Groups ``posterior`` (``mu``, ``tau``, ``z``, ``theta`` and ``p`` — or, for
        EXNEX, ``theta_ex``, ``theta_nex``, ``p_ex``, ``p_nex`` and ``w_ex``, the
        conditional probability that the cohort is exchangeable — over dims
        ``chain``, ``draw``, ``cohort``), ``sample_stats`` and ``constant_data``
        (``r``, ``n``, ``p0``). Provenance is in ``posterior.attrs``.

    Raises
    ------
    Adaptive2Error
        If PyMC or ArviZ is not installed (``pip install adaptive2[bayes]``).
    DesignError
        If an argument is invalid; the message names it.

    Notes
    -----
    Chain k uses ``SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k))``
    and its own single-chain ``pm.sample`` call, so its draws depend only on
    ``seed`` and ``k``. Chains run one after the other in this process.
    """
    coh, rn, draws, tune, chains, target_accept = _fit_iv(
        model, cohorts, data, draws, tune, chains, target_accept
    )
    root = seed_sequence(seed)
    pm, az = _require()
    import xarray as xr

    chain_seeds = [
        int(
            np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k)).generate_state(
                1, np.uint32
            )[0]
            % 2**30
        )
        for k in range(chains)
    ]
    pmodel = _build(model, coh, rn)
    runs = []
    t0 = time.perf_counter()
    with _quiet_pymc(), pmodel:
        for s in chain_seeds:
            runs.append(
                pm.sample(
                    draws=draws,
                    tune=tune,
                    chains=1,
                    cores=1,
                    random_seed=s,
                    target_accept=target_accept,
                    progressbar=False,
                    compute_convergence_checks=False,
                    return_inferencedata=True,
                )
            )
    elapsed = time.perf_counter() - t0
    chain = np.arange(chains)
    posterior = xr.concat([i.posterior for i in runs], dim="chain").assign_coords(chain=chain)
    stats = xr.concat([i.sample_stats for i in runs], dim="chain").assign_coords(chain=chain)
    names = [c.name for c in coh]
    constant = xr.Dataset(
        {
            "r": ("cohort", np.array([x[0] for x in rn])),
            "n": ("cohort", np.array([x[1] for x in rn])),
            "p0": ("cohort", np.array([c.p0 for c in coh])),
        },
        coords={"cohort": names},
    )
    posterior.attrs.update(
        {
            "adaptive2_version": __version__,
            "method": "nuts",
            "model": model.describe(),
            "kind": model.kind,
            "seed_entropy": str(root.entropy),
            "seed_spawn_key": str(tuple(root.spawn_key)),
            "chain_seeds": chain_seeds,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "target_accept": target_accept,
            "sampling_time": elapsed,
            "pymc_version": pm.__version__,
            "arviz_version": az.__version__,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
        }
    )
    idata = az.InferenceData(posterior=posterior, sample_stats=stats, constant_data=constant)
    return cast("arviz.InferenceData", idata)


# ---------------------------------------------------------------------------
# Summaries and diagnostics
# ---------------------------------------------------------------------------
def _branches(idata: Any) -> tuple[Any, Any, Any]:
    """(p of the EX branch, p of the NEX branch, conditional P(EX)) as DataArrays."""
    post = idata.posterior
    if "w_ex" in post:
        return post["p_ex"], post["p_nex"], post["w_ex"]
    return post["p"], post["p"], None


def _per_draw(idata: Any, p0: Mapping[str, float]) -> Any:
    """Per-draw Rao–Blackwellised p_j (``p``) and 1{p_j > p0_j} (``above``)."""
    import xarray as xr

    pe, pn, w = _branches(idata)
    thr = xr.DataArray([p0[c] for c in pe["cohort"].values], dims="cohort",
                       coords={"cohort": pe["cohort"]})
    if w is None:
        return xr.Dataset({"p": pe, "above": (pe > thr).astype(float)})
    return xr.Dataset(
        {
            "p": w * pe + (1 - w) * pn,
            "above": w * (pe > thr) + (1 - w) * (pn > thr),
        }
    )


def diagnostics(
    idata: arviz.InferenceData, cohorts: Sequence[Cohort] | None = None
) -> dict[str, Any]:
    """Convergence diagnostics of a :func:`fit`.

    Parameters
    ----------
    idata : arviz.InferenceData
        The result of :func:`fit`.
    cohorts : sequence of Cohort, optional
        With them, the derived quantities ``p[cohort]`` (Rao–Blackwellised for
        EXNEX) and ``p_above_p0[cohort]`` are checked as well.

    Returns
    -------
    dict
        ``{"rhat": {quantity: value}, "ess_bulk": {quantity: value},
        "divergences": int, "problems": [str, ...]}``. Quantities are named
        ``variable`` or ``variable[coordinate]``; ``problems`` lists every check
        that failed (R-hat > ``RHAT_MAX``, bulk ESS < ``ESS_MIN``, divergences).
        Constant quantities (e.g. P(p > p0) = 1 in every draw) have no R-hat and
        are skipped; so is the indicator ``p_above_p0`` when its posterior mean is
        outside [0.01, 0.99], where its ESS estimate is noise.
    """
    _, az = _require()
    post = idata.posterior
    keep = [v for v in ("mu", "tau", "z", "z_nex", "z_hist", "theta", "theta_ex", "theta_nex")
            if v in post]
    keep += [v for v in post.data_vars if str(v).startswith("u_")]
    ds = post[keep]
    if cohorts is not None:
        p0 = {c.name: c.p0 for c in cohorts}
        derived = _per_draw(idata, p0)
        ds = ds.assign(p=derived["p"])
        frac = derived["above"].mean(("chain", "draw"))
        ok = [c for c in derived["cohort"].values if 0.01 <= float(frac.sel(cohort=c)) <= 0.99]
        if ok:
            ds = ds.assign(p_above_p0=derived["above"].sel(cohort=ok).rename(cohort="cohort_"))
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(ds)
        ess = az.ess(ds, method="bulk")
    out: dict[str, Any] = {"rhat": {}, "ess_bulk": {}, "problems": []}
    for name in ds.data_vars:
        for label, value in _flatten(rhat[name]):
            out["rhat"][f"{name}{label}"] = value
        for label, value in _flatten(ess[name]):
            out["ess_bulk"][f"{name}{label}"] = value
    # the groups of an InferenceData are set at run time: absent from arviz's annotations
    div = (
        int(idata.sample_stats["diverging"].sum())
        if "diverging" in idata.sample_stats
        else 0
    )
    out["divergences"] = div
    for q, v in out["rhat"].items():
        if np.isfinite(v) and v > RHAT_MAX:
            out["problems"].append(f"R-hat of `{q}` is {v:.3f} (> {RHAT_MAX})")
    for q, v in out["ess_bulk"].items():
        if np.isfinite(v) and v < ESS_MIN:
            out["problems"].append(f"bulk ESS of `{q}` is {v:.0f} (< {ESS_MIN:g})")
    if div:
        n_draws = (
            idata.sample_stats.sizes["chain"]
            * idata.sample_stats.sizes["draw"]
        )
        out["problems"].append(f"{div} of {n_draws} NUTS transitions diverged")
    return out


def _flatten(da: Any) -> list[tuple[str, float]]:
    if da.ndim == 0:
        return [("", float(da))]
    dim = da.dims[0]
    return [(f"[{c}]", float(da.sel({dim: c}))) for c in da[dim].values] if da.ndim == 1 else [
        (str(idx), float(v)) for idx, v in np.ndenumerate(da.values)
    ]


def summary(
    idata: arviz.InferenceData,
    cohorts: Sequence[Cohort],
    *,
    level: float = 0.95,
    check: bool = True,
) -> dict[str, dict[str, Any]]:
    """Posterior summaries of each cohort's response rate from a :func:`fit`.

    Parameters
    ----------
    idata : arviz.InferenceData
        The result of :func:`fit`.
    cohorts : sequence of Cohort
        The cohorts of the fit (their ``p0`` define ``p_above_p0``).
    level : float
        Probability of the central credible interval.
    check : bool
        Warn (one :class:`~adaptive2._base.errors.ConvergenceWarning` naming every
        failing quantity) when an R-hat exceeds 1.01, a bulk ESS is below 400 or
        any transition diverged; see :func:`diagnostics`.

    Returns
    -------
    dict
        Cohort → ``{"mean", "sd", "median", "interval": [lo, hi], "p_above_p0",
        "r", "n", "mcse_mean", "mcse_p_above_p0"}`` — the keys of
        :func:`adaptive2.engines.posterior.posterior` plus Monte Carlo standard errors
        (ArviZ ``mcse``, method "mean") of the two posterior means. The MCSE of
        ``p_above_p0`` is never below the independent-draws value
        sqrt(p̃(1 − p̃)/N) with p̃ = (Σ + 1/2)/(N + 1) over the N draws, so a
        probability seen as 0 or 1 in every draw does not claim a zero error.

    Notes
    -----
    For EXNEX each draw contributes p^EX with weight π and p^NEX with weight
    1 − π (π = conditional probability of exchangeability), so means and tail
    probabilities are Rao–Blackwellised and quantiles are weighted quantiles.
    """
    _, az = _require()
    coh = tuple(cohorts)
    level = check_probability(level, "level", "summary")
    post = idata.posterior
    names = [str(c) for c in post["cohort"].values]
    if sorted(names) != sorted(c.name for c in coh):
        raise fail("cohorts", "summary", f"the cohorts of the fit {{{', '.join(names)}}}",
                   [c.name for c in coh])
    p0 = {c.name: c.p0 for c in coh}
    derived = _per_draw(idata, p0)
    pe, pn, w = _branches(idata)
    const = idata.constant_data
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mcse = az.mcse(derived, method="mean")
    out: dict[str, dict[str, Any]] = {}
    for c in coh:
        sel = {"cohort": c.name}
        a = pe.sel(sel).values.ravel()
        b = pn.sel(sel).values.ravel()
        wt = np.ones_like(a) if w is None else w.sel(sel).values.ravel()
        values = np.concatenate([a, b])
        weights = np.concatenate([wt, 1 - wt])
        mean = float(np.sum(weights * values) / a.size)
        second = float(np.sum(weights * values**2) / a.size)
        lo, med, hi = _weighted_quantiles(values, weights, [(1 - level) / 2, 0.5, (1 + level) / 2])
        m_mean = float(mcse["p"].sel(sel))
        above = derived["above"].sel(sel).values
        m_above = max(float(mcse["above"].sel(sel)), _mcse_floor(above))
        out[c.name] = {
            "r": int(const["r"].sel(sel)),
            "n": int(const["n"].sel(sel)),
            "mean": mean,
            "sd": float(np.sqrt(max(second - mean**2, 0.0))),
            "median": med,
            "interval": [lo, hi],
            "p_above_p0": float(above.mean()),
            "mcse_mean": m_mean if np.isfinite(m_mean) else 0.0,
            "mcse_p_above_p0": m_above if np.isfinite(m_above) else 0.0,
        }
    if check:
        problems = diagnostics(idata, coh)["problems"]
        if problems:
            warnings.warn(
                "NUTS fit failed its convergence checks: " + "; ".join(problems)
                + ". Run longer chains (`draws`, `tune`) or raise `target_accept`.",
                ConvergenceWarning,
                stacklevel=2,
            )
    return out


def _mcse_floor(indicator: np.ndarray) -> float:
    """sqrt(p̃(1 − p̃)/N), p̃ = (Σ + 1/2)/(N + 1): the resolution of N draws of a probability."""
    n = indicator.size
    p = (float(indicator.sum()) + 0.5) / (n + 1)
    return float(np.sqrt(p * (1 - p) / n))


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, probs: list[float]) -> list[float]:
    """Quantiles of the discrete distribution putting ``weights`` on ``values``.

    With equal weights this is numpy's "inverted_cdf"-free midpoint rule: the
    CDF is interpolated linearly between the mid-points of the sorted values.
    """
    keep = weights > 0
    v, wt = values[keep], weights[keep]
    order = np.argsort(v, kind="stable")
    v, wt = v[order], wt[order]
    cdf = (np.cumsum(wt) - wt / 2) / wt.sum()
    return [float(np.interp(p, cdf, v)) for p in probs]
