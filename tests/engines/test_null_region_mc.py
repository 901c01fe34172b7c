"""The null region by simulation (designs beyond the exact lattice), against the exact search.

On the shipped two-cohort BHM design the exact supremum is known (engines.null_region, itself
checked against brute-force grids): the simulated worst case is a lower bound up to Monte
Carlo error, and close to it (a design of 66 points per cohort).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptive2._base.errors import DesignError
from adaptive2.engines.null_region import null_region
from adaptive2.engines.null_region_mc import null_region_simulated
from adaptive2.io.design_files import load_design

ROOT = Path(__file__).resolve().parents[2]
BHM = ROOT / "designs" / "two-cohort-bhm.toml"


@pytest.fixture(scope="module")
def design():
    return load_design(BHM)


@pytest.fixture(scope="module")
def exact(design):
    return null_region(design, fwer=False)


@pytest.fixture(scope="module")
def simulated(design):
    return null_region_simulated(design, seed=1)


def test_simulated_worst_case_brackets_the_exact_supremum(design, exact, simulated):
    for name, sim in simulated.cohorts.items():
        sup = exact.cohorts[name].max_type1
        assert sim.max_type1 <= sup + 3 * sim.mcse, (name, sim, sup)
        assert sim.max_type1 >= sup - 0.01 - 3 * sim.mcse, (name, sim, sup)
        assert sim.argmax[name] == design.cohorts[design.names.index(name)].p0
        lo, hi = design.range_of(name)
        assert all(lo <= v <= hi for k, v in sim.argmax.items() if k != name)
        assert 0 < sim.mcse < 0.005


def test_a_seed_gives_the_same_search(design):
    one = null_region_simulated(design, points=8, n_sims=300, confirm_sims=1_000, seed=7)
    two = null_region_simulated(design, points=8, n_sims=300, confirm_sims=1_000, seed=7)
    assert one.cohorts == two.cohorts
    assert one.to_dict()["seed_entropy"] == "7"


@pytest.mark.parametrize(("kw", "field"), [({"points": 0}, "points"), ({"n_sims": 0}, "n_sims"),
                                           ({"confirm_sims": -1}, "confirm_sims")])
def test_bad_arguments_name_the_field(design, kw, field):
    with pytest.raises(DesignError, match=field):
        null_region_simulated(design, **kw)
