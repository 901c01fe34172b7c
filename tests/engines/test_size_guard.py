"""The size guard: every engine refuses a job too big for the memory limit at once.

For each guarded entry point: (a) a huge job is refused with a ResourceError in under
a second, with the estimate, the remedy and ``--max-memory`` in its one-line message;
(b) a small job is refused under a limit just below its estimate and runs under one
just above it; (c) for mid-size jobs the estimate is honest: the measured peak
(``tracemalloc``, which traces numpy's allocations) is at most the estimate and at
least a quarter of it.
"""

from __future__ import annotations

import gc
import inspect
import re
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import adaptive2.engines.analysis_multi as analysis_multi
import adaptive2.engines.calibration as calibration
import adaptive2.engines.cohort_calibration as cohort_calibration
import adaptive2.engines.cohort_exact as cohort_exact
import adaptive2.engines.design_search as design_search
import adaptive2.engines.exact as exact
import adaptive2.engines.futility as futility
import adaptive2.engines.lee_liu as lee_liu
import adaptive2.engines.map_prior as map_prior
import adaptive2.engines.montecarlo as montecarlo
import adaptive2.engines.null_region as null_region
import adaptive2.engines.posterior as posterior
import adaptive2.engines.simon as simon
import adaptive2.model.designs as designs
from adaptive2._base.cache import MEMO
from adaptive2._base.errors import ResourceError
from adaptive2._base.resources import limit_memory
from adaptive2.engines.analysis import analyze
from adaptive2.engines.borrowing import borrowing_summary
from adaptive2.engines.sizes import (
    REMEDY_CALIBRATE,
    REMEDY_COHORTS,
    REMEDY_EXACT,
    REMEDY_GRID,
    REMEDY_SEARCH,
    REMEDY_SIMON,
    REMEDY_SIMULATE,
)
from adaptive2.kernels.sizes import boundary_cost
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.hierarchical import Cohort, Historical, Model, QuadratureGrid
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec
from adaptive2.model.rules import BOP2, PosteriorProbability, PredictiveProbability
from adaptive2.model.scenarios import Scenario

TINY = QuadratureGrid(n_theta=61, n_mu=21, n_tau=5)
SMALL = QuadratureGrid(n_theta=241, n_mu=201, n_tau=20)
TIE = Historical("phase1", 16, 20, tie="a", weight=0.5)
BHM = Model(historical=(TIE,))


def _single(name: str, looks: tuple[int, ...], **kw: Any) -> Design:
    return Design(
        name=name, prior=kw.pop("prior", Beta(0.5, 0.5)), looks=looks, p0=0.2, p1=0.4,
        futility=kw.pop("futility", PosteriorProbability(p0=0.2, cutoff=0.1)),
        final=kw.pop("final", PosteriorProbability(p0=0.2, cutoff=0.9)), **kw,
    )


def _multi(name: str, looks: list[tuple[int, ...]], model: Model = BHM,
           grid: QuadratureGrid = TINY) -> CohortDesign:
    names = "abc"[: len(looks)]
    return CohortDesign(
        name=name, model=model, grid=grid,
        cohorts=tuple(Cohort(n, 0.2 + 0.1 * j, 0.4 + 0.1 * j, lk)
                      for j, (n, lk) in enumerate(zip(names, looks, strict=True))),
        futility=PosteriorProbability(p0=0.2, cutoff=0.3),
        final=PosteriorProbability(p0=0.2, cutoff=0.95),
        scenarios=(Scenario("null", rates={n: 0.2 + 0.1 * j for j, n in enumerate(names)}),
                   Scenario("alt", rates={n: 0.4 + 0.1 * j for j, n in enumerate(names)})),
    )


def _unbuilt(base: Design, looks: tuple[int, ...], name: str) -> Design:
    """``base`` with other looks, its boundaries never computed (``__post_init__`` skipped).

    Building a predictive design of 100,000 patients is itself the 37 GiB job (which
    ``Design`` refuses when model/designs.py calls the guard): this stands for a design
    whose boundaries an engine would have to compute.
    """
    obj = object.__new__(Design)
    for f in Design.__dataclass_fields__:
        object.__setattr__(obj, f, getattr(base, f))
    object.__setattr__(obj, "looks", looks)
    object.__setattr__(obj, "name", name)
    return obj


def _pp(looks: tuple[int, ...] = (10, 20)) -> Design:
    """frontline-pp's rules: robust mixture prior, PP futility, posterior final rule."""
    return Design(name="pp", prior=BetaMixture((0.5, 0.5), (8.5, 0.5), (2.5, 0.5)), looks=looks,
                  p0=0.4, p1=0.6, futility=PredictiveProbability(0.05),
                  final=PosteriorProbability(p0=0.4, cutoff=0.95))


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    """Huge jobs whose value objects are cheap to build (a single cohort of 500,000: ~1 s)."""
    hist = PriorSpec(base=Beta(1, 1), historical=(16, 20), power=0.5)
    single = _single("half-million", (250_000, 500_000), prior=hist,
                     futility=BOP2(p0=0.2, lambda_=0.9, gamma=1.0), final=BOP2(p0=0.2, lambda_=0.9))
    return {
        "single": single,
        "single-b": _unbuilt(single, single.looks, "half-million-b"),
        "pp": _unbuilt(_pp(), (50_000, 100_000), "pp-100000"),
        "sim": _single("twenty-thousand", (5_000, 20_000)),
        "three": _multi("three-2000", [(1000, 2000)] * 3, model=Model(), grid=QuadratureGrid()),
        "two": _multi("two-2000", [(1000, 2000)] * 2, model=BHM, grid=QuadratureGrid()),
    }


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    return {
        "single": _single("small", (10, 20)),
        "bop2": _single("small-bop2", (10, 20), prior=Beta(0.2, 0.8),
                        futility=BOP2(p0=0.2, lambda_=0.9, gamma=1.0),
                        final=BOP2(p0=0.2, lambda_=0.9)),
        "hist": _single("small-hist", (10, 20),
                        prior=PriorSpec(base=Beta(1, 1), historical=(5, 20), power=0.5)),
        "multi": _multi("small-multi", [(4, 8), (3, 6)]),
    }


# ---------------------------------------------------------------------------
# (a) huge jobs: refused at once, with the estimate and the ways out
# ---------------------------------------------------------------------------
# (id, limit, unit of the estimate (a regex), remedy, the call on the `big` fixtures). A single
# cohort's calibrations are costed at 500,000 patients under a 1 GiB limit; Simon's nmax
# (<= 1000), Lee & Liu's and design_search's N (<= 300) are capped by their argument
# checks, so their largest jobs are refused under a lower limit, in MiB.
HUGE_GRID = QuadratureGrid(n_theta=4001, n_mu=2001, n_tau=200)

HUGE: list[tuple[str, str, str, str, Callable[[dict[str, Any]], Any]]] = [
    ("oc-single", "1G", "GiB", REMEDY_EXACT,
     lambda b: exact.oc(b["single"], list(np.linspace(0.0, 0.4, 101)))),
    ("oc-multi", "4G", "[GT]iB", REMEDY_COHORTS, lambda b: exact.oc(b["three"])),
    ("oc-multi-two", "4G", "[GT]iB", REMEDY_COHORTS, lambda b: exact.oc(b["two"])),
    ("efficacy_matrix", "4G", "[GT]iB", REMEDY_COHORTS,
     lambda b: cohort_exact.efficacy_matrix(b["three"], np.full((10, 3), 0.3))),
    ("null_region", "4G", "[GT]iB", REMEDY_COHORTS, lambda b: null_region.null_region(b["two"])),
    ("calibrate_cohorts", "4G", "[GT]iB", REMEDY_COHORTS,
     lambda b: cohort_calibration.calibrate_cohorts(b["three"])),
    ("calibrate_futility-multi", "4G", "[GT]iB", REMEDY_COHORTS,
     lambda b: futility.calibrate_futility(b["three"])),
    ("borrowing_summary", "4G", "[GT]iB", REMEDY_COHORTS, lambda b: borrowing_summary(b["two"])),
    ("analyze-multi", "4G", "[GT]iB", REMEDY_GRID, lambda b: analyze(b["three"], {"a": (3, 10)})),
    ("lattice", "4G", "[GT]iB", REMEDY_GRID,
     lambda b: posterior.lattice(b["three"].model, b["three"].cohorts, [2000] * 3)),
    ("predictive", "4G", "[GT]iB", REMEDY_GRID,
     lambda b: posterior.predictive(b["three"].model, b["three"].cohorts, [1000] * 3,
                                    cohort="a", m=1000)),
    # one data set is one quadrature (no lattice): huge only on a huge grid
    ("posterior", "4G", "[GT]iB", REMEDY_GRID,
     lambda b: posterior.posterior(b["three"].model, b["three"].cohorts,
                                   {c: (500, 2000) for c in "abc"}, grid=HUGE_GRID)),
    ("posterior_density", "4G", "[GT]iB", REMEDY_GRID,
     lambda b: posterior.posterior_density(b["three"].model, b["three"].cohorts,
                                           {c: (500, 2000) for c in "abc"}, "a",
                                           grid=HUGE_GRID)),
    ("map_prior", "4G", "[GT]iB", REMEDY_GRID,
     lambda b: map_prior.map_prior((Historical("h", 5, 20),), p0=0.2, grid=HUGE_GRID)),
    ("simulate-single", "4G", "TiB", REMEDY_SIMULATE,
     lambda b: montecarlo.simulate(b["sim"], [0.2], n_sims=10_000, progress=False)),
    ("simulate-multi", "4G", "[GT]iB", "QuadratureGrid",
     lambda b: montecarlo.simulate(b["three"], n_sims=1000, progress=False)),
    ("oc-simulate-multi", "4G", "[GT]iB", "QuadratureGrid",
     lambda b: exact.oc(b["three"], method="simulate", n_sims=1000)),
    ("calibrate", "1G", "GiB", REMEDY_CALIBRATE,
     lambda b: calibration.calibrate(b["single"], "final.lambda", alpha=0.1)),
    ("calibrate_bop2", "1G", "GiB", REMEDY_CALIBRATE,
     lambda b: calibration.calibrate_bop2(b["single"], lambdas=[0.9], gammas=[1.0])),
    ("worst_case_alpha", "1G", "GiB", REMEDY_CALIBRATE,
     lambda b: calibration.worst_case_alpha(b["single"])),
    ("weight_curve", "1G", "GiB", REMEDY_CALIBRATE,
     lambda b: calibration.weight_curve(b["single"], [0.0, 1.0])),
    ("calibrate_futility", "4G", "[GT]iB", REMEDY_CALIBRATE,
     lambda b: futility.calibrate_futility(b["pp"])),
    ("calibrate-pp", "4G", "[GT]iB", REMEDY_CALIBRATE,
     lambda b: calibration.calibrate(b["pp"], "final.cutoff", alpha=0.1)),
    ("pareto", "1G", "GiB", REMEDY_CALIBRATE,
     lambda b: design_search.pareto([b["single"], b["single-b"]])),
    ("simon", "10M", "MiB", REMEDY_SIMON, lambda b: simon.simon(0.2, 0.25, nmax=1000)),
    ("lee_liu", "100M", "MiB", REMEDY_SEARCH,
     lambda b: lee_liu.lee_liu(0.2, 0.3, alpha=0.1, power=0.8, n_range=(295, 300))),
    ("design_search", "2M", "MiB", REMEDY_SEARCH,
     lambda b: design_search.design_search("predictive", 0.2, 0.4, alpha=0.1, power=0.8,
                                           n_values=[300], look_schedules=[10])),
]


@pytest.mark.parametrize(("limit", "unit", "remedy", "call"), [h[1:] for h in HUGE],
                         ids=[h[0] for h in HUGE])
def test_huge_job_is_refused_at_once(big, limit, unit, remedy, call) -> None:
    import tracemalloc

    with limit_memory(limit):
        tracemalloc.start()  # numpy reports its buffers: the refusal allocates nothing big
        try:
            with pytest.raises(ResourceError) as info:
                call(big)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    message = str(info.value)
    assert peak < 32 * 2**20, f"{peak / 2**20:.0f} MiB allocated before the refusal"
    assert re.search(rf"needs about [\d.]+ {unit} of memory", message), message
    assert remedy in message
    assert "--max-memory" in message and "\n" not in message


@pytest.mark.parametrize(("looks", "least"), [((50_000, 100_000), 37 * 2**30),
                                             ((5_000, 20_000), 10 * 2**30)])
def test_the_two_reported_designs_are_refused_at_once(looks, least) -> None:
    """looks [50000, 100000] (37 GiB at once) and [5000, 20000] (10.8 GB, 40 s) of a PP design."""
    design = _unbuilt(_pp(), looks, f"pp-{looks[-1]}")
    assert boundary_cost(design).nbytes > least
    with limit_memory("4G"):
        t0 = time.perf_counter()
        with pytest.raises(ResourceError, match=r"GiB of memory.*--max-memory"):
            exact.oc(design)  # its boundaries would be computed: refused before
        assert time.perf_counter() - t0 < 1.0


_DESIGN_GUARDED = "require_memory" in inspect.getsource(designs)


@pytest.mark.skipif(not _DESIGN_GUARDED, reason="model/designs.py does not call the size guard "
                    "yet (see kernels.sizes.boundary_cost)")
@pytest.mark.parametrize("looks", [(50_000, 100_000), (5_000, 20_000)])
def test_building_a_huge_predictive_design_is_refused_at_once(looks) -> None:
    with limit_memory("4G"):
        t0 = time.perf_counter()
        with pytest.raises(ResourceError, match=r"GiB of memory.*--max-memory"):
            _pp(looks)
        assert time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------------------
# (b) small jobs: refused just below their estimate, run just above it
# ---------------------------------------------------------------------------
class _Estimate(Exception):
    pass


def _estimate(module: Any, call: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> float:
    """The estimate the entry point hands to the guard (its first call), without running it."""
    seen: list[float] = []

    def spy(nbytes: float, what: str, remedy: str = "", *, seconds: float | None = None) -> None:
        seen.append(nbytes)
        raise _Estimate

    with monkeypatch.context() as m:
        m.setattr(module, "require_memory", spy)
        with pytest.raises(_Estimate):
            call()
    return seen[0]


SMALL_JOBS: list[tuple[str, Any, Callable[[dict[str, Any]], Any]]] = [
    ("oc-single", exact, lambda s: exact.oc(s["single"])),
    ("oc-multi", cohort_exact, lambda s: exact.oc(s["multi"])),
    ("efficacy_matrix", cohort_exact,
     lambda s: cohort_exact.efficacy_matrix(s["multi"], np.full((4, 2), 0.3))),
    ("null_region", null_region,
     lambda s: null_region.null_region(s["multi"], step=0.1, own_points=3, tol=0.01, starts=1)),
    ("calibrate_cohorts", cohort_calibration,
     lambda s: cohort_calibration.calibrate_cohorts(s["multi"], rounds=1)),
    ("calibrate_futility-multi", futility,
     lambda s: futility.calibrate_futility(s["multi"], rounds=1)),
    ("analyze-multi", analysis_multi, lambda s: analyze(s["multi"], {"a": (2, 4), "b": (1, 3)})),
    ("lattice", posterior,
     lambda s: posterior.lattice(s["multi"].model, s["multi"].cohorts, [8, 6], grid=TINY)),
    ("predictive", posterior,
     lambda s: posterior.predictive(s["multi"].model, s["multi"].cohorts, [4, 3], cohort="a",
                                    m=4, grid=TINY)),
    ("posterior", posterior,
     lambda s: posterior.posterior(s["multi"].model, s["multi"].cohorts,
                                   {"a": (2, 4), "b": (1, 3)}, grid=TINY)),
    ("map_prior", map_prior,
     lambda s: map_prior.map_prior((Historical("h", 5, 20),), p0=0.2, grid=TINY)),
    ("simulate-single", montecarlo,
     lambda s: montecarlo.simulate(s["single"], [0.2], n_sims=400, chunk_size=200, seed=1,
                                   progress=False)),
    ("simulate-multi", montecarlo,
     lambda s: montecarlo.simulate(s["multi"], n_sims=200, chunk_size=100, seed=1,
                                   progress=False)),
    ("calibrate", calibration, lambda s: calibration.calibrate(s["single"], alpha=0.1)),
    ("calibrate_bop2", calibration,
     lambda s: calibration.calibrate_bop2(s["bop2"], lambdas=[0.8, 0.9], gammas=[1.0])),
    ("worst_case_alpha", calibration, lambda s: calibration.worst_case_alpha(s["single"])),
    ("weight_curve", calibration, lambda s: calibration.weight_curve(s["hist"], [0.0, 1.0])),
    ("calibrate_futility", futility, lambda s: futility.calibrate_futility(s["single"])),
    ("pareto", design_search,
     lambda s: design_search.pareto([s["single"], s["single"].replace(name="b", looks=(8, 20))])),
    ("design_search", design_search,
     lambda s: design_search.design_search("posterior", 0.2, 0.4, alpha=0.1, power=0.8,
                                           n_values=[20], look_schedules=[2])),
    ("lee_liu", lee_liu,
     lambda s: lee_liu.lee_liu(0.2, 0.4, alpha=0.1, power=0.8, n_range=(20, 22),
                               theta_l_grid=[0.01, 0.05])),
    ("simon", simon, lambda s: simon.simon(0.1, 0.3, nmax=30)),
]


@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.StatisticalWarning")
@pytest.mark.parametrize(("module", "call"), [j[1:] for j in SMALL_JOBS],
                         ids=[j[0] for j in SMALL_JOBS])
def test_small_job_runs_just_above_its_estimate(small, module, call, monkeypatch) -> None:
    nbytes = _estimate(module, lambda: call(small), monkeypatch)
    assert 2**20 <= nbytes < 2**31  # a small job, costed with the fixed overhead of any job
    with limit_memory(int(nbytes) - 1):
        with pytest.raises(ResourceError):
            call(small)
    with limit_memory(int(nbytes) + 1):
        call(small)


# ---------------------------------------------------------------------------
# (c) honest estimates: measured peak <= estimate <= 4 x measured peak
# ---------------------------------------------------------------------------
def _peak(call: Callable[[], Any]) -> float:
    """Peak traced bytes of ``call`` run from an empty memo (imports warmed up first)."""
    call()
    MEMO.clear()
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
        MEMO.clear()


TWO_SMALL = _multi("two-small-grid", [(40, 80), (30, 60)], grid=SMALL)

HONEST: list[tuple[str, Any, Callable[[], Any]]] = [
    # the boundaries of a predictive design (the estimate model/designs.py would use)
    ("design", None, lambda: _pp((500, 1000, 2000))),
    ("oc-single", exact,
     lambda: exact.oc(_single("mid", (20_000, 40_000)), [0.1, 0.2, 0.3, 0.4, 0.5])),
    ("simulate-single", montecarlo,
     lambda: montecarlo.simulate(_single("mid-sim", (50, 100)), [0.2, 0.4], n_sims=5000,
                                 conduct=Conduct(delay=("gamma", 2.5, 1.0), p_nonevaluable=0.2),
                                 seed=1, progress=False)),
    ("oc-multi", cohort_exact, lambda: exact.oc(TWO_SMALL)),
    ("null_region", null_region,
     lambda: null_region.null_region(TWO_SMALL, step=0.1, own_points=6, starts=1)),
    ("simulate-multi", montecarlo,
     lambda: montecarlo.simulate(TWO_SMALL, n_sims=2000, seed=1, progress=False)),
    ("posterior", posterior,
     lambda: posterior.posterior(TWO_SMALL.model, TWO_SMALL.cohorts,
                                 {"a": (20, 40), "b": (5, 30)}, grid=SMALL)),
    ("map_prior", map_prior,
     lambda: map_prior.map_prior((Historical("h", 5, 20), Historical("g", 8, 25)), p0=0.2,
                                 grid=SMALL)),
    ("lee_liu", lee_liu,
     lambda: lee_liu.lee_liu(0.2, 0.3, alpha=0.1, power=0.8, n_range=(150, 152), looks=10)),
    ("simon", simon, lambda: simon.simon(0.2, 0.25, nmax=500)),  # large blocks: 2 s
]


@pytest.mark.parametrize(("module", "call"), [h[1:] for h in HONEST], ids=[h[0] for h in HONEST])
def test_estimate_bounds_the_measured_peak(module, call, monkeypatch) -> None:
    if module is None:  # the construction of a design: its boundary tables
        d = call()
        nbytes = boundary_cost(d).nbytes
        measured = _peak(lambda: designs._boundaries.__wrapped__(d))
    else:
        nbytes = _estimate(module, call, monkeypatch)
        measured = _peak(call)
    assert measured <= nbytes, f"measured {measured / 2**20:.1f} MiB > estimate"
    assert measured >= nbytes / 4, f"estimate {nbytes / 2**20:.1f} MiB, measured {measured:.0f}"
