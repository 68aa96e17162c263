"""Smoke test of the performance benchmark: ``bench/perf.py --quick`` runs end to end and prints every figure.

No timing is asserted here (the machine is shared); docs/performance.md holds the figures of a full run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from projects import CHILD_ADDOPTS

REPO = Path(__file__).resolve().parent.parent
NUM = r"\d+\.\d+"

# One pattern per figure line of the Markdown summary.
EXPECTED = {
    "machine": r"^- nproc \d+, Python [\d.]+, coverage [\d.]+ \(core \w+, COVERAGE_CORE .+\), pytest [\d.]+, "
    r"pytest-cov [\d.]+, pytest-xdist [\d.]+, mcptest [\w.+-]+; load average at start",
    "command": r"^- command: `python bench/perf\.py --quick",
    "rounds": r"^- medians of 1 interleaved rounds \(quick mode: no warm-up round, targets not evaluated\); "
    r"the benchmark took \d+ s$",
    "wall header": r"^\| benchmark \| pytest-cov \(term report\) \| coverage run \+ json \| mcptest run \| "
    r"mcptest / pytest-cov \| mcptest / coverage \| target <= 1\.10x \|$",
    "wall tiny": rf"^\| tiny \(10 files, 100 tests\) \| {NUM} \| {NUM} \| {NUM} \| {NUM}x \| {NUM}x \| "
    r"n/a \(quick\) \|$",
    # quick mode leaves coverage run out of the bundled comparison
    "wall bundled": rf"^\| bundled \(suites/unit/test_clients\.py\) \| {NUM} \| - \| {NUM} \| {NUM}x \| - \| "
    r"n/a \(quick\) \|$",
    "cpu tiny": rf"^\| tiny \(10 files, 100 tests\) \| {NUM} \| {NUM} \| {NUM} \| {NUM}x \|$",
    "cpu bundled": rf"^\| bundled \(suites/unit/test_clients\.py\) \| {NUM} \| - \| {NUM} \| {NUM}x \|$",
    "split tiny": rf"^\| tiny \(10 files, 100 tests\) \| {NUM} \| {NUM} \| -?{NUM} \| -?{NUM} \|$",
    "split bundled": rf"^\| bundled \(suites/unit/test_clients\.py\) \| {NUM} \| {NUM} \| -?{NUM} \| -?{NUM} \|$",
    "split contexts": rf"^\| tiny \(10 files, 100 tests\), --contexts \| {NUM} \| {NUM} \| -?{NUM} \| -?{NUM} \|$",
    "contexts": rf"^\| --contexts extra cost, tiny \(10 files, 100 tests\) \| [+-]{NUM} s \([+-]\d+ %\): {NUM} s -> "
    rf"{NUM} s; pytest-cov --cov-context=test: [+-]{NUM} s .*\| - \| - \|$",
    "help": rf"^\| start-up: mcptest --help \| {NUM} s \| < 0\.3 s \| n/a \(quick\) \|$",
    "preflight": rf"^\| preflight: mcptest bridges check, 2 unreachable bridges \| {NUM} s \(statuses: unreachable, "
    r"unreachable, exit 3\) \| < 1 s \| n/a \(quick\) \|$",
    "parallel": r"^\| parallel: mcptest run -n 2 vs serial, CPU-bound suite \| not measured \(quick mode; run "
    r"--only parallel\) \| >= 1\.6x \| n/a \(quick\) \|$",
    "parallel reference": r"^\| parallel: pytest-cov -n 2 vs serial, same suite \(reference\) \| not measured "
    r"\(quick mode; run --only parallel\) \| - \| - \|$",
    "parallel numbers": r"^\| parallel: per-file numbers of -n 2 equal serial \| not measured \(quick mode; run "
    r"--only parallel\) \| equal \| n/a \(quick\) \|$",
}


@pytest.mark.skipif(
    importlib.util.find_spec("pytest_cov") is None, reason="the benchmark compares with pytest-cov (a dev extra)"
)
def test_perf_quick_prints_every_figure_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCPTEST_", "PYTEST_", "COV_CORE_"))}
    figures = tmp_path / "figures.json"
    # the plugins no measured suite uses stay unloaded, for every tool alike (as in the other tests' runs)
    command = [sys.executable, str(REPO / "bench" / "perf.py"), "--quick", "--json", str(figures),
               "--pytest-addopts", CHILD_ADDOPTS]
    proc = subprocess.run(command,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    missing = [name for name, pattern in EXPECTED.items() if not re.search(pattern, proc.stdout, re.MULTILINE)]
    assert not missing, f"figure lines missing: {missing}\n{proc.stdout}"
    data = json.loads(figures.read_text(encoding="utf-8"))
    assert [row["benchmark"] for row in data["compare"]] == ["tiny (10 files, 100 tests)",
                                                             "bundled (suites/unit/test_clients.py)"]
    tiny, bundled = data["compare"]
    assert set(tiny["medians"]) == {"pytest-cov", "coverage", "mcptest"}
    assert set(bundled["medians"]) == {"pytest-cov", "mcptest"}
    for row in data["compare"]:
        assert all(value > 0 for value in row["medians"].values())
    assert len(data["other"]) == 6


def test_perf_help_documents_the_options() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "perf.py"), "--help"], capture_output=True, text=True,
                          timeout=60, check=True)
    for option in ("--quick", "--only", "--sizes", "--tools", "--repeats", "--contexts-sizes", "--parallel-seconds",
                   "--mcptest-alt", "--pytest-addopts", "--json", "--keep"):
        assert option in proc.stdout
