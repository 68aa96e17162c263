"""Command-line conventions a pytest and coverage.py user expects: -m is pytest's marker expression, -c works
before the command, one metavar style, shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from projects import LOW_MARKED, latest, make_project, mcptest

COMMANDS = [["run"], ["init"], ["audit"], ["mutate"], ["report"], ["flaky"], ["baseline", "save"],
            ["baseline", "show"], ["config", "check"], ["bridges", "check"], ["bridges", "up"], ["combine"]]


def test_dash_m_is_a_marker_expression_passed_to_pytest_and_makes_the_run_partial(tmp_path: Path) -> None:
    make_project(tmp_path, files=LOW_MARKED)
    result = mcptest(tmp_path, "run", "unit", "-m", "slow")
    record = latest(tmp_path)
    assert record["counts"]["total"] == 1, result.output
    assert [t["name"] for t in record["suites"][0]["tests"]] == ["test_sign_slow_path"]
    assert record["selection"]["pytest_args"] == ["-m", "slow"]
    assert record["selection"]["partial"] is True
    assert record["selection"]["partial_reasons"] == ["suite unit: -m slow deselected 5 of 6 tests"]


def test_module_option_is_capital_m(tmp_path: Path) -> None:
    make_project(tmp_path, files=LOW_MARKED)
    result = mcptest(tmp_path, "run", "unit", "-M", "nosuch")
    assert result.code == 4 and "nosuch" in result.output


def test_config_given_before_the_command_is_used(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = mcptest(elsewhere, "-c", str(project / "mcptest.yaml"), "config", "check")
    after = mcptest(elsewhere, "config", "check", "-c", str(project / "mcptest.yaml"))
    assert before.code == 0 and before.stdout == after.stdout
    assert f"# {project / 'mcptest.yaml'}: valid" in before.stdout
    missing = mcptest(elsewhere, "config", "check")
    assert missing.code == 4  # without -c nothing is found from this folder


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_option_value_has_an_upper_case_metavar(tmp_path: Path, command: list[str]) -> None:
    result = mcptest(tmp_path, *command, "--help", extra_env={"COLUMNS": "200"})
    assert result.code == 0, result.output
    options = [line for line in result.stdout.splitlines() if re.match(r"\s+-", line)]
    assert options, result.stdout
    for line in options:
        spec = re.split(r"\s{2,}", line.strip())[0]
        assert not re.search(r"<|\[\w", spec), f"{' '.join(command)}: {spec!r}"
        for value in re.findall(r"--?[\w-]+ (\S+)", spec):
            assert re.fullmatch(r"[A-Z][A-Z_:]*", value), f"{' '.join(command)}: {spec!r}"


def test_bash_completion_completes_commands_and_options() -> None:
    script = Path(sys.executable).with_name("mcptest")  # the installed entry point, as a shell calls it
    env = {**os.environ, "_MCPTEST_COMPLETE": "complete_bash", "COMP_WORDS": "mcptest ru", "COMP_CWORD": "1"}
    words = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
    assert words.stdout.split() == ["run"]
    env.update(COMP_WORDS="mcptest run --rep", COMP_CWORD="2")
    options = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
    assert options.stdout.split() == ["--repeat", "--replay"]


def test_progress_line_counts_every_outcome_and_agrees_with_the_table_on_time(tmp_path: Path) -> None:
    extra = {"tests/test_more.py": "import pytest\n\n\n@pytest.mark.skip(reason='later')\ndef test_skipped():\n"
             "    assert 1 == 2\n\n\n@pytest.mark.xfail(strict=True)\ndef test_known_bug():\n    assert 1 == 2\n"}
    make_project(tmp_path, files=extra)
    result = mcptest(tmp_path, "run", "unit")
    line = next(x for x in result.stderr.splitlines() if x.startswith("mcptest: unit: 7 tests in "))
    assert line.endswith("(5 passed, 1 skipped, 1 xfailed)"), line
    took = re.search(r"tests in (\d+\.\d)s", line)
    assert took is not None
    suite_row = next(x for x in result.stdout.splitlines() if x.lstrip("│ ").startswith("unit "))
    assert f"{took.group(1)}s" in suite_row, (line, suite_row)
