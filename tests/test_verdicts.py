"""Verdicts that cannot lie: what pytest really selected and ran decides partial runs and passes.

Real subprocess runs of the CLI on tiny projects (tests/projects.py). Each fault case takes its expected exit
code from tests/fault_table.py, so docs/faults.md and these tests cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_table import FAULTS
from projects import latest, make_project, mcptest, runs

from mcptest import exitcodes, pytest_output

#: 67 % of the lines run (pkg/text.py is never imported): the overall and per-file gates fail when judged.
LOW = """\
source: [pkg]
coverage:
  overall: {line: 90}
  files:
    pkg/text.py: {line: 100}
suites:
  unit: {paths: [tests], timeout: 30s}
"""
UNTESTED_TEXT = {"tests/test_text.py": "def test_text_not_imported_here():\n    assert 'a'.upper() == 'A'\n"}


def _threshold_targets(record: dict[str, object]) -> set[str]:
    return {v["target"] for v in record["verdicts"] if v["kind"] in ("threshold", "max_drop")}  # type: ignore[attr-defined,index]


@pytest.mark.parametrize("extra", [["-p", "no:cacheprovider"], ["-o", "addopts="], ["-k", "test_"]])
def test_pass_through_arguments_that_select_every_test_keep_the_gates(tmp_path: Path, extra: list[str]) -> None:
    make_project(tmp_path, LOW, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit", "--", *extra)
    assert result.code == FAULTS["passthrough-whole-run"].exit, result.output
    record = latest(tmp_path)
    assert record["selection"]["partial"] is False and record["selection"]["partial_reasons"] == []
    assert {"overall", "file:pkg/text.py"} <= _threshold_targets(record)
    assert record["suites"][0]["selected"] == 5 and record["suites"][0]["deselected"] == 0
    assert "overall line coverage" in result.stdout


def test_keyword_that_deselects_is_partial_says_why_and_gates_nothing(tmp_path: Path) -> None:
    make_project(tmp_path, LOW, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit", "-k", "sign")
    assert result.code == FAULTS["partial-keyword"].exit, result.output
    record = latest(tmp_path)
    assert record["selection"]["partial"] is True
    assert record["selection"]["partial_reasons"] == ["suite unit: -k sign deselected 2 of 5 tests"]
    assert _threshold_targets(record) == set()  # per-file and overall gates cannot be judged on 3 of 5 tests
    warning = next(w for w in record["warnings"] if w.startswith("partial run:"))
    assert "gates are not evaluated, because suite unit: -k sign deselected 2 of 5 tests" in warning
    assert "partial run:" in result.stdout
    assert record["counts"]["total"] == 3
    refused = mcptest(tmp_path, "baseline", "save")
    assert refused.code != 0 and "partial run" in refused.output
    assert mcptest(tmp_path, "report", "--html", "--markdown", "--junit").code == 0
    out = tmp_path / ".mcptest" / "report"
    for page in (out / "html" / "index.html", out / "summary.md", out / "junit.xml"):
        assert "-k sign deselected 2 of 5 tests" in page.read_text(encoding="utf-8"), page
    assert 'type="partial"' in (out / "junit.xml").read_text(encoding="utf-8")


def test_node_id_after_double_dash_narrows_the_suite_to_that_test(tmp_path: Path) -> None:
    make_project(tmp_path, LOW, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit", "--", "tests/test_calc.py::test_add_small_numbers_sum")
    assert result.code == FAULTS["partial-node-id"].exit, result.output
    record = latest(tmp_path)
    assert [t["nodeid"] for t in record["suites"][0]["tests"]] == ["tests/test_calc.py::test_add_small_numbers_sum"]
    assert record["selection"]["partial_reasons"] == [
        "suite unit: the arguments tests/test_calc.py::test_add_small_numbers_sum narrow the suite's paths"
    ]


def test_module_run_gates_only_its_own_files(tmp_path: Path) -> None:
    config = LOW + "modules:\n  calc: {files: [pkg/calc.py], tests: [tests/test_calc.py], line: 100}\n"
    make_project(tmp_path, config, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit", "--module", "calc")
    assert result.code == FAULTS["partial-module"].exit, result.output
    record = latest(tmp_path)
    assert _threshold_targets(record) == {"module:calc"}  # not overall, not pkg/text.py's per-file rule
    assert record["selection"]["partial_reasons"] == ["--module calc runs only its tests"]


STOPPERS = {
    "stop-pytest-exit": "import pytest\n\n\ndef test_a_stop():\n    pytest.exit('enough')\n",
    "stop-pytest-exit-zero": "import pytest\n\n\ndef test_a_stop():\n    pytest.exit('enough', returncode=0)\n",
    "stop-keyboard-interrupt": "def test_a_stop():\n    raise KeyboardInterrupt\n",
}


@pytest.mark.parametrize("case", sorted(STOPPERS))
def test_a_test_that_stops_pytest_is_never_a_pass(tmp_path: Path, case: str) -> None:
    body = STOPPERS[case] + "\n\ndef test_b_never_runs():\n    assert 1 + 1 == 2\n"
    make_project(tmp_path, files={"tests/test_0stop.py": body})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS[case].exit, result.output
    record = latest(tmp_path)
    assert record["complete"] is False and record["status"] == "incomplete"
    suite = record["suites"][0]
    assert suite["status"] == "failing"
    assert "tests/test_0stop.py::test_a_stop" in suite["stopped"]
    assert f"of {suite['selected']} selected test(s) did not run" in suite["stopped"]
    assert any("pytest stopped early" in reason for reason in record["reasons"])
    assert not any(v["kind"] == "threshold" for v in record["verdicts"])
    assert "Traceback" not in result.output


def test_pytest_exit_status_that_contradicts_the_outcomes_fails_loudly(tmp_path: Path) -> None:
    conftest = "def pytest_sessionfinish(session):\n    session.exitstatus = 1\n"
    make_project(tmp_path, files={"conftest.py": conftest})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["pytest-exit-mismatch"].exit, result.output
    record = latest(tmp_path)
    assert record["counts"]["passed"] == 5 and record["counts"]["failed"] == 0
    assert any("pytest exited with status 1 (tests failed) although every test" in r for r in record["reasons"])


COLLECTION = {
    "collect-syntax-error": ({"tests/test_syn.py": "def test_a():\n    x = (\n"}, "tests/test_syn.py:2: SyntaxError"),
    "collect-conftest-import": (
        {"tests/conftest.py": "raise RuntimeError('boom in conftest')\n"},
        "tests/conftest.py:1: conftest failed to import: RuntimeError: boom in conftest",
    ),
    "collect-import-mismatch": (
        {"tests/a/mod.py": '"""\n>>> 1\n1\n"""\n', "tests/b/mod.py": '"""\n>>> 2\n2\n"""\n'},
        "import file mismatch",
    ),
}


@pytest.mark.parametrize("case", sorted(COLLECTION))
def test_collection_errors_name_file_line_and_error_and_skip_gates(tmp_path: Path, case: str) -> None:
    files, expected = COLLECTION[case]
    config = LOW.replace("timeout: 30s}", "timeout: 30s, pytest_args: [--doctest-modules]}")
    make_project(tmp_path, config if case == "collect-import-mismatch" else LOW, files)
    result = mcptest(tmp_path, "run", "unit", "--repeat", "3")
    assert result.code == FAULTS[case].exit, result.output
    record = latest(tmp_path)
    suite = record["suites"][0]
    assert suite["counts"]["error"] >= 1 and suite["status"] == "failing"
    failed = [v["message"] for v in record["verdicts"] if not v["passed"]]
    assert any("collection error(s)" in m and expected in m for m in failed), failed
    assert _threshold_targets(record) == set()  # no coverage gate on a run that ran nothing
    assert any("coverage is not gated, because suite unit had collection errors" in w for w in record["warnings"])
    assert len(list((tmp_path / ".mcptest" / "logs").glob("*.log"))) == 1  # --repeat stopped after the first
    assert "0 tests (0 passed" not in result.stdout


def test_internal_error_after_collection_is_a_crash_not_no_tests(tmp_path: Path) -> None:
    conftest = "def pytest_collection_finish(session):\n    raise ValueError('plugin bug')\n"
    make_project(tmp_path, files={"conftest.py": conftest})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["pytest-internal-error"].exit, result.output
    record = latest(tmp_path)
    reasons = " ".join(record["reasons"])
    assert "pytest crashed with an internal error: ValueError: plugin bug" in reasons
    assert not any(v["kind"] == "collection" for v in record["verdicts"])


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ({"pytest.ini": "[pytest]\naddopts = --bogus-opt\n"}, "(from addopts in pytest.ini)"),
        ({"mcptest.yaml": LOW.replace("30s}", "30s, pytest_args: [--bogus-opt]}")}, "(from suites.unit.pytest_args)"),
        ({}, "(from the command line)"),
    ],
)
def test_rejected_pytest_argument_says_where_it_came_from(tmp_path: Path, where: dict[str, str], source: str) -> None:
    make_project(tmp_path, LOW, where)
    args = ["--", "--bogus-opt"] if not where else []
    result = mcptest(tmp_path, "run", "unit", *args)
    assert result.code == FAULTS["pytest-usage-error-source"].exit, result.output
    reason = latest(tmp_path)["reasons"][0]
    assert reason.endswith("unrecognized arguments: --bogus-opt " + source), reason


def test_a_stopped_run_is_stored_in_runs_as_incomplete_with_its_exit_code(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_0stop.py": STOPPERS["stop-pytest-exit-zero"]})
    assert mcptest(tmp_path, "run", "unit").code == exitcodes.TESTS_FAILED
    (record,) = runs(tmp_path)
    assert record["exit_code"] == exitcodes.TESTS_FAILED and record["status"] == "incomplete"


# --------------------------------------------------------------------------- reading pytest's text


def test_locate_picks_the_users_frame_and_the_exception_line() -> None:
    text = (
        "/venv/site-packages/_pytest/python.py:498: in importtestmodule\n    mod = import_path(...)\n"
        "tests/conftest.py:3: in <module>\n    import nothere\n"
        "E   ModuleNotFoundError: No module named 'nothere'\n"
    )
    found = pytest_output.locate(text)
    assert (found.file, found.line, found.text) == (
        "tests/conftest.py",
        3,
        "ModuleNotFoundError: No module named 'nothere'",
    )


def test_locate_uses_the_syntax_error_position_relative_to_the_root(tmp_path: Path) -> None:
    text = f"E     File \"{tmp_path}/tests/t.py\", line 7\nE       x = (\nE   SyntaxError: '(' was never closed\n"
    found = pytest_output.locate(text, root=tmp_path)
    assert str(found) == "tests/t.py:7: SyntaxError: '(' was never closed"


def test_internal_error_line_and_blame_of_unknown_sources() -> None:
    log = (
        "INTERNALERROR> Traceback (most recent call last):\nINTERNALERROR>   File x\nINTERNALERROR> E   KeyError: 'a'\n"
    )
    assert pytest_output.internal_error(log) == "KeyError: 'a'"
    assert pytest_output.internal_error("all fine") is None
    error = "error: unrecognized arguments: --zap"
    assert pytest_output.blame(error, {"the command line": ["-x"], "suites.u.pytest_args": []}) == (
        " (arguments came from: the command line)"
    )
    assert pytest_output.blame("error: argument -k: expected one argument", {"the command line": ["-k"]}) == (
        " (from the command line)"
    )
