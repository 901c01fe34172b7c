"""HTML cards of adaptive2's design and result objects, for Jupyter.

Every card is one ``<div class="a2-card">`` holding the shared :data:`CSS`
snippet, a title line and small tables. Cards are well-formed XML (every tag
closed, every text node escaped by :mod:`adaptive2.views.html`), so they can be
parsed, embedded in reports and tested. The objects themselves know nothing of
HTML: :func:`adaptive2.views.dispatch.html_card` picks the card by type, and
``import adaptive2`` in a notebook registers it with IPython's HTML formatter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from adaptive2._base.formatting import DASH, number
from adaptive2.engines.search import _looks_text
from adaptive2.model.priors import ess_table
from adaptive2.views.html import esc, is_text_column
from adaptive2.views.html import table as html_table

if TYPE_CHECKING:  # pragma: no cover
    from adaptive2.engines.analysis_results import AnalysisResult
    from adaptive2.engines.calibration import CalibrationResult
    from adaptive2.engines.null_region import NullRegion
    from adaptive2.engines.search import SearchDesign, SearchResult
    from adaptive2.engines.simon import SimonDesign
    from adaptive2.model.cohorts import CohortDesign
    from adaptive2.model.designs import Boundaries, Design
    from adaptive2.model.hierarchical import Model
    from adaptive2.model.priors import Prior

__all__ = [
    "CSS",
    "DASH",
    "analysis_card",
    "boundaries_card",
    "boundaries_table",
    "calibration_card",
    "card",
    "cohort_design_card",
    "design_card",
    "esc",
    "fmt",
    "key_values",
    "model_card",
    "null_region_card",
    "prior_card",
    "search_card",
    "simon_card",
    "table",
]

CSS = (
    "<style>"
    ".a2-card{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
    "line-height:1.35;border:1px solid #c8ccd2;border-radius:4px;padding:6px 10px;"
    "margin:4px 0;display:inline-block;max-width:100%}"
    ".a2-card .a2-title{font-weight:600}"
    ".a2-card .a2-sub{color:#555;margin-left:.4em}"
    ".a2-card .a2-note{color:#555;margin:3px 0}"
    ".a2-card .a2-warn{color:#a30000;margin:3px 0}"
    ".a2-card table{border-collapse:collapse;margin:4px 0}"
    ".a2-card th,.a2-card td{border:1px solid #e0e3e7;padding:2px 6px;text-align:right;"
    "vertical-align:top}"
    ".a2-card th{background:#f5f6f8;font-weight:600}"
    ".a2-card td.text,.a2-card th.text{text-align:left}"
    "</style>"
)
"""The one style sheet shared by every card (scoped to ``.a2-card``)."""



# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------
def fmt(value: Any, digits: int = 4) -> str:
    """A number for a card (:func:`adaptive2._base.formatting.number`, trailing zeros trimmed)."""
    return number(value, digits, trim=True)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """A card's table (:func:`adaptive2.views.html.table`, trailing zeros trimmed).

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequences
        Cell values (str, int, float, bool or None); strings are escaped.
    caption : str
        Optional caption above the table.
    """
    return html_table(header, [list(r) for r in rows], caption=caption, trim=True)


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of labelled values (label, value)."""
    body = "".join(
        f'<tr><th class="text">{esc(k)}</th>'
        f'<td class="{"text" if is_text_column([v]) else "num"}">{esc(fmt(v))}</td></tr>'
        for k, v in pairs
    )
    return f"<table><tbody>{body}</tbody></table>"


def card(
    kind: str,
    name: str = "",
    subtitle: str = "",
    parts: Iterable[str] = (),
    notes: Iterable[str] = (),
    warnings: Iterable[str] = (),
) -> str:
    """Assemble a card.

    Parameters
    ----------
    kind : str
        Object type shown in bold (``"Boundaries"``, ``"CohortDesign"``, ...).
    name, subtitle : str
        User strings (escaped here).
    parts : iterable of str
        Already-built HTML fragments (tables), in order.
    notes, warnings : iterable of str
        Plain-text lines (escaped here); warnings are shown in red.
    """
    head = f'<div><span class="a2-title">{esc(kind)}</span>'
    if name:
        head += f' <span class="a2-title">{esc(name)}</span>'
    if subtitle:
        head += f'<span class="a2-sub">{esc(subtitle)}</span>'
    head += "</div>"
    body = "".join(parts)
    body += "".join(f'<div class="a2-warn">{esc(w)}</div>' for w in warnings)
    body += "".join(f'<div class="a2-note">{esc(n)}</div>' for n in notes if n)
    return f'<div class="a2-card">{CSS}{head}{body}</div>'


# ---------------------------------------------------------------------------
# Single-cohort boundaries
# ---------------------------------------------------------------------------
def boundaries_table(bnd: Boundaries) -> str:
    """Protocol-form boundary table: one row per look."""
    last = len(bnd.looks) - 1
    rows = []
    for k, (n, a, b) in enumerate(
        zip(bnd.looks, bnd.futility_max_r, bnd.efficacy_min_r, strict=True)
    ):
        rows.append((k + 1, n, a, b, bnd._protocol_text(k, k == last)))
    if bnd.dual:
        header = ("look", "n", "stop / No-Go if r \u2264", "efficacy / Go if r \u2265", "rule")
    else:
        header = ("look", "n", "futility if r \u2264", "efficacy if r \u2265", "rule")
    return table(header, rows)


def boundaries_card(bnd: Boundaries) -> str:
    """Card of :class:`adaptive2.model.designs.Boundaries`: the protocol-form table."""
    sub = f"N = {bnd.looks[-1]}, {len(bnd.looks)} look{'s' if len(bnd.looks) > 1 else ''}"
    notes = [
        "Stop if r \u2264 a among the first n evaluable patients; "
        "efficacy if r \u2265 b (r = responses so far).",
    ]
    if bnd.dual:
        notes.append("Final look: Go / Consider / No-Go (dual criterion).")
    return card(
        "Boundaries",
        subtitle=sub,
        parts=[boundaries_table(bnd)],
        notes=notes,
        warnings=[f"Incoherent: {w}" for w in bnd.incoherences()],
    )


def _short(value: Any) -> str | None:
    return None if value is None else f"{float(value):.6g}"


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------
def calibration_card(res: CalibrationResult) -> str:
    """Card of :class:`adaptive2.engines.calibration.CalibrationResult`."""
    # the chosen value in full (it goes into design files); the interval to 6 digits
    params = [
        (k, repr(float(v)), *(_short(x) for x in res.interval.get(k, (None, None))))
        for k, v in res.parameters.items()
    ]
    param_tab = table(("parameter", "value", "same table from", "to"), params)
    figures = [
        ("worst-case type I error (p \u2264 p0)", res.alpha),
        ("target type I error", res.target_alpha),
        ("attained at p", res.worst_case_p),
        ("power at p1", res.power),
    ]
    if res.target_power is not None:
        figures.append(("target power", res.target_power))
    figures += [("E[N | p0]", float(res.expected_n_p0)), ("targets met", bool(res.feasible))]
    bnd = res.design.boundaries()
    warn = [] if res.feasible else ["No value meets the targets: closest achievable figures."]
    return card(
        "CalibrationResult",
        name=res.design.name,
        subtitle="exact",
        parts=[param_tab, key_values(figures), boundaries_table(bnd)],
        notes=[res.message],
        warnings=warn,
    )


# ---------------------------------------------------------------------------
# Searches
# ---------------------------------------------------------------------------
def _params_text(params: dict[str, float]) -> str:
    return ", ".join(
        f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in params.items()
    )


def search_card(res: SearchResult) -> str:
    """Card of :class:`adaptive2.engines.search.SearchResult`: the marked designs."""
    marked: list[tuple[str, SearchDesign]] = []
    if res.minimax is not None:
        marked.append(("minimax", res.minimax))
    if res.optimal is not None:
        marked.append(("optimal", res.optimal))
    seen = {d.index for _, d in marked}
    marked += [("admissible", d) for d in res.admissible if d.index not in seen]
    rows = [
        (
            label,
            d.name,
            d.n_max,
            _looks_text(d.looks).strip("()"),
            _params_text(d.parameters),
            d.alpha,
            d.power,
            float(d.expected_n_p0),
            d.pet_p0,
        )
        for label, d in marked
    ]
    header = ("", "design", "N", "looks", "parameters", "alpha", "power", "E[N | p0]", "PET(p0)")
    targets = []
    if res.target_alpha is not None:
        targets.append(f"alpha \u2264 {res.target_alpha:g}")
    if res.target_power is not None:
        targets.append(f"power \u2265 {res.target_power:g}")
    sub = f"p0 = {res.p0:g}, p1 = {res.p1:g}" + (f"; {', '.join(targets)}" if targets else "")
    notes = [
        f"{len(res.designs)} designs meet the targets of {res.n_evaluated} evaluated; "
        f"Pareto front (N, E[N | p0], power): {len(res.pareto)} designs.",
        res.message,
    ]
    return card(
        "SearchResult",
        name=res.method,
        subtitle=sub,
        parts=[table(header, rows)] if rows else [],
        notes=notes,
        warnings=[] if res.feasible else ["No design meets the targets."],
    )


# ---------------------------------------------------------------------------
# Simon two-stage
# ---------------------------------------------------------------------------
def simon_card(d: SimonDesign) -> str:
    """Card of :class:`adaptive2.engines.simon.SimonDesign` with its protocol-form table."""
    rows = [
        (
            1,
            d.n1,
            d.r1,
            None,
            f"stop for futility if <= {d.r1} responses among the first {d.n1} evaluable patients",
        ),
        (
            2,
            d.n,
            d.r,
            d.r + 1,
            f"declare efficacy if >= {d.r + 1} responses among the first {d.n} evaluable patients",
        ),
    ]
    bnd = table(("stage", "n", "futility if r \u2264", "efficacy if r \u2265", "rule"), rows)
    figures = [
        ("r1 / n1", f"{d.r1} / {d.n1}"),
        ("r / n", f"{d.r} / {d.n}"),
        ("type I error (p0)", d.alpha),
        ("power (p1)", d.power),
        ("E[N | p0]", d.expected_n_p0),
        ("PET(p0)", d.pet_p0),
    ]
    q_low, q_high = getattr(d, "q_low", None), getattr(d, "q_high", None)
    if q_low is not None and q_high is not None:
        figures.append(("admissible for q in", f"[{q_low:.3f}, {q_high:.3f}]"))
    return card(
        "SimonDesign",
        subtitle=f"p0 = {d.p0:g}, p1 = {d.p1:g}, exact",
        parts=[key_values(figures), bnd],
    )


# ---------------------------------------------------------------------------
# Borrowing model and multi-cohort designs
# ---------------------------------------------------------------------------
_TAU_NAMES = {"half_normal": "half-normal", "half_cauchy": "half-Cauchy", "half_t": "half-t",
              "fixed": "fixed"}


def _per_cohort_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(f"{k}: {v:g}" for k, v in value)
    return f"{value:g}"


def _model_parts(m: Model) -> list[str]:
    pairs: list[tuple[str, Any]] = [("kind", m.kind), ("scale", m.scale)]
    if m.kind in ("hierarchical", "exnex"):
        tau = _TAU_NAMES[m.tau_prior] + (f"(df {m.tau_df:g})" if m.tau_prior == "half_t" else "")
        tau += f" at {m.tau_scale:g}" if m.tau_prior == "fixed" else f", scale {m.tau_scale:g}"
        pairs += [
            ("\u03bc prior", f"N({m.mu_mean:g}, {m.mu_sd:g}\u00b2)"),
            ("\u03c4 prior", tau),
        ]
    if m.kind == "exnex":
        pairs.append(("P(exchangeable)", _per_cohort_text(m.weight)))
    if m.kind in ("exnex", "independent"):
        pairs.append(("NEX prior mean", _per_cohort_text(m.nex_mean)))
        pairs.append(("NEX prior sd", _per_cohort_text(m.nex_sd)))
    parts = [key_values(pairs)]
    if m.historical:
        rows = [
            (
                h.name,
                f"{h.r}/{h.n}",
                h.p0,
                h.tie if h.tie else "exchangeable",
                h.tie_sd if h.tie else None,
                h.weight,
            )
            for h in m.historical
        ]
        parts.append(
            table(
                ("historical stratum", "r/n", "p0", "tie", "tie sd", "weight"),
                rows,
            )
        )
    return parts


def prior_card(prior: Prior) -> str:
    """Card of a :class:`~adaptive2.model.priors.Beta` or ``BetaMixture`` prior."""
    q = prior.quantiles((0.025, 0.5, 0.975))
    summary = key_values([
        ("mean", prior.mean), ("sd", prior.sd), ("2.5%", q[0.025]), ("median", q[0.5]),
        ("97.5%", q[0.975]),
    ])
    comps = table(("w", "a", "b"), [(c["w"], c["a"], c["b"]) for c in prior.components()])
    e = ess_table(prior)
    ess = table(("ESS method", "value"), [(k, v["value"]) for k, v in e.items()])
    return card(type(prior).__name__, subtitle=str(prior), parts=[summary, comps, ess])


def design_card(d: Design) -> str:
    """Card of a single-cohort :class:`~adaptive2.model.designs.Design`: rules and boundaries."""
    bnd = d.boundaries()
    return card("Design", name=d.name, subtitle=d.title, parts=[boundaries_table(bnd)],
                notes=[*d.describe().splitlines()[1:], d.notes],
                warnings=[f"Incoherent: {w}" for w in bnd.incoherences()])


def analysis_card(res: AnalysisResult) -> str:
    """Card of an :class:`~adaptive2.engines.analysis_results.AnalysisResult`."""
    head = ("cohort", "r/n", "look", "mean", "sd", "95% interval", "P(p > p0)", "P(p > p1)",
            "PP(final success)", "decision", "conflict p")
    rows = [
        (c.name, f"{c.r}/{c.n}", c.look, c.mean, c.sd,
         f"[{c.interval[0]:.3f}, {c.interval[1]:.3f}]", c.p_above_p0, c.p_above_p1,
         c.predictive_probability, c.decision, c.conflict_p)
        for c in res.cohorts
    ]
    notes = [f"{c.name}: {c.reason}. {c.distance}." for c in res.cohorts]
    return card("Analysis", name=res.design, subtitle=res.header(), parts=[table(head, rows)],
                notes=notes, warnings=list(res.warnings))


def null_region_card(nr: NullRegion) -> str:
    """Card of a :class:`~adaptive2.engines.null_region.NullRegion`."""
    frame = nr.table()
    rows = frame.itertuples(index=False, name=None)
    notes = [f"FWER at the global null {number(nr.fwer_global_null)}; supremum "
             f"{number(nr.max_fwer)} (exact, {nr.evaluations} rate vectors)."]
    return card("NullRegion", name=nr.design, subtitle="type I error over the whole null region",
                parts=[table(tuple(frame.columns), rows)], notes=notes)


def model_card(m: Model) -> str:
    """Card of :class:`adaptive2.model.hierarchical.Model`."""
    return card(
        "Model", subtitle="borrowing across cohorts", parts=_model_parts(m), notes=[m.describe()]
    )


def cohort_design_card(d: CohortDesign) -> str:
    """Card of :class:`adaptive2.model.cohorts.CohortDesign` (no lattice computation)."""
    rows = []
    for c in d.cohorts:
        rules = []
        for slot in ("futility", "efficacy", "final"):
            rule = d.rule(slot, c.name)
            rules.append(rule.describe(slot) if rule is not None else DASH)
        rows.append((c.name, c.p0, c.p1, ", ".join(map(str, c.looks)), *rules))
    cohorts = table(
        ("cohort", "p0", "p1", "looks", "futility (interim)", "efficacy (interim)", "final"),
        rows,
    )
    parts = [cohorts, *_model_parts(d.model)]
    if d.scenarios:
        names = d.names
        srows = [(s.name, *(s.rate(n) for n in names)) for s in d.scenarios]
        parts.append(table(("scenario", *names), srows))
    notes = [d.model.describe(), d.notes]
    return card("CohortDesign", name=d.name, subtitle=d.title, parts=parts, notes=notes)
