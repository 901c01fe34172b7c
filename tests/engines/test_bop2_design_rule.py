"""BOP2's joint efficacy-toxicity rule as a design: ``[toxicity] rule = "bop2"``.

The design form (a BOP2 futility and final rule, and a toxicity monitor sharing their
cut-off 1 - λ (n/N)^γ) is evaluated by the general joint engine (kernels.joint, via
``oc_toxicity``); the reference is the BOP2 engine's own dynamic programme over the
Dirichlet-multinomial boundary tables (kernels.bop2_joint, via ``bop2_efftox``), which
reproduces Zhou, Lee & Yuan (2017): its λ, γ for the paper's example are
multibrasBOP2's stated (0.625, 0.98), and its boundaries the paper's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _cli import run, run_json
from adaptive2 import Beta, Design
from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.engines.bop2_efftox import bop2_efftox, calibrate_efftox_design, efftox_oc
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.io.design_files import design_from_dict, design_to_dict, dumps_toml, load_design
from adaptive2.model.rules import BOP2
from adaptive2.model.toxicity import ToxicityMonitor

LOOKS = (10, 15, 20, 25, 30, 35, 40)
TABLE = {
    "name": "zly-efftox",
    "prior": {"beta": [0.45, 0.55]},
    "cohort": {"p0": 0.45, "p1": 0.60, "looks": list(LOOKS)},
    "futility": {"rule": "bop2", "lambda": 0.7, "gamma": 1.0},
    "final": {"rule": "bop2", "lambda": 0.7},
    "toxicity": {"event": "toxicity", "limit": 0.30, "acceptable": 0.20, "rule": "bop2"},
}


def _design(**changes) -> Design:
    table = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TABLE.items()}
    for key, value in changes.items():
        table[key] = value
    return design_from_dict(table)


def test_the_file_form_has_the_papers_boundaries():
    """Zhou, Lee & Yuan (2017), λ = 0.7, γ = 1: futility ≤ 3, 5, 8, ...; toxicity ≥ 5, ..., 11."""
    d = _design()
    assert d.toxicity.lambda_ == 0.7 and d.toxicity.gamma == 1.0  # shared with futility
    assert d.toxicity.prior == (0.3, 0.7)  # BOP2's Beta(φ_T, 1 - φ_T)
    assert list(d.boundaries().futility_max_r[:-1]) == [3, 5, 8, 10, 13, 16]
    assert list(d.toxicity.boundaries()) == [5, 6, 7, 8, 9, 10, 11]


@pytest.mark.parametrize("psi", [1.0, 0.5, 3.0])
def test_design_form_oc_equal_the_bop2_engine(psi):
    d = _design()
    res = bop2_efftox(0.45, 0.30, LOOKS, (0.6, 0.2), odds_ratio=psi, grid=([0.7], [1.0]))
    ref = efftox_oc(res, {"a": (0.45, 0.30), "b": (0.6, 0.2), "c": (0.6, 0.45),
                          "d": (0.3, 0.1)}, odds_ratio=psi)
    rows = [(0.45, 0.30), (0.6, 0.2), (0.6, 0.45), (0.3, 0.1)]
    for i, (p, q) in enumerate(rows):
        ds = oc_toxicity(d, [p], tox=q, odds_ratio=psi)
        assert abs(float(ds["p_efficacy"].item()) - float(ref["p_declare"].values[i])) < 1e-12
        assert abs(float(ds["expected_n"].item()) - float(ref["expected_n"].values[i])) < 1e-10
        # a No-Go for toxicity alone or for both: the design form counts toxicity first
        tox = float(ref["p_toxicity"].values[i] + ref["p_both"].values[i])
        assert abs(float(ds["p_stop_toxicity"].item()) - tox) < 1e-12


def test_joint_calibration_returns_the_papers_lambda_gamma():
    new, res = calibrate_efftox_design(_design(), 0.10)
    assert (res.lambda_, res.gamma) == (0.625, 0.98)
    assert new.futility.lambda_ == new.final.lambda_ == new.toxicity.lambda_ == 0.625
    assert new.futility.gamma == new.toxicity.gamma == 0.98
    ds = oc_toxicity(new, [0.45, 0.60], tox=[0.30, 0.20])
    np.testing.assert_allclose(ds["p_efficacy"].values[[0, 3]], [res.alpha, res.power],
                               atol=1e-12)
    assert res.alpha <= 0.10


def test_round_trip_writes_no_lambda_in_the_toxicity_table():
    d = _design()
    table = design_to_dict(d)
    assert "lambda" not in table["toxicity"] and "gamma" not in table["toxicity"]
    again = design_from_dict(table)
    assert again.toxicity == d.toxicity and again.hash == d.hash


@pytest.mark.parametrize(("changes", "message"), [
    ({"futility": {"rule": "posterior", "cutoff": 0.1}},
     "whose cut-off 1 - lambda (n/N)^gamma is shared with a BOP2 futility rule"),
    ({"toxicity": {**TABLE["toxicity"], "cutoff": 0.9}},
     "`cutoff` is not read by rule 'bop2' (only by 'posterior')"),
    ({"toxicity": {**TABLE["toxicity"], "lambda": 0.9}}, "`lambda`"),
    ({"toxicity": {**TABLE["toxicity"], "monitor": [10, 20, 30]}}, "must end at the maximum N"),
])
def test_bad_bop2_tables_name_the_key(changes, message):
    with pytest.raises((DesignError, DesignFileError)) as err:
        _design(**changes)
    assert message in str(err.value)


def test_python_api_mismatched_lambda_is_refused():
    m = ToxicityMonitor(event="t", limit=0.3, acceptable=0.2, rule="bop2", lambda_=0.8,
                        gamma=1.0, monitor=LOOKS)
    with pytest.raises(DesignError, match=r"must be its lambda 0\.7 and gamma 1"):
        Design(name="x", prior=Beta(0.45, 0.55), looks=LOOKS, p0=0.45, p1=0.6,
               futility=BOP2(p0=0.45, lambda_=0.7, gamma=1.0), final=BOP2(p0=0.45, lambda_=0.7),
               toxicity=m)


def test_multi_cohort_bop2_toxicity_is_refused():
    from adaptive2.model.cohorts import CohortDesign
    from adaptive2.model.hierarchical import Cohort, Model
    from adaptive2.model.rules import PosteriorProbability

    m = ToxicityMonitor(event="t", limit=0.3, acceptable=0.2, rule="bop2", monitor=(5, 10))
    with pytest.raises(DesignError, match=r"rule 'bop2'.*is for single-cohort designs"):
        CohortDesign(name="two", model=Model(kind="independent"),
                     cohorts=(Cohort("a", 0.2, 0.4, (5, 10)), Cohort("b", 0.1, 0.3, (5, 10))),
                     final=PosteriorProbability(p0=0.2, cutoff=0.9), toxicity=m)


def test_cli_calibrate_toxicity_calibrates_lambda_gamma_jointly(capsys, tmp_path: Path):
    path = tmp_path / "zly.toml"
    path.write_text(dumps_toml(TABLE), encoding="utf-8")
    out = tmp_path / "cal.toml"
    got = run_json(capsys, "calibrate", str(path), "--toxicity", "--alpha", "0.1",
                   "--write", str(out))
    assert (got["lambda"], got["gamma"]) == (0.625, 0.98)
    written = load_design(out)
    assert (written.futility.lambda_, written.toxicity.gamma) == (0.625, 0.98)
    code, _, err = run(capsys, "calibrate", str(path), "--toxicity", "--target", "0.1")
    assert code == 2 and "--target" in err
