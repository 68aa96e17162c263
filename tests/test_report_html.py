"""The HTML report: summary banner, tables with required values and deltas, file pages, escaping."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mcptest.model import FileCoverage, RunRecord, Totals, Verdict
from mcptest.report import render_pages, write_html
from mcptest.report.views import file_page
from tests.conftest_report import (
    FAILING_FILE,
    HOSTILE,
    REQUIREMENTS,
    make_history,
    make_record,
    write_sources,
)

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class _Text(HTMLParser):
    """Collects the visible text and the tags of a page (what a browser would build, roughly)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def text_of(page: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.text).split()), parser.tags


def row_text(page: str, number: int) -> str:
    """The source text of line ``number`` of a file page, as the reader sees it."""
    row = re.search(rf'<tr id="L{number}"[^>]*>.*?<td class="src">(.*?)</td>', page)
    assert row, f"no row for line {number}"
    return html.unescape(re.sub(r"<[^>]+>", "", row.group(1)))


@pytest.fixture
def pages(tmp_path: Path) -> dict[str, str]:
    root = write_sources(tmp_path / "project")
    return render_pages(make_record(), history=make_history(), requirements=REQUIREMENTS, source_root=root)


def test_every_page_is_rendered(pages: dict[str, str]) -> None:
    assert {"index.html", "files.html", "tests.html", "trend.html", "requirements.html"} <= set(pages)
    assert file_page(FAILING_FILE) in pages
    assert len([p for p in pages if p.startswith("files/")]) == 5


def test_banner_lists_every_failing_verdict(pages: dict[str, str]) -> None:
    text, _ = text_of(pages["index.html"])
    assert "FAILED · suite unit" in text
    assert "exit code 3 · bridge-unavailable" in text
    record = make_record()
    for verdict in record.verdicts:
        if not verdict.passed:
            assert " ".join(verdict.message.split()) in text
    assert "overall line 80.3% >= 70%" not in text  # passing verdicts stay out of the banner


def test_summary_shows_overall_coverage_deltas_outcomes_suites_and_bridges(pages: dict[str, str]) -> None:
    text, _ = text_of(pages["index.html"])
    assert "Line coverage 80.3% ▼ -0.8 · required 70.0" in text
    assert "Branch coverage 71.6% ▲ +0.2" in text
    assert "passed 4 · failed 1 · error 1 · skipped 1" in text
    assert "34.2 s / 30.0 s" in text  # the suite over its budget
    assert "not run / 5 m 00 s" in text
    assert "bridge baileys is unreachable: connection refused on 127.0.0.1:8081" in text
    assert "baileys unreachable ok, degraded http://127.0.0.1:8081" in text
    assert "2 tests failed in suite unit" in text  # the run's reasons
    assert "matches no file measured in this run" in text  # and warnings
    assert "Deltas are against run 20251011T090000-ffee" in text


def test_failing_file_shows_its_required_value_and_negative_delta(pages: dict[str, str]) -> None:
    row = re.search(
        r'<tr class="fail"><td class="mono"><a href="[^"]+">' + re.escape(FAILING_FILE) + r"</a>.*?</tr>",
        pages["files.html"],
        re.S,
    )
    assert row, "the failing file has a marked row"
    cells, _ = text_of(row.group(0))
    assert "77.7%" in cells and "66.6%" in cells
    assert "80.0 / 60.0" in cells
    assert "▼ -2.4" in cells
    assert 'class="delta down"' in row.group(0)
    assert 'class="num bad" data-v="77.77' in row.group(0)
    summary, _ = text_of(pages["index.html"])
    assert "Files failing a gate" in summary and "line dropped 2.35 pp (max 1.0)" in summary


def test_module_table_takes_required_values_from_module_verdicts(pages: dict[str, str]) -> None:
    row = re.search(r"<tr class=\"fail\">\s*<td><strong>routing</strong>.*?</tr>", pages["index.html"], re.S)
    assert row
    cells, _ = text_of(row.group(0))
    assert "77.7%" in cells and "80.0 / –" in cells and "▼ -2.4" in cells


def test_percentages_are_floored_not_rounded_up(tmp_path: Path) -> None:
    record = make_record()
    assert record.coverage is not None
    record.coverage.overall.line_percent = 79.99
    text, _ = text_of(render_pages(record)["index.html"])
    assert "79.9%" in text
    assert "80.0%" not in text


def test_hostile_test_name_is_text_on_every_page(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert HOSTILE not in page, name
        assert page.count("<script") == 1, name  # only the report's own sort script
    for name in ("index.html", "tests.html", "requirements.html"):
        assert ESCAPED in pages[name]
        text, _ = text_of(pages[name])
        assert HOSTILE in text  # shown to the reader as the characters it is made of


def test_pages_are_self_contained(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), name
        assert "<link" not in page and "@import" not in page and "url(" not in page, name
        assert "default-src 'none'" in page  # nothing can be fetched even if something slipped in


def test_sort_script_is_allowed_by_its_hash_only(pages: dict[str, str]) -> None:
    import base64
    import hashlib

    page = pages["files.html"]
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    assert 'class="sortable"' in page


def test_file_page_marks_missing_lines_and_partial_branches(pages: dict[str, str]) -> None:
    page = pages[file_page(FAILING_FILE)]
    assert re.search(r'<tr id="L8" class="mis">', page)
    assert re.search(r'<tr id="L10" class="mis">', page)
    assert re.search(r'<tr id="L6" class="par">.*?→ 8 not taken', page)
    assert re.search(r'<tr id="L5" class="run">', page)
    assert 'href="../index.html"' in page
    assert 'raise RuntimeError("no backend")' in row_text(page, 10)
    text, _ = text_of(page)
    assert "6 → 8" in text and "9 → 10" in text


def test_file_page_says_when_the_source_is_missing(pages: dict[str, str]) -> None:
    text, _ = text_of(pages[file_page("whatsapp_mcp/sync.py")])
    assert "The source file is missing" in text and "whatsapp_mcp/sync.py does not exist" in text


def test_file_page_without_a_project_root_says_so() -> None:
    text, _ = text_of(render_pages(make_record())[file_page(FAILING_FILE)])
    assert "no project root was given" in text
    assert "Missing lines: 8, 10" in text


def test_file_outside_the_project_root_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("TOKEN=abc")
    record = make_record()
    assert record.coverage is not None
    record.coverage.files[0].path = "../secret.txt"
    root = tmp_path / "project"
    root.mkdir()
    page = render_pages(record, source_root=root)[file_page("../secret.txt")]
    assert "TOKEN" not in page and "outside the project root" in page


def test_source_text_is_escaped(tmp_path: Path) -> None:
    root = write_sources(tmp_path)
    (root / FAILING_FILE).write_text(f"x = '{HOSTILE}'\n")
    page = render_pages(make_record(), source_root=root)[file_page(FAILING_FILE)]
    assert HOSTILE not in page and ESCAPED in page


def test_tests_page_lists_outcomes_durations_markers_failure_text_and_slowest(pages: dict[str, str]) -> None:
    page = pages["tests.html"]
    text, _ = text_of(page)
    assert "7 tests · 2 failing · 1 flaky" in text
    slowest = re.search(r'<table id="slowest">.*?</table>', page, re.S)
    assert slowest
    first = re.search(r"<tbody>\s*<tr>.*?</tr>", slowest.group(0), re.S)
    assert first and "test_sync_checkpoint_resumes_after_restart" in first.group(0)
    assert "asyncio" in text and "FR-012" in text
    assert "E AssertionError: expected 'go' got" in text
    assert "fixture 'bridge' not found" in text
    assert "attempts:" in text


def test_trend_is_an_inline_svg_over_the_history(pages: dict[str, str]) -> None:
    page = pages["trend.html"]
    svg = re.search(r"<svg class=\"trend\".*?</svg>", page, re.S)
    assert svg
    assert svg.group(0).count("<path") == 3
    assert svg.group(0).count("<circle") == 3 * 9  # 8 earlier runs and this one, 3 series
    assert "incomplete run" in svg.group(0)  # run 3 of the history did not finish
    text, _ = text_of(page)
    assert "20251012T143000-a1b2" in text and "2025100" in text
    assert "<svg" in pages["index.html"]


def test_trend_without_history_says_what_it_needs() -> None:
    text, _ = text_of(render_pages(make_record())["trend.html"])
    assert "needs at least two runs" in text


def test_requirements_matrix_and_uncovered_ids(pages: dict[str, str]) -> None:
    page = pages["requirements.html"]
    text, _ = text_of(page)
    assert "No test covers: FR-045" in text
    row = re.search(r"<tr[^>]*><td class=\"mono\">FR-020.*?</tr>", page, re.S)
    assert row and "failed" in row.group(0) and ESCAPED in row.group(0)
    fr012 = re.search(r"<tr[^>]*><td class=\"mono\">FR-012.*?</tr>", page, re.S)
    assert fr012 and fr012.group(0).count("badge passed") == 3  # the state and its two tests
    summary, _ = text_of(pages["index.html"])
    assert "Requirements without a test FR-045" in summary


def test_no_requirements_page_when_no_test_carries_an_id() -> None:
    record = make_record()
    for test in record.all_tests():
        test.requirements = []
    pages = render_pages(record)
    assert "requirements.html" not in pages
    assert "requirements.html" not in pages["index.html"]


def test_incomplete_run_is_marked() -> None:
    text, _ = text_of(render_pages(make_record(complete=False))["index.html"])
    assert "INCOMPLETE · suite unit" in text
    assert "This run did not finish" in text


def test_run_without_coverage_says_so() -> None:
    record = make_record()
    record.coverage = None
    pages = render_pages(record)
    text, _ = text_of(pages["index.html"])
    assert "No coverage data in this run." in text and "Line coverage n/a" in text


def test_templates_dir_overrides_one_template_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "trend.html").write_text(
        '{% extends "base.html" %}{% block content %}CUSTOM {{ "<b>" }}{% endblock %}'
    )
    pages = render_pages(make_record(), templates_dir=tmp_path)
    assert "CUSTOM &lt;b&gt;" in pages["trend.html"]  # autoescape applies to custom templates too
    assert "FAILED · suite unit" in pages["index.html"]


def test_write_html_replaces_stale_file_pages(tmp_path: Path) -> None:
    out = tmp_path / "html"
    stale = out / "files" / "old_module_py_00000000.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    index = write_html(make_record(), out)
    assert index == out / "index.html" and index.is_file()
    assert not stale.exists()
    assert (out / file_page(FAILING_FILE)).is_file()


# The loop file.html held before the rows were built in Python (mcptest.report.html.source_rows).
SOURCE_LOOP = """{% for l in lines %}
<tr id="L{{ l.number }}"{% if l.state %} class="{{ l.state }}"{% endif %}><td class="n"><a href="#L{{ l.number }}">{{ l.number }}</a></td><td class="src">{{ l.text }}</td><td class="br">{% if l.branches %}→ {{ l.branches | join(", ") }} not taken{% endif %}</td></tr>
{% endfor %}"""  # noqa: E501


def test_source_rows_are_the_template_loop_they_replace_hostile_text_included() -> None:
    from mcptest.report.html import environment, source_rows
    from mcptest.report.source import SourceLine

    lines = [
        SourceLine(1, "<script>alert('x') & \"y\"</script>", "mis"),
        SourceLine(2, "\x1b[31mred\x1b[0m\tafter a tab \x1b]8;;http://evil\x07link\x1b]8;;\x07", "par", ["47", "exit"]),
        SourceLine(3, "", ""),
        SourceLine(4, "x = '\u202eevil' \x00\x9b", "run", ["<b>&"]),
        SourceLine(5, "    return value  # é ✓", "exc"),
    ]
    rows = source_rows(lines)
    assert str(rows) == environment().from_string(SOURCE_LOOP).render(lines=lines)
    assert "<script>" not in rows and "\x1b" not in rows and "&lt;b&gt;&amp;" in rows
    assert source_rows([]) == ""


def test_file_page_is_highlighted_and_every_line_reads_as_the_file(pages: dict[str, str]) -> None:
    from tests.conftest_report import ROUTING_SOURCE

    page = pages[file_page(FAILING_FILE)]
    assert '<span class="k">raise</span> <span class="nb">RuntimeError</span>' in page
    assert '<span class="k">def</span> <span class="nf">pick</span>' in page
    assert re.search(r'<tr id="L1" class="run"><td class="n">.*?<span class="sd">', page)  # the docstring
    lines = ROUTING_SOURCE.splitlines()
    assert [row_text(page, n) for n in range(1, len(lines) + 1)] == lines
    assert f'id="L{len(lines) + 1}"' not in page


def test_highlighting_keeps_line_numbers_through_multiline_strings_and_odd_breaks(tmp_path: Path) -> None:
    from mcptest.report.source import source_view

    source = '\n\n"""first\nsecond"""\r\nx = 1\x0cy = 2\rz = """a\n\nb"""\n\n'
    (tmp_path / "odd.py").write_text(source, newline="")
    record = make_record()
    assert record.coverage is not None
    view = source_view(FileCoverage("odd.py", Totals.of(5, 5, 0, 0)), tmp_path)
    expected = source.splitlines()
    assert [line.text for line in view.lines] == expected
    for line in view.lines:
        assert line.tokens is not None and "".join(t for _, t in line.tokens) == line.text
    inside = [view.lines[3], view.lines[8]]  # 'second"""' and 'b"""' close strings opened lines before
    assert all(css in ("s", "sd") for line in inside for css, _ in line.tokens or [])
    assert ("m", "1") in (view.lines[4].tokens or [])


def test_unknown_file_types_and_lines_with_control_characters_are_shown_plain(tmp_path: Path) -> None:
    from mcptest.report.html import source_rows
    from mcptest.report.source import SourceLine, highlight

    assert highlight("data.unknown-extension", ["x = 1"]) is None
    tokens = highlight("m.py", ["x = '\x1b[31mred'"])
    assert tokens is not None
    rows = source_rows([SourceLine(1, "x = '\x1b[31mred'", "run", [], tokens[0])])
    assert "<span" not in rows and "\x1b" not in rows and "x = &#39;red&#39;" in rows


def test_file_page_has_the_state_toggles_and_links_to_its_neighbours(pages: dict[str, str]) -> None:
    page = pages[file_page(FAILING_FILE)]
    text, _ = text_of(page)
    assert "run (7)" in text and "missing (2)" in text and "partial (2 lines, 2 branches missed)" in text
    assert "excluded (0)" in text
    for state in ("run", "mis", "par", "exc"):
        assert f'data-state="{state}" aria-pressed="true"' in page
    assert 'id="prev-file"' not in page  # the first file
    assert f'id="next-file" href="../{file_page("whatsapp_mcp/sync.py")}"' in page
    middle = pages[file_page("whatsapp_mcp/backends/health.py")]
    assert f'id="prev-file" href="../{file_page("whatsapp_mcp/sync.py")}"' in middle
    assert f'id="next-file" href="../{file_page("whatsapp_mcp/backends/go.py")}"' in middle


def test_files_page_has_a_filter_and_marks_fully_covered_files(tmp_path: Path) -> None:
    record = make_record()
    assert record.coverage is not None
    record.coverage.files[3].totals = Totals.of(64, 64, 16, 16)  # go.py: nothing missing
    record.coverage.files[1].totals = Totals.of(180, 180, 52, 51)  # sync.py: one branch missing
    page = render_pages(record)["files.html"]
    assert 'id="filter"' in page and 'id="hide-covered"' in page
    assert page.count('data-covered="1"') == 1
    row = re.search(r'<tr data-covered="1"><td class="mono"><a href="([^"]+)"', page)
    assert row and row.group(1) == file_page("whatsapp_mcp/backends/go.py")


def flaky_record(allowed: bool, message: str | None = None) -> RunRecord:
    record = make_record()
    flaky = record.suites[0].tests[5]
    flaky.outcome = "flaky"
    name = flaky.nodeid
    text = message if message is not None else (
        f"suite unit: 1 flaky test(s) allowed by flaky.allow: {name}"
        if allowed
        else f"suite unit: 1 flaky test(s) (outcomes differ between attempts): {name}"
    )
    record.verdicts.append(
        Verdict("flaky", "suite:unit", "count", 0.0 if allowed else 1.0, 0, allowed, "flaky.allow", text)
    )
    return record


def test_tests_page_lists_a_flaky_test_that_failed_the_run_among_the_failures() -> None:
    page = render_pages(flaky_record(allowed=False))["tests.html"]
    failures = re.search(r'<table id="failures">.*?</table>', page, re.S)
    assert failures
    assert "test_health_recovers_after_outage" in failures.group(0)
    assert "attempts: failed, passed" in text_of(failures.group(0))[0]
    assert HOSTILE not in failures.group(0) and ESCAPED in failures.group(0)
    row = re.search(r'<tr id="t5"[^>]*>.*?</tr>', page, re.S)
    assert row and row.group(0).startswith('<tr id="t5" class="fail">')
    assert row.group(0).count("badge flaky") == 1  # its outcome, not a second "flaky" badge
    summary = render_pages(flaky_record(allowed=False))["index.html"]
    listed = re.search(r'<table id="failing-tests">.*?</table>', summary, re.S)
    assert listed and "test_health_recovers_after_outage" in listed.group(0)


def test_an_allowed_flaky_test_is_not_among_the_failures() -> None:
    page = render_pages(flaky_record(allowed=True))["tests.html"]
    failures = re.search(r'<table id="failures">.*?</table>', page, re.S)
    assert failures and "test_health_recovers_after_outage" not in failures.group(0)
    assert re.search(r'<tr id="t5">', page)  # not marked as failing
    text, _ = text_of(page)
    assert "2 failing · 1 flaky" in text


def test_a_flaky_verdict_that_counts_more_than_it_names_lists_every_flaky_test_of_its_suite() -> None:
    page = render_pages(flaky_record(allowed=False, message="suite unit: 1 flaky test(s) (outcomes …"))["tests.html"]
    failures = re.search(r'<table id="failures">.*?</table>', page, re.S)
    assert failures and "test_health_recovers_after_outage" in failures.group(0)


def test_file_page_indexes_functions_and_classes_with_their_own_numbers(tmp_path: Path) -> None:
    from mcptest.report.source import regions

    source = (
        "import os\n"  # 1
        "\n"
        "class Store:\n"  # 3
        "    size = 0\n"  # 4
        "\n"
        "    @property\n"  # 6
        "    def empty(self):\n"  # 7
        "        return not self.size\n"  # 8
        "\n"
        "    def load(self, path):\n"  # 10
        "        def read():\n"  # 11
        "            return open(path).read()\n"  # 12
        "        if path:\n"  # 13
        "            return read()\n"  # 14
        "        return None\n"  # 15
        "\n"
        "async def main():\n"  # 17
        "    return Store()\n"  # 18
        "@overload\n"  # 19
        "def stub(x: int) -> int: ...\n"  # 20: no statement of its own
    )
    f = FileCoverage(
        "store.py",
        Totals.of(13, 9, 2, 1),
        executed_lines=[1, 3, 4, 6, 7, 10, 13, 15, 17, 19],
        missing_lines=[8, 11, 12, 14, 18],
        missing_branches=["13->14"],
    )
    found = {r.name: r for r in regions(f, source)}
    assert list(found) == ["Store", "Store.empty", "Store.load", "Store.load.read", "main"]
    assert found["Store"].kind == "class" and found["main"].kind == "function"
    assert (found["Store"].totals.statements, found["Store"].totals.covered_lines) == (4, 4)  # 4, 6, 7, 10
    assert found["Store.empty"].missing == [8] and found["Store.empty"].totals.line_percent == 0.0
    load = found["Store.load"]
    assert (load.totals.statements, load.missing, load.missing_branches) == (4, [11, 14], 1)
    assert found["Store.load.read"].missing == [12] and found["Store.load.read"].line == 11
    assert regions(f, "def broken(:\n") == []

    (tmp_path / "store.py").write_text(source)
    record = make_record()
    assert record.coverage is not None
    record.coverage.files[0] = f
    page = render_pages(record, source_root=tmp_path)[file_page("store.py")]
    table = re.search(r'<table class="sortable" id="regions">.*?</table>', page, re.S)
    assert table
    text, _ = text_of(table.group(0))
    assert "Store.load function 4 2 50.0% 1" in text
    assert "Store class 4 0 100.0% 0" in text
    assert '<a href="#L10">Store.load</a>' in table.group(0)
    assert "regions" not in render_pages(record)[file_page("store.py")]  # no source, no index


def test_trend_draws_one_series_per_selection_marks_the_baseline_and_tells_same_day_runs_apart() -> None:
    history = make_history()
    history[2].selection.suite = "all"
    history[5].selection.suite = "all"
    history[6].selection.partial = True
    history[7].started_at = "2025-10-12T08:15:00Z"  # the same day as the run reported
    history[7].status = "passed"
    record = make_record()
    assert record.coverage is not None
    record.coverage.baseline_id = history[4].id
    pages = render_pages(record, history=history)
    page = pages["trend.html"]
    svg = re.search(r"<svg class=\"trend\".*?</svg>", page, re.S)
    assert svg
    assert svg.group(0).count("<circle") == 3 * 6  # 5 earlier runs of `run unit` and this one
    assert svg.group(0).count('class="baseline"') == 1
    assert f"baseline {history[4].id}" in svg.group(0)
    assert "2025-10-12 14:30</text>" in svg.group(0) and "2025-10-01</text>" in svg.group(0)
    text = re.sub(r"\s+([,)])", r"\1", text_of(page)[0])
    assert "series: run unit (not drawn: 2 × run all, 1 × run unit (partial))" in text
    runs = re.search(r'<table id="runs">.*?</table>', page, re.S)
    assert runs
    assert history[2].id not in runs.group(0) and history[4].id in runs.group(0)
    assert re.search(rf"{history[4].id} <span class=\"badge passed\">baseline</span>", runs.group(0))
    assert re.search(rf'<tr><td class="mono">{history[7].id}</td>.*?badge passed">passed<', runs.group(0))
    assert runs.group(0).count('badge failed">failed<') == 4  # runs 0, 1, 4 and this one; 3 is incomplete
    assert runs.group(0).count('badge incomplete">incomplete<') == 1  # run 3: one badge, not two


def test_trend_of_a_selection_without_earlier_runs_names_the_others() -> None:
    history = make_history(2)
    for run in history:
        run.selection.suite = "all"
    text = re.sub(r"\s+([,)])", r"\1", text_of(render_pages(make_record(), history=history)["trend.html"])[0])
    assert "No earlier runs of run unit were given to the report" in text
    assert "(2 × run all not compared)" in text


def test_files_table_brpart_counts_partial_lines_and_missed_branches_have_their_own_column(
        pages: dict[str, str]) -> None:
    page = pages["files.html"]
    head = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert head is not None
    headers = re.findall(r"<th[^>]*>(.*?)</th>", head.group(1))
    assert headers[3:6] == ["Branches", "BrPart", "Branches missed"]
    row = re.search(rf'<a href="[^"]+">{re.escape(FAILING_FILE)}</a></td>(.*?)</tr>', page, re.S)
    sync = re.search(r'<a href="[^"]+">whatsapp_mcp/sync.py</a></td>(.*?)</tr>', page, re.S)
    assert row is not None and sync is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    assert cells[:4] == ["9", "2", "6", "2"]  # statements, missing, branches, BrPart (lines 6 and 9)
    assert re.findall(r'<td class="num">(\d+)</td>', sync.group(1))[:5] == ["180", "30", "52", "0", "12"]


def test_a_line_that_never_ran_does_not_also_list_branches_not_taken(tmp_path: Path) -> None:
    from mcptest.report.source import source_view

    (tmp_path / "m.py").write_text("def f(x):\n    if x:\n        return 1\n    return 2\n")
    cov = FileCoverage("m.py", Totals.of(4, 1, 2, 0), executed_lines=[1], missing_lines=[2, 3, 4],
                       missing_branches=["2->3", "2->4"])
    view = source_view(cov, tmp_path)
    assert view.lines[1].state == "mis" and view.lines[1].branches == []


def test_source_that_is_a_fifo_is_named_not_read(tmp_path: Path) -> None:
    # opening a FIFO for reading blocks until a writer comes: the report must not wait for one
    import os
    import threading

    from mcptest.report.source import source_view

    os.mkfifo(tmp_path / "pipe.py")
    views = []
    reader = threading.Thread(
        target=lambda: views.append(source_view(FileCoverage("pipe.py", Totals.of(5, 5, 0, 0)), tmp_path)),
        daemon=True,
    )
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "source_view blocked on a FIFO"
    (view,) = views
    assert view.lines == []
    pipe = tmp_path / "pipe.py"
    assert view.problem == f"The source was not read: {pipe} is a FIFO (named pipe), not a regular file."
