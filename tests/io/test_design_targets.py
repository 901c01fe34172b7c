"""Design targets ``alpha`` and ``power`` in design files, and the comment header of a file
a command writes: loading, round trips, the hash, and bad values."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import tomli_w

from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.io.design_files import (
    comment_block,
    design_from_dict,
    design_to_dict,
    load_design,
    read_toml,
    save_any,
    save_design,
)
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.designs import Design

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"


def _single(**top) -> dict:
    d = {
        "name": "t",
        "prior": {"beta": [1, 1]},
        "cohort": {"p0": 0.2, "p1": 0.4, "looks": [10, 20, 30]},
        "futility": {"rule": "predictive", "threshold": 0.05},
        "final": {"rule": "posterior", "cutoff": 0.9},
    }
    d.update(top)
    return d


def _multi(**top) -> dict:
    d = read_toml(DESIGNS / "two-cohort-bhm.toml")
    d.pop("alpha", None)
    d.pop("power", None)
    d.update(top)
    return d


def _write(tmp_path: Path, data: dict, name: str = "d.toml") -> Path:
    path = tmp_path / name
    path.write_text(tomli_w.dumps(data), encoding="utf-8")  # nan and inf too, as TOML allows
    return path


# ---------------------------------------------------------------------------
# loading and round trips
# ---------------------------------------------------------------------------
def test_single_cohort_targets_load(tmp_path: Path) -> None:
    d = load_design(_write(tmp_path, _single(alpha=0.1, power=0.8)))
    assert isinstance(d, Design)
    assert d.alpha == 0.1 and d.target_power == 0.8
    assert "targets: type I error <= 0.1, power >= 0.8" in d.describe()


def test_targets_are_optional_and_absent_from_the_file_when_unset(tmp_path: Path) -> None:
    d = load_design(_write(tmp_path, _single()))
    assert d.alpha is None and d.target_power is None
    out = design_to_dict(d)
    assert "alpha" not in out and "power" not in out
    assert "targets" not in d.describe()


@pytest.mark.parametrize(("alpha", "power"), [(0.1, 0.8), (0.05, None), (None, 0.9), (1e-9, 0.999)])
def test_single_cohort_round_trip(tmp_path: Path, alpha, power) -> None:
    top = {k: v for k, v in (("alpha", alpha), ("power", power)) if v is not None}
    d = load_design(_write(tmp_path, _single(**top)))
    out = tmp_path / "back.toml"
    save_design(d, out)
    back = load_design(out)
    assert back == d
    assert back.hash == d.hash
    assert (back.alpha, back.target_power) == (alpha, power)
    raw = read_toml(out)
    assert raw.get("alpha") == alpha and raw.get("power") == power  # top-level keys
    assert design_from_dict(design_to_dict(d)) == d


def test_multi_cohort_targets_round_trip(tmp_path: Path) -> None:
    d = load_design(_write(tmp_path, _multi(alpha=0.1, power=0.85)))
    assert isinstance(d, CohortDesign)
    assert d.alpha == 0.1 and d.target_power == 0.85
    out = tmp_path / "back.toml"
    save_any(d, out)
    back = load_design(out)
    assert back == d and back.hash == d.hash
    assert read_toml(out)["power"] == 0.85


@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
def test_targets_enter_the_hash_like_every_other_key(tmp_path: Path, multi: bool) -> None:
    """The hash is of the whole file dict (title and notes included), so targets count too."""
    make = _multi if multi else _single
    plain = load_design(_write(tmp_path, make(), "a.toml"))
    with_alpha = load_design(_write(tmp_path, make(alpha=0.1), "b.toml"))
    with_power = load_design(_write(tmp_path, make(power=0.8), "c.toml"))
    retitled = load_design(_write(tmp_path, make(title="another title"), "e.toml"))
    assert len({plain.hash, with_alpha.hash, with_power.hash, retitled.hash}) == 4
    # a design without targets hashes exactly as before targets existed: no new keys
    assert "alpha" not in plain.to_dict() and "power" not in plain.to_dict()


def test_replace_keeps_and_sets_targets() -> None:
    d = design_from_dict(_single(alpha=0.1, power=0.8))
    assert d.replace(name="other").alpha == 0.1
    e = d.replace(alpha=0.05, target_power=0.9)
    assert (e.alpha, e.target_power) == (0.05, 0.9)
    assert e.boundaries() == d.boundaries()  # targets never change the rules


# ---------------------------------------------------------------------------
# bad values
# ---------------------------------------------------------------------------
BAD = [0, 1, 1.5, -0.1, math.nan, math.inf, True, "0.1", [0.1]]


@pytest.mark.parametrize("key", ["alpha", "power"])
@pytest.mark.parametrize("value", BAD, ids=repr)
@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
def test_bad_target_names_file_key_and_value(tmp_path: Path, key, value, multi) -> None:
    data = (_multi if multi else _single)(**{key: value})
    path = _write(tmp_path, data, "bad.toml")
    with pytest.raises(DesignFileError) as info:
        load_design(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ")
    assert f"`{key}` must be a probability in (0, 1)" in msg
    assert f"got {value!r}" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("field", ["alpha", "target_power"])
@pytest.mark.parametrize("value", [0.0, 1.0, 2, -1, math.nan, "0.1", True])
def test_design_object_validates_targets(field: str, value) -> None:
    d = design_from_dict(_single())
    with pytest.raises(DesignError, match=rf"^`{field}` of Design must be a probability in "
                                          r"\(0, 1\); got "):
        d.replace(**{field: value})


@pytest.mark.parametrize("field", ["alpha", "target_power"])
def test_cohort_design_object_validates_targets(field: str) -> None:
    multi = load_design(DESIGNS / "two-cohort-bhm.toml")
    with pytest.raises(DesignError, match=rf"^`{field}` of CohortDesign must be a probability"):
        dataclasses.replace(multi, **{field: 1.5})


# ---------------------------------------------------------------------------
# the comment header of a written file
# ---------------------------------------------------------------------------
def test_header_is_written_as_comments_and_ignored_on_load(tmp_path: Path) -> None:
    d = design_from_dict(_single(alpha=0.1, power=0.8))
    plain, headed = tmp_path / "plain.toml", tmp_path / "headed.toml"
    save_design(d, plain)
    save_design(d, headed, header="Found by: adaptive2 search --family simon\nline two")
    text = headed.read_text(encoding="utf-8")
    assert text.startswith("# Found by: adaptive2 search --family simon\n# line two\n")
    assert text.endswith(plain.read_text(encoding="utf-8"))
    assert load_design(headed) == d and load_design(headed).hash == d.hash


def test_header_cannot_break_out_of_its_comment(tmp_path: Path) -> None:
    """A line break or control character in a command-line argument stays inside a comment."""
    d = design_from_dict(_single())
    evil = "adaptive2 search --name 'x\rname = \"hijack\"'\x0bmore\x7f"
    path = tmp_path / "evil.toml"
    save_design(d, path, header=evil)
    assert load_design(path).name == "t"
    for line in path.read_text(encoding="utf-8").splitlines():
        if "hijack" in line:
            assert line.startswith("# ")


def test_comment_block_one_comment_per_line() -> None:
    assert comment_block("a\n\nb") == "# a\n#\n# b\n"
