"""How a trial is run in calendar time: accrual, response delay, dropout, interim behaviour.

:class:`Conduct` is the value the trial-conduct simulator
(:func:`adaptive2.engines.montecarlo.simulate`) takes per cohort; the scenario
file's ``[[conduct]]`` tables and the CLI's options build it. Every delay form
is spelt once, in :func:`delay_forms`, for each input syntax.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_choice, check_real, fail

__all__ = ["DELAY_FORMS", "Conduct", "delay_forms"]


#: The accepted delay forms, spelt in each input syntax: fixed, uniform, gamma,
#: lognormal, and the names of (low, high, mean, sd) in the constraints.
_DELAY_SYNTAX = {
    "python": (
        ("a number >= 0 (fixed)", "(low, high) (uniform)", "('gamma', mean, sd)",
         "('lognormal', mean, sd)"),
        ("low", "high", "mean", "sd"),
    ),
    "cli": (
        ("D (fixed months)", "LO,HI (uniform)", "gamma:MEAN,SD", "lognormal:MEAN,SD"),
        ("LO", "HI", "MEAN", "SD"),
    ),
    "toml": (
        ("a number of months (fixed)", "{ uniform = [low, high] }", "{ gamma = [mean, sd] }",
         "{ lognormal = [mean, sd] }"),
        ("low", "high", "mean", "sd"),
    ),
}


def delay_forms(syntax: str = "python") -> str:
    """The accepted response-delay forms, for error messages: the one definition.

    Parameters
    ----------
    syntax : {"python", "cli", "toml"}
        How the forms are spelt: :class:`Conduct` arguments, the CLI's
        ``--delay`` or the ``delay`` key of a scenario file's ``[[conduct]]``.

    Examples
    --------
    >>> delay_forms("cli")
    'D (fixed months), LO,HI (uniform), gamma:MEAN,SD or lognormal:MEAN,SD (0 <= LO <= HI; MEAN > 0, SD > 0)'
    """  # noqa: E501
    check_choice(syntax, "syntax", "delay_forms", tuple(_DELAY_SYNTAX))
    (fixed, uniform, gamma, lognormal), (lo, hi, mean, sd) = _DELAY_SYNTAX[syntax]
    return (
        f"{fixed}, {uniform}, {gamma} or {lognormal} "
        f"(0 <= {lo} <= {hi}; {mean} > 0, {sd} > 0)"
    )


DELAY_FORMS = delay_forms("python")


@dataclass(frozen=True, slots=True)
class Conduct:
    """How a trial is run in calendar time.

    Parameters
    ----------
    rates : tuple of float
        Accrual rates (patients per month) for successive periods.
    starts : tuple of float
        Start of each period (months); the first must be 0.
    delay : float, (low, high), ("gamma", mean, sd) or ("lognormal", mean, sd)
        Months from enrolment to a known confirmed response: fixed; uniform on
        [low, high]; gamma with the given mean and sd; or lognormal with the
        given mean and sd (on the natural scale, not the log scale).
        ``("fixed", d)`` and ``("uniform", low, high)`` are accepted and stored
        as ``d`` and ``(low, high)``.
    p_nonevaluable : float
        Probability that a patient is never evaluable (replaced).
    on_interim : {"continue", "pause"}
        Keep enrolling while an interim is pending, or pause until the decision.
    decision_lag : float
        Months from an interim trigger to its decision.

    Notes
    -----
    Each patient's delay is ``delay_ppf(u)`` of the patient's own uniform ``u``
    (inverse CDF), so random streams stay addressed per patient.

    * gamma: shape ``k = (mean / sd)^2``, scale ``theta = sd^2 / mean``;
      ``F^-1(u) = theta * P^-1(k, u)`` with ``P^-1`` the inverse regularised lower
      incomplete gamma function (:func:`scipy.special.gammaincinv`).
    * lognormal: ``sigma^2 = log(1 + sd^2 / mean^2)``,
      ``mu = log(mean) - sigma^2 / 2``; ``F^-1(u) = exp(mu + sigma * Phi^-1(u))``
      (:func:`scipy.special.ndtri`).

    Examples
    --------
    >>> Conduct(delay=("gamma", 2.5, 0.5)).delay_kind
    'gamma'
    >>> Conduct(delay=("uniform", 2, 3)).delay
    (2.0, 3.0)
    """

    rates: tuple[float, ...] = (2.0,)
    starts: tuple[float, ...] = (0.0,)
    delay: float | tuple[float, float] | tuple[str, float, float] = 2.5
    p_nonevaluable: float = 0.0
    on_interim: str = "continue"
    decision_lag: float = 0.0

    def __post_init__(self) -> None:
        owner = "Conduct"
        rates = tuple(
            _finite(r, "rates", owner, low=0.0, low_open=True, allowed="finite rates > 0")
            for r in (self.rates if isinstance(self.rates, Iterable) else (self.rates,))
        )
        starts = tuple(
            _finite(s, "starts", owner, low=0.0, allowed="finite numbers >= 0")
            for s in (self.starts if isinstance(self.starts, Iterable) else (self.starts,))
        )
        if not rates or len(rates) != len(starts) or starts[0] != 0.0:
            raise fail("starts", owner, "one start per rate, the first 0", list(starts))
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise fail("starts", owner, "increasing period starts", list(starts))
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "delay", _delay_iv(self.delay, owner))
        object.__setattr__(
            self,
            "p_nonevaluable",
            check_real(self.p_nonevaluable, "p_nonevaluable", owner, low=0.0, high=0.95),
        )
        check_choice(self.on_interim, "on_interim", owner, ("continue", "pause"))
        object.__setattr__(
            self,
            "decision_lag",
            _finite(self.decision_lag, "decision_lag", owner, low=0.0, allowed="a number >= 0"),
        )

    @property
    def delay_kind(self) -> str:
        """Form of the delay: ``"fixed"``, ``"uniform"``, ``"gamma"`` or ``"lognormal"``."""
        d = self.delay
        if not isinstance(d, tuple):
            return "fixed"
        return "uniform" if len(d) == 2 else str(d[0])

    @property
    def delay_mean(self) -> float:
        """Mean delay to a known response (months)."""
        d = self.delay
        if not isinstance(d, tuple):
            return float(d)
        return (d[0] + d[1]) / 2 if len(d) == 2 else float(d[1])

    @property
    def delay_sd(self) -> float:
        """Standard deviation of the delay to a known response (months)."""
        d = self.delay
        if not isinstance(d, tuple):
            return 0.0
        return (d[1] - d[0]) / np.sqrt(12.0) if len(d) == 2 else float(d[2])

    def delay_ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Delays for patient uniforms ``u`` in [0, 1): the inverse CDF (see Notes).

        A fixed delay ignores ``u``; a uniform one is ``low + (high - low) * u``.
        """
        from scipy import special

        u = np.asarray(u, dtype=float)
        d = self.delay
        kind = self.delay_kind
        if kind == "fixed":
            return np.full(u.shape, cast(float, d))
        if kind == "uniform":
            lo_hi = cast("tuple[float, float]", d)
            return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * u
        dist = cast("tuple[str, float, float]", d)
        mean, sd = float(dist[1]), float(dist[2])
        if kind == "gamma":
            shape = (mean / sd) ** 2
            return cast(np.ndarray, (sd * sd / mean) * special.gammaincinv(shape, u))
        sigma2 = np.log1p((sd / mean) ** 2)
        out = np.exp(np.log(mean) - sigma2 / 2 + np.sqrt(sigma2) * special.ndtri(u))
        return cast(np.ndarray, out)

    def describe(self) -> str:
        """One line for tables and reports: accrual, delay, dropout, interim behaviour."""
        periods = ", ".join(
            f"{r:g}/month from month {s:g}" for r, s in zip(self.rates, self.starts, strict=True)
        )
        d, kind = self.delay, self.delay_kind
        if kind == "fixed":
            delay = f"{d:g} months"
        elif kind == "uniform":
            lo_hi = cast("tuple[float, float]", d)
            delay = f"uniform on [{lo_hi[0]:g}, {lo_hi[1]:g}] months"
        else:
            dist = cast("tuple[str, float, float]", d)
            delay = f"{kind} with mean {dist[1]:g} and sd {dist[2]:g} months"
        return (
            f"accrual {periods}; response known after {delay}; "
            f"P(non-evaluable) {self.p_nonevaluable:g}; at interims enrolment "
            f"{self.on_interim}s; decision lag {self.decision_lag:g} months"
        )

    @property
    def trivial(self) -> bool:
        """True if conduct cannot change the exact OC (no delay, no dropout)."""
        return self.delay == 0.0 and self.p_nonevaluable == 0.0

    def arrival_times(self, exp_gaps: np.ndarray, start: np.ndarray | float = 0.0) -> np.ndarray:
        """Map unit-rate Poisson event times to calendar times (piecewise rates)."""
        # Unit-rate cumulative "work" W; calendar time t with Lambda(t) = W, Lambda
        # the integrated rate from `start`.
        work = np.cumsum(exp_gaps, axis=-1)
        if len(self.rates) == 1:
            return start + work / self.rates[0]
        starts = np.asarray(self.starts)
        rates = np.asarray(self.rates)
        # integrated rate at each period start, measured from time 0; shift by start
        base = np.concatenate([[0.0], np.cumsum(np.diff(starts) * rates[:-1])])
        st = np.asarray(start, dtype=float)
        k = np.searchsorted(starts, st, "right") - 1  # period containing `start`
        lam_start = base[k] + (st - starts[k]) * rates[k]
        target = (lam_start[..., None] if np.ndim(lam_start) else lam_start) + work
        j = np.searchsorted(base, target, "right") - 1
        return cast(np.ndarray, starts[j] + (target - base[j]) / rates[j])


def _finite(value: Any, name: str, owner: str, **kwargs: Any) -> float:
    """``check_real`` that also refuses +inf (which it lets through when ``high`` is inf)."""
    x = check_real(value, name, owner, **kwargs)
    if not np.isfinite(x):
        raise fail(name, owner, kwargs.get("allowed") or "a finite number", value)
    return x


def _delay_iv(d: Any, owner: str) -> float | tuple[float, float] | tuple[str, float, float]:
    """Validate a ``delay`` and return its stored form (float, (low, high) or (kind, mean, sd))."""

    def bad() -> DesignError:
        return fail("delay", owner, DELAY_FORMS, d)

    def num(x: Any, low: float = 0.0, low_open: bool = False) -> float:
        try:
            return _finite(x, "delay", owner, low=low, low_open=low_open)
        except DesignError:
            raise bad() from None

    if isinstance(d, str) or not isinstance(d, Sequence):
        return num(d)
    items = tuple(d)
    if items and isinstance(items[0], str):
        kind, args = items[0], items[1:]
        if kind == "fixed" and len(args) == 1:
            return num(args[0])
        if kind == "uniform" and len(args) == 2:
            items = args
        elif kind in ("gamma", "lognormal") and len(args) == 2:
            return (kind, num(args[0], low_open=True), num(args[1], low_open=True))
        else:
            raise bad()
    if len(items) != 2:
        raise bad()
    lo = num(items[0])
    return (lo, num(items[1], low=lo))
