"""Running the command line inside a test: exit code, stdout and stderr, or the JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adaptive2.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``adaptive2 ARGV...`` in this process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """``adaptive2 ARGV... --json``, which must succeed: the parsed output."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
