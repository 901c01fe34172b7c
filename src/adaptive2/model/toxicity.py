"""Toxicity co-monitoring: a safety stopping rule as an immutable value.

A :class:`ToxicityMonitor` watches one binary safety event (for example a
grade ≥ 3 immune-related adverse event) at fixed patient counts and says when
the trial must stop for it, independently of the efficacy rule it runs beside:
"stop if at least ``c_k`` of the first ``n_k`` patients have the event". Two
rules are offered:

* ``rule="posterior"`` (Bayesian): with a Beta(a, b) prior on the event
  rate, stop at ``n_k`` if P(rate > limit | data) > ``cutoff``;
* ``rule="pocock"`` (repeated significance testing; Ivanova, Qaqish & Schell
  2005, clinfun ``toxbdry``): stop when the count exceeds the binomial
  critical value at the ``acceptable`` rate and a nominal level ``η`` (the same
  at every look for ``shape = 0``; smaller early for ``shape`` up to 0.5),
  with ``η`` tuned so that P(stop at any look | acceptable) is the largest not
  above ``p_stop_acceptable``.

The boundaries and the exact single-endpoint operating characteristics
(:meth:`ToxicityMonitor.oc`) come from :mod:`adaptive2.kernels.toxicity`.

References
----------
Ivanova A, Qaqish BF, Schell MJ (2005). Continuous toxicity monitoring in
phase II trials in oncology. Biometrics 61:540-545.
Thall PF, Simon R, Estey EH (1995). Bayesian sequential monitoring designs
for single-arm clinical trials with multiple outcomes. Stat Med 14:357-379.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from adaptive2._base.cache import memoized
from adaptive2._base.errors import DesignError
from adaptive2._base.validation import (
    check_choice,
    check_int_sequence,
    check_probability,
    check_real,
    fail,
)
from adaptive2.kernels.toxicity import (
    calibrate_pocock,
    expected_n,
    posterior_boundary,
    stop_probabilities,
)

__all__ = ["ToxicityMonitor", "ToxicityOC"]

ToxicityRule = Literal["posterior", "pocock"]
RULES: tuple[str, ...] = ("posterior", "pocock")
_OWNER = "ToxicityMonitor"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToxicityMonitor:
    """A toxicity stopping rule checked at fixed patient counts.

    Parameters
    ----------
    event : str
        Name of the monitored event (e.g. ``"grade>=3 irAE"``).
    limit : float
        Unacceptable event rate, in (0, 1).
    acceptable : float
        Acceptable event rate, in (0, ``limit``): the rate at which stopping
        is a false alarm (the null of the ``pocock`` rule).
    rule : {"posterior", "pocock"}
        How the boundary is built (see the module docstring).
    monitor : tuple of int
        Strictly increasing numbers of patients evaluated for the event at
        which it is checked (``range(1, N + 1)`` for continuous monitoring).
    cutoff : float, optional
        ``posterior`` rule only, required there: stop if
        P(rate > limit | data) > ``cutoff``, in (0, 1). Must be ``None`` for
        ``pocock``.
    prior : tuple of float
        ``posterior`` rule only: Beta(a, b) prior of the event rate, a, b > 0.
        Default ``(1.0, 1.0)``, the uniform prior: the conventional reference
        choice, worth two patients of information. Its mean is 0.5, so for a
        small ``limit`` it puts most prior mass above the limit and can stop
        after very few patients when the first monitoring point is small;
        check :meth:`oc` at ``acceptable`` or give an informative prior.
        Ignored by ``pocock``.
    shape : float
        ``pocock`` rule only: boundary shape in [0, 0.5]; 0 (default) is
        Pocock's constant nominal level, 0.5 the O'Brien-Fleming shape. Must be
        0 for ``posterior``.
    p_stop_acceptable : float
        ``pocock`` rule only: the largest P(stop at any look | acceptable)
        allowed, in (0, 1); default 0.10. The ``posterior`` rule's value of
        this probability follows from its cutoff (see :meth:`oc`).

    Examples
    --------
    >>> m = ToxicityMonitor(event="DLT", limit=0.35, acceptable=0.2, rule="pocock",
    ...                     monitor=(20, 40, 60, 75))
    >>> m.boundaries()
    (8, 13, 18, 22)
    >>> [round(float(v), 3) for v in m.oc().p_stop]        # at 0.2 and at 0.35
    [0.088, 0.911]
    >>> print(ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
    ...                       cutoff=0.9, monitor=(5, 10)))
    stop for DLT if P(rate > 0.3 | data) > 0.9, prior Beta(1, 1); boundary: >= 3 of 5, >= 5 of 10
    """

    event: str
    limit: float
    acceptable: float
    rule: ToxicityRule
    monitor: tuple[int, ...]
    cutoff: float | None = None
    prior: tuple[float, float] = (1.0, 1.0)
    shape: float = 0.0
    p_stop_acceptable: float = 0.10

    def __post_init__(self) -> None:
        owner = _OWNER
        if not isinstance(self.event, str) or not self.event.strip():
            raise fail("event", owner, "a non-empty string", self.event)
        limit = check_probability(self.limit, "limit", owner)
        object.__setattr__(self, "limit", limit)
        acceptable = check_probability(self.acceptable, "acceptable", owner)
        if acceptable >= limit:
            raise fail("acceptable", owner, f"a probability in (0, limit = {limit:g})", acceptable)
        object.__setattr__(self, "acceptable", acceptable)
        rule = check_choice(self.rule, "rule", owner, RULES)
        monitor = check_int_sequence(self.monitor, "monitor", owner, low=1)
        if any(b <= a for a, b in itertools.pairwise(monitor)):
            raise fail("monitor", owner, "strictly increasing patient counts", list(monitor))
        object.__setattr__(self, "monitor", monitor)
        object.__setattr__(self, "prior", _check_prior(self.prior))
        shape = check_real(self.shape, "shape", owner, low=0.0, high=0.5)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(
            self,
            "p_stop_acceptable",
            check_probability(self.p_stop_acceptable, "p_stop_acceptable", owner),
        )
        if rule == "posterior":
            if self.cutoff is None:
                raise fail("cutoff", owner, "a probability in (0, 1) for rule 'posterior'", None)
            object.__setattr__(self, "cutoff", check_probability(self.cutoff, "cutoff", owner))
            if shape != 0.0:
                raise fail("shape", owner, "0 for rule 'posterior' (shape is for 'pocock')", shape)
        elif self.cutoff is not None:
            raise fail(
                "cutoff",
                owner,
                "None for rule 'pocock' (its level is tuned to `p_stop_acceptable`)",
                self.cutoff,
            )

    # -- derived ---------------------------------------------------------------
    @property
    def n_max(self) -> int:
        """Patients evaluated for the event at the last monitoring point."""
        return self.monitor[-1]

    def boundaries(self) -> tuple[int, ...]:
        """Smallest event count that stops, per monitoring point (cached).

        Returns
        -------
        tuple of int
            ``c_k``: stop if at least ``c_k`` of the first ``monitor[k]``
            patients have the event; ``monitor[k] + 1`` means no count stops
            there. Ties of the posterior probability with the cutoff (equal up
            to 1e-12) do not stop.
        """
        return _solve(self)[0]

    @property
    def nominal_level(self) -> float | None:
        """The tuned nominal level η of the ``pocock`` rule (``None`` for ``posterior``)."""
        return _solve(self)[1]

    def oc(self, rates: Sequence[float] | NDArray[Any] | float | None = None) -> ToxicityOC:
        """Exact single-endpoint operating characteristics at true event rates.

        Parameters
        ----------
        rates : float or sequence of float, optional
            True event rates in [0, 1]; default ``(acceptable, limit)``.

        Returns
        -------
        ToxicityOC
            Per rate: P(first stop at each monitoring point), P(stop at any),
            expected patients evaluated for the event.
        """
        if rates is None:
            rates = (self.acceptable, self.limit)
        seq = np.atleast_1d(np.asarray(rates, dtype=object)).reshape(-1).tolist()
        checked = tuple(check_probability(r, "rates", f"{_OWNER}.oc", closed=True) for r in seq)
        counts = self.boundaries()
        at = stop_probabilities(counts, self.monitor, np.asarray(checked))
        return ToxicityOC(
            rates=checked,
            monitor=self.monitor,
            boundaries=counts,
            p_stop_at=at,
            expected_n=expected_n(at, self.monitor),
        )

    def replace(self, **changes: Any) -> ToxicityMonitor:
        """A copy with ``changes`` applied (re-validated)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """The rule in words, with its boundary."""
        if self.rule == "posterior":
            a, b = self.prior
            head = (
                f"stop for {self.event} if P(rate > {self.limit:g} | data) > {self.cutoff:g}, "
                f"prior Beta({a:g}, {b:g})"
            )
        else:
            eta = self.nominal_level
            head = (
                f"stop for {self.event} if the count exceeds the binomial critical value at "
                f"{self.acceptable:g} (Pocock-type, shape {self.shape:g}, nominal level "
                f"{eta:.4g}; P(stop | {self.acceptable:g}) <= {self.p_stop_acceptable:g})"
            )
        parts = [
            f">= {c} of {n}" for c, n in zip(self.boundaries(), self.monitor, strict=True) if c <= n
        ]
        return f"{head}; boundary: " + (", ".join(parts) if parts else "never stops")

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True, slots=True, eq=False)
class ToxicityOC:
    """Exact operating characteristics of a :class:`ToxicityMonitor` at some true rates.

    Attributes
    ----------
    rates : tuple of float
        True event rates (R of them).
    monitor : tuple of int
        Patients at each monitoring point (K of them).
    boundaries : tuple of int
        Stopping counts ``c_k`` (``n_k + 1``: none).
    p_stop_at : numpy.ndarray
        Shape (R, K): P(first stop for toxicity at monitoring point k).
    expected_n : numpy.ndarray
        Shape (R,): expected patients evaluated for the event.
    """

    rates: tuple[float, ...]
    monitor: tuple[int, ...]
    boundaries: tuple[int, ...]
    p_stop_at: NDArray[np.float64]
    expected_n: NDArray[np.float64]

    @property
    def p_stop(self) -> NDArray[np.float64]:
        """Shape (R,): P(stop for toxicity at any monitoring point, the last included)."""
        return np.asarray(self.p_stop_at.sum(axis=1), dtype=float)

    @property
    def p_stop_by(self) -> NDArray[np.float64]:
        """Shape (R, K): P(stopped for toxicity at or before monitoring point k)."""
        return np.asarray(np.cumsum(self.p_stop_at, axis=1), dtype=float)

    @property
    def p_early_stop(self) -> NDArray[np.float64]:
        """Shape (R,): P(stop before the last monitoring point) (clinfun's ``pstop``)."""
        return np.asarray(self.p_stop_at[:, :-1].sum(axis=1), dtype=float)


def _check_prior(value: Any) -> tuple[float, float]:
    allowed = "a pair (a, b) of Beta parameters, both finite and > 0"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 2:
        raise fail("prior", _OWNER, allowed, value)
    try:
        a, b = (
            check_real(v, "prior", _OWNER, low=0.0, low_open=True, finite=True, allowed=allowed)
            for v in value
        )
    except DesignError:
        raise fail("prior", _OWNER, allowed, value) from None
    return (a, b)


@memoized("toxicity.boundaries")
def _solve(monitor: ToxicityMonitor) -> tuple[tuple[int, ...], float | None]:
    """Boundary counts and, for ``pocock``, the tuned nominal level."""
    if monitor.rule == "posterior":
        assert monitor.cutoff is not None  # guaranteed by __post_init__
        a, b = monitor.prior
        counts = posterior_boundary(monitor.monitor, monitor.limit, monitor.cutoff, a, b)
        return tuple(int(c) for c in counts), None
    try:
        cal = calibrate_pocock(
            monitor.monitor, monitor.acceptable, monitor.p_stop_acceptable, monitor.shape
        )
    except ValueError as exc:  # a target below P(every patient has the event)
        raise fail(
            "p_stop_acceptable", _OWNER, f"attainable ({exc})", monitor.p_stop_acceptable
        ) from None
    return cal.counts, cal.eta
