"""The bundled target: mcptest run unit on a copy of the repository's orchestrator, suites and config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import env, latest, mcptest

from mcptest import exitcodes
from mcptest.history import validate

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the README's main command uses, so runs here never touch the repository."""
    root = tmp_path_factory.mktemp("bundled")
    for name in ("whatsapp_mcp", "suites"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "mcptest.yaml", root / "mcptest.yaml")
    return root


@pytest.fixture(scope="module")
def unit_run(bundled: Path) -> tuple[int, str, dict]:
    result = mcptest(bundled, "run", "unit", timeout=300)
    return result.code, result.output, latest(bundled)


def test_bundled_unit_suite_meets_every_gate_exits_ok(unit_run: tuple[int, str, dict]) -> None:
    code, output, record = unit_run
    assert code == exitcodes.OK, output
    validate(record)
    assert record["counts"]["failed"] == 0 and record["counts"]["passed"] >= 100
    thresholds = [v for v in record["verdicts"] if v["kind"] == "threshold"]
    targets = {v["target"] for v in thresholds}
    assert {
        "overall",
        "file:whatsapp_mcp/routing.py",
        "file:whatsapp_mcp/sync.py",
        "file:whatsapp_mcp/backends/health.py",
        "module:routing",
        "module:sync",
        "module:health",
    } <= targets
    assert all(v["passed"] for v in thresholds)
    assert record["suites"][0]["duration"] < 30  # the spec's budget for unit suites


def test_bundled_tests_carry_requirement_ids_for_every_unit_fr(unit_run: tuple[int, str, dict]) -> None:
    _, _, record = unit_run
    covered = {req for t in record["suites"][0]["tests"] for req in t["requirements"]}
    assert {f"FR-{n:03d}" for n in range(1, 31)} <= covered


def test_bundled_numbers_equal_coverage_py_run_directly(bundled: Path, unit_run: tuple[int, str, dict]) -> None:
    _, _, record = unit_run
    data = bundled / "direct.coverage"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            f"--data-file={data}",
            "--branch",
            "--source=whatsapp_mcp",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "suites/unit",
        ],
        cwd=bundled,
        env=env(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", "direct.json"],
        cwd=bundled,
        env=env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    direct = json.loads((bundled / "direct.json").read_text())["files"]
    ours = {f["path"]: f["totals"] for f in record["coverage"]["files"]}
    assert set(ours) == set(direct)
    for path, entry in direct.items():
        s = entry["summary"]
        assert (
            ours[path]["statements"],
            ours[path]["covered_lines"],
            ours[path]["branches"],
            ours[path]["covered_branches"],
        ) == (s["num_statements"], s["covered_lines"], s["num_branches"], s["covered_branches"]), path
        assert ours[path]["percent"] == pytest.approx(s["percent_covered"])


def test_bundled_without_routing_tests_exits_threshold(
    bundled: Path, unit_run: tuple[int, str, dict], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundled, copy, ignore=shutil.ignore_patterns(".mcptest", "direct.*"))
    (copy / "suites" / "unit" / "test_routing.py").unlink()
    # the routing module names its test file; without it the config is rightly refused, so point it elsewhere
    config = (copy / "mcptest.yaml").read_text().replace("tests: [suites/unit/test_routing.py]", "tests: [suites/unit]")
    # the router fixture is left without a test, which the audit gate rightly reports (unused-fixture, exit 1);
    # this test is about the coverage gate
    config = config.replace("  gate: true", "  gate: false")
    (copy / "mcptest.yaml").write_text(config)
    result = mcptest(copy, "run", "unit", timeout=300)
    assert result.code == exitcodes.THRESHOLD_MISSED, result.output
    assert "whatsapp_mcp/routing.py line coverage" in result.stdout
    assert "is below the required 80%" in result.stdout


def test_bundled_run_all_starts_simulators_and_passes(bundled: Path) -> None:
    from test_run_bridges import free_port

    ports = {
        "GO_BRIDGE_URL": f"http://127.0.0.1:{free_port()}",
        "BAILEYS_BRIDGE_URL": f"http://127.0.0.1:{free_port()}",
    }
    result = mcptest(bundled, "run", "all", timeout=600, extra_env=ports)
    assert result.code == exitcodes.OK, result.output
    record = latest(bundled)
    validate(record)
    suites = {s["name"]: s for s in record["suites"]}
    assert set(suites) == {"unit", "integration", "e2e"}
    assert all(s["status"] == "passing" for s in suites.values())
    for name in ("integration", "e2e"):
        calls = suites[name]["bridge_calls"]
        assert calls is not None and calls["go"] > 0 and calls["baileys"] > 0, name
    assert {b["url"] for b in record["bridges"]} == {u + "/health" for u in ports.values()}
    covered = {req for s in suites.values() for t in s["tests"] for req in t["requirements"]}
    assert {f"FR-{n:03d}" for n in range(1, 46)} <= covered


def test_bundled_unit_suite_passes_in_random_order_and_repeated(bundled: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundled, copy, ignore=shutil.ignore_patterns(".mcptest", "direct.*"))
    result = mcptest(copy, "run", "unit", "--repeat", "2", "--random-order", "--seed", "20261121", timeout=600)
    assert result.code == exitcodes.OK, result.output
    record = latest(copy)
    assert record["counts"]["flaky"] == 0 and record["counts"]["failed"] == 0
    assert all(len(t["attempts"]) == 2 for t in record["suites"][0]["tests"])
