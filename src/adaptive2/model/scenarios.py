"""Scenarios: true response rates, with a role that labels the OC tables.

One type serves every design. A single-cohort scenario is one true rate ``p``
with a role (``null``: ``p_efficacy`` is type I error; ``alternative``: power;
``other``: neither). A joint scenario of a multi-cohort design gives a rate per
cohort (``rates``); each cohort's role then follows from its own p0 and p1
(:func:`adaptive2.model.cohorts.cohort_roles`). :class:`ScenarioGrid` is the
content of a scenario file: per-cohort grids, joint scenarios and trial-conduct
settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_choice, check_probability, check_real, fail
from adaptive2.model.conduct import Conduct
from adaptive2.model.priors import Beta

__all__ = ["ROLES", "CohortScenario", "Scenario", "ScenarioGrid", "as_scenarios"]

ROLES = ("null", "alternative", "other")


@dataclass(frozen=True, slots=True)
class Scenario:
    """True response rate(s) with a name.

    Parameters
    ----------
    name : str
        Label used in tables.
    p : float, optional
        Single cohort: the true response rate in [0, 1].
    role : {"null", "alternative", "other"}
        Single cohort: whether ``p_efficacy`` is read as type I error
        (``null``), power (``alternative``) or neither.
    rates : mapping or tuple of (cohort, rate), optional
        Several cohorts: the true rate of every cohort (give ``rates`` or ``p``,
        not both).
    toxicity : float or mapping cohort → float, optional
        True rate of the monitored toxicity event, in [0, 1], for designs with
        a toxicity monitor (others ignore it: they do not stop for toxicity).
        A joint scenario takes one rate per cohort (a mapping over some or all
        of its cohorts) or one rate for every cohort. ``None``: not given (the
        OC engine then uses its default toxicity rates).
    odds_ratio : float or mapping cohort → float, optional
        Odds ratio between response and the toxicity event in a patient, > 0
        (1: independent), per cohort for a joint scenario. ``None``: not given.

    Examples
    --------
    >>> Scenario("null", 0.4, "null").p
    0.4
    >>> Scenario("mixed", rates={"frontline": 0.6, "post_io": 0.1}).rate("post_io")
    0.1
    >>> Scenario("toxic", 0.6, toxicity=0.3, odds_ratio=2.0).tox_rate()
    0.3
    """

    name: str
    p: float | None = None
    role: str = "other"
    rates: Any = ()
    toxicity: Any = None
    odds_ratio: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise fail("name", "Scenario", "a non-empty string", self.name)
        if self.role not in ROLES:
            check_choice(self.role, "role", "Scenario", ROLES)
        if not self.rates and self.p is not None:  # one cohort: the common, fast case
            object.__setattr__(self, "rates", ())
            object.__setattr__(self, "p", check_probability(self.p, "p", "Scenario", closed=True))
            if self.toxicity is not None or self.odds_ratio is not None:
                self._check_toxicity()
            return
        items = self.rates.items() if isinstance(self.rates, Mapping) else tuple(self.rates)
        rates = tuple(
            (str(k), check_probability(v, f"rates[{k}]", "Scenario", closed=True))
            for k, v in items
        )
        object.__setattr__(self, "rates", rates)
        if (self.p is None) == (not rates):
            raise fail("p", "Scenario", "a true rate `p` (one cohort) or `rates` per cohort, "
                       "not both", self.p)
        if self.p is not None:
            object.__setattr__(self, "p", check_probability(self.p, "p", "Scenario", closed=True))
        if self.toxicity is not None or self.odds_ratio is not None:
            self._check_toxicity()

    def _check_toxicity(self) -> None:
        """Normalise ``toxicity`` and ``odds_ratio``: a number, or (cohort, number) pairs."""
        owner = "Scenario"
        joint = bool(self.rates)
        cohorts = [k for k, _ in self.rates]  # normalised (cohort, rate) pairs
        for key in ("toxicity", "odds_ratio"):
            value = getattr(self, key)
            if value is None:
                continue
            pairs = isinstance(value, tuple) and all(
                isinstance(x, tuple) and len(x) == 2 for x in value
            )
            if isinstance(value, Mapping) or pairs:
                items = dict(value)
                if not joint:
                    raise fail(key, owner, "a number (one cohort: one rate)", value)
                unknown = sorted(set(map(str, items)) - set(cohorts))
                if unknown or not items:
                    raise fail(key, owner, f"values for cohorts in {cohorts}",
                               sorted(map(str, items)))
                normal: Any = tuple(
                    (str(k), _check_setting(key, v, f"{key}[{k}]")) for k, v in items.items()
                )
            else:
                normal = _check_setting(key, value, key)
            object.__setattr__(self, key, normal)

    def tox_rate(self, cohort: str | None = None) -> float | None:
        """True toxicity rate (of ``cohort`` for a joint scenario); ``None`` if not given."""
        return _per_cohort(self.toxicity, cohort)

    def odds_ratio_of(self, cohort: str | None = None) -> float | None:
        """Response-toxicity odds ratio (of ``cohort``); ``None`` if not given."""
        return _per_cohort(self.odds_ratio, cohort)

    @property
    def joint(self) -> bool:
        """True for a scenario with a rate per cohort."""
        return bool(self.rates)

    def rate(self, cohort: str) -> float:
        """True rate of ``cohort`` (a single-cohort scenario's ``p`` for any cohort)."""
        if not self.rates:
            return float(self.p)  # type: ignore[arg-type]
        d: dict[str, float] = dict(self.rates)
        if cohort not in d:
            raise DesignError(
                f"scenario {self.name!r} must give a rate for cohort {cohort!r}; "
                f"got rates for {sorted(d)}."
            )
        return d[cohort]

    @property
    def key(self) -> int:
        """Stable 32-bit key from the true rate (addresses random streams)."""
        digest = hashlib.sha256(repr(float(self.p)).encode()).digest()  # type: ignore[arg-type]
        return int.from_bytes(digest[:4], "little")


def _check_setting(key: str, value: Any, name: str) -> float:
    """A scenario's toxicity rate (in [0, 1]) or odds ratio (a finite number > 0)."""
    if key == "toxicity":
        return check_probability(value, name, "Scenario", closed=True)
    return check_real(value, name, "Scenario", low=0.0, low_open=True, finite=True,
                      allowed="a finite number > 0 (1: response and toxicity independent)")


def _per_cohort(value: Any, cohort: str | None) -> float | None:
    """A scenario's toxicity setting for ``cohort``: a number, or its cohort's entry."""
    if value is None or isinstance(value, float):
        return value
    found: dict[str, float] = dict(value)
    return found.get(cohort) if cohort is not None else None


def CohortScenario(name: str, rates: Any) -> Scenario:
    """A joint scenario: ``Scenario(name, rates=rates)``."""
    return Scenario(name, rates=rates)


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
            if s.joint:
                raise fail("scenarios", "oc", "single-cohort scenarios (a true rate `p`)", s.name)
            out.append(s)
        else:
            p = check_probability(s, "scenarios", "oc", closed=True)
            out.append(Scenario(f"p={p:.4g}", p, _role(p, p0, p1)))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise fail("scenarios", "oc", "scenarios with distinct names", names)
    return tuple(out)


@dataclass(frozen=True)
class ScenarioGrid:
    """Per-cohort rates with roles, multi-cohort scenarios and trial-conduct settings.

    Attributes
    ----------
    cohorts : dict
        Cohort name -> (p0, scenarios).
    multi : tuple
        Multi-cohort scenarios (``CohortScenario``).
    conduct : tuple of (str, Conduct)
        Named trial-conduct settings, in file order.
    conduct_cohorts : tuple of (str, tuple of (str, Conduct))
        Per-cohort overrides: setting name -> (cohort name, Conduct) pairs; only
        settings with overrides appear.
    trial : tuple of (str, str)
        The trial the grid belongs to (the scenario file's ``[trial]`` table:
        ``name``, ``protocol``, ``version``, ``date``, ``programme``, ``sponsor``),
        as (key, text) pairs in file order; empty when the file has none.
    """

    cohorts: dict[str, tuple[float, tuple[Scenario, ...]]]  # name -> (p0, scenarios)
    multi: tuple[Any, ...] = ()
    conduct: tuple[tuple[str, Conduct], ...] = ()
    conduct_cohorts: tuple[tuple[str, tuple[tuple[str, Conduct], ...]], ...] = ()
    trial: tuple[tuple[str, str], ...] = ()

    def for_p0(self, p0: float) -> tuple[Scenario, ...] | None:
        """Scenarios of the cohort whose null rate is ``p0``."""
        for q0, scen in self.cohorts.values():
            if abs(q0 - p0) < 1e-12:
                return scen
        return None

    def conduct_for(self, name: str, cohort: str | None = None) -> Conduct:
        """The Conduct of setting ``name`` (for ``cohort``, its override if it has one).

        For a multi-cohort design pass
        ``{c: grid.conduct_for(name, c) for c in design.names}`` as ``conduct=``.
        """
        settings = dict(self.conduct)
        if name not in settings:
            raise fail("name", "ScenarioGrid.conduct_for", f"one of {list(settings)}", name)
        overrides: dict[str | None, Conduct] = dict(dict(self.conduct_cohorts).get(name, ()))
        return overrides.get(cohort, settings[name])
