"""Common checks (scikit-learn style) over every public value class.

Each class must be frozen, hashable and picklable; two objects built from the same
arguments compare (and hash) equal; every validated field rejects a bad value with a
DesignError whose message names that field; ``Design.hash`` identifies a design.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest

from adaptive2._base.errors import DesignError
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.priors import Beta, BetaMixture, Conflict, PriorSpec, conflict
from adaptive2.model.rules import (
    BOP2,
    Boundary,
    DualCriterion,
    PosteriorProbability,
    PredictiveProbability,
)
from adaptive2.model.scenarios import Scenario


def _design(**changes: Any) -> Design:
    kwargs: dict[str, Any] = {
        "name": "frontline-pp",
        "prior": PriorSpec(historical=(16, 20), power=0.5, robust=(0.5, 0.5, 1.0),
                           source="phase 1 frontline"),
        "looks": (15, 25, 40),
        "futility": PredictiveProbability(threshold=0.05),
        "efficacy": PosteriorProbability(p0=0.4, cutoff=0.995),
        "final": PosteriorProbability(p0=0.4, cutoff=0.9),
        "title": "Frontline: predictive-probability futility, 3 looks",
        "p0": 0.4,
        "p1": 0.6,
        "scenarios": (0.3, 0.4, 0.5, 0.6, 0.7),
        "notes": "illustrative planning values",
    }
    kwargs.update(changes)
    return Design(**kwargs)


# (name, factory, a different object of the same class)
FACTORIES: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
    ("Beta", lambda: Beta(16.5, 4.5), lambda: Beta(16.5, 4.0)),
    (
        "BetaMixture",
        lambda: BetaMixture((0.8, 0.2), (16.5, 1.0), (4.5, 1.0)),
        lambda: BetaMixture((0.7, 0.3), (16.5, 1.0), (4.5, 1.0)),
    ),
    (
        "BetaMixture-from-lists",
        lambda: BetaMixture([0.8, 0.2], [16.5, 1], [4.5, 1]),
        lambda: BetaMixture([0.8, 0.2], [16.5, 2], [4.5, 1]),
    ),
    (
        "PriorSpec",
        lambda: PriorSpec(historical=(16, 20), power=0.5, robust=(0.5, 0.5, 1.0), source="p1"),
        lambda: PriorSpec(historical=(16, 20), power=0.6, robust=(0.5, 0.5, 1.0), source="p1"),
    ),
    ("PriorSpec-beta", lambda: PriorSpec(beta=Beta(2, 3)), lambda: PriorSpec(beta=Beta(3, 2))),
    (
        "PosteriorProbability",
        lambda: PosteriorProbability(p0=0.2, cutoff=0.9),
        lambda: PosteriorProbability(p0=0.2, cutoff=0.95),
    ),
    (
        "PosteriorProbability-uncertain",
        lambda: PosteriorProbability(p0=Beta(15, 35), cutoff=0.9, delta=0.1),
        lambda: PosteriorProbability(p0=Beta(15, 36), cutoff=0.9, delta=0.1),
    ),
    (
        "PredictiveProbability",
        lambda: PredictiveProbability(threshold=0.05),
        lambda: PredictiveProbability(threshold=0.1),
    ),
    (
        "BOP2",
        lambda: BOP2(p0=0.2, lambda_=0.9, gamma=1.0, eta=0.5),
        lambda: BOP2(p0=0.2, lambda_=0.9, gamma=1.0, eta=0.6),
    ),
    ("Boundary", lambda: Boundary(r=(1, 4)), lambda: Boundary(r=(1, 5))),
    (
        "DualCriterion",
        lambda: DualCriterion(lrv=0.3, tv=0.5, lrv_cutoff=0.9, tv_cutoff=0.5),
        lambda: DualCriterion(lrv=0.3, tv=0.5, lrv_cutoff=0.8, tv_cutoff=0.5),
    ),
    ("Design", _design, lambda: _design(final=PosteriorProbability(p0=0.4, cutoff=0.95))),
    (
        "Design-plain-prior",
        lambda: _design(prior=Beta(8.5, 2.5)),
        lambda: _design(prior=Beta(8.5, 3.5)),
    ),
    ("Scenario", lambda: Scenario("null", 0.4, role="null"), lambda: Scenario("null", 0.45)),
    (
        "Boundaries",
        lambda: Boundaries((15, 25, 40), (4, 9, 19), (11, 16, 20)),
        lambda: Boundaries((15, 25, 40), (4, 9, 19), (11, 16, 21)),
    ),
    ("Conflict", lambda: conflict(Beta(16.5, 4.5), 3, 20), lambda: conflict(Beta(1, 1), 3, 20)),
]
IDS = [f[0] for f in FACTORIES]


@pytest.mark.parametrize(("name", "make", "other"), FACTORIES, ids=IDS)
def test_is_frozen_dataclass(name: str, make, other) -> None:
    obj = make()
    assert dataclasses.is_dataclass(obj)
    first = dataclasses.fields(obj)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, first, getattr(obj, first))
    with pytest.raises((AttributeError, TypeError)):
        obj.__dict__  # noqa: B018  (slots: no instance dict to mutate)


@pytest.mark.parametrize(("name", "make", "other"), FACTORIES, ids=IDS)
def test_equal_objects_are_equal_and_hash_equal(name: str, make, other) -> None:
    a, b = make(), make()
    assert a is not b
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    c = other()
    assert a != c
    assert len({a, c}) == 2


@pytest.mark.parametrize(("name", "make", "other"), FACTORIES, ids=IDS)
def test_pickle_and_copy_round_trip(name: str, make, other) -> None:
    obj = make()
    for protocol in (0, pickle.HIGHEST_PROTOCOL):
        back = pickle.loads(pickle.dumps(obj, protocol=protocol))
        assert type(back) is type(obj)
        assert back == obj
        assert hash(back) == hash(obj)
    assert copy.deepcopy(obj) == obj
    assert copy.copy(obj) == obj


@pytest.mark.parametrize(("name", "make", "other"), FACTORIES, ids=IDS)
def test_repr_never_fails(name: str, make, other) -> None:
    assert repr(make())
    assert str(make())


def test_boundaries_and_conflict_are_exported_types() -> None:
    assert isinstance(_design().boundaries(), Boundaries)
    assert isinstance(conflict(Beta(1, 1), 1, 2), Conflict)


# ---------------------------------------------------------------------------
# Design.hash
# ---------------------------------------------------------------------------
def test_design_hash_equal_for_equal_designs() -> None:
    a, b = _design(), _design()
    assert a.hash == b.hash
    assert re.fullmatch(r"[0-9a-f]{64}", a.hash)
    assert pickle.loads(pickle.dumps(a)).hash == a.hash
    assert a.replace().hash == a.hash


@pytest.mark.parametrize(
    "change",
    [
        {"final": PosteriorProbability(p0=0.4, cutoff=0.95)},
        {"final": PosteriorProbability(p0=0.4, cutoff=0.9 + 1e-12)},
        {"futility": PredictiveProbability(threshold=0.1)},
        {"efficacy": None},
        {"looks": (15, 25, 41)},
        {"prior": PriorSpec(historical=(16, 20), power=0.6, robust=(0.5, 0.5, 1.0),
                            source="phase 1 frontline")},
        {"name": "frontline-pp-2"},
    ],
    ids=["cutoff", "cutoff-ulp", "threshold", "no-efficacy", "looks", "power", "name"],
)
def test_design_hash_changes_with_the_design(change: dict) -> None:
    assert _design(**change).hash != _design().hash


def test_design_replace_changes_hash_and_revalidates() -> None:
    base = _design()
    stricter = base.replace(final=base.final.replace(cutoff=0.975))
    assert stricter.hash != base.hash
    assert stricter.final.cutoff == 0.975
    with pytest.raises(DesignError, match="`looks`"):
        base.replace(looks=(25, 15, 40))


# ---------------------------------------------------------------------------
# Every validated field names itself
# ---------------------------------------------------------------------------
DESIGN_BAD = [
    ("name", ""),
    ("name", "   "),
    ("name", 3),
    ("prior", "Beta(1, 1)"),
    ("prior", None),
    ("looks", ()),
    ("looks", (25, 15, 40)),
    ("looks", (0, 10, 40)),
    ("looks", (15, 15, 40)),
    ("looks", (15.5, 25, 40)),
    ("looks", "15"),
    ("final", PredictiveProbability(threshold=0.1)),
    ("final", None),
    ("futility", "predictive"),
    ("efficacy", 0.99),
    ("p0", 1.5),
    ("p0", 0.0),
    ("p1", 1.0),
    ("p1", -0.1),
    ("scenarios", (0.3, 1.2)),
    ("scenarios", (-0.1,)),
    ("title", 3),
    ("notes", None),
]


@pytest.mark.parametrize(("field", "bad"), DESIGN_BAD, ids=[f"{f}={b!r}" for f, b in DESIGN_BAD])
def test_design_field_rejects_bad_value(field: str, bad: Any) -> None:
    with pytest.raises(DesignError, match=f"`{field}`"):
        _design(**{field: bad})


def test_design_rule_slot_constraints_name_the_slot() -> None:
    with pytest.raises(DesignError, match="`futility"):
        _design(futility=Boundary(r=(1,)))  # one entry per interim look (2 needed)
    with pytest.raises(DesignError, match="`futility`"):
        _design(looks=(40,), efficacy=None)  # interim rule without an interim look
    with pytest.raises(DesignError, match="`final"):
        _design(final=Boundary(r=(10, 12)))


SCENARIO_BAD = [("name", ""), ("name", None), ("p", 1.5), ("p", -0.1), ("p", float("nan")),
                ("role", "bogus"), ("role", None)]


@pytest.mark.parametrize(
    ("field", "bad"), SCENARIO_BAD, ids=[f"{f}={b!r}" for f, b in SCENARIO_BAD]
)
def test_scenario_field_rejects_bad_value(field: str, bad: Any) -> None:
    kwargs: dict[str, Any] = {"name": "null", "p": 0.2, "role": "null"}
    kwargs[field] = bad
    with pytest.raises(DesignError, match=f"`{field}` of Scenario"):
        Scenario(**kwargs)


PRIORSPEC_BAD = [
    ({"historical": (25, 20)}, "historical"),
    ({"historical": (16, 20, 3)}, "historical"),
    ({"historical": (16, 0)}, "historical"),
    ({"historical": (16, 20), "power": 1.5}, "power"),
    ({"historical": (16, 20), "power": -0.5}, "power"),
    ({"beta": Beta(1, 1), "robust": (1.5, 0.5, 1.0)}, "robust|weight"),
    ({"beta": Beta(1, 1), "robust": (0.5, 0.5)}, "robust"),
    ({"beta": Beta(1, 1), "mixture": BetaMixture((1.0,), (1,), (1,))}, "prior|beta|mixture"),
    ({"beta": (1, 1)}, "beta"),
    ({"base": "Beta(0.5, 0.5)"}, "base"),
    ({"mixture": ((0.5, 1, 1), (0.5, 2, 2))}, "mixture"),
    ({"beta": Beta(1, 1), "source": 3}, "source"),
]


@pytest.mark.parametrize(
    ("kwargs", "field"), PRIORSPEC_BAD, ids=[f"{k}" for k, _ in PRIORSPEC_BAD]
)
def test_priorspec_field_rejects_bad_value(kwargs: dict, field: str) -> None:
    with pytest.raises(DesignError, match=f"`({field})"):
        PriorSpec(**kwargs)


def test_priorspec_builds_the_documented_prior() -> None:
    spec = PriorSpec(historical=(16, 20), power=0.5, robust=(0.5, 0.5, 1.0))
    prior = spec.build()
    assert isinstance(prior, BetaMixture)
    assert prior.weights == pytest.approx((0.5, 0.5))
    assert prior.a == pytest.approx((8.5, 0.5))
    assert prior.b == pytest.approx((2.5, 0.5))
    assert _design().prior == prior
    assert _design().prior_spec == spec.__class__(
        historical=(16, 20), power=0.5, robust=(0.5, 0.5, 1.0), source="phase 1 frontline"
    )
