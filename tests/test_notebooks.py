"""Execute every notebook under notebooks/ top to bottom, as CI does on every run.

Each notebook runs in a fresh ``python3`` kernel (this environment's ipykernel)
with its working directory set to notebooks/, so that the notebooks load the
shipped designs by paths relative to the repository root (``../designs/...``).
The notebooks hold their own assertions on the numbers they show, so a
notebook fails here when its results go wrong, not only when a cell raises.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_the_worked_notebooks_are_there():
    names = {p.name for p in NOTEBOOKS}
    expected = {
        "01-prior-from-phase1.ipynb",
        "02-single-cohort-design.ipynb",
        "03-borrowing-two-cohorts.ipynb",
        "05-interim-analysis.ipynb",
    }
    assert expected <= names, sorted(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"
    first = nb.cells[0]
    assert first.cell_type == "markdown", f"{path.name} must open with a markdown cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path):
    nb = nbformat.read(path, as_version=4)
    # Not stored in the notebook: make sure the kernel is this environment's Python.
    guard = nbformat.v4.new_code_cell(
        f"import sys\nassert sys.prefix == {sys.prefix!r}, "
        "f'notebook kernel runs {sys.executable}, not the test environment'"
    )
    nb.cells.insert(0, guard)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # the message holds the cell source and the traceback
        pytest.fail(f"{path.name}: a cell raised.\n{_ANSI.sub('', str(exc))}", pytrace=False)
    except CellTimeoutError as exc:
        pytest.fail(f"{path.name}: a cell ran over {CELL_TIMEOUT} s.\n{exc}", pytrace=False)
    except DeadKernelError as exc:
        pytest.fail(f"{path.name}: the kernel died.\n{exc}", pytrace=False)
    errors = [
        (i, out.get("ename"), out.get("evalue"))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors, f"{path.name}: cells with errors {errors}"
