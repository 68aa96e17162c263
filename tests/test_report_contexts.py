"""File pages with the tests that covered each line (``--contexts``) and the suites that ran it (``run all``)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from mcptest.model import RunRecord
from mcptest.report.html import render_pages
from mcptest.report.views import file_page
from tests.conftest_report import FAILING_FILE, HOSTILE, make_record, write_sources
from tests.projects import CONFIG, latest, make_project, mcptest


def _row(page: str, line: int) -> str:
    found = re.search(rf'<tr id="L{line}"[^>]*>.*?</tr>', page, re.S)
    assert found, f"no row for line {line}"
    return found.group(0)


def _tests_of(row: str) -> list[str]:
    """The node ids listed in a row's contexts cell, unescaped, in order."""
    cell = re.search(r'<td class="cx">(.*?)</td>', row, re.S)
    assert cell, row
    return [html.unescape(t) for t in re.findall(r"<li>(.*?)</li>", cell.group(1))]


def _count_of(row: str) -> int | None:
    found = re.search(r'<td class="cx"><details><summary>(\d+)</summary>', row)
    return int(found.group(1)) if found else None


def _marker(row: str) -> str:
    found = re.search(r'<td class="st"[^>]*>([A-Z]*)</td>', row)
    assert found, row
    return found.group(1)


def _with_contexts_and_suites() -> RunRecord:
    record = make_record()
    assert record.coverage is not None
    tests = record.all_tests()
    for t in tests:
        t.lines_covered = {}
    hostile = next(t for t in tests if t.name == HOSTILE)
    tests[0].lines_covered = {FAILING_FILE: [1, 4, 5]}
    tests[1].lines_covered = {FAILING_FILE: [4, 5, 6], "whatsapp_mcp/sync.py": [3]}
    hostile.lines_covered = {FAILING_FILE: [5]}
    routing = record.coverage.files[0]
    routing.suites = {"unit": [1, 4, 5, 6, 7], "integration": [1, 9, 11]}
    return record


def test_each_line_counts_and_lists_the_tests_that_covered_it_escaped(tmp_path: Path) -> None:
    record = _with_contexts_and_suites()
    page = render_pages(record, source_root=write_sources(tmp_path))[file_page(FAILING_FILE)]
    tests = record.all_tests()
    hostile = next(t for t in tests if t.name == HOSTILE)
    assert _count_of(_row(page, 5)) == 3
    assert _tests_of(_row(page, 5)) == [tests[0].nodeid, tests[1].nodeid, hostile.nodeid]
    assert _tests_of(_row(page, 6)) == [tests[1].nodeid]
    assert _count_of(_row(page, 8)) is None and _tests_of(_row(page, 8)) == []  # a missing line: no test
    assert HOSTILE not in page and html.escape(HOSTILE, quote=False) in _row(page, 5)
    assert "click a count" in page and "--contexts</code> to see it" not in page


def test_each_line_marks_the_suite_types_that_ran_it_and_the_files_page_has_their_numbers(tmp_path: Path) -> None:
    record = _with_contexts_and_suites()
    pages = render_pages(record, source_root=write_sources(tmp_path))
    page = pages[file_page(FAILING_FILE)]
    assert _marker(_row(page, 1)) == "UI"
    assert _marker(_row(page, 6)) == "U"
    assert _marker(_row(page, 9)) == "I"
    assert _marker(_row(page, 8)) == ""
    assert 'id="suites-note"' in page
    files = pages["files.html"]
    assert "<th" in files and "Line, unit</th>" in files and "Line, integration</th>" in files
    routing = re.search(rf"<tr[^>]*><td class=\"mono\"><a href=\"[^\"]+\">{FAILING_FILE}</a>.*?</tr>", files, re.S)
    assert routing
    # 9 statements (7 run + 2 missing): unit ran 5 of them, integration 3
    assert re.search(r'>55\.5%</td><td class="num" data-v="[0-9.]+">33\.3%</td></tr>$', routing.group(0))


def test_without_contexts_or_several_suites_nothing_is_shown_and_the_page_says_how(tmp_path: Path) -> None:
    pages = render_pages(make_record(), source_root=write_sources(tmp_path))
    page = pages[file_page(FAILING_FILE)]
    assert "run with <code>--contexts</code> to see it here" in page
    assert 'class="cx"' not in page and 'class="st"' not in page and 'id="suites-note"' not in page
    assert "Line, unit" not in pages["files.html"]


def test_real_run_all_with_contexts_shows_tests_and_suites_per_line(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "  unit: {paths: [tests], timeout: 30s}",
        "  unit: {paths: [tests/test_calc.py]}\n  integration: {paths: [tests/test_text.py, tests/test_both.py]}",
    )
    both = "from pkg.calc import add\n\n\ndef test_add_from_integration():\n    assert add(1, 1) == 2\n"
    make_project(tmp_path, config, {"tests/test_both.py": both})
    result = mcptest(tmp_path, "run", "all", "--contexts", "--html")
    assert result.code == 0, result.output
    record = latest(tmp_path)
    calc = next(f for f in record["coverage"]["files"] if f["path"] == "pkg/calc.py")
    assert calc["suites"]["unit"] == [1, 2, 5, 6, 7, 8, 9, 10]
    assert calc["suites"]["integration"] == [1, 2, 5]  # imports run the defs; add's body ran
    page = (tmp_path / ".mcptest" / "report" / "html" / file_page("pkg/calc.py")).read_text(encoding="utf-8")
    assert _tests_of(_row(page, 2)) == [
        "tests/test_calc.py::test_add_small_numbers_sum",
        "tests/test_both.py::test_add_from_integration",
    ]
    assert _count_of(_row(page, 2)) == 2
    assert _tests_of(_row(page, 10)) == ["tests/test_calc.py::test_sign_zero_zero"]
    assert _marker(_row(page, 2)) == "UI" and _marker(_row(page, 10)) == "U"
    files = (tmp_path / ".mcptest" / "report" / "html" / "files.html").read_text(encoding="utf-8")
    assert "Line, unit</th>" in files and "Line, integration</th>" in files
    text = next(f for f in record["coverage"]["files"] if f["path"] == "pkg/text.py")
    assert set(text["suites"]) <= {"unit", "integration"} and text["suites"]["integration"] == [1, 2, 4]
