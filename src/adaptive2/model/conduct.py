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

__all__ = ["DEFAULT_TOX_DELAY", "DELAY_FORMS", "Conduct", "delay_forms"]


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

#: Default toxicity delay (months, fixed): see ``Conduct.tox_delay``.
DEFAULT_TOX_DELAY = 1.0


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
    tox_delay : same forms as ``delay``, or None
        Months from enrolment to a known toxicity status, for designs with a
        toxicity monitor (``Design.toxicity``); ignored by designs without one.
        Default ``None``: 1 month, fixed (toxicity is usually assessed over the
        first one or two treatment cycles, well before a confirmed response),
        or the response ``delay`` itself when that is a fixed number below 1
        month, so that instant responses (``delay=0``, the exact engine's
        setting) come with instant toxicity. :attr:`tox_delay_form` gives the
        form in use.

    Notes
    -----
    Each patient's delay is ``delay_ppf(u)`` of the patient's own uniform ``u``
    (inverse CDF), so random streams stay addressed per patient; the toxicity
    delay is ``tox_delay_ppf`` of another uniform of the same patient.

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
    >>> Conduct().tox_delay_form, Conduct(delay=0.0).tox_delay_form
    (1.0, 0.0)
    """

    rates: tuple[float, ...] = (2.0,)
    starts: tuple[float, ...] = (0.0,)
    delay: float | tuple[float, float] | tuple[str, float, float] = 2.5
    p_nonevaluable: float = 0.0
    on_interim: str = "continue"
    decision_lag: float = 0.0
    tox_delay: float | tuple[float, float] | tuple[str, float, float] | None = None

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
        if self.tox_delay is not None:
            object.__setattr__(self, "tox_delay", _delay_iv(self.tox_delay, owner, "tox_delay"))

    @property
    def delay_kind(self) -> str:
        """Form of the delay: ``"fixed"``, ``"uniform"``, ``"gamma"`` or ``"lognormal"``."""
        return _kind(self.delay)

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
        return _ppf(self.delay, u)

    @property
    def tox_delay_form(self) -> float | tuple[float, float] | tuple[str, float, float]:
        """The toxicity delay in use: ``tox_delay``, or its default (see Parameters)."""
        if self.tox_delay is not None:
            return self.tox_delay
        d = self.delay
        if not isinstance(d, tuple) and float(d) < DEFAULT_TOX_DELAY:
            return float(d)  # a fixed response delay below 1 month: toxicity no later
        return DEFAULT_TOX_DELAY

    @property
    def tox_delay_kind(self) -> str:
        """Form of the toxicity delay in use: ``"fixed"``, ``"uniform"``, ``"gamma"``, ..."""
        return _kind(self.tox_delay_form)

    def tox_delay_ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Toxicity delays for patient uniforms ``u`` in [0, 1) (as :meth:`delay_ppf`)."""
        return _ppf(self.tox_delay_form, u)

    def describe_toxicity(self) -> str:
        """The toxicity delay in words (for designs with a toxicity monitor)."""
        text = _delay_text(self.tox_delay_form)
        default = " (the default)" if self.tox_delay is None else ""
        return f"toxicity status known after {text}{default}"

    def describe(self) -> str:
        """One line for tables and reports: accrual, delay, dropout, interim behaviour."""
        periods = ", ".join(
            f"{r:g}/month from month {s:g}" for r, s in zip(self.rates, self.starts, strict=True)
        )
        delay = _delay_text(self.delay)
        return (
            f"accrual {periods}; response known after {delay}; "
            f"P(non-evaluable) {self.p_nonevaluable:g}; at interims enrolment "
            f"{self.on_interim}s; decision lag {self.decision_lag:g} months"
            + ("" if self.tox_delay is None else f"; {self.describe_toxicity()}")
        )

    @property
    def trivial(self) -> bool:
        """True if conduct cannot change the exact OC (no delay, no dropout).

        The toxicity delay counts too (it follows a zero response delay by default).
        """
        return self.delay == 0.0 and self.p_nonevaluable == 0.0 and self.tox_delay_form == 0.0

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


def _delay_iv(
    d: Any, owner: str, name: str = "delay"
) -> float | tuple[float, float] | tuple[str, float, float]:
    """Validate a delay (``name``); its stored form is a float, (low, high) or (kind, mean, sd)."""

    def bad() -> DesignError:
        return fail(name, owner, DELAY_FORMS, d)

    def num(x: Any, low: float = 0.0, low_open: bool = False) -> float:
        try:
            return _finite(x, name, owner, low=low, low_open=low_open)
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


def _kind(d: float | tuple[Any, ...]) -> str:
    """Form of a stored delay: ``"fixed"``, ``"uniform"``, ``"gamma"`` or ``"lognormal"``."""
    if not isinstance(d, tuple):
        return "fixed"
    return "uniform" if len(d) == 2 else str(d[0])


def _ppf(d: float | tuple[Any, ...], u: np.ndarray | float) -> np.ndarray:
    """Inverse CDF of a stored delay at the uniforms ``u`` (see :class:`Conduct`, Notes)."""
    from scipy import special

    u = np.asarray(u, dtype=float)
    kind = _kind(d)
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


def _delay_text(d: float | tuple[Any, ...]) -> str:
    """A stored delay in words: ``2.5 months``, ``uniform on [2, 3] months``, ..."""
    kind = _kind(d)
    if kind == "fixed":
        return f"{cast(float, d):g} months"
    if kind == "uniform":
        lo_hi = cast("tuple[float, float]", d)
        return f"uniform on [{lo_hi[0]:g}, {lo_hi[1]:g}] months"
    dist = cast("tuple[str, float, float]", d)
    return f"{kind} with mean {dist[1]:g} and sd {dist[2]:g} months"
