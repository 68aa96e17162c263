"""Real subprocess runs of ``mcptest run`` on tiny throwaway projects: exit code, table and record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from projects import CONFIG, env, latest, make_project, mcptest, runs

from mcptest import exitcodes
from mcptest.history import validate

UNTESTED_TEXT = {
    "tests/test_text.py": "import pkg.text\n\n\ndef test_text_module_loads_has_shout():\n"
    "    assert callable(pkg.text.shout)\n"
}


def check_record(data: dict) -> None:
    validate(data)  # raises when the record does not follow the shipped schema


def test_run_all_passing_exits_ok_with_table_and_valid_record(tmp_path: Path) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.OK, result.output
    assert "pkg/calc.py" in result.stdout and "TOTAL" in result.stdout
    assert "exit 0 (ok)" in result.stdout
    record = latest(tmp_path)
    check_record(record)
    assert record["status"] == "passed" and record["complete"] is True
    assert record["counts"]["passed"] == 5 and record["counts"]["total"] == 5
    files = {f["path"]: f for f in record["coverage"]["files"]}
    assert set(files) == {"pkg/__init__.py", "pkg/calc.py", "pkg/text.py"}  # tests are never measured
    calc = files["pkg/calc.py"]["totals"]
    assert calc["statements"] == 8 and calc["covered_lines"] == 8 and calc["branches"] == 4
    case = next(t for t in record["suites"][0]["tests"] if t["name"] == "test_sign_zero_zero")
    assert case["file"] == "tests/test_calc.py" and case["line"] == 16 and case["outcome"] == "passed"
    assert record["meta"]["schema_version"] == 1 and record["meta"]["command"][:3] == ["mcptest", "run", "unit"]


def test_run_per_file_miss_names_file_number_and_required(tmp_path: Path) -> None:
    config = CONFIG.replace("  overall: {line: 50}", '  overall: {line: 50}\n  files:\n    "pkg/t*.py": {line: 90}')
    make_project(tmp_path, config, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.THRESHOLD_MISSED, result.output
    assert "pkg/text.py line coverage 25.0% is below the required 90%" in result.stdout
    record = latest(tmp_path)
    check_record(record)
    failed = [v for v in record["verdicts"] if not v["passed"]]
    assert [(v["target"], v["metric"], v["required"]) for v in failed] == [("file:pkg/text.py", "line", 90.0)]
    assert failed[0]["actual"] == pytest.approx(25.0)


def test_run_module_miss_fails_on_the_group_numbers(tmp_path: Path) -> None:
    config = CONFIG + "modules:\n  texts: {files: [pkg/text.py], tests: [tests/test_text.py], line: 60}\n"
    make_project(tmp_path, config, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.THRESHOLD_MISSED, result.output
    assert "module texts line coverage 25.0% is below the required 60%" in result.stdout
    assert "Coverage per module" in result.stdout


def test_run_overall_miss_exits_threshold(tmp_path: Path) -> None:
    config = CONFIG.replace("{line: 50}", "{line: 95, branch: 10}")
    make_project(tmp_path, config, UNTESTED_TEXT)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.THRESHOLD_MISSED
    assert "overall line coverage 75.0% is below the required 95%" in result.stdout
    overall = [v for v in latest(tmp_path)["verdicts"] if v["target"] == "overall"]
    assert {(v["metric"], v["passed"]) for v in overall} == {("line", False), ("branch", True)}


def test_run_failing_test_exits_tests_failed_and_keeps_the_message(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        files={
            "tests/test_text.py": "from pkg.text import shout\n\n"
            "def test_shout_word_wrong_expectation():\n    assert shout('a') == 'B!'\n"
        },
    )
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    record = latest(tmp_path)
    check_record(record)
    case = next(t for t in record["suites"][0]["tests"] if t["outcome"] == "failed")
    assert case["nodeid"] == "tests/test_text.py::test_shout_word_wrong_expectation"
    assert "assert 'A!' == 'B!'" in case["message"]
    assert "def test_shout_word_wrong_expectation" in case["longrepr"]
    assert record["suites"][0]["status"] == "failing"


def test_run_several_failures_print_every_reason_and_pick_by_precedence(tmp_path: Path) -> None:
    config = CONFIG.replace("{line: 50}", "{line: 99}")
    make_project(tmp_path, config, {"tests/test_text.py": "def test_text_always_fails_red():\n    assert 1 == 2\n"})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED  # tests failed wins over a missed threshold
    assert "suite unit: 4 passed, 1 failed" in result.stdout
    assert "overall line coverage" in result.stdout and "below the required 99%" in result.stdout


def test_run_no_tests_collected_exits_no_tests(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_calc.py": "# nothing yet\n", "tests/test_text.py": "X = 1\n"})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.NO_TESTS_OR_DATA, result.output
    assert "suite unit: no tests collected from tests" in result.stdout
    check_record(latest(tmp_path))


def test_run_bad_config_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    make_project(tmp_path, CONFIG.replace("{line: 50}", "{line: 150}"))
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.CONFIG_ERROR
    assert (
        result.stderr.strip() == "mcptest: error: mcptest.yaml:3: coverage.overall.line: 150 is not between 0 and 100"
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / ".mcptest").exists()


def test_run_source_that_does_not_exist_is_its_own_error(tmp_path: Path) -> None:
    make_project(tmp_path, CONFIG.replace("source: [pkg]", "source: [src]"))
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.NO_TESTS_OR_DATA
    assert "'src' yields no coverage data" in result.stderr and "0.0%" not in result.output


def test_run_source_with_no_python_files_measures_nothing_and_says_so(tmp_path: Path) -> None:
    make_project(tmp_path, CONFIG.replace("source: [pkg]", "source: [data]"), {"data/readme.txt": "x"})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.NO_TESTS_OR_DATA, result.output
    assert "yielded no coverage data" in result.stdout
    record = latest(tmp_path)
    assert record["coverage"] is None and [v["kind"] for v in record["verdicts"] if not v["passed"]] == ["data"]


@pytest.mark.parametrize(
    ("body", "death"),
    [
        ("import os\n    os._exit(3)", "exited with code 3"),
        ("import ctypes\n    ctypes.string_at(0)", "killed by signal SIGSEGV"),
    ],
)
def test_run_test_process_that_dies_fails_the_run(tmp_path: Path, body: str, death: str) -> None:
    make_project(tmp_path, files={"tests/test_zdie.py": f"def test_die_hard_crash():\n    {body}\n"})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    assert death in result.stdout
    record = latest(tmp_path)
    check_record(record)
    assert record["complete"] is False and record["status"] == "incomplete"
    assert record["suites"][0]["counts"]["passed"] == 5  # what reported before the crash is kept


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mcptest", *args],
        cwd=root,
        env=env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


BLOCKING_TEST = """\
import pathlib, time

def test_block_until_released_waits():
    flag = pathlib.Path(__file__).with_name("started.flag")
    flag.write_text("x")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not flag.with_name("release.flag").exists():
        time.sleep(0.05)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_interrupted_keeps_latest_and_baseline_and_marks_incomplete(tmp_path: Path, sig: signal.Signals) -> None:
    make_project(tmp_path)
    assert mcptest(tmp_path, "run", "unit").code == 0
    assert mcptest(tmp_path, "baseline", "save").code == 0
    before_latest = (tmp_path / ".mcptest" / "latest.json").read_bytes()
    before_baseline = (tmp_path / ".mcptest" / "baseline.json").read_bytes()
    (tmp_path / "tests" / "test_zblock.py").write_text(BLOCKING_TEST)
    proc = _start(tmp_path, "run", "unit")
    flag = tmp_path / "tests" / "started.flag"
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "the blocking test never started"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == exitcodes.INTERRUPTED, out + err
    assert (tmp_path / ".mcptest" / "latest.json").read_bytes() == before_latest
    assert (tmp_path / ".mcptest" / "baseline.json").read_bytes() == before_baseline
    partial = [r for r in runs(tmp_path) if not r["complete"]]
    assert len(partial) == 1 and partial[0]["status"] == "incomplete" and partial[0]["exit_code"] == 130
    check_record(partial[0])


def test_run_two_at_once_both_records_complete_and_latest_whole(tmp_path: Path) -> None:
    make_project(tmp_path)
    procs = [_start(tmp_path, "run", "unit", "--wait-lock", "120") for _ in range(2)]  # one waits for the other
    codes = [p.wait(timeout=120) for p in procs]
    for p in procs:
        p.communicate()
    assert codes == [0, 0]
    records = runs(tmp_path)
    assert len(records) == 2
    for record in records:
        check_record(record)
        assert record["complete"] and record["counts"]["passed"] == 5
    assert latest(tmp_path)["id"] in {r["id"] for r in records}


@pytest.mark.parametrize("garbage", ["{not json", '{"kind": "something-else"}', "[1, 2, 3]"])
def test_run_with_corrupt_baseline_warns_and_runs_without_it(tmp_path: Path, garbage: str) -> None:
    make_project(tmp_path)
    (tmp_path / ".mcptest").mkdir()
    (tmp_path / ".mcptest" / "baseline.json").write_text(garbage)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.OK, result.output
    assert "warning: baseline" in result.stdout and "ignoring it" in result.stdout
    record = latest(tmp_path)
    assert record["coverage"]["baseline_id"] is None
    assert any("baseline" in w for w in record["warnings"])


def test_baseline_delta_and_max_drop_after_coverage_falls(tmp_path: Path) -> None:
    config = CONFIG.replace("  overall: {line: 50}", "  overall: {line: 50}\n  max_drop: 5")
    make_project(tmp_path, config)
    assert mcptest(tmp_path, "run", "unit").code == 0
    saved = mcptest(tmp_path, "baseline", "save")
    assert saved.code == 0 and "as the baseline" in saved.stdout
    (tmp_path / "tests" / "test_text.py").write_text(UNTESTED_TEXT["tests/test_text.py"])
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.THRESHOLD_MISSED, result.output
    assert "pkg/text.py line coverage dropped 50.0 pp against the baseline (max_drop 5 pp)" in result.stdout
    assert "-50.0" in result.stdout and "-50.00" not in result.stdout  # the delta column, floored to one decimal
    text = next(f for f in latest(tmp_path)["coverage"]["files"] if f["path"] == "pkg/text.py")
    assert text["totals"]["delta_line"] == pytest.approx(-50.0)
    refused = mcptest(tmp_path, "baseline", "save")
    assert refused.code == exitcodes.REFUSED and "refusing to save" in refused.stderr
    assert mcptest(tmp_path, "baseline", "save", "--force").code == 0


def test_run_past_its_budget_is_stopped_with_budget_code(tmp_path: Path) -> None:
    config = CONFIG.replace("timeout: 30s", "timeout: 30s, budget: 2s")
    make_project(tmp_path, config, {"tests/test_zslow.py": BLOCKING_TEST})
    started = time.monotonic()
    result = mcptest(tmp_path, "run", "unit")
    assert time.monotonic() - started < 30
    assert result.code == exitcodes.BUDGET_EXCEEDED, result.output
    assert "suite unit ran past its budget of 2s and was stopped" in result.stdout


def test_run_with_contexts_records_lines_per_test(tmp_path: Path) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, "run", "unit", "--contexts")
    assert result.code == 0, result.output
    tests = {t["name"]: t for t in latest(tmp_path)["suites"][0]["tests"]}
    assert tests["test_sign_zero_zero"]["lines_covered"] == {"pkg/calc.py": [6, 8, 10]}
    assert tests["test_shout_word_upper"]["lines_covered"] == {"pkg/text.py": [2, 4]}


def test_run_module_selection_is_partial_and_gates_only_the_module(tmp_path: Path) -> None:
    config = CONFIG.replace("{line: 50}", "{line: 99}") + (
        "modules:\n  calc: {files: [pkg/calc.py], tests: [tests/test_calc.py], line: 100}\n"
    )
    make_project(tmp_path, config)
    result = mcptest(tmp_path, "run", "unit", "--module", "calc")
    assert result.code == 0, result.output
    record = latest(tmp_path)
    assert record["selection"]["partial"] is True and record["counts"]["total"] == 4
    assert {v["target"] for v in record["verdicts"] if v["kind"] == "threshold"} == {"module:calc"}
    refused = mcptest(tmp_path, "baseline", "save")
    assert refused.code == exitcodes.REFUSED and "only part of the suite" in refused.stderr


def test_run_all_reports_per_suite_and_combined(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "  unit: {paths: [tests], timeout: 30s}",
        "  calc: {paths: [tests/test_calc.py]}\n  text: {paths: [tests/test_text.py]}",
    )
    make_project(tmp_path, config)
    result = mcptest(tmp_path, "run", "all")
    assert result.code == 0, result.output
    record = latest(tmp_path)
    suites = {s["name"]: s for s in record["suites"]}
    assert suites["calc"]["coverage"]["covered_lines"] == 8  # the calc tests never import pkg.text
    assert suites["text"]["counts"]["passed"] == 1
    assert record["coverage"]["overall"]["covered_lines"] == 11  # combined: calc 8 + text 3
    assert record["coverage"]["overall"]["statements"] == 12


def test_run_unknown_suite_is_a_usage_error(tmp_path: Path) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, "run", "nightly")
    assert result.code == exitcodes.CONFIG_ERROR
    assert result.stderr.strip() == "mcptest: error: unknown suite 'nightly' (suites in mcptest.yaml: unit, all)"


def test_run_passes_extra_arguments_to_pytest(tmp_path: Path) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, "run", "unit", "--", "-k", "sign")
    assert result.code == 0, result.output
    record = latest(tmp_path)
    assert record["counts"]["total"] == 3 and record["selection"]["pytest_args"] == ["-k", "sign"]
    bad = mcptest(tmp_path, "run", "unit", "--", "--no-such-pytest-flag")
    assert bad.code == exitcodes.CONFIG_ERROR and "unrecognized arguments: --no-such-pytest-flag" in bad.stdout


def test_record_json_is_stable_for_readers(tmp_path: Path) -> None:
    make_project(tmp_path)
    assert mcptest(tmp_path, "run", "unit").code == 0
    path = tmp_path / ".mcptest" / "latest.json"
    data = json.loads(path.read_text())
    run_file = tmp_path / ".mcptest" / "runs" / f"{data['id']}.json"
    assert run_file.read_text() == path.read_text()
    assert not (tmp_path / ".mcptest" / "tmp").exists()  # temporary coverage data is cleaned up
    assert os.listdir(tmp_path / ".mcptest" / "logs")


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_run_parallel_workers_give_the_serial_numbers(tmp_path: Path) -> None:
    make_project(tmp_path)
    assert mcptest(tmp_path, "run", "unit").code == 0
    serial = latest(tmp_path)
    result = mcptest(tmp_path, "run", "unit", "-n", "2")
    assert result.code == 0, result.output
    parallel = latest(tmp_path)
    assert parallel["selection"]["workers"] == "2" and parallel["counts"]["passed"] == 5
    assert [f["totals"] for f in parallel["coverage"]["files"]] == [f["totals"] for f in serial["coverage"]["files"]]
    assert sorted(t["nodeid"] for t in parallel["suites"][0]["tests"]) == sorted(
        t["nodeid"] for t in serial["suites"][0]["tests"]
    )
    case = next(t for t in parallel["suites"][0]["tests"] if t["name"] == "test_sign_zero_zero")
    assert case["file"] == "tests/test_calc.py" and case["line"] == 16  # metadata crosses from the workers


PROJECT_SETTINGS = """\
[tool.coverage.run]
omit = ["pkg/text.py"]

[tool.coverage.report]
exclude_also = ["def unreachable_helper"]

[tool.pytest.ini_options]
markers = ["slow: a slow test"]
addopts = "--strict-markers"
"""


def test_run_respects_the_projects_coverage_and_pytest_settings(tmp_path: Path) -> None:
    calc = "def add(a, b):\n    return a + b\n\n\ndef unreachable_helper():\n    return 1\n"
    tests = (
        "import pytest\nfrom pkg.calc import add\n\n\n@pytest.mark.slow\ndef test_add_small_numbers_sum():\n"
        "    assert add(1, 2) == 3\n"
    )
    make_project(
        tmp_path,
        files={"pyproject.toml": PROJECT_SETTINGS, "pkg/calc.py": calc, "tests/test_calc.py": tests},
    )
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == 0, result.output
    record = latest(tmp_path)
    files = {f["path"]: f for f in record["coverage"]["files"]}
    assert "pkg/text.py" not in files  # the project's [tool.coverage.run] omit
    assert files["pkg/calc.py"]["totals"]["statements"] == 2  # exclude_also removed the helper
    assert files["pkg/calc.py"]["excluded_lines"] == [5, 6]
    case = record["suites"][0]["tests"][0]
    assert "slow" in case["markers"]
    (tmp_path / "tests" / "test_calc.py").write_text(tests.replace("mark.slow", "mark.unknown_marker"))
    strict = mcptest(tmp_path, "run", "unit")  # the project's --strict-markers still applies
    assert strict.code == exitcodes.TESTS_FAILED, strict.output
    assert "collection error" in strict.stdout


def test_coverage_mode_falls_back_to_coverage_run_for_measured_pytest_plugins(tmp_path: Path) -> None:
    from mcptest.config import load_config
    from mcptest.plan import coverage_mode

    make_project(tmp_path)
    config = load_config(tmp_path / "mcptest.yaml")
    assert coverage_mode(config) == "plugin"
    config.source = ["mcptest"]  # mcptest registers no pytest plugin on install
    assert coverage_mode(config) == "plugin"
    config.source = ["pytest_timeout"]  # an installed pytest11 plugin (a dependency of mcptest)
    assert coverage_mode(config) == "run"


def test_run_measures_a_p_plugin_of_the_measured_package_under_coverage_run(tmp_path: Path) -> None:
    config = CONFIG.replace("{paths: [tests], timeout: 30s}", '{paths: [tests], pytest_args: ["-p", "pkg.plug"]}')
    make_project(tmp_path, config, {"pkg/plug.py": "import pkg.calc\n"})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == 0, result.output
    record = latest(tmp_path)
    log = next((tmp_path / ".mcptest" / "logs").glob("*.log")).read_text()
    assert " -m coverage run " in log.splitlines()[0]  # the plugin loads before any plugin could start coverage
    files = {f["path"]: f for f in record["coverage"]["files"]}
    assert files["pkg/plug.py"]["totals"]["covered_lines"] == 1 and 1 in files["pkg/calc.py"]["executed_lines"]
    assert "imported before coverage started" not in result.stdout
    assert record["coverage"]["core"] == "CTracer"


def test_run_warns_when_an_ini_plugin_imported_measured_code_before_coverage_started(tmp_path: Path) -> None:
    settings = '[tool.pytest.ini_options]\naddopts = "-p pkg.plug"\n'
    make_project(tmp_path, files={"pkg/plug.py": "import pkg.calc\n", "pyproject.toml": settings})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == 0, result.output
    assert "measured module(s) pkg, pkg.calc, pkg.plug were imported before coverage started" in result.stdout
