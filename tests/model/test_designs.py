"""Design: validation, integer boundaries against brute force, protocol text, identity."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import mpmath
import pytest

import adaptive2 as a2
from adaptive2._base.errors import DesignError
from adaptive2.io.design_files import load_design
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec, as_mixture
from adaptive2.model.rules import (
    BOP2,
    Boundary,
    DualCriterion,
    PosteriorProbability,
    PredictiveProbability,
)

from _shipped import SINGLE_COHORT

DESIGNS_DIR = Path(__file__).resolve().parents[2] / "designs"
mpmath.mp.dps = 30


SIMON = Design(
    name="simon", title="Simon optimal two-stage 7/18, 22/46", prior=Beta(1, 1), looks=(18, 46),
    futility=Boundary(r=(7,)), final=Boundary(r=(22,)), p0=0.4, p1=0.6,
)
PP = Design(
    name="frontline-pp",
    title="Frontline: predictive-probability futility at 15 and 25, final at 40",
    prior=PriorSpec(base=Beta(0.5, 0.5), historical=(16, 20), power=0.5,
                    robust=(0.5, 0.5, 1.0)),
    looks=(15, 25, 40),
    futility=PredictiveProbability(threshold=0.05),
    final=PosteriorProbability(p0=0.4, cutoff=0.95),
    p0=0.4,
    p1=0.6,
)


def _demo(**changes) -> Design:
    """Hand-checkable: Beta(1, 1), P(p > 0.2 | r of n) = P(Bin(n + 1, 0.2) <= r)."""
    kwargs = dict(
        name="demo",
        prior=Beta(1, 1),
        looks=(10, 20),
        futility=PosteriorProbability(p0=0.2, cutoff=0.3),
        efficacy=PosteriorProbability(p0=0.2, cutoff=0.999),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
        p0=0.2,
        p1=0.4,
    )
    kwargs.update(changes)
    return Design(**kwargs)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------
def test_looks_must_increase():
    with pytest.raises(DesignError, match=r"`looks` of Design must be strictly increasing.*"
                                          r"got \[20, 10\]"):
        _demo(looks=(20, 10))
    with pytest.raises(DesignError, match=r"`looks` of Design"):
        _demo(looks=(10, 10))
    with pytest.raises(DesignError, match=r"`looks` of Design"):
        _demo(looks=(0, 10))
    with pytest.raises(DesignError, match=r"`looks` of Design"):
        _demo(looks=())


def test_interim_rule_needs_two_looks():
    with pytest.raises(DesignError, match=r"`futility` of Design 'demo' needs at least two looks"):
        _demo(looks=(20,), efficacy=None)
    with pytest.raises(DesignError, match=r"`efficacy` of Design 'demo' needs at least two looks"):
        _demo(looks=(20,), futility=None)
    # no interim rule: a single look is fine
    d = _demo(looks=(20,), futility=None, efficacy=None)
    assert d.n_looks == 1 and d.n_max == 20


def test_boundary_rule_length_must_match_interim_looks():
    with pytest.raises(DesignError, match=r"`futility.r` of Design 'demo' must have one entry "
                                          r"per interim look \(2\); got \[1\]"):
        _demo(looks=(10, 20, 30), futility=Boundary(r=(1,)), efficacy=None)
    with pytest.raises(DesignError, match=r"`efficacy.r` of Design 'demo'.*\(1\); got \[8, 9\]"):
        _demo(efficacy=Boundary(r=(8, 9)))
    with pytest.raises(DesignError, match=r"`final.r` of Design must be a single response count"):
        _demo(final=Boundary(r=(5, 6)))


def test_predictive_rule_cannot_be_final():
    with pytest.raises(DesignError, match=r"`final` of Design must be a posterior, bop2, "
                                          r"boundary or dual rule; got 'predictive'"):
        _demo(final=PredictiveProbability(threshold=0.1))


def test_other_fields_are_validated():
    with pytest.raises(DesignError, match=r"`name` of Design"):
        _demo(name=" ")
    with pytest.raises(DesignError, match=r"`prior` of Design"):
        _demo(prior=(1, 1))
    with pytest.raises(DesignError, match=r"`p0` of Design must be a probability in \(0, 1\)"):
        _demo(p0=1.5)
    with pytest.raises(DesignError, match=r"`p1` of Design"):
        _demo(p1=0.0)
    with pytest.raises(DesignError, match=r"`scenarios` of Design .*got 1.2"):
        _demo(scenarios=(0.2, 1.2))
    with pytest.raises(DesignError, match=r"`futility` of Design must be a rule or None"):
        _demo(futility="posterior")


def test_overlapping_futility_and_efficacy_names_the_look():
    # futility stops when P(p > 0.2) <= 0.9, efficacy when P(p > 0.2) > 0.5: overlap.
    with pytest.raises(DesignError, match=r"Design 'demo': at look 1 \(n = 10\) the futility "
                                          r"and efficacy regions overlap"):
        _demo(
            futility=PosteriorProbability(p0=0.2, cutoff=0.9),
            efficacy=PosteriorProbability(p0=0.2, cutoff=0.5),
        ).boundaries()


def test_non_monotone_rule_names_the_look():
    # The shipped rules are monotone in r; a hand-made rule checks the error path.
    class Zigzag(PredictiveProbability):
        __slots__ = ()

        def evaluate(self, slot, look):
            import numpy as np

            out = np.zeros(look.n + 1, dtype=bool)
            out[[0, 2]] = True
            return out

    # Designs validate on construction, so the error comes from the constructor.
    with pytest.raises(DesignError, match=r"futility rule is not monotone in r at look 1 "
                                          r"\(n = 10\); it acts at r = \[0, 2\]"):
        _demo(futility=Zigzag(threshold=0.1), efficacy=None)


# ---------------------------------------------------------------------------
# Boundaries against brute force of the rules themselves (mpmath)
# ---------------------------------------------------------------------------
def _post_weights(prior, r, n):
    mix = as_mixture(prior)
    terms = [
        mpmath.mpf(w) * mpmath.beta(a + r, b + n - r) / mpmath.beta(a, b)
        for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)
    ]
    total = mpmath.fsum(terms)
    return [
        (t / total, mpmath.mpf(a) + r, mpmath.mpf(b) + n - r)
        for t, a, b in zip(terms, mix.a, mix.b, strict=True)
    ]


def _tail(prior, r, n, thr):
    """P(p > thr | r of n), mixture posterior, mpmath."""
    return mpmath.fsum(
        w * mpmath.betainc(a, b, thr, 1, regularized=True) for w, a, b in _post_weights(prior, r, n)
    )


def _pp(prior, r, n, n_max, s):
    """P(R_final >= s | r of n) by summing the beta-binomial predictive."""
    m = n_max - n
    total = mpmath.mpf(0)
    for w, a, b in _post_weights(prior, r, n):
        for k in range(max(s - r, 0), m + 1):
            total += w * mpmath.binomial(m, k) * mpmath.beta(a + k, b + m - k) / mpmath.beta(a, b)
    return total


def _fires(rule, slot, prior, r, n, n_max, s):
    """Brute-force decision of ``rule`` in ``slot`` for one r (no vectorisation)."""
    if isinstance(rule, PosteriorProbability):
        stat = _tail(prior, r, n, mpmath.mpf(rule.p0) + mpmath.mpf(rule.delta))
        gap = abs(stat - rule.cutoff)
        assert gap > 1e-9, "tie with the cutoff: pick another test design"
        return stat <= rule.cutoff if slot == "futility" else stat > rule.cutoff
    if isinstance(rule, PredictiveProbability):
        stat = _pp(prior, r, n, n_max, s)
        assert abs(stat - rule.threshold) > 1e-9
        return stat < rule.threshold if slot == "futility" else stat > rule.threshold
    if isinstance(rule, BOP2):
        stat = _tail(prior, r, n, mpmath.mpf(rule.p0))
        t = mpmath.mpf(n) / n_max
        if slot == "futility":
            cut = rule.lambda_ * t**rule.gamma
            assert abs(stat - cut) > 1e-9
            return stat < cut
        if slot == "efficacy":
            cut = 1 - (1 - rule.lambda_) * t**rule.eta
            assert abs(stat - cut) > 1e-9
            return stat >= cut
        assert abs(stat - rule.lambda_) > 1e-9
        return stat > rule.lambda_
    if isinstance(rule, DualCriterion):
        sig = _tail(prior, r, n, rule.lrv) > rule.lrv_cutoff
        rel = _tail(prior, r, n, rule.tv) > rule.tv_cutoff
        return (not sig and not rel) if slot == "futility" else (sig and rel)
    raise TypeError(rule)


def _brute_boundaries(design: Design) -> Boundaries:
    prior, looks = design.prior, design.looks
    n_max = looks[-1]
    success = [r for r in range(n_max + 1)
               if _fires(design.final, "final", prior, r, n_max, n_max, None)]
    s = min(success) if success else n_max + 1
    assert success == list(range(s, n_max + 1)), "final rule not monotone"
    fut, eff = [], []
    for n in looks[:-1]:
        a = b = None
        if design.futility is not None:
            stop = [r for r in range(n + 1)
                    if _fires(design.futility, "futility", prior, r, n, n_max, s)]
            assert stop == list(range(len(stop)))
            a = max(stop) if stop else None
        if design.efficacy is not None:
            stop = [r for r in range(n + 1)
                    if _fires(design.efficacy, "efficacy", prior, r, n, n_max, s)]
            assert stop == list(range(n + 1 - len(stop), n + 1))
            b = min(stop) if stop else None
        fut.append(a)
        eff.append(b)
    if isinstance(design.final, DualCriterion):
        nogo = [r for r in range(n_max + 1)
                if _fires(design.final, "futility", prior, r, n_max, n_max, None)]
        fut.append(max(nogo) if nogo else None)
    else:
        fut.append(s - 1 if s > 0 else None)
    eff.append(s if s <= n_max else None)
    return Boundaries(tuple(looks), tuple(fut), tuple(eff),
                      dual=isinstance(design.final, DualCriterion))


def test_boundaries_hand_checked():
    # P(p > 0.2 | r of 10) = P(Bin(11, 0.2) <= r): 0.0859 (r=0), 0.3221 (r=1) -> futility r <= 0;
    # 0.99803 (r=6), 0.99976 (r=7) -> efficacy r >= 7 at cutoff 0.999.
    # P(p > 0.2 | r of 20) = P(Bin(21, 0.2) <= r): 0.8915 (r=6), 0.9569 (r=7) -> success r >= 7.
    bnd = _demo().boundaries()
    assert bnd == Boundaries((10, 20), (0, 6), (7, 7), dual=False)
    assert bnd == _brute_boundaries(_demo())


BRUTE_FORCE_DESIGNS = {
    "posterior-3-looks": _demo(
        looks=(10, 20, 30),
        futility=PosteriorProbability(p0=0.2, cutoff=0.2),
        efficacy=PosteriorProbability(p0=0.2, cutoff=0.995),
    ),
    "posterior-delta-jeffreys": Design(
        name="delta",
        prior=Beta(0.5, 0.5),
        looks=(12, 24),
        futility=PosteriorProbability(p0=0.3, cutoff=0.1, delta=0.1),
        final=PosteriorProbability(p0=0.3, cutoff=0.8, delta=0.05),
    ),
    "predictive-doc-example": Design(
        name="pp",
        prior=Beta(1, 1),
        looks=(10, 20),
        futility=PredictiveProbability(threshold=0.05),
        final=PosteriorProbability(p0=0.2, cutoff=0.9),
    ),
    "predictive-robust-mixture": Design(
        name="pp-mix",
        prior=PriorSpec(historical=(16, 20), power=0.5, robust=(0.5, 0.5, 1.0)),
        looks=(15, 25, 40),
        futility=PredictiveProbability(threshold=0.05),
        efficacy=PredictiveProbability(threshold=0.99),
        final=PosteriorProbability(p0=0.4, cutoff=0.95),
    ),
    "bop2-fe": Design(
        name="bop2",
        prior=Beta(0.4, 0.6),
        looks=(15, 25, 40),
        futility=BOP2(p0=0.4, lambda_=0.9, gamma=1.0),
        efficacy=BOP2(p0=0.4, lambda_=0.9, eta=1.0),
        final=BOP2(p0=0.4, lambda_=0.9),
    ),
    "dual": Design(
        name="dual",
        prior=BetaMixture((0.7, 0.3), (3, 1), (7, 1)),
        looks=(10, 20, 30),
        futility=DualCriterion(lrv=0.2, tv=0.35, lrv_cutoff=0.9, tv_cutoff=0.5),
        final=DualCriterion(lrv=0.2, tv=0.35, lrv_cutoff=0.9, tv_cutoff=0.5),
    ),
}


@pytest.mark.parametrize("key", sorted(BRUTE_FORCE_DESIGNS))
def test_boundaries_match_brute_force(key):
    design = BRUTE_FORCE_DESIGNS[key]
    assert design.boundaries() == _brute_boundaries(design)


def test_predictive_doc_example_values():
    # final: P(Bin(21, 0.2) <= r) = 0.8915 (r=6), 0.9569 (r=7) -> success iff r >= 7
    bnd = BRUTE_FORCE_DESIGNS["predictive-doc-example"].boundaries()
    assert bnd.futility_max_r == (1, 6)
    assert bnd.efficacy_min_r == (None, 7)


def test_boundary_rule_boundaries():
    d = SIMON
    bnd = d.boundaries()
    # Simon 7/18, 22/46: stop if <= 7 of 18; efficacy if > 22 of 46.
    assert bnd.looks == (18, 46)
    assert bnd.futility_max_r == (7, 22)
    assert bnd.efficacy_min_r == (None, 23)
    assert bnd.dual is False
    n, a, b = bnd.arrays()
    assert n.tolist() == [18, 46] and a.tolist() == [7, 22] and b.tolist() == [19, 23]


def test_boundaries_are_monotone_for_shipped_designs():
    for path in SINGLE_COHORT:
        bnd = load_design(path).boundaries()
        fut = [-1 if x is None else x for x in bnd.futility_max_r]
        assert fut == sorted(fut), path.name
        for a, b, n in zip(bnd.futility_max_r, bnd.efficacy_min_r, bnd.looks, strict=True):
            assert a is None or 0 <= a <= n
            assert b is None or 0 <= b <= n
            if a is not None and b is not None:
                assert a < b


# ---------------------------------------------------------------------------
# Protocol text and records
# ---------------------------------------------------------------------------
def test_to_frame_protocol_text():
    bnd = SIMON.boundaries()
    df = bnd.to_frame()
    assert list(df.columns) == ["n", "futility_max_r", "efficacy_min_r", "rule"]
    assert list(df.index) == [1, 2]
    assert df.loc[1, "rule"] == (
        "stop for futility if <= 7 responses among the first 18 evaluable patients"
    )
    assert df.loc[2, "rule"] == (
        "declare efficacy if >= 23 responses among the first 46 evaluable patients"
    )
    assert "stop for futility if <= 7 responses among the first 18 evaluable patients" in str(bnd)


def test_to_frame_protocol_text_with_efficacy_and_dual():
    bnd = _demo().boundaries()
    assert bnd.to_frame().loc[1, "rule"] == (
        "stop for futility if <= 0; stop for efficacy if >= 7 responses among the first 10 "
        "evaluable patients"
    )
    dual = BRUTE_FORCE_DESIGNS["dual"].boundaries()
    assert dual.dual is True
    text = dual.to_frame().loc[3, "rule"]
    assert text.startswith("Go if >= ")
    assert "No-Go if <= " in text
    assert text.endswith("responses among the first 30 evaluable patients")


def test_to_records():
    recs = PP.boundaries().to_records()
    assert [set(r) for r in recs] == [{"look", "n", "futility_max_r", "efficacy_min_r"}] * 3
    assert [r["look"] for r in recs] == [1, 2, 3]
    assert [r["n"] for r in recs] == [15, 25, 40]
    assert recs[0]["efficacy_min_r"] is None and recs[1]["efficacy_min_r"] is None


# ---------------------------------------------------------------------------
# replace, hash, pickle, describe
# ---------------------------------------------------------------------------
def test_replace_revalidates_and_changes_hash():
    d = _demo()
    with pytest.raises(DesignError, match=r"`looks` of Design"):
        d.replace(looks=(20, 10))
    with pytest.raises(DesignError, match=r"`cutoff` of PosteriorProbability must be a "
                                          r"probability in \(0, 1\); got 1.2"):
        d.replace(final=d.final.replace(cutoff=1.2))
    d2 = d.replace(final=d.final.replace(cutoff=0.95))
    assert d2 != d
    assert d2.hash != d.hash
    assert d2.final.cutoff == 0.95 and d.final.cutoff == 0.9
    assert d.replace().hash == d.hash
    assert d.replace() == d


def test_replace_prior_keeps_or_drops_spec():
    d = PP
    assert d.replace(name="other").prior_spec == d.prior_spec
    d2 = d.replace(prior=Beta(2, 3))
    assert d2.prior == Beta(2, 3)
    # a prior given directly becomes its own specification (so design files round-trip)
    assert d2.prior_spec == PriorSpec(beta=Beta(2, 3))
    assert d2.hash != d.hash
    spec = PriorSpec(beta=Beta(2, 3))
    d3 = d.replace(prior=spec)
    assert d3.prior == Beta(2, 3) and d3.prior_spec == spec


def test_design_is_frozen_hashable_picklable():
    for d in (_demo(), *(load_design(p) for p in SINGLE_COHORT)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            d.name = "x"  # type: ignore[misc]
        back = pickle.loads(pickle.dumps(d))
        assert back == d
        assert hash(back) == hash(d)
        assert back.hash == d.hash
        assert back.boundaries() == d.boundaries()
        assert len({d, back}) == 1
    bnd = _demo().boundaries()
    assert pickle.loads(pickle.dumps(bnd)) == bnd
    assert hash(bnd) == hash(pickle.loads(pickle.dumps(bnd)))


def test_equal_designs_hash_equal():
    a, b = _demo(), _demo()
    assert a is not b and a == b and hash(a) == hash(b) and a.hash == b.hash
    assert len(a.hash) == 64 and int(a.hash, 16) >= 0
    for path in SINGLE_COHORT:
        d1, d2 = load_design(path), load_design(path)
        assert d1 == d2 and hash(d1) == hash(d2) and d1.hash == d2.hash


def test_describe_mentions_the_rules():
    text = PP.describe()
    assert text.splitlines()[0] == (
        "Design frontline-pp: Frontline: predictive-probability futility at 15 and 25, "
        "final at 40"
    )
    assert "looks (cumulative evaluable patients): 15, 25, 40" in text
    assert "futility (interim): stop for futility if PP(final success) < 0.05" in text
    assert "final: success if P(p > 0.4 | data) > 0.95" in text
    assert "historical 16/20" in text and "a0 = 0.5" in text
    demo = _demo().describe()
    assert "futility (interim): stop for futility if P(p > 0.2 | data) <= 0.3" in demo
    assert "efficacy (interim): stop for efficacy if P(p > 0.2 | data) > 0.999" in demo
    assert "final: success if P(p > 0.2 | data) > 0.9" in demo
    assert str(_demo()) == demo
    simon = SIMON.describe()
    assert "stop for futility if responses <= r = (7) at the interim looks" in simon
    assert "final: success if responses > 22" in simon


def test_repr_html_escapes_user_text():
    html = a2.html_card(_demo(name="<b>x</b>").replace(title="a & b"))
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "a &amp; b" in html


# ---------------------------------------------------------------------------
# Coherence of interim stops with the final analysis
# ---------------------------------------------------------------------------
def test_incoherent_futility_stop_is_reported_and_warned():
    from adaptive2._base.errors import StatisticalWarning

    with pytest.warns(StatisticalWarning, match=r"look 1 \(n = 20\): futility stops at r <= 12"):
        d = Design(name="inc", prior=Beta(1, 1), looks=(20, 30),
                   futility=Boundary(r=(12,)), final=Boundary(r=(10,)))
    # r = 11 or 12 at n = 20 already guarantees success (> 10 of 30) whatever follows
    assert d.boundaries().incoherences() == [
        "look 1 (n = 20): futility stops at r <= 12, but r >= 11 already guarantees final success"
    ]


def test_incoherent_efficacy_stop_is_reported():
    from adaptive2._base.errors import StatisticalWarning

    # efficacy at r >= 3 of 10, but success needs >= 26 of 30: from r = 3 at most 23
    with pytest.warns(StatisticalWarning, match="out of reach"):
        d = Design(name="inc-eff", prior=Beta(1, 1), looks=(10, 30),
                   efficacy=Boundary(r=(2,)), final=Boundary(r=(25,)))
    assert d.boundaries().incoherences() == [
        "look 1 (n = 10): efficacy stops at r >= 3, but the final analysis needs 26 "
        "responses, out of reach from r = 3"
    ]
    # with success at >= 23 of 30, r = 3 can still reach it (3 + 20): coherent
    ok = Design(name="ok-eff", prior=Beta(1, 1), looks=(10, 30),
                efficacy=Boundary(r=(2,)), final=Boundary(r=(22,)))
    assert ok.boundaries().incoherences() == []


def test_shipped_designs_are_coherent():
    for path in SINGLE_COHORT:
        assert load_design(path).boundaries().incoherences() == [], path.name
