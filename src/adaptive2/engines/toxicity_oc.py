"""Exact operating characteristics of a design co-monitored for efficacy and toxicity.

A single-cohort :class:`~adaptive2.model.designs.Design` with a
:class:`~adaptive2.model.toxicity.ToxicityMonitor` stops as soon as either rule
says so: the efficacy rules at their looks (futility, then efficacy; the final
rule at the last look) and the toxicity rule at its monitoring points, which
need not be looks. Where a check and a look fall on the same patient the
toxicity check acts first, so a trial stopped for safety declares nothing.
Both rules compile to integer boundaries (:meth:`Design.boundaries`,
:meth:`ToxicityMonitor.boundaries`), and the joint dynamic programme over
(responses, events) of :func:`adaptive2.kernels.joint.joint_oc` gives every
probability exactly, with response and toxicity in a patient linked by an odds
ratio (1: independent). No simulation is used.

Result schema (:class:`xarray.Dataset`)
---------------------------------------
The schema of :func:`adaptive2.engines.exact.oc`, with the scenarios crossed
(toxicity rate × response rate, toxicity-major, named ``"<scenario>, q=<rate>"``),
plus:

coords
    ``toxicity_rate`` (true toxicity rate) and ``odds_ratio`` along
    ``scenario``; ``tox_check`` (1-based monitoring point), as in the Monte
    Carlo engine (:func:`adaptive2.engines.montecarlo.simulate`).
variables
    ``p_stop_toxicity`` (scenario: P(stop for toxicity at any check)),
    ``p_stop_toxicity_at`` (scenario × tox_check) and ``tox_check_n``
    (patients at each check), the first two with a ``_mcse`` twin (0: exact).

The efficacy variables count the efficacy rules' decisions only:
``p_stop_at`` (look × reason) and ``p_efficacy``, ``p_futility``,
``p_final_fail``, ``p_go``, ``p_consider``, ``p_nogo`` exclude trials stopped
for toxicity, so that ``p_efficacy + p_futility + p_final_fail +
p_stop_toxicity = 1``. ``p_early_stop`` is P(N < N_max) for any reason;
``expected_n`` and ``sd_n`` are the moments of the number of patients
enrolled, toxicity stops included; ``p_n`` (scenario × look) is P(N = n_k) at
the looks, toxicity stops at a look included (a stop at a check between looks
is in ``p_stop_toxicity_at`` only).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.provenance import provenance
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_probability, check_real, fail
from adaptive2.engines.oc_schema import DEFAULT_GRID, OC_VARIABLES, REASONS, OCTable
from adaptive2.engines.sizes import REMEDY_EXACT
from adaptive2.kernels.joint import joint_oc
from adaptive2.kernels.sizes import FLOAT, Cost, boundary_cost
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import Scenario, as_scenarios

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["TOXICITY_VARIABLES", "joint_cost", "oc_toxicity", "oc_toxicity_table"]

TOXICITY_VARIABLES = ("p_stop_toxicity", "p_stop_toxicity_at")
"""The variables :func:`oc_toxicity` adds to the schema of :func:`adaptive2.engines.exact.oc`."""

_OWNER = "oc_toxicity"

# the joint DP (kernels.joint): about 7 ns per (scenario, patient, lattice cell), measured
# 6.4-8.4 ns for N = 100-800 (AMD EPYC, one thread); 4 arrays of a chunk of scenarios alive
_JOINT_SECONDS = 7e-9
_JOINT_ARRAYS = 4.0
_CHUNK = 1 << 21  # lattice cells per chunk of scenarios (kernels.lattice._CHUNK_ELEMENTS)


def joint_cost(design: Design, n_scenarios: int) -> Cost:
    """Estimated memory and time of :func:`oc_toxicity` for ``n_scenarios`` crossed scenarios.

    Parameters
    ----------
    design : Design
        The design (its boundaries are counted too, in case the memo lost them).
    n_scenarios : int
        Crossed scenarios (response × toxicity rates) evaluated.

    Returns
    -------
    Cost
        About ``8 × 4 × S_chunk × (N + 1)²`` bytes, with ``S_chunk`` the
        scenarios per chunk of the DP, and ``7 ns × S × N³ / 3``.
    """
    n = int(design.n_max)
    cells = (n + 1) ** 2
    s = max(int(n_scenarios), 1)
    chunk = min(s, max(1, _CHUNK // cells))
    nbytes = FLOAT * _JOINT_ARRAYS * chunk * cells + FLOAT * s * 4 * (n + 1) + (1 << 20)
    seconds = _JOINT_SECONDS * s * n**3 / 3.0
    return boundary_cost(design).then(Cost(nbytes, seconds))


def _rows(
    design: Design,
    scenarios: Iterable[float | Scenario] | None,
    tox: Sequence[float] | float | None,
    odds_ratio: float | None,
) -> list[tuple[Scenario, str, float, float]]:
    """The crossed scenarios: (response scenario, name, toxicity rate, odds ratio).

    Order: toxicity-major, so the first block holds every response scenario at the
    first toxicity rate (or at its own rate), in the order given: a caller that
    reads the first ``len(p)`` rows by position gets each response rate at the
    first (by default the acceptable) toxicity rate. Order, names (``"<scenario>,
    q=<rate>"`` when there are several rates) and the precedence of the settings
    (``tox`` and ``odds_ratio`` when given, else a scenario's own, else the
    design's) are those of :func:`adaptive2.engines.montecarlo.simulate`, so the
    exact and Monte Carlo results line up row by row.
    """
    monitor = design.toxicity
    assert monitor is not None  # checked by the caller
    scen = as_scenarios(scenarios, p0=design.p0, p1=design.p1,
                        default=design.scenarios or DEFAULT_GRID)
    if odds_ratio is not None:
        odds_ratio = check_real(
            odds_ratio, "odds_ratio", _OWNER, low=0.0, low_open=True, finite=True,
            allowed="a finite number > 0 (1: response and toxicity independent)",
        )
    if tox is None:
        rates = design.toxicity_rates or (monitor.acceptable, monitor.limit)
    else:
        seq = [tox] if isinstance(tox, int | float) and not isinstance(tox, bool) else tox
        if isinstance(seq, str | bytes) or not isinstance(seq, Sequence | np.ndarray):
            raise fail("tox", _OWNER, "true toxicity rates in [0, 1]", tox)
        rates = tuple(check_probability(q, "tox", _OWNER, closed=True) for q in seq)
        if not rates or len(set(rates)) != len(rates):
            raise fail("tox", _OWNER, "a non-empty list of distinct toxicity rates in [0, 1]",
                       list(rates))
    rows = []
    for i, q in enumerate(rates):  # toxicity-major
        for s in scen:
            own = s.tox_rate() if tox is None else None
            if own is not None and i > 0:
                continue  # a scenario with its own toxicity rate appears once
            psi = odds_ratio if odds_ratio is not None else s.odds_ratio_of()
            psi = design.toxicity_odds_ratio if psi is None else psi
            if own is not None:
                rows.append((s, s.name, own, psi))
            else:
                rows.append((s, s.name if len(rates) == 1 else f"{s.name}, q={q:.4g}", q, psi))
    names = [r[1] for r in rows]
    if len(set(names)) != len(names):
        raise fail("scenarios", _OWNER, "crossed scenarios with distinct names", names)
    return rows


def oc_toxicity(
    design: Design,
    p: Iterable[float | Scenario] | None = None,
    tox: Sequence[float] | float | None = None,
    odds_ratio: float | None = None,
) -> xr.Dataset:
    """Exact joint efficacy-toxicity operating characteristics of a co-monitored design.

    Parameters
    ----------
    design : Design
        A single-cohort design with a ``toxicity`` monitor.
    p : iterable of float or Scenario, optional
        True response rates (or scenarios; a scenario may carry its own
        ``toxicity`` rate and ``odds_ratio``, and then appears once). Default:
        the design's ``scenarios``, else 0, 0.05, ..., 1. Bare rates get roles
        from the design's ``p0`` and ``p1``.
    tox : float or sequence of float, optional
        True toxicity rates, crossed with every response scenario (scenarios
        named ``"<scenario>, q=<rate>"`` when there are several). Default: a
        scenario's own ``toxicity`` rate (the scenario then appears once), else
        the design's ``toxicity_rates``, else the monitor's ``acceptable`` and
        ``limit``.
    odds_ratio : float, optional
        Odds ratio between response and toxicity in a patient, > 0 (1:
        independent; > 1: responders have the event more often). Default: a
        scenario's own ``odds_ratio``, else the design's
        ``toxicity_odds_ratio`` (1 unless the design file says otherwise).

    Returns
    -------
    xarray.Dataset
        One ``scenario`` per (toxicity rate, response scenario), toxicity-major
        (the order of :func:`adaptive2.engines.montecarlo.simulate`): the first
        block is every response scenario at the first toxicity rate. See the
        module docstring for the schema.

    Raises
    ------
    DesignError
        If the design has no toxicity monitor or an argument is invalid.
    ResourceError
        If the job's estimated memory is over the limit (refused before
        anything is computed).

    Examples
    --------
    >>> from adaptive2 import Beta, PosteriorProbability
    >>> from adaptive2.model.toxicity import ToxicityMonitor
    >>> m = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
    ...                     cutoff=0.95, monitor=(10, 20))
    >>> d = Design(name="one-look", prior=Beta(1, 1), looks=(20,), p0=0.2, p1=0.4,
    ...            final=PosteriorProbability(p0=0.2, cutoff=0.95), toxicity=m)
    >>> ds = oc_toxicity(d, [0.4], tox=0.0)   # no events: P(Bin(20, 0.4) >= 7), as without
    >>> round(float(ds["p_efficacy"].item()), 4), float(ds["p_stop_toxicity"].item())
    (0.75, 0.0)
    """
    return oc_toxicity_table(design, p, tox, odds_ratio).to_dataset()


def oc_toxicity_table(
    design: Design,
    p: Iterable[float | Scenario] | None = None,
    tox: Sequence[float] | float | None = None,
    odds_ratio: float | None = None,
) -> OCTable:
    """The numbers of :func:`oc_toxicity` as plain arrays (no xarray, no pandas).

    ``oc_toxicity(...)`` is ``oc_toxicity_table(...).to_dataset()``; the command
    line prints from this.
    """
    t0 = time.perf_counter()
    if not isinstance(design, Design):
        raise fail("design", _OWNER, "a single-cohort Design", type(design).__name__)
    monitor = design.toxicity
    if monitor is None:
        raise DesignError(
            f"`design` of {_OWNER} must have a toxicity monitor; Design {design.name!r} has no "
            "`toxicity` ([toxicity] table): use adaptive2.oc for its efficacy OC."
        )
    rows = _rows(design, p, tox, odds_ratio)
    cost = joint_cost(design, len(rows))
    require_memory(
        cost.nbytes,
        f"exact joint efficacy-toxicity OC of design {design.name!r} ({design.n_max} patients, "
        f"{len(rows)} scenarios)",
        REMEDY_EXACT,
        seconds=cost.seconds,
    )
    n, a, b = design.boundaries().arrays()
    counts = monitor.boundaries()
    pp = np.array([s.p for s, _, _, _ in rows], dtype=float)
    qq = np.array([q for _, _, q, _ in rows], dtype=float)
    psi = np.array([o for _, _, _, o in rows], dtype=float)
    out = joint_oc(design.n_max, n, a, b, monitor.monitor, counts, pp, qq, psi, tox_first=True)
    values = _values(out, n)
    looks = n.astype(int)
    checks = np.asarray(monitor.monitor, dtype=int)
    dims = {
        "p_n": ("scenario", "look"),
        "p_stop_at": ("scenario", "look", "reason"),
        "p_stop_toxicity_at": ("scenario", "tox_check"),
    }
    data_vars: dict[str, Any] = {}
    for name in (*OC_VARIABLES, *TOXICITY_VARIABLES):
        d = dims.get(name, ("scenario",))
        data_vars[name] = (d, values[name])
        data_vars[f"{name}_mcse"] = (d, np.zeros_like(values[name]))
    data_vars["look_n"] = (("look",), looks)
    data_vars["tox_check_n"] = (("tox_check",), checks)
    return OCTable(
        data_vars,
        coords={
            "scenario": np.array([name for _, name, _, _ in rows]),
            "p": (("scenario",), pp),
            "role": (("scenario",), np.array([s.role for s, _, _, _ in rows])),
            "toxicity_rate": (("scenario",), qq),
            "odds_ratio": (("scenario",), psi),
            "look": np.arange(1, len(looks) + 1),
            "reason": np.array(REASONS),
            "tox_check": np.arange(1, len(checks) + 1),
        },
        attrs=provenance(
            method="exact",
            engine="joint efficacy-toxicity dynamic programme",
            design_name=design.name,
            design_hash=design.hash,
            toxicity=monitor.describe(),
            n_sims=0,
            seed_entropy="",
            chunk_size=0,
            wall_time_s=round(time.perf_counter() - t0, 6),
        ),
    )


def _values(out: dict[str, np.ndarray], looks: np.ndarray) -> dict[str, np.ndarray]:
    """The OC variables of :func:`oc_toxicity` from the arrays of ``joint_oc``."""
    fut, eff = out["p_futility_at"], out["p_efficacy_at"]
    consider = np.zeros_like(fut)
    consider[:, -1] = out["p_consider"]
    stop = np.stack([fut, eff, consider], axis=-1)
    support = out["n_support"]
    at_look = np.searchsorted(support, looks)  # every look is in the support
    return {
        "p_efficacy": out["p_efficacy"],
        "p_futility": out["p_futility"],
        "p_early_stop": out["p_early_stop"],
        "p_final_fail": out["p_final_fail"],
        "p_go": out["p_efficacy"],
        "p_consider": out["p_consider"],
        "p_nogo": fut.sum(axis=-1),
        "expected_n": out["expected_n"],
        "sd_n": out["sd_n"],
        "p_n": out["p_n"][:, at_look],
        "p_stop_at": stop,
        "p_stop_toxicity": out["p_toxicity"],
        "p_stop_toxicity_at": out["p_toxicity_at"],
    }
