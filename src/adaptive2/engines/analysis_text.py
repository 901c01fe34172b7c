"""Decisions in words.

Which look the data belong to, what the boundaries say, and how far the data are
from the next boundary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from adaptive2._base.errors import DesignError, StatisticalWarning
from adaptive2._base.validation import check_int
from adaptive2.engines.analysis_results import (
    _OWNER,
    CONSIDER,
    CONTINUE,
    FAILURE,
    GO,
    NO_GO,
    STOP_EFFICACY,
    STOP_FUTILITY,
    SUCCESS,
    NextLook,
)
from adaptive2.model.data import SINGLE_COHORT_NAME


# ---------------------------------------------------------------------------
# Data and looks
# ---------------------------------------------------------------------------
def _locate(
    looks: tuple[int, ...], n: int, look: int | None, label: str
) -> tuple[int | None, str | None]:
    """0-based look index for ``n`` patients (None before look 1) and a warning text."""
    n_looks = len(looks)
    who = "the data" if label == SINGLE_COHORT_NAME else f"cohort {label!r}"
    have = "have" if label == SINGLE_COHORT_NAME else "has"
    k: int | None
    if look is not None:
        look = check_int(look, "look", _OWNER, low=1, high=n_looks)
        k = look - 1
        if n < looks[k]:
            raise DesignError(
                f"`look` of analyze must be a look the data have reached; got look {look} "
                f"(n = {looks[k]}), but {who} {have} n = {n} (omit `look` to analyse at the "
                "last look passed)."
            )
        if k + 1 < n_looks and n >= looks[k + 1]:
            raise DesignError(
                f"`look` of analyze must be a look the data have not passed; got look {look} "
                f"(n = {looks[k]}), but {who} {have} n = {n}, which reaches look {look + 1} "
                f"(n = {looks[k + 1]})."
            )
    else:
        passed = [i for i, nk in enumerate(looks) if nk <= n]
        k = passed[-1] if passed else None
    if k is None:
        return None, (
            f"{who}: n = {n} is before look 1 (n = {looks[0]}); no analysis is due yet, so "
            "the decision is 'continue' and the next-look figures refer to look 1."
        )
    if n != looks[k]:
        return k, (
            f"{who}: n = {n} lies between look {k + 1} (n = {looks[k]}) and look {k + 2} "
            f"(n = {looks[k + 1]}); analysed against look {k + 1}, whose rule is applied "
            f"to all {n} patients."
        )
    return k, None


def _warn(
    message: str,
    sink: list[str],
    category: type[Warning] = StatisticalWarning,
    stacklevel: int = 4,
) -> None:
    """Record ``message`` on the result and warn (stacklevel 4: the caller of analyze)."""
    sink.append(message)
    warnings.warn(message, category, stacklevel=stacklevel)


# ---------------------------------------------------------------------------
# Decisions and sentences (shared by single- and multi-cohort designs)
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Bounds:
    """Integer boundaries of one look at size ``n``."""

    n: int
    a: int | None  # futility (final: failure / No-Go) if r <= a
    b: int | None  # efficacy (final: success / Go) if r >= b
    final: bool
    dual: bool


def _decide(r: int, bd: _Bounds) -> str:
    fut = bd.a is not None and r <= bd.a
    eff = bd.b is not None and r >= bd.b
    if bd.final:
        if bd.dual:
            return GO if eff else (NO_GO if fut else CONSIDER)
        return SUCCESS if eff else FAILURE
    return STOP_FUTILITY if fut else (STOP_EFFICACY if eff else CONTINUE)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


def _reason(r: int, bd: _Bounds | None, first_n: int, decision: str, given: str) -> str:
    if bd is None:
        return f"no look reached yet: look 1 is at n = {first_n}"
    n, a, b = bd.n, bd.a, bd.b
    if bd.final and not bd.dual:
        if b is None:
            return f"no response count succeeds at n = {n}{given}"
        op = ">=" if decision == SUCCESS else "<"
        return f"r = {r} {op} {b}, the success boundary at n = {n}{given}"
    if decision in (STOP_FUTILITY, NO_GO):
        word = "futility" if decision == STOP_FUTILITY else "No-Go"
        return f"r = {r} <= {a}, the {word} boundary at n = {n}{given}"
    if decision in (STOP_EFFICACY, GO):
        word = "efficacy" if decision == STOP_EFFICACY else "Go"
        return f"r = {r} >= {b}, the {word} boundary at n = {n}{given}"
    lo = "no futility stop" if a is None else f"{'No-Go' if bd.final else 'futility'} if r <= {a}"
    hi = "no efficacy stop" if b is None else f"{'Go' if bd.final else 'efficacy'} if r >= {b}"
    return f"r = {r} at n = {n}: {lo}, {hi}{given}"


def _next_look(r: int, n: int, k_next: int, bd: _Bounds) -> NextLook:
    to_avoid = 0 if bd.a is None else max(bd.a + 1 - r, 0)
    to_eff = None if bd.b is None else max(bd.b - r, 0)
    return NextLook(
        look=k_next + 1,
        n=bd.n,
        patients=bd.n - n,
        futility_max_r=bd.a,
        efficacy_min_r=bd.b,
        final=bd.final,
        dual=bd.dual,
        responses_to_avoid_futility=to_avoid,
        responses_for_efficacy=to_eff,
    )


def _distance(
    r: int, nl: NextLook | None, bd_now: _Bounds | None, decision: str, given: str
) -> str:
    """The distance to the next look's boundaries, in words."""
    text = _distance_text(r, nl, bd_now, given)
    if decision in (STOP_FUTILITY, STOP_EFFICACY):
        return f"the design stops at this look; were the trial to continue: {text}"
    return text


def _distance_text(r: int, nl: NextLook | None, bd_now: _Bounds | None, given: str) -> str:
    if nl is None:  # final look analysed: nothing left
        assert bd_now is not None
        n, b = bd_now.n, bd_now.b
        if b is None:
            return f"no look left; no response count succeeds at n = {n}{given}"
        word = "Go" if bd_now.dual else "success"
        if r >= b:
            return (f"no look left; the {word} boundary r >= {b} at n = {n} was met with "
                    f"{_plural(r - b, 'response')} to spare{given}")
        return (f"no look left; the {word} boundary r >= {b} at n = {n} was missed by "
                f"{_plural(b - r, 'response')}{given}")
    m, n_next, look = nl.patients, nl.n, nl.look
    parts = []
    at = f"at n = {n_next}"
    if nl.final:
        s = nl.efficacy_min_r
        word = "Go" if nl.dual else "final success"
        if s is None:
            parts.append(f"{word} is impossible: no response count reaches it {at}")
        elif nl.responses_for_efficacy == 0:
            parts.append(f"{word} is assured (r >= {s} {at} is already met)")
        else:
            need = nl.responses_for_efficacy
            assert need is not None
            if need > m:
                parts.append(f"{word} is out of reach: it needs r >= {s} {at}, "
                             f"{_plural(need, 'more response')} among the last "
                             f"{_plural(m, 'patient')}")
            else:
                parts.append(f"{_plural(need, 'more response')} among the next "
                             f"{_plural(m, 'patient')} would be needed for {word} "
                             f"(r >= {s} {at})")
        if nl.dual and nl.futility_max_r is not None:
            parts.append(_avoid_text(r, m, nl, "No-Go", "avoid No-Go", at))
        return "; ".join(parts) + given
    if nl.futility_max_r is None:
        parts.append(f"look {look} ({at}) has no futility stop")
    else:
        parts.append(_avoid_text(r, m, nl, "a futility stop", "continue", at, look))
    if nl.efficacy_min_r is not None:
        b, need = nl.efficacy_min_r, nl.responses_for_efficacy
        assert need is not None
        if need == 0:
            parts.append(f"an efficacy stop at look {look} is assured (r >= {b} {at} is met)")
        elif need > m:
            parts.append(f"an efficacy stop at look {look} is out of reach (it needs r >= {b} "
                         f"{at}, {_plural(need, 'more response')} among the next "
                         f"{_plural(m, 'patient')})")
        else:
            parts.append(f"stopping for efficacy at look {look} would need r >= {b} {at} "
                         f"({_plural(need, 'more response')} among the next "
                         f"{_plural(m, 'patient')})")
    return "; ".join(parts) + given


def _avoid_text(r: int, m: int, nl: NextLook, event: str, verb: str, at: str,
                look: int | None = None) -> str:
    a = nl.futility_max_r
    assert a is not None
    where = "" if look is None else f" at look {look}"
    need = nl.responses_to_avoid_futility
    if need == 0:
        return f"{event}{where} is no longer possible (it needs r <= {a} {at})"
    if need > m:
        return (f"{event}{where} cannot be avoided whatever the next "
                f"{_plural(m, 'patient')} show: to {verb} would need r >= {a + 1} {at}, "
                f"{_plural(need, 'more response')}")
    stop = "stopping for futility" if event == "a futility stop" else event
    return (f"{_plural(need, 'more response')} among the next {_plural(m, 'patient')} "
            f"would be needed to {verb} ({stop}{where} would need r <= {a} {at})")


# ---------------------------------------------------------------------------
# Toxicity co-monitoring: the sentences
# ---------------------------------------------------------------------------
def _first(n: int) -> str:
    return "the first patient" if n == 1 else f"the first {n} patients"


def _toxicity_reason(
    t: int, n: int, boundary: int | None, point: int | None, n_point: int, stops: bool
) -> str:
    """Why the toxicity monitor stops or continues at this point.

    ``point`` is the 1-based monitoring point analysed (``None``: before the
    first, whose size is ``n_point``), ``boundary`` the smallest stopping count
    at ``n`` (at ``n_point`` before the first point; ``None``: no count stops).
    """
    had = f"{t} of {n} patients had the event"
    if point is None:
        head = f"{had}; no toxicity check is due yet: the first is at n = {n_point}"
        if boundary is None:
            return f"{head}, where no count stops"
        rule = f"stop enrolment if {boundary} or more of {_first(n_point)} have the event"
        if t >= boundary:
            return f"{head} ({rule}), and the count already reaches it"
        return f"{head} ({rule})"
    where = f"n = {n}" if n == n_point else (
        f"n = {n} (the rule of monitoring point {point}, n = {n_point}, applied to all {n} "
        "patients)"
    )
    if boundary is None:
        return f"{had}; no count stops at {where}"
    if stops:
        return (f"{had}, at or above the boundary at {where}: stop enrolment if {boundary} or "
                f"more of {_first(n)} have the event")
    return f"{had}; the boundary at {where} is {boundary}"


def _toxicity_distance(
    t: int, n: int, next_point: int | None, n_next: int | None, c_next: int | None
) -> str:
    """Where the event count stands against the next monitoring point, in words."""
    if next_point is None or n_next is None:
        return "no monitoring point left"
    at = f"monitoring point {next_point} (n = {n_next})"
    if c_next is None:
        return f"{at} stops for no count"
    rule = f"stops enrolment if {c_next} or more of {_first(n_next)} have the event"
    need, left = c_next - t, n_next - n
    if need <= 0:
        return f"{at} {rule}: reached already, so it will stop enrolment"
    if need > left:
        return (f"{at} {rule}: out of reach ({_plural(need, 'more event')} would be needed "
                f"among the next {_plural(left, 'patient')})")
    return (f"{at} {rule}: {_plural(need, 'more event')} among the next "
            f"{_plural(left, 'patient')} would stop enrolment there")
