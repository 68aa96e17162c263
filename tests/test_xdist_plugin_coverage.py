"""``-n N`` measures a measured package's own pytest plugin as the serial run does (issue 12, point 3).

The serial run measures such a suite under ``coverage run``; each xdist worker is started through
``mcptest.xdist_worker``, so coverage measures it from its first line too. A worker mcptest cannot start that
way (a ``--tx`` with its own ``python=``) says what it missed, and the run refuses to pass its numbers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import execnet
import pytest
from execnet.gateway_io import popen_args
from fault_table import FAULTS
from projects import CONFIG, latest, make_project, mcptest

from mcptest import covdata, exitcodes, xdist_worker

PLUGIN_CONFIG = CONFIG.replace(
    "{paths: [tests], timeout: 30s}", '{paths: [tests], timeout: 30s, pytest_args: ["-p", "pkg.plug"]}'
)
# the package's plugin: import-time lines only, plus a fixture the tests use
PLUGIN = """\
import pytest

import pkg.calc

MARK = "plugged"


@pytest.fixture
def plugged():
    return MARK
"""
INIT = 'VERSION = "1.0"\nNAME = "pkg"\n'
USES_PLUGIN = """\
from pkg.calc import add


def test_plugin_fixture_gives_its_mark(plugged):
    assert plugged == "plugged"
    assert add(1, 1) == 2
"""
# mcptest imported before pytest in a worker would make pytest warn (it cannot rewrite an installed plugin's
# package): an error here, as in projects that turn warnings into errors (anyio)
STRICT = '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n'


def _plugin_project(root: Path) -> Path:
    return make_project(
        root,
        PLUGIN_CONFIG,
        {"pkg/__init__.py": INIT, "pkg/plug.py": PLUGIN, "tests/test_plugin.py": USES_PLUGIN, "pyproject.toml": STRICT},
    )


def _files(record: dict) -> dict[str, dict]:
    return {f["path"]: f["totals"] for f in record["coverage"]["files"]}


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_parallel_run_measures_the_packages_pytest_plugin_like_the_serial_run(tmp_path: Path) -> None:
    _plugin_project(tmp_path)
    serial_run = mcptest(tmp_path, "run", "unit")
    assert serial_run.code == 0, serial_run.output
    serial = latest(tmp_path)
    parallel_run = mcptest(tmp_path, "run", "unit", "-n", "2")
    assert parallel_run.code == 0, parallel_run.output
    parallel = latest(tmp_path)
    assert parallel["selection"]["workers"] == "2" and parallel["counts"]["passed"] == 6
    assert _files(parallel) == _files(serial)
    files = _files(parallel)
    # the import-time lines: every statement of __init__ and of the plugin module ran
    assert files["pkg/__init__.py"]["covered_lines"] == files["pkg/__init__.py"]["statements"] == 2
    assert files["pkg/plug.py"]["covered_lines"] == files["pkg/plug.py"]["statements"]
    assert parallel["suites"][0]["problems"] == [] and "imported before coverage started" not in parallel_run.output


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_worker_started_with_its_own_python_fails_the_coverage_gate_and_says_why(tmp_path: Path) -> None:
    _plugin_project(tmp_path)
    tx = f"2*popen//python={sys.executable}"  # mcptest leaves a given python= alone: coverage starts late there
    result = mcptest(tmp_path, "run", "unit", "--", "--tx", tx, "--dist", "load")
    assert result.code == FAULTS["xdist-worker-unmeasured-start"].exit == exitcodes.THRESHOLD_MISSED, result.output
    record = latest(tmp_path)
    assert record["counts"]["passed"] == 6  # the tests themselves passed
    problems = record["suites"][0]["problems"]
    assert sorted(p.split(":")[0] for p in problems) == [
        "xdist worker gw0 was not measured from its start",
        "xdist worker gw1 was not measured from its start",
    ]
    assert "pkg, pkg.calc, pkg.plug were imported before coverage started" in problems[0]
    (reason,) = record["reasons"]
    assert reason.startswith("suite unit: coverage cannot be gated: xdist worker(s) gw0, gw1 started measuring")


@pytest.fixture
def run_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data_file = tmp_path / "unit-0.coverage"
    monkeypatch.setenv("MCPTEST_COV_MODE", "run")
    monkeypatch.setenv("MCPTEST_COV_DATA", str(data_file))
    monkeypatch.setenv("MCPTEST_COV_SOURCE", "pkgx")
    monkeypatch.setenv("MCPTEST_COV_BRANCH", "1")
    return data_file


def test_only_plain_local_workers_are_routed_through_the_measuring_entry() -> None:
    specs = [
        execnet.XSpec("execmodel=main_thread_only//popen"),
        execnet.XSpec("popen//python=/opt/other/python3"),
        execnet.XSpec("socket=127.0.0.1:8888"),
    ]
    xdist_worker.route(specs)
    assert specs[0].python == xdist_worker.python_spec()
    assert specs[1].python == "/opt/other/python3" and specs[2].python is None
    # what execnet then starts: our interpreter, the entry, and execnet's own options and bootstrap after it
    args = popen_args(specs[0])
    assert args[:4] == [sys.executable, "-u", "-c", xdist_worker.entry_code()]
    options, code, rest = xdist_worker.split_arguments(args[4:])
    assert options == ["-u"] and "exec(eval(sys.stdin.readline()))" in code and rest == []


def test_split_arguments_takes_execnets_options_and_refuses_anything_else() -> None:
    assert xdist_worker.split_arguments(["-u", "-B", "-c", "CODE", "x"]) == (["-u", "-B"], "CODE", ["x"])
    with pytest.raises(ValueError, match="unexpected arguments"):
        xdist_worker.split_arguments(["-u", "-X", "dev", "-c", "CODE"])
    with pytest.raises(ValueError, match="unexpected arguments"):
        xdist_worker.split_arguments(["-u", "-c"])


def test_coverage_settings_are_the_serial_coverage_runs(run_mode: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = xdist_worker.coverage_settings()
    assert settings == {
        "data_file": str(run_mode),
        "data_suffix": True,
        "config_file": True,
        "branch": True,
        "source": ["pkgx"],
    }
    monkeypatch.setenv("MCPTEST_COV_BRANCH", "0")  # `coverage run` without --branch: the project's config decides
    assert (xdist_worker.coverage_settings() or {})["branch"] is None
    assert xdist_worker.coverage_settings({}) is None


def test_worker_entry_measures_from_the_first_line_and_runs_the_code_like_python_c(run_mode: Path) -> None:
    folder = run_mode.parent
    (folder / "pkgx").mkdir()
    (folder / "pkgx" / "__init__.py").write_text("A = 1\nif A:\n    B = 2\n")
    code = "import sys, pkgx; print(sys.argv, sys.dont_write_bytecode, sys.path[0] == '', 'mcptest' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-u", "-c", xdist_worker.entry_code(), "-u", "-B", "-c", code, "extra"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['-c',", "'extra']", "True", "True", "False"]
    parts = sorted(folder.glob(run_mode.name + ".*"))
    assert len(parts) == 1  # saved with a unique suffix, like every worker's part
    from coverage import CoverageData

    data = CoverageData(basename=str(parts[0]))
    data.read()
    measured = {Path(f).name: sorted(data.lines(f) or []) for f in data.measured_files()}
    assert measured == {"__init__.py": [1, 2, 3]}
    assert data.has_arcs()


def test_combining_worker_parts_into_the_controllers_file_keeps_its_data(tmp_path: Path) -> None:
    from coverage import CoverageData

    controller, worker = tmp_path / "unit-0.coverage", tmp_path / "unit-0.coverage.gw0"
    for path, lines in ((controller, [1, 2]), (worker, [5])):
        part = CoverageData(basename=str(path))
        part.add_lines({str(tmp_path / "m.py"): lines})
        part.write()
    covdata.combine([controller, worker], controller)
    combined = CoverageData(basename=str(controller))
    combined.read()
    assert sorted(combined.lines(str(tmp_path / "m.py")) or []) == [1, 2, 5]
