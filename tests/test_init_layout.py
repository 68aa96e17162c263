"""`mcptest init` writes the layout a project really has: flat modules, src packages, typed test folders,
pytest's testpaths and coverage.py's source; `init --check` compares a config with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import latest, mcptest, write_files
from typer.testing import CliRunner

from mcptest import exitcodes
from mcptest.cli import app
from mcptest.config import load_config
from mcptest.errors import McptestError

runner = CliRunner()

MODULE = "def double(x):\n    if x:\n        return 2 * x\n    return 0\n"
MODULE_TEST = "from flatmod import double\n\n\ndef test_double_two_four():\n    assert double(2) == 4\n"


def init(root: Path, *args: str) -> str:
    result = runner.invoke(app, ["init", str(root), *args])
    assert result.exit_code == 0, result.output
    return (root / "mcptest.yaml").read_text(encoding="utf-8")


def exit_code(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["init", str(root), *args])
    code = result.exception.exit_code if isinstance(result.exception, McptestError) else result.exit_code
    return code, result.output + (str(result.exception) if isinstance(result.exception, McptestError) else "")


# --- what is measured ---------------------------------------------------------------------------------------------


def test_init_flat_layout_measures_the_modules_next_to_the_tests_not_the_tooling(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "flatmod.py": MODULE,
            "helpers/__init__.py": "",
            "setup.py": "from setuptools import setup\nsetup(py_modules=['flatmod'])\n",
            "conftest.py": "",
            "noxfile.py": "",
            "tests/test_flatmod.py": MODULE_TEST,
        },
    )
    text = init(tmp_path)
    assert "source: [helpers, flatmod]" in text
    assert "# Found: the packages and modules at the top (flat layout)." in text
    assert load_config(tmp_path / "mcptest.yaml").source == ["helpers", "flatmod"]


def test_init_of_a_six_like_project_measures_the_module_and_runs_its_root_test_file(tmp_path: Path) -> None:
    # one module and its test file side by side at the top, no tests/ folder (the six sdist)
    write_files(tmp_path, {"flatmod.py": MODULE, "test_flatmod.py": MODULE_TEST, "setup.py": ""})
    text = init(tmp_path)
    assert "source: [flatmod]" in text and "    paths: [test_flatmod.py]" in text
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.OK, result.output
    record = latest(tmp_path)
    assert [f["path"] for f in record["coverage"]["files"]] == ["flatmod.py"]  # measured, the test file not
    assert record["counts"]["passed"] == 1


def test_init_src_layout_measures_the_package_inside_src(tmp_path: Path) -> None:
    write_files(tmp_path, {"src/srcpkg/__init__.py": "", "src/srcpkg.egg-info/PKG-INFO": "", "tests/test_x.py": ""})
    text = init(tmp_path)
    assert "source: [src/srcpkg]" in text and "# Found: the packages inside src/ (src layout)." in text


@pytest.mark.parametrize(
    ("files", "source", "where"),
    [
        (
            {"pyproject.toml": '[tool.coverage.run]\nbranch = true\nsource = ["corepkg", "tests"]\n'},
            "[corepkg]",
            "pyproject.toml [tool.coverage.run]",
        ),
        (
            {"setup.cfg": "[coverage:run]\nsource =\n    corepkg.sub\n    # helpers\n"},
            "[corepkg.sub]",
            "setup.cfg [coverage:run]",
        ),
        (
            # coverage.py reads .coveragerc alone when it is there
            {".coveragerc": "[run]\nsource_pkgs = corepkg\n", "tox.ini": "[coverage:run]\nsource = helpers\n"},
            "[corepkg]",
            ".coveragerc [run]",
        ),
    ],
)
def test_init_takes_coverage_own_source_without_the_tests(
    tmp_path: Path, files: dict[str, str], source: str, where: str
) -> None:
    write_files(
        tmp_path,
        {"corepkg/__init__.py": "", "corepkg/sub.py": "", "helpers/__init__.py": "", "tests/test_core.py": "", **files},
    )
    text = init(tmp_path)
    assert f"source: {source}" in text
    assert f"# Found: coverage.py's own source ({where})" in text
    if "tests" in files.get("pyproject.toml", ""):
        assert "# init noticed: tests of coverage.py's source" in text and "mcptest never measures tests" in text


def test_init_in_a_folder_without_python_code_says_so_and_writes_nothing(tmp_path: Path) -> None:
    write_files(tmp_path, {"README.md": "docs only\n", "docs/index.md": "", "setup.py": "", "tests/test_x.py": ""})
    result = mcptest(tmp_path, "init")
    assert result.code == exitcodes.NO_TESTS_OR_DATA, result.output
    assert result.stderr.startswith("mcptest: error: ") and "holds no Python package or module" in result.stderr
    assert not (tmp_path / "mcptest.yaml").exists()


# --- the suites -------------------------------------------------------------------------------------------------


def test_init_one_suite_per_unit_integration_e2e_folder_and_one_for_the_rest(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "corepkg/__init__.py": "",
            "tests/conftest.py": "",
            "tests/unit/test_a.py": "def test_a_unit_ok():\n    pass\n",
            "tests/integration/test_b.py": "def test_b_integration_ok():\n    pass\n",
            "tests/e2e/test_c.py": "def test_c_e2e_ok():\n    pass\n",
            "tests/test_misc.py": "def test_misc_ok():\n    pass\n",
            "tests/data/sample.json": "{}",
        },
    )
    init(tmp_path)
    config = load_config(tmp_path / "mcptest.yaml")
    shown = {name: (s.paths, s.test_type) for name, s in config.suites.items()}
    assert shown == {
        "unit": (["tests/unit"], "unit"),
        "integration": (["tests/integration"], "integration"),
        "e2e": (["tests/e2e"], "e2e"),
        "other": (["tests/test_misc.py"], "custom"),
    }
    result = mcptest(tmp_path, "run", "all")
    assert result.code in (exitcodes.OK, exitcodes.THRESHOLD_MISSED, exitcodes.NO_TESTS_OR_DATA), result.output
    assert latest(tmp_path)["counts"]["passed"] == 4  # every test ran in some suite


@pytest.mark.parametrize(
    "settings",
    [
        {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["testing"]\n'},
        {"pyproject.toml": '[tool.pytest]\nini_options.testpaths = "testing"\n'},  # iniconfig's own pyproject
        {"tox.ini": "[pytest]\ntestpaths = testing\n"},
    ],
)
def test_init_reads_pytest_testpaths(tmp_path: Path, settings: dict[str, str]) -> None:
    write_files(tmp_path, {"corepkg/__init__.py": "", "tests/old_notes.txt": "", "testing/test_x.py": "", **settings})
    text = init(tmp_path)
    assert "    paths: [testing]" in text
    assert "# pytest's testpaths (" in text


def test_init_testpaths_naming_typed_folders_give_typed_suites(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "corepkg/__init__.py": "",
            "pytest.ini": "[pytest]\ntestpaths = tests/unit tests/integration\n",
            "tests/unit/test_a.py": "",
            "tests/integration/test_b.py": "",
        },
    )
    init(tmp_path)
    config = load_config(tmp_path / "mcptest.yaml")
    assert {n: (s.paths, s.test_type) for n, s in config.suites.items()} == {
        "unit": (["tests/unit"], "unit"),
        "integration": (["tests/integration"], "integration"),
    }


# --- init --check -------------------------------------------------------------------------------------------------


def test_init_check_matches_what_it_wrote_and_lists_each_difference(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "src/corepkg/__init__.py": "",
            "src/helpers/__init__.py": "",
            "tests/unit/test_a.py": "",
            "tests/integration/test_b.py": "",
            "pytest.ini": "[pytest]\ntimeout = 20\n",
        },
    )
    init(tmp_path)
    code, output = exit_code(tmp_path, "--check")
    assert code == exitcodes.OK and "mcptest.yaml: matches what 'mcptest init' would write" in output, output
    # a config written by hand some time ago: one package, one suite over every test, its own timeout
    write_files(
        tmp_path,
        {
            "mcptest.yaml": "source: [corepkg]\nsuites:\n  all_tests: {paths: [tests], timeout: 5s}\n"
            "  smoke: {paths: [tests/unit/test_a.py]}\n"
        },
    )
    code, output = exit_code(tmp_path, "--check")
    assert code == exitcodes.TESTS_FAILED, output
    assert "- source: mcptest.yaml measures [src/corepkg], init would write [src/corepkg, src/helpers]" in output
    assert "- suite unit: not in mcptest.yaml; init would write paths [tests/unit], type unit" in output
    assert "- suite integration: not in mcptest.yaml; init would write paths [tests/integration]" in output
    assert "note: suite all_tests is only in mcptest.yaml (init finds no such suite)" in output
    assert "mcptest.yaml: 3 difference(s) from what 'mcptest init' would write" in output
    assert "5s" in (tmp_path / "mcptest.yaml").read_text()  # --check writes nothing


def test_init_check_names_a_changed_timeout_and_type_of_a_suite(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "corepkg/__init__.py": "",
            "tests/test_a.py": "",
            "pytest.ini": "[pytest]\ntimeout = 20\n",
            "mcptest.yaml": "source: [corepkg]\nsuites:\n  unit: {paths: [tests], type: e2e, timeout: 5s}\n",
        },
    )
    code, output = exit_code(tmp_path, "--check")
    assert code == exitcodes.TESTS_FAILED, output
    assert "- suite unit: type e2e, init would write unit" in output
    assert "- suite unit: timeout 5s, init would write 20s (per test: the project's own pytest timeout" in output


def test_init_check_without_a_config_is_a_usage_error(tmp_path: Path) -> None:
    write_files(tmp_path, {"corepkg/__init__.py": "", "tests/test_a.py": ""})
    code, output = exit_code(tmp_path, "--check")
    assert code == exitcodes.CONFIG_ERROR and "mcptest.yaml does not exist" in output
    assert not (tmp_path / "mcptest.yaml").exists()
