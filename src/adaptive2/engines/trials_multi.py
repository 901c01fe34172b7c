"""Simulated trials of multi-cohort designs analysed jointly with a borrowing model.

Each cohort has its own patients and conduct; analysis k happens when every
still-active cohort has its look-k outcomes, and decisions are looked up in the
design's lattice decision tables at the realised sizes (see
:mod:`adaptive2.engines.montecarlo`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import Adaptive2Error
from adaptive2._base.provenance import provenance
from adaptive2._base.rng import stream
from adaptive2._base.validation import fail
from adaptive2.engines.simulation_summaries import (
    QUANTILES,
    _collect,
    _quantiles,
    _Results,
    _sketch,
    _Task,
)
from adaptive2.engines.trials_single import _enrolled, _patients, _pause_shift, _positions, _trigger
from adaptive2.kernels.quadrature import lattice
from adaptive2.model.cohorts import _decisions_cached
from adaptive2.model.conduct import Conduct
from adaptive2.model.scenarios import Scenario, _role

# ---------------------------------------------------------------------------
# Several cohorts analysed jointly (CohortDesign)
# ---------------------------------------------------------------------------
LEVEL = 0.95  # credible level of the interval whose coverage is reported

#: One Conduct per cohort, as (cohort name, Conduct) pairs in cohort order.
_Conducts = tuple[tuple[str, Conduct], ...]


def _is_cohort_design(x: Any) -> bool:
    """True for a ``CohortDesign`` (its module is loaded iff one exists: keeps imports light)."""
    module = sys.modules.get("adaptive2.model.cohorts")
    return module is not None and isinstance(x, module.CohortDesign)


def _cohort_key(cohort: str, p: float) -> int:
    """Stable 32-bit stream key of a cohort's patients at true rate ``p``."""
    digest = hashlib.sha256(f"cohort\x00{cohort}\x00{float(p)!r}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _cohort_conducts(conduct: Any, names: list[str]) -> _Conducts:
    """One Conduct per cohort, in cohort order."""
    if conduct is None:
        conduct = Conduct()
    if isinstance(conduct, Conduct):
        return tuple((c, conduct) for c in names)
    allowed = f"a Conduct, or a mapping giving a Conduct for each cohort of {names}"
    if not isinstance(conduct, Mapping):
        raise fail("conduct", "simulate", allowed, conduct)
    if set(conduct) != set(names):
        raise fail("conduct", "simulate", allowed, sorted(conduct))
    bad = {c: v for c, v in conduct.items() if not isinstance(v, Conduct)}
    if bad:
        raise fail("conduct", "simulate", allowed, bad)
    return tuple((c, conduct[c]) for c in names)


def _cohort_scenarios(scenarios: Any, designs: Sequence[Any]) -> tuple[Any, ...]:
    """Joint scenarios (mappings accepted), each with a rate for every cohort."""
    items = list(designs[0].scenarios if scenarios is None else scenarios)
    allowed = "joint Scenario objects (or mappings with `name` and a rate per cohort)"
    if not items:
        raise fail("scenarios", "simulate", allowed, items)
    out = []
    for s in items:
        if isinstance(s, Mapping):
            d = dict(s)
            name = d.pop("name", None)
            s = Scenario(name, rates=d)
        if not (isinstance(s, Scenario) and s.joint):
            raise fail("scenarios", "simulate", allowed, s)
        for c in designs[0].names:
            s.rate(c)  # every cohort needs a true rate
        out.append(s)
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise fail("scenarios", "simulate", "scenarios with distinct names", names)
    return tuple(out)


@dataclass(frozen=True)
class _Tables:
    """Decision and estimate tables of one CohortDesign for one scenario.

    ``masks[(k, n)]``: (futility, efficacy) boolean stacks (cohort, *lattice) at look
    k and size tuple n (at the last look efficacy = success). ``estimates[n]``:
    (posterior means, 95%-interval-covers-the-truth) stacks (cohort, *lattice).
    """

    masks: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, np.ndarray]]
    estimates: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class _MultiSetup:
    """What a worker needs besides the designs: conduct per cohort and the tables.

    The tables are computed once, in the calling process, for every size tuple a
    trial can reach, and shipped with each task: the quadrature engine's last bits
    depend on the BLAS thread count, which differs between processes (Dask workers
    run single-threaded), so computing them in the workers could break the
    bit-identity of results across worker counts.
    """

    conduct: _Conducts
    tables: dict[str, _Tables]

    @staticmethod
    def factory(
        designs: Sequence[Any], conduct: _Conducts
    ) -> Callable[[_Task], _MultiSetup]:
        """``task -> _MultiSetup`` for the task's scenario; tables built on first use."""
        cache: dict[int, _MultiSetup] = {}
        masks: dict[str, Any] = {}

        def setup(task: _Task) -> _MultiSetup:
            if task.scenario not in cache:
                if not masks:
                    masks.update({d.name: _decision_tables(d) for d in designs})
                true = dict(cast(tuple[tuple[str, float], ...], task.p))
                cache[task.scenario] = _MultiSetup(
                    conduct,
                    {
                        d.name: _Tables(
                            masks[d.name], _estimate_tables_multi(d, masks[d.name], true)
                        )
                        for d in designs
                    },
                )
            return cache[task.scenario]

        return setup


def _sizes(design: Any, status: tuple[int, ...], k: int) -> tuple[int, ...]:
    """Size tuple at look k; status per cohort: look it stopped at, or K if still active."""
    K = design.n_looks
    return tuple(c.looks[k if s == K else s] for c, s in zip(design.cohorts, status, strict=True))


def _decision_tables(design: Any) -> dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, ...]]:
    """Decision masks at every (look, size tuple) a trial can reach.

    Forward over the looks, as the exact engine: a cohort can stop at an interim
    look if its futility or efficacy mask is non-empty there; a trial goes on while
    any cohort is active. Stopped cohorts keep their size at stopping.
    """
    K, J = design.n_looks, len(design.cohorts)
    tables: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, ...]] = {}
    current = {(K,) * J}
    for k in range(K):
        following: set[tuple[int, ...]] = set()
        for status in sorted(current):
            n = _sizes(design, status, k)
            masks = _decisions_cached(design, k, n)
            fut = np.stack([masks[c.name]["futility"] for c in design.cohorts])
            eff = np.stack([masks[c.name]["efficacy"] for c in design.cohorts])
            tables[(k, n)] = (fut, eff)
            options = [
                (s,) if s != K else ((K, k) if (fut[j] | eff[j]).any() else (K,))
                for j, s in enumerate(status)
            ]
            following.update(x for x in itertools.product(*options) if K in x)
        current = following
    return tables


def _estimate_tables_multi(
    design: Any,
    masks: Mapping[tuple[int, tuple[int, ...]], tuple[np.ndarray, ...]],
    true: Mapping[str, float],
) -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
    """Posterior means and interval coverage of the true rates at every stopping size tuple."""
    K = design.n_looks
    half = (1 - LEVEL) / 2
    out = {}
    for (k, n), (fut, eff) in masks.items():
        if n in out or (k < K - 1 and not (fut | eff).any()):
            continue
        res = lattice(
            design.model,
            design.cohorts,
            n,
            thresholds={c.name: true[c.name] for c in design.cohorts},
            grid=design.grid,
        )
        above = np.stack([res.p_above[c.name] for c in design.cohorts])
        out[n] = (
            np.stack([res.mean[c.name] for c in design.cohorts]),
            (above >= half) & (above <= 1 - half),
        )
    return out


def _multi_chunk(
    designs: Sequence[Any],
    setup: _MultiSetup,
    root: np.random.SeedSequence,
    task: _Task,
    chunk_size: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Statistics of one chunk of one scenario for every multi-cohort design."""
    conducts = dict(setup.conduct)
    task_p = cast(tuple[tuple[str, float], ...], task.p)
    rates = dict(task_p)
    names = [c for c, _ in task_p]
    pats = {}
    for c, key in zip(names, cast(tuple[int, ...], task.key), strict=True):
        n_max = max(d.cohorts[d.names.index(c)].looks[-1] for d in designs)

        def blocks(b: int, key: int = key) -> np.random.Generator:
            return stream(root, key, task.chunk, b)

        pats[c] = _patients(
            conducts[c],
            rates[c],
            n_max,
            blocks,
            task.size,
            chunk_size,
        )
    raw = {
        d.name: _one_cohort_design(d, setup.tables[d.name], pats, conducts, rates, names)
        for d in designs
    }
    stats = {d.name: _multi_chunk_stats(raw[d.name], [rates[c] for c in names]) for d in designs}
    # paired differences against the first design (common random numbers)
    ref = raw[designs[0].name]
    for d in designs:
        res = raw[d.name]
        de = (res["reason"] == 1).astype(float) - (ref["reason"] == 1)
        dn = res["enrolled"].astype(float) - ref["enrolled"]
        df = res["fwer"].astype(float) - ref["fwer"]
        stats[d.name]["paired_eff"] = _moments(de, 2)
        stats[d.name]["paired_enrolled"] = _moments(dn, 2)
        stats[d.name]["paired_fwer"] = _moments(df, 2)
    return stats


def _one_cohort_design(
    design: Any,
    tables: _Tables,
    pats: Mapping[str, tuple[np.ndarray, ...]],
    conducts: Mapping[str, Conduct],
    rates: Mapping[str, float],
    names: Sequence[str],
) -> dict[str, np.ndarray]:
    """Conduct of ``size`` trials of one CohortDesign; arrays (cohort, trial) in ``names`` order.

    Looks are joint (module docstring). Per look the active cohorts' trigger times
    and first-``n_jk`` responses are computed for all trials at once; decisions
    and estimates are looked up in the lattice tables, one look-up per distinct
    size tuple.
    """
    cohorts = design.cohorts
    J, K = len(cohorts), design.n_looks
    size = pats[cohorts[0].name][0].shape[0]
    rows = np.arange(size)
    lags = np.array([conducts[c.name].decision_lag for c in cohorts])
    track = []
    for c in cohorts:
        gaps, evaluable, response, delay, ev_rank = pats[c.name]
        pos_of = _positions(ev_rank, c.looks[-1])
        last_needed = pos_of[:, -1]  # index of the N-th evaluable patient (enrolment closes)
        track.append(
            {
                "evaluable": evaluable,
                "response": response,
                "delay": delay,
                "pos_of": pos_of,
                "last_needed": last_needed,
                "enrolled_mask": np.arange(gaps.shape[1])[None, :] <= last_needed[:, None],
                "arrival": conducts[c.name].arrival_times(gaps),
            }
        )
    alive = np.ones((J, size), dtype=bool)
    stop_look = np.full((J, size), K - 1)
    reason = np.full((J, size), -1)  # 0 futility (final: no success), 1 efficacy
    t_stop = np.zeros((J, size))
    r_cur = np.zeros((J, size), dtype=int)
    n_cur = np.zeros((J, size), dtype=int)
    t_decision = np.full((J, size, K), np.nan)
    post_mean = np.full((J, size), np.nan)
    covered = np.zeros((J, size), dtype=bool)
    last_dec = np.zeros(size)
    for k in range(K):
        trig = np.full((J, size), -np.inf)
        for j, c in enumerate(cohorts):
            if not alive[j].any():
                continue
            tr = track[j]
            t_j, r_j = _trigger(
                conducts[c.name],
                tr["arrival"],
                tr["delay"],
                tr["evaluable"],
                tr["response"],
                tr["enrolled_mask"],
                tr["pos_of"][:, c.looks[k] - 1],
                c.looks[k],
            )
            trig[j] = np.where(alive[j], t_j, -np.inf)
            r_cur[j] = np.where(alive[j], r_j, r_cur[j])
            n_cur[j] = np.where(alive[j], c.looks[k], n_cur[j])
        active = alive.any(axis=0)
        t_dec = np.maximum(trig.max(axis=0), last_dec)[None, :] + lags[:, None]  # (J, size)
        t_decision[:, :, k] = np.where(alive, t_dec, np.nan)
        stopping = np.zeros((J, size), dtype=bool)
        efficacy = np.zeros((J, size), dtype=bool)
        # group trials by status (look at which each cohort stopped, K = active)
        status = np.where(alive, K, stop_look)
        code = (status * ((K + 1) ** np.arange(J))[:, None]).sum(axis=0)
        for value in np.unique(code[active]):
            idx = np.flatnonzero(active & (code == value))
            st = status[:, idx[0]]
            n = _sizes(design, tuple(int(s) for s in st), k)
            if (k, n) not in tables.masks:
                raise Adaptive2Error(f"internal: no decision table at look {k + 1}, sizes {n}.")
            fut, eff = tables.masks[(k, n)]
            at = (slice(None), *r_cur[:, idx])  # (cohort, trial) look-ups
            act = st == K
            stop_g = np.ones((J, idx.size), dtype=bool) if k == K - 1 else fut[at] | eff[at]
            stop_g &= act[:, None]
            stopping[:, idx] = stop_g
            efficacy[:, idx] = eff[at] & act[:, None]
            if stop_g.any():
                mean, cover = tables.estimates[n]
                post_mean[:, idx] = np.where(stop_g, mean[at], post_mean[:, idx])
                covered[:, idx] = np.where(stop_g, cover[at], covered[:, idx])
        reason[stopping] = np.where(efficacy[stopping], 1, 0)
        stop_look[stopping] = k
        t_stop[stopping] = t_dec[stopping]
        last_dec = np.where(active, np.where(alive, t_dec, -np.inf).max(axis=0), last_dec)
        alive &= ~stopping
        for j, c in enumerate(cohorts):
            if k < K - 1 and conducts[c.name].on_interim == "pause" and alive[j].any():
                # paused after its n_k-th evaluable patient until its decision
                tr = track[j]
                shifted = _pause_shift(tr["arrival"], tr["pos_of"][:, c.looks[k] - 1], t_dec[j])
                tr["arrival"] = np.where(alive[j][:, None], shifted, tr["arrival"])
    enrolled = np.zeros((J, size), dtype=int)
    for j, c in enumerate(cohorts):
        tr = track[j]
        pos_stop = tr["pos_of"][rows, np.asarray(c.looks)[stop_look[j]] - 1] + 1
        enrolled[j] = _enrolled(
            conducts[c.name],
            tr["arrival"],
            t_stop[j],
            stop_look[j] == K - 1,
            tr["last_needed"] + 1,
            pos_stop,
        )
    roles = [_role(rates[c.name], c.p0, c.p1) for c in cohorts]
    null = np.array([r == "null" for r in roles])[:, None]
    alt = np.array([r == "alternative" for r in roles])[:, None]
    eff = reason == 1
    order = [design.names.index(c) for c in names]
    return {
        "stop_look": stop_look[order],
        "reason": reason[order],
        "n_analysed": n_cur[order],
        "enrolled": enrolled[order],
        "duration": t_stop[order],
        "trial_duration": t_stop.max(axis=0),
        "t_decision": t_decision[order],
        "post_mean": post_mean[order],
        "covered": covered[order],
        "fwer": (eff & null).any(axis=0),
        # correct: no efficacy where null, efficacy where alternative; a cohort in
        # between (role "other", the indifference zone) is correct either way
        "all_correct": (~(eff & null) & ~(alt & ~eff)).all(axis=0),
        "n_drawn": np.array([pats[c][0].shape[1] for c in names]),
    }


def _moments(x: np.ndarray, order: int = 4) -> np.ndarray:
    """Power sums of ``x`` over its last axis, ``[sum x, sum x^2, ...]`` (last axis)."""
    x = np.asarray(x, dtype=float)
    return np.stack([(x**p).sum(axis=-1) for p in range(1, order + 1)], axis=-1)


def _multi_chunk_stats(res: dict[str, np.ndarray], true: Sequence[float]) -> dict[str, np.ndarray]:
    """Sufficient statistics of one chunk (sums; arrays with a leading cohort axis)."""
    J, size, K = res["t_decision"].shape
    stop = np.zeros((J, K, 2))
    for k in range(K):
        for j in range(2):
            stop[:, k, j] = ((res["stop_look"] == k) & (res["reason"] == j)).sum(axis=1)
    err = res["post_mean"] - np.asarray(true)[:, None]
    cover = res["covered"]
    td = res["t_decision"]
    seen = ~np.isnan(td)
    td0 = np.where(seen, td, 0.0)
    width = int(res["n_drawn"].max()) + 1
    return {
        "count": np.array([size], dtype=float),
        "stop": stop,
        "n_sum": _moments(res["n_analysed"]),
        "enrolled_sum": _moments(res["enrolled"]),
        "n_total_sum": _moments(res["n_analysed"].sum(axis=0)),
        "enrolled_total_sum": _moments(res["enrolled"].sum(axis=0)),
        "enrolled_hist": np.stack(
            [np.bincount(e, minlength=width)[:width] for e in res["enrolled"]]
        ).astype(float),
        "duration_sum": _moments(res["duration"]),
        "duration_sketch": _sketch(res["duration"]),
        "trial_duration_sum": _moments(res["trial_duration"]),
        "trial_duration_sketch": _sketch(res["trial_duration"]),
        "bias_sum": _moments(err),
        "cover_sum": cover.sum(axis=1).astype(float),
        "t_decision_sum": td0.sum(axis=1),
        "t_decision_sq": (td0**2).sum(axis=1),
        "t_decision_count": seen.sum(axis=1).astype(float),
        "fwer_sum": np.array([res["fwer"].sum()], dtype=float),
        "all_correct_sum": np.array([res["all_correct"].sum()], dtype=float),
    }


def _mean_sd(s: np.ndarray, n: float) -> tuple[np.ndarray, ...]:
    """Mean, its MCSE, SD and its MCSE from power sums (last axis, orders 1-4).

    MCSE of the SD by the delta method: Var(s^2) ~ (mu4 - sigma^4) / n and
    se(s) = se(s^2) / (2 s).
    """
    m1, m2, m3, m4 = (s[..., i] / n for i in range(4))
    var = np.maximum(m2 - m1 * m1, 0.0)
    sd = np.sqrt(var)
    mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
    se_var = np.sqrt(np.maximum(mu4 - var * var, 0.0) / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_mcse = np.where(sd > 0, se_var / (2 * sd), 0.0)
    return m1, sd / np.sqrt(n), sd, sd_mcse


def _binomial(count: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    p = count / n
    return p, np.sqrt(p * (1 - p) / n)


def _dataset_multi(
    designs: Sequence[Any],
    scen: Sequence[Any],
    results: _Results,
    n_chunks: int,
    root: np.random.SeedSequence,
    chunk_size: int,
    conduct: _Conducts,
    wall: float,
    workers: int | Callable[..., Any],
    client: Any,
) -> Any:
    """The xarray Dataset of a multi-cohort run.

    Dims ``design``, ``scenario``, ``cohort``, ``look``, ``reason`` (futility,
    efficacy; at the final look: no success / success), ``n_enrolled``.
    Per design x scenario x cohort: ``p_efficacy``, ``p_futility`` (interim
    futility stops), ``p_early_stop``, ``p_final_fail``, ``expected_n``,
    ``sd_n``, ``expected_enrolled``, ``sd_enrolled``, ``mean_duration``,
    ``sd_duration``, ``duration_q10/q50/q90``, ``bias``, ``rmse``, ``coverage``,
    ``p_efficacy_diff`` and ``expected_enrolled_diff`` (paired, against the
    first design). Per design x scenario: ``fwer``, ``p_all_correct``,
    ``expected_n_total``, ``expected_enrolled_total``, ``mean_trial_duration``,
    ``sd_trial_duration``, ``trial_duration_q10/q50/q90``, ``fwer_diff``,
    ``n_sims``. ``p_stop_at`` (cohort x look x reason), ``mean_time_to_decision``
    (cohort x look; over the trials where the cohort reached the look) and
    ``p_enrolled`` (cohort x n_enrolled). Every figure has a ``_mcse`` twin.
    """
    import xarray as xr


    acc = _collect(results, designs, scen, n_chunks)
    names = designs[0].names
    D, S, J = len(designs), len(scen), len(names)
    K = max(d.n_looks for d in designs)
    width = max(acc[d.name][si]["enrolled_hist"].shape[-1] for d in designs for si in range(S))
    out: dict[str, np.ndarray] = {}
    dims: dict[str, tuple[str, ...]] = {}

    def put(name: str, where: tuple[int, int], value: Any, shape: tuple[str, ...]) -> None:
        if name not in out:
            extent = {"cohort": J, "look": K, "reason": 2, "n_enrolled": width}
            out[name] = np.full((D, S, *(extent[x] for x in shape)), np.nan)
            dims[name] = ("design", "scenario", *shape)
        value = np.asarray(value, dtype=float)
        index: tuple[int | slice, ...] = (*where, *(slice(0, x) for x in value.shape))
        out[name][index] = value

    c3 = ("cohort",)
    shape: tuple[str, ...]
    for di, d in enumerate(designs):
        for si in range(S):
            a = acc[d.name][si]
            n = a["count"][0]
            at = (di, si)
            stop, stop_se = _binomial(a["stop"], n)
            put("p_stop_at", at, stop, ("cohort", "look", "reason"))
            put("p_stop_at_mcse", at, stop_se, ("cohort", "look", "reason"))
            counts = {
                "p_efficacy": a["stop"][..., 1].sum(axis=-1),
                "p_futility": a["stop"][:, :-1, 0].sum(axis=-1),
                "p_early_stop": a["stop"][:, :-1].sum(axis=(-1, -2)),
                "p_final_fail": a["stop"][:, -1, 0],
                "coverage": a["cover_sum"],
            }
            for name, count in counts.items():
                p, se = _binomial(count, n)
                put(name, at, p, c3)
                put(f"{name}_mcse", at, se, c3)
            for name, count, shape in (
                ("fwer", a["fwer_sum"][0], ()),
                ("p_all_correct", a["all_correct_sum"][0], ()),
            ):
                p, se = _binomial(count, n)
                put(name, at, p, shape)
                put(f"{name}_mcse", at, se, shape)
            for mean, sd, key, shape in (
                ("expected_n", "sd_n", "n_sum", c3),
                ("expected_enrolled", "sd_enrolled", "enrolled_sum", c3),
                ("mean_duration", "sd_duration", "duration_sum", c3),
                ("expected_n_total", "sd_n_total", "n_total_sum", ()),
                ("expected_enrolled_total", "sd_enrolled_total", "enrolled_total_sum", ()),
                ("mean_trial_duration", "sd_trial_duration", "trial_duration_sum", ()),
            ):
                m, m_se, s, s_se = _mean_sd(a[key], n)
                put(mean, at, m, shape)
                put(f"{mean}_mcse", at, m_se, shape)
                put(sd, at, s, shape)
                put(f"{sd}_mcse", at, s_se, shape)
            for prefix, key, shape in (
                ("duration", "duration_sketch", c3),
                ("trial_duration", "trial_duration_sketch", ()),
            ):
                qs, qs_se = _quantiles(a[key], n)
                for i, q in enumerate(QUANTILES):
                    put(f"{prefix}_q{round(q * 100):02d}", at, qs[..., i], shape)
                    put(f"{prefix}_q{round(q * 100):02d}_mcse", at, qs_se[..., i], shape)
            b, b_se, _, _ = _mean_sd(a["bias_sum"], n)
            put("bias", at, b, c3)
            put("bias_mcse", at, b_se, c3)
            mse = a["bias_sum"][..., 1] / n
            rmse = np.sqrt(mse)
            se_mse = np.sqrt(np.maximum(a["bias_sum"][..., 3] / n - mse * mse, 0.0) / n)
            with np.errstate(invalid="ignore", divide="ignore"):
                put("rmse", at, rmse, c3)
                put("rmse_mcse", at, np.where(rmse > 0, se_mse / (2 * rmse), 0.0), c3)
                cnt = a["t_decision_count"]
                t1 = a["t_decision_sum"] / cnt
                t_sd = np.sqrt(np.maximum(a["t_decision_sq"] / cnt - t1 * t1, 0.0))
                put("mean_time_to_decision", at, t1, ("cohort", "look"))
                put("mean_time_to_decision_mcse", at, t_sd / np.sqrt(cnt), ("cohort", "look"))
            dist, dist_se = _binomial(a["enrolled_hist"], n)
            put("p_enrolled", at, dist, ("cohort", "n_enrolled"))
            put("p_enrolled_mcse", at, dist_se, ("cohort", "n_enrolled"))
            for name, key, shape in (
                ("p_efficacy_diff", "paired_eff", c3),
                ("expected_enrolled_diff", "paired_enrolled", c3),
                ("fwer_diff", "paired_fwer", ()),
            ):
                m1, m2 = a[key][..., 0] / n, a[key][..., 1] / n
                put(name, at, m1, shape)
                put(f"{name}_mcse", at, np.sqrt(np.maximum(m2 - m1 * m1, 0.0) / n), shape)
            put("n_sims", at, n, ())
    used = np.flatnonzero(np.nan_to_num(out["p_enrolled"]).sum(axis=(0, 1, 2)))
    last = int(used[-1]) + 1 if used.size else 1
    for name in ("p_enrolled", "p_enrolled_mcse"):
        out[name] = out[name][..., :last]
    first = designs[0]
    rate = np.array([[s.rate(c) for c in names] for s in scen])
    planning = [first.cohorts[first.names.index(c)] for c in names]
    role = np.array([[_role(r, c.p0, c.p1) for r, c in zip(row, planning, strict=True)]
                     for row in rate])
    hashes = {d.name: d.hash for d in designs}
    ds = xr.Dataset(
        {name: (dims[name], arr) for name, arr in out.items()},
        coords={
            "design": [d.name for d in designs],
            "design_hash": ("design", list(hashes.values())),
            "scenario": [s.name for s in scen],
            "cohort": names,
            "rate": (("scenario", "cohort"), rate),
            "role": (("scenario", "cohort"), role),
            "look": np.arange(1, K + 1),
            "reason": ["futility", "efficacy"],
            "n_enrolled": np.arange(last),
        },
        attrs=provenance(
            method="monte_carlo",
            engine="quadrature",
            n_sims=int(out["n_sims"].min()),
            seed_entropy=str(root.entropy),
            chunk_size=int(chunk_size),
            design_hash=first.hash if D == 1 else json.dumps(hashes),
            model=first.model.describe() if D == 1 else "",
            stream_scheme=(
                "SeedSequence(entropy, spawn_key=(cohort_key, chunk, block)); cohort_key from "
                "the cohort's name and true rate"
            ),
            analysis_timing=(
                "analysis k when every active cohort has its first n_jk evaluable outcomes "
                "known (and not before the previous decision); stopped cohorts contribute "
                "their data at stopping"
            ),
            conduct=json.dumps({c: asdict(x) for c, x in conduct}),
            wall_time_s=round(wall, 3),
            workers="dask" if client is not None else str(workers),
        ),
    )
    return ds
