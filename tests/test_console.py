"""The terminal report: failures the pytest way, the Missing column, widths, the headline, slowest tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest_report import FAILING_FILE, case, make_record
from projects import CONFIG, make_project, mcptest
from rich.console import Console

from mcptest import exitcodes
from mcptest.console_failures import MAX_FAILURES, comparison_lines
from mcptest.console_report import missing_text, print_record
from mcptest.history.files import _umask
from mcptest.model import FileCoverage, RunRecord, Totals

LONG_PATH = "shop/very_long_package_name/sub_package_of_it/deeply/nested/module_name_that_is_long.py"


def render(record: RunRecord, width: int = 120, **options: object) -> str:
    console = Console(width=width, record=True, color_system=None, emoji=False, highlight=False)
    print_record(console, record, **options)  # type: ignore[arg-type]
    return console.export_text()


def first_column(text: str) -> str:
    """The first column of every table row, joined: a folded name reads whole in it."""
    return "".join(line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│"))


# --- Missing --------------------------------------------------------------------------------------


def test_missing_text_ranges_statements_and_lists_arcs_from_lines_that_ran() -> None:
    file = FileCoverage(
        "pkg/a.py",
        Totals.of(12, 6, 4, 1),
        executed_lines=[1, 2, 5, 20, 22, 30],
        missing_lines=[12, 13, 15, 21, 40],
        missing_branches=["2->5", "22->24", "30->-1", "13->15", "20->21"],
    )
    # 12, 13, 15 are consecutive statements (14 is not one); arcs from or to a missing line are left out
    assert missing_text(file) == "2->5, 12-15, 21, 22->24, 30->exit, 40"


def test_failing_file_shows_missing_and_passing_one_does_not() -> None:
    text = render(make_record(), width=160)
    row = next(line for line in text.splitlines() if FAILING_FILE in line)
    assert "Missing" in text and "8, 10" in row
    sync = next(line for line in text.splitlines() if "whatsapp_mcp/sync.py" in line)
    assert "8, 10" not in sync


def test_show_missing_fills_every_file_and_skip_covered_drops_full_ones() -> None:
    record = make_record()
    assert record.coverage is not None
    record.coverage.files[1].executed_lines = [1, 2]
    record.coverage.files[1].missing_lines = [3, 4]
    record.coverage.files.append(FileCoverage("whatsapp_mcp/full.py", Totals.of(5, 5, 2, 2), executed_lines=[1]))
    text = render(record, width=160, show_missing=True)
    assert "3-4" in next(line for line in text.splitlines() if "whatsapp_mcp/sync.py" in line)
    assert "whatsapp_mcp/full.py" in text
    skipped = render(record, width=160, skip_covered=True)
    assert "whatsapp_mcp/full.py" not in skipped
    assert "1 files skipped due to complete coverage" in skipped


# --- widths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 100, 120])
def test_file_names_and_numbers_are_never_cut(width: int) -> None:
    record = make_record()
    assert record.coverage is not None
    record.coverage.files[2].path = LONG_PATH
    text = render(record, width=width)
    assert all(len(line) <= width for line in text.splitlines() if line[:1] in "┏┃┡│└")  # the tables fit
    assert "…" not in text  # nothing cut with an ellipsis: names fold, columns are dropped
    assert LONG_PATH in first_column(text)
    assert "77.7%" in text and "80.3%" in text and "34.2s" in text


def test_narrow_console_drops_counts_before_percentages_and_says_so() -> None:
    text = render(make_record(), width=80)
    assert "Line %" in text and "Branch %" in text and "Result" in text
    assert "not shown at this width: Lines, Branches" in text
    wide = render(make_record(), width=200)
    assert "not shown at this width" not in wide and "331/412" in wide


# --- failures -------------------------------------------------------------------------------------


def test_short_summary_has_message_comparison_and_log() -> None:
    record = make_record()
    failed = record.suites[0].tests[2]
    failed.longrepr = (
        "def test():\n>       assert x == {'a': 1}\nE       AssertionError: boom\nE\nE         Differing items:"
    )
    failed.message = "AssertionError: boom"
    text = render(record, width=200, logs={"unit": ["/p/.mcptest/logs/r-unit.log"]})
    lines = text.splitlines()
    at = lines.index(next(line for line in lines if "short test summary info" in line))
    assert lines[at + 1] == f"FAILED {failed.nodeid} - AssertionError: boom"
    assert lines[at + 2].strip() == "E         Differing items:"
    assert "ERROR suites/unit/test_sync.py::test_sync_retries_on_503 - fixture 'bridge' not found" in text
    assert "Full log of suite unit: /p/.mcptest/logs/r-unit.log" in text


def test_flaky_test_lists_its_attempts() -> None:
    text = render(make_record(), width=200)
    assert "flaky: suites/unit/test_health.py::test_health_recovers_after_outage - attempts: failed, passed" in text
    assert "attempt 1: failed in 0.40s: ConnectionResetError" in text
    assert "attempt 2: passed in 0.44s" in text


def test_first_failures_only_unless_verbose() -> None:
    record = make_record()
    extra = [case(f"test_many_{n}", "failed", message=f"AssertionError: n{n}") for n in range(15)]
    record.suites[0].tests += extra
    text = render(record, width=200)
    listed = [line for line in text.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    assert len(listed) == MAX_FAILURES
    assert "... and 7 more failed or errored tests" in text
    verbose = render(record, width=200, verbosity=1)
    assert len([line for line in verbose.splitlines() if line.startswith(("FAILED ", "ERROR "))]) == 17


def test_comparison_lines_are_capped_with_a_count() -> None:
    test = case("t", "failed", message="AssertionError: x")
    test.longrepr = "\n".join(f"E   line {n}" for n in range(20))
    lines = comparison_lines(test, 5)
    assert lines[:4] == ["E   line 0", "E   line 1", "E   line 2", "E   line 3"]
    assert lines[4] == "E   ... (16 more lines in the full log)"


def test_long_message_cut_at_a_word_with_a_count() -> None:
    record = make_record()
    record.suites[0].tests[2].message = "word " * 100
    line = next(x for x in render(record, width=1000).splitlines() if x.startswith("FAILED"))
    assert line.endswith("more characters)") and "wor…" not in line and "word…" in line


def test_quiet_keeps_failures_and_headline_only() -> None:
    text = render(make_record(), width=120, verbosity=-1)
    assert "Coverage per file" not in text and "Slowest" not in text
    assert "short test summary info" in text and "exit 3 (bridge-unavailable)" in text


# --- headline and slowest -------------------------------------------------------------------------


def test_headline_is_the_last_line_with_every_number() -> None:
    last = render(make_record(), width=300).rstrip().splitlines()[-1]
    assert last.startswith("1 failed, 1 error, 4 passed, 1 skipped · lines 331/412 80.3% · branches 86/120 71.6%")
    assert "gates 3 met, 4 missed · exit 3 (bridge-unavailable) in 40.1s · run 20251012T143000-a1b2" in last


def test_slowest_table_skips_zero_durations_and_obeys_count() -> None:
    record = make_record()
    for t in record.suites[0].tests:
        t.duration = 0.001
    record.suites[0].tests[3].duration = 2.5
    text = render(record, width=200, slowest=3)
    assert "Slowest 1 tests" in text and "2.50s" in text and "0.00s" not in text
    assert "Slowest" not in render(record, width=200, slowest=0)


# --- end to end -----------------------------------------------------------------------------------

FAILING = """\
from pkg.calc import add


def test_add_wrong_sum_fails():
    assert add(2, 2) == {"sum": 5}
"""


def test_cli_failed_run_prints_summary_log_and_headline(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_fail.py": FAILING})
    result = mcptest(tmp_path, "run", "unit", "--show-missing", "--durations", "0")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    out = result.stdout
    assert "FAILED tests/test_fail.py::test_add_wrong_sum_fails - AssertionError: assert 4 == {'sum': 5}" in out
    log = next(line for line in out.splitlines() if line.startswith("Full log of suite unit: "))
    path = Path(log.removeprefix("Full log of suite unit: "))
    assert path.is_file() and "test_add_wrong_sum_fails" in path.read_text()
    assert "Missing" in out and "Slowest" not in out
    assert out.rstrip().splitlines()[-1].startswith("1 failed, 5 passed · lines ")
    assert "exit 1 (tests-failed)" in out.rstrip().splitlines()[-1]


def test_bridges_table_names_the_suites_of_each_probe() -> None:
    text = render(make_record(), width=120)
    row = next(line for line in text.splitlines() if "baileys" in line and "8081" in line)
    assert "integration" in row.split("│")[2]


def test_baseline_save_of_a_failed_run_is_refused_with_its_own_code(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_fail.py": FAILING})
    assert mcptest(tmp_path, "run", "unit", "-q").code == exitcodes.TESTS_FAILED
    refused = mcptest(tmp_path, "baseline", "save")
    assert refused.code == exitcodes.REFUSED == 7 and "refusing to save" in refused.stderr
    assert exitcodes.name(refused.code) == "refused"
    record = next((tmp_path / ".mcptest" / "runs").glob("*.json"))
    assert record.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as a report is written, not 0600


def test_config_check_prints_the_keys_of_the_yaml_file(tmp_path: Path) -> None:
    config = CONFIG + "flaky:\n  allow: [tests/test_calc.py::test_add_small_numbers_sum]\nmutation: {min_score: 50}\n"
    make_project(tmp_path, config)
    result = mcptest(tmp_path, "config", "check")
    assert result.code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["flaky"] == {"allow": ["tests/test_calc.py::test_add_small_numbers_sum"]}
    assert data["mutation"] == {"min_score": 50.0} and data["suites"]["unit"]["type"] == "unit"
    assert "flaky_allow" not in result.stdout and "test_type" not in result.stdout
    # what it prints is a valid mcptest.yaml that reads back the same
    (tmp_path / "again.yaml").write_text(result.stdout, encoding="utf-8")
    again = mcptest(tmp_path, "config", "check", "-c", "again.yaml")
    assert again.code == 0, again.output
    assert yaml.safe_load(again.stdout) == data


def test_long_names_and_long_missing_fit_80_columns_with_the_name_whole_on_its_line() -> None:
    record = make_record()
    assert record.coverage is not None
    wide = record.coverage.files[0]
    wide.path = "src/iniconfig/exceptions.py"
    wide.executed_lines = list(range(1, 300, 2))
    wide.missing_lines = list(range(2, 300, 2))
    text = render(record, width=80, show_missing=True)
    table = text.split("Coverage per file")[1].split("Coverage per module")[0]
    rows = [line for line in table.splitlines() if line.startswith(("┏", "┃", "│", "└"))]
    assert rows and all(len(line) == 80 and line.rstrip()[-1] in "┓┃│┘" for line in rows)
    assert any(line.startswith("│ src/iniconfig/exceptions.py ") for line in rows)  # the name keeps its line
    assert "2, 4, 6" in table and "298" in table  # every missing line listed, folded between ranges
