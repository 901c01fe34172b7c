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

A design with a toxicity monitor (``Design.toxicity``) is evaluated by the joint
efficacy-toxicity engine (:func:`adaptive2.engines.toxicity_oc.oc_toxicity`): its
scenarios are crossed with the design's toxicity rates (default: the monitor's
acceptable and limit rates), toxicity-major as in the Monte Carlo engine, and the
result adds the coordinates
``toxicity_rate`` and ``odds_ratio`` and the variables ``p_stop_toxicity`` and
``p_stop_toxicity_at`` (dim ``tox_check``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.provenance import provenance
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_choice, check_int, fail
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.cohort_montecarlo import cohort_simulate, unsupported
from adaptive2.engines.montecarlo import simulate
from adaptive2.engines.oc_schema import DEFAULT_GRID, OC_VARIABLES, REASONS, OCTable
from adaptive2.engines.sizes import REMEDY_EXACT, single_oc_cost
from adaptive2.engines.toxicity_oc import joint_cost, oc_toxicity_table
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.kernels.sizes import Cost
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import Scenario, as_scenarios

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["OC_VARIABLES", "oc", "oc_table"]


CHUNK_SIZE = 10_000


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
    workers: int = 1,
) -> xr.Dataset:
    if method == "exact":
        return oc_table(design, scen).to_dataset()
    t0 = time.perf_counter()
    n = design.boundaries().arrays()[0]
    looks_f = n.astype(float)
    # The one Monte Carlo engine: the trial-conduct simulator with instant responses,
    # no dropout (every interim at exactly its n evaluable patients).
    sim = simulate(design, list(scen), conduct=Conduct(delay=0.0), n_sims=n_sims,
                   seed=seed, chunk_size=chunk_size, workers=workers,
                   progress=False).isel(design=0)
    stop = sim["p_stop_at"].values[:, : len(n)]
    done = int(sim.attrs["n_sims"])
    values = _summaries(stop, looks_f)
    mcse = _mcse(values, looks_f, done)
    extra = {
        "n_sims": done,
        "seed_entropy": sim.attrs["seed_entropy"],
        "chunk_size": int(chunk_size),
        "stream_scheme": sim.attrs["stream_scheme"],
        "engine": "trial-conduct simulator (no delay, no dropout)",
    }
    return _table(design, scen, n, values, mcse, "monte_carlo", t0, extra).to_dataset()


def oc_table(
    design: Design, scenarios: Iterable[float | Scenario] | None = None
) -> OCTable:
    """Exact OC of one single-cohort design as plain arrays (no xarray, no pandas).

    The numbers of :func:`oc` (``oc(design, scenarios)`` is
    ``oc_table(design, scenarios).to_dataset()``), for callers that only read
    them: the command line prints from this. A design with a toxicity monitor
    goes to :func:`adaptive2.engines.toxicity_oc.oc_toxicity_table`.
    """
    scen = as_scenarios(scenarios, p0=design.p0, p1=design.p1,
                        default=design.scenarios or DEFAULT_GRID)
    if design.toxicity is not None:  # every OC of a co-monitored design counts toxicity stops
        return oc_toxicity_table(design, scen)
    t0 = time.perf_counter()
    n, a, b = design.boundaries().arrays()
    p = np.array([s.p for s in scen])
    values = _summaries(stop_probabilities(n, a, b, p), n.astype(float))
    mcse = {k: np.zeros_like(v) for k, v in values.items()}
    extra: dict[str, Any] = {"n_sims": 0, "seed_entropy": "", "chunk_size": 0}
    return _table(design, scen, n, values, mcse, "exact", t0, extra)


def _table(
    design: Design,
    scen: tuple[Scenario, ...],
    n: np.ndarray,
    values: dict[str, np.ndarray],
    mcse: dict[str, np.ndarray],
    method: str,
    t0: float,
    extra: dict[str, Any],
) -> OCTable:
    """The OC variables, coordinates and provenance of one design (the module's schema)."""
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
    return OCTable(
        data_vars,
        coords={
            "scenario": np.array([s.name for s in scen]),
            "p": (("scenario",), np.array([s.p for s in scen])),
            "role": (("scenario",), np.array([s.role for s in scen])),
            "look": np.arange(1, len(n) + 1),
            "reason": np.array(REASONS),
        },
        attrs=provenance(
            method=method,
            design_name=design.name,
            design_hash=design.hash,
            wall_time_s=round(time.perf_counter() - t0, 6),
            **extra,
        ),
    )


def _oc_iv(
    designs: Design | Iterable[Design], method: str, n_sims: int, chunk_size: int
) -> tuple[list[Design], bool]:
    single = isinstance(designs, Design)
    items = [designs] if isinstance(designs, Design) else list(designs)
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
        for d in items:
            if d.toxicity is not None:
                raise DesignError(
                    f"`method` of oc must be 'exact' for Design {d.name!r}: it has a toxicity "
                    "monitor, and the Monte Carlo engine does not stop trials for toxicity yet "
                    "(its OC would silently leave the toxicity stops out)."
                )
    return items, single


def oc(
    designs: Design | Iterable[Design],
    scenarios: Iterable[float | Scenario] | None = None,
    *,
    method: str = "exact",
    n_sims: int = 10_000,
    seed: int | np.random.SeedSequence | None = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 1,
) -> xr.Dataset:
    """Operating characteristics of one or several single-cohort designs.

    Parameters
    ----------
    designs : Design, iterable of Design, or CohortDesign
        One design (result has no ``design`` dim) or several (stacked along
        ``design``; looks are padded with NaN where designs differ). A multi-cohort
        ``CohortDesign`` is passed to :func:`adaptive2.engines.cohort_exact.cohort_oc`
        (``method="exact"``; with toxicity monitors, cohorts stop for toxicity too and
        the scenarios are crossed with each monitor's acceptable and limit rates) or to
        :func:`adaptive2.engines.cohort_montecarlo.cohort_simulate` (``method="simulate"``:
        Monte Carlo over outcomes with quadrature posteriors, 1 to 8 cohorts, predictive
        rules included; a design with rules it cannot run goes to
        :func:`adaptive2.engines.montecarlo.simulate` with no delay and no dropout; not for
        designs with toxicity monitors).
    scenarios : iterable of float or Scenario, optional
        True response rates. Default: the design's ``scenarios``, else the grid
        0, 0.05, ..., 1. Bare rates get roles from the design's ``p0``/``p1``.
    method : {"exact", "simulate"}
        ``"exact"`` (default) uses the dynamic programme; ``"simulate"`` runs the
        trial-conduct simulator (:func:`~adaptive2.engines.montecarlo.simulate`)
        with instant responses and no dropout, and reports MCSEs.
    n_sims : int
        Simulated trials per scenario (``method="simulate"``).
    seed : int or numpy.random.SeedSequence, optional
        Root seed; streams are addressed by (scenario key, chunk) so that
        results do not depend on the order or number of scenarios.
    chunk_size : int
        Trials per random-number chunk (part of the stream address).
    workers : int
        ``method="simulate"``: threads (the multi-cohort Monte Carlo over outcomes) or
        processes (the trial-conduct simulator) running the chunks; the results are the
        same for any number. The exact method has nothing to share: it must be 1 there.

    Returns
    -------
    xarray.Dataset
        See the module docstring for the schema.

    Raises
    ------
    ResourceError
        If the job's estimated memory is over the limit (``--max-memory``,
        :func:`adaptive2.set_memory_limit`): refused before anything is computed.

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
    workers = check_int(workers, "workers", "oc", low=1)
    if method == "exact" and workers != 1:
        raise fail("workers", "oc", "1 with method='exact' (exact OC run no trials to share)",
                   workers)
    if isinstance(designs, CohortDesign):
        check_choice(method, "method", "oc", ("exact", "simulate"))
        if designs.toxicity is not None and method == "simulate":
            raise DesignError(
                f"`method` of oc must be 'exact' for CohortDesign {designs.name!r}: it has "
                "toxicity monitors, and the multi-cohort simulator does not stop cohorts for "
                "toxicity yet (its OC would silently leave the toxicity stops out)."
            )
        if method == "simulate":
            if unsupported(designs) is None:
                # Monte Carlo over outcomes with quadrature posteriors: any number of cohorts
                joint_mc = cast("Iterable[Scenario] | None", scenarios)
                return cohort_simulate(designs, joint_mc, n_sims=n_sims, seed=seed,
                                       chunk_size=chunk_size, workers=workers).to_dataset()
            # rules cohort_simulate cannot run (``unsupported`` says which): the
            # trial-conduct simulator with no delay and no dropout (up to about 3 cohorts)
            res = simulate(designs, scenarios, conduct=Conduct(delay=0.0), n_sims=n_sims,
                           seed=seed, chunk_size=chunk_size, workers=workers, progress=False)
            return cast("xr.Dataset", res.isel(design=0))
        joint = cast("Iterable[Scenario] | None", scenarios)  # cohort_oc refuses other values
        return cast("xr.Dataset", cohort_oc(designs, joint))
    items, single = _oc_iv(designs, method, n_sims, chunk_size)
    scens = [
        as_scenarios(scenarios, p0=d.p0, p1=d.p1, default=d.scenarios or DEFAULT_GRID)
        for d in items
    ]
    if method == "exact":  # the simulator guards its own runs
        cost = Cost()
        for d, scen in zip(items, scens, strict=True):
            if d.toxicity is not None:
                n_tox = len(d.toxicity_rates) or 2
                cost = cost.then(joint_cost(d, len(scen) * n_tox))
            else:
                cost = cost.then(single_oc_cost(d, len(scen)))
        big = max(items, key=lambda d: d.n_max)
        what = (
            f"exact operating characteristics of design {big.name!r} ({big.n_max} patients, "
            f"{big.n_looks} looks)"
            if single
            else f"exact operating characteristics of {len(items)} designs (up to {big.n_max} "
            "patients)"
        )
        require_memory(cost.nbytes, what, REMEDY_EXACT, seconds=cost.seconds)
    results = [
        _oc_one(d, scen, method, n_sims, seed, chunk_size, workers)
        for d, scen in zip(items, scens, strict=True)
    ]
    if single:
        return results[0]
    import xarray as xr

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
