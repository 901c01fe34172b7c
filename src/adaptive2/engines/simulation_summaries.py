"""Chunks of simulated trials and their summaries.

A chunk is one addressed batch of trials of one scenario (:class:`_Task`); its
result is a set of additive sufficient statistics and duration quantile
sketches, pooled in a fixed order into the result Dataset with every MCSE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from adaptive2._base.provenance import provenance

if TYPE_CHECKING:
    from adaptive2.model.conduct import Conduct


@dataclass(frozen=True)
class _Task:
    """One chunk of one scenario.

    Single-cohort: ``key`` is the scenario key and ``p`` the true rate.
    Multi-cohort: ``key`` holds one stream key per cohort and ``p`` the pairs
    (cohort, true rate), in the run's cohort order.
    """

    scenario: int
    key: int | tuple[int, ...]
    p: float | tuple[tuple[str, float], ...]
    chunk: int
    size: int



def _add(acc: dict[str, np.ndarray] | None, new: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if acc is None:
        return {k: v.copy() for k, v in new.items()}
    out = {}
    for k, v in acc.items():
        if k.endswith("_sketch"):  # weighted quantile summaries, pooled along the last axis
            out[k] = np.concatenate([v, new[k]], axis=-1)
        else:
            out[k] = v + new[k]
    return out


# ---------------------------------------------------------------------------
# Duration quantiles: a fixed-size weighted summary per chunk
# ---------------------------------------------------------------------------
QUANTILES = (0.1, 0.5, 0.9)


SKETCH_POINTS = 1000  # points of each chunk's quantile summary (whatever the chunk size)


def _sketch(x: np.ndarray) -> np.ndarray:
    """Fixed-size quantile summary of one chunk along the last axis: shape (..., 2, k).

    ``[..., 0, i]`` is the chunk's empirical quantile at the mid-offset
    ``(i + 0.5) / k`` (the "hazen" definition, so that with ``m`` trials per
    point each point is the centre of its block of ``m`` order statistics), and
    ``[..., 1, i]`` its weight ``size / k``: chunks of every size are weighted by
    their number of trials, and the summary depends on the chunk's trials only
    (bit-identical for any number of workers and after a resume).
    """
    size = x.shape[-1]
    k = SKETCH_POINTS
    probs = (np.arange(k) + 0.5) / k
    points = np.moveaxis(np.quantile(x, probs, axis=-1, method="hazen"), 0, -1)
    return np.stack([points, np.full(points.shape, size / k)], axis=-2)


def _pooled_quantile(sketch: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles at ``probs`` of pooled sketches (..., 2, m): shape (..., len(probs)).

    The pooled distribution puts each point's weight on it; its CDF is
    interpolated linearly between the mid-points of the cumulative weights (the
    "hazen" rule again, so one chunk summarised at full resolution gives
    ``numpy.quantile(..., method="hazen")``).
    """
    points, weights = sketch[..., 0, :], sketch[..., 1, :]
    lead = points.shape[:-1]
    out = np.empty((*lead, len(probs)))
    for idx in np.ndindex(*lead):
        order = np.argsort(points[idx], kind="stable")
        x, w = points[idx][order], weights[idx][order]
        cum = np.cumsum(w)
        out[idx] = np.interp(probs, (cum - w / 2) / cum[-1], x)
    return out


SKETCH_WINDOW = 25  # fewest summary points on each side of q in the MCSE's slope


def _quantiles(sketch: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles ``QUANTILES`` of the pooled chunk summaries and their MCSE: (..., 3) each.

    MCSE by the order-statistic (binomial) approximation with the real number
    of trials ``n``: the empirical quantile at q has standard error
    ``s Q'(q)``, ``s = sqrt(q (1 - q) / n)``, i.e. ``(Q(q + s) - Q(q - s)) / 2``
    for the sample quantile function Q. The slope ``Q'(q)`` is the difference
    quotient of the pooled summary over ``q +/- h``, ``h = max(s, W / m)`` with
    ``m`` summary points and ``W = SKETCH_WINDOW``: with fewer points than
    trials, a window of ``s`` alone would hold too few points for a stable
    slope.
    """
    q = np.asarray(QUANTILES)
    s = np.sqrt(q * (1 - q) / n)
    h = np.maximum(s, SKETCH_WINDOW / sketch.shape[-1])
    lo_p, hi_p = np.clip(q - h, 0.0, 1.0), np.clip(q + h, 0.0, 1.0)
    est = _pooled_quantile(sketch, q)
    lo = _pooled_quantile(sketch, lo_p)
    hi = _pooled_quantile(sketch, hi_p)
    return est, s * (hi - lo) / (hi_p - lo_p)


#: Per-chunk statistics of a run: ``results[(scenario, chunk)][design name][statistic]``.
_Results = Mapping[tuple[int, int], Mapping[str, dict[str, np.ndarray]]]


def _collect(
    results: _Results, designs: Sequence[Any], scen: Sequence[Any], n_chunks: int
) -> dict[str, list[dict[str, np.ndarray]]]:
    out: dict[str, list[dict[str, np.ndarray]]] = {d.name: [] for d in designs}
    for i in range(len(scen)):
        for d in designs:
            acc = None
            for c in range(n_chunks):  # fixed order: bit-identical sums
                acc = _add(acc, results[(i, c)][d.name])
            out[d.name].append(cast(dict[str, np.ndarray], acc))  # n_chunks >= 1
    return out


def _worst_mcse(
    results: _Results, designs: Sequence[Any], scen: Sequence[Any], n_chunks: int
) -> float:
    """Largest MCSE of ``p_efficacy`` (of any cohort for multi-cohort designs)."""
    acc = _collect(results, designs, scen, n_chunks)
    worst = 0.0
    for d in designs:
        for a in acc[d.name]:
            n = a["count"][0]
            # stop: (look, reason) or (cohort, look, reason); efficacy is reason 1
            pe = a["stop"][..., 1].sum(axis=-1) / n
            worst = max(worst, float(np.sqrt(np.maximum(pe * (1 - pe), 1.0 / n) / n).max()))
    return worst


def _dataset(
    designs: Sequence[Any],
    scen: Sequence[Any],
    results: _Results,
    n_chunks: int,
    root: np.random.SeedSequence,
    chunk_size: int,
    conduct: Conduct,
    wall: float,
    workers: int | Callable[..., Any],
    client: Any,
) -> Any:
    import xarray as xr


    acc = _collect(results, designs, scen, n_chunks)
    K = max(d.n_looks for d in designs)
    D, S = len(designs), len(scen)
    shape = (D, S)
    v: dict[str, np.ndarray] = {
        k: np.full(shape, np.nan)
        for k in (
            "p_efficacy",
            "p_futility",
            "p_early_stop",
            "p_final_fail",
            "expected_n",
            "sd_n",
            "expected_enrolled",
            "sd_enrolled",
            "mean_duration",
            "sd_duration",
            "duration_q10",
            "duration_q50",
            "duration_q90",
            "bias",
            "rmse",
            "coverage",
            "n_sims",
        )
    }
    mc = {
        k: np.full(shape, np.nan)
        for k in (
            "p_efficacy",
            "p_futility",
            "p_early_stop",
            "p_final_fail",
            "expected_n",
            "expected_enrolled",
            "mean_duration",
            "duration_q10",
            "duration_q50",
            "duration_q90",
            "bias",
            "coverage",
        )
    }
    p_stop_at = np.full((D, S, K, 3), np.nan)
    p_stop_mcse = np.full((D, S, K, 3), np.nan)
    t_dec = np.full((D, S, K), np.nan)
    for di, d in enumerate(designs):
        for si in range(len(scen)):
            a = acc[d.name][si]
            n = a["count"][0]
            stop = a["stop"] / n
            k = d.n_looks
            p_stop_at[di, si, :k] = stop
            p_stop_mcse[di, si, :k] = np.sqrt(stop * (1 - stop) / n)
            pe = stop[:, 1].sum()
            pf = stop[:-1, 0].sum()
            pes = stop[:-1].sum()
            pff = stop[-1, 0] + stop[-1, 2]
            for name, val in (
                ("p_efficacy", pe),
                ("p_futility", pf),
                ("p_early_stop", pes),
                ("p_final_fail", pff),
            ):
                v[name][di, si] = val
                mc[name][di, si] = np.sqrt(val * (1 - val) / n)
            for name, key in (
                ("expected_n", "n_sum"),
                ("expected_enrolled", "enrolled_sum"),
                ("mean_duration", "duration_sum"),
            ):
                m1, m2 = a[key][0] / n, a[key][1] / n
                sd = np.sqrt(max(m2 - m1 * m1, 0.0))
                v[name][di, si] = m1
                mc[name][di, si] = sd / np.sqrt(n)
                if name == "expected_n":
                    v["sd_n"][di, si] = sd
                elif name == "expected_enrolled":
                    v["sd_enrolled"][di, si] = sd
                else:
                    v["sd_duration"][di, si] = sd
            qs, qs_se = _quantiles(a["duration_sketch"], n)
            for i, q in enumerate(QUANTILES):
                v[f"duration_q{round(q * 100):02d}"][di, si] = qs[i]
                mc[f"duration_q{round(q * 100):02d}"][di, si] = qs_se[i]
            b1, b2 = a["bias_sum"][0] / n, a["bias_sum"][1] / n
            v["bias"][di, si] = b1
            mc["bias"][di, si] = np.sqrt(max(b2 - b1 * b1, 0.0) / n)
            v["rmse"][di, si] = np.sqrt(b2)
            cov = a["cover_sum"][0] / n
            v["coverage"][di, si] = cov
            mc["coverage"][di, si] = np.sqrt(cov * (1 - cov) / n)
            v["n_sims"][di, si] = n
            with np.errstate(invalid="ignore", divide="ignore"):
                t_dec[di, si, :k] = a["t_decision_sum"] / a["t_decision_count"]
    data: dict[str, Any] = {}
    for name, arr in v.items():
        data[name] = (("design", "scenario"), arr)
    for name, arr in mc.items():
        data[f"{name}_mcse"] = (("design", "scenario"), arr)
    data["p_stop_at"] = (("design", "scenario", "look", "reason"), p_stop_at)
    data["p_stop_at_mcse"] = (("design", "scenario", "look", "reason"), p_stop_mcse)
    data["mean_time_to_decision"] = (("design", "scenario", "look"), t_dec)
    # paired differences against the first design, with their own (smaller) MCSE
    for name, key in (
        ("p_efficacy_diff", "paired_eff"),
        ("expected_enrolled_diff", "paired_enrolled"),
    ):
        val = np.full(shape, np.nan)
        err = np.full(shape, np.nan)
        for di, d in enumerate(designs):
            for si in range(S):
                a = acc[d.name][si]
                n = a["count"][0]
                m1, m2 = a[key][0] / n, a[key][1] / n
                val[di, si] = m1
                err[di, si] = np.sqrt(max(m2 - m1 * m1, 0.0) / n)
        data[name] = (("design", "scenario"), val)
        data[f"{name}_mcse"] = (("design", "scenario"), err)
    # distribution of the number of patients enrolled (overrun and replacements included)
    width = max(len(acc[d.name][si]["enrolled_hist"]) for d in designs for si in range(S))
    dist = np.zeros((D, S, width))
    for di, d in enumerate(designs):
        for si in range(S):
            h = acc[d.name][si]["enrolled_hist"]
            dist[di, si, : len(h)] = h / acc[d.name][si]["count"][0]
    last = int(np.flatnonzero(dist.sum(axis=(0, 1)))[-1]) + 1
    data["p_enrolled"] = (("design", "scenario", "n_enrolled"), dist[..., :last])
    ds = xr.Dataset(
        data,
        coords={
            "design": [d.name for d in designs],
            "design_hash": ("design", [d.hash for d in designs]),
            "scenario": [s.name for s in scen],
            "p": ("scenario", [s.p for s in scen]),
            "role": ("scenario", [s.role for s in scen]),
            "look": np.arange(1, K + 1),
            "reason": ["futility", "efficacy", "consider"],
            "n_enrolled": np.arange(last),
        },
        attrs=provenance(
            method="monte_carlo",
            n_sims=int(v["n_sims"].min()),
            seed_entropy=str(root.entropy),
            chunk_size=int(chunk_size),
            stream_scheme="SeedSequence(entropy, spawn_key=(scenario_key, chunk, block))",
            conduct=json.dumps(asdict(conduct)),
            wall_time_s=round(wall, 3),
            workers="dask" if client is not None else str(workers),
        ),
    )
    return ds
