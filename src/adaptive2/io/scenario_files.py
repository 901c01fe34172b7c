"""Scenario files: per-cohort grids, joint scenarios and trial-conduct settings.

A scenario file (``designs/scenarios.toml``) holds:

* an optional ``[trial]`` table naming the trial the report is for: ``name``,
  ``protocol``, ``version``, ``date`` (a string or a TOML date), ``programme``
  and ``sponsor``, every one optional, every one text;
* ``[NAME]`` cohort tables: ``p0`` and ``null`` / ``other`` / ``alternative`` rates,
  and optionally ``toxicity`` (a true toxicity rate, or a list of them crossed with
  the response rates) and ``odds_ratio`` (between response and toxicity in a
  patient, > 0; 1: independent), read by designs with a toxicity monitor and
  ignored by the others (they do not stop for toxicity);
* ``[[two_cohort]]`` scenarios: ``name`` and a rate per cohort, optionally
  ``toxicity`` and ``odds_ratio``: a number for every cohort or a table with a
  value per cohort (``toxicity = { frontline = 0.15, post_io = 0.30 }``);
* ``[[conduct]]`` trial-conduct settings for :func:`adaptive2.engines.montecarlo.simulate`:
  ``name`` (required, distinct), ``accrual`` (required; patients per month, a
  number or one rate per period), ``starts`` (period starts in months, default
  ``[0.0]``), ``delay`` (required; months from enrolment to a known response: a
  number, ``{ uniform = [low, high] }``, ``{ gamma = [mean, sd] }`` or
  ``{ lognormal = [mean, sd] }``), ``p_nonevaluable`` (default 0),
  ``on_interim`` (``"continue"``, the default, or ``"pause"``),
  ``decision_lag`` (months, default 0) and ``tox_delay`` (months from
  enrolment to a known toxicity outcome, the forms of ``delay``; default
  :attr:`Conduct.tox_delay_form`). An optional ``[conduct.cohorts.NAME]``
  table under a setting overrides any of these keys (except ``name``) for
  cohort NAME; the other keys are the setting's. An override whose
  ``accrual`` has another number of periods than the setting's must give its
  own ``starts`` (the setting's period starts cannot fit it).

Every error names the file, the table, the key, the allowed values and the value
found, and is raised as :class:`~adaptive2._base.errors.DesignFileError`.
"""

from __future__ import annotations

import math
from numbers import Real
from pathlib import Path
from typing import Any, cast

from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.io.design_files import read_toml
from adaptive2.model.conduct import Conduct, delay_forms
from adaptive2.model.scenarios import Scenario, ScenarioGrid

__all__ = ["TRIAL_KEYS", "is_scenario_file", "load_scenarios"]

TRIAL_KEYS = ("name", "protocol", "version", "date", "programme", "sponsor")
COHORT_KEYS = ("p0", "null", "other", "alternative", "toxicity", "odds_ratio")
"""Keys of the ``[trial]`` table, in the order the report's title block shows them."""

CONDUCT_KEYS = (
    "name",
    "accrual",
    "starts",
    "delay",
    "p_nonevaluable",
    "on_interim",
    "decision_lag",
    "tox_delay",
    "cohorts",
)
CONDUCT_OVERRIDE_KEYS = CONDUCT_KEYS[1:-1]
ACCRUAL_TOML = "a number or a list of numbers > 0 (patients per month, one per period)"
DELAY_TOML = delay_forms("toml")


def load_scenarios(path: str | Path) -> ScenarioGrid:
    """Read a scenario file (see ``designs/scenarios.toml``)."""
    data = read_toml(path)
    cohorts: dict[str, tuple[float, tuple[Scenario, ...]]] = {}
    multi = []
    for key, value in data.items():
        if key in ("conduct", "trial"):
            continue  # conduct after the cohorts: overrides are checked against their names
        if key == "two_cohort":
            if not isinstance(value, list):
                raise DesignFileError(f"{path}: [[two_cohort]] must be an array of tables.")
            for i, s in enumerate(value):
                d = dict(s)
                name = d.pop("name", f"scenario {i + 1}")
                tox = {k: d.pop(k) for k in ("toxicity", "odds_ratio") if k in d}
                try:
                    multi.append(Scenario(name, rates=d, **tox))
                except ValueError as exc:
                    raise DesignFileError(f"{path}: [[two_cohort]] {i + 1}: {exc}") from None
            continue
        if not isinstance(value, dict) or "p0" not in value:
            raise DesignFileError(
                f"{path}: [{key}] must be a cohort table with `p0` and "
                "`null` / `other` / `alternative` rates."
            )
        _unknown(path, f"[{key}]", value, COHORT_KEYS)
        toxs, odds = _toxicity_settings(path, key, value)
        scen = []
        for role in ("null", "other", "alternative"):
            for p in value.get(role, []):
                for t in toxs:
                    try:
                        name = f"p={p:g}" + ("" if t is None else f", tox={t:g}")
                        scen.append(Scenario(name, p, role, toxicity=t, odds_ratio=odds))
                    except (TypeError, ValueError) as exc:
                        raise DesignFileError(f"{path}: [{key}] `{role}`: {exc}") from None
        scen.sort(key=lambda s: cast(float, s.p))  # single-cohort scenarios: p is set
        cohorts[key] = (float(value["p0"]), tuple(scen))
    known = set(cohorts) | {c for s in multi for c, _ in s.rates}
    conduct, overrides = _conduct_settings(path, data.get("conduct", []), known)
    return ScenarioGrid(
        cohorts=cohorts,
        multi=tuple(multi),
        conduct=conduct,
        conduct_cohorts=overrides,
        trial=_trial(path, data.get("trial", {})),
    )


def _toxicity_settings(
    path: str | Path, key: str, table: dict[str, Any]
) -> tuple[list[float | None], float | None]:
    """A cohort table's true toxicity rates (``[None]``: not given) and odds ratio."""
    value = table.get("toxicity")
    if value is None:
        rates: list[Any] = [None]
    else:
        rates = value if isinstance(value, list) else [value]
        if not rates or not all(_rate(x) for x in rates) or len(set(rates)) != len(rates):
            raise DesignFileError(
                f"{path}: [{key}] `toxicity` must be a true toxicity rate in [0, 1] or a list of "
                f"distinct ones (crossed with the response rates); got {value!r}."
            )
        rates = [float(x) for x in rates]
    odds = table.get("odds_ratio")
    if odds is not None and not (_positive(odds) and math.isfinite(float(odds))):
        raise DesignFileError(
            f"{path}: [{key}] `odds_ratio` must be a finite number > 0 (the odds ratio between "
            f"response and toxicity in a patient; 1: independent); got {odds!r}."
        )
    return rates, None if odds is None else float(odds)


def _rate(x: Any) -> bool:
    """``x`` is a number in [0, 1] (not a bool)."""
    return isinstance(x, Real) and not isinstance(x, bool) and 0.0 <= float(x) <= 1.0


def is_scenario_file(path: str | Path) -> bool:
    """True when ``path`` reads as a scenario file rather than a design file.

    A design file names its design (a top-level ``name`` string); a scenario file
    has no ``name`` and loads with :func:`load_scenarios`. ``designs/*.toml``
    matches the scenario file next to the designs, so the CLI uses this to leave
    it out of the design list.
    """
    try:
        data = read_toml(path)
    except DesignError:
        return False
    if isinstance(data.get("name"), str):
        return False
    try:
        load_scenarios(path)
    except DesignError:
        return False
    return True


def _trial(path: str | Path, value: Any) -> tuple[tuple[str, str], ...]:
    """The ``[trial]`` table as (key, text) pairs, in :data:`TRIAL_KEYS` order."""
    if not isinstance(value, dict):
        raise DesignFileError(
            f"{path}: `trial` must be a table ([trial] with {', '.join(TRIAL_KEYS)}); "
            f"got {value!r}."
        )
    _unknown(path, "[trial]", value, TRIAL_KEYS)
    out = []
    for key in TRIAL_KEYS:
        if key not in value:
            continue
        v = value[key]
        if key == "date" and hasattr(v, "isoformat") and not isinstance(v, str):
            v = v.isoformat()  # an unquoted TOML date
        if not isinstance(v, str) or not v.strip():
            raise DesignFileError(
                f'{path}: [trial] `{key}` must be non-empty text in quotes (e.g. {key} = "..."); '
                f"got {v!r}."
            )
        out.append((key, v.strip()))
    return tuple(out)


def _conduct_settings(
    path: str | Path, value: Any, cohorts: set[str]
) -> tuple[
    tuple[tuple[str, Conduct], ...], tuple[tuple[str, tuple[tuple[str, Conduct], ...]], ...]
]:
    """The ``[[conduct]]`` settings and their per-cohort overrides."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise DesignFileError(
            f"{path}: `conduct` must be an array of tables ([[conduct]] with name, accrual, "
            f"delay, ...); got {value!r}."
        )
    settings: list[tuple[str, Conduct]] = []
    overrides = []
    for i, table in enumerate(value):
        name = table.get("name")
        where = (
            f'[[conduct]] "{name}"' if isinstance(name, str) and name else f"[[conduct]] {i + 1}"
        )
        _unknown(path, where, table, CONDUCT_KEYS)
        if not isinstance(name, str) or not name.strip():
            raise DesignFileError(
                f"{path}: {where}: `name` must be a non-empty string naming the setting "
                f'(e.g. "base"); got {name!r}.'
            )
        if name in dict(settings):
            raise DesignFileError(
                f"{path}: {where}: `name` must differ from the other settings' names "
                f"{[n for n, _ in settings]}; got {name!r}."
            )
        for key, allowed in (("accrual", ACCRUAL_TOML), ("delay", DELAY_TOML)):
            if key not in table:
                raise DesignFileError(f"{path}: {where}: missing key `{key}`; give {allowed}.")
        settings.append((name, _conduct(path, where, table)))
        per = table.get("cohorts", {})
        if not isinstance(per, dict) or not all(isinstance(t, dict) for t in per.values()):
            raise DesignFileError(
                f"{path}: {where}: `cohorts` must hold [conduct.cohorts.NAME] tables; got {per!r}."
            )
        pairs = []
        for cohort, sub in per.items():
            at = f"[conduct.cohorts.{cohort}] of {where}"
            if cohorts and cohort not in cohorts:
                raise DesignFileError(
                    f"{path}: {at}: the cohort must be one of {sorted(cohorts)} (the file's "
                    f"cohorts); got {cohort!r}."
                )
            _unknown(path, at, sub, CONDUCT_OVERRIDE_KEYS)
            _override_periods(path, at, table, sub)
            pairs.append((cohort, _conduct(path, at, {**table, **sub})))
        if pairs:
            overrides.append((name, tuple(pairs)))
    return tuple(settings), tuple(overrides)


def _periods(accrual: Any) -> int:
    return len(accrual) if isinstance(accrual, list) else 1


def _override_periods(
    path: str | Path, where: str, table: dict[str, Any], sub: dict[str, Any]
) -> None:
    """An override changing the number of accrual periods must give its own ``starts``."""
    accrual = sub.get("accrual")
    if "starts" in sub or not (isinstance(accrual, list) or _positive(accrual)):
        return  # nothing changed, or an invalid accrual (reported by _conduct)
    mine, theirs = _periods(accrual), _periods(table["accrual"])
    if mine != theirs:
        starts = table.get("starts", [0.0])
        example = "0.0" if mine == 1 else "0.0, ..."
        raise DesignFileError(
            f"{path}: {where}: `starts` must be given in the override when its `accrual` has "
            f"{mine} period{'s' if mine != 1 else ''} and the setting's has {theirs} (the "
            f"setting's starts {starts!r} do not fit it); add starts = [{example}], one "
            "start per rate, the first 0."
        )


def _unknown(
    path: str | Path, where: str, table: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise DesignFileError(
            f"{path}: {where}: unknown key `{extra[0]}`; allowed keys: {', '.join(allowed)}."
        )


def _conduct(path: str | Path, where: str, table: dict[str, Any]) -> Conduct:
    """A Conduct from one ``[[conduct]]`` (or override) table."""
    accrual = table["accrual"]
    rates = accrual if isinstance(accrual, list) else [accrual]
    if not rates or not all(_positive(r) for r in rates):
        raise DesignFileError(
            f"{path}: {where}: `accrual` must be {ACCRUAL_TOML}; got {accrual!r}."
        )
    starts = table.get("starts", [0.0])
    if not isinstance(starts, list):
        raise DesignFileError(
            f"{path}: {where}: `starts` must be a list of period starts in months, the first "
            f"0 (one per accrual rate); got {starts!r}."
        )
    kwargs: dict[str, Any] = {
        k: table[k] for k in ("p_nonevaluable", "on_interim", "decision_lag") if k in table
    }
    if "tox_delay" in table:  # the time to the toxicity event (designs with a [toxicity] table)
        kwargs["tox_delay"] = _delay(path, where, table["tox_delay"], "tox_delay")
    try:
        return Conduct(
            rates=tuple(rates),
            starts=tuple(starts),
            delay=_delay(path, where, table["delay"]),
            **kwargs,
        )
    except DesignError as exc:
        if isinstance(exc, DesignFileError):
            raise
        raise DesignFileError(f"{path}: {where}: {exc}") from None


def _positive(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and 0 < float(x) < float("inf")


def _delay(path: str | Path, where: str, value: Any, key: str = "delay") -> Any:
    """The Conduct ``delay`` of a TOML delay (validated here, so errors show TOML forms)."""
    error = DesignFileError(f"{path}: {where}: `{key}` must be {DELAY_TOML}; got {value!r}.")
    if isinstance(value, Real) and not isinstance(value, bool):
        form: Any = value
    elif isinstance(value, dict) and len(value) == 1:
        kind, args = next(iter(value.items()))
        if kind == "fixed":
            form = ("fixed", args)
        elif kind in ("uniform", "gamma", "lognormal") and isinstance(args, list):
            form = (kind, *args)
        else:
            raise error
    else:
        raise error
    try:
        return Conduct(delay=form).delay
    except DesignError:
        raise error from None
