"""The Markdown summary for pull-request comments and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from pathlib import Path

from mcptest.model import Attempt, RunRecord, TestCase, Totals, Verdict
from mcptest.report import append_step_summary, render_markdown
from tests.conftest_report import FAILING_FILE, HOSTILE, REQUIREMENTS, case, counts_of, make_record


def test_summary_names_the_failure_gates_coverage_and_tests() -> None:
    md = render_markdown(make_record(), requirements=REQUIREMENTS)
    assert md.startswith("### ❌ mcptest failed · suite `unit`")
    assert "Exit code 3 (bridge-unavailable)" in md
    # the file's failed gates are said once, in its row of the files table, with their reasons
    assert "line dropped 2.35 pp \\(max 1.0\\)" in md and "**max\\_drop** `file:" not in md
    assert "| **Overall** | 80.3% (▼ -0.8) | 71.6% (▲ +0.2) | 78.3% | 7 | 4 | 1 | 1 | 1 |" in md
    assert f"| `{FAILING_FILE}` | 77.7% | 66.6% | line 80 · branch 60 | ▼ -2.4 |" in md
    assert "| `unit` | **34.2 s** ❌ | 30.0 s |" in md
    assert "| `integration` | not run | 5 m 00 s |" in md
    assert "- `baileys` unreachable: connection refused" in md
    assert "**Requirements without a test:** `FR-045`" in md
    assert "**Flaky tests**" in md
    assert "deltas against run `20251011T090000-ffee`" in md


def test_hostile_text_is_inert_in_markdown() -> None:
    md = render_markdown(make_record())
    # In a code span the name is shown literally by GitHub; outside one it is entity-escaped.
    assert f"`suites/unit/test_routing.py::{HOSTILE}`" in md
    outside = md.replace(f"`suites/unit/test_routing.py::{HOSTILE}`", "")
    assert "<script" not in outside
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in outside
    assert "\\[x\\]\\(http://evil\\)" in outside  # no link
    assert "@octocat" not in outside  # no mention
    assert "\\| \\*bold\\*" in outside  # no table break, no emphasis


def test_incomplete_and_passing_runs() -> None:
    md = render_markdown(make_record(complete=False))
    assert md.startswith("### ⚠️ mcptest run incomplete")
    assert "**Incomplete run:**" in md
    record = make_record()
    record.status, record.exit_code, record.exit_reason = "passed", 0, "ok"
    record.verdicts = [v for v in record.verdicts if v.passed]
    record.reasons = []
    for suite in record.suites:
        suite.tests = [t for t in suite.tests if t.outcome not in ("failed", "error")]
    md = render_markdown(record)
    assert md.startswith("### ✅ mcptest passed")
    assert "Failing gates" not in md and "Failing tests" not in md


def test_long_lists_are_cut_with_a_count() -> None:
    record = make_record()
    tests = [case(f"test_{i}", "failed", message="boom") for i in range(45)]
    record.suites[0].tests = tests
    record.suites[0].counts = counts_of(tests)
    md = render_markdown(record)
    assert md.count("- failed `") == 20
    assert "- … and 25 more" in md


def test_step_summary_is_appended_when_the_variable_is_set(tmp_path: Path) -> None:
    target = tmp_path / "step_summary.md"
    target.write_text("earlier step\n")
    assert append_step_summary("## one", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert append_step_summary("## two\n", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text() == "earlier step\n## one\n## two\n"
    assert append_step_summary("## three", {}) is None


def real_reasons(record: RunRecord) -> RunRecord:
    """Reasons as the runner writes them: the messages of the failed verdicts."""
    record.reasons = [v.message for v in record.verdicts if not v.passed]
    return record


def test_no_reason_is_said_twice() -> None:
    md = render_markdown(real_reasons(make_record()))
    assert "**Reasons**" not in md and "**Other reasons**" not in md
    for v in make_record().verdicts:
        if not v.passed:
            text = v.message.replace("_", "\\_").replace("(", "\\(").replace(")", "\\)").replace("<", "&lt;")
            assert md.count(text.replace(">", "&gt;")) == 1, v.message
    # a reason no gate says keeps its own line
    record = real_reasons(make_record())
    record.reasons.append("the record could not be stored: disk full")
    assert "**Other reasons**\n\n- the record could not be stored: disk full" in render_markdown(record)


def flaky_case(name: str, *outcomes: str) -> TestCase:
    t = case(name, "flaky")
    t.flaky = True
    t.attempts = [Attempt(o, 0.1) for o in outcomes]
    return t


def test_flaky_label_follows_the_order_of_the_attempts() -> None:
    record = make_record()
    tests = [flaky_case("test_late", "passed", "failed"), flaky_case("test_early", "failed", "passed")]
    record.suites[0].tests = tests
    record.suites[0].counts = counts_of(tests)
    record.verdicts.append(Verdict("flaky", "suite:unit", "count", 0.0, 0, True, "flaky.allow", "allowed"))
    md = render_markdown(record)
    assert "- `suites/unit/test_routing.py::test_late`: passed, then failed (allowed by flaky.allow)" in md
    assert "- `suites/unit/test_routing.py::test_early`: failed, then passed (allowed by flaky.allow)" in md
    assert "(failed, then passed):" not in md  # no fixed label over tests whose order differs
    record.verdicts[-1] = Verdict("flaky", "suite:unit", "count", 2.0, 0, False, "flaky.allow", "blocked")
    assert "test_late`: passed, then failed (failed the run)" in render_markdown(record)


def test_a_file_failing_only_on_max_drop_shows_its_reason_and_no_required_figure() -> None:
    record = make_record()
    record.verdicts = [v for v in record.verdicts if v.target != f"file:{FAILING_FILE}" or v.kind == "max_drop"]
    md = render_markdown(record)
    row = next(line for line in md.splitlines() if line.startswith(f"| `{FAILING_FILE}` | 77.7%"))
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[3] == "–"  # no threshold applies: no "required 0.0", no "n/a / n/a"
    assert cells[5] == "whatsapp\\_mcp/routing.py: line dropped 2.35 pp \\(max 1.0\\)"
    assert "0.0 /" not in md and "n/a / n/a" not in md


def test_every_delta_says_what_it_was_compared_against() -> None:
    record = make_record()
    assert record.coverage is not None
    record.coverage.baseline_id = "20251012T100000-prev"  # e.g. report --against previous
    md = render_markdown(record)
    lines = [line for line in md.splitlines() if ("Δ" in line or "against" in line) and "floored" not in line]
    assert len(lines) >= 4 and all("`20251012T100000-prev`" in line for line in lines), lines
    assert "against the baseline" not in md
    record.coverage.baseline_id = None
    for t in [record.coverage.overall, *(f.totals for f in record.coverage.files)]:
        t.delta_line = t.delta_branch = None
    md = render_markdown(record)
    assert "(Δ" not in md and "▼" not in md and "deltas against" not in md


def test_cover_is_the_combined_figure_of_coverage_report_floored_like_the_rest() -> None:
    record = make_record()
    assert record.coverage is not None
    record.coverage.overall = Totals.of(10001, 7999, 0, 0)  # 79.98 %: coverage report would show 80%
    md = render_markdown(record)
    overall = next(line for line in md.splitlines() if line.startswith("| **Overall**"))
    assert overall.split(" | ")[3] == "79.9%"
    assert "floored to one decimal" in md
