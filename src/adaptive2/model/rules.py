"""Decision rules for single-arm designs with a binary endpoint.

A rule sees only the data (``r`` responses among ``n`` evaluable patients) and
the prior; the design decides which slot a rule fills:

* ``futility`` — stop early for futility at an interim look;
* ``efficacy`` — stop early for efficacy at an interim look;
* ``final`` — succeed (declare efficacy) at the last look.

Every rule is evaluated for *all* response counts ``r = 0..n`` of a look at
once (:meth:`Rule.evaluate`), which is what turns it into an integer boundary.

References
----------
Thall PF, Simon R (1994). Practical Bayesian guidelines for phase IIB clinical
trials. Biometrics 50:337-349.
Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer
clinical trials. Clinical Trials 5:93-106.
Zhou H, Lee JJ, Yuan Y (2017). BOP2: Bayesian optimal design for phase II
clinical trials with simple and complex endpoints. Stat Med 36:3302-3314.
Frewer P, et al. (2016). Decision-making in early clinical drug development.
Pharm Stat 15:255-263; Roychoudhury S, Scheuer N, Neuenschwander B (2018).
Beyond p-values: a phase II dual-criterion design. Stat Med 37:1296-1313.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import numpy as np
from numpy.typing import NDArray
from scipy import special

from adaptive2._base.cache import memoized
from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_int, check_probability, check_real, fail
from adaptive2.model.priors import Beta, BetaMixture, Prior, as_mixture, log_weights

__all__ = [
    "BOP2",
    "Boundary",
    "Decision",
    "DualCriterion",
    "Look",
    "PosteriorProbability",
    "PredictiveProbability",
    "Rule",
    "Slot",
    "posterior_prob_exceeds",
]

Slot = Literal["futility", "efficacy", "final"]
SLOTS: tuple[str, ...] = ("futility", "efficacy", "final")


class Decision(enum.Enum):
    """Outcome of applying a rule at a look."""

    CONTINUE = "continue"
    STOP_FUTILITY = "stop_futility"
    STOP_EFFICACY = "stop_efficacy"
    SUCCESS = "success"
    FAILURE = "failure"
    GO = "go"
    CONSIDER = "consider"
    NO_GO = "no_go"

    @property
    def label(self) -> str:
        """The decision in words, as reports and ``analyze`` print it.

        Examples
        --------
        >>> Decision.STOP_FUTILITY.label
        'stop for futility'
        """
        return _DECISION_LABELS[self]


_DECISION_LABELS = {
    Decision.CONTINUE: "continue",
    Decision.STOP_FUTILITY: "stop for futility",
    Decision.STOP_EFFICACY: "stop for efficacy",
    Decision.SUCCESS: "success",
    Decision.FAILURE: "failure",
    Decision.GO: "Go",
    Decision.CONSIDER: "Consider",
    Decision.NO_GO: "No-Go",
}


@dataclass(frozen=True, slots=True)
class Look:
    """Context in which a rule is evaluated.

    Attributes
    ----------
    index : int
        0-based index of the look.
    n : int
        Cumulative evaluable patients at this look.
    n_max : int
        Patients at the final look.
    prior : Beta or BetaMixture
        Analysis prior of the design.
    final_success_min_r : int
        Smallest response count at ``n_max`` for which the design's final rule
        succeeds (``n_max + 1`` if it never does). Needed by predictive rules.
    """

    index: int
    n: int
    n_max: int
    prior: Prior
    final_success_min_r: int


# ---------------------------------------------------------------------------
# Posterior tail probabilities, vectorised over r
# ---------------------------------------------------------------------------
def posterior_prob_exceeds(
    prior: Prior, r: Any, n: int, threshold: float | Beta, delta: float = 0.0
) -> np.ndarray:
    """P(p > threshold + delta | r of n) for every ``r`` in the array-like ``r``.

    Parameters
    ----------
    prior : Beta or BetaMixture
        Analysis prior.
    r : array-like of int
        Response counts.
    n : int
        Patients.
    threshold : float or Beta
        A fixed rate, or a Beta distribution for an uncertain rate ``p_S``
        (Thall & Simon 1994), independent of ``p`` a priori; then the result is
        P(p > p_S + delta | data), computed by 1-D quadrature.
    delta : float
        Margin added to the threshold (default 0).

    Returns
    -------
    numpy.ndarray
        Probabilities, shape of ``r``.
    """
    rr = np.asarray(r, dtype=float)
    if rr.size and np.all((rr >= 0) & (rr <= n) & (rr == np.round(rr))):
        # Every count 0..n at once, cached: calibration grids re-use the same table
        # for thousands of cutoffs.
        return cast(np.ndarray, _tail_table(prior, int(n), threshold, float(delta))[rr.astype(int)])
    return _tail(prior, rr, n, threshold, delta)


@memoized("rules.tail")
def _tail_table(prior: Prior, n: int, threshold: float | Beta, delta: float) -> np.ndarray:
    """P(p > threshold + delta | r of n) for every r (kept in the memo; read-only)."""
    return _tail(prior, np.arange(n + 1, dtype=float), n, threshold, delta)


def _tail(
    prior: Prior, rr: np.ndarray, n: int, threshold: float | Beta, delta: float
) -> np.ndarray:
    logw, a_post, b_post = _posterior_components(prior, rr, n)
    wpost = np.exp(logw)
    if isinstance(threshold, Beta):
        tail = _prob_beta_exceeds_beta(a_post, b_post, threshold, delta)
    else:
        threshold = threshold + delta
        if threshold <= 0.0:
            return np.ones_like(rr)
        if threshold >= 1.0:
            return np.zeros_like(rr)
        tail = special.betaincc(a_post, b_post, threshold)
    return cast(np.ndarray, np.clip(np.sum(wpost * tail, axis=-1), 0.0, 1.0))


def predictive_success(prior: Prior, r: Any, n: int, n_max: int, s: int) -> np.ndarray:
    """P(R_final >= s | r of n): the predictive probability of final success.

    ``R_final = r + R_future`` with ``R_future`` beta-binomial (mixture) under the
    posterior after ``r`` of ``n``; vectorised over ``r``.
    """
    rr = np.atleast_1d(np.asarray(r, dtype=float))
    m = n_max - n
    logw, a_post, b_post = _posterior_components(prior, rr, n)  # (R, K) each
    k = np.arange(m + 1, dtype=float)[None, :, None]  # (1, M, 1)
    logcomb = special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1)
    logpmf = (
        logw[:, None, :]
        + logcomb
        + special.betaln(a_post[:, None, :] + k, b_post[:, None, :] + m - k)
        - special.betaln(a_post, b_post)[:, None, :]
    )
    pmf = np.exp(special.logsumexp(logpmf, axis=-1))  # (R, M)
    # upper tails: tail[:, j] = P(R_future >= j), j = 0..m+1
    tail = np.concatenate([np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1], np.zeros((len(rr), 1))], 1)
    need = np.clip(s - rr, 0, m + 1).astype(int)
    out: np.ndarray = np.minimum(tail[np.arange(len(rr)), need], 1.0)
    out[s - rr <= 0] = 1.0
    return out


def _posterior_components(
    prior: Prior, rr: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log posterior weights, a, b) of every mixture component, for each r in ``rr``."""
    mix = as_mixture(prior)
    w, a, b = (np.asarray(x) for x in (mix.weights, mix.a, mix.b))
    a_post = a + rr[..., None]
    b_post = b + n - rr[..., None]
    logw = log_weights(w) + special.betaln(a_post, b_post) - special.betaln(a, b)
    return logw - special.logsumexp(logw, axis=-1, keepdims=True), a_post, b_post


def _prob_beta_exceeds_beta(
    a: np.ndarray, b: np.ndarray, ps: Beta, delta: float = 0.0
) -> np.ndarray:
    """P(X > Y + delta) for X ~ Beta(a, b) (arrays), Y ~ ps, by adaptive quadrature over y."""
    from scipy import integrate  # loaded on first use (start-up time)

    flat_a, flat_b = a.ravel(), b.ravel()
    out = np.empty_like(flat_a)
    for i, (ai, bi) in enumerate(zip(flat_a, flat_b, strict=True)):
        out[i], _ = integrate.quad(
            lambda y, ai=ai, bi=bi: (
                float(special.betaincc(ai, bi, min(y + delta, 1.0))) * _beta_pdf(y, ps.a, ps.b)
            ),
            0.0,
            1.0,
            epsabs=1e-12,
            epsrel=1e-10,
            limit=200,
            points=[ps.mean],
        )
    return out.reshape(a.shape)


def _beta_pdf(y: float, a: float, b: float) -> float:
    if y <= 0.0 or y >= 1.0:
        return 0.0
    return float(
        np.exp(special.xlogy(a - 1, y) + special.xlog1py(b - 1, -y) - special.betaln(a, b))
    )


def _p0_text(p0: float | Beta, delta: float = 0.0) -> str:
    if isinstance(p0, Beta):
        return "p_S" + (f" + {delta:g}" if delta else "") + f", p_S ~ {p0}"
    return f"{p0 + delta:g}"


def _check_p0(value: Any, owner: str) -> float | Beta:
    if isinstance(value, Beta):
        return value
    if isinstance(value, BetaMixture):
        raise fail("p0", owner, "a probability in (0, 1) or a Beta", value)
    return check_probability(value, "p0", owner)


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------
class Rule:
    """Protocol of every rule: ``evaluate`` a look for all r, print its maths."""

    __slots__ = ()
    kind: ClassVar[str] = ""

    def evaluate(self, slot: str, look: Look) -> np.ndarray:
        """Boolean array over ``r = 0..look.n``: True where the slot's action fires.

        For ``futility`` and ``efficacy`` the action is "stop"; for ``final`` it
        is "succeed".
        """
        raise NotImplementedError

    def statistic(self, look: Look, r: Any) -> np.ndarray:
        """The rule's statistic (a probability) for each ``r``."""
        raise NotImplementedError

    def act(self, slot: str, stat: Any, *, index: int = 0, fraction: float = 1.0) -> np.ndarray:
        """Where the slot's action fires, for values of the rule's statistic.

        The comparison of the statistic with the rule's cutoff, kept in one
        place: :meth:`evaluate` applies it to the single-cohort statistic, and
        multi-cohort designs apply it to the joint posterior's statistic.

        Parameters
        ----------
        slot : {"futility", "efficacy", "final"}
        stat : array_like
            Values of :meth:`statistic` (however computed).
        index : int
            0-based index of the look among the looks the slot applies at
            (boundary rules pick their entry by it).
        fraction : float
            Information fraction n / n_max (BOP2's cutoffs change with it).

        Returns
        -------
        numpy.ndarray of bool
            For ``futility`` and ``efficacy`` the action is "stop"; for
            ``final`` it is "succeed".
        """
        raise NotImplementedError

    def describe(self, slot: str) -> str:
        """The rule in words, for a given slot."""
        raise NotImplementedError

    def replace(self, **changes: Any) -> Rule:
        """A copy with ``changes`` applied (re-validated)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """Design-file representation (the keys of a ``[futility]``-style table)."""
        out: dict[str, Any] = {"rule": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            key = f.metadata.get("key", f.name)
            if v is None:
                continue
            if isinstance(v, Beta):
                v = {"beta": [v.a, v.b]}
            elif isinstance(v, tuple):
                v = list(v)
            out[key] = v
        return out


def _gt(stat: np.ndarray, cutoff: float) -> np.ndarray:
    return stat > cutoff


@dataclass(frozen=True, slots=True)
class PosteriorProbability(Rule):
    """Posterior-probability rule on P(p > p0 + δ | data) (Thall & Simon 1994).

    * ``final``: succeed if P(p > p0 + δ | data) > ``cutoff``;
    * ``efficacy``: stop if P(p > p0 + δ | data) > ``cutoff``;
    * ``futility``: stop if P(p > p0 + δ | data) ≤ ``cutoff``.

    Parameters
    ----------
    p0 : float or Beta
        Reference rate, or a Beta for an uncertain standard-of-care rate p_S.
    cutoff : float
        Probability in (0, 1).
    delta : float
        Margin δ ≥ 0 (default 0).
    """

    kind: ClassVar[str] = "posterior"
    p0: float | Beta
    cutoff: float
    delta: float = 0.0

    def __post_init__(self) -> None:
        owner = "PosteriorProbability"
        object.__setattr__(self, "p0", _check_p0(self.p0, owner))
        object.__setattr__(self, "cutoff", check_probability(self.cutoff, "cutoff", owner))
        object.__setattr__(
            self, "delta", check_real(self.delta, "delta", owner, low=0.0, high=1.0, high_open=True)
        )
        if not isinstance(self.p0, Beta) and self.p0 + self.delta >= 1.0:
            raise fail(
                "delta", owner, f"a margin with p0 + delta < 1 (p0 = {self.p0:g})", self.delta
            )

    def statistic(self, look: Look, r: Any) -> np.ndarray:
        """P(p > p0 + δ | r of n) for each r."""
        return posterior_prob_exceeds(look.prior, r, look.n, self.p0, self.delta)

    def act(self, slot: str, stat: Any, *, index: int = 0, fraction: float = 1.0) -> np.ndarray:
        """See :meth:`Rule.act`: futility stops at or below the cutoff, the others act above."""
        above = _gt(np.asarray(stat), self.cutoff)
        return ~above if slot == "futility" else above

    def evaluate(self, slot: str, look: Look) -> np.ndarray:
        """See :meth:`Rule.evaluate`."""
        return self.act(slot, self.statistic(look, np.arange(look.n + 1)))

    def describe(self, slot: str) -> str:
        """The rule in words."""
        ref = _p0_text(self.p0, self.delta)
        op = "<=" if slot == "futility" else ">"
        verb = {
            "futility": "stop for futility",
            "efficacy": "stop for efficacy",
            "final": "success",
        }[slot]
        return f"{verb} if P(p > {ref} | data) {op} {self.cutoff:g}"

    def __str__(self) -> str:
        return self.describe("final")


@dataclass(frozen=True, slots=True)
class PredictiveProbability(Rule):
    """Predictive probability of final success (Lee & Liu 2008).

    PP is the probability, under the posterior predictive distribution of the
    ``n_max - n`` patients still to come, that the design's ``final`` rule
    succeeds at the last look.

    * ``futility``: stop if PP < ``threshold`` (θ_L);
    * ``efficacy``: stop if PP > ``threshold`` (θ_U).

    Parameters
    ----------
    threshold : float
        Probability in (0, 1).
    """

    kind: ClassVar[str] = "predictive"
    threshold: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "threshold",
            check_probability(self.threshold, "threshold", "PredictiveProbability"),
        )

    def statistic(self, look: Look, r: Any) -> np.ndarray:
        """PP(r) = P(R_future >= s - r | r of n), with s the final success count."""
        rr = np.atleast_1d(np.asarray(r, dtype=float))
        return predictive_success(
            look.prior, rr, look.n, look.n_max, look.final_success_min_r
        ).reshape(np.shape(r))

    def evaluate(self, slot: str, look: Look) -> np.ndarray:
        """See :meth:`Rule.evaluate`."""
        if slot == "final":
            raise DesignError(
                "`final` rule must be one of {'posterior', 'bop2', 'boundary', 'dual'}; "
                "got 'predictive' (a predictive probability needs a final rule to predict)."
            )
        return self.act(slot, self.statistic(look, np.arange(look.n + 1)))

    def act(self, slot: str, stat: Any, *, index: int = 0, fraction: float = 1.0) -> np.ndarray:
        """See :meth:`Rule.act`: futility below the threshold, efficacy above it."""
        pp = np.asarray(stat)
        return pp < self.threshold if slot == "futility" else pp > self.threshold

    def describe(self, slot: str) -> str:
        """The rule in words."""
        if slot == "futility":
            return f"stop for futility if PP(final success) < {self.threshold:g}"
        return f"stop for efficacy if PP(final success) > {self.threshold:g}"

    def __str__(self) -> str:
        return self.describe("futility")


@dataclass(frozen=True, slots=True)
class BOP2(Rule):
    """BOP2 cutoffs that change with the information fraction (Zhou, Lee & Yuan 2017).

    With ``t = n / n_max``:

    * ``futility``: stop if P(p ≤ p0 | data) > 1 − λ t^γ,
      i.e. P(p > p0 | data) < λ t^γ;
    * ``efficacy`` (BOP2-FE, Xu et al. 2025): stop if
      P(p > p0 | data) ≥ 1 − (1 − λ) t^η;
    * ``final``: succeed if P(p > p0 | data) > λ.

    Parameters
    ----------
    p0 : float
        Null response rate.
    lambda_ : float
        λ in (0, 1); ``lambda`` in design files.
    gamma : float, optional
        γ > 0, required in the futility slot.
    eta : float, optional
        η > 0, required in the efficacy slot.
    """

    kind: ClassVar[str] = "bop2"
    p0: float | Beta
    lambda_: float = dataclasses.field(metadata={"key": "lambda"})
    gamma: float | None = None
    eta: float | None = None

    def __post_init__(self) -> None:
        owner = "BOP2"
        object.__setattr__(self, "p0", _check_p0(self.p0, owner))
        object.__setattr__(self, "lambda_", check_probability(self.lambda_, "lambda", owner))
        for name in ("gamma", "eta"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(
                    self, name, check_real(v, name, owner, low=0.0, low_open=True, high=1e6)
                )

    def statistic(self, look: Look, r: Any) -> np.ndarray:
        """P(p > p0 | r of n)."""
        return posterior_prob_exceeds(look.prior, r, look.n, self.p0)

    def evaluate(self, slot: str, look: Look) -> np.ndarray:
        """See :meth:`Rule.evaluate`."""
        stat = self.statistic(look, np.arange(look.n + 1))
        return self.act(slot, stat, index=look.index, fraction=look.n / look.n_max)

    def act(self, slot: str, stat: Any, *, index: int = 0, fraction: float = 1.0) -> np.ndarray:
        """See :meth:`Rule.act`: the cutoffs at information fraction ``fraction``."""
        p = np.asarray(stat)
        t = fraction
        if slot == "futility":
            if self.gamma is None:
                raise fail("gamma", "BOP2 futility rule", "a number > 0", None)
            return cast(np.ndarray, p < self.lambda_ * t**self.gamma)
        if slot == "efficacy":
            if self.eta is None:
                raise fail("eta", "BOP2 efficacy rule", "a number > 0", None)
            return cast(np.ndarray, p >= 1 - (1 - self.lambda_) * t**self.eta)
        return cast(np.ndarray, p > self.lambda_)

    def describe(self, slot: str) -> str:
        """The rule in words."""
        p0 = _p0_text(self.p0)
        if slot == "futility":
            return (
                f"stop for futility if P(p <= {p0} | data) > 1 - {self.lambda_:g}"
                f" (n/N)^{self.gamma:g}"
            )
        if slot == "efficacy":
            return (
                f"stop for efficacy if P(p > {p0} | data) >= 1 - {1 - self.lambda_:g}"
                f" (n/N)^{self.eta:g}"
            )
        return f"success if P(p > {p0} | data) > {self.lambda_:g}"

    def __str__(self) -> str:
        return self.describe("futility" if self.gamma is not None else "final")


@dataclass(frozen=True, slots=True)
class Boundary(Rule):
    """Explicit integer boundaries, one per look the rule is used at.

    ``r[k]`` is, at the k-th look where the slot applies, the largest response
    count that *fails*:

    * ``futility``: stop if responses ≤ r[k] (−1: never stop at that look);
    * ``efficacy``: stop if responses > r[k] (n or more: never stop there);
    * ``final``: succeed if responses > r[0] (a single entry).
    """

    kind: ClassVar[str] = "boundary"
    r: tuple[int, ...]

    def __post_init__(self) -> None:
        r = self.r
        if isinstance(r, int | np.integer) and not isinstance(r, bool):
            r = (int(r),)
        object.__setattr__(self, "r", _int_tuple(r, "r", "Boundary", low=-1))

    def evaluate(self, slot: str, look: Look) -> np.ndarray:
        """See :meth:`Rule.evaluate`; ``look.index`` picks the entry."""
        return self.act(slot, np.arange(look.n + 1), index=look.index)

    def act(self, slot: str, stat: Any, *, index: int = 0, fraction: float = 1.0) -> np.ndarray:
        """See :meth:`Rule.act`: ``stat`` is the response count; ``index`` picks the entry."""
        idx = 0 if slot == "final" else index
        if idx >= len(self.r):
            raise DesignError(
                f"`r` of Boundary ({slot}) must have one entry per interim look; "
                f"got {len(self.r)} for look {index + 1}."
            )
        crit = self.r[idx]
        count = np.asarray(stat)
        return count <= crit if slot == "futility" else count > crit

    def statistic(self, look: Look, r: Any) -> np.ndarray:
        """The response count itself."""
        return np.asarray(r, dtype=float)

    def describe(self, slot: str) -> str:
        """The rule in words."""
        vals = ", ".join(str(x) for x in self.r)
        if slot == "futility":
            return f"stop for futility if responses <= r = ({vals}) at the interim looks"
        if slot == "efficacy":
            return f"stop for efficacy if responses > r = ({vals}) at the interim looks"
        return f"success if responses > {self.r[0]}"

    def __str__(self) -> str:
        return self.describe("futility")


@dataclass(frozen=True, slots=True)
class DualCriterion(Rule):
    """Dual-criterion Go / Consider / No-Go rule (Frewer 2016; Roychoudhury 2018).

    Two criteria:

    * significance: P(p > ``lrv`` | data) > ``lrv_cutoff`` (lower reference value);
    * relevance: P(p > ``tv`` | data) > ``tv_cutoff`` (target value).

    **Go** if both hold, **No-Go** if neither, **Consider** otherwise. In the
    ``final`` slot success means Go; in ``efficacy`` a Go stops the trial; in
    ``futility`` a No-Go stops it.
    """

    kind: ClassVar[str] = "dual"
    lrv: float
    tv: float
    lrv_cutoff: float = 0.9
    tv_cutoff: float = 0.5

    def __post_init__(self) -> None:
        owner = "DualCriterion"
        for name in ("lrv", "tv", "lrv_cutoff", "tv_cutoff"):
            object.__setattr__(self, name, check_probability(getattr(self, name), name, owner))
        if not self.tv > self.lrv:
            raise fail("tv", owner, f"a target value above lrv = {self.lrv:g}", self.tv)

    def criteria(self, look: Look) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(significance met, relevance met) for every r = 0..n."""
        r = np.arange(look.n + 1)
        sig = posterior_prob_exceeds(look.prior, r, look.n, self.lrv) > self.lrv_cutoff
        rel = posterior_prob_exceeds(look.prior, r, look.n, self.tv) > self.tv_cutoff
        return sig, rel

    def statistic(self, look: Look, r: Any) -> np.ndarray:
        """Number of criteria met (0 = No-Go, 1 = Consider, 2 = Go)."""
        sig, rel = self.criteria(look)
        return cast(np.ndarray, (sig.astype(int) + rel.astype(int))[np.asarray(r, dtype=int)])

    def evaluate(self, slot: str, look: Look) -> np.ndarray:
        """See :meth:`Rule.evaluate`."""
        sig, rel = self.criteria(look)
        return self.act(slot, sig.astype(int) + rel.astype(int))

    def act(self, slot: str, stat: Any, *, index: int = 0, fraction: float = 1.0) -> np.ndarray:
        """See :meth:`Rule.act`: ``stat`` counts the criteria met (No-Go 0, Go 2)."""
        met = np.asarray(stat)
        return cast(np.ndarray, met == 0 if slot == "futility" else met == 2)

    def no_go(self, look: Look) -> np.ndarray:
        """True where neither criterion holds."""
        sig, rel = self.criteria(look)
        return ~sig & ~rel

    def describe(self, slot: str) -> str:
        """The rule in words."""
        crit = (
            f"P(p > {self.lrv:g} | data) > {self.lrv_cutoff:g} and "
            f"P(p > {self.tv:g} | data) > {self.tv_cutoff:g}"
        )
        if slot == "futility":
            return f"No-Go (stop) if neither of: {crit}"
        return f"Go if both {crit}; No-Go if neither; Consider otherwise"

    def __str__(self) -> str:
        return self.describe("final")


def _int_tuple(value: Any, name: str, owner: str, *, low: int) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise fail(name, owner, f"a list of integers >= {low}", value)
    try:
        return tuple(check_int(v, name, owner, low=low) for v in value)
    except DesignError:
        raise fail(name, owner, f"a list of integers >= {low}", value) from None


RULES: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (PosteriorProbability, PredictiveProbability, BOP2, Boundary, DualCriterion)
}
