"""Operating characteristics (OC) of single-cohort designs: exact, or by Monte Carlo.

The exact engine is a forward dynamic programme over (look, responses): the
distribution of the response count among trials still running is carried from
look to look by convolution with the binomial distribution of the new
patients' responses, and the mass beyond the integer boundaries is taken off
as stopped. It is vectorised over many true response rates at once.

Result schema (:class:`xarray.Dataset`)
---------------------------------------
dims
    ``scenario``, ``look``, ``reason`` (and ``design`` when several designs
    are given).
coords
    ``scenario`` (name), ``p`` and ``role`` along ``scenario``; ``look`` (1-based);
    ``reason`` in {``futility``, ``efficacy``, ``consider``}.
variables
    ``p_efficacy``, ``p_futility`` (early futility stop), ``p_early_stop``,
    ``p_final_fail`` (reached the final look without success), ``expected_n``,
    ``sd_n``, ``p_n`` (P(N = n at look), the distribution of N), ``p_stop_at``
    (look × reason: at interim looks the early stops, at the final look the
    final decision), ``p_go``, ``p_consider``, ``p_nogo`` and ``look_n``. Every
    variable has an ``<name>_mcse`` twin (0 for the exact method).
attrs
    ``method`` (``"exact"`` / ``"monte_carlo"``), ``n_sims``, ``seed_entropy``,
    ``chunk_size``, ``design_name``, ``design_hash``, versions, ``created_at``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import special

import adaptive2.views.accessor  # noqa: F401  (registers ds.a2.plot() / ds.a2.table() on results)
from adaptive2._base.errors import DesignError
from adaptive2._base.provenance import provenance
from adaptive2._base.rng import seed_sequence, stream
from adaptive2._base.validation import check_choice, check_int, fail
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import Scenario, as_scenarios

__all__ = ["OC_VARIABLES", "exact_oc_arrays", "oc"]

OC_VARIABLES = (
    "p_efficacy",
    "p_futility",
    "p_early_stop",
    "p_final_fail",
    "p_go",
    "p_consider",
    "p_nogo",
    "expected_n",
    "sd_n",
    "p_n",
    "p_stop_at",
)
REASONS = ("futility", "efficacy", "consider")
DEFAULT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 21), 10))
CHUNK_SIZE = 10_000


def exact_oc_arrays(looks: Sequence[int], a: Sequence[int], b: Sequence[int], p: Any) -> np.ndarray:
    """Exact stop probabilities per look and reason by forward dynamic programming.

    Parameters
    ----------
    looks : sequence of int
        Cumulative patients at each look.
    a : sequence of int
        Per look, the largest r that stops for futility (−1: none). At the final
        look, the largest r that fails (No-Go).
    b : sequence of int
        Per look, the smallest r that stops for efficacy (n + 1: none). At the
        final look, the smallest r that succeeds (Go).
    p : array-like of float
        True response rates.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(p), len(looks), 3)``: probabilities of stopping at each
        look for futility, for efficacy, and of "consider" (final look only).
    """
    pp = np.atleast_1d(np.asarray(p, dtype=float))
    n_looks = len(looks)
    out = np.zeros((pp.size, n_looks, 3))
    state = np.ones((pp.size, 1))  # P(r = 0 of 0 patients, running) = 1
    prev = 0
    for k in range(n_looks):
        n = int(looks[k])
        m = n - prev
        pmf = _binom_pmf(m, pp)
        new = np.zeros((pp.size, n + 1))
        width = prev + 1
        for j in range(m + 1):
            new[:, j : j + width] += state * pmf[:, j : j + 1]
        ak, bk = int(a[k]), int(b[k])
        out[:, k, 0] = new[:, : ak + 1].sum(axis=1) if ak >= 0 else 0.0
        out[:, k, 1] = new[:, bk:].sum(axis=1) if bk <= n else 0.0
        if k == n_looks - 1:
            lo, hi = max(ak + 1, 0), min(bk, n + 1)
            out[:, k, 2] = new[:, lo:hi].sum(axis=1) if hi > lo else 0.0
        else:
            if ak >= 0:
                new[:, : ak + 1] = 0.0
            if bk <= n:
                new[:, bk:] = 0.0
        state = new
        prev = n
    return out


def _binom_pmf(m: int, p: np.ndarray) -> np.ndarray:
    """Binomial(m, p) pmf for k = 0..m, rows over ``p`` (exact at p = 0 and 1)."""
    k = np.arange(m + 1, dtype=float)[None, :]
    pc = p[:, None]
    logc = special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1)
    with np.errstate(divide="ignore"):
        logp = logc + special.xlogy(k, pc) + special.xlog1py(m - k, -pc)
    return np.exp(logp)


def _simulate_stops(
    looks: Sequence[int],
    a: Sequence[int],
    b: Sequence[int],
    p: float,
    n_sims: int,
    root: np.random.SeedSequence,
    key: int,
    chunk_size: int,
) -> np.ndarray:
    """Monte Carlo counts of (look, reason) outcomes; patient-level uniforms per chunk."""
    n_looks = len(looks)
    counts = np.zeros((n_looks, 3), dtype=np.int64)
    idx = np.asarray(looks, dtype=int) - 1
    aa, bb = np.asarray(a), np.asarray(b)
    n_chunks = -(-n_sims // chunk_size)
    for c in range(n_chunks):
        size = min(chunk_size, n_sims - c * chunk_size)
        rng = stream(root, key, c)
        u = rng.random((chunk_size, looks[-1]))[:size]
        r = np.cumsum(u < p, axis=1)[:, idx]  # responses at each look
        alive = np.ones(size, dtype=bool)
        for k in range(n_looks):
            fut = alive & (r[:, k] <= aa[k])
            eff = alive & (r[:, k] >= bb[k])
            counts[k, 0] += fut.sum()
            counts[k, 1] += eff.sum()
            alive &= ~(fut | eff)
            if k == n_looks - 1:
                counts[k, 2] += alive.sum()
    return counts


def _summaries(stop: np.ndarray, looks: np.ndarray) -> dict[str, np.ndarray]:
    """OC variables from stop probabilities of shape (..., look, reason)."""
    p_n = stop.sum(axis=-1)
    en = (p_n * looks).sum(axis=-1)
    var = np.maximum((p_n * looks**2).sum(axis=-1) - en**2, 0.0)
    final = stop[..., -1, :]
    return {
        "p_efficacy": stop[..., 1].sum(axis=-1),
        "p_futility": stop[..., :-1, 0].sum(axis=-1),
        "p_early_stop": p_n[..., :-1].sum(axis=-1),
        "p_final_fail": final[..., 0] + final[..., 2],
        "p_go": stop[..., 1].sum(axis=-1),
        "p_consider": final[..., 2],
        "p_nogo": stop[..., 0].sum(axis=-1),
        "expected_n": en,
        "sd_n": np.sqrt(var),
        "p_n": p_n,
        "p_stop_at": stop,
    }


def _mcse(values: dict[str, np.ndarray], looks: np.ndarray, n_sims: int) -> dict[str, np.ndarray]:
    out = {}
    for name, v in values.items():
        if name in ("expected_n", "sd_n"):
            continue
        out[name] = np.sqrt(np.clip(v * (1 - v), 0, None) / n_sims)
    p_n = values["p_n"]
    en = values["expected_n"]
    sd = values["sd_n"]
    out["expected_n"] = sd / np.sqrt(n_sims)
    dev = looks - en[..., None]
    m4 = (p_n * dev**4).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_sd = np.sqrt(np.maximum(m4 - sd**4, 0.0) / (4 * sd**2 * n_sims))
    out["sd_n"] = np.where(sd > 0, se_sd, 0.0)
    return out


def _oc_one(
    design: Design,
    scen: tuple[Scenario, ...],
    method: str,
    n_sims: int,
    seed: int | np.random.SeedSequence | None,
    chunk_size: int,
) -> xr.Dataset:
    t0 = time.perf_counter()
    bnd = design.boundaries()
    n, a, b = bnd.arrays()
    p = np.array([s.p for s in scen])
    looks_f = n.astype(float)
    extra: dict[str, Any] = {"n_sims": 0, "seed_entropy": "", "chunk_size": 0}
    if method == "exact":
        stop = exact_oc_arrays(n, a, b, p)
        values = _summaries(stop, looks_f)
        mcse = {k: np.zeros_like(v) for k, v in values.items()}
    else:
        root = seed_sequence(seed)
        counts = np.stack(
            [_simulate_stops(n, a, b, s.p, n_sims, root, s.key, chunk_size) for s in scen]
        )
        stop = counts / n_sims
        values = _summaries(stop, looks_f)
        mcse = _mcse(values, looks_f, n_sims)
        extra = {
            "n_sims": int(n_sims),
            "seed_entropy": str(root.entropy),
            "chunk_size": int(chunk_size),
            "stream_scheme": "SeedSequence(entropy, spawn_key=(scenario_key, chunk))",
        }
    dims = {
        "p_n": ("scenario", "look"),
        "p_stop_at": ("scenario", "look", "reason"),
    }
    data_vars: dict[str, Any] = {}
    for name in OC_VARIABLES:
        d = dims.get(name, ("scenario",))
        data_vars[name] = (d, values[name])
        data_vars[f"{name}_mcse"] = (d, mcse[name])
    data_vars["look_n"] = (("look",), n)
    ds = xr.Dataset(
        data_vars,
        coords={
            "scenario": [s.name for s in scen],
            "p": ("scenario", p),
            "role": ("scenario", [s.role for s in scen]),
            "look": np.arange(1, len(n) + 1),
            "reason": list(REASONS),
        },
        attrs=provenance(
            method="exact" if method == "exact" else "monte_carlo",
            design_name=design.name,
            design_hash=design.hash,
            wall_time_s=round(time.perf_counter() - t0, 6),
            **extra,
        ),
    )
    return ds


def _oc_iv(
    designs: Design | Iterable[Design], method: str, n_sims: int, chunk_size: int
) -> tuple[list[Design], bool]:
    single = isinstance(designs, Design)
    items = [designs] if single else list(designs)  # type: ignore[list-item]
    if not items:
        raise fail("designs", "oc", "a Design or a non-empty list of designs", items)
    for d in items:
        if not isinstance(d, Design):
            raise fail("designs", "oc", "Design objects", type(d).__name__)
    names = [d.name for d in items]
    if len(set(names)) != len(names):
        raise fail("designs", "oc", "designs with distinct names", names)
    check_choice(method, "method", "oc", ("exact", "simulate"))
    if method == "simulate":
        check_int(n_sims, "n_sims", "oc", low=1)
        check_int(chunk_size, "chunk_size", "oc", low=1)
    return items, single


def oc(
    designs: Design | Iterable[Design],
    scenarios: Iterable[float | Scenario] | None = None,
    *,
    method: str = "exact",
    n_sims: int = 10_000,
    seed: int | np.random.SeedSequence | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> xr.Dataset:
    """Operating characteristics of one or several single-cohort designs.

    Parameters
    ----------
    designs : Design, iterable of Design, or CohortDesign
        One design (result has no ``design`` dim) or several (stacked along
        ``design``; looks are padded with NaN where designs differ). A multi-cohort
        ``CohortDesign`` is passed to :func:`adaptive2.model.cohorts.cohort_oc`
        (``method="exact"``) or to :func:`adaptive2.engines.montecarlo.simulate` with no delay
        and no dropout (``method="simulate"``).
    scenarios : iterable of float or Scenario, optional
        True response rates. Default: the design's ``scenarios``, else the grid
        0, 0.05, ..., 1. Bare rates get roles from the design's ``p0``/``p1``.
    method : {"exact", "simulate"}
        ``"exact"`` (default) uses the dynamic programme; ``"simulate"`` runs a
        vectorised Monte Carlo with patient-level uniforms and reports MCSEs.
    n_sims : int
        Simulated trials per scenario (``method="simulate"``).
    seed : int or numpy.random.SeedSequence, optional
        Root seed; streams are addressed by (scenario key, chunk) so that
        results do not depend on the order or number of scenarios.
    chunk_size : int
        Trials per random-number chunk (part of the stream address).

    Returns
    -------
    xarray.Dataset
        See the module docstring for the schema.

    Examples
    --------
    >>> from adaptive2 import Beta, Design, PosteriorProbability
    >>> d = Design(name="one-look", prior=Beta(1, 1), looks=(20,),
    ...            final=PosteriorProbability(p0=0.2, cutoff=0.95))
    >>> d.boundaries().efficacy_min_r  # success needs 7 or more of 20
    (7,)
    >>> round(float(oc(d, [0.2])["p_efficacy"].item()), 4)  # P(Bin(20, 0.2) >= 7)
    0.0867
    """
    multicohort = sys.modules.get("adaptive2.model.cohorts")  # loaded iff such designs exist
    if multicohort is not None and isinstance(designs, multicohort.CohortDesign):
        check_choice(method, "method", "oc", ("exact", "simulate"))
        if method == "simulate":
            # The Monte Carlo twin of the exact lattice OC: the trial-conduct simulator
            # with no delay and no dropout (every interim at exactly its n evaluable).
            from adaptive2.engines.montecarlo import Conduct, simulate

            res = simulate(designs, scenarios, conduct=Conduct(delay=0.0), n_sims=n_sims,
                           seed=seed, chunk_size=chunk_size, progress=False)
            return res.isel(design=0)
        return multicohort.cohort_oc(designs, scenarios)  # type: ignore[arg-type]
    items, single = _oc_iv(designs, method, n_sims, chunk_size)
    results = []
    for d in items:
        scen = as_scenarios(scenarios, p0=d.p0, p1=d.p1, default=d.scenarios or DEFAULT_GRID)
        results.append(_oc_one(d, scen, method, n_sims, seed, chunk_size))
    if single:
        return results[0]
    try:
        ds = xr.concat(results, dim="design", join="outer", combine_attrs="drop_conflicts")
    except ValueError as exc:  # different scenario grids with clashing coords
        raise DesignError(f"`scenarios` of oc must be shared by all designs: {exc}") from None
    ds = ds.assign_coords(
        design=[d.name for d in items],
        design_hash=("design", [d.hash for d in items]),
    )
    ds.attrs.pop("design_name", None)
    ds.attrs.pop("design_hash", None)
    return ds
