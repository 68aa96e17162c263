"""`source` names resolved the way coverage.py's --source takes them: a folder, else an importable package."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from projects import CALC, env, mcptest
from typer.testing import CliRunner

from mcptest import exitcodes
from mcptest.cli import app
from mcptest.config import load_config, source_files, top_level_packages
from mcptest.errors import ConfigError, NoDataError
from mcptest.plan import coverage_mode

TESTS = """\
from srcpkg.calc import add, sign


def test_add_small_numbers_sum():
    assert add(2, 3) == 5


def test_sign_positive_one():
    assert sign(4) == 1
"""


def src_project(
    root: Path,
    config: str = "source: [srcpkg]\nsuites:\n  unit: {paths: [tests]}\n",
    pytest_ini: str | None = "[pytest]\npythonpath = src\n",
) -> Path:
    """A src layout: src/srcpkg (calc, a never-imported module, a subpackage) and its tests."""
    files = {
        "src/srcpkg/__init__.py": "VERSION = 1\n",
        "src/srcpkg/calc.py": CALC,
        "src/srcpkg/unused.py": "def never():\n    return 0\n",
        "src/srcpkg/sub/__init__.py": "",
        "src/srcpkg/sub/deep.py": "def deep(x):\n    return x if x else -1\n",
        "tests/test_calc.py": TESTS,
        "mcptest.yaml": config,
    }
    if pytest_ini is not None:
        files["pytest.ini"] = pytest_ini
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    importlib.invalidate_caches()
    return root


def load(root: Path):  # type: ignore[no-untyped-def]
    return load_config(root / "mcptest.yaml")


# --- end to end: the same numbers as coverage run --source=NAME --------------------------------------------


def test_src_layout_package_name_measured_like_coverage_run_source(tmp_path: Path) -> None:
    root = src_project(tmp_path)
    run = mcptest(root, "run", "unit")
    assert run.code == 0, run.output
    record = json.loads((root / ".mcptest" / "latest.json").read_text(encoding="utf-8"))
    ours = {f["path"]: f for f in record["coverage"]["files"]}

    data = tmp_path / "plain.coverage"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            f"--data-file={data}",
            "--branch",
            "--source=srcpkg",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests",
        ],
        cwd=root,
        env=env(),
        check=True,
        capture_output=True,
    )
    out = tmp_path / "plain.json"
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", str(out)],
        cwd=root,
        env=env(),
        check=True,
        capture_output=True,
    )
    theirs = json.loads(out.read_text(encoding="utf-8"))["files"]

    assert (
        sorted(ours)
        == sorted(theirs)
        == [
            "src/srcpkg/__init__.py",
            "src/srcpkg/calc.py",
            "src/srcpkg/sub/__init__.py",
            "src/srcpkg/sub/deep.py",
            "src/srcpkg/unused.py",
        ]
    )
    for path, entry in theirs.items():
        summary = entry["summary"]
        totals = ours[path]["totals"]
        assert (totals["statements"], totals["covered_lines"], totals["branches"], totals["covered_branches"]) == (
            summary["num_statements"],
            summary["covered_lines"],
            summary["num_branches"],
            summary["covered_branches"],
        ), path
        assert ours[path]["missing_lines"] == entry["missing_lines"], path
    assert ours["src/srcpkg/calc.py"]["missing_lines"] == [8, 9, 10]  # only sign(4) ran
    assert record["suites"][0]["counts"]["passed"] == 2


# --- in process: what a name resolves to ---------------------------------------------------------------------


def test_src_layout_name_resolves_to_the_package_folder_from_pytest_pythonpath(tmp_path: Path) -> None:
    config = load(src_project(tmp_path))
    assert config.source == ["src/srcpkg"]  # what coverage.py measures: the folder the name resolved to
    [entry] = config.sources
    assert (entry.name, entry.path, entry.kind, entry.via) == ("srcpkg", "src/srcpkg", "package", "pythonpath")
    assert "src/srcpkg/sub/deep.py" in source_files(tmp_path, config.source)


def test_src_layout_name_without_pythonpath_resolves_through_src(tmp_path: Path) -> None:
    config = load(src_project(tmp_path, pytest_ini=None))
    [entry] = config.sources
    assert (entry.path, entry.kind, entry.via) == ("src/srcpkg", "package", "src")


def test_pythonpath_from_pyproject_is_searched_first(tmp_path: Path) -> None:
    src_project(tmp_path, pytest_ini=None)
    (tmp_path / "lib" / "srcpkg").mkdir(parents=True)
    (tmp_path / "lib" / "srcpkg" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["lib"]\n')
    [entry] = load(tmp_path).sources
    assert (entry.path, entry.via) == ("lib/srcpkg", "pythonpath")


def test_dotted_module_in_src_layout_is_given_to_coverage_by_name(tmp_path: Path) -> None:
    src_project(tmp_path, "source: [srcpkg.calc, srcpkg.sub]\nsuites:\n  unit: {paths: [tests]}\n")
    config = load(tmp_path)
    # coverage.py's --source takes no files: a module stays a name, a package becomes its folder
    assert config.source == ["srcpkg.calc", "src/srcpkg/sub"]
    assert [(e.path, e.kind) for e in config.sources] == [
        ("src/srcpkg/calc.py", "module"),
        ("src/srcpkg/sub", "package"),
    ]
    assert source_files(tmp_path, config.source) == [
        "src/srcpkg/calc.py",
        "src/srcpkg/sub/__init__.py",
        "src/srcpkg/sub/deep.py",
    ]


def test_config_check_says_what_each_source_resolved_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src_project(tmp_path, "source: [srcpkg, tests]\nsuites:\n  unit: {paths: [tests]}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "# source srcpkg -> src/srcpkg (package, on pytest's pythonpath)\n" in result.output
    assert "# source tests (folder)\n" in result.output
    as_json = CliRunner().invoke(app, ["config", "check", "--json"])
    data = json.loads(as_json.output)
    assert data["source"] == ["src/srcpkg", "tests"]
    assert data["sources"][0] == {
        "name": "srcpkg",
        "path": "src/srcpkg",
        "kind": "package",
        "measure": "src/srcpkg",
        "via": "pythonpath",
    }


def test_name_on_the_interpreter_path_inside_the_project_resolves_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    src_project(root, pytest_ini=None)
    (root / "lib" / "libpkg").mkdir(parents=True)
    (root / "lib" / "libpkg" / "__init__.py").write_text("")
    (root / "mcptest.yaml").write_text("source: [libpkg]\nsuites:\n  unit: {paths: [tests]}\n")
    monkeypatch.syspath_prepend(str(root / "lib"))  # what an editable install's .pth file does
    [entry] = load(root).sources
    assert (entry.path, entry.kind, entry.via) == ("lib/libpkg", "package", "installed")


def test_installed_copy_in_site_packages_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    src_project(root, pytest_ini=None)
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "srcpkg").mkdir(parents=True)
    (site / "srcpkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError) as info:
        load(root)
    assert info.value.exit_code == exitcodes.CONFIG_ERROR
    assert str(info.value).endswith(
        f"mcptest.yaml:1: source: 'srcpkg' is imported from an installed copy, {site / 'srcpkg'}, not from the "
        "project (src/srcpkg): install the project editable (pip install -e .) so that its tests import its own "
        "files"
    )


def test_another_copy_shadowing_the_project_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    src_project(root, pytest_ini=None)
    other = tmp_path / "other-checkout" / "src"
    (other / "srcpkg").mkdir(parents=True)
    (other / "srcpkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(other))
    with pytest.raises(
        ConfigError,
        match=r"is imported from another copy, .*other-checkout/src/srcpkg, not from "
        r"the project \(src/srcpkg\)",
    ):
        load(root)


def test_namespace_folder_outside_the_project_is_not_a_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    src_project(root, "source: [nsfolder]\nsuites:\n  unit: {paths: [tests]}\n")
    (tmp_path / "elsewhere" / "nsfolder").mkdir(parents=True)  # no __init__.py: any folder of that name
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    with pytest.raises(NoDataError, match="source: 'nsfolder' yields no coverage data"):
        load(root)


def test_name_that_resolves_to_nothing_in_a_src_layout_stays_no_data(tmp_path: Path) -> None:
    src_project(tmp_path, "source: [srcpkg, nosuchpkg]\nsuites:\n  unit: {paths: [tests]}\n")
    with pytest.raises(NoDataError) as info:
        load(tmp_path)
    assert info.value.exit_code == exitcodes.NO_TESTS_OR_DATA
    assert "mcptest.yaml:1: source: 'nosuchpkg' yields no coverage data: there is no such folder" in str(info.value)


# --- which packages a source measures (the pytest-plugin check) -----------------------------------------------


def test_top_level_packages_of_folders_files_and_names(tmp_path: Path) -> None:
    src_project(tmp_path)
    (tmp_path / "src" / "single.py").write_text("")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "script.py").write_text("")
    assert top_level_packages(tmp_path, ["src"]) == {"src", "srcpkg", "single"}
    assert top_level_packages(tmp_path, ["src/srcpkg/sub"]) == {"srcpkg"}
    assert top_level_packages(tmp_path, ["src/srcpkg/sub/deep.py"]) == {"srcpkg"}
    assert top_level_packages(tmp_path, ["tools/script.py"]) == {"script"}
    assert top_level_packages(tmp_path, ["srcpkg.calc"]) == {"srcpkg"}


@pytest.mark.parametrize("source", ["src", "src/srcpkg", "src/srcpkg/sub", "srcpkg", "srcpkg.calc"])
def test_coverage_mode_sees_a_plugin_of_the_packages_inside_a_source_folder(tmp_path: Path, source: str) -> None:
    src_project(tmp_path, f"source: [{source}]\nsuites:\n  unit: {{paths: [tests]}}\n")
    config = load(tmp_path)
    assert coverage_mode(config, ["-p", "srcpkg.plugin"]) == "run"
    assert coverage_mode(config, ["-psrcpkg.sub"]) == "run"
    assert coverage_mode(config, ["-p", "otherpkg.plugin"]) == "plugin"
