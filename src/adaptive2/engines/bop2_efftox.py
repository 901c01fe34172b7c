"""BOP2 with a joint efficacy–toxicity endpoint: calibration, boundaries in words, exact OC.

The design of Zhou, Lee & Yuan (2017, Section 2 and their efficacy–toxicity
example) monitors the response rate ``p_E`` and the toxicity rate ``p_T`` of a
single arm together. Each patient falls in one of four cells (R and T, R only,
T only, neither) with a Dirichlet prior whose mean is the null cell table and
whose effective sample size is 1. At a look with ``n`` of ``N`` patients the
trial stops with a No-Go if

``P(p_E <= φ_E | data) > C(n)`` (futility) or ``P(p_T > φ_T | data) > C(n)``
(toxicity), ``C(n) = 1 - λ (n / N)^γ``,

one cutoff shared by both conditions. A trial that reaches ``N`` without
stopping declares the drug acceptable. (λ, γ) are chosen on a grid to maximise
the power ``P(declare | alternative)`` subject to the type I error
``P(declare | null) <= α``.

What is "the null"? H0 is "futile or too toxic" (``p_E <= φ_E`` or
``p_T >= φ_T``). Zhou et al. control the type I error at the one configuration
where both rates sit at their null values (``null="joint"``, the default).
Chen, Zhou, Lee & Yuan (2024, BOP2-TE) point out that this leaves the
configurations "futile but safe" and "effective but toxic" uncontrolled;
``null="each"`` takes the worst case over those three (the safe and effective
rates are the alternative's), and an explicit list of cell tables gives any
other set.

Everything is exact: the boundaries come from the Beta marginals of the
Dirichlet posterior and the OC from the dynamic programme over (responses,
toxicities) of :mod:`adaptive2.kernels.bop2_joint`; every distinct boundary
table on the grid is evaluated once.

References
----------
H. Zhou, J. J. Lee and Y. Yuan (2017). BOP2: Bayesian optimal design for phase
II clinical trials with simple and complex endpoints. *Statistics in Medicine*
36, 3302–3314.

K. Chen, H. Zhou, J. J. Lee and Y. Yuan (2024). BOP2-TE: Bayesian optimal
phase 2 design for jointly monitoring efficacy and toxicity with application
to dose optimization. arXiv:2408.05816.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.provenance import provenance
from adaptive2._base.validation import check_int_sequence, check_probability, check_real, fail
from adaptive2.kernels.bop2_joint import (
    REASONS,
    efftox_boundaries,
    rectangle_tables,
    stopping_cutoffs,
    table_oc,
)
from adaptive2.kernels.joint import CELLS, cell_probabilities, check_cells
from adaptive2.model.designs import Design

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "DEFAULT_GAMMAS",
    "DEFAULT_LAMBDAS",
    "Bop2EffToxResult",
    "bop2_efftox",
    "calibrate_efftox_design",
    "efftox_oc",
]

_OWNER = "bop2_efftox"
NULL_CHOICES = ("joint", "each")
DEFAULT_LAMBDAS: tuple[float, ...] = tuple(round(0.5 + 0.005 * i, 3) for i in range(100))
"""Default λ grid: 0.500, 0.505, ..., 0.995."""
DEFAULT_GAMMAS: tuple[float, ...] = tuple(round(0.02 * i, 2) for i in range(51))
"""Default γ grid: 0.00, 0.02, ..., 1.00."""
_SLACK = 1e-12  # type I error within this of alpha counts as controlled (rounding)
_Cells = tuple[float, float, float, float]


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Bop2EffToxResult:
    """A calibrated BOP2 efficacy–toxicity design and its exact figures.

    Attributes
    ----------
    phi_e, phi_t : float
        Null response rate φ_E and unacceptable toxicity rate φ_T.
    looks : tuple of int
        Cumulative patients at the looks; the last is N.
    lambda_, gamma : float
        The chosen (λ, γ): the first grid point (λ outer, γ inner) giving the
        chosen boundary table.
    futility_max_r : tuple of int
        ``a_k``: stop if responses ``<= a_k`` (``-1``: no futility stop).
    toxicity_min_t : tuple of int
        ``b_k``: stop if toxicities ``>= b_k`` (``n_k + 1``: no toxicity stop).
    prior_response, prior_toxicity : (float, float)
        Beta marginals of the Dirichlet prior.
    nulls : tuple of 4-tuples
        Cell tables (R and T, R only, T only, neither) of the null scenarios.
    null_names : tuple of str
        Their names.
    alternative : 4-tuple
        Cell table of the alternative.
    alpha : float
        Type I error: the largest ``P(declare)`` over ``nulls``.
    p_declare_null : tuple of float
        ``P(declare)`` under each null.
    power : float
        ``P(declare)`` under the alternative.
    expected_n_null : tuple of float
        Expected sample size under each null.
    expected_n_alternative : float
        Expected sample size under the alternative.
    feasible : bool
        Whether ``alpha <= target_alpha`` (within 1e-12).
    target_alpha : float
        The type I error asked for.
    n_points, n_tables : int
        Grid points searched and distinct boundary tables among them.
    message : str
        What was done.
    """

    phi_e: float
    phi_t: float
    looks: tuple[int, ...]
    lambda_: float
    gamma: float
    futility_max_r: tuple[int, ...]
    toxicity_min_t: tuple[int, ...]
    prior_response: tuple[float, float]
    prior_toxicity: tuple[float, float]
    nulls: tuple[_Cells, ...]
    null_names: tuple[str, ...]
    alternative: _Cells
    alpha: float
    p_declare_null: tuple[float, ...]
    power: float
    expected_n_null: tuple[float, ...]
    expected_n_alternative: float
    feasible: bool
    target_alpha: float
    n_points: int = 1
    n_tables: int = 1
    message: str = ""

    @property
    def cutoffs(self) -> tuple[float, ...]:
        """``C(n_k) = 1 - λ (n_k / N)^γ`` at each look."""
        return tuple(float(c) for c in stopping_cutoffs(self.looks, self.lambda_, self.gamma))

    def stop_tables(self) -> list[np.ndarray]:
        """Per look, the boolean No-Go table over ``[x_R, x_T]`` (shape ``(n_k + 1, n_k + 1)``).

        At the final look the complement is "declare acceptable".
        """
        fut, tox = rectangle_tables(self.looks, self.futility_max_r, self.toxicity_min_t)
        return [f | t for f, t in zip(fut, tox, strict=True)]

    def rules(self) -> tuple[str, ...]:
        r"""The decision at each look in words.

        Examples
        --------
        >>> res = bop2_efftox(0.45, 0.30, [10, 20], (0.6, 0.2), grid=([0.7], [1.0]))
        >>> print("\n".join(res.rules()))
        n = 10: stop if responses <= 3 or toxicities >= 4
        n = 20 (final): declare acceptable if responses >= 11 and toxicities <= 5; otherwise No-Go
        """
        out = []
        for n, a, b in zip(self.looks, self.futility_max_r, self.toxicity_min_t, strict=True):
            if n == self.looks[-1]:
                go = []
                if a >= 0:
                    go.append(f"responses >= {a + 1}")
                if b <= n:
                    go.append(f"toxicities <= {b - 1}")
                if a >= n or b <= 0:
                    out.append(f"n = {n} (final): No-Go whatever the data")
                elif not go:
                    out.append(f"n = {n} (final): declare acceptable whatever the data")
                else:
                    out.append(
                        f"n = {n} (final): declare acceptable if {' and '.join(go)}; "
                        "otherwise No-Go"
                    )
                continue
            stop = []
            if a >= 0:
                stop.append(f"responses <= {a}")
            if b <= n:
                stop.append(f"toxicities >= {b}")
            out.append(
                f"n = {n}: stop if {' or '.join(stop)}"
                if stop
                else f"n = {n}: continue whatever the data"
            )
        return tuple(out)

    def boundaries(self) -> pd.DataFrame:
        """The boundaries as a table, one row per look.

        Returns
        -------
        pandas.DataFrame
            Columns ``look`` (1-based), ``n``, ``cutoff``, ``futility_max_r``
            (stop if responses <= it; -1 none), ``toxicity_min_t`` (stop if
            toxicities >= it; n + 1 none) and ``rule`` (in words).
        """
        import pandas as pd

        return pd.DataFrame(
            {
                "look": np.arange(1, len(self.looks) + 1),
                "n": list(self.looks),
                "cutoff": list(self.cutoffs),
                "futility_max_r": list(self.futility_max_r),
                "toxicity_min_t": list(self.toxicity_min_t),
                "rule": list(self.rules()),
            }
        )

    def oc(self, scenarios: Any = None, *, odds_ratio: float = 1.0) -> xr.Dataset:
        """Exact OC under cell scenarios; see :func:`efftox_oc`."""
        return efftox_oc(self, scenarios, odds_ratio=odds_ratio)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, plus the rules in words."""
        return {
            "phi_e": self.phi_e,
            "phi_t": self.phi_t,
            "looks": list(self.looks),
            "lambda": self.lambda_,
            "gamma": self.gamma,
            "futility_max_r": list(self.futility_max_r),
            "toxicity_min_t": list(self.toxicity_min_t),
            "cutoffs": list(self.cutoffs),
            "rules": list(self.rules()),
            "prior_response": list(self.prior_response),
            "prior_toxicity": list(self.prior_toxicity),
            "nulls": {k: list(v) for k, v in zip(self.null_names, self.nulls, strict=True)},
            "alternative": list(self.alternative),
            "alpha": self.alpha,
            "p_declare_null": list(self.p_declare_null),
            "power": self.power,
            "expected_n_null": list(self.expected_n_null),
            "expected_n_alternative": self.expected_n_alternative,
            "feasible": self.feasible,
            "target_alpha": self.target_alpha,
            "n_points": self.n_points,
            "n_tables": self.n_tables,
            "message": self.message,
        }

    def __str__(self) -> str:
        head = (
            f"BOP2 efficacy-toxicity design: phi_E = {self.phi_e:g}, phi_T = {self.phi_t:g}, "
            f"lambda = {self.lambda_:g}, gamma = {self.gamma:g}"
        )
        tail = (
            f"type I error {self.alpha:.4f} (target {self.target_alpha:g}), power {self.power:.4f}"
        )
        return "\n".join([head, *self.rules(), tail])


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
def _looks_iv(looks: Any) -> tuple[int, ...]:
    allowed = "a non-empty list of strictly increasing integers >= 1"
    try:
        out = check_int_sequence(looks, "looks", _OWNER, low=1, min_length=1)
    except DesignError:
        raise fail("looks", _OWNER, allowed, looks) from None
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise fail("looks", _OWNER, allowed, list(out))
    return out


def _as_cells(value: Any, name: str, owner: str, odds_ratio: float) -> np.ndarray:
    """A (m, 4) array of cell tables from rows of margins (p_E, p_T) or of 4 cells."""
    allowed = "rows of (p_E, p_T) margins or of 4 cell probabilities"
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise fail(name, owner, allowed, value) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] not in (2, 4):
        raise fail(name, owner, allowed, value)
    if arr.shape[1] == 2:
        try:
            return cell_probabilities(arr[:, 0], arr[:, 1], odds_ratio)
        except DesignError as exc:
            raise fail(name, owner, "margins (p_E, p_T) in [0, 1]", value) from exc
    return check_cells(arr, name=name, owner=owner)


def _margins(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return cells[..., 0] + cells[..., 1], cells[..., 0] + cells[..., 2]


def _grid_iv(grid: Any) -> tuple[np.ndarray, np.ndarray]:
    if grid is None:
        return np.asarray(DEFAULT_LAMBDAS), np.asarray(DEFAULT_GAMMAS)
    allowed = "a pair (lambdas, gammas) of non-empty lists: lambdas in (0, 1), gammas >= 0"
    try:
        lam, gam = grid
        lam_a = np.atleast_1d(np.asarray(lam, dtype=float))
        gam_a = np.atleast_1d(np.asarray(gam, dtype=float))
    except (TypeError, ValueError):
        raise fail("grid", _OWNER, allowed, grid) from None
    ok = (
        lam_a.ndim == 1
        and gam_a.ndim == 1
        and lam_a.size > 0
        and gam_a.size > 0
        and bool(np.all((lam_a > 0.0) & (lam_a < 1.0)))
        and bool(np.all(np.isfinite(gam_a) & (gam_a >= 0.0)))
    )
    if not ok:
        raise fail("grid", _OWNER, allowed, grid)
    return lam_a, gam_a


def _nulls_iv(
    null: Any, phi_e: float, phi_t: float, alt: np.ndarray, odds_ratio: float
) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(null, str):
        if null not in NULL_CHOICES:
            raise fail("null", _OWNER, "one of {'joint', 'each'} or a list of cell tables", null)
        pe1, pt1 = (float(v[0]) for v in _margins(alt))
        if null == "joint":
            return cell_probabilities(phi_e, phi_t, odds_ratio)[None, :], ("futile and toxic",)
        margins = np.array([[phi_e, phi_t], [phi_e, pt1], [pe1, phi_t]])
        names = ("futile and toxic", "futile, safe", "effective, toxic")
        return cell_probabilities(margins[:, 0], margins[:, 1], odds_ratio), names
    cells = _as_cells(null, "null", _OWNER, odds_ratio)
    pe, pt = _margins(cells)
    bad = ~((pe <= phi_e + _SLACK) | (pt >= phi_t - _SLACK))
    if bad.any():
        raise fail(
            "null",
            _OWNER,
            f"cell tables in H0 (response rate <= phi_e = {phi_e:g} or toxicity rate "
            f">= phi_t = {phi_t:g})",
            cells[bad][0].tolist(),
        )
    return cells, tuple(f"null {i + 1}" for i in range(cells.shape[0]))


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------
def bop2_efftox(
    phi_e: float,
    phi_t: float,
    looks: Sequence[int],
    alternative: Sequence[float],
    odds_ratio: float = 1.0,
    alpha: float = 0.10,
    grid: tuple[Sequence[float], Sequence[float]] | None = None,
    *,
    null: str | Sequence[Sequence[float]] = "joint",
    prior_ess: float = 1.0,
) -> Bop2EffToxResult:
    """Calibrate BOP2's joint efficacy–toxicity rule (Zhou, Lee & Yuan 2017), exactly.

    Parameters
    ----------
    phi_e : float
        Null response rate φ_E in (0, 1): the drug is futile if ``p_E <= φ_E``.
    phi_t : float
        Unacceptable toxicity rate φ_T in (0, 1): too toxic if ``p_T >= φ_T``.
    looks : sequence of int
        Cumulative patients at the looks (interim analyses and the final one),
        strictly increasing.
    alternative : sequence of float
        The scenario for power: margins ``(p_E, p_T)`` (joined with
        ``odds_ratio``) or four cell probabilities (R and T, R only, T only,
        neither). Must lie in H1: ``p_E > φ_E`` and ``p_T < φ_T``.
    odds_ratio : float
        Odds ratio of response and toxicity used to build every scenario given
        by its margins (1: independence); see
        :func:`adaptive2.kernels.joint.cell_probabilities`.
    alpha : float
        Largest type I error allowed, in (0, 1).
    grid : (sequence of float, sequence of float), optional
        λ values in (0, 1) and γ values >= 0. Default :data:`DEFAULT_LAMBDAS`
        × :data:`DEFAULT_GAMMAS` (100 × 51 points). A one-point grid evaluates
        a fixed design.
    null : {"joint", "each"} or sequence, keyword-only
        The null scenarios whose largest ``P(declare)`` is the type I error:
        ``"joint"`` (Zhou et al.): the one table with margins (φ_E, φ_T);
        ``"each"`` (Chen et al. 2024): also "futile, safe" (φ_E, alternative
        p_T) and "effective, toxic" (alternative p_E, φ_T); or rows of margins
        or of cells, each in H0.
    prior_ess : float, keyword-only
        Effective sample size of the Dirichlet prior, whose mean is the null
        cell table: Beta(ess φ_E, ess (1 - φ_E)) for ``p_E`` and
        Beta(ess φ_T, ess (1 - φ_T)) for ``p_T``. Default 1 (BOP2's).

    Returns
    -------
    Bop2EffToxResult
        The chosen (λ, γ), boundaries ``a_k``/``b_k`` and exact type I error,
        power and expected sample sizes. If no grid point controls the type I
        error, the one with the smallest is returned with ``feasible=False``.

    Raises
    ------
    DesignError
        If an argument is invalid; the message names it.

    Notes
    -----
    Every grid point's boundaries (:func:`~adaptive2.kernels.bop2_joint.efftox_boundaries`)
    are computed, and each distinct table is evaluated once, exactly, under
    the nulls and the alternative. The choice: the largest power among tables
    with type I error ``<= alpha`` (within 1e-12), ties broken by the smaller
    expected sample size under the first null, then by grid order; the
    reported (λ, γ) is the first grid point (λ outer, γ inner) giving the
    chosen table. The cost is O(T S N³) for T distinct tables and S
    scenarios (about 0.6 s for the default grid at N = 40).

    References
    ----------
    H. Zhou, J. J. Lee and Y. Yuan (2017). *Statistics in Medicine* 36,
    3302–3314. K. Chen, H. Zhou, J. J. Lee and Y. Yuan (2024). arXiv:2408.05816.

    Examples
    --------
    The efficacy–toxicity example of Zhou et al. (2017): null cells
    (0.15, 0.30, 0.15, 0.40) (φ_E = 0.45, φ_T = 0.30), alternative
    (0.18, 0.42, 0.02, 0.38), looks 10, 15, ..., 40, α = 0.10:

    >>> res = bop2_efftox(0.45, 0.30, range(10, 41, 5), [0.18, 0.42, 0.02, 0.38],
    ...                   null=[[0.15, 0.30, 0.15, 0.40]])
    >>> res.lambda_, res.gamma
    (0.625, 0.98)
    >>> print(res.rules()[0])
    n = 10: stop if responses <= 2 or toxicities >= 5
    >>> round(res.alpha, 4), round(res.power, 4)
    (0.0912, 0.7456)
    """
    pe = check_probability(phi_e, "phi_e", _OWNER)
    pt = check_probability(phi_t, "phi_t", _OWNER)
    lk = _looks_iv(looks)
    psi = check_real(odds_ratio, "odds_ratio", _OWNER, low=0.0, low_open=True, finite=True)
    target = check_probability(alpha, "alpha", _OWNER)
    ess = check_real(prior_ess, "prior_ess", _OWNER, low=0.0, low_open=True, finite=True)
    lam, gam = _grid_iv(grid)
    alt = _as_cells(alternative, "alternative", _OWNER, psi)
    if alt.shape[0] != 1:
        raise fail("alternative", _OWNER, "one scenario: (p_E, p_T) or 4 cells", alt.tolist())
    ape, apt = (float(v[0]) for v in _margins(alt))
    if not (ape > pe and apt < pt):
        raise fail(
            "alternative",
            _OWNER,
            f"a scenario in H1 (response rate > phi_e = {pe:g} and toxicity rate < phi_t = {pt:g})",
            alt[0].tolist(),
        )
    nulls, names = _nulls_iv(null, pe, pt, alt, psi)
    prior_r = (ess * pe, ess * (1.0 - pe))
    prior_t = (ess * pt, ess * (1.0 - pt))

    a, b = efftox_boundaries(
        lk, pe, pt, lam[:, None], gam[None, :], prior_response=prior_r, prior_toxicity=prior_t
    )
    flat = np.concatenate([a, b], axis=-1).reshape(lam.size * gam.size, 2 * len(lk))
    tables, first = np.unique(flat, axis=0, return_index=True)
    order = np.argsort(first)  # distinct tables in grid order of first appearance
    tables, first = tables[order], first[order]
    k_looks = len(lk)
    fut, tox = rectangle_tables(lk, tables[:, :k_looks], tables[:, k_looks:])
    out = table_oc(lk, fut, tox, np.concatenate([nulls, alt]))
    declare = out["p_declare"]  # (T, n_null + 1)
    en = out["expected_n"]
    worst = declare[:, :-1].max(axis=1)
    power = declare[:, -1]
    feasible = worst <= target + _SLACK
    n_points = lam.size * gam.size
    if feasible.any():
        idx = np.flatnonzero(feasible)
        # largest power, then smaller E[N | first null], then grid order (idx is sorted)
        best = int(idx[np.lexsort((en[idx, 0], -power[idx]))[0]])
        message = (
            f"best of {n_points} grid points ({len(tables)} distinct boundary tables) "
            f"with type I error <= {target:g}"
        )
    else:
        best = int(np.argmin(worst))
        message = f"no grid point has type I error <= {target:g}; the smallest is {worst[best]:.4g}"
    i_lam, i_gam = divmod(int(first[best]), gam.size)
    return Bop2EffToxResult(
        phi_e=pe,
        phi_t=pt,
        looks=tuple(lk),
        lambda_=float(lam[i_lam]),
        gamma=float(gam[i_gam]),
        futility_max_r=tuple(int(v) for v in tables[best, :k_looks]),
        toxicity_min_t=tuple(int(v) for v in tables[best, k_looks:]),
        prior_response=prior_r,
        prior_toxicity=prior_t,
        nulls=tuple(_cell_tuple(c) for c in nulls),
        null_names=names,
        alternative=_cell_tuple(alt[0]),
        alpha=float(worst[best]),
        p_declare_null=tuple(float(v) for v in declare[best, :-1]),
        power=float(power[best]),
        expected_n_null=tuple(float(v) for v in en[best, :-1]),
        expected_n_alternative=float(en[best, -1]),
        feasible=bool(feasible[best]),
        target_alpha=target,
        n_points=n_points,
        n_tables=len(tables),
        message=message,
    )


def _cell_tuple(c: np.ndarray) -> _Cells:
    return (float(c[0]), float(c[1]), float(c[2]), float(c[3]))


# ---------------------------------------------------------------------------
# Operating characteristics
# ---------------------------------------------------------------------------
_OC_VARIABLES = (
    "p_declare",
    "p_nogo",
    "p_futility",
    "p_toxicity",
    "p_both",
    "p_early_stop",
    "expected_n",
    "sd_n",
    "p_stop_at",
    "p_declare_at",
    "p_n",
)


def _scenarios_iv(
    design: Bop2EffToxResult, scenarios: Any, odds_ratio: float
) -> tuple[list[str], np.ndarray]:
    owner = "efftox_oc"
    if scenarios is None:
        names = [n if n.startswith("null") else f"null: {n}" for n in design.null_names]
        names.append("alternative")
        return names, np.array([*design.nulls, design.alternative])
    if isinstance(scenarios, Mapping):
        names = [str(k) for k in scenarios]
        rows = [_as_cells(v, f"scenarios[{k!r}]", owner, odds_ratio) for k, v in scenarios.items()]
        if not rows or any(r.shape[0] != 1 for r in rows):
            raise fail("scenarios", owner, "a non-empty mapping of name to one scenario", scenarios)
        return names, np.concatenate(rows)
    cells = _as_cells(scenarios, "scenarios", owner, odds_ratio)
    return [f"scenario {i + 1}" for i in range(cells.shape[0])], cells


def efftox_oc(
    design: Bop2EffToxResult, scenarios: Any = None, *, odds_ratio: float = 1.0
) -> xr.Dataset:
    """Exact operating characteristics of a BOP2 efficacy–toxicity design.

    Parameters
    ----------
    design : Bop2EffToxResult
        The design (its boundaries ``a_k``, ``b_k``).
    scenarios : mapping or sequence, optional
        Scenarios as margins ``(p_E, p_T)`` (joined with ``odds_ratio``) or
        cell tables: a mapping of name to one scenario, or rows (named
        ``scenario 1``, ...). Default: the design's nulls and alternative.
    odds_ratio : float, keyword-only
        Odds ratio for scenarios given by their margins (1: independence).

    Returns
    -------
    xarray.Dataset
        Dims ``scenario``, ``look``, ``reason`` (``futility``, ``toxicity``,
        ``both``) and ``cell``. Coords: ``p_e``, ``p_t``, ``role`` (``null``
        if the scenario is in H0, else ``alternative``) along ``scenario``;
        ``look_n`` along ``look``. Variables:

        ``p_stop_at`` (scenario, look, reason)
            No-Go at each look by reason (at the final look, the final No-Go).
        ``p_declare``, ``p_nogo``
            Declare the drug acceptable (at the final look) / not; sum to 1.
        ``p_futility``, ``p_toxicity``, ``p_both``
            No-Go for that reason alone (or both), at any look.
        ``p_early_stop``, ``expected_n``, ``sd_n``, ``p_n`` (scenario, look)
            ``P(N < N_max)``, mean and SD of N, and its distribution.
        ``p_declare_at`` (scenario, look)
            Zero before the final look (BOP2 has no early Go).
        ``cells`` (scenario, cell)
            The scenario's cell probabilities.

        Every OC variable has an ``<name>_mcse`` twin, 0 (exact). Attrs carry
        the design (λ, γ, φ_E, φ_T, looks, boundaries) and provenance.

    Examples
    --------
    >>> res = bop2_efftox(0.45, 0.30, [10, 20], (0.6, 0.2), grid=([0.7], [1.0]))
    >>> ds = efftox_oc(res, {"both null": (0.45, 0.30), "target": (0.6, 0.2)})
    >>> ds["role"].values.tolist()
    ['null', 'alternative']
    >>> bool(np.allclose(ds["p_declare"] + ds["p_nogo"], 1.0))
    True
    """
    import xarray as xr

    if not isinstance(design, Bop2EffToxResult):
        raise fail("design", "efftox_oc", "a Bop2EffToxResult", type(design).__name__)
    psi = check_real(odds_ratio, "odds_ratio", "efftox_oc", low=0.0, low_open=True, finite=True)
    names, cells = _scenarios_iv(design, scenarios, psi)
    if len(set(names)) != len(names):
        raise fail("scenarios", "efftox_oc", "distinct names", names)
    t0 = time.perf_counter()
    fut, tox = rectangle_tables(design.looks, design.futility_max_r, design.toxicity_min_t)
    out = table_oc(design.looks, fut, tox, cells)
    stop = out["p_stop_at"]
    values = {
        "p_declare": out["p_declare"],
        "p_nogo": out["p_nogo"],
        "p_futility": stop[..., 0].sum(axis=-1),
        "p_toxicity": stop[..., 1].sum(axis=-1),
        "p_both": stop[..., 2].sum(axis=-1),
        "p_early_stop": out["p_early_stop"],
        "expected_n": out["expected_n"],
        "sd_n": out["sd_n"],
        "p_stop_at": stop,
        "p_declare_at": out["p_declare_at"],
        "p_n": out["p_n"],
    }
    dims = {
        "p_stop_at": ("scenario", "look", "reason"),
        "p_declare_at": ("scenario", "look"),
        "p_n": ("scenario", "look"),
    }
    data_vars: dict[str, Any] = {}
    for name in _OC_VARIABLES:
        d = dims.get(name, ("scenario",))
        data_vars[name] = (d, values[name])
        data_vars[f"{name}_mcse"] = (d, np.zeros_like(values[name]))
    data_vars["cells"] = (("scenario", "cell"), cells)
    pe, pt = _margins(cells)
    in_h0 = (pe <= design.phi_e + _SLACK) | (pt >= design.phi_t - _SLACK)
    return xr.Dataset(
        data_vars,
        coords={
            "scenario": names,
            "p_e": ("scenario", pe),
            "p_t": ("scenario", pt),
            "role": ("scenario", ["null" if h else "alternative" for h in in_h0]),
            "look": np.arange(1, len(design.looks) + 1),
            "look_n": ("look", np.asarray(design.looks)),
            "reason": list(REASONS),
            "cell": list(CELLS),
        },
        attrs=provenance(
            method="exact",
            design="BOP2 efficacy-toxicity (Zhou, Lee & Yuan 2017)",
            phi_e=design.phi_e,
            phi_t=design.phi_t,
            lambda_=design.lambda_,
            gamma=design.gamma,
            looks=list(design.looks),
            futility_max_r=list(design.futility_max_r),
            toxicity_min_t=list(design.toxicity_min_t),
            n_sims=0,
            wall_time_s=round(time.perf_counter() - t0, 6),
        ),
    )


def calibrate_efftox_design(
    design: Design,
    alpha: float | None = None,
    *,
    odds_ratio: float | None = None,
    null: str = "joint",
    grid: tuple[Sequence[float], Sequence[float]] | None = None,
) -> tuple[Design, Bop2EffToxResult]:
    """Calibrate λ and γ of a design whose toxicity rule is BOP2's, jointly with efficacy.

    Parameters
    ----------
    design : Design
        A single-cohort design with a BOP2 ``futility`` rule (λ, γ), a BOP2
        ``final`` rule (λ) and a ``toxicity`` monitor with ``rule="bop2"``: the
        joint rule of Zhou, Lee & Yuan (2017) in design form. Its efficacy prior
        must be Beta(e p0, e (1 - p0)) and its toxicity prior Beta(e limit, e (1
        - limit)) with one effective sample size ``e`` (the margins of BOP2's
        Dirichlet prior).
    alpha : float, optional
        Largest P(declare | null); default the design's ``alpha``, else 0.10.
    odds_ratio : float, optional
        Response-toxicity odds ratio of the scenarios; default the design's
        ``toxicity_odds_ratio``.
    null : {"joint", "each"}
        As in :func:`bop2_efftox`.
    grid : (sequence of float, sequence of float), optional
        λ and γ values searched (default BOP2's grid).

    Returns
    -------
    (Design, Bop2EffToxResult)
        The design with the chosen λ and γ in its futility, final and toxicity
        rules (everything else kept), and the calibration with its exact type I
        error (at (p0, limit)) and power (at (p1, acceptable)).

    Raises
    ------
    DesignError
        If the design is not of that form; the message names the field.
    """
    from adaptive2.model.rules import BOP2

    owner = "calibrate_efftox_design"
    if not isinstance(design, Design):
        raise fail("design", owner, "a single-cohort Design", type(design).__name__)
    tox = design.toxicity
    if tox is None or tox.rule != "bop2":
        raise fail("toxicity", owner, "a ToxicityMonitor with rule 'bop2'",
                   None if tox is None else tox.rule)
    fut, final = design.futility, design.final
    if not (isinstance(fut, BOP2) and fut.gamma is not None):
        raise fail("futility", owner, "a BOP2 futility rule (lambda, gamma)", fut)
    if not (isinstance(final, BOP2) and final.gamma is None and final.eta is None):
        raise fail("final", owner, "a BOP2 final rule (lambda)", final)
    if not isinstance(design.p0, float) or design.p1 is None:
        raise fail("p0", owner, "fixed p0 and p1 (the null and alternative response rates)",
                   design.p0)
    prior = design.prior
    a_e, b_e = getattr(prior, "a", None), getattr(prior, "b", None)
    a_t, b_t = tox.prior
    ess = (a_t + b_t)
    if a_e is None or b_e is None or not (
        math.isclose(a_e + b_e, ess, rel_tol=1e-9)
        and math.isclose(a_e / (a_e + b_e), design.p0, rel_tol=1e-9)
        and math.isclose(a_t / ess, tox.limit, rel_tol=1e-9)
    ):
        raise fail(
            "prior", owner,
            "Beta(e p0, e (1 - p0)) for efficacy and Beta(e limit, e (1 - limit)) for toxicity "
            "with one e (the margins of BOP2's Dirichlet prior)",
            f"{prior} and Beta{tox.prior}",
        )
    level = alpha if alpha is not None else (design.alpha if design.alpha is not None else 0.10)
    psi = design.toxicity_odds_ratio if odds_ratio is None else odds_ratio
    res = bop2_efftox(design.p0, tox.limit, design.looks, (design.p1, tox.acceptable),
                      odds_ratio=psi, alpha=level, grid=grid, null=null, prior_ess=ess)
    new = design.replace(
        futility=dataclasses.replace(fut, lambda_=res.lambda_, gamma=res.gamma),
        final=dataclasses.replace(final, lambda_=res.lambda_),
        toxicity=tox.replace(lambda_=None, gamma=None),
        toxicity_source=design.toxicity_source,
        toxicity_rates=design.toxicity_rates,
        toxicity_odds_ratio=design.toxicity_odds_ratio,
    )
    return new, res
