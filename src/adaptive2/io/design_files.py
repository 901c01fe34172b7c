"""Design files: TOML in, validated designs out, and back again.

Design files are data, never executed (parsed by :mod:`tomllib`). Every error
names the file, the table and key, the allowed values and the value found,
and is raised as :class:`~adaptive2._base.errors.DesignFileError`.

Single-cohort keys
------------------
Top level: ``name``, ``title``, ``notes``, and the design's targets ``alpha``
(type I error, worst case over p <= p0) and ``power`` (at p1), each a
probability in (0, 1); ``calibrate`` uses them as its defaults. A multi-cohort
file takes the same two keys.

``[prior]``: one of ``beta = [a, b]``, ``mixture = [[w, a, b], ...]``, or
``base = [a, b]`` with optional ``historical = { r, n }`` and ``power`` (a0);
optional ``robust = { weight, mean, n }`` and ``source`` (text).

``[cohort]``: ``p0`` (a number or ``{ beta = [a, b] }``), ``p1``, ``looks``.

``[futility]``, ``[efficacy]`` (optional) and ``[final]``: ``rule`` is one of
``posterior`` (``cutoff``, ``delta``, ``p0``), ``predictive`` (``threshold``),
``bop2`` (``lambda``, ``gamma`` / ``eta``, ``p0``), ``boundary`` (``r``),
``dual`` (``lrv``, ``tv``, ``lrv_cutoff``, ``tv_cutoff``). A rule without
``p0`` uses the cohort's.

``[toxicity]`` (optional): a safety stopping rule co-monitored with the
efficacy rules (:class:`~adaptive2.model.toxicity.ToxicityMonitor`): ``event``
(text), ``limit`` (unacceptable rate), ``acceptable`` (the rate at which the
drug is considered safe), ``rule`` = ``posterior`` (``cutoff``, ``prior = { a,
b }``), ``pocock`` (``shape``, ``p_stop_acceptable``) or ``bop2`` (``prior``;
single-cohort designs whose ``[futility]`` is BOP2's: the toxicity cut-off is
its 1 - lambda (n/N)^gamma, BOP2's joint rule), ``monitor`` (patients
at the checks; default the looks) and ``source`` (text). A key the chosen rule
does not read is an error. A multi-cohort file takes ``[cohorts.NAME.toxicity]``
tables, or a shared ``[toxicity]`` applied to every cohort (each cohort's
``monitor`` defaulting to its own looks); toxicity is monitored per cohort,
without borrowing.

``[scenarios]``: ``p = [...]`` true response rates for the OC table; with a
``[toxicity]`` table also ``toxicity = [...]`` (true toxicity rates, crossed
with ``p``; default the monitor's ``acceptable`` and ``limit``) and
``odds_ratio`` (between response and toxicity in a patient; default 1). A
multi-cohort ``[[scenarios]]`` table may give ``toxicity`` and ``odds_ratio``
as a number or a table with one value per cohort.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2._base.files import write_text
from adaptive2.model.cohorts import CohortDesign, cohort_design_to_dict
from adaptive2.model.designs import Design, design_to_dict, toxicity_from_parts
from adaptive2.model.hierarchical import Cohort, Historical, Model
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec
from adaptive2.model.rules import (
    BOP2,
    Boundary,
    DualCriterion,
    PosteriorProbability,
    PredictiveProbability,
    Rule,
)
from adaptive2.model.scenarios import Scenario
from adaptive2.model.toxicity import ToxicityMonitor

__all__ = [
    "comment_block",
    "design_from_dict",
    "design_to_dict",
    "dumps_toml",
    "load_design",
    "load_prior",
    "prior_from_dict",
    "read_toml",
    "save_any",
    "save_design",
]

_T = TypeVar("_T")

TOP_KEYS = (
    "name",
    "title",
    "notes",
    "prior",
    "cohort",
    "futility",
    "efficacy",
    "final",
    "scenarios",
    "alpha",
    "power",
    "toxicity",
)
PRIOR_KEYS = ("base", "historical", "power", "robust", "beta", "mixture", "source")
COHORT_KEYS = ("p0", "p1", "looks")
RULE_KEYS: dict[str, tuple[str, ...]] = {
    "posterior": ("rule", "cutoff", "delta", "p0"),
    "predictive": ("rule", "threshold"),
    "bop2": ("rule", "lambda", "gamma", "eta", "p0"),
    "boundary": ("rule", "r"),
    "dual": ("rule", "lrv", "tv", "lrv_cutoff", "tv_cutoff"),
}
TOX_KEYS: dict[str, tuple[str, ...]] = {
    "posterior": ("event", "limit", "acceptable", "rule", "cutoff", "prior", "monitor", "source"),
    "pocock": (
        "event", "limit", "acceptable", "rule", "shape", "p_stop_acceptable", "monitor", "source",
    ),
    "bop2": ("event", "limit", "acceptable", "rule", "prior", "monitor", "source"),
}
"""Keys of a ``[toxicity]`` table, per rule (a key of another rule is an error)."""
_TOX_MEANING = {
    "event": "the monitored event, as text",
    "limit": "the unacceptable event rate",
    "acceptable": "the event rate at which the drug is considered safe",
    "cutoff": "stop if P(rate > limit | data) > cutoff",
}
SCENARIO_KEYS = ("p", "toxicity", "odds_ratio")
SLOT_RULES: dict[str, tuple[str, ...]] = {
    "futility": ("posterior", "predictive", "bop2", "boundary", "dual"),
    "efficacy": ("posterior", "predictive", "bop2", "boundary", "dual"),
    "final": ("posterior", "bop2", "boundary", "dual"),
}


SLOT_HINTS = {
    "final": " (rule = posterior | bop2 | boundary | dual)",
    "prior": " (beta = [a, b], mixture = [[w, a, b], ...] or base/historical/power)",
    "cohort": " (p0, p1, looks)",
}


class _Ctx:
    """Where we are in a file, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, message: str) -> DesignFileError:
        loc = f"[{where}] " if where else ""
        return DesignFileError(f"{self.source}: {loc}{message}")

    def unknown(self, table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        extra = sorted(set(table) - set(allowed))
        if extra:
            raise self.error(
                where,
                f"unknown key `{extra[0]}`; allowed keys: {', '.join(allowed)}.",
            )

    def table(
        self, d: dict[str, Any], key: str, where: str, *, required: bool
    ) -> dict[str, Any] | None:
        if key not in d:
            if required:
                hint = SLOT_HINTS.get(key, "")
                raise self.error(where, f"missing table [{key}]{hint}.")
            return None
        v = d[key]
        if not isinstance(v, dict):
            raise self.error(where, f"`{key}` must be a table; got {v!r}.")
        return v


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, mapping every failure to DesignFileError."""
    if not isinstance(path, str | Path) or not str(path):
        raise DesignFileError(f"a design file must be given as a path; got {path!r}.")
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise DesignFileError(f"{p}: file not found.") from None
    except IsADirectoryError:
        raise DesignFileError(f"{p}: is a directory, not a design file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignFileError(f"{p}: not valid TOML: {exc}.") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise DesignFileError(
            f"{p}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); "
            "save the file as UTF-8."
        ) from None
    except PermissionError:
        raise DesignFileError(f"{p}: permission denied (the file cannot be read).") from None
    except OSError as exc:
        raise DesignFileError(f"{p}: cannot be read: {exc.strerror}.") from None


def load_design(path: str | Path) -> Any:
    """Load and validate a design file (single- or multi-cohort).

    A :class:`Design`, or a ``CohortDesign`` for a multi-cohort file (``[cohorts.NAME]``
    tables).

    See :func:`design_from_dict` and :func:`cohort_design_from_dict` for the keys.
    """
    data = read_toml(path)
    if is_multi_cohort(data):
        return cohort_design_from_dict(data, source=str(path))
    return design_from_dict(data, source=str(path))


def load_prior(path: str | Path) -> PriorSpec:
    """Read the ``[prior]`` table of a design or prior file."""
    data = read_toml(path)
    ctx = _Ctx(str(path))
    table = ctx.table(data, "prior", "", required=True) or {}
    return prior_from_dict(table, source=str(path))


def _wrap(ctx: _Ctx, where: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    try:
        return fn(*args, **kwargs)
    except DesignFileError:
        raise
    except DesignError as exc:
        raise ctx.error(where, str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ctx.error(where, f"invalid value: {exc}.") from None


def _beta_pair(ctx: _Ctx, where: str, key: str, v: Any) -> Beta:
    if not isinstance(v, list) or len(v) != 2:
        raise ctx.error(where, f"`{key}` must be a list [a, b] of two numbers > 0; got {v!r}.")
    return _wrap(ctx, where, Beta, v[0], v[1])


def prior_from_dict(table: dict[str, Any], *, source: str = "<dict>") -> PriorSpec:
    """Build a :class:`PriorSpec` from a ``[prior]`` table."""
    ctx = _Ctx(source)
    where = "prior"
    ctx.unknown(table, PRIOR_KEYS, where)
    kwargs: dict[str, Any] = {}
    if "beta" in table:
        kwargs["beta"] = _beta_pair(ctx, where, "beta", table["beta"])
    if "mixture" in table:
        mix = table["mixture"]
        if (
            not isinstance(mix, list)
            or not mix
            or not all(isinstance(c, list) and len(c) == 3 for c in mix)
        ):
            raise ctx.error(where, f"`mixture` must be a list of [w, a, b] triples; got {mix!r}.")
        kwargs["mixture"] = _wrap(
            ctx, where, BetaMixture, [c[0] for c in mix], [c[1] for c in mix], [c[2] for c in mix]
        )
    if "base" in table:
        kwargs["base"] = _beta_pair(ctx, where, "base", table["base"])
    if "historical" in table:
        h = table["historical"]
        if not isinstance(h, dict) or set(h) != {"r", "n"}:
            raise ctx.error(
                where, f"`historical` must be {{ r = <responses>, n = <patients> }}; got {h!r}."
            )
        kwargs["historical"] = (h["r"], h["n"])
    if "power" in table:
        if "historical" not in table:
            raise ctx.error(where, "`power` needs `historical` data to weight.")
        kwargs["power"] = table["power"]
    if "robust" in table:
        rb = table["robust"]
        if not isinstance(rb, dict) or "weight" not in rb or set(rb) - {"weight", "mean", "n"}:
            raise ctx.error(
                where,
                "`robust` must be { weight = w, mean = m, n = n } (mean and n "
                f"optional, default 0.5 and 1); got {rb!r}.",
            )
        kwargs["robust"] = (rb["weight"], rb.get("mean", 0.5), rb.get("n", 1.0))
    if "source" in table:
        if not isinstance(table["source"], str):
            raise ctx.error(where, f"`source` must be text; got {table['source']!r}.")
        kwargs["source"] = table["source"]
    if not any(k in kwargs for k in ("beta", "mixture", "base", "historical")):
        raise ctx.error(
            where,
            "give one of `beta = [a, b]`, `mixture = [[w, a, b], ...]` or "
            "`base = [a, b]` (with optional `historical`).",
        )
    return _wrap(ctx, where, PriorSpec, **kwargs)


def _p0_value(ctx: _Ctx, where: str, v: Any) -> float | Beta:
    if isinstance(v, dict):
        if set(v) != {"beta"}:
            raise ctx.error(where, f"`p0` must be a number or {{ beta = [a, b] }}; got {v!r}.")
        return _beta_pair(ctx, where, "p0.beta", v["beta"])
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
        raise ctx.error(
            where, f"`p0` must be a probability in (0, 1) or {{ beta = [a, b] }}; got {v!r}."
        )
    return float(v)


def _rule_from_dict(ctx: _Ctx, slot: str, table: dict[str, Any], p0: float | Beta | None) -> Rule:
    kind = table.get("rule")
    allowed = SLOT_RULES[slot]
    if kind not in allowed:
        raise ctx.error(slot, f"`rule` must be one of {{{', '.join(allowed)}}}; got {kind!r}.")
    ctx.unknown(table, RULE_KEYS[kind], slot)
    t = {k: v for k, v in table.items() if k != "rule"}
    if "p0" in t:
        rule_p0: float | Beta | None = _p0_value(ctx, slot, t.pop("p0"))
    else:
        rule_p0 = p0

    def need(*keys: str) -> None:
        for k in keys:
            if k not in t:
                raise ctx.error(slot, f"rule '{kind}' needs `{k}`.")

    if kind in ("posterior", "bop2") and rule_p0 is None:
        raise ctx.error(slot, f"rule '{kind}' needs `p0` (here or in [cohort]).")
    if kind == "posterior":
        need("cutoff")
        return _wrap(
            ctx,
            slot,
            PosteriorProbability,
            p0=rule_p0,
            cutoff=t["cutoff"],
            delta=t.get("delta", 0.0),
        )
    if kind == "predictive":
        need("threshold")
        return _wrap(ctx, slot, PredictiveProbability, threshold=t["threshold"])
    if kind == "bop2":
        need("lambda")
        if slot == "futility":
            need("gamma")
        if slot == "efficacy":
            need("eta")
        return _wrap(
            ctx, slot, BOP2, p0=rule_p0, lambda_=t["lambda"], gamma=t.get("gamma"), eta=t.get("eta")
        )
    if kind == "boundary":
        need("r")
        r = t["r"]
        if slot == "final" and isinstance(r, int) and not isinstance(r, bool):
            r = [r]
        if not isinstance(r, list):
            raise ctx.error(
                slot, f"`r` must be a list of integers (one per interim look); got {r!r}."
            )
        return _wrap(ctx, slot, Boundary, r=tuple(r))
    need("lrv", "tv")
    return _wrap(ctx, slot, DualCriterion, **t)


_TARGET_MEANING = {
    ("alpha", False): "the type I error the design is meant to meet, worst case over p <= p0",
    ("alpha", True): "the type I error every cohort is controlled to over the null region",
    ("power", False): "the power the design is meant to reach at p1",
    ("power", True): "the power the design is meant to reach at each cohort's p1",
}


def _targets(ctx: _Ctx, data: dict[str, Any], *, multi: bool) -> tuple[float | None, float | None]:
    """The top-level targets ``alpha`` and ``power``: probabilities in (0, 1), or None."""
    out: list[float | None] = []
    for key in ("alpha", "power"):
        v = data.get(key)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1
        ):
            raise ctx.error(
                "",
                f"`{key}` must be a probability in (0, 1) ({_TARGET_MEANING[key, multi]}); "
                f"got {v!r}.",
            )
        out.append(None if v is None else float(v))
    return out[0], out[1]


def design_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> Design:
    """Build a validated :class:`Design` from a parsed design file.

    Examples
    --------
    >>> d = design_from_dict({
    ...     "name": "demo",
    ...     "prior": {"base": [0.5, 0.5], "historical": {"r": 16, "n": 20}, "power": 0.5},
    ...     "cohort": {"p0": 0.4, "p1": 0.6, "looks": [15, 25, 40]},
    ...     "futility": {"rule": "predictive", "threshold": 0.05},
    ...     "final": {"rule": "posterior", "cutoff": 0.95},
    ... })
    >>> d.prior
    Beta(a=8.5, b=2.5)
    >>> design_from_dict({**design_to_dict(d)}) == d
    True
    """
    ctx = _Ctx(source)
    if not isinstance(data, dict):
        raise ctx.error("", f"a design must be a table; got {type(data).__name__}.")
    ctx.unknown(data, TOP_KEYS, "")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ctx.error("", f"`name` must be a non-empty string; got {name!r}.")
    for key in ("title", "notes"):
        if key in data and not isinstance(data[key], str):
            raise ctx.error("", f"`{key}` must be text; got {data[key]!r}.")
    alpha, power = _targets(ctx, data, multi=False)
    prior_t = ctx.table(data, "prior", "", required=True)
    spec = prior_from_dict(prior_t or {}, source=source)
    cohort = ctx.table(data, "cohort", "", required=True) or {}
    ctx.unknown(cohort, COHORT_KEYS, "cohort")
    if "looks" not in cohort:
        raise ctx.error("cohort", "missing `looks` (cumulative evaluable patients per analysis).")
    p0 = _p0_value(ctx, "cohort", cohort["p0"]) if "p0" in cohort else None
    rules: dict[str, Rule | None] = {}
    for slot in ("futility", "efficacy", "final"):
        t = ctx.table(data, slot, "", required=slot == "final")
        rules[slot] = None if t is None else _rule_from_dict(ctx, slot, t, p0)
    tox_t = ctx.table(data, "toxicity", "", required=False)
    scen: tuple[Any, ...] = ()
    tox_rates: tuple[float, ...] = ()
    odds_ratio = 1.0
    st = ctx.table(data, "scenarios", "", required=False)
    if st is not None:
        ctx.unknown(st, SCENARIO_KEYS, "scenarios")
        ps = st.get("p", [])
        if not isinstance(ps, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 1 for x in ps
        ):
            raise ctx.error("scenarios", f"`p` must be a list of rates in [0, 1]; got {ps!r}.")
        scen = tuple(ps)
        tox_rates, odds_ratio = _tox_scenarios(ctx, st, tox_t is not None)
    looks = cohort["looks"]
    if not isinstance(looks, list):
        raise ctx.error("cohort", f"`looks` must be a list of increasing integers; got {looks!r}.")
    kwargs: dict[str, Any] = {
        "name": name,
        "prior": spec,
        "looks": tuple(looks),
        "final": rules["final"],
        "futility": rules["futility"],
        "efficacy": rules["efficacy"],
        "title": data.get("title", ""),
        "notes": data.get("notes", ""),
        "p0": p0,
        "p1": cohort.get("p1"),
        "scenarios": scen,
        "alpha": alpha,
        "target_power": power,
    }
    if tox_t is not None:
        if not _valid_looks(looks):
            _wrap(ctx, "cohort", Design, **kwargs)  # the looks' own error, before the monitor's
        monitor, source = _toxicity_from_dict(ctx, "toxicity", tox_t, tuple(looks))
        kwargs.update(toxicity=monitor, toxicity_source=source, toxicity_rates=tox_rates,
                      toxicity_odds_ratio=odds_ratio)
    design = _wrap(ctx, "cohort", Design, **kwargs)
    _wrap(ctx, "", design.boundaries)  # non-monotone rules are design errors at load time
    return design


def _valid_looks(looks: Any) -> bool:
    """``looks`` is a non-empty list of strictly increasing whole numbers >= 1."""
    return (
        isinstance(looks, list)
        and bool(looks)
        and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in looks)
        and all(b > a for a, b in itertools.pairwise(looks))
    )


def _toxicity_from_dict(
    ctx: _Ctx, where: str, table: Any, looks: tuple[int, ...]
) -> tuple[ToxicityMonitor, str]:
    """A ``[toxicity]`` table: the monitor (``monitor`` defaulting to ``looks``) and its source.

    Every key is checked against the keys the chosen rule reads; a key of the
    other rule is an error naming it (it would be ignored), not a silent no-op.
    """
    if not isinstance(table, dict):
        raise ctx.error(where, f"`toxicity` must be a table; got {table!r}.")
    rule = table.get("rule")
    if not isinstance(rule, str) or rule not in TOX_KEYS:
        raise ctx.error(
            where,
            f"`rule` must be one of {{{', '.join(TOX_KEYS)}}} (posterior: stop if P(rate > "
            "limit | data) > cutoff; pocock: repeated binomial tests at the acceptable rate; "
            "bop2: stop if P(rate > limit | data) > 1 - lambda (n/N)^gamma, lambda and gamma "
            f"those of the BOP2 [futility] rule); got {rule!r}.",
        )
    allowed = TOX_KEYS[rule]
    known = {k for keys in TOX_KEYS.values() for k in keys}
    extra = sorted(k for k in table if k in known and k not in allowed)
    if extra:
        readers = " or ".join(f"'{r}'" for r, keys in TOX_KEYS.items() if extra[0] in keys)
        raise ctx.error(
            where,
            f"`{extra[0]}` is not read by rule '{rule}' (only by {readers}), so it would be "
            f"ignored; allowed keys: {', '.join(allowed)}.",
        )
    ctx.unknown(table, allowed, where)
    for key in ("event", "limit", "acceptable", *(("cutoff",) if rule == "posterior" else ())):
        if key not in table:
            raise ctx.error(where, f"missing `{key}` ({_TOX_MEANING[key]}).")
    prior = table.get("prior", {"a": 1.0, "b": 1.0})
    if not isinstance(prior, dict) or set(prior) != {"a", "b"}:
        raise ctx.error(
            where,
            "`prior` must be { a = <number>, b = <number> } (the Beta prior of the event rate, "
            f"a, b > 0); got {prior!r}.",
        )
    monitor = table.get("monitor", list(looks))
    if not isinstance(monitor, list):
        raise ctx.error(
            where,
            "`monitor` must be a list of increasing patient counts (default: the looks); "
            f"got {monitor!r}.",
        )
    if _valid_looks(monitor) and looks and monitor[-1] > looks[-1]:
        raise ctx.error(
            where,
            f"`monitor` must be patient counts in [1, {looks[-1]}] (the maximum N: no patient is "
            f"evaluated after the final look); got {monitor!r}.",
        )
    source = table.get("source", "")
    if not isinstance(source, str):
        raise ctx.error(where, f"`source` must be text; got {source!r}.")
    return _wrap(ctx, where, toxicity_from_parts, table, looks), source


def _tox_scenarios(ctx: _Ctx, st: dict[str, Any], monitored: bool) -> tuple[tuple[float, ...],
                                                                            float]:
    """``toxicity`` and ``odds_ratio`` of a single-cohort ``[scenarios]`` table."""
    given = [k for k in ("toxicity", "odds_ratio") if k in st]
    if given and not monitored:
        raise ctx.error(
            "scenarios",
            f"`{given[0]}` needs a [toxicity] table: the design monitors no toxicity, so it "
            "would be ignored.",
        )
    rates = st.get("toxicity", [])
    if isinstance(rates, int | float) and not isinstance(rates, bool):
        rates = [rates]
    if not isinstance(rates, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 1 for x in rates
    ) or len(set(rates)) != len(rates):
        raise ctx.error(
            "scenarios",
            f"`toxicity` must be a list of distinct true toxicity rates in [0, 1]; got {rates!r}.",
        )
    odds = st.get("odds_ratio", 1.0)
    if isinstance(odds, bool) or not isinstance(odds, int | float) or not (
        0 < odds < math.inf
    ):
        raise ctx.error(
            "scenarios",
            "`odds_ratio` must be a finite number > 0 (the odds ratio between response and "
            f"toxicity in a patient; 1: independent); got {odds!r}.",
        )
    return tuple(float(x) for x in rates), float(odds)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _clean(value: Any, where: str) -> Any:
    """A design dict ready for TOML: tuples as lists; None and non-finite numbers refused."""
    if isinstance(value, dict):
        return {k: _clean(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, where) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise DesignError(f"cannot write a non-finite number ({value}) to a design file "
                          f"(key `{where}`).")
    if isinstance(value, bool | int | float | str):
        return value
    raise DesignError(f"cannot write a {type(value).__name__} to a design file (key `{where}`).")


def dumps_toml(data: dict[str, Any]) -> str:
    """Serialise a design dict as TOML (tomli-w: keys quoted where needed, strings escaped).

    Scalars come first, then one table per nested dict; a list of dicts is an
    array of tables (``[[scenarios]]``, ``[[model.historical]]``).
    """
    return tomli_w.dumps(_clean(data, ""))


def comment_block(text: str) -> str:
    r"""``text`` as TOML comment lines (``# ...``), one per line of ``text``.

    Control characters (a line break inside a quoted command-line argument, a
    carriage return) become spaces, so the block can never end a comment early
    and turn the rest of a line into TOML.

    Examples
    --------
    >>> print(comment_block("Written by adaptive2\nalpha 0.05"), end="")
    # Written by adaptive2
    # alpha 0.05
    """
    lines = []
    for line in str(text).split("\n"):
        clean = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in line).rstrip()
        lines.append(f"# {clean}".rstrip())
    return "\n".join(lines) + "\n"


def save_design(design: Design, path: str | Path, *, header: str | None = None) -> Path:
    """Write ``design`` as a TOML design file (atomically) and return the path.

    Parameters
    ----------
    design : Design
        The design; its file mirrors :func:`design_to_dict`.
    path : str or Path
        File to write (replaced atomically).
    header : str, optional
        Text written first as comment lines (see :func:`comment_block`): how the
        design was made. Comments are not part of the design or its hash.

    Returns
    -------
    Path
        The file written.
    """
    return save_any(design, path, header=header)


def save_any(design: Any, path: str | Path, *, header: str | None = None) -> Path:
    """Write a single-cohort or multi-cohort design as a TOML file (atomically).

    ``header``, if given, is written first as comment lines (:func:`comment_block`).
    """
    if isinstance(design, CohortDesign):
        body = dumps_toml(cohort_design_to_dict(design))
    else:
        body = dumps_toml(design_to_dict(design))
    text = body if header is None else comment_block(header) + body
    return write_text(Path(path), text)


# ---------------------------------------------------------------------------
# Multi-cohort designs
# ---------------------------------------------------------------------------
MULTI_TOP_KEYS = (
    "name",
    "title",
    "notes",
    "model",
    "cohorts",
    "futility",
    "efficacy",
    "final",
    "scenarios",
    "alpha",
    "power",
    "toxicity",
)
MODEL_KEYS = ("kind", "scale", "mu", "tau", "weight", "nex", "historical")
COHORT_TABLE_KEYS = (
    "p0", "p1", "looks", "range", "nex", "weight", "futility", "efficacy", "final", "toxicity",
)
HIST_KEYS = ("name", "r", "n", "p0", "tie", "tie_sd", "weight")


def is_multi_cohort(data: dict[str, Any]) -> bool:
    """True if a parsed design file describes several cohorts (`[cohorts.NAME]`)."""
    return isinstance(data, dict) and "cohorts" in data


load_any = load_design  # the earlier name of the same function

# the [model] keys each kind reads (a key it does not read is an error, not a silent no-op)
MODEL_KIND_KEYS = {
    "independent": {"nex"},
    "pooled": {"mu"},
    "hierarchical": {"mu", "tau"},
    "exnex": {"mu", "tau", "weight", "nex"},
}


def _unused_model_keys(ctx: _Ctx, t: dict[str, Any], cohort_tables: dict[str, Any]) -> None:
    kind = t.get("kind", "hierarchical")
    if not isinstance(kind, str) or kind not in MODEL_KIND_KEYS:
        return  # Model names the allowed kinds
    reads = MODEL_KIND_KEYS[kind]
    given = [("model", k) for k in ("mu", "tau", "weight", "nex") if k in t]
    given += [(f"cohorts.{c}", k) for c, ct in cohort_tables.items() if isinstance(ct, dict)
              for k in ("weight", "nex") if k in ct]
    for where, key in given:
        if key not in reads:
            users = sorted(k for k, keys in MODEL_KIND_KEYS.items() if key in keys)
            raise ctx.error(
                where,
                f"`{key}` is not used by the {kind} model (only by {', '.join(users)}), so it "
                "would be ignored; remove it or change `kind`.",
            )


TAU_FORMS = (
    "{ half_normal = s }, { half_cauchy = s }, { half_t = s, df = k } or { fixed = t } "
    "(tau fixed at t > 0; tau = 0 is kind = \"pooled\")"
)


def _tau_from_dict(ctx: _Ctx, tau: Any) -> dict[str, Any]:
    """The Model keywords of the ``tau`` table of [model].

    Parameters
    ----------
    ctx : _Ctx
        Where in which file, for error messages.
    tau : Any
        The table as parsed: ``{ half_normal = s }``, ``{ half_cauchy = s }``,
        ``{ half_t = s, df = k }`` or ``{ fixed = t }``.

    Returns
    -------
    dict
        ``tau_prior``, ``tau_scale`` and, if given, ``tau_df``.
    """
    kinds = {"half_normal", "half_cauchy", "half_t", "fixed"}
    if not isinstance(tau, dict) or len(set(tau) & kinds) != 1 or set(tau) - kinds - {"df"}:
        raise ctx.error("model", f"`tau` must be {TAU_FORMS}; got {tau!r}.")
    (kind,) = set(tau) & kinds
    if kind == "fixed":
        value = tau["fixed"]
        if "df" in tau:
            raise ctx.error(
                "model", f"`tau` = {{ fixed = t }} takes no `df` (df is for half_t); got {tau!r}."
            )
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not 0 < value < math.inf:
            raise ctx.error(
                "model",
                "`tau.fixed` must be a finite number > 0 (the value of tau; tau = 0 is "
                f'kind = "pooled"); got {value!r}.',
            )
    out = {"tau_prior": kind, "tau_scale": tau[kind]}
    if "df" in tau:
        out["tau_df"] = tau["df"]
    return out


def _model_from_dict(ctx: _Ctx, t: dict[str, Any], cohort_tables: dict[str, Any]) -> Any:

    ctx.unknown(t, MODEL_KEYS, "model")
    _unused_model_keys(ctx, t, cohort_tables)
    kw: dict[str, Any] = {}
    if "kind" in t:
        kw["kind"] = t["kind"]
    if "scale" in t:
        kw["scale"] = t["scale"]
    if "mu" in t:
        mu = t["mu"]
        if not isinstance(mu, dict) or set(mu) - {"mean", "sd"}:
            raise ctx.error("model", f"`mu` must be {{ mean = m, sd = s }}; got {mu!r}.")
        kw["mu_mean"] = mu.get("mean", 0.0)
        kw["mu_sd"] = mu.get("sd", 2.0)
    if "tau" in t:
        kw.update(_tau_from_dict(ctx, t["tau"]))
    weights = {}
    if "weight" in t:
        weights["*"] = t["weight"]
    nex_mean, nex_sd = {}, {}
    if "nex" in t:
        nx = t["nex"]
        if not isinstance(nx, dict) or set(nx) - {"mean", "sd"}:
            raise ctx.error("model", f"`nex` must be {{ mean = m, sd = s }}; got {nx!r}.")
        if "mean" in nx:
            nex_mean["*"] = nx["mean"]
        if "sd" in nx:
            nex_sd["*"] = nx["sd"]
    for name, ct in cohort_tables.items():
        if "weight" in ct:
            weights[name] = ct["weight"]
        if "nex" in ct:
            nx = ct["nex"]
            where = f"cohorts.{name}"
            if not isinstance(nx, dict) or set(nx) - {"mean", "sd"}:
                raise ctx.error(where, f"`nex` must be {{ mean = m, sd = s }}; got {nx!r}.")
            if "mean" in nx:
                nex_mean[name] = nx["mean"]
            if "sd" in nx:
                nex_sd[name] = nx["sd"]
    for key, d in (("weight", weights), ("nex_mean", nex_mean), ("nex_sd", nex_sd)):
        if d:
            kw[key] = d if set(d) != {"*"} else d["*"]
    hist = []
    raw = t.get("historical", [])
    if not isinstance(raw, list):
        raise ctx.error("model", "`historical` must be an array of tables [[model.historical]].")
    for i, h in enumerate(raw):
        where = f"model.historical[{i}]"
        if not isinstance(h, dict):
            raise ctx.error(where, f"must be a table; got {h!r}.")
        ctx.unknown(h, HIST_KEYS, where)
        for k in ("name", "r", "n"):
            if k not in h:
                raise ctx.error(where, f"missing `{k}`.")
        hist.append(_wrap(ctx, where, Historical, **h))
    kw["historical"] = tuple(hist)
    return _wrap(ctx, "model", Model, **kw)


def cohort_design_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> Any:
    """Build a validated ``CohortDesign`` from a parsed multi-cohort design file."""
    ctx = _Ctx(source)
    ctx.unknown(data, MULTI_TOP_KEYS, "")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ctx.error("", f"`name` must be a non-empty string; got {name!r}.")
    cohorts_t = ctx.table(data, "cohorts", "", required=True) or {}
    if not cohorts_t:
        raise ctx.error("cohorts", "give at least one [cohorts.NAME] table.")
    cohorts = []
    ranges: dict[str, tuple[float, float]] = {}
    per_cohort_rules: dict[str, dict[str, Rule]] = {}
    for cname, ct in cohorts_t.items():
        where = f"cohorts.{cname}"
        if not isinstance(ct, dict):
            raise ctx.error(where, f"must be a table; got {ct!r}.")
        ctx.unknown(ct, COHORT_TABLE_KEYS, where)
        if "p0" not in ct or "looks" not in ct:
            raise ctx.error(where, "needs `p0` and `looks`.")
        p0 = ct["p0"]
        if isinstance(p0, bool) or not isinstance(p0, int | float) or not 0 < p0 < 1:
            raise ctx.error(where, f"`p0` must be a probability in (0, 1); got {p0!r}.")
        cohorts.append(
            _wrap(ctx, where, Cohort, name=cname, p0=p0, p1=ct.get("p1"), looks=ct["looks"])
        )
        if "range" in ct:
            rng = ct["range"]
            if (
                not isinstance(rng, list)
                or len(rng) != 2
                or any(isinstance(x, bool) or not isinstance(x, int | float) for x in rng)
                or not 0 <= rng[0] < rng[1] <= 1
            ):
                raise ctx.error(
                    where,
                    "`range` must be [low, high] with 0 <= low < high <= 1 (the plausible "
                    f"true rates of this cohort as a neighbour); got {rng!r}.",
                )
            ranges[cname] = (float(rng[0]), float(rng[1]))
        for slot in ("futility", "efficacy", "final"):
            if slot in ct:
                if not isinstance(ct[slot], dict):
                    raise ctx.error(where, f"`{slot}` must be a table; got {ct[slot]!r}.")
                per_cohort_rules.setdefault(slot, {})[cname] = _rule_from_dict(
                    _Ctx(source), slot, ct[slot], float(p0)
                )
    model_t = ctx.table(data, "model", "", required=False) or {}
    model = _model_from_dict(ctx, model_t, cohorts_t)
    slots: dict[str, Any] = {}
    for slot in ("futility", "efficacy", "final"):
        t = ctx.table(data, slot, "", required=False)
        shared = None if t is None else _rule_from_dict(ctx, slot, t, cohorts[0].p0)
        own = per_cohort_rules.get(slot, {})
        if own:
            if shared is None and len(own) != len(cohorts):
                missing = [c.name for c in cohorts if c.name not in own]
                raise ctx.error(
                    slot,
                    f"no rule for cohorts {missing}: give [{slot}] or "
                    f"[cohorts.NAME.{slot}] for each.",
                )
            slots[slot] = {c.name: own.get(c.name, shared) for c in cohorts}
        else:
            slots[slot] = shared
    if slots["final"] is None:
        raise ctx.error("", f"missing table [final]{SLOT_HINTS['final']}.")
    monitors, sources = _cohort_toxicity(ctx, data, cohorts_t, cohorts)
    scen = []
    raw = data.get("scenarios", [])
    if not isinstance(raw, list):
        raise ctx.error(
            "scenarios",
            "multi-cohort scenarios are [[scenarios]] tables with `name` and a rate per cohort.",
        )
    for i, s in enumerate(raw):
        where = f"scenarios[{i}]"
        if not isinstance(s, dict):
            raise ctx.error(where, f"must be a table; got {s!r}.")
        d = dict(s)
        sname = d.pop("name", f"scenario {i + 1}")
        tox = {k: d.pop(k) for k in ("toxicity", "odds_ratio") if k in d}
        names = [c.name for c in cohorts]
        ctx.unknown(d, (*names, "toxicity", "odds_ratio"), where)
        missing = [n for n in names if n not in d]
        if missing:
            raise ctx.error(where, f"needs a true rate for every cohort; missing {missing}.")
        if tox and not monitors:
            raise ctx.error(
                where,
                f"`{next(iter(tox))}` needs a [toxicity] table (or [cohorts.NAME.toxicity]): "
                "the design monitors no toxicity, so it would be ignored.",
            )
        scen.append(_wrap(ctx, where, Scenario, sname, rates=d, **tox))
    for key in ("title", "notes"):
        if key in data and not isinstance(data[key], str):
            raise ctx.error("", f"`{key}` must be text; got {data[key]!r}.")
    alpha, power = _targets(ctx, data, multi=True)
    return _wrap(
        ctx,
        "",
        CohortDesign,
        name=name,
        model=model,
        cohorts=tuple(cohorts),
        final=slots["final"],
        futility=slots["futility"],
        efficacy=slots["efficacy"],
        title=data.get("title", ""),
        notes=data.get("notes", ""),
        scenarios=tuple(scen),
        alpha=alpha,
        ranges=ranges,
        target_power=power,
        toxicity=monitors or None,
        toxicity_source=sources,
    )


def _cohort_toxicity(
    ctx: _Ctx, data: dict[str, Any], cohorts_t: dict[str, Any], cohorts: list[Any]
) -> tuple[dict[str, ToxicityMonitor], dict[str, str]]:
    """Per-cohort monitors: ``[cohorts.NAME.toxicity]``, else the shared ``[toxicity]``.

    A shared table applies to every cohort without its own, with that cohort's
    looks as the default monitoring points.
    """
    shared = ctx.table(data, "toxicity", "", required=False)
    monitors: dict[str, ToxicityMonitor] = {}
    sources: dict[str, str] = {}
    for c in cohorts:
        own = cohorts_t[c.name].get("toxicity")
        table, where = (own, f"cohorts.{c.name}.toxicity") if own is not None else (
            shared, "toxicity")
        if table is None:
            continue
        monitors[c.name], src = _toxicity_from_dict(ctx, where, table, tuple(c.looks))
        if src:
            sources[c.name] = src
    return monitors, sources
