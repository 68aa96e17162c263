"""The HTML summary in a real headless Chromium: it renders, shows the banner, and runs no injected script.

Skipped when Chromium is not installed, unless MCPTEST_REQUIRE_BROWSER=1 (CI) makes that a failure.
With MCPTEST_REPORT_SCREENSHOT=<path> the screenshot is also copied there (docs/report-summary.png is
made that way).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from mcptest.report import write_html
from tests.conftest_report import FAILING_FILE, REQUIREMENTS, make_history, make_record, write_sources

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("MCPTEST_REQUIRE_BROWSER") == "1":
        pytest.fail("MCPTEST_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
    pytest.skip(
        "chromium is not installed (apt-get install chromium); set MCPTEST_REQUIRE_BROWSER=1 to fail instead"
    )


def run_browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir()
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def index(tmp_path: Path) -> Path:
    root = write_sources(tmp_path / "project")
    return write_html(
        make_record(), tmp_path / "html", history=make_history(), requirements=REQUIREMENTS, source_root=root
    )


def test_summary_page_in_headless_chromium(index: Path, tmp_path: Path) -> None:
    binary = chromium()
    png = tmp_path / "summary.png"
    shot = run_browser(
        binary, tmp_path / "profile-shot", f"--screenshot={png}", "--window-size=1280,1600", index.as_uri()
    )
    assert png.is_file(), shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 1600)
    assert len(data) > 30_000, "a near-empty screenshot: the page did not render"
    if os.environ.get("MCPTEST_REPORT_SCREENSHOT"):
        shutil.copyfile(png, os.environ["MCPTEST_REPORT_SCREENSHOT"])

    dom = run_browser(binary, tmp_path / "profile-dom", "--dump-dom", index.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "FAILED · suite unit" in html
    assert FAILING_FILE in html and "line dropped 2.35 pp" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the hostile test name, as text
    assert html.count("<script") == 1  # the report's own script and no injected element
    assert 'class="sort"' in html  # that script ran: the CSP hash lets it, and only it, execute
