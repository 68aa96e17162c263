"""The audit as a gate of `mcptest run` and as its own command."""

from __future__ import annotations

import json
from pathlib import Path

from projects import CONFIG, latest, make_project, mcptest

from mcptest import exitcodes
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
