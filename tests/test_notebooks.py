"""The worked notebooks under notebooks/ run top to bottom, and their stored outputs are current.

The notebooks are committed executed (so that a forge shows their tables and figures).
Each one is re-executed here in a fresh ``python3`` kernel of this environment, with
the repository root as working directory (``tools/refresh_notebooks.py``, which wrote
the stored outputs, runs them from notebooks/: a notebook that depends on where it is
started fails here), and every code cell's outputs are compared with the stored ones
after masking what legitimately changes from run to run: execution counts, run times,
dates and times, memory addresses, temporary and checkout paths, package versions, and
image bytes (for images only the presence and mime type are compared). Every other
character must match, and every number must match to 1e-9 relative, so a changed
statistical result fails with the cell and the difference; ``make notebooks`` refreshes
them. The notebooks also hold their own assertions on the numbers they show.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MAX_BYTES = 2_000_000  # a stored notebook stays small enough to diff and to open on a forge
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _refresh_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "refresh_notebooks", ROOT / "tools" / "refresh_notebooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------
# Masking and comparison of outputs
# ---------------------------------------------------------------------------
_NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
_PACKAGES = "adaptive2|numpy|scipy|pandas|xarray|matplotlib|python|ipykernel|tqdm|pymc|arviz"
_VOLATILE: list[tuple[re.Pattern[str], str]] = [
    (_ANSI, ""),
    # date-times and dates (ISO, with or without time zone), clock times
    (re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                r"(?:Z|[+-]\d{2}:?\d{2})?)?"), "<date>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<time>"),
    # durations written with a unit ("6.2 s", "150 ms"), and named timing fields
    (re.compile(rf"(?<![\w.]){_NUMBER}\s?(?:s|ms|µs|us|ns|sec|seconds|min|minutes)\b"),
     "<duration>"),
    (re.compile(rf"""(\b(?:run_time|wall_time|cpu_time|elapsed)\w*["']?\s*[:=]\s*){_NUMBER}"""),
     r"\1<duration>"),
    (re.compile(r"""(\bcreated_at["']?\s*[:=]\s*)["']?[^,"'}\s]*["']?"""), r"\1<date>"),
    # memory addresses (object reprs)
    (re.compile(r"0x[0-9a-fA-F]{4,}"), "0x<address>"),
    # package versions ("adaptive2_version": "0.4.1", numpy 2.1.3, Python 3.11.7)
    (re.compile(rf"""(?i)\b({_PACKAGES})(_version)?(["']?\s*[:=]?\s*["']?\s*)v?\d+\.\d+[\w.+-]*"""),
     r"\1\2\3<version>"),
]


def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    roots = [(str(ROOT), "<repo>"), (str(Path(tempfile.gettempdir()).resolve()), "<tmp>"),
             (tempfile.gettempdir(), "<tmp>")]
    out = [(re.compile(re.escape(p) + r"[^\s'\"<>)\]]*"), tag) for p, tag in roots]
    out.append((re.compile(r"/tmp/[^\s'\"<>)\]]*"), "<tmp>"))
    return out


def mask(text: str) -> str:
    """``text`` with its volatile fields replaced by placeholders (numbers of results kept)."""
    for pattern, repl in [*_path_patterns(), *_VOLATILE]:
        text = pattern.sub(repl, text)
    return text


def _split_numbers(text: str) -> list[str]:
    """Alternating non-number / number tokens (odd positions are numbers)."""
    return re.split(rf"({_NUMBER})", text)


def texts_match(stored: str, new: str, rel: float = 1e-9) -> bool:
    """Equal after masking, with numbers equal to ``rel`` (a digit that moves fails)."""
    a, b = _split_numbers(mask(stored)), _split_numbers(mask(new))
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x == y:
            continue
        if i % 2 == 0:  # text between numbers must be identical
            return False
        fx, fy = float(x), float(y)
        if abs(fx - fy) > rel * max(abs(fx), abs(fy)):
            return False
    return True


_IMAGE = ("image/",)
_WIDGET = "application/vnd.jupyter.widget-view+json"


def _summary(outputs: list[Any]) -> list[tuple[str, str, str]]:
    """One cell's outputs as (kind, mime or stream, text) in order; streams of one name
    are joined (the kernel splits them at arbitrary points), images and widgets are
    reduced to their mime type."""
    rich: list[tuple[str, str, str]] = []
    streams: dict[str, str] = {}
    for out in outputs:
        kind = out["output_type"]
        if kind == "stream":
            streams[out["name"]] = streams.get(out["name"], "") + out["text"]
        elif kind == "error":
            rich.append(("error", out["ename"], _ANSI.sub("", out["evalue"])))
        else:
            for mime in sorted(out.get("data", {})):
                value = out["data"][mime]
                if mime.startswith(_IMAGE) or mime == _WIDGET:
                    rich.append((kind, mime, ""))
                else:
                    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                    rich.append((kind, mime, text))
    return [*(("stream", name, text) for name, text in sorted(streams.items())), *rich]


def compare_notebooks(stored: Any, new: Any) -> list[str]:
    """Differences between the stored and the re-executed outputs, one message per cell."""
    problems = []
    code_old = [c for c in stored["cells"] if c["cell_type"] == "code"]
    code_new = [c for c in new["cells"] if c["cell_type"] == "code"]
    if [c["source"] for c in code_old] != [c["source"] for c in code_new]:
        return ["the code cells differ (compare the same notebook)"]
    for k, (old, cur) in enumerate(zip(code_old, code_new, strict=True), 1):
        a, b = _summary(old.get("outputs", [])), _summary(cur.get("outputs", []))
        same = len(a) == len(b) and all(
            x[:2] == y[:2] and texts_match(x[2], y[2]) for x, y in zip(a, b, strict=True)
        )
        if same:
            continue
        head = old["source"].strip().splitlines()[0] if old["source"].strip() else ""
        left = [f"[{x[0]} {x[1]}]\n{mask(x[2])}" for x in a]
        right = [f"[{y[0]} {y[1]}]\n{mask(y[2])}" for y in b]
        diff = difflib.unified_diff(
            "\n".join(left).splitlines(), "\n".join(right).splitlines(),
            "stored", "now", lineterm="", n=1,
        )
        problems.append(f"code cell {k} ({head!r}):\n" + "\n".join(list(diff)[:40]))
    return problems


# ---------------------------------------------------------------------------
# Tests of the comparison itself
# ---------------------------------------------------------------------------
_STORED = (
    "worst-case type I error 0.0735 at p = 0.4, power 0.8673\n"
    "created 2026-12-05T10:11:12.123+00:00 in 6.2 s by adaptive2 0.4.1 (numpy_version: 2.1.3)\n"
    "<Figure at 0x7f3a2b1c9d80> written to /tmp/pytest-of-root/pytest-7/report/index.html\n"
    '{"run_time_s": 6.21, "wall_time_s": 0.49, "p_efficacy": 0.0735}'
)


def test_mask_passes_volatile_fields():
    new = (
        _STORED.replace("2026-12-05T10:11:12.123+00:00", "2027-01-02T03:04:05Z")
        .replace("6.2 s", "11.9 s")
        .replace("0.4.1", "0.5.0.dev3+g1234abc")
        .replace("2.1.3", "2.2.0")
        .replace("0x7f3a2b1c9d80", "0x55d0c0ffee00")
        .replace("pytest-of-root/pytest-7", "pytest-of-ci/pytest-81")
        .replace('"run_time_s": 6.21', '"run_time_s": 12.5')
        .replace('"wall_time_s": 0.49', '"wall_time_s": 0.51')
    )
    assert new != _STORED
    assert texts_match(_STORED, new)
    assert texts_match(_STORED, _STORED)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("0.0735 at", "0.0736 at"),  # a type I error moved in the 4th decimal
        ("power 0.8673", "power 0.8672"),
        ("p = 0.4,", "p = 0.5,"),
        ('"p_efficacy": 0.0735', '"p_efficacy": 0.07350001'),
        ("worst-case type I", "largest type I"),  # text, too
    ],
)
def test_mask_keeps_results(old: str, new: str):
    assert old in _STORED
    assert not texts_match(_STORED, _STORED.replace(old, new))


def _cell(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cell_type": "code", "source": "x", "outputs": outputs}


def test_compare_notebooks_images_by_presence_streams_joined_numbers_exact():
    svg = {"output_type": "execute_result", "execution_count": 3, "metadata": {},
           "data": {"image/svg+xml": '<svg id="a1"><!-- 2026-12-05 -->', "text/plain": "<SVG>"}}
    text = {"output_type": "stream", "name": "stdout", "text": "alpha 0.0735\n"}
    stored = {"cells": [_cell([svg, text])]}
    other_svg = dict(svg, execution_count=9, data=dict(svg["data"], **{"image/svg+xml": "<svg/>"}))
    split = [{"output_type": "stream", "name": "stdout", "text": "alpha 0.07"},
             {"output_type": "stream", "name": "stdout", "text": "35\n"}]
    assert compare_notebooks(stored, {"cells": [_cell([other_svg, *split])]}) == []
    changed = dict(text, text="alpha 0.0736\n")
    (problem,) = compare_notebooks(stored, {"cells": [_cell([svg, changed])]})
    assert "0.0736" in problem and "code cell 1" in problem
    no_image = dict(svg, data={"text/plain": "<SVG>"})
    assert compare_notebooks(stored, {"cells": [_cell([no_image, text])]})
    png = dict(svg, data={"image/png": "iVBOR", "text/plain": "<SVG>"})
    assert compare_notebooks(stored, {"cells": [_cell([png, text])]})  # another mime type


# ---------------------------------------------------------------------------
# The notebooks
# ---------------------------------------------------------------------------
def test_the_worked_notebooks_are_there():
    names = {p.name for p in NOTEBOOKS}
    expected = {
        "01-prior-from-phase1.ipynb",
        "02-single-cohort-design.ipynb",
        "03-borrowing-two-cohorts.ipynb",
        "04-compare-and-report.ipynb",
        "05-interim-analysis.ipynb",
    }
    assert expected <= names, sorted(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_and_small(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown", f"{path.name} must open with a markdown cell"
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: stored without (or with out-of-order) outputs; run `make notebooks`"
    )
    assert any(c.outputs for c in code)
    errors = [i for i, c in enumerate(code, 1) for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: stored outputs of cells {errors} are errors"
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    assert str(ROOT) not in path.read_text(encoding="utf-8"), f"{path.name} stores a local path"


def _repo_root_helper(path: Path) -> Any:
    """The ``repo_root`` function defined in the notebook's first code cell."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "REPO = repo_root()" in first.source, f"{path.name}: the first code cell defines REPO"
    start = first.source.index("def repo_root")
    namespace: dict[str, Any] = {"Path": Path}
    exec(first.source[start: first.source.index("REPO = repo_root()")], namespace)
    return namespace["repo_root"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_finds_the_repository_from_anywhere_inside_it(path, tmp_path, monkeypatch):
    repo_root = _repo_root_helper(path)
    for cwd in (ROOT, NOTEBOOK_DIR, ROOT / "designs", ROOT / "src" / "adaptive2" / "model"):
        monkeypatch.chdir(cwd)
        assert repo_root() == ROOT
    fake = tmp_path / "checkout"
    (fake / "designs").mkdir(parents=True)
    (fake / "designs" / "scenarios.toml").write_text("")
    (fake / "pyproject.toml").write_text("")
    deep = fake / "notebooks" / "scratch"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert repo_root() == fake.resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="checkout"):
        repo_root()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_its_stored_outputs_are_current(path: Path):
    refresh = _refresh_module()
    stored = nbformat.read(path, as_version=4)
    try:  # from the repository root, not notebooks/ where the stored outputs were made
        new = refresh.execute_notebook(path, cwd=ROOT)
    except CellExecutionError as exc:  # the message holds the cell source and the traceback
        pytest.fail(f"{path.name}: a cell raised.\n{_ANSI.sub('', str(exc))}", pytrace=False)
    except CellTimeoutError as exc:
        pytest.fail(f"{path.name}: a cell ran over {refresh.CELL_TIMEOUT} s.\n{exc}", pytrace=False)
    except DeadKernelError as exc:
        pytest.fail(f"{path.name}: the kernel died.\n{exc}", pytrace=False)
    problems = compare_notebooks(stored, new)
    assert not problems, (
        f"{path.name}: stored outputs are out of date (refresh with `make notebooks`, "
        "check the differences, commit):\n" + "\n\n".join(problems)
    )


def test_refresh_script_and_make_target_exist():
    refresh = _refresh_module()
    assert callable(refresh.main) and callable(refresh.execute_notebook)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^notebooks:.*\n\t.*tools/refresh_notebooks\.py", makefile, re.M)
    assert os.access(ROOT / "tools" / "refresh_notebooks.py", os.R_OK)
