"""The source files parsed while the tests run give exactly the report coverage.py's own parse gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from projects import make_project

from mcptest import covdata
from mcptest.config import load_config

# a file that does not parse is reported by coverage.py as a warning (the report leaves it out)
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't parse Python file")

EXCLUDING = """\
source: [pkg]
coverage:
  overall: {line: 50}
suites:
  unit: {paths: [tests], timeout: 30s}
"""


def _measure(root: Path) -> Path:
    """Run the project's tests under coverage.py (branch on) in a subprocess; the data file."""
    data = root / ".coverage"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "--branch", "--source=pkg", f"--data-file={data}", "-m", "pytest",
         "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MCPTEST_", "COVERAGE_"))},
        timeout=120,
    )
    return data


def _files(raw: dict[str, Any] | None) -> dict[str, Any]:
    assert raw is not None
    return {Path(name).name: entry for name, entry in raw["files"].items()}


@pytest.fixture
def measured(tmp_path: Path) -> tuple[Path, Path]:
    root = make_project(
        tmp_path,
        EXCLUDING,
        files={
            "pkg/skip.py": "def used(x):\n    if x:  # skip-me\n        return 1\n    return 2\n",
            "pkg/broken.py": "def broken(:\n",
            ".coveragerc": "[report]\nexclude_also =\n    skip-me\n",
        },
    )
    return root, _measure(root)


def test_prepared_parsers_serve_the_report_without_another_parse(
    measured: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = measured
    config = load_config(root / "mcptest.yaml")
    plain = covdata.read_json(config, data)
    static = covdata.StaticAnalysis.for_config(config)
    assert static is not None
    static.prepare()
    names = {Path(p).name for p in static.parsers}
    assert names == {"__init__.py", "calc.py", "text.py", "skip.py"}  # broken.py does not parse: left to coverage.py

    import coverage.python

    parsed: list[str] = []
    original = coverage.python.PythonParser

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(Path(kwargs["filename"]).name)
        return original(*args, **kwargs)

    monkeypatch.setattr(coverage.python, "PythonParser", counting)
    ahead = covdata.read_json(config, data, static=static)
    assert parsed == ["broken.py"]
    assert _files(ahead) == _files(plain)
    assert ahead is not None and plain is not None and ahead["totals"] == plain["totals"]
    # the project's exclusion settings were applied by the prepared parse too
    assert 2 in _files(ahead)["skip.py"]["excluded_lines"]


def test_a_file_changed_after_its_parse_is_parsed_again(measured: tuple[Path, Path]) -> None:
    root, data = measured
    config = load_config(root / "mcptest.yaml")
    static = covdata.StaticAnalysis.for_config(config)
    assert static is not None
    static.prepare()
    text = root / "pkg" / "text.py"
    text.write_text(text.read_text() + "\n\ndef extra(y):\n    if y:\n        return 1\n    return 0\n")
    stat = text.stat()
    os.utime(text, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    ahead = _files(covdata.read_json(config, data, static=static))
    fresh = _files(covdata.read_json(config, data))
    assert ahead == fresh
    assert ahead["text.py"]["summary"]["num_statements"] == 8  # the 4 statements of extra() are counted


def test_other_exclusion_patterns_than_prepared_are_not_used(
    measured: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = measured
    config = load_config(root / "mcptest.yaml")
    static = covdata.StaticAnalysis.for_config(config)
    assert static is not None
    static.prepare()
    (root / ".coveragerc").write_text("[report]\n")  # the report now runs with the default exclusions
    ahead = _files(covdata.read_json(config, data, static=static))
    fresh = _files(covdata.read_json(config, data))
    assert ahead == fresh
    assert 2 not in ahead["skip.py"]["excluded_lines"]  # the prepared parse (which excluded line 2) was not used
