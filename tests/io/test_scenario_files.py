"""Scenario files: the [trial] table, and telling a scenario file from a design file."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptive2._base.errors import DesignFileError
from adaptive2.io.scenario_files import TRIAL_KEYS, is_scenario_file, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
COHORT = "[c]\np0 = 0.2\nnull = [0.2]\nalternative = [0.4]\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_names_the_trial() -> None:
    trial = dict(load_scenarios(DESIGNS / "scenarios.toml").trial)
    assert trial["protocol"] == "ILKN421H-201"
    assert trial["name"].startswith("ILKN421H-201: IL-2 variant with pembrolizumab")
    assert trial["version"] == "0.3 (draft)" and trial["date"] == "2026-12-05"


def test_trial_keys_in_order_and_a_toml_date_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, '[trial]\nsponsor = "S"\ndate = 2027-01-31\nname = "N"\n'
                           'programme = "P"\n\n' + COHORT)
    grid = load_scenarios(path)
    assert grid.trial == (("name", "N"), ("date", "2027-01-31"), ("programme", "P"),
                          ("sponsor", "S"))
    assert set(TRIAL_KEYS) == {"name", "protocol", "version", "date", "programme", "sponsor"}
    assert load_scenarios(write(tmp_path, COHORT)).trial == ()  # optional


def test_an_unknown_trial_key_names_the_key_and_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[trial]\nname = "N"\ntitel = "typo"\n\n' + COHORT)
    with pytest.raises(DesignFileError) as exc:
        load_scenarios(path)
    assert str(exc.value) == (
        f"{path}: [trial]: unknown key `titel`; allowed keys: name, protocol, version, date, "
        "programme, sponsor."
    )


@pytest.mark.parametrize(("text", "match"), [
    ('trial = "ILKN"\n', r"`trial` must be a table \(\[trial\] with name, protocol"),
    ("[trial]\nversion = 0.3\n", r"\[trial\] `version` must be non-empty text in quotes "
                                 r'\(e.g. version = "..."\); got 0.3'),
    ('[trial]\nname = "  "\n', r"\[trial\] `name` must be non-empty text"),
])
def test_a_bad_trial_table_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DesignFileError, match=match):
        load_scenarios(write(tmp_path, text + "\n" + COHORT))


def test_a_scenario_file_is_told_from_a_design_file(tmp_path: Path) -> None:
    assert is_scenario_file(DESIGNS / "scenarios.toml")
    for p in DESIGNS.glob("*.toml"):
        if p.name != "scenarios.toml":
            assert not is_scenario_file(p), p
    assert not is_scenario_file(tmp_path / "missing.toml")
    assert not is_scenario_file(write(tmp_path, 'name = "x"\n' + COHORT))  # a (bad) design
    assert not is_scenario_file(write(tmp_path, "[trial]\nbad = 1\n"))  # neither: an error later
