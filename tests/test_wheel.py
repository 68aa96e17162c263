"""The built wheel carries what a user needs (templates, the schema, py.typed, the script) and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from projects import env, make_project

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("mcptest-*.whl")
    return built


def test_wheel_ships_templates_schema_py_typed_and_the_console_script(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mcptest/schema/run-record.schema.json" in names
    assert {"mcptest/templates/index.html", "mcptest/templates/style.css", "mcptest/templates/summary.md"} <= names
    assert "mcptest/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert text.split() == ["[console_scripts]", "mcptest", "=", "mcptest.__main__:main"]  # no pytest11 plugin


def test_wheel_top_level_names_are_mcptest_and_its_dist_info_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    (dist_info,) = top - {"mcptest"}
    assert dist_info.startswith("mcptest-") and dist_info.endswith(".dist-info"), top
    assert not any(name.startswith(("whatsapp_mcp/", "suites/", "tests/", "bench/")) for name in names)
    assert "mcptest/sim/mock.py" in names and "mcptest/sim/fixtures.py" in names  # the simulators are the tool's


def test_wheel_requires_requests_mock_only_for_the_sim_extra(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    lines = metadata.splitlines()
    requires = [line.removeprefix("Requires-Dist: ") for line in lines if line.startswith("Requires-Dist:")]
    mock = [r for r in requires if r.startswith("requests-mock")]
    assert mock and all("extra ==" in r for r in mock), requires
    assert any(r.startswith("requests-mock") and "extra == 'sim'" in r for r in requires), requires
    assert "Provides-Extra: sim" in lines


def test_installed_wheel_runs_and_renders_reports_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    project = make_project(tmp_path / "project")
    run_env = {**env(), "PYTHONPATH": str(target)}
    code = "import mcptest, sys; print(mcptest.__file__)"
    where = subprocess.run([sys.executable, "-c", code], cwd=project, env=run_env, capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr
    for args in (["run", "unit"], ["report", "--html", "--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "mcptest", *args],
            cwd=project,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    index = project / ".mcptest" / "report" / "html" / "index.html"
    assert "mcptest" in index.read_text(encoding="utf-8") and os.path.getsize(index) > 1000
    assert json.loads((project / ".mcptest" / "report" / "report.json").read_text())["kind"] == "mcptest-run"
