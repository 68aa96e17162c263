"""The test interpreter started ahead of the command line: used when it is equivalent, and never left behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from projects import latest, make_project, mcptest

from mcptest import prestart

# a test that writes down how its interpreter was started and what it sees
PROBE = """\
import json
import os
import sys


def test_probe_writes_interpreter_facts():
    facts = {
        "orig_argv": sys.orig_argv,
        "argv0": sys.argv[0],
        "path": [p.replace(os.getcwd(), "ROOT") for p in sys.path],
        "cwd": os.getcwd(),
        "suite": os.environ.get("MCPTEST_SUITE"),
        "mcptest_modules": sorted(m for m in sys.modules if m.startswith("mcptest.") and "collector" not in m),
    }
    with open("facts.json", "w") as f:
        json.dump(facts, f)
"""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "unit"], True),
        (["--debug", "run", "all", "-n", "2"], True),
        (["run", "unit", "--", "-h"], True),  # pytest's -h, after the dashes: still a run
        (["run", "--help"], False),
        (["run", "unit", "-h"], False),
        (["report", "--html"], False),
        (["--version"], False),
        ([], False),
    ],
)
def test_only_a_run_starts_an_interpreter_ahead(
    argv: list[str], expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MCPTEST_PRESTART", raising=False)
    assert prestart.wanted(argv) is expected


def test_the_variable_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPTEST_PRESTART", "0")
    assert prestart.wanted(["run", "unit"]) is False


def test_refused_when_a_fresh_interpreter_would_differ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started = {"PATH": "/usr/bin", "HOME": "/root"}
    monkeypatch.setattr(prestart, "_started_env", started)
    monkeypatch.setattr(prestart, "_started_in", str(tmp_path))
    cmd = [sys.executable, "-m", "pytest", "tests"]
    assert prestart.refusal(cmd, str(tmp_path), {**started, "MCPTEST_SUITE": "unit", "COVERAGE_CORE": "ctrace"}) is None
    assert prestart.refusal([sys.executable, "-m", "coverage", "run"], str(tmp_path), started) is not None
    assert prestart.refusal(["/other/python", "-m", "pytest"], str(tmp_path), started) is not None
    assert prestart.refusal(cmd, str(tmp_path / "sub"), started) == "another working folder"
    assert prestart.refusal(cmd, str(tmp_path), {**started, "PYTHONPATH": "x"}) == (
        "environment variable PYTHONPATH differs"
    )
    assert prestart.refusal(cmd, str(tmp_path), {"PATH": "/usr/bin"}) == "environment variable HOME differs"
    assert prestart.refusal(cmd, str(tmp_path), {**started, "HOME": "/tmp"}) == "environment variable HOME differs"


def _facts(root: Path) -> dict[str, object]:
    import json

    data: dict[str, object] = json.loads((root / "facts.json").read_text())
    return data


def test_a_run_uses_it_and_its_test_process_sees_what_a_fresh_one_sees(tmp_path: Path) -> None:
    root = make_project(tmp_path / "ahead", files={"tests/test_probe.py": PROBE})
    used = mcptest(root, "run", "unit")
    assert used.code == 0, used.output
    ahead = _facts(root)
    record = latest(root)

    fresh_root = make_project(tmp_path / "fresh", files={"tests/test_probe.py": PROBE})
    plain = mcptest(fresh_root, "run", "unit", extra_env={"MCPTEST_PRESTART": "0"})
    assert plain.code == 0, plain.output
    fresh = _facts(fresh_root)

    assert "-c" in ahead["orig_argv"]  # type: ignore[operator]  # the interpreter started ahead ran the tests
    assert fresh["orig_argv"][1:3] == ["-m", "pytest"]  # type: ignore[index]
    for facts, where in ((ahead, root), (fresh, fresh_root)):
        assert facts["argv0"].endswith(os.path.join("pytest", "__main__.py"))  # type: ignore[union-attr]
        assert facts["cwd"] == str(where.resolve())
        assert "ROOT" in facts["path"]  # type: ignore[operator]  # as `python -m` puts it there
        assert facts["path"] == fresh["path"]
        assert facts["suite"] == "unit"
        assert facts["mcptest_modules"] == fresh["mcptest_modules"]
    log = next((root / ".mcptest" / "logs").glob("*.log")).read_text()
    assert log.startswith("$ ") and "6 passed" in log
    assert "already imported" not in log  # nothing of mcptest was imported ahead of pytest
    assert record["counts"]["passed"] == 6
    assert record["coverage"]["overall"] == latest(fresh_root)["coverage"]["overall"]


def _prestart_processes(cwd: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            where = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"prestart_server.py" in cmdline and Path(where) == cwd.resolve():
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc to list processes")
def test_nothing_is_left_running_when_the_run_stops_before_its_tests(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    result = mcptest(root, "run", "nosuch")
    assert result.code == 4, result.output
    assert "unknown suite 'nosuch'" in result.stderr
    assert _prestart_processes(root) == []
    broken = make_project(tmp_path / "broken", config="source: [pkg]\nsuites: {unit: {paths: [tests]}}\ncoverage: [\n")
    assert mcptest(broken, "run", "unit").code == 4
    assert _prestart_processes(broken) == []


def test_a_started_interpreter_that_cannot_be_used_is_replaced(tmp_path: Path) -> None:
    # COVERAGE_PROCESS_START is read while an interpreter starts and the runner removes it for the test process:
    # the interpreter started ahead (with it) is refused and a fresh one runs the tests
    root = make_project(tmp_path, files={"tests/test_probe.py": PROBE})
    rc = root / "parent.rc"
    rc.write_text("[run]\ndata_file = parent.coverage\n")
    result = mcptest(root, "run", "unit", extra_env={"COVERAGE_PROCESS_START": str(rc)})
    assert result.code == 0, result.output
    assert _facts(root)["orig_argv"][1:3] == ["-m", "pytest"]  # type: ignore[index]
    assert _prestart_processes(root) == []
