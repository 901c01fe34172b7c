"""Designs side by side under one scenario grid.

Single-cohort designs are evaluated exactly (:func:`adaptive2.engines.exact.oc`) on the grid
of the cohort whose null rate they share; multi-cohort designs exactly with the
borrowing engine (:func:`adaptive2.model.cohorts.cohort_oc`) on the two-cohort
scenarios. ``p_efficacy`` is labelled type I error or power by the scenario's
role. All figures here are exact, so no MCSE column is needed (it would be 0).

Scenario files
--------------
A scenario file (``designs/scenarios.toml``) holds:

* ``[NAME]`` cohort tables: ``p0`` and ``null`` / ``other`` / ``alternative`` rates;
* ``[[two_cohort]]`` scenarios: ``name`` and a rate per cohort;
* ``[[conduct]]`` trial-conduct settings for :func:`adaptive2.engines.montecarlo.simulate`:
  ``name`` (required, distinct), ``accrual`` (required; patients per month, a
  number or one rate per period), ``starts`` (period starts in months, default
  ``[0.0]``), ``delay`` (required; months from enrolment to a known response: a
  number, ``{ uniform = [low, high] }``, ``{ gamma = [mean, sd] }`` or
  ``{ lognormal = [mean, sd] }``), ``p_nonevaluable`` (default 0),
  ``on_interim`` (``"continue"``, the default, or ``"pause"``) and
  ``decision_lag`` (months, default 0). An optional ``[conduct.cohorts.NAME]``
  table under a setting overrides any of these keys (except ``name``) for
  cohort NAME; the other keys are the setting's. An override whose
  ``accrual`` has another number of periods than the setting's must give its
  own ``starts`` (the setting's period starts cannot fit it).

Every error names the file, the table, the key, the allowed values and the value
found, and is raised as :class:`~adaptive2._base.errors.DesignFileError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2._base.validation import fail
from adaptive2.engines.montecarlo import Conduct, delay_forms
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import Scenario

__all__ = ["ScenarioGrid", "compare", "design_scenarios", "load_scenarios", "oc_rows"]

LABEL = {"null": "type I error", "alternative": "power", "other": "P(efficacy)"}


CONDUCT_KEYS = (
    "name",
    "accrual",
    "starts",
    "delay",
    "p_nonevaluable",
    "on_interim",
    "decision_lag",
    "cohorts",
)
CONDUCT_OVERRIDE_KEYS = CONDUCT_KEYS[1:-1]
ACCRUAL_TOML = "a number or a list of numbers > 0 (patients per month, one per period)"
DELAY_TOML = delay_forms("toml")


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
    """

    cohorts: dict[str, tuple[float, tuple[Scenario, ...]]]  # name -> (p0, scenarios)
    multi: tuple[Any, ...] = ()
    conduct: tuple[tuple[str, Conduct], ...] = ()
    conduct_cohorts: tuple[tuple[str, tuple[tuple[str, Conduct], ...]], ...] = ()

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
        return dict(dict(self.conduct_cohorts).get(name, ())).get(cohort, settings[name])


def load_scenarios(path: str | Path) -> ScenarioGrid:
    """Read a scenario file (see ``designs/scenarios.toml``)."""
    from adaptive2.io.design_files import read_toml
    from adaptive2.model.cohorts import CohortScenario

    data = read_toml(path)
    cohorts: dict[str, tuple[float, tuple[Scenario, ...]]] = {}
    multi = []
    for key, value in data.items():
        if key == "conduct":
            continue  # after the cohorts: overrides are checked against their names
        if key == "two_cohort":
            if not isinstance(value, list):
                raise DesignFileError(f"{path}: [[two_cohort]] must be an array of tables.")
            for i, s in enumerate(value):
                d = dict(s)
                name = d.pop("name", f"scenario {i + 1}")
                try:
                    multi.append(CohortScenario(name, tuple(d.items())))
                except ValueError as exc:
                    raise DesignFileError(f"{path}: [[two_cohort]] {i + 1}: {exc}") from None
            continue
        if not isinstance(value, dict) or "p0" not in value:
            raise DesignFileError(
                f"{path}: [{key}] must be a cohort table with `p0` and "
                "`null` / `other` / `alternative` rates."
            )
        unknown = set(value) - {"p0", "null", "other", "alternative"}
        if unknown:
            raise DesignFileError(
                f"{path}: [{key}] unknown key `{sorted(unknown)[0]}`; allowed "
                "keys: p0, null, other, alternative."
            )
        scen = []
        for role in ("null", "other", "alternative"):
            for p in value.get(role, []):
                try:
                    scen.append(Scenario(f"p={p:g}", p, role))
                except (TypeError, ValueError) as exc:
                    raise DesignFileError(f"{path}: [{key}] `{role}`: {exc}") from None
        scen.sort(key=lambda s: s.p)
        cohorts[key] = (float(value["p0"]), tuple(scen))
    known = set(cohorts) | {c for s in multi for c, _ in s.rates}
    conduct, overrides = _conduct_settings(path, data.get("conduct", []), known)
    return ScenarioGrid(
        cohorts=cohorts, multi=tuple(multi), conduct=conduct, conduct_cohorts=overrides
    )


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


def _override_periods(path: str | Path, where: str, table: dict, sub: dict) -> None:
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


def _unknown(path: str | Path, where: str, table: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise DesignFileError(
            f"{path}: {where}: unknown key `{extra[0]}`; allowed keys: {', '.join(allowed)}."
        )


def _conduct(path: str | Path, where: str, table: dict) -> Conduct:
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
    kwargs = {k: table[k] for k in ("p_nonevaluable", "on_interim", "decision_lag") if k in table}
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


def _delay(path: str | Path, where: str, value: Any) -> Any:
    """The Conduct ``delay`` of a TOML delay (validated here, so errors show TOML forms)."""
    error = DesignFileError(f"{path}: {where}: `delay` must be {DELAY_TOML}; got {value!r}.")
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


def compare(
    designs: Sequence[Any],
    scenarios: ScenarioGrid | None = None,
    *,
    results: Mapping[str, Any] | None = None,
    null_regions: Mapping[str, Any] | None = None,
) -> Any:
    """One tidy table of OC for every design, scenario (and cohort).

    Parameters
    ----------
    designs : sequence of Design or CohortDesign
    scenarios : ScenarioGrid, optional
        Default: each design's own scenarios.
    results : mapping, optional
        Design name → its OC Dataset (from :func:`adaptive2.engines.exact.oc` or
        :func:`adaptive2.model.cohorts.cohort_oc` on the scenarios given by
        :func:`design_scenarios`), used instead of computing it again.
    null_regions : mapping, optional
        Design name → its :func:`adaptive2.engines.null_region.null_region` (multi-cohort
        designs), used instead of computing it again.

    Returns
    -------
    pandas.DataFrame
        Columns ``design``, ``cohort``, ``scenario``, ``p``, ``role``, ``label``,
        ``p_efficacy``, ``p_futility``, ``p_early_stop``, ``expected_n``, ``sd_n``,
        ``max_n``, ``fwer`` (multi-cohort only), ``max_type1`` and ``max_type1_at``
        (the cohort's type I error supremum over the whole null region and where it
        sits: p ≤ p0 for a single cohort; with the other cohorts anywhere in their
        range under borrowing), ``max_fwer`` and ``fwer_global_null`` (multi-cohort
        only), ``method``.
    """
    import pandas as pd

    from adaptive2.engines.exact import oc
    from adaptive2.model.cohorts import CohortDesign, cohort_oc

    items = list(designs)
    if not items:
        raise fail("designs", "compare", "at least one design", items)
    rows = []
    for d in items:
        if not isinstance(d, Design | CohortDesign):
            raise fail("designs", "compare", "Design or CohortDesign objects", type(d).__name__)
        ds = (results or {}).get(d.name)
        if ds is None:
            scen = design_scenarios(d, scenarios)
            ds = cohort_oc(d, scen) if isinstance(d, CohortDesign) else oc(d, scen)
        worst = _worst_cases(d, (null_regions or {}).get(d.name))
        rows += [{**r, **worst[r["cohort"]]} for r in oc_rows(d, ds)]
    return pd.DataFrame(rows)


def _worst_cases(design: Any, nr: Any) -> dict[str, dict[str, Any]]:
    """Per cohort ("" for a single cohort): the null-region supremum columns of :func:`compare`."""
    from adaptive2.engines.calibration import worst_case_alpha
    from adaptive2.engines.null_region import null_region
    from adaptive2.model.cohorts import CohortDesign

    nan = float("nan")
    if not isinstance(design, CohortDesign):
        if design.p0 is None or hasattr(design.p0, "a"):
            return {"": {"max_type1": nan, "max_type1_at": "", "max_fwer": nan,
                         "fwer_global_null": nan}}
        a, where = worst_case_alpha(design)
        return {"": {"max_type1": a, "max_type1_at": f"p={where:g}", "max_fwer": nan,
                     "fwer_global_null": nan}}
    nr = nr if nr is not None else null_region(design)
    return {
        c: {
            "max_type1": sup.max_type1,
            "max_type1_at": ", ".join(f"{n}={v:.4f}" for n, v in sup.argmax.items()),
            "max_fwer": nr.max_fwer,
            "fwer_global_null": nr.fwer_global_null,
        }
        for c, sup in nr.cohorts.items()
    }


def design_scenarios(design: Any, scenarios: ScenarioGrid | None) -> Any:
    """The scenarios a design is compared on: its cohort's grid, else its own (``None``)."""
    from adaptive2.model.cohorts import CohortDesign

    if scenarios is None:
        return None
    if isinstance(design, CohortDesign):
        return scenarios.multi or None
    p0 = design.p0
    return None if p0 is None or hasattr(p0, "a") else scenarios.for_p0(float(p0))


def oc_rows(design: Any, ds: Any) -> list[dict[str, Any]]:
    """Rows of the comparison table for one design's exact OC Dataset.

    Multi-cohort Datasets give one row per scenario and cohort (with ``fwer``
    and ``p_all_correct``); single-cohort ones one row per scenario.
    """
    multi = "cohort" in ds.dims
    rows = []
    for si, sname in enumerate(ds["scenario"].values):
        for ci, cname in enumerate(ds["cohort"].values if multi else [""]):
            idx = (si, ci) if multi else (si,)
            role = str(ds["role"].values[idx])
            rows.append(
                {
                    "design": design.name,
                    "cohort": str(cname),
                    "scenario": str(sname),
                    "p": float(ds["rate" if multi else "p"].values[idx]),
                    "role": role,
                    "label": LABEL[role],
                    **{
                        v: float(ds[v].values[idx])
                        for v in ("p_efficacy", "p_futility", "p_early_stop", "expected_n",
                                  "sd_n")
                    },
                    "max_n": design.cohorts[ci].looks[-1] if multi else design.n_max,
                    "fwer": float(ds["fwer"].values[si]) if multi else float("nan"),
                    "p_all_correct": float(ds["p_all_correct"].values[si]) if multi
                    else float("nan"),
                    "method": "exact (quadrature)" if multi else "exact",
                }
            )
    return rows


def write_outputs(table: Any, out: str | Path) -> list[Path]:
    """Write the comparison as CSV, JSON and Markdown into ``out`` (atomically)."""
    import json
    import math
    import os

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]
    texts = {
        "compare.csv": table.to_csv(index=False),
        "compare.json": json.dumps(records, indent=1),
        "compare.md": _markdown(table),
    }
    for name, text in texts.items():
        path = out / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        paths.append(path)
    return paths


def _markdown(table: Any) -> str:
    cols = [
        "design",
        "cohort",
        "scenario",
        "p",
        "label",
        "p_efficacy",
        "p_early_stop",
        "expected_n",
        "sd_n",
        "max_n",
        "fwer",
        "max_type1",
        "max_type1_at",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if v != v else f"{v:.4f}")
            else:
                cells.append(str(v).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
