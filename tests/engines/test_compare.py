"""Designs side by side: labels, values equal to the engines, files, CLI."""

import json

import numpy as np
import pytest

from adaptive2._base.errors import DesignFileError
from adaptive2.cli import main
from adaptive2.engines.compare import compare
from adaptive2.engines.exact import oc
from adaptive2.io.design_files import load_design
from adaptive2.io.scenario_files import load_scenarios
from adaptive2.views.comparison import write_outputs

from _shipped import DESIGNS_DIR, MULTI_COHORT, SCENARIOS, SINGLE_COHORT


def test_scenario_file_roles_and_two_cohort_scenarios():
    grid = load_scenarios(SCENARIOS)
    front = grid.for_p0(0.4)
    assert [(s.p, s.role) for s in front] == [
        (0.3, "null"), (0.4, "null"), (0.48, "other"), (0.5, "other"), (0.6, "alternative"),
        (0.7, "alternative"), (0.8, "alternative")]
    assert grid.for_p0(0.25) is None
    assert {s.name for s in grid.multi} >= {"global null", "global alternative"}


def test_compare_values_are_the_exact_engine_and_labels_follow_roles():
    grid = load_scenarios(SCENARIOS)
    designs = [load_design(p) for p in SINGLE_COHORT]
    table = compare(designs, grid)
    for d in designs:
        rows = table[table.design == d.name]
        exact = oc(d, grid.for_p0(d.p0))
        np.testing.assert_allclose(rows.p_efficacy.values, exact["p_efficacy"].values, atol=0)
        np.testing.assert_allclose(rows.expected_n.values, exact["expected_n"].values, atol=0)
        assert (rows.max_n == d.n_max).all()
    null = table[table.role == "null"]
    assert (null.label == "type I error").all()
    assert (table[table.role == "alternative"].label == "power").all()
    # each single-cohort design's worst case over p <= p0 (the exact engine on a fine grid);
    # with a toxicity monitor the null region also leaves the toxicity rate free, and the
    # supremum is at a toxicity rate of 0, where the monitor never stops: the efficacy-only
    # design's worst case, which bounds every toxicity rate's type I error
    for d in designs:
        rows = table[table.design == d.name]
        grid_p = list(np.linspace(0.0, d.p0, 201))
        fine = oc(d.replace(toxicity=None), grid_p)["p_efficacy"].values.max()
        assert rows.max_type1.iloc[0] == pytest.approx(fine, abs=1e-12)
        if d.toxicity is not None:
            with_tox = oc(d, grid_p)["p_efficacy"].values
            assert with_tox.max() < fine and (with_tox <= fine + 1e-15).all()
        assert rows.max_fwer.isna().all()


def test_compare_shows_the_null_region_of_multi_cohort_designs():
    from adaptive2.engines.null_region import null_region
    from adaptive2.io.design_files import load_any

    grid = load_scenarios(SCENARIOS)
    d = load_any(MULTI_COHORT[0])
    table = compare([d], grid)
    nr = null_region(d)
    for c in d.names:
        rows = table[table.cohort == c]
        assert len(rows) == len(grid.multi)  # per-cohort power under every joint scenario
        assert (rows.max_type1 == nr.cohorts[c].max_type1).all()
        assert rows.max_type1_at.iloc[0].startswith("frontline=")
    assert (table.max_fwer == nr.max_fwer).all()
    assert (table.fwer_global_null == nr.fwer_global_null).all()


def test_write_outputs_round_trip(tmp_path):
    table = compare([load_design(SINGLE_COHORT[0])], load_scenarios(SCENARIOS))
    paths = write_outputs(table, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["compare.csv", "compare.json", "compare.md"]
    records = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert len(records) == len(table)
    assert records[0]["fwer"] is None  # NaN is written as null
    md = (tmp_path / "out" / "compare.md").read_text()
    assert md.startswith("| design |") and md.count("\n") == len(table) + 2


def test_bad_scenario_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("[frontline]\np0 = 0.4\nnul = [0.3]\n")
    with pytest.raises(DesignFileError, match="unknown key `nul`"):
        load_scenarios(f)


def test_cli_compare_skips_the_scenario_file_and_writes(tmp_path, capsys):
    files = [str(p) for p in SINGLE_COHORT] + [str(SCENARIOS)]
    rc = main(["compare", *files, "--scenarios", str(SCENARIOS), "--out", str(tmp_path),
               "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["design"] for r in rows} == {load_design(p).name for p in SINGLE_COHORT}
    assert (tmp_path / "compare.csv").exists()
    assert main(["compare", str(DESIGNS_DIR / "nope.toml")]) == 2
