"""The audit as a gate of `mcptest run` and as its own command."""

from __future__ import annotations

import json
from pathlib import Path

from projects import CONFIG, latest, make_project, mcptest

from mcptest import exitcodes
from mcptest.audit import BY_ID, RULES
from mcptest.history import validate

WEAK = "def test_weak_assertion_always_passes():\n    assert True\n"


def test_run_with_audit_gate_fails_on_a_test_that_cannot_fail(tmp_path: Path) -> None:
    make_project(tmp_path, CONFIG + "audit: {gate: true}\n", {"tests/test_weak.py": WEAK})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    assert "audit: 1 finding(s) in the suites' tests: tests/test_weak.py:2 always-true" in result.stdout
    record = latest(tmp_path)
    validate(record)
    assert [(f["rule"], f["file"], f["line"]) for f in record["audit"]] == [("always-true", "tests/test_weak.py", 2)]


def test_run_without_audit_gate_does_not_audit(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_weak.py": WEAK})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.OK, result.output
    assert latest(tmp_path)["audit"] is None


def test_audit_command_gate_and_json(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        files={
            "tests/test_weak.py": WEAK,
            "other/test_lost.py": "def test_lost_file_never_runs():\n    assert 1 == 2\n",
        },
    )
    listed = mcptest(tmp_path, "audit")
    assert listed.code == exitcodes.OK  # a listing, not a gate
    assert "tests/test_weak.py:2: always-true" in listed.stdout
    assert "other/test_lost.py:1: not-wired" in listed.stdout
    gated = mcptest(tmp_path, "audit", "--gate", "--json")
    assert gated.code == exitcodes.TESTS_FAILED
    data = json.loads(gated.stdout)
    assert {f["rule"] for f in data["findings"]} == {"always-true", "not-wired"}
    excluded = mcptest(tmp_path, "audit", "--gate", "-c", "mcptest.yaml")
    assert excluded.code == exitcodes.TESTS_FAILED
    (tmp_path / "mcptest.yaml").write_text(CONFIG + "audit: {exclude: [other]}\n")
    (tmp_path / "tests" / "test_weak.py").unlink()
    clean = mcptest(tmp_path, "audit", "--gate")
    assert clean.code == exitcodes.OK, clean.output


def test_audit_counts_per_rule_in_record_and_html(tmp_path: Path) -> None:
    unchecked = "\n\ndef test_weak_value_never_checked():\n    result = sum([1])\n    assert sum([2])\n"
    files = {"tests/test_weak.py": WEAK + unchecked}
    make_project(tmp_path, CONFIG + "audit: {gate: true}\n", files)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    assert "(per rule: always-true 1, unchecked-value 1)" in result.stdout
    record = latest(tmp_path)
    validate(record)
    counts = record["audit_counts"]
    assert (counts["always-true"], counts["unchecked-value"], counts["no-assert"]) == (1, 1, 0)
    assert list(counts) == list(RULES)
    assert mcptest(tmp_path, "report", "--html").code == exitcodes.OK
    page = (tmp_path / ".mcptest" / "report" / "html" / "index.html").read_text(encoding="utf-8")
    table = page[page.index('<table id="audit">') : page.index("</table>", page.index('<table id="audit">'))]
    assert '<td class="mono">always-true</td><td class="num">1</td>' in table
    assert '<td class="mono">unchecked-value</td><td class="num">1</td>' in table
    assert "no-assert" not in table
    assert "tests/test_weak.py:6 <strong>unchecked-value</strong>" in page


def test_audit_command_prints_count_why_and_fix_per_rule(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_weak.py": WEAK})
    listed = mcptest(tmp_path, "audit")
    rule = BY_ID["always-true"]
    assert f"  always-true 1: {rule.why}; fix: {rule.hint}" in " ".join(listed.stdout.split("\n"))
