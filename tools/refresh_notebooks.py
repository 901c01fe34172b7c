"""Re-execute the worked notebooks and save them with their outputs.

    python tools/refresh_notebooks.py            # every notebooks/*.ipynb
    python tools/refresh_notebooks.py 03         # those whose name contains "03"
    make notebooks                               # the same, in the project's .venv

The notebooks are committed executed, so that they show their tables and figures when
opened on a forge; tests/test_notebooks.py re-executes them and fails when a stored
output is no longer what the code gives (after masking run times, dates, addresses and
image bytes). Run this after a change that moves a number, and commit the result.

Each notebook runs top to bottom in a fresh kernel of this Python (the ``python3``
kernel of the environment running the script; a guard checks it), with notebooks/ as
the working directory, as Jupyter would start it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CELL_TIMEOUT = 300  # seconds per cell
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def execute_notebook(path: Path, cwd: Path | None = None) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` in a fresh kernel; return it with its outputs.

    ``cwd`` is the kernel's working directory (default: the notebook's folder). Outputs
    carry execution counts 1, 2, ... in cell order; no timing metadata is recorded.
    Raises nbclient's ``CellExecutionError`` when a cell raises.
    """
    # One BLAS thread: the kernel runs next to other work on small CI machines.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    guard = nbformat.v4.new_code_cell(
        f"import sys\nassert sys.prefix == {sys.prefix!r}, "
        "f'notebook kernel runs {sys.executable}, not this environment'"
    )
    nb.cells.insert(0, guard)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        record_timing=False,
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    try:
        client.execute()
    finally:
        nb.cells.pop(0)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        for out in cell.outputs:
            if "execution_count" in out:
                out.execution_count = count
    return nb


def main(argv: list[str] | None = None) -> int:
    """Refresh the notebooks named on the command line (default: all); 1 if one failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose file name has one")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(n in p.name for n in args.names)]
    if not paths:
        parser.error("no notebook matches")
    failed = []
    for path in paths:
        print(f"executing {path.relative_to(ROOT)} ...", flush=True)
        try:
            nb = execute_notebook(path)
        except CellExecutionError as exc:  # keep the stored notebook; go on with the others
            print(_ANSI.sub("", str(exc)), file=sys.stderr)
            print(f"  FAILED, {path.name} left as it was", flush=True)
            failed.append(path.name)
            continue
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"  saved ({path.stat().st_size / 1024:.0f} KiB)", flush=True)
    if failed:
        print(f"not refreshed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
