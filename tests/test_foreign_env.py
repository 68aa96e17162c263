"""What installing mcptest brings into someone else's environment: no pytest plugin, no requests-mock at import."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from projects import env

REPO = Path(__file__).resolve().parent.parent
SIM_FIXTURES = ("go_bridge", "baileys_bridge", "bridge_control", "sim_logs", "_mcptest_sim_pool")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project that has nothing to do with mcptest: one module, one test, no conftest."""
    root = tmp_path_factory.mktemp("foreign")
    (root / "shop.py").write_text("def total(prices):\n    return sum(prices)\n")
    (root / "test_shop.py").write_text("from shop import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n")
    return root


def foreign_pytest(root: Path, *args: str) -> str:
    """pytest of ``root`` in this environment (plugins autoloaded as usual), paths that may name mcptest masked."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=env(),
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout + result.stderr
    for path in sorted({str(root), sys.prefix, sys.base_prefix, str(REPO)}, key=len, reverse=True):
        text = text.replace(path, "<path>")
    return text


def test_foreign_env_has_no_pytest11_entry_point_of_mcptest() -> None:
    mine = [e for e in entry_points(group="pytest11") if e.value.split(".")[0] == "mcptest"]
    assert mine == [], f"{mine}: stale metadata of an older install? pip install -e {REPO}"


@pytest.mark.parametrize("args", [("--fixtures", "-v"), ("--help",), ("-v",)], ids=["fixtures", "help", "run"])
def test_foreign_pytest_shows_no_mcptest_fixture_option_or_plugin(foreign: Path, args: tuple[str, ...]) -> None:
    text = foreign_pytest(foreign, *args)
    assert "mcptest" not in text.lower(), text
    assert not [name for name in SIM_FIXTURES if name in text], text
    if args[0] == "-v":
        assert "test_shop.py::test_total PASSED" in text


def test_foreign_pytest_gets_the_simulator_fixtures_when_it_asks_with_p(foreign: Path) -> None:
    text = foreign_pytest(foreign, "--fixtures", "-p", "mcptest.sim.fixtures")
    assert "fixtures defined from mcptest.sim.fixtures" in text
    assert all(name in text for name in ("go_bridge", "baileys_bridge", "bridge_control", "sim_logs"))


def test_mcptest_imports_without_requests_mock_and_the_mock_transport_names_the_extra(tmp_path: Path) -> None:
    probe = """
import importlib, pkgutil, sys
sys.modules["requests_mock"] = None  # as if requests-mock were not installed
import mcptest
names = sorted(m.name for m in pkgutil.walk_packages(mcptest.__path__, "mcptest.") if m.name != "mcptest.__main__")
for name in names:
    importlib.import_module(name)
print(len(names), "mcptest.cli" in names, "mcptest.sim.mock" in names)
from mcptest.sim.mock import mock_bridges
try:
    with mock_bridges():
        pass
except ModuleNotFoundError as exc:
    print(type(exc).__name__, exc.name, exc)
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    count, rest = result.stdout.splitlines()[0].split(" ", 1)
    assert int(count) > 30 and rest == "True True", result.stdout
    assert result.stdout.splitlines()[1] == (
        "ModuleNotFoundError requests_mock the requests-mock transport of the bridge simulators needs requests-mock,"
        " which is not installed: pip install mcptest[sim]"
    )
