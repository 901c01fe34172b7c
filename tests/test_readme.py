"""The README's Python snippets run as written (the README must stay true)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_snippets_run(capsys):
    code = "\n".join(re.findall(r"```python\n(.*?)```", README.read_text(), re.S))
    assert "a2.Design(" in code and "posterior(" in code
    exec(compile(code, str(README), "exec"), {})  # our own documentation
    assert "stop for futility" in capsys.readouterr().out


def test_every_dotted_adaptive2_name_in_the_readme_and_docstrings_resolves():
    """``adaptive2.a.b`` written in the README or a docstring names a module or attribute
    that exists (the layering moved modules; a stale path is a broken promise)."""
    import importlib

    pattern = re.compile(r"(?<![\w./-])~?(adaptive2(?:\.[A-Za-z_]\w*)+)")
    root = README.parent
    files = [README, *sorted((root / "src" / "adaptive2").rglob("*.py"))]
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
