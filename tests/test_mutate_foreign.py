"""Mutation runs on suites set up as foreign projects set them up: rerun plugins, timeouts, budgets, logging."""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import pytest

from mcptest.config import load_config
from mcptest.mutate import generate_mutants, run_mutations
from mcptest.mutate.reruns import installed

LOOP = """\
def countdown(n):
    while n > 0:
        n -= 1
    return n
"""

# a flaky mark and the plugin's options in the suite's arguments: every killed mutant would be rerun
# three times, ten seconds apart, if the plugin were active in mutant runs
TESTS_LOOP = """\
import pytest

from pkg.loop import countdown


@pytest.mark.flaky(reruns=3, reruns_delay=10)
def test_countdown_reaches_zero():
    assert countdown(3) == 0
"""

RERUN_CONFIG = """\
source: [pkg]
suites:
  unit:
    paths: [tests]
    timeout: 1s
    budget: 30s
    pytest_args: [--strict-markers, --reruns, "3", --reruns-delay, "10"]
"""

LOGS = """\
import logging

log = logging.getLogger(__name__)


def parity(n):
    log.info("parity of %s", n)
    log.log(logging.DEBUG, "checked", 5)
    return n % 2 == 0
"""

TESTS_LOGS = """\
from pkg.logs import parity


def test_parity_even_true():
    assert parity(4) is True


def test_parity_odd_false():
    assert parity(3) is False
"""

LOG_CONFIG = """\
source: [pkg]
suites:
  unit: {paths: [tests]}
"""


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"pkg/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "mcptest.yaml"


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.skipif("pytest-rerunfailures" not in installed(), reason="pytest-rerunfailures is a dev dependency")
@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_mutants_run_without_reruns_under_suite_timeout_and_budget(tmp_path: Path, private_tmp: Path) -> None:
    config = load_config(project(tmp_path / "p", {"mcptest.yaml": RERUN_CONFIG, "pkg/loop.py": LOOP,
                                                  "tests/test_loop.py": TESTS_LOOP}))
    result = run_mutations(config, workers=2, timeout_base=60.0)  # more than the budget allows
    assert result.reruns_disabled == ["pytest-rerunfailures"]
    found = {(m.line, m.description): m for m in result.mutants}
    assert {key: m.status for key, m in found.items()} == dict.fromkeys(
        [(2, "> -> <="), (2, "0 -> 1"), (3, "1 -> 0"), (4, "return n -> return None")], "killed"
    )
    for mutant in result.mutants:
        assert mutant.timeout == 30.0  # the suite's budget caps each mutant's run
        assert mutant.duration < 10.0, mutant  # one rerun alone would wait 10 s
    endless = found[(3, "1 -> 0")]  # n -= 0 loops forever: the suite's 1 s per-test timeout fails the test
    assert endless.killed_by == "tests/test_loop.py::test_countdown_reaches_zero"
    assert list(private_tmp.iterdir()) == []


def test_logging_mutants_marked() -> None:
    mutants, _ = generate_mutants(LOGS, "pkg/logs.py")
    marked = [(m.line, m.operator, m.logging) for m in mutants]
    assert (7, "call", True) in marked and (8, "call", True) in marked
    assert (8, "constant", True) in marked  # the 5 among the arguments
    assert all(not logging for line, _, logging in marked if line >= 9)
    assert any(line >= 9 for line, _, _ in marked)


def test_logging_mutants_skipped_by_default_or_scored_apart(tmp_path: Path, private_tmp: Path) -> None:
    config = load_config(project(tmp_path / "p", {"mcptest.yaml": LOG_CONFIG, "pkg/logs.py": LOGS,
                                                  "tests/test_logs.py": TESTS_LOGS}))
    default = run_mutations(config, workers=2)
    assert not any(m.logging for m in default.mutants)
    assert default.logging_skipped == 3  # two calls removed, and the 5 (the message strings are never mutated)
    assert default.score == 1.0 and default.survived == 0
    both = run_mutations(config, workers=2, logging=True)
    assert both.logging_skipped == 0
    assert sum(both.logging_counts.values()) == 3
    assert both.logging_counts["survived"] == 3  # no test looks at the log
    assert both.logging_score_percent == 0.0
    assert (both.score, both.survivors) == (1.0, [])  # the score without logging is the same
    assert len(both.logging_survivors) == 3
    data = both.to_dict()["logging"]
    assert data == {"included": True, "skipped": 0, "counts": both.logging_counts, "score_percent": 0.0}
    assert list(private_tmp.iterdir()) == []


def test_logging_receivers_recognised() -> None:
    source = textwrap.dedent("""\
        def f(self, parser, logger):
            self.logger.warning("w")
            logger.error("e")
            parser.error("bad usage")
    """)
    mutants, _ = generate_mutants(source, "m.py")
    assert [(m.line, m.logging) for m in mutants if m.operator == "call"] == [(2, True), (3, True), (4, False)]


def test_src_layout_installed_editable_mutates_the_copy(tmp_path: Path, private_tmp: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    files = {"mcptest.yaml": "source: [pkg]\nsuites:\n  unit: {paths: [tests]}\n", "src/pkg/__init__.py": "",
             "src/pkg/loop.py": LOOP, "tests/test_loop.py": TESTS_LOOP.replace("@pytest.mark.flaky(reruns=3, "
                                                                               "reruns_delay=10)\n", "")}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    # as an editable install does: the project's own src/ on every interpreter's path
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root / "src"), os.environ.get("PYTHONPATH")])))
    config = load_config(root / "mcptest.yaml")
    result = run_mutations(config, workers=1, timeout_base=2.0, timeout_factor=1.0)
    assert result.files == ["src/pkg/__init__.py", "src/pkg/loop.py"]
    assert result.candidates == 4
    assert result.killed >= 3, [(m.description, m.status) for m in result.mutants]
    assert (root / "src/pkg/loop.py").read_text(encoding="utf-8") == LOOP
