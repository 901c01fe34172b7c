"""The report's index.html in a real browser (headless Debian chromium driven by Playwright).

Skipped, with the reason, only where chromium or Playwright is missing; `.ci/run` installs
chromium and sets ADAPTIVE2_REQUIRE_BROWSER=1, so CI fails instead of skipping.
A screenshot is kept under build/test-artifacts/ (ignored by git).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _need import need_browser
from adaptive2.views.report import appendix as rp
from adaptive2.views.report import output

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"


def _need_browser() -> tuple[str, object]:
    exe = output.chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        sync_playwright = None
    missing = (
        "chromium is not installed (apt-get install chromium)" if exe is None
        else "playwright is not installed" if sync_playwright is None else ""
    )
    need_browser(missing)
    return exe, sync_playwright


@pytest.fixture(scope="module")
def page_report(tmp_path_factory: pytest.TempPathFactory) -> rp.ReportResult:
    out = tmp_path_factory.mktemp("browser") / "report"
    designs = [ROOT / "designs" / "post-io-pp.toml", ROOT / "designs" / "post-io-simon.toml"]
    return rp.report(designs, out, ROOT / "designs" / "scenarios.toml", n_sims=2000, seed=1,
                     pdf="never")


def test_report_loads_in_chromium_without_errors(page_report: rp.ReportResult) -> None:
    exe, sync_playwright = _need_browser()
    index = page_report.path / "index.html"
    console, failed, remote = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=exe, args=[a for a in output.CHROMIUM_FLAGS if a != "--headless"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: failed.append(r.url))
            local = ("file:", "data:")
            page.on("request", lambda r: None if r.url.startswith(local) else remote.append(r.url))
            page.goto(index.as_uri(), wait_until="load")
            assert page.title().startswith("Statistical appendix")
            for table in ("summary", "boundaries-post-io-pp", "oc-post-io-pp", "type1-single",
                          "simon", "provenance"):
                assert page.locator(f"table#table-{table}").count() == 1, table
                assert page.locator(f"table#table-{table} tbody tr").count() >= 1, table
            # the summary table shows the labelled type I error / power rows
            text = page.locator("table#table-summary").inner_text()
            assert "type I error" in text and "power" in text
            # every figure is an inline SVG that the browser rendered with a real size
            figs = page.locator("figure svg")
            assert figs.count() >= 3
            box = figs.first.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4")
            assert pdf[:5] == b"%PDF-"
        finally:
            browser.close()
    assert console == []
    assert failed == []
    assert remote == []
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
