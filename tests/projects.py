"""Build tiny throwaway projects in tmp_path and run the real mcptest CLI on them in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CALC = """\
def add(a, b):
    return a + b


def sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0
"""

TEXT = """\
def shout(s):
    if not s:
        return ""
    return s.upper() + "!"
"""

TESTS_CALC = """\
from pkg.calc import add, sign


def test_add_small_numbers_sum():
    assert add(2, 3) == 5


def test_sign_positive_one():
    assert sign(4) == 1


def test_sign_negative_minus_one():
    assert sign(-4) == -1


def test_sign_zero_zero():
    assert sign(0) == 0
"""

TESTS_TEXT = """\
from pkg.text import shout


def test_shout_word_upper():
    assert shout("hi") == "HI!"
"""

CONFIG = """\
source: [pkg]
coverage:
  overall: {line: 50}
suites:
  unit: {paths: [tests], timeout: 30s}
"""


#: One test marked ``slow`` next to the five unmarked ones (for ``-m``), with the marker registered.
LOW_MARKED = {
    "tests/test_slow.py": "import pytest\nfrom pkg.calc import sign\n\n\n@pytest.mark.slow\n"
    "def test_sign_slow_path():\n    assert sign(10**6) == 1\n",
    "pytest.ini": "[pytest]\nmarkers =\n    slow: a slow test\n",
}


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def make_project(root: Path, config: str = CONFIG, files: dict[str, str] | None = None) -> Path:
    """A package ``pkg`` (calc, text) with a passing test folder, plus ``files`` added or replaced."""
    layout = {
        "pkg/__init__.py": "",
        "pkg/calc.py": CALC,
        "pkg/text.py": TEXT,
        "tests/test_calc.py": TESTS_CALC,
        "tests/test_text.py": TESTS_TEXT,
        "mcptest.yaml": config,
    }
    layout.update(files or {})
    return write_files(root, layout)


def write_files(root: Path, layout: dict[str, str]) -> Path:
    """Write each ``path: text`` of ``layout`` under ``root`` (text dedented, folders made); returns ``root``."""
    for name, text in layout.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


# What the pytest sessions of the throwaway projects get in PYTEST_ADDOPTS (see conftest.py): the plugins none
# of them uses stay unloaded, which saves most of each session's start-up. A test whose project runs under
# pytest-xdist (-n) or pytest-rerunfailures asks for the ``child_plugins`` fixture: PLUGIN_ADDOPTS.
PLUGIN_ADDOPTS = "-p no:hypothesispytest -p no:requests_mock"
CHILD_ADDOPTS = PLUGIN_ADDOPTS + " -p no:xdist -p no:xdist.looponfail -p no:rerunfailures"


def env() -> dict[str, str]:
    out = dict(os.environ)
    for key in ("MCPTEST_EVENTS", "MCPTEST_CONTEXTS", "COVERAGE_PROCESS_START"):
        out.pop(key, None)
    out["PYTEST_ADDOPTS"] = os.environ.get("PYTEST_ADDOPTS", CHILD_ADDOPTS)  # conftest's, or a test's own
    out["COLUMNS"] = "200"
    return out


def mcptest(root: Path, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None) -> Result:
    """Run ``python -m mcptest ARGS`` in ``root``."""
    proc = subprocess.run(
        [sys.executable, "-m", "mcptest", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env(), **(extra_env or {})},
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def latest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / ".mcptest" / "latest.json").read_text(encoding="utf-8"))
    return data


def runs(root: Path) -> list[dict[str, Any]]:
    folder = root / ".mcptest" / "runs"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
