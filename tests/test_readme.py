"""The README's Python snippets run as written (the README must stay true)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_snippets_run(capsys):
    code = "\n".join(re.findall(r"```python\n(.*?)```", README.read_text(), re.S))
    assert "a2.Design(" in code and "posterior(" in code
    exec(compile(code, str(README), "exec"), {})  # our own documentation
    assert "stop for futility" in capsys.readouterr().out
