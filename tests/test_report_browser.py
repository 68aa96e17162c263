"""The HTML report in a real headless Chromium: the summary renders, shows the banner and runs no injected
script; on a file page the highlighting, the toggles and the keys work, on the files page the filter does.

Skipped when Chromium is not installed, unless MCPTEST_REQUIRE_BROWSER=1 (CI) makes that a failure.
With MCPTEST_REPORT_SCREENSHOT=<path> the summary's screenshot is also copied there (docs/report-summary.png
is made that way), with MCPTEST_REPORT_FILE_SCREENSHOT=<path> one of a file page (docs/report-file.png).
The file and files pages are driven over the DevTools protocol: a click, a key or text typed, then what
the reader would see is asserted.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from mcptest.model import Totals
from mcptest.report import write_html
from mcptest.report.views import file_page
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


class Page:
    """One page in headless Chromium, driven over the DevTools protocol on a pipe (no network, no extra package).

    Clicks and key presses are sent as input events, so they reach the page's own script as a reader's
    would; the page's content security policy stays in force for the page.
    """

    def __init__(self, binary: str, profile: Path, url: str) -> None:
        profile.mkdir()
        self._stderr = (profile / "stderr.txt").open("wb")
        # fd 3 is what Chromium reads commands from, fd 4 where it writes answers: our stdin and stdout pipes
        self._proc = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 </dev/null >/dev/null', "sh", binary, *FLAGS,
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=1280,900", "about:blank"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "HOME": str(profile)},
        )
        self._id = 0
        self._buffer = b""
        target = self.send("Target.createTarget", url=url)["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.loaded()

    def loaded(self) -> None:
        """Wait until a report page (not the blank page a new tab starts with) has loaded."""
        self.wait_for("location.protocol === 'file:' && document.readyState === 'complete'")

    def send(self, method: str, session: str | None = None, **params: object) -> dict:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._id += 1
        message: dict[str, object] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._proc.stdin.write(json.dumps(message).encode() + b"\0")
        self._proc.stdin.flush()
        while True:
            while b"\0" not in self._buffer:
                ready, _, _ = select.select([self._proc.stdout], [], [], 60)
                assert ready, f"no answer from Chromium in 60 s to {method}"
                chunk = os.read(self._proc.stdout.fileno(), 65536)
                assert chunk, f"Chromium closed the pipe: {(self._stderr.name)}"
                self._buffer += chunk
            raw, _, self._buffer = self._buffer.partition(b"\0")
            answer = json.loads(raw)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer["error"]
                return answer["result"]

    def js(self, expression: str) -> object:
        result = self.send("Runtime.evaluate", self._session, expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, tries: int = 200) -> None:
        for _ in range(tries):
            if self.js(expression):
                return
            time.sleep(0.05)
        raise AssertionError(f"never true in the page: {expression}")

    def click(self, selector: str) -> None:
        box = self.js(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)}); e.scrollIntoView();"
            " var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        assert isinstance(box, list)
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", self._session, type=kind, x=x, y=y, button="left", clickCount=1)

    def press(self, key: str) -> None:
        code = ord(key.upper())
        self.send("Input.dispatchKeyEvent", self._session, type="keyDown", key=key, text=key,
                  code=f"Key{key.upper()}", windowsVirtualKeyCode=code)
        self.send("Input.dispatchKeyEvent", self._session, type="keyUp", key=key, code=f"Key{key.upper()}",
                  windowsVirtualKeyCode=code)

    def type(self, text: str) -> None:
        self.send("Input.insertText", self._session, text=text)

    def screenshot(self, path: str) -> None:
        self.js("window.scrollTo(0, 0)")
        data = self.send("Page.captureScreenshot", self._session, format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait(timeout=30)
        for stream in (self._proc.stdin, self._proc.stdout, self._stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    record = make_record()
    assert record.coverage is not None
    record.coverage.files[3].totals = Totals.of(64, 64, 16, 16)  # go.py: fully covered
    root = write_sources(tmp_path / "project")
    return write_html(record, tmp_path / "html", source_root=root).parent


def test_file_page_highlighting_toggles_and_keys_work_in_chromium(report: Path, tmp_path: Path) -> None:
    page = Page(chromium(), tmp_path / "profile-file", (report / file_page(FAILING_FILE)).as_uri())
    try:
        if os.environ.get("MCPTEST_REPORT_FILE_SCREENSHOT"):
            page.screenshot(os.environ["MCPTEST_REPORT_FILE_SCREENSHOT"])
        assert page.js("getComputedStyle(document.querySelector('#L10 .k')).color") == "rgb(207, 34, 46)"
        assert page.js("document.querySelector('#L10 .nb').textContent") == "RuntimeError"
        missing = "getComputedStyle(document.getElementById('L8')).backgroundColor"
        assert page.js(missing) == "rgb(255, 235, 233)"
        page.click("button[data-state=mis]")
        assert page.js(missing) == "rgba(0, 0, 0, 0)"  # the highlight is off, the line is still there
        assert page.js("document.querySelector('button[data-state=mis]').getAttribute('aria-pressed')") == "false"
        page.click("button[data-state=mis]")
        assert page.js(missing) == "rgb(255, 235, 233)"
        page.press("j")
        assert page.js("location.hash") == "#L8"
        page.press("j")
        assert page.js("location.hash") == "#L10"
        page.press("j")
        assert page.js("location.hash") == "#L10"  # no chunk after the last
        page.press("k")
        assert page.js("location.hash") == "#L8"
        page.press("n")
        page.wait_for(f"location.pathname.endsWith({json.dumps(file_page('whatsapp_mcp/sync.py'))})")
        page.loaded()
        page.press("p")
        page.wait_for(f"location.pathname.endsWith({json.dumps(file_page(FAILING_FILE))})")
    finally:
        page.close()


def test_files_page_filter_and_hide_covered_work_in_chromium(report: Path, tmp_path: Path) -> None:
    page = Page(chromium(), tmp_path / "profile-files", (report / "files.html").as_uri())
    visible = (
        "Array.prototype.filter.call(document.querySelectorAll('#files tbody tr'),"
        " function (r) { return r.offsetParent !== null; }).map(function (r) { return r.cells[0].textContent; })"
    )
    try:
        everything = page.js(visible)
        assert isinstance(everything, list) and len(everything) == 5
        assert page.js("document.getElementById('shown').textContent") == "5 of 5 files shown"
        page.click("#filter")
        page.type("BACKENDS/")
        assert page.js(visible) == ["whatsapp_mcp/backends/health.py", "whatsapp_mcp/backends/go.py"]
        page.click("#hide-covered")
        assert page.js(visible) == ["whatsapp_mcp/backends/health.py"]
        assert page.js("document.getElementById('shown').textContent") == "1 of 5 files shown"
        page.click("#filter")
        page.press("n")  # typing in the filter is not a key command
        assert page.js("document.getElementById('filter').value") == "BACKENDS/n"
    finally:
        page.close()


def test_file_page_lists_a_lines_tests_on_click_in_chromium(tmp_path: Path) -> None:
    record = make_record()
    assert record.coverage is not None
    tests = record.all_tests()
    for t in tests:
        t.lines_covered = {}
    tests[0].lines_covered = {FAILING_FILE: [4, 5]}
    tests[1].lines_covered = {FAILING_FILE: [5]}
    record.coverage.files[0].suites = {"unit": [1, 4, 5], "integration": [1, 9]}
    out = write_html(record, tmp_path / "html", source_root=write_sources(tmp_path / "project")).parent
    page = Page(chromium(), tmp_path / "profile-ctx", (out / file_page(FAILING_FILE)).as_uri())
    listed = (
        "Array.prototype.filter.call(document.querySelectorAll('#L5 td.cx li'),"
        " function (e) { return e.checkVisibility() && e.getBoundingClientRect().height > 0; })"
        ".map(function (e) { return e.textContent; })"
    )
    try:
        assert page.js("document.querySelector('#L5 td.cx summary').textContent") == "2"
        assert page.js(listed) == []  # closed until clicked
        page.click("#L5 td.cx summary")
        assert page.js("document.querySelector('#L5 td.cx details').open") is True
        assert page.js(listed) == [tests[0].nodeid, tests[1].nodeid]
        assert page.js("document.querySelector('#L1 td.st').textContent") == "UI"
        assert page.js("document.querySelector('#L9 td.st').textContent") == "I"
        assert page.js("document.querySelectorAll('button.toggle').length") == 4
        page.click("button[data-state=mis]")  # the page's script still runs beside the new cells
        assert page.js("document.querySelector('table.source').classList.contains('hide-mis')") is True
    finally:
        page.close()
