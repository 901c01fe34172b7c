"""The README's code blocks run as written (the README must stay true).

Every fenced block is one of:

- ``python``: all of them run in order in one namespace, in a temporary working
  directory holding a copy of ``designs/`` (so relative paths work as they do from the
  repository root, and nothing is written into the checkout);
- ``bash``/``sh``/``shell``/``console``: each command is run by bash in such a directory
  with this environment's ``bin/`` first on the PATH (as after ``source
  .venv/bin/activate``) and must exit with 0; ``console`` blocks run only their
  ``$ `` lines. Commands that set up the environment (``make``, ``pip``, ``source``,
  ``git``) are not run; that allow-list is short and checked below;
- ``toml``: a design file, which must load;
- ``text``: output shown for reading, not run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the environment the tests run in (.venv/bin under make)

SHELL = {"bash", "sh", "shell", "console"}
LANGUAGES = SHELL | {"python", "toml", "text"}
# Environment set-up, shown for the reader and not run here (make demo / make test are
# what the test suite itself runs under; pip and git change the environment or checkout).
NOT_RUN = ("make", "pip", "source", "git")
MAX_NOT_RUN = 6  # a README that mostly shows commands we do not run is not tested by this

_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, body, line number) of every fenced block, in order."""
    return [
        (m.group(1).lower(), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(text)
    ]


def shell_commands(lang: str, body: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments and blanks
    dropped; in a ``console`` block only the lines after a ``$ `` prompt."""
    lines = body.splitlines()
    if lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    commands, current = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if shlex.split(current, comments=True):
            commands.append(current.strip())
        current = ""
    assert not current, f"a shell block ends in a continuation: {current!r}"
    return commands


TEXT = README.read_text(encoding="utf-8")
BLOCKS = blocks(TEXT)
COMMANDS = [
    (line, cmd)
    for lang, body, line in BLOCKS
    if lang in SHELL
    for cmd in shell_commands(lang, body)
]
RUN = [(line, cmd) for line, cmd in COMMANDS if shlex.split(cmd, comments=True)[0] == "adaptive2"]
SKIPPED = [(line, cmd) for line, cmd in COMMANDS if (line, cmd) not in RUN]
# the commands of one block run in order in one folder (a later one may read what an earlier
# one wrote, as a user pasting the block would)
RUN_BLOCKS = [
    (line, [cmd for ln, cmd in RUN if ln == line]) for line in dict.fromkeys(ln for ln, _ in RUN)
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory with the repository's designs/ and examples/ in it."""
    shutil.copytree(ROOT / "designs", tmp_path / "designs")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_readme_block_has_a_known_language():
    unknown = [(line, lang) for lang, _, line in BLOCKS if lang not in LANGUAGES]
    assert not unknown, f"README blocks (line, language) this test cannot check: {unknown}"
    langs = {lang for lang, _, _ in BLOCKS}
    assert {"python", "bash", "toml"} <= langs
    # the parser found every fence (an unmatched one would hide the blocks after it)
    assert TEXT.count("\n```") == 2 * len(BLOCKS)


def test_readme_shell_blocks_only_skip_setup_commands():
    assert len(NOT_RUN) <= 4
    assert len(SKIPPED) <= MAX_NOT_RUN, SKIPPED
    for line, cmd in SKIPPED:
        assert shlex.split(cmd, comments=True)[0] in NOT_RUN, f"line {line}: {cmd!r} is not run"
    assert len(RUN) >= 5  # the quick start and the command-line tour


def test_readme_shell_block_parser():
    body = "make demo   # a comment\n\n# only a comment\nadaptive2 oc a.toml \\\n    --p 0.3\n"
    assert shell_commands("bash", body) == [
        "make demo   # a comment",
        "adaptive2 oc a.toml      --p 0.3",
    ]
    assert shell_commands("console", "$ adaptive2 prior --beta 1,1\nprior: ...\n") == [
        "adaptive2 prior --beta 1,1"
    ]


def test_readme_python_blocks_run_in_order(workdir: Path, capsys: pytest.CaptureFixture[str]):
    python = [(body, line) for lang, body, line in BLOCKS if lang == "python"]
    code = "".join(body for body, _ in python)
    assert "a2.Design(" in code and "posterior(" in code
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for body, line in python:  # one namespace, block by block (a failure names its block)
        # our own documentation; line numbers in a traceback are the README's
        exec(compile("\n" * line + body, str(README), "exec"), namespace)
    assert "stop for futility" in capsys.readouterr().out


def test_readme_design_file_example_loads(workdir: Path):
    import adaptive2 as a2

    tomls = [body for lang, body, _ in BLOCKS if lang == "toml"]
    (design_toml,) = [t for t in tomls if "[toxicity]" not in t]
    path = workdir / "example.toml"
    path.write_text(design_toml, encoding="utf-8")
    design = a2.load_design(path)
    # the example is the shipped design without its prose (title, notes, source)
    shipped = a2.load_design(workdir / "designs" / "frontline-pp.toml")
    assert design.name == shipped.name == "frontline-pp"
    assert (design.prior, design.looks) == (shipped.prior, shipped.looks)
    assert design.boundaries() == shipped.boundaries()
    # the [toxicity] example is the section of the shipped co-monitored design
    (tox_toml,) = [t for t in tomls if "[toxicity]" in t]
    path.write_text(design_toml + "\n" + tox_toml, encoding="utf-8")
    with_tox = a2.load_design(path)
    efftox = a2.load_design(workdir / "designs" / "frontline-efftox.toml")
    assert with_tox.toxicity == efftox.toxicity
    assert with_tox.toxicity.boundaries() == efftox.toxicity.boundaries()


@pytest.mark.parametrize(("line", "cmds"), RUN_BLOCKS,
                         ids=[f"line{line}:{c[0][:50]}" for line, c in RUN_BLOCKS])
def test_readme_command_block_runs(line: int, cmds: list[str], workdir: Path):
    assert (BIN / "adaptive2").exists(), f"no adaptive2 script next to {sys.executable}"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    for cmd in cmds:
        out = subprocess.run(
            ["bash", "-c", cmd], cwd=workdir, env=env, capture_output=True, text=True,
            timeout=300,
        )
        assert out.returncode == 0, (
            f"README block at line {line}: {cmd}\nexit {out.returncode}\n{out.stderr[-3000:]}"
        )


def test_every_dotted_adaptive2_name_in_the_readme_and_docstrings_resolves():
    """``adaptive2.a.b`` written in the README or a docstring names a module or attribute
    that exists (the layering moved modules; a stale path is a broken promise)."""
    import importlib

    pattern = re.compile(r"(?<![\w./-])~?(adaptive2(?:\.[A-Za-z_]\w*)+)")
    files = [README, *sorted((ROOT / "src" / "adaptive2").rglob("*.py"))]
    broken = {}
    for f in files:
        text = f.read_text(encoding="utf-8")
        if f == README:  # the "before" column of the table of renamed paths names old modules
            text = re.sub(r"^\| [^|]* \|", "|", text, flags=re.M)
        for m in pattern.finditer(text):
            parts = m.group(1).split(".")
            for i in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                except ImportError:
                    continue
                try:
                    for p in parts[i:]:
                        obj = getattr(obj, p)
                except AttributeError:
                    broken.setdefault(m.group(1), f.name)
                break
    assert not broken, broken
