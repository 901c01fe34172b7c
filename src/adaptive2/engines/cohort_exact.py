"""Exact operating characteristics of multi-cohort designs, by DP on the joint lattice.

The state is, per cohort, whether it is still running or stopped (and why, and
when), together with the joint distribution of the response counts. Cohorts
that stop early keep informing the others with their data at stopping. The
decision tables (:mod:`adaptive2.model.cohorts`) do not depend on the true
rates, so a whole batch of rate vectors runs through one programme
(:func:`efficacy_matrix`). No simulation is used.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from adaptive2._base.provenance import provenance
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import fail
from adaptive2.engines.sizes import REMEDY_COHORTS
from adaptive2.kernels.binomial import binom_pmf
from adaptive2.kernels.sizes import cohort_cost
from adaptive2.model.cohorts import CohortDesign, _decisions_cached, cohort_roles
from adaptive2.model.scenarios import Scenario

__all__ = ["cohort_oc", "efficacy_matrix"]


# ---------------------------------------------------------------------------
# Exact OC
# ---------------------------------------------------------------------------
def _advance(arr: np.ndarray, axis: int, m: int, p: np.ndarray) -> np.ndarray:
    """Convolve along ``axis`` with Binomial(m, p) new responses, one rate per batch row.

    ``arr`` has the batch of scenarios on axis 0 and ``p`` one rate per row.
    """
    if m == 0:
        return arr
    pmf = binom_pmf(m, p)  # batch × (m + 1)
    moved = np.moveaxis(arr, axis, -1)
    out = np.zeros((*moved.shape[:-1], moved.shape[-1] + m))
    width = moved.shape[-1]
    shape = (pmf.shape[0],) + (1,) * (moved.ndim - 1)
    for x in range(m + 1):
        out[..., x : x + width] += moved * pmf[:, x].reshape(shape)
    return np.moveaxis(out, -1, axis)


# Largest batch × lattice array (elements) held per state while a batch runs.
_BATCH_ELEMENTS = 1 << 21

# Status tuple: per cohort (status, look), status "run", "fut", "eff", "succ" or "fail".
_Status = tuple[tuple[str, int], ...]


def _run_batch(design: CohortDesign, rates: np.ndarray) -> dict[_Status, np.ndarray]:
    """Probability of every terminal status tuple, for a batch of true-rate vectors.

    Parameters
    ----------
    design : CohortDesign
    rates : ndarray, shape (G, J)
        One row of true rates (in cohort order) per scenario.

    Returns
    -------
    dict
        Terminal status tuple (per cohort: (status, look)) → probability, an
        array of shape (G,). The decision masks do not depend on the rates, so
        the whole batch runs through one dynamic programme (in chunks that keep
        each state array below ``_BATCH_ELEMENTS`` elements).
    """
    rates = np.asarray(rates, dtype=float)
    J = len(design.cohorts)
    if rates.ndim != 2 or rates.shape[1] != J:
        raise fail("rates", "_run_batch", f"an array of shape (G, {J})", rates.shape)
    cells = int(np.prod([c.looks[-1] + 1 for c in design.cohorts]))
    chunk = max(1, _BATCH_ELEMENTS // cells)
    if rates.shape[0] > chunk:
        parts = [_run_batch(design, rates[i : i + chunk]) for i in range(0, len(rates), chunk)]
        keys = {k for p in parts for k in p}
        zero = [np.zeros(len(rates[i : i + chunk])) for i in range(0, len(rates), chunk)]
        return {
            k: np.concatenate([p.get(k, z) for p, z in zip(parts, zero, strict=True)])
            for k in keys
        }
    G = rates.shape[0]
    # state: per cohort ("run", k) or ("fut"/"eff"/"succ"/"fail", k) -> array batch × r lattice
    states: dict[_Status, np.ndarray] = {
        tuple(("run", -1) for _ in range(J)): np.ones((G,) + (1,) * J)
    }
    terminal: dict[_Status, np.ndarray] = {}
    for k in range(design.n_looks):
        new_states: dict[_Status, np.ndarray] = {}
        for key, arr in states.items():
            # enrol the next patients of running cohorts
            for j, c in enumerate(design.cohorts):
                if key[j][0] == "run":
                    prev = c.looks[k - 1] if k > 0 else 0
                    arr = _advance(arr, j + 1, c.looks[k] - prev, rates[:, j])
            n = tuple(
                c.looks[k] if key[j][0] == "run" else c.looks[key[j][1]]
                for j, c in enumerate(design.cohorts)
            )
            masks = _decisions_cached(design, k, n)
            running = [j for j in range(J) if key[j][0] == "run"]
            last = k == design.n_looks - 1
            outcomes = ("succ", "fail") if last else ("run", "fut", "eff")
            for combo in itertools.product(outcomes, repeat=len(running)):
                weight = np.ones(arr.shape[1:], dtype=bool)
                new_key = list(key)
                for j, outcome in zip(running, combo, strict=True):
                    m = masks[design.cohorts[j].name]
                    if outcome in ("succ", "eff"):
                        sel = m["efficacy"]
                    elif outcome in ("fail", "fut"):
                        sel = m["futility"]
                    else:
                        sel = ~(m["futility"] | m["efficacy"])
                    weight &= sel
                    new_key[j] = (outcome, k)
                if not weight.any():
                    continue
                part = np.where(weight, arr, 0.0)
                tk = tuple(new_key)
                if all(s[0] != "run" for s in tk):
                    mass = part.reshape(G, -1).sum(axis=1)
                    terminal[tk] = terminal[tk] + mass if tk in terminal else mass
                elif tk in new_states:
                    new_states[tk] = new_states[tk] + part
                else:
                    new_states[tk] = part
        states = new_states
    return terminal


def _run_scenario(design: CohortDesign, scen: Scenario) -> dict[_Status, float]:
    """Probability of every terminal status tuple (per cohort: (status, look))."""
    rates = np.array([[scen.rate(c.name) for c in design.cohorts]])
    return {k: float(v[0]) for k, v in _run_batch(design, rates).items()}


def efficacy_matrix(design: CohortDesign, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Terminal probabilities and which cohorts each terminal state declares efficacious.

    Parameters
    ----------
    design : CohortDesign
    rates : ndarray, shape (G, J)

    Returns
    -------
    (T, E)
        ``T`` (G × S): probability of each of S terminal states per rate vector;
        ``E`` (S × J, bool): cohort j is declared efficacious in state s (early
        efficacy stop or final success). ``T @ E`` gives P(efficacy) per cohort.
    """
    batch = len(rates) if np.ndim(rates) else 1
    cost = cohort_cost(design, rates=batch)
    require_memory(cost.nbytes, _what(design), REMEDY_COHORTS, seconds=cost.seconds)
    term = _run_batch(design, rates)
    keys = sorted(term)
    G = np.asarray(rates).shape[0]
    T = np.stack([term[k] for k in keys], axis=1) if keys else np.zeros((G, 0))
    E = np.array(
        [[status in ("eff", "succ") for status, _ in k] for k in keys], dtype=bool
    ).reshape(len(keys), len(design.cohorts))
    return T, E


def _what(design: CohortDesign) -> str:
    """The exact lattice programme of ``design`` in words (for the size guard's message)."""
    sizes = ", ".join(str(c.looks[-1]) for c in design.cohorts)
    return (
        f"exact operating characteristics of {len(design.cohorts)}-cohort design "
        f"{design.name!r} ({sizes} patients)"
    )


def _summarise(
    design: CohortDesign, scen: Scenario, term: dict[_Status, float]
) -> dict[str, Any]:
    J = len(design.cohorts)
    K = design.n_looks
    stop = np.zeros((J, K, 2))  # futility, efficacy by look (final: fail / success)
    fwer = 0.0
    all_correct = 0.0
    roles = cohort_roles(design, scen)
    null = [r == "null" for r in roles]
    alt = [r == "alternative" for r in roles]
    for key, prob in term.items():
        eff = []
        for j, (status, k) in enumerate(key):
            is_eff = status in ("eff", "succ")
            stop[j, k, 1 if is_eff else 0] += prob
            eff.append(is_eff)
        if any(e and nl for e, nl in zip(eff, null, strict=True)):
            fwer += prob
        if _all_correct(eff, null, alt):
            all_correct += prob
    looks = np.array([c.looks for c in design.cohorts], dtype=float)
    p_n = stop.sum(axis=-1)
    en = (p_n * looks).sum(axis=1)
    sd = np.sqrt(np.maximum((p_n * looks**2).sum(axis=1) - en**2, 0.0))
    return {
        "p_efficacy": stop[..., 1].sum(axis=1),
        "p_futility": stop[:, :-1, 0].sum(axis=1),
        "p_early_stop": p_n[:, :-1].sum(axis=1),
        "expected_n": en,
        "sd_n": sd,
        "p_stop_at": stop,
        "fwer": fwer,
        "p_all_correct": all_correct,
        "roles": roles,
    }


def _all_correct(eff: Sequence[bool], null: Sequence[bool], alt: Sequence[bool]) -> bool:
    """Every cohort decided correctly: no efficacy where null, efficacy where alternative.

    A cohort whose rate is strictly between p0 and p1 (role ``other``) lies in the
    indifference zone: either decision is acceptable there, so it never makes a
    trial incorrect (with every cohort in that zone the trial is always correct).
    """
    return all(
        not (e and n) and not (a and not e) for e, n, a in zip(eff, null, alt, strict=True)
    )


def cohort_oc(design: CohortDesign, scenarios: Iterable[Scenario] | None = None) -> Any:
    """Exact OC of a multi-cohort design under each scenario.

    Returns
    -------
    xarray.Dataset
        Dims ``scenario``, ``cohort``, ``look``, ``reason`` (futility, efficacy);
        variables ``p_efficacy``, ``p_futility``, ``p_early_stop``, ``expected_n``,
        ``sd_n`` (scenario × cohort), ``p_stop_at`` (scenario × cohort × look ×
        reason; at the final look: fail / success), ``fwer`` (P(any cohort whose
        true rate is at or below its p0 is declared efficacious)) and
        ``p_all_correct`` (scenario: P(no null cohort declared efficacious and
        every alternative cohort declared efficacious); a cohort with role
        ``other`` is in the indifference zone, where either decision counts as
        correct); ``rate`` and ``role`` coordinates (scenario × cohort; roles
        from :func:`cohort_roles`: null at or below p0, alternative at or above
        p1, other in between); ``_mcse`` twins are 0 (exact).
    """
    import xarray as xr


    t0 = time.perf_counter()
    scen = tuple(design.scenarios if scenarios is None else scenarios)
    if not scen:
        raise fail("scenarios", "cohort_oc", "at least one joint Scenario", scen)
    for s in scen:
        if not (isinstance(s, Scenario) and s.joint):
            raise fail("scenarios", "cohort_oc", "joint Scenario objects (a rate per cohort)", s)
    cost = cohort_cost(design, dp_runs=len(scen))
    require_memory(cost.nbytes, _what(design), REMEDY_COHORTS, seconds=cost.seconds)
    rows = [_summarise(design, s, _run_scenario(design, s)) for s in scen]
    names = design.names

    def stack(key: str) -> np.ndarray:
        return np.stack([r[key] for r in rows])

    data = {
        "p_efficacy": (("scenario", "cohort"), stack("p_efficacy")),
        "p_futility": (("scenario", "cohort"), stack("p_futility")),
        "p_early_stop": (("scenario", "cohort"), stack("p_early_stop")),
        "expected_n": (("scenario", "cohort"), stack("expected_n")),
        "sd_n": (("scenario", "cohort"), stack("sd_n")),
        "p_stop_at": (("scenario", "cohort", "look", "reason"), stack("p_stop_at")),
        "fwer": (("scenario",), np.array([r["fwer"] for r in rows])),
        "p_all_correct": (("scenario",), np.array([r["p_all_correct"] for r in rows])),
    }
    for k in list(data):
        dims, v = data[k]
        data[f"{k}_mcse"] = (dims, np.zeros_like(v))
    rate = np.array([[s.rate(n) for n in names] for s in scen])
    role = np.array([r["roles"] for r in rows])
    ds = xr.Dataset(
        data,
        coords={
            "scenario": [s.name for s in scen],
            "cohort": names,
            "look": np.arange(1, design.n_looks + 1),
            "reason": ["futility", "efficacy"],
            "rate": (("scenario", "cohort"), rate),
            "role": (("scenario", "cohort"), role),
        },
        attrs=provenance(
            method="exact",
            engine="quadrature",
            design_name=design.name,
            design_hash=design.hash,
            model=design.model.describe(),
            n_sims=0,
            seed_entropy="",
            wall_time_s=round(time.perf_counter() - t0, 6),
        ),
    )
    return ds
