"""A real run whose test ids and failure messages hold rich markup and terminal control sequences.

Output is not a terminal (CI logs): the ids are printed as written, minus the control sequences, the
run ends with exit 1 (tests failed, not 70), and the reports written from its record hold no control
character either. The record keeps the raw text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fault_table import FAULTS
from projects import Result, latest, make_project, mcptest

# Python escapes inside the test file's source, so the file itself is plain ASCII.
HOSTILE_TESTS = """\
import pytest

HOSTILE = [
    "[/etc]",
    "[bold]x[/]",
    "asyncio",
    "\\x1b]8;;http://x\\x07link\\x1b]8;;\\x07",
    "\\x1b[2J",
    "\\x9b31m",
    "\\x07",
    "\\r",
]


@pytest.mark.parametrize("text", HOSTILE, ids=HOSTILE)
def test_hostile_text_fails(text):
    assert not text, f"hostile {text} message"
"""
# pytest escapes non-ASCII ids unless told not to; a project may tell it, so mcptest must cope.
PYTEST_INI = "[pytest]\ndisable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"

# ESC, BEL, CR and every other C0 control but newline and tab, DEL, C1 (U+0080-U+009F, 8-bit CSI included)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NODE = "tests/test_hostile.py::test_hostile_text_fails"


@dataclass
class HostileRun:
    root: Path
    run: Result
    report: Result
    record: dict[str, Any]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    root = make_project(
        tmp_path_factory.mktemp("hostile"), files={"tests/test_hostile.py": HOSTILE_TESTS, "pytest.ini": PYTEST_INI}
    )
    run = mcptest(root, "run", "unit")
    report = mcptest(root, "report", "--html", "--markdown", "--junit")
    return HostileRun(root, run, report, latest(root))


def test_hostile_markup_in_ids_and_messages_is_printed_verbatim(hostile: HostileRun) -> None:
    run = hostile.run
    assert run.code == FAULTS["hostile-markup-in-output"].exit, run.output
    assert "Traceback" not in run.output and "internal error" not in run.output
    # the live FAILED lines (stderr) and the summary (stdout) show the ids as written
    assert f"FAILED {NODE}[[/etc]]" in run.stderr
    assert f"FAILED {NODE}[[bold]x[/]]" in run.stderr
    assert f"FAILED {NODE}[asyncio]" in run.stderr
    assert f"{NODE}[[/etc]]" in run.stdout
    assert "exit 1 (tests-failed)" in run.stdout
    failed = {t["nodeid"]: t for s in hostile.record["suites"] for t in s["tests"] if t["outcome"] == "failed"}
    assert len(failed) == 8
    assert "hostile [bold]x[/] message" in failed[f"{NODE}[[bold]x[/]]"]["message"]


def test_hostile_control_sequences_are_stripped_from_every_output(hostile: HostileRun) -> None:
    run, report = hostile.run, hostile.report
    assert run.code == FAULTS["hostile-control-sequences"].exit, run.output
    assert not CONTROL.search(run.stdout), [c for c in CONTROL.findall(run.stdout)]
    assert not CONTROL.search(run.stderr), [c for c in CONTROL.findall(run.stderr)]
    assert f"FAILED {NODE}[link]" in run.stderr  # the hyperlink's text stays, its target goes
    # the record keeps the raw text: it is data, not output
    nodeids = {t["nodeid"] for s in hostile.record["suites"] for t in s["tests"]}
    assert {f"{NODE}[\x1b[2J]", f"{NODE}[\x9b31m]", f"{NODE}[\r]"} <= nodeids

    assert report.code == 0, report.output
    assert not CONTROL.search(report.output)
    out = hostile.root / ".mcptest" / "report"
    written = [out / "summary.md", out / "junit.xml", *sorted((out / "html").rglob("*.html"))]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert not CONTROL.search(text), (path, sorted(set(CONTROL.findall(text))))
    junit = ET.parse(out / "junit.xml").getroot()
    names = {case.get("name") for case in junit.iter("testcase")}
    assert {"test_hostile_text_fails[[/etc]]", "test_hostile_text_fails[link]"} <= names
    assert "[/etc]" in (out / "html" / "tests.html").read_text(encoding="utf-8")
    assert "hostile link message" in (out / "summary.md").read_text(encoding="utf-8")
