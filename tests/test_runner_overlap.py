"""Work the runner does while the test process is still running or finishing, and that it stays correct."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projects import make_project

from mcptest import covdata
from mcptest.config import load_config
from mcptest.pipeline import execute
from mcptest.plan import RunOptions

# After its tests, the test process waits (bounded) in pytest_unconfigure -- after coverage.py saved its data --
# for a file that only the runner's coverage report creates (see the test), and writes down how the wait ended.
WAITING_CONFTEST = """\
import os
import time


def pytest_unconfigure(config):
    release = os.path.join(os.path.dirname(__file__), "..", "release")
    deadline = time.monotonic() + 20
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.02)
    ended = "released" if os.path.exists(release) else "timed out"
    with open(os.path.join(os.path.dirname(__file__), "..", "wait.txt"), "w") as f:
        f.write(ended)
"""


def _release_on_read(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make covdata.read_json create the release file; each call records whether the test process had ended."""
    calls: list[bool] = []
    original = covdata.read_json

    def reading(*args: Any, **kwargs: Any) -> Any:
        calls.append((root / "wait.txt").exists())
        (root / "release").write_text("")
        return original(*args, **kwargs)

    monkeypatch.setattr(covdata, "read_json", reading)
    return calls


def test_the_coverage_report_is_read_while_the_test_process_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path, files={"tests/conftest.py": WAITING_CONFTEST})
    monkeypatch.chdir(root)
    calls = _release_on_read(root, monkeypatch)
    record = execute(load_config(root / "mcptest.yaml"), RunOptions(suite="unit"))
    assert (root / "wait.txt").read_text() == "released"  # the report was read before the process ended
    assert calls == [False]  # once, early; not again after the process ended
    assert record.exit_code == 0 and record.complete
    assert record.coverage is not None
    assert {f.path: (f.totals.statements, f.totals.covered_lines) for f in record.coverage.files} == {
        "pkg/__init__.py": (0, 0),
        "pkg/calc.py": (8, 8),
        "pkg/text.py": (4, 3),
    }


def test_a_repeated_run_reads_the_report_only_after_its_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two attempts are merged after both ended: reading the first attempt's data early would be wasted work
    root = make_project(tmp_path, files={"tests/conftest.py": WAITING_CONFTEST.replace("+ 20", "+ 0.5")})
    monkeypatch.chdir(root)
    calls = _release_on_read(root, monkeypatch)
    record = execute(load_config(root / "mcptest.yaml"), RunOptions(suite="unit", repeat=2))
    assert calls == [True]
    assert record.exit_code == 0
    assert record.coverage is not None and record.coverage.overall.covered_lines == 11


def test_a_test_process_that_dies_after_saving_its_data_is_not_gated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the data was complete and read early, but the process died before pytest finished: a crash, not a pass
    dying = (
        "import os\nimport pytest\n\n\n"
        "@pytest.hookimpl(tryfirst=True)\ndef pytest_sessionfinish():\n    os._exit(3)\n"
    )
    root = make_project(tmp_path, files={"tests/conftest.py": dying})
    monkeypatch.chdir(root)
    record = execute(load_config(root / "mcptest.yaml"), RunOptions(suite="unit"))
    assert record.exit_code == 1
    assert record.coverage is None
    assert not record.complete
    assert any("did not run to the end" in w for w in record.warnings)
