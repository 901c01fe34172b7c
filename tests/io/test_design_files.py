"""Design files: loading, writing, round trips and error messages."""

from __future__ import annotations

import copy
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.io.design_files import (
    design_from_dict,
    design_to_dict,
    dumps_toml,
    load_any,
    load_design,
    load_prior,
    prior_from_dict,
    read_toml,
    save_design,
)
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec
from adaptive2.model.rules import (
    BOP2,
    Boundary,
    DualCriterion,
    PosteriorProbability,
    PredictiveProbability,
)

from _shipped import SINGLE_COHORT

DESIGNS_DIR = Path(__file__).resolve().parents[2] / "designs"
SHIPPED = SINGLE_COHORT


def _base(**tables) -> dict:
    """A small valid design dict; keyword tables replace or add top-level entries."""
    d = {
        "name": "t",
        "title": "test design",
        "prior": {"beta": [1, 1]},
        "cohort": {"p0": 0.2, "p1": 0.4, "looks": [10, 20, 30]},
        "futility": {"rule": "posterior", "cutoff": 0.1},
        "final": {"rule": "posterior", "cutoff": 0.9},
        "scenarios": {"p": [0.1, 0.2, 0.3, 0.4]},
    }
    for k, v in tables.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


RULE_KIND_DICTS = {
    "posterior-delta": _base(
        final={"rule": "posterior", "cutoff": 0.8, "delta": 0.05},
        futility={"rule": "posterior", "cutoff": 0.05, "delta": 0.1, "p0": 0.15},
    ),
    "p0-beta": _base(
        cohort={"p0": {"beta": [20, 80]}, "p1": 0.4, "looks": [10, 20]},
        futility={"rule": "posterior", "cutoff": 0.05},
        final={"rule": "posterior", "cutoff": 0.8},
    ),
    "rule-p0-beta-cohort-float": _base(
        cohort={"p0": 0.2, "looks": [10, 20]},
        futility={"rule": "posterior", "cutoff": 0.05, "p0": {"beta": [2, 8]}},
    ),
    "predictive": _base(
        prior={"base": [0.5, 0.5], "historical": {"r": 16, "n": 20}, "power": 0.5,
               "robust": {"weight": 0.5, "mean": 0.5, "n": 1}, "source": "phase 1"},
        futility={"rule": "predictive", "threshold": 0.05},
        efficacy={"rule": "predictive", "threshold": 0.99},
    ),
    "bop2-futility-efficacy": _base(
        prior={"beta": [0.2, 0.8]},
        futility={"rule": "bop2", "lambda": 0.9, "gamma": 1.0},
        efficacy={"rule": "bop2", "lambda": 0.9, "eta": 1.5},
        final={"rule": "bop2", "lambda": 0.9},
    ),
    "boundary": _base(
        futility={"rule": "boundary", "r": [0, 2]},
        efficacy={"rule": "boundary", "r": [7, 10]},
        final={"rule": "boundary", "r": 9},
    ),
    "dual": _base(
        prior={"mixture": [[0.75, 3, 7], [0.25, 1, 1]]},
        futility={"rule": "dual", "lrv": 0.2, "tv": 0.35},
        final={"rule": "dual", "lrv": 0.2, "tv": 0.35, "lrv_cutoff": 0.8, "tv_cutoff": 0.6},
    ),
    "single-look-no-interim": _base(
        cohort={"p0": 0.2, "looks": [25]}, futility=None, scenarios=None, title=None,
    ),
}


# ---------------------------------------------------------------------------
# Shipped design files
# ---------------------------------------------------------------------------
def test_designs_are_shipped():
    assert SHIPPED, f"no design files in {DESIGNS_DIR}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_design_loads_and_round_trips(path, tmp_path):
    d = load_design(path)
    assert isinstance(d, Design)
    assert d.name == path.stem
    assert d.boundaries().looks == d.looks
    assert design_from_dict(design_to_dict(d)) == d
    back = load_design(save_design(d, tmp_path / path.name))
    assert back == d
    assert back.hash == d.hash
    assert hash(back) == hash(d)


def test_load_prior_reads_the_prior_table(tmp_path):
    raw = _base(prior={"base": [0.5, 0.5], "historical": {"r": 16, "n": 20}, "power": 0.5,
                       "robust": {"weight": 0.5}, "source": "Phase 1: 16/20"})
    path = tmp_path / "p.toml"
    path.write_text(dumps_toml(raw), encoding="utf-8")
    spec = load_prior(path)
    assert spec == PriorSpec(base=Beta(0.5, 0.5), historical=(16, 20), power=0.5,
                             robust=(0.5, 0.5, 1.0), source="Phase 1: 16/20")
    assert spec.build() == load_design(path).prior
    assert load_design(path).prior_spec == spec
    # a prior-only file is enough for load_prior
    path.write_text('[prior]\nbeta = [2, 3]\n', encoding="utf-8")
    assert load_prior(path) == PriorSpec(beta=Beta(2, 3))


# ---------------------------------------------------------------------------
# Round trips with every rule kind
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(RULE_KIND_DICTS))
def test_round_trip_every_rule_kind(key, tmp_path):
    raw = copy.deepcopy(RULE_KIND_DICTS[key])
    d = design_from_dict(raw, source=f"{key}.toml")
    assert raw == RULE_KIND_DICTS[key], "design_from_dict must not mutate its input"
    out = design_to_dict(d)
    assert design_from_dict(out) == d
    assert design_from_dict(out).hash == d.hash
    assert tomllib.loads(dumps_toml(out)) == out
    path = save_design(d, tmp_path / f"{key}.toml")
    assert path == tmp_path / f"{key}.toml"
    back = load_design(path)
    assert back == d
    assert back.hash == d.hash
    assert design_to_dict(back) == out
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.toml"], "no temp files left"


def test_rule_kinds_build_the_right_objects():
    d = design_from_dict(RULE_KIND_DICTS["posterior-delta"])
    assert d.final == PosteriorProbability(p0=0.2, cutoff=0.8, delta=0.05)
    assert d.futility == PosteriorProbability(p0=0.15, cutoff=0.05, delta=0.1)
    d = design_from_dict(RULE_KIND_DICTS["p0-beta"])
    assert d.p0 == Beta(20, 80)
    assert d.final == PosteriorProbability(p0=Beta(20, 80), cutoff=0.8)
    assert design_to_dict(d)["cohort"]["p0"] == {"beta": [20.0, 80.0]}
    assert "p0" not in design_to_dict(d)["final"]  # inherited from [cohort]
    d = design_from_dict(RULE_KIND_DICTS["rule-p0-beta-cohort-float"])
    assert d.futility.p0 == Beta(2, 8)
    assert design_to_dict(d)["futility"]["p0"] == {"beta": [2.0, 8.0]}
    d = design_from_dict(RULE_KIND_DICTS["predictive"])
    assert d.futility == PredictiveProbability(threshold=0.05)
    assert d.efficacy == PredictiveProbability(threshold=0.99)
    assert d.prior_spec.historical == (16.0, 20.0)
    d = design_from_dict(RULE_KIND_DICTS["bop2-futility-efficacy"])
    assert d.futility == BOP2(p0=0.2, lambda_=0.9, gamma=1.0)
    assert d.efficacy == BOP2(p0=0.2, lambda_=0.9, eta=1.5)
    assert design_to_dict(d)["futility"] == {"rule": "bop2", "lambda": 0.9, "gamma": 1.0}
    d = design_from_dict(RULE_KIND_DICTS["boundary"])
    assert d.futility == Boundary(r=(0, 2))
    assert d.final == Boundary(r=(9,))
    assert design_to_dict(d)["final"] == {"rule": "boundary", "r": 9}
    d = design_from_dict(RULE_KIND_DICTS["dual"])
    assert d.final == DualCriterion(lrv=0.2, tv=0.35, lrv_cutoff=0.8, tv_cutoff=0.6)
    assert d.prior == BetaMixture((0.75, 0.25), (3, 1), (7, 1))


def test_round_trip_of_python_built_design_with_plain_beta_prior():
    # BUG (io.design_from_dict / Design.prior_spec): a Design built in Python with a
    # plain Beta prior has prior_spec=None; design_to_dict writes [prior] beta = [a, b]
    # and design_from_dict returns prior_spec=PriorSpec(beta=...), so the round trip
    # is not the identity although the hash is the same.
    d = Design(name="demo", prior=Beta(1, 1), looks=(10, 20),
               futility=PredictiveProbability(threshold=0.05),
               final=PosteriorProbability(p0=0.2, cutoff=0.9))
    back = design_from_dict(design_to_dict(d))
    assert back.hash == d.hash
    assert back == d


def test_round_trip_historical_without_base(tmp_path):
    # BUG (io._prior_to_dict): `historical` without `base` is written back with an
    # explicit base = [0.5, 0.5], so the reloaded PriorSpec (base=Beta(0.5, 0.5))
    # differs from the loaded one (base=None): load(save(d)) != d.
    raw = _base(prior={"historical": {"r": 16, "n": 20}, "power": 0.5})
    d = design_from_dict(raw)
    assert d.prior == Beta(8.5, 2.5)
    back = load_design(save_design(d, tmp_path / "h.toml"))
    assert back.prior == d.prior
    assert back == d


def test_round_trip_mixture_weights_exactly(tmp_path):
    # BUG (priors.BetaMixture.__post_init__): weights are divided by their float sum,
    # which is not idempotent: 0.541672077700195 -> 0.5416720777001951 on the first
    # load -> 0.5416720777001952 after save + load, so the design and its hash change
    # on every round trip.
    w = [0.541672077700195, 0.29748946096034135, 0.16083846133946345]
    raw = _base(prior={"mixture": [[w[0], 1, 1], [w[1], 2, 2], [w[2], 3, 3]]})
    d = design_from_dict(raw)
    back = load_design(save_design(d, tmp_path / "m.toml"))
    assert back.prior.weights == d.prior.weights
    assert back.hash == d.hash
    assert back == d


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_robust_weight_zero_or_one_loads_cleanly(weight, tmp_path):
    # `robust.weight` is documented in [0, 1]; 0 or 1 leaves a zero-weight component,
    # which must not emit "RuntimeWarning: divide by zero encountered in log" (an error
    # under this project's pytest filterwarnings).
    raw = _base(prior={"beta": [1, 1], "robust": {"weight": weight, "mean": 0.5, "n": 1}},
                futility={"rule": "predictive", "threshold": 0.05})
    d = design_from_dict(raw)
    assert load_design(save_design(d, tmp_path / "r.toml")) == d


# ---------------------------------------------------------------------------
# Hypothesis: generated valid designs round-trip
# ---------------------------------------------------------------------------
_prob = st.floats(0.05, 0.6)
_shape = st.floats(0.1, 40.0)


@st.composite
def _prior_tables(draw):
    kind = draw(st.sampled_from(["beta", "mixture", "historical", "base"]))
    if kind == "beta":
        t = {"beta": [draw(_shape), draw(_shape)]}
    elif kind == "mixture":
        k = draw(st.integers(2, 3))
        # weights with an exact binary sum (see test_round_trip_mixture_weights_exactly)
        cuts = sorted(draw(st.lists(st.integers(1, 7), min_size=k - 1, max_size=k - 1,
                                    unique=True)))
        counts = [b - a for a, b in zip([0, *cuts], [*cuts, 8], strict=True)]
        t = {"mixture": [[c / 8, draw(_shape), draw(_shape)] for c in counts]}
    elif kind == "historical":
        n = draw(st.integers(1, 40))
        t = {"base": [draw(_shape), draw(_shape)],
             "historical": {"r": draw(st.integers(0, n)), "n": n},
             "power": draw(st.floats(0.0, 1.0))}
    else:
        t = {"base": [draw(_shape), draw(_shape)]}
    if draw(st.booleans()):
        t["robust"] = {"weight": draw(st.floats(0.0, 1.0)), "mean": draw(st.floats(0.05, 0.95)),
                       "n": draw(st.floats(0.5, 5.0))}
    if draw(st.booleans()):
        t["source"] = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                   max_size=20))
    return t


@st.composite
def _design_dicts(draw):
    looks = sorted(draw(st.sets(st.integers(1, 40), min_size=1, max_size=3)))
    n_max, n_interim = looks[-1], len(looks) - 1
    p0 = draw(_prob)
    cohort = {"p0": p0, "looks": looks}
    if draw(st.booleans()) and p0 < 0.94:  # the target rate is above the null rate
        cohort["p1"] = draw(st.floats(p0 + 0.01, 0.95))
    data = {"name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)),
            "prior": draw(_prior_tables()), "cohort": cohort}
    if draw(st.booleans()):
        data["title"] = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                     max_size=30))
    final_kind = draw(st.sampled_from(["posterior", "bop2", "boundary", "dual"]))
    if final_kind == "posterior":
        final = {"rule": "posterior", "cutoff": draw(st.floats(0.5, 0.99))}
        if draw(st.booleans()):
            final["delta"] = draw(st.floats(0.01, 0.3))
        if draw(st.booleans()):
            final["p0"] = p0  # may be repeated; another value is refused (test below)
    elif final_kind == "bop2":
        final = {"rule": "bop2", "lambda": draw(st.floats(0.5, 0.99))}
    elif final_kind == "boundary":
        final = {"rule": "boundary", "r": draw(st.integers(-1, n_max))}
    else:
        lrv = draw(st.floats(0.05, 0.5))
        final = {"rule": "dual", "lrv": lrv, "tv": lrv + draw(st.floats(0.05, 0.4)),
                 "lrv_cutoff": draw(st.floats(0.5, 0.99)), "tv_cutoff": draw(st.floats(0.2, 0.9))}
    data["final"] = final
    if n_interim:
        fut_kind = draw(st.sampled_from([None, "posterior", "predictive", "bop2", "boundary"]))
        if fut_kind == "posterior":
            data["futility"] = {"rule": "posterior", "cutoff": draw(st.floats(0.01, 0.3))}
        elif fut_kind == "predictive":
            data["futility"] = {"rule": "predictive", "threshold": draw(st.floats(0.01, 0.2))}
        elif fut_kind == "bop2":
            data["futility"] = {"rule": "bop2", "lambda": draw(st.floats(0.5, 0.99)),
                                "gamma": draw(st.floats(0.5, 2.0))}
        elif fut_kind == "boundary":
            data["futility"] = {"rule": "boundary",
                                "r": [draw(st.integers(-1, 2)) for _ in range(n_interim)]}
        eff_kind = draw(st.sampled_from([None, "posterior", "boundary"]))
        if eff_kind == "posterior":
            data["efficacy"] = {"rule": "posterior", "cutoff": draw(st.floats(0.99, 0.9999))}
        elif eff_kind == "boundary":
            data["efficacy"] = {"rule": "boundary",
                                "r": [draw(st.integers(min(3, n), n)) for n in looks[:-1]]}
    if draw(st.booleans()):
        data["scenarios"] = {"p": draw(st.lists(st.floats(0.0, 1.0), max_size=5))}
    return data


# Random rules may be incoherent (an interim stop no final analysis agrees with): that is
# warned about on construction and is beside the point of a round trip.
@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.StatisticalWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_design_dicts())
def test_round_trip_generated_designs(raw):
    try:
        d = design_from_dict(raw, source="gen.toml")
    except DesignFileError as exc:
        # only non-monotone rules or overlapping regions may reject a generated design
        assume("monotone" not in str(exc) and "overlap" not in str(exc))
        raise
    out = design_to_dict(d)
    back = design_from_dict(out)
    assert back == d
    assert back.hash == d.hash
    assert design_to_dict(back) == out
    text = dumps_toml(out)
    assert tomllib.loads(text) == out
    with tempfile.TemporaryDirectory() as tmp:
        path = save_design(d, Path(tmp) / "gen.toml")
        assert path.read_text(encoding="utf-8") == text
        assert load_design(path) == d


@settings(max_examples=40, deadline=None)
@given(st.floats(0.51, 0.99), st.floats(0.51, 0.99))
def test_hash_changes_with_cutoff(c1, c2):
    d1 = design_from_dict(_base(final={"rule": "posterior", "cutoff": c1}))
    d2 = design_from_dict(_base(final={"rule": "posterior", "cutoff": c2}))
    assert (d1.hash == d2.hash) == (c1 == c2)
    assert (d1 == d2) == (c1 == c2)


def test_hash_is_stable_across_round_trip_and_changes_with_cutoff(tmp_path):
    d = design_from_dict(RULE_KIND_DICTS["predictive"])
    back = load_design(save_design(d, tmp_path / "pp.toml"))
    assert back.hash == d.hash
    assert load_design(save_design(back, tmp_path / "pp2.toml")).hash == d.hash
    assert re.fullmatch(r"[0-9a-f]{64}", d.hash)
    changed = d.replace(final=d.final.replace(cutoff=0.951))
    assert changed.hash != d.hash
    assert load_design(save_design(changed, tmp_path / "pp3.toml")).hash == changed.hash


# ---------------------------------------------------------------------------
# dumps_toml
# ---------------------------------------------------------------------------
def test_dumps_toml_parses_back_to_same_dict():
    data = {
        "name": "x",
        "title": 'quotes " and \\ backslash, tab\t, newline\n, unicode λ ≤ 0.4',
        "prior": {"mixture": [[0.5, 1.0, 2.5], [0.5, 1e-5, 3e16]],
                  "historical": {"r": 16, "n": 20}},
        "cohort": {"p0": {"beta": [2.0, 8.0]}, "looks": [1, 2, 3]},
        "final": {"rule": "posterior", "cutoff": 0.1 + 0.2, "flag": True},
        "scenarios": {"p": []},
    }
    text = dumps_toml(data)
    assert tomllib.loads(text) == data
    # scalars first, then one [table] per nested dict, in order
    assert text.startswith('name = "x"\n')
    assert re.findall(r"^\[(\w+)\]$", text, flags=re.M) == ["prior", "cohort", "final",
                                                              "scenarios"]


def test_dumps_toml_rejects_non_finite_numbers():
    with pytest.raises(DesignError, match="non-finite"):
        dumps_toml({"x": float("nan")})
    with pytest.raises(DesignError, match="cannot write a"):
        dumps_toml({"x": None})


def test_dumps_toml_escapes_control_characters():
    # BUG (io._toml_value): strings are written with json.dumps, which leaves U+007F
    # (DEL) unescaped; TOML forbids it in basic strings, so the output does not parse
    # ("Illegal character '\x7f'") and save_design writes a file load_design rejects.
    data = {"name": "x", "title": "a\x7fb", "notes": "c\x00d\x1be"}
    assert tomllib.loads(dumps_toml(data)) == data


# ---------------------------------------------------------------------------
# Errors: file name, table and key, allowed values
# ---------------------------------------------------------------------------
def _write(tmp_path: Path, data: dict | str, name: str = "bad-design.toml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else dumps_toml(data), encoding="utf-8")
    return path


def _f(path: Path) -> str:
    return re.escape(str(path))


def test_error_unknown_top_level_key(tmp_path):
    p = _write(tmp_path, _base(cohrot={"a": {"p0": 0.2}}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: .*unknown key `cohrot`.*allowed keys: "
                                              r"name, title, notes, prior, cohort, futility, "
                                              r"efficacy, final, scenarios"):
        load_design(p)


def test_error_unknown_key_in_final(tmp_path):
    p = _write(tmp_path, _base(final={"rule": "posterior", "cutof": 0.9}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[final\] unknown key `cutof`; "
                                              r"allowed keys: rule, cutoff, delta, p0"):
        load_design(p)


@pytest.mark.parametrize(("table", "extra", "allowed"), [
    ("prior", {"a0": 1}, "base, historical, power, robust, beta, mixture, source"),
    ("cohort", {"n": 40}, "p0, p1, looks"),
    ("scenarios", {"q": [0.1]}, "p"),
])
def test_error_unknown_key_in_other_tables(tmp_path, table, extra, allowed):
    data = _base()
    data[table] = {**data[table], **extra}
    p = _write(tmp_path, data)
    key = next(iter(extra))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[{table}\] unknown key `{key}`; "
                                              rf"allowed keys: {re.escape(allowed)}"):
        load_design(p)


def test_error_wrong_rule_name(tmp_path):
    p = _write(tmp_path, _base(final={"rule": "posterior_probability", "cutoff": 0.9}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[final\] `rule` must be one of "
                                              r"\{posterior, bop2, boundary, dual\}; "
                                              r"got 'posterior_probability'"):
        load_design(p)
    p = _write(tmp_path, _base(futility={"rule": "simon", "r": [1]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[futility\] `rule` must be one of "
                                              r"\{posterior, predictive, bop2, boundary, "
                                              r"dual\}; got 'simon'"):
        load_design(p)


def test_error_predictive_rule_in_final_slot(tmp_path):
    p = _write(tmp_path, _base(final={"rule": "predictive", "threshold": 0.1}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[final\] `rule` must be one of "
                                              r"\{posterior, bop2, boundary, dual\}; "
                                              r"got 'predictive'"):
        load_design(p)


def test_error_cutoff_out_of_range(tmp_path):
    p = _write(tmp_path, _base(final={"rule": "posterior", "cutoff": 1.2}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[final\] `cutoff` of "
                                              r"PosteriorProbability must be a probability in "
                                              r"\(0, 1\); got 1.2\.$"):
        load_design(p)


def test_error_looks_not_increasing(tmp_path):
    p = _write(tmp_path, _base(cohort={"p0": 0.2, "looks": [20, 10, 30]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[cohort\] `looks`.* strictly "
                                              r"increasing.*got \[20, 10, 30\]"):
        load_design(p)
    p = _write(tmp_path, _base(cohort={"p0": 0.2, "looks": "10, 20"}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[cohort\] `looks` must be a list"):
        load_design(p)
    p = _write(tmp_path, _base(cohort={"p0": 0.2}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[cohort\] missing `looks`"):
        load_design(p)


def test_error_missing_final(tmp_path):
    p = _write(tmp_path, _base(final=None))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: .*missing table \[final\]"):
        load_design(p)


@pytest.mark.parametrize("historical", [
    {"r": 16}, {"r": 16, "n": 20, "a0": 1}, [16, 20], "16/20",
])
def test_error_historical_malformed(tmp_path, historical):
    p = _write(tmp_path, _base(prior={"base": [0.5, 0.5], "historical": historical}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `historical` must be "
                                              r"\{ r = <responses>, n = <patients> \}; got "):
        load_design(p)


def test_error_historical_out_of_range(tmp_path):
    p = _write(tmp_path, _base(prior={"historical": {"r": 25, "n": 20}}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `historical.r`.*"
                                              r"\[0, n=20\]; got 25"):
        load_design(p)


def test_error_power_without_historical(tmp_path):
    p = _write(tmp_path, _base(prior={"base": [0.5, 0.5], "power": 0.5}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `power` needs "
                                              r"`historical`"):
        load_design(p)


def test_error_power_out_of_range(tmp_path):
    p = _write(tmp_path, _base(prior={"historical": {"r": 16, "n": 20}, "power": 1.5}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `power`.*probability in "
                                              r"\[0, 1\]; got 1.5"):
        load_design(p)


def test_error_prior_given_twice_or_not_at_all(tmp_path):
    p = _write(tmp_path, _base(prior={"beta": [1, 1], "base": [0.5, 0.5]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] .*exactly one of `beta`, "
                                              r"`mixture` or `base`"):
        load_design(p)
    p = _write(tmp_path, _base(prior={"source": "nothing"}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] give one of `beta = "
                                              r"\[a, b\]`, `mixture"):
        load_design(p)


def test_error_bad_beta_and_mixture(tmp_path):
    p = _write(tmp_path, _base(prior={"beta": [1, -1]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `b` of Beta must be"):
        load_design(p)
    p = _write(tmp_path, _base(prior={"beta": [1, 2, 3]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `beta` must be a list "
                                              r"\[a, b\] of two numbers > 0; got \[1, 2, 3\]"):
        load_design(p)
    p = _write(tmp_path, _base(prior={"mixture": [[0.5, 1, 1], [0.4, 2, 2]]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[prior\] `weights` of BetaMixture "
                                              r"must be weights that sum to 1"):
        load_design(p)


def test_error_p0_out_of_range(tmp_path):
    p = _write(tmp_path, _base(cohort={"p0": 1.5, "looks": [10, 20]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[cohort\] `p0` must be a probability "
                                              r"in \(0, 1\) or \{ beta = \[a, b\] \}; got 1.5"):
        load_design(p)


def test_error_rule_missing_required_key(tmp_path):
    p = _write(tmp_path, _base(final={"rule": "bop2"}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[final\] rule 'bop2' needs "
                                              r"`lambda`"):
        load_design(p)
    p = _write(tmp_path, _base(cohort={"looks": [10, 20]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[futility\] rule 'posterior' needs "
                                              r"`p0` \(here or in \[cohort\]\)"):
        load_design(p)


def test_error_scenario_names_the_scenarios_table(tmp_path):
    # BUG (io.design_from_dict): a bad rate in [scenarios] p is reported as
    # "[cohort] `scenarios` of Design must be ..." -- wrong table and not the key `p`
    # that the user wrote.
    p = _write(tmp_path, _base(scenarios={"p": [0.2, 1.5]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: \[scenarios\] `p`.*\[0, 1\].*1.5"):
        load_design(p)


def test_error_boundary_length(tmp_path):
    p = _write(tmp_path, _base(futility={"rule": "boundary", "r": [1]}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: .*`futility.r`.*one entry per interim "
                                              r"look \(2\); got \[1\]"):
        load_design(p)


def test_error_overlap_is_a_load_error(tmp_path):
    p = _write(tmp_path, _base(futility={"rule": "posterior", "cutoff": 0.9},
                               efficacy={"rule": "posterior", "cutoff": 0.5}))
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: .*at look 1 \(n = 10\).*overlap"):
        load_design(p)


def test_error_invalid_toml(tmp_path):
    p = _write(tmp_path, 'name = "x"\n[cohort\nlooks = [1, 2]\n')
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: not valid TOML: .*line 2"):
        load_design(p)
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: not valid TOML"):
        read_toml(p)


def test_error_missing_file_and_directory(tmp_path):
    p = tmp_path / "nope.toml"
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: file not found\.$"):
        load_design(p)
    with pytest.raises(DesignFileError, match=rf"^{_f(p)}: file not found"):
        load_prior(p)
    with pytest.raises(DesignFileError, match=rf"^{_f(tmp_path)}: is a directory"):
        load_design(tmp_path)


def test_error_source_name_used_for_dicts():
    with pytest.raises(DesignFileError, match=r"^my-source: \[final\] unknown key `cutof`"):
        design_from_dict(_base(final={"rule": "posterior", "cutof": 0.9}), source="my-source")
    with pytest.raises(DesignFileError, match=r"^<dict>: \[prior\] unknown key `alpha`"):
        prior_from_dict({"alpha": 1})


def test_design_file_error_is_a_value_error():
    assert issubclass(DesignFileError, DesignError)
    assert issubclass(DesignFileError, ValueError)


@pytest.mark.parametrize("name", ["frontline v2.1", "post-IO [2L] \"cohort\"", "a.b = c", "é # x"])
def test_names_with_spaces_dots_and_quotes_round_trip(name, tmp_path):
    """tomli-w quotes keys and escapes strings where needed (the old writer broke on these)."""
    from adaptive2.io.design_files import save_any
    from adaptive2.model.cohorts import CohortDesign
    from adaptive2.model.hierarchical import Cohort, Model
    from adaptive2.model.rules import PosteriorProbability as PP

    single = Design(name=name, prior=Beta(1, 1), looks=(10, 20), final=PP(0.2, 0.9),
                    title=name, notes=f"{name}\nsecond line")
    assert load_any(save_any(single, tmp_path / "s.toml")) == single
    cohorts = (Cohort(name, 0.2, 0.4, (10, 20)), Cohort("other cohort", 0.1, 0.3, (10, 20)))
    multi = CohortDesign(name=name, model=Model(kind="hierarchical"), cohorts=cohorts,
                         final={name: PP(0.2, 0.9), "other cohort": PP(0.1, 0.9)})
    back = load_any(save_any(multi, tmp_path / "m.toml"))
    assert back == multi and back.names == [name, "other cohort"]
