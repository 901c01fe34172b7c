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
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.provenance import provenance
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_choice, check_probability, check_real, fail
from adaptive2.engines.oc_schema import OCTable, cohort_coords
from adaptive2.engines.sizes import REMEDY_COHORTS
from adaptive2.kernels.binomial import binom_pmf
from adaptive2.kernels.joint import cell_probabilities
from adaptive2.kernels.sizes import cohort_cost
from adaptive2.model.cohorts import CohortDesign, _decisions_cached, cohort_roles
from adaptive2.model.scenarios import Scenario

__all__ = [
    "ToxicityInputs",
    "cohort_oc",
    "cohort_oc_table",
    "efficacy_matrix",
    "toxicity_inputs",
]


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

# Status tuple: per cohort (status, index): "run", "fut", "eff", "succ" or "fail" with
# the look, or "tox" with the toxicity check (0-based) at which the cohort stopped.
_Status = tuple[tuple[str, int], ...]


@dataclass(frozen=True, eq=False)
class ToxicityInputs:
    """Per-cohort toxicity monitoring for the lattice DP (cohorts without one: empty).

    Attributes
    ----------
    checks : tuple of tuple of int
        Per cohort, the patient counts at which its toxicity rule is checked.
    counts : tuple of tuple of int
        Per cohort and check, the stopping count: stop if events >= count.
    cells : ndarray, shape (G, J, 4)
        Per rate vector and cohort, the probabilities of the four outcomes of a
        patient (response and event, response only, event only, neither;
        :data:`adaptive2.kernels.joint.CELLS`).
    """

    checks: tuple[tuple[int, ...], ...]
    counts: tuple[tuple[int, ...], ...]
    cells: np.ndarray

    def rows(self, part: slice) -> ToxicityInputs:
        """The same monitoring for a slice of the rate vectors."""
        return ToxicityInputs(self.checks, self.counts, self.cells[part])


def _take(arr: np.ndarray, axis: int, part: slice) -> np.ndarray:
    index: list[slice] = [slice(None)] * arr.ndim
    index[axis] = part
    return arr[tuple(index)]


def _step_joint(arr: np.ndarray, ra: int, ea: int, cells: np.ndarray) -> np.ndarray:
    """One more patient in one cohort: (r, e) → (r + response, e + event).

    ``cells`` (G × 4) holds each batch row's four outcome probabilities.
    """
    shape = list(arr.shape)
    shape[ra] += 1
    shape[ea] += 1
    out = np.zeros(shape)
    bshape = (cells.shape[0],) + (1,) * (arr.ndim - 1)
    nr, ne = arr.shape[ra], arr.shape[ea]
    for i, (dr, de) in enumerate(((1, 1), (1, 0), (0, 1), (0, 0))):
        index: list[slice] = [slice(None)] * arr.ndim
        index[ra] = slice(dr, dr + nr)
        index[ea] = slice(de, de + ne)
        out[tuple(index)] += arr * cells[:, i].reshape(bshape)
    return out


def _enrol(
    key: _Status,
    arr: np.ndarray,
    j: int,
    n_from: int,
    n_to: int,
    rate: np.ndarray,
    tox: ToxicityInputs | None,
) -> list[tuple[_Status, np.ndarray]]:
    """Enrol cohort ``j`` from ``n_from`` to ``n_to`` patients, checking toxicity on the way.

    Returns the part still running and the parts stopped for toxicity at each
    check passed (the cohort's data then stay at the check's size; its event
    axis is summed out). Events above a check's stopping count cannot continue,
    so the event axis is cut there; after the cohort's last check it is summed out.
    """
    J = len(key)
    ra, ea = 1 + j, 1 + J + j
    checks = tox.checks[j] if tox is not None else ()
    out: list[tuple[_Status, np.ndarray]] = []
    cur = n_from
    for t, m in enumerate(checks):
        if not n_from < m <= n_to:
            continue
        assert tox is not None
        for _ in range(m - cur):
            arr = _step_joint(arr, ra, ea, tox.cells[:, j])
        cur = m
        c = tox.counts[j][t]
        if c < arr.shape[ea]:
            stopped = _take(arr, ea, slice(c, None)).sum(axis=ea, keepdims=True)
            if stopped.any():
                tk = list(key)
                tk[j] = ("tox", t)
                out.append((tuple(tk), stopped))
            arr = _take(arr, ea, slice(0, c))
        if t == len(checks) - 1:
            arr = arr.sum(axis=ea, keepdims=True)
    if cur < n_to:
        if any(m > cur for m in checks):
            assert tox is not None
            for _ in range(n_to - cur):
                arr = _step_joint(arr, ra, ea, tox.cells[:, j])
        else:
            arr = _advance(arr, ra, n_to - cur, rate)
    out.append((key, arr))
    return out


def _size(design: CohortDesign, tox: ToxicityInputs | None, j: int, status: tuple[str, int],
          k: int) -> int:
    """Cohort ``j``'s patients at look ``k`` in ``status`` (its data at stopping if stopped)."""
    kind, at = status
    if kind == "run":
        return int(design.cohorts[j].looks[k])
    if kind == "tox":
        assert tox is not None
        return int(tox.checks[j][at])
    return int(design.cohorts[j].looks[at])


def _add(store: dict[_Status, np.ndarray], key: _Status, arr: np.ndarray) -> None:
    if key in store:
        store[key] = store[key] + arr
    else:
        store[key] = arr


def _run_batch(
    design: CohortDesign, rates: np.ndarray, tox: ToxicityInputs | None = None
) -> dict[_Status, np.ndarray]:
    """Probability of every terminal status tuple, for a batch of true-rate vectors.

    Parameters
    ----------
    design : CohortDesign
    rates : ndarray, shape (G, J)
        One row of true rates (in cohort order) per scenario.
    tox : ToxicityInputs, optional
        Per-cohort toxicity monitoring (checks, stopping counts and the four
        outcome probabilities per row). Without it no cohort stops for toxicity.

    Returns
    -------
    dict
        Terminal status tuple (per cohort: (status, look), or ("tox", check))
        → probability, an array of shape (G,). The decision masks do not
        depend on the rates, so the whole batch runs through one dynamic
        programme (in chunks that keep each state array below
        ``_BATCH_ELEMENTS`` elements). A toxicity check on the same patient as
        a look acts first (as in the single-cohort engine).

    Notes
    -----
    Each state array has a batch axis, one response axis per cohort and one
    event axis per cohort (of length 1 where events no longer matter: no
    monitor, or past its last check, or stopped). Toxicity is monitored per
    cohort, without borrowing; a cohort stopped for toxicity keeps informing
    the others with its data at the check.
    """
    rates = np.asarray(rates, dtype=float)
    J = len(design.cohorts)
    if rates.ndim != 2 or rates.shape[1] != J:
        raise fail("rates", "_run_batch", f"an array of shape (G, {J})", rates.shape)
    cells = int(np.prod([c.looks[-1] + 1 for c in design.cohorts]))
    if tox is not None:
        cells *= int(np.prod([c.looks[-1] + 1 if tox.checks[j] else 1
                              for j, c in enumerate(design.cohorts)]))
    chunk = max(1, _BATCH_ELEMENTS // cells)
    if rates.shape[0] > chunk:
        bounds = [slice(i, i + chunk) for i in range(0, len(rates), chunk)]
        parts = [_run_batch(design, rates[b], None if tox is None else tox.rows(b))
                 for b in bounds]
        keys = {k for p in parts for k in p}
        zero = [np.zeros(len(rates[b])) for b in bounds]
        return {
            k: np.concatenate([p.get(k, z) for p, z in zip(parts, zero, strict=True)])
            for k in keys
        }
    G = rates.shape[0]
    states: dict[_Status, np.ndarray] = {
        tuple(("run", -1) for _ in range(J)): np.ones((G,) + (1,) * (2 * J))
    }
    terminal: dict[_Status, np.ndarray] = {}
    for k in range(design.n_looks):
        # enrol the next patients of running cohorts (toxicity checks on the way)
        enrolled: dict[_Status, np.ndarray] = {}
        for key0, arr0 in states.items():
            pieces: list[tuple[_Status, np.ndarray]] = [(key0, arr0)]
            for j, c in enumerate(design.cohorts):
                if key0[j][0] != "run":
                    continue
                prev = c.looks[k - 1] if k > 0 else 0
                pieces = [
                    piece
                    for key, arr in pieces
                    for piece in (
                        _enrol(key, arr, j, prev, c.looks[k], rates[:, j], tox)
                        if key[j][0] == "run"
                        else [(key, arr)]
                    )
                ]
            for key, arr in pieces:
                _add(enrolled, key, arr)
        new_states: dict[_Status, np.ndarray] = {}
        for key, arr in enrolled.items():
            n = tuple(_size(design, tox, j, key[j], k) for j in range(J))
            running = [j for j in range(J) if key[j][0] == "run"]
            if not running:  # every cohort stopped (the last for toxicity) since the last look
                _add(terminal, key, arr.reshape(G, -1).sum(axis=1))
                continue
            masks = _decisions_cached(design, k, n)
            last = k == design.n_looks - 1
            outcomes = ("succ", "fail") if last else ("run", "fut", "eff")
            for combo in itertools.product(outcomes, repeat=len(running)):
                weight = np.ones(arr.shape[1 : 1 + J], dtype=bool)
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
                part = np.where(weight.reshape(weight.shape + (1,) * J), arr, 0.0)
                for j, outcome in zip(running, combo, strict=True):
                    if outcome != "run" and part.shape[1 + J + j] > 1:
                        part = part.sum(axis=1 + J + j, keepdims=True)  # events end with it
                tk = tuple(new_key)
                if all(s[0] != "run" for s in tk):
                    _add(terminal, tk, part.reshape(G, -1).sum(axis=1))
                else:
                    _add(new_states, tk, part)
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
    if design.toxicity is not None:
        raise DesignError(
            f"CohortDesign {design.name!r} monitors toxicity, and the type I error searches and "
            "calibrations built on efficacy_matrix do not: a cohort stopped for toxicity changes "
            "the data the others borrow from, so an efficacy-only figure would be no bound. "
            "Use cohort_oc for its OC, or dataclasses.replace(design, toxicity=None) for the "
            "efficacy rules alone."
        )
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
    design: CohortDesign,
    scen: Scenario,
    term: dict[_Status, float],
    checks: tuple[tuple[int, ...], ...] | None = None,
) -> dict[str, Any]:
    """The OC of one scenario from its terminal probabilities.

    ``checks`` (per cohort, the toxicity checks' patient counts) is given for a
    design with toxicity monitoring: a cohort stopped for toxicity is neither a
    futility stop nor a success, and enrols the patients of its check.
    """
    J = len(design.cohorts)
    K = design.n_looks
    T = max((len(c) for c in checks), default=0) if checks else 0
    stop = np.zeros((J, K, 2))  # futility, efficacy by look (final: fail / success)
    tox_at = np.zeros((J, T))
    fwer = 0.0
    all_correct = 0.0
    roles = cohort_roles(design, scen)
    null = [r == "null" for r in roles]
    alt = [r == "alternative" for r in roles]
    for key, prob in term.items():
        eff = []
        for j, (status, k) in enumerate(key):
            is_eff = status in ("eff", "succ")
            if status == "tox":
                tox_at[j, k] += prob
            else:
                stop[j, k, 1 if is_eff else 0] += prob
            eff.append(is_eff)
        if any(e and nl for e, nl in zip(eff, null, strict=True)):
            fwer += prob
        if _all_correct(eff, null, alt):
            all_correct += prob
    looks = np.array([c.looks for c in design.cohorts], dtype=float)
    p_n = stop.sum(axis=-1)
    n_max = looks[:, -1]
    at = np.zeros((J, T))  # patients at each toxicity check
    for j, c in enumerate(checks or ()):
        at[j, : len(c)] = c
    en = (p_n * looks).sum(axis=1) + (tox_at * at).sum(axis=1)
    second = (p_n * (looks - en[:, None]) ** 2).sum(axis=1)
    second += (tox_at * (at - en[:, None]) ** 2).sum(axis=1)
    early = p_n[:, :-1].sum(axis=1) + np.where(at < n_max[:, None], tox_at, 0.0).sum(axis=1)
    out = {
        "p_efficacy": stop[..., 1].sum(axis=1),
        "p_futility": stop[:, :-1, 0].sum(axis=1),
        "p_early_stop": early,
        "expected_n": en,
        "sd_n": np.sqrt(np.maximum(second, 0.0)),
        "p_stop_at": stop,
        "fwer": fwer,
        "p_all_correct": all_correct,
        "roles": roles,
    }
    if checks is not None:
        out["p_stop_toxicity"] = tox_at.sum(axis=1)
        out["p_stop_toxicity_at"] = tox_at
    return out


def _all_correct(eff: Sequence[bool], null: Sequence[bool], alt: Sequence[bool]) -> bool:
    """Every cohort decided correctly: no efficacy where null, efficacy where alternative.

    A cohort whose rate is strictly between p0 and p1 (role ``other``) lies in the
    indifference zone: either decision is acceptable there, so it never makes a
    trial incorrect (with every cohort in that zone the trial is always correct).
    """
    return all(
        not (e and n) and not (a and not e) for e, n, a in zip(eff, null, alt, strict=True)
    )


def _tox_rows(
    design: CohortDesign,
    scen: Sequence[Scenario],
    tox: Sequence[float] | float | str | None,
    odds_ratio: float | None,
) -> list[tuple[Scenario, str, tuple[float, ...], tuple[float, ...]]]:
    """The scenarios crossed with toxicity rates: (scenario, name, q per cohort, ψ per cohort).

    Toxicity-major, as for a single-cohort design
    (:func:`adaptive2.engines.toxicity_oc.oc_toxicity`): with ``tox`` every
    monitored cohort has each rate in turn (scenarios named ``"<scenario>,
    q=<rate>"`` when there are several); without it a scenario's own
    per-cohort ``toxicity`` is used (the scenario appears once, a cohort it
    leaves out at its monitor's ``acceptable`` rate); else each scenario appears
    with every cohort at its monitor's ``acceptable`` rate, then at its
    ``limit``. Unmonitored cohorts get NaN. The odds ratio is ``odds_ratio``,
    else the scenario's own, else 1.
    """
    monitors = [design.toxicity_of(n) for n in design.names]
    if odds_ratio is not None:
        odds_ratio = check_real(
            odds_ratio, "odds_ratio", "cohort_oc", low=0.0, low_open=True, finite=True,
            allowed="a finite number > 0 (1: response and toxicity independent)",
        )
    blocks: list[tuple[str, tuple[float, ...] | None]]
    if isinstance(tox, str):
        check_choice(tox, "tox", "cohort_oc", ("acceptable", "limit"))
        blocks = [(f"q={tox}", tuple(getattr(m, tox) if m else math.nan for m in monitors))]
    elif tox is not None:
        seq = [tox] if isinstance(tox, int | float) and not isinstance(tox, bool) else tox
        if isinstance(seq, str | bytes) or not isinstance(seq, Sequence | np.ndarray):
            raise fail("tox", "cohort_oc", "true toxicity rates in [0, 1]", tox)
        rates = [check_probability(q, "tox", "cohort_oc", closed=True) for q in seq]
        if not rates or len(set(rates)) != len(rates):
            raise fail("tox", "cohort_oc", "a non-empty list of distinct toxicity rates in [0, 1]",
                       rates)
        blocks = [(f"q={q:.4g}", tuple(q for _ in monitors)) for q in rates]
    else:
        blocks = []
        for word in ("acceptable", "limit"):
            values = {getattr(m, word) for m in monitors if m is not None}
            label = f"q={values.pop():.4g}" if len(values) == 1 else f"q={word}"
            blocks.append((label, tuple(getattr(m, word) if m else math.nan for m in monitors)))
    rows = []
    for i, (label, qs) in enumerate(blocks):
        for s in scen:
            own = [s.tox_rate(n) for n in design.names] if tox is None or isinstance(tox, str) \
                else []
            if any(q is not None for q in own):
                if i > 0:
                    continue  # a scenario with its own toxicity rates appears once
                base = blocks[0][1] or ()
                q_row = tuple(
                    math.nan if m is None else (o if o is not None else b)
                    for m, o, b in zip(monitors, own, base, strict=True)
                )
                name = s.name
            else:
                q_row = tuple(math.nan if m is None else q
                              for m, q in zip(monitors, qs or (), strict=True))
                name = s.name if len(blocks) == 1 else f"{s.name}, {label}"
            psi = tuple(
                odds_ratio if odds_ratio is not None
                else (s.odds_ratio_of(n) if s.odds_ratio_of(n) is not None else 1.0)
                for n in design.names
            )
            rows.append((s, name, q_row, cast(tuple[float, ...], psi)))
    names = [r[1] for r in rows]
    if len(set(names)) != len(names):
        raise fail("scenarios", "cohort_oc", "crossed scenarios with distinct names", names)
    return rows


def toxicity_inputs(
    design: CohortDesign, rates: np.ndarray, q: np.ndarray, psi: np.ndarray
) -> ToxicityInputs:
    """The DP's toxicity inputs for rows of true rates, toxicity rates and odds ratios (G × J).

    Unmonitored cohorts (NaN toxicity rate allowed) get no checks.
    """
    monitors = [design.toxicity_of(n) for n in design.names]
    qq = np.where(np.isnan(q), 0.0, q)
    cells = cell_probabilities(rates, qq, psi)  # G × J × 4
    checks = tuple(tuple(int(x) for x in m.monitor) if m else () for m in monitors)
    counts = tuple(tuple(int(x) for x in m.boundaries()) if m else () for m in monitors)
    return ToxicityInputs(checks, counts, np.ascontiguousarray(cells))


def cohort_oc(
    design: CohortDesign,
    scenarios: Iterable[Scenario] | None = None,
    *,
    tox: Sequence[float] | float | str | None = None,
    odds_ratio: float | None = None,
) -> Any:
    """Exact OC of a multi-cohort design under each scenario.

    Parameters
    ----------
    design : CohortDesign
    scenarios : iterable of Scenario, optional
        Joint scenarios (a rate per cohort); default: the design's.
    tox : float, sequence of float, "acceptable" or "limit", optional
        For a design with toxicity monitors: true toxicity rates, each given to
        every monitored cohort in turn and crossed with the scenarios
        (toxicity-major); or each monitor's own ``acceptable`` (``limit``)
        rate alone, the scenario names unchanged. Default: a scenario's own
        ``toxicity``, else each monitor's ``acceptable`` rate, then its ``limit``.
    odds_ratio : float, optional
        Odds ratio between response and toxicity in a patient (default: the
        scenario's own, else 1: independent).

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

        A design with toxicity monitors (``CohortDesign.toxicity``) adds
        ``p_stop_toxicity`` (scenario × cohort), ``p_stop_toxicity_at``
        (scenario × cohort × ``tox_check``), ``tox_check_n`` (cohort ×
        tox_check; 0 past a cohort's last check) and the coordinates
        ``toxicity_rate`` and ``odds_ratio`` (scenario × cohort; NaN rate for an
        unmonitored cohort). Each cohort's toxicity is checked at its monitor's
        patient counts (before the efficacy rules on the same patient) without
        borrowing; a cohort stopped for toxicity declares nothing, enrols the
        patients of its check, and keeps informing the others with its data
        there. Then ``p_efficacy + p_futility + p_stop_at[final, fail] +
        p_stop_toxicity = 1`` per cohort; ``p_early_stop``, ``expected_n`` and
        ``sd_n`` count toxicity stops.
    """
    return cohort_oc_table(design, scenarios, tox=tox, odds_ratio=odds_ratio).to_dataset()


def cohort_oc_table(
    design: CohortDesign,
    scenarios: Iterable[Scenario] | None = None,
    *,
    tox: Sequence[float] | float | str | None = None,
    odds_ratio: float | None = None,
) -> OCTable:
    """The numbers of :func:`cohort_oc` as plain arrays (no xarray, no pandas).

    ``cohort_oc(...)`` is ``cohort_oc_table(...).to_dataset()``; the command line
    prints from this.
    """
    t0 = time.perf_counter()
    scen = tuple(design.scenarios if scenarios is None else scenarios)
    if not scen:
        raise fail("scenarios", "cohort_oc", "at least one joint Scenario", scen)
    for s in scen:
        if not (isinstance(s, Scenario) and s.joint):
            raise fail("scenarios", "cohort_oc", "joint Scenario objects (a rate per cohort)", s)
    monitored = design.toxicity is not None
    if not monitored and (tox is not None or odds_ratio is not None):
        given = "tox" if tox is not None else "odds_ratio"
        raise fail(given, "cohort_oc", "None for a design without toxicity monitors", tox
                   if tox is not None else odds_ratio)
    names = design.names
    if monitored:
        trows = _tox_rows(design, scen, tox, odds_ratio)
    else:
        trows = [(s, s.name, (), ()) for s in scen]
    cost = cohort_cost(design, dp_runs=len(trows))
    require_memory(cost.nbytes, _what(design), REMEDY_COHORTS, seconds=cost.seconds)
    if monitored:
        rates_m = np.array([[s.rate(n) for n in names] for s, _, _, _ in trows])
        q = np.array([r[2] for r in trows], dtype=float)
        psi = np.array([r[3] for r in trows], dtype=float)
        tin = toxicity_inputs(design, rates_m, q, psi)
        batch = _run_batch(design, rates_m, tin)
        rows = [
            _summarise(design, s, {k: float(v[i]) for k, v in batch.items()}, tin.checks)
            for i, (s, _, _, _) in enumerate(trows)
        ]
    else:
        rows = [_summarise(design, s, _run_scenario(design, s)) for s in scen]

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
    if monitored:
        data["p_stop_toxicity"] = (("scenario", "cohort"), stack("p_stop_toxicity"))
        data["p_stop_toxicity_at"] = (("scenario", "cohort", "tox_check"),
                                      stack("p_stop_toxicity_at"))
    for k in list(data):
        dims, v = data[k]
        data[f"{k}_mcse"] = (dims, np.zeros_like(v))
    coords = cohort_coords(design, [s for s, _, _, _ in trows], [n for _, n, _, _ in trows])
    extra: dict[str, Any] = {}
    if monitored:
        T = max(len(c) for c in tin.checks)
        at = np.zeros((len(names), T), dtype=int)
        for j, c in enumerate(tin.checks):
            at[j, : len(c)] = c
        data["tox_check_n"] = (("cohort", "tox_check"), at)
        coords["tox_check"] = np.arange(1, T + 1)
        coords["toxicity_rate"] = (("scenario", "cohort"), q)
        coords["odds_ratio"] = (("scenario", "cohort"), psi)
        extra["toxicity"] = "; ".join(
            f"{n}: {m.describe()}" for n in names if (m := design.toxicity_of(n)) is not None
        )
    return OCTable(
        data,
        coords=coords,
        attrs=provenance(
            method="exact",
            engine="quadrature",
            design_name=design.name,
            design_hash=design.hash,
            model=design.model.describe(),
            n_sims=0,
            seed_entropy="",
            wall_time_s=round(time.perf_counter() - t0, 6),
            **extra,
        ),
    )
