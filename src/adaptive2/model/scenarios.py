"""Scenarios: true response rates with a role that labels the OC tables."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adaptive2._base.validation import check_choice, check_probability, fail
from adaptive2.model.priors import Beta

__all__ = ["ROLES", "Scenario", "as_scenarios"]

ROLES = ("null", "alternative", "other")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A true response rate ``p`` with a name and a role.

    Parameters
    ----------
    name : str
        Label used in tables.
    p : float
        True response rate in [0, 1].
    role : {"null", "alternative", "other"}
        Decides whether ``p_efficacy`` is read as type I error (``null``), power
        (``alternative``) or neither.
    """

    name: str
    p: float
    role: str = "other"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise fail("name", "Scenario", "a non-empty string", self.name)
        object.__setattr__(self, "p", check_probability(self.p, "p", "Scenario", closed=True))
        check_choice(self.role, "role", "Scenario", ROLES)

    @property
    def key(self) -> int:
        """Stable 32-bit key from the true rate (addresses random streams)."""
        digest = hashlib.sha256(repr(float(self.p)).encode()).digest()
        return int.from_bytes(digest[:4], "little")


def _role(p: float, p0: float | Beta | None, p1: float | None) -> str:
    """Role of a true rate ``p`` given the planning values: the one rule for every design.

    ``"null"`` if ``p <= p0`` (the mean of ``p0`` when it is a Beta);
    ``"alternative"`` if ``p >= p1``, or, when ``p1`` is None, if ``p > p0``;
    ``"other"`` strictly between ``p0`` and ``p1`` (neither type I error nor
    power: ``P(efficacy)``), and for every ``p`` when ``p0`` is None. Comparisons
    allow 1e-12 for rounding. Single-cohort scenarios (:func:`as_scenarios`) and
    the cohorts of multi-cohort designs (``cohort_oc``, ``simulate``,
    :func:`adaptive2.engines.borrowing.borrowing_summary`) are labelled by this function.
    """
    if p0 is None:
        return "other"
    null = p0.mean if isinstance(p0, Beta) else p0
    if p <= null + 1e-12:
        return "null"
    if p1 is None or p >= p1 - 1e-12:
        return "alternative"
    return "other"


def as_scenarios(
    scenarios: Iterable[Any] | None,
    *,
    p0: float | Beta | None = None,
    p1: float | None = None,
    default: Sequence[float] = (),
) -> tuple[Scenario, ...]:
    """Normalise floats / Scenario objects to a tuple of Scenario.

    A bare rate gets the name ``"p=0.30"`` and the role ``null`` if it is at or
    below ``p0``, ``alternative`` if at or above ``p1`` (or above ``p0`` when no
    ``p1`` is given), else ``other``.
    """
    items = list(default) if scenarios is None else list(scenarios)
    if not items:
        raise fail("scenarios", "oc", "at least one true response rate", items)
    out = []
    for s in items:
        if isinstance(s, Scenario):
            out.append(s)
        else:
            p = check_probability(s, "scenarios", "oc", closed=True)
            out.append(Scenario(f"p={p:.4g}", p, _role(p, p0, p1)))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise fail("scenarios", "oc", "scenarios with distinct names", names)
    return tuple(out)
