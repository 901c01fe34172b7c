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
  above ``p_stop_acceptable``;
* ``rule="bop2"`` (Zhou, Lee & Yuan 2017, the toxicity half of their joint
  efficacy-toxicity rule): stop at ``n_k`` if P(rate > limit | data) >
  C(n_k) = 1 - λ (n_k / N)^γ, with ``N`` the last monitoring point, the
  Beta prior by default BOP2's Beta(limit, 1 - limit), and (λ, γ) those of
  the design's BOP2 futility rule (a :class:`~adaptive2.model.designs.Design`
  fills them in: one cut-off shared by both endpoints).

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

ToxicityRule = Literal["posterior", "pocock", "bop2"]
RULES: tuple[str, ...] = ("posterior", "pocock", "bop2")
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
        ``posterior`` and ``bop2`` rules: Beta(a, b) prior of the event rate,
        a, b > 0. Default for ``bop2``: BOP2's Beta(limit, 1 - limit) (the
        toxicity margin of its Dirichlet prior, effective sample size 1). Default
        for ``posterior``: ``(1.0, 1.0)``, the uniform prior: the conventional reference
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
    lambda_ : float, optional
        ``bop2`` rule only: λ in (0, 1) of the cut-off 1 - λ (n/N)^γ. ``None``
        until a Design sets it from its BOP2 futility rule.
    gamma : float, optional
        ``bop2`` rule only: γ >= 0 of that cut-off (set with ``lambda_``).

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
    prior: tuple[float, ...] = ()
    shape: float = 0.0
    p_stop_acceptable: float = 0.10
    lambda_: float | None = dataclasses.field(default=None, metadata={"key": "lambda"})
    gamma: float | None = None

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
        prior = self.prior
        if isinstance(prior, tuple) and not prior:  # the rule's default
            prior = (limit, 1.0 - limit) if rule == "bop2" else (1.0, 1.0)
        object.__setattr__(self, "prior", _check_prior(prior))
        self._check_bop2(rule)
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
                f"None for rule {rule!r} ("
                + ("its level is tuned to `p_stop_acceptable`)" if rule == "pocock"
                   else "its cut-off is 1 - lambda (n/N)^gamma)"),
                self.cutoff,
            )
        if rule == "bop2" and shape != 0.0:
            raise fail("shape", owner, "0 for rule 'bop2' (shape is for 'pocock')", shape)

    def _check_bop2(self, rule: str) -> None:
        """λ and γ: both or neither for ``bop2`` (a Design fills them in), none otherwise."""
        owner = _OWNER
        given = [k for k in ("lambda_", "gamma") if getattr(self, k) is not None]
        if rule != "bop2":
            if given:
                raise fail(given[0].rstrip("_"), owner, f"None for rule {rule!r} (it is the "
                           "BOP2 cut-off's)", getattr(self, given[0]))
            return
        if len(given) == 1:
            missing = "gamma" if given[0] == "lambda_" else "lambda"
            raise fail(missing, owner, "set together with "
                       f"{'lambda' if missing == 'gamma' else 'gamma'} for rule 'bop2'", None)
        if given:
            lam = check_probability(self.lambda_, "lambda", owner)
            gam = check_real(self.gamma, "gamma", owner, low=0.0, finite=True,
                             allowed="a finite number >= 0")
            object.__setattr__(self, "lambda_", lam)
            object.__setattr__(self, "gamma", gam)

    def cutoffs(self) -> tuple[float, ...]:
        """Posterior-probability cut-off per monitoring point (``posterior`` and ``bop2``).

        ``posterior``: ``cutoff`` at every point; ``bop2``: 1 - λ (n_k / N)^γ.
        """
        if self.rule == "posterior":
            assert self.cutoff is not None
            return tuple(self.cutoff for _ in self.monitor)
        if self.rule != "bop2":
            raise DesignError(f"rule {self.rule!r} of {_OWNER} has no posterior cut-off")
        if self.lambda_ is None or self.gamma is None:
            raise DesignError(
                f"`lambda` and `gamma` of {_OWNER} (rule 'bop2') are not set: a Design sets them "
                "from its BOP2 futility rule (one cut-off shared by efficacy and toxicity), or "
                "give them."
            )
        n_max = self.monitor[-1]
        return tuple(1.0 - self.lambda_ * (n / n_max) ** self.gamma for n in self.monitor)

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
        elif self.rule == "bop2":
            a, b = self.prior
            lam = "λ" if self.lambda_ is None else f"{self.lambda_:g}"
            gam = "γ" if self.gamma is None else f"{self.gamma:g}"
            head = (
                f"stop for {self.event} if P(rate > {self.limit:g} | data) > 1 - {lam} "
                f"(n/{self.monitor[-1]})^{gam} (BOP2), prior Beta({a:g}, {b:g})"
            )
            if self.lambda_ is None:
                return head + " (λ and γ from the design's BOP2 futility rule)"
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
    if monitor.rule in ("posterior", "bop2"):
        a, b = monitor.prior
        counts = [
            int(posterior_boundary((n,), monitor.limit, c, a, b)[0])
            for n, c in zip(monitor.monitor, monitor.cutoffs(), strict=True)
        ]
        return tuple(counts), None
    try:
        cal = calibrate_pocock(
            monitor.monitor, monitor.acceptable, monitor.p_stop_acceptable, monitor.shape
        )
    except ValueError as exc:  # a target below P(every patient has the event)
        raise fail(
            "p_stop_acceptable", _OWNER, f"attainable ({exc})", monitor.p_stop_acceptable
        ) from None
    return cal.counts, cal.eta
