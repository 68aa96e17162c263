"""The Markdown summary for pull-request comments and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from pathlib import Path

from mcptest.report import append_step_summary, render_markdown
from tests.conftest_report import FAILING_FILE, HOSTILE, REQUIREMENTS, case, counts_of, make_record


def test_summary_names_the_failure_gates_coverage_and_tests() -> None:
    md = render_markdown(make_record(), requirements=REQUIREMENTS)
    assert md.startswith("### ❌ mcptest failed · suite `unit`")
    assert "Exit code 3 (bridge-unavailable)" in md
    assert (
        "- **max\\_drop** `file:whatsapp_mcp/routing.py`: whatsapp\\_mcp/routing.py: line dropped 2.35 pp"
        in md
    )
    assert "| **Overall** | 80.3% (▼ -0.8) | 71.6% (▲ +0.2) | 7 | 4 | 1 | 1 | 1 |" in md
    assert f"| `{FAILING_FILE}` | 77.7% | 66.6% | 80.0 / 60.0 | ▼ -2.4 |" in md
    assert "| `unit` | **34.2 s** ❌ | 30.0 s |" in md
    assert "| `integration` | not run | 5 m 00 s |" in md
    assert "- `baileys` unreachable: connection refused" in md
    assert "**Requirements without a test:** `FR-045`" in md
    assert "**Flaky tests**" in md
    assert "deltas against `20251011T090000-ffee`" in md


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
