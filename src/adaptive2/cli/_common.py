"""What every command shares: input errors, number lists, plain tables, JSON, design files."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adaptive2._base.errors import UsageError
from adaptive2._base.files import dir_mode
from adaptive2._base.formatting import number
from adaptive2._base.version import __version__
from adaptive2.io.design_files import load_any, save_any


class _BadInput(UsageError):
    """Bad command-line input: exit 2 with one line naming the option."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own errors also exit 2, one line
        raise _BadInput(f"{self.prog}: {message}")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _whole_number(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}; got {text!r}")
        return value

    return parse


positive_int = _whole_number(1)  # --workers, --n-sims, --nmax, --look
non_negative_int = _whole_number(0)  # report --n-sims (0: no simulation)


def probability(text: str) -> float:
    """Argparse type: a probability in (0, 1) (``--p0``, ``--alpha``, ``--power``, ...)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1); got {text!r}")
    return value


def positive_float(text: str) -> float:
    """Argparse type: a finite number > 0 (``--scheduler-timeout``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0; got {text!r}")
    return value


def _output(path: str, option: str, *, folder: bool = False) -> Path:
    """Check an output path before any computation; create its missing parent folders.

    A run that would fail to write its result at the end fails here instead, in
    well under a second, with a message naming the option.
    """
    out = Path(path)
    if folder and out.exists() and not out.is_dir():
        raise _BadInput(f"{option} must be a folder; {path} is a file")
    if not folder and out.is_dir():
        raise _BadInput(f"{option} must be a file name; {path} is a folder")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=dir_mode())
    except OSError as exc:
        raise _BadInput(
            f"{option}: cannot create the folder {parent} for {path}: {exc.strerror}"
        ) from None
    if not parent.is_dir():
        raise _BadInput(f"{option}: {parent} is not a folder, so {path} cannot be written")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _BadInput(f"{option}: the folder {parent} is not writable, so {path} cannot be "
                        "written")
    if out.exists() and not os.access(out, os.W_OK) and not folder:
        raise _BadInput(f"{option}: {path} exists and is not writable")
    return out


def _floats(text: str, what: str, count: int | None = None) -> list[float]:
    try:
        vals = [float(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise _BadInput(f"{what} must be comma-separated numbers; got {text!r}") from None
    if count is not None and len(vals) != count:
        raise _BadInput(f"{what} must have {count} comma-separated numbers; got {text!r}")
    if not vals or not all(math.isfinite(v) for v in vals):
        raise _BadInput(f"{what} must be finite comma-separated numbers; got {text!r}")
    return vals


def _table(rows: list[dict[str, Any]], columns: Sequence[str], digits: int = 4) -> str:
    cells = [[number(r.get(c), digits, missing="-") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        print(text)


# ---------------------------------------------------------------------------
# boundaries / oc
# ---------------------------------------------------------------------------
def _load(path: str) -> Any:

    return load_any(path)


def _is_multi(design: Any) -> bool:
    # the module is loaded iff a multi-cohort design was; keeps the single-cohort path light
    module = sys.modules.get("adaptive2.model.cohorts")
    return module is not None and isinstance(design, module.CohortDesign)


def _ranges_arg(args: argparse.Namespace, design: Any) -> dict[str, tuple[float, float]] | None:
    """``--range NAME=LO,HI`` (repeatable) over the design's own ranges."""
    if not args.range:
        return None
    if not _is_multi(design):
        raise _BadInput("--range applies to multi-cohort designs (a neighbour's plausible rates)")
    out = dict(design.ranges)
    for text in args.range:
        name, sep, rest = text.partition("=")
        if not sep or name not in out:
            raise _BadInput(
                f"--range must be COHORT=LOW,HIGH with COHORT one of {design.names}; got {text!r}"
            )
        lo, hi = _floats(rest, f"--range {name}", 2)
        if not 0.0 <= lo < hi <= 1.0:
            raise _BadInput(f"--range {name} must satisfy 0 <= LOW < HIGH <= 1; got {rest!r}")
        out[name] = (lo, hi)
    return out


def _write_design(design: Any, path: str, header: str | None = None) -> None:
    """Save ``design`` to ``path``, with ``header`` (if given) as comment lines first."""
    save_any(design, path, header=header)


def _command_line(args: argparse.Namespace) -> str:
    """The command as typed (``adaptive2 ...``), quoted for a shell."""
    argv = getattr(args, "argv", None)
    if argv is None:  # a command function called directly, not through main()
        return f"adaptive2 {args.command}"
    return shlex.join(["adaptive2", *argv])


def _written_header(args: argparse.Namespace, verb: str, lines: Sequence[str]) -> str:
    """The comment header of a design file a command writes: command, date, then ``lines``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``args.argv`` is the command as typed).
    verb : str
        What the command did, e.g. ``"Found by"`` or ``"Calibrated by"``.
    lines : sequence of str
        What the result was, one statement per line.

    Returns
    -------
    str
        Plain text; :func:`adaptive2.io.design_files.comment_block` turns it into
        TOML comments.
    """
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"{verb}: {_command_line(args)}", f"on {when} with adaptive2 {__version__}."]
    return "\n".join([*head, *lines])


def _check_name(args: argparse.Namespace) -> None:
    """``--name`` goes with ``--write`` and must not be blank."""
    if args.name is not None:
        if args.write is None:
            raise _BadInput("--name goes with --write (it names the design written)")
        if not args.name.strip():
            raise _BadInput(f"--name must be a non-empty design name; got {args.name!r}")
