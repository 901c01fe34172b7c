"""Writing the appendix to disk.

Files, the atomic swap of the folder, the PDF through headless Chromium (or
WeasyPrint), versions and the git change log of the design files.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from adaptive2._base.errors import DesignError
from adaptive2._base.formatting import jsonable
from adaptive2.views.document import (
    Document,
    to_html,
    to_markdown,
)
from adaptive2.views.report.context import _version

__all__ = ["CHROMIUM_FLAGS", "chromium_path"]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "adaptive2": _version()}
    for pkg in ("numpy", "scipy", "pandas", "xarray", "matplotlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - declared dependencies
            out[pkg] = "not installed"
    out["platform"] = f"{platform.system()} {platform.machine()}"
    return out


def _change_log(paths: list[Path]) -> str:
    if not paths or shutil.which("git") is None:
        return ""
    try:
        res = subprocess.run(
            ["git", "log", "--date=short", "--format=%ad %h %s", "-n", "20", "--",
             *[str(p.resolve()) for p in paths]],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=paths[0].resolve().parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return res.stdout.strip() if res.returncode == 0 else ""


def _check_out(out: str | Path) -> Path:
    """The report folder, refused where replacing it could destroy other files.

    ``out`` is replaced as a whole, so it must be new, empty, or an earlier
    report (it holds ``report.json``), and must not contain the working folder.
    """
    path = Path(out).resolve()
    where = f"`out` of report ({out})"
    if not path.name or path == Path.cwd() or Path.cwd().is_relative_to(path):
        raise DesignError(f"{where} must be a folder of its own, not the working folder or "
                          "one of its parents; e.g. reports/ilkn421h.")
    if path.exists() and not path.is_dir():
        raise DesignError(f"{where} exists and is not a folder.")
    if path.is_dir() and any(path.iterdir()) and not (path / "report.json").is_file():
        raise DesignError(f"{where} is a folder that holds other files (no report.json of an "
                          "earlier report); it would be replaced as a whole. Choose a new or "
                          "empty folder.")
    return path


def _write_files(doc: Document, folder: Path) -> list[Path]:
    (folder / "tables").mkdir()
    (folder / "figures").mkdir()
    files = []
    for t in doc.tables():
        csv = Path("tables") / f"{t.name}.csv"
        (folder / csv).write_text(t.frame.to_csv(index=False), encoding="utf-8")
        js = Path("tables") / f"{t.name}.json"
        records = [
            {k: _json_value(v) for k, v in r.items()} for r in t.frame.to_dict("records")
        ]
        (folder / js).write_text(
            json.dumps({"caption": t.caption, "rows": records}, indent=1) + "\n", encoding="utf-8"
        )
        files += [csv, js]
    for f in doc.figures():
        p = Path("figures") / f"{f.name}.svg"
        (folder / p).write_text(f.svg, encoding="utf-8")
        files.append(p)
    (folder / "index.html").write_text(to_html(doc), encoding="utf-8")
    (folder / "report.md").write_text(to_markdown(doc), encoding="utf-8")
    return [*files, Path("index.html"), Path("report.md")]


def _json_value(v: Any) -> Any:
    """A table cell for JSON (``jsonable``; any other object as its text)."""
    v = jsonable(v)
    return v if v is None or isinstance(v, bool | int | float | str) else str(v)


def chromium_path() -> str | None:
    """Path of a headless-capable Chromium, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


PDF_FLAGS = (
    # Chrome's own header and footer (date, page title, file URL) stay off: the page's
    # CSS margin boxes print the running header and "page X of Y" (document.CSS)
    "--no-pdf-header-footer",
    # PDF bookmarks from the h1-h3 headings (ignored by a Chromium that lacks it)
    "--generate-pdf-document-outline",
)


def _pdf(html_path: Path, pdf_path: Path) -> str:
    """Print ``html_path`` to ``pdf_path``; returns how it was made, or why not.

    The running header and the "page X of Y" footer come from the page's own
    ``@page`` margin boxes (:func:`adaptive2.views.document.to_html`), which
    Chromium (from version 131) and WeasyPrint both print.
    """
    exe = chromium_path()
    if exe is not None:
        with tempfile.TemporaryDirectory() as profile:
            try:
                subprocess.run(
                    [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *PDF_FLAGS,
                     f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()],
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return f"not made: chromium failed ({exc})"
        if pdf_path.exists() and pdf_path.stat().st_size > 0:
            return f"chromium ({exe})"
        return "not made: chromium produced no PDF"
    try:
        import weasyprint
    except ImportError:
        return "not made: no converter (install Debian's chromium, or pip install weasyprint)"
    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    return "weasyprint"
