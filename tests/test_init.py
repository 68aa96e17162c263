"""`mcptest init`: defaults that cannot break a suite that passes under plain pytest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from projects import mcptest, write_files
from typer.testing import CliRunner, Result

from mcptest import exitcodes
from mcptest.cli import app
from mcptest.config import load_config
from mcptest.errors import McptestError
from mcptest.pytest_ini import find_settings
from mcptest.starter import Measurement, budget_for, guess_sources, plan, render, use_measurement

runner = CliRunner()

TESTS = """\
from srcpkg.calc import add


def test_add_small_numbers_sum():
    assert add(2, 3) == 5
"""


def project(root: Path, files: dict[str, str] | None = None, *, src: bool = True) -> Path:
    layout = {
        ("src/srcpkg" if src else "srcpkg") + "/__init__.py": "",
        ("src/srcpkg" if src else "srcpkg") + "/calc.py": "def add(a, b):\n    return a + b\n",
        "tests/test_calc.py": TESTS,
    }
    if src:
        layout["pytest.ini"] = "[pytest]\npythonpath = src\n"
    layout.update(files or {})
    return write_files(root, layout)


def code(result: Result) -> int:
    """The exit code ``mcptest`` would end with (its entry point turns an McptestError into its code)."""
    return result.exception.exit_code if isinstance(result.exception, McptestError) else result.exit_code


def init(root: Path, *args: str) -> str:
    result = runner.invoke(app, ["init", str(root), *args])
    assert result.exit_code == 0, result.output
    return (root / "mcptest.yaml").read_text(encoding="utf-8")


def active(text: str, key: str) -> list[str]:
    """The uncommented lines that set ``key``."""
    return [line for line in text.splitlines() if re.match(rf"^\s*{key}:", line)]


# --- the per-test timeout -------------------------------------------------------------------------------------


def test_init_src_layout_with_pytest_timeout_writes_that_timeout_and_the_package(tmp_path: Path) -> None:
    project(tmp_path, {"pytest.ini": "[pytest]\npythonpath = src\ntimeout = 20\n"})
    text = init(tmp_path)
    assert "source: [src/srcpkg]" in text
    assert active(text, "timeout") == [
        "    timeout: 20s               # per test: the project's own pytest timeout (pytest.ini: timeout = 20)"
    ]
    config = load_config(tmp_path / "mcptest.yaml")
    assert config.source == ["src/srcpkg"]
    assert config.suites["unit"].timeout == 20
    assert config.suites["unit"].budget is None


def test_init_without_a_pytest_timeout_writes_none_and_no_budget(tmp_path: Path) -> None:
    text = init(project(tmp_path))
    assert active(text, "timeout") == [] and active(text, "budget") == []
    assert "    # budget: 10m              # the whole suite; 'mcptest init --measure' measures one" in text
    config = load_config(tmp_path / "mcptest.yaml")
    assert config.suites["unit"].timeout is None and config.suites["unit"].budget is None


@pytest.mark.parametrize(
    ("files", "seconds", "where"),
    [
        ({"pyproject.toml": '[tool.pytest.ini_options]\ntimeout = "15"\n'}, 15, "pyproject.toml: timeout = 15"),
        ({"pyproject.toml": "[tool.pytest]\ntimeout = 15\n"}, 15, "pyproject.toml: timeout = 15"),
        ({"tox.ini": "[pytest]\ntimeout = 7.5\n"}, 7.5, "tox.ini: timeout = 7.5"),
        ({"setup.cfg": "[tool:pytest]\ntimeout = 30\n"}, 30, "setup.cfg: timeout = 30"),
        ({"setup.cfg": "[tool:pytest]\naddopts = -ra --timeout=12\n"}, 12, "setup.cfg: addopts --timeout"),
        # pytest.ini wins over pyproject.toml even without a timeout: then none is written
        ({"pytest.ini": "[pytest]\n", "pyproject.toml": "[tool.pytest.ini_options]\ntimeout = 9\n"}, None, ""),
        # a pyproject.toml without pytest settings does not count: tox.ini's applies
        (
            {"pyproject.toml": "[project]\nname = 'x'\n", "tox.ini": "[pytest]\ntimeout = 4\n"},
            4,
            "tox.ini: timeout = 4",
        ),
    ],
)
def test_init_takes_the_timeout_from_the_project_pytest_settings(
    tmp_path: Path, files: dict[str, str], seconds: float | None, where: str
) -> None:
    project(tmp_path, files, src=False)
    text = init(tmp_path)
    config = load_config(tmp_path / "mcptest.yaml")
    assert config.suites["unit"].timeout == seconds
    if where:
        assert f"# per test: the project's own pytest timeout ({where})" in text


def test_init_project_timeout_of_zero_writes_none(tmp_path: Path) -> None:
    text = init(project(tmp_path, {"pytest.ini": "[pytest]\npythonpath = src\ntimeout = 0\n"}))
    assert active(text, "timeout") == []
    assert "the project's pytest settings turn the per-test timeout off (pytest.ini: timeout = 0)" in text


def test_init_timeout_option_writes_the_asked_timeout(tmp_path: Path) -> None:
    text = init(project(tmp_path, {"pytest.ini": "[pytest]\npythonpath = src\ntimeout = 20\n"}), "--timeout", "2m")
    assert load_config(tmp_path / "mcptest.yaml").suites["unit"].timeout == 120
    assert "(the project's pytest settings say pytest.ini: timeout = 20)" in text


def test_init_bad_timeout_option_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(project(tmp_path)), "--timeout", "soon"])
    assert code(result) == exitcodes.CONFIG_ERROR
    assert "--timeout 'soon' is not a duration" in str(result.exception)
    assert not (tmp_path / "mcptest.yaml").exists()


def test_init_unreadable_pytest_settings_are_a_config_error(tmp_path: Path) -> None:
    project(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options\n"}, src=False)
    result = mcptest(tmp_path, "init")  # the real entry point: one line, the file named, no traceback
    assert result.code == exitcodes.CONFIG_ERROR
    assert result.stderr.startswith("mcptest: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "pyproject.toml: cannot read the project's pytest settings: Expected ']'" in result.stderr
    assert not (tmp_path / "mcptest.yaml").exists()


def test_pytest_settings_are_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "tox.ini").write_text("[pytest]\ntimeout = 3\n")
    (tmp_path / "inner").mkdir()
    settings = find_settings(tmp_path / "inner")
    assert settings.file == tmp_path / "tox.ini"
    assert settings.timeout() == (3.0, "tox.ini: timeout = 3")


# --- the budget -----------------------------------------------------------------------------------------------


def test_budget_is_three_times_the_measured_time_rounded_up_to_a_minute() -> None:
    assert budget_for(2.6) == 60  # at least a minute
    assert budget_for(25) == 120  # 75 s -> 2m
    assert budget_for(420) == 1260  # anyio's 7-minute suite -> 21m, where the old 5m default killed it
    starter = plan(Path("/nonexistent-project"))
    use_measurement(starter, Measurement(command=[], seconds=41.2, pytest_exit=1, output_tail=[]))
    text = render(starter)
    assert active(text, "budget") == [
        "    budget: 3m                 # the whole suite: 3 x the 41.2 s that 'mcptest init --measure' measured "
        "(some tests failed), rounded up to a minute"
    ]


def test_init_measure_writes_a_budget_from_a_measured_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(project(tmp_path)), "--measure"])
    assert result.exit_code == 0, result.output
    assert "budget 1m" in result.output
    text = (tmp_path / "mcptest.yaml").read_text(encoding="utf-8")
    [line] = active(text, "budget")
    assert re.fullmatch(
        r"    budget: 1m +# the whole suite: 3 x the \d+\.\d s that 'mcptest init --measure' "
        r"measured, rounded up to a minute",
        line,
    ), line
    assert load_config(tmp_path / "mcptest.yaml").suites["unit"].budget == 60


@pytest.mark.parametrize(
    ("test_file", "exit_code", "why"),
    [
        ("def test_broken(:\n", exitcodes.TESTS_FAILED, "pytest exit 2 (interrupted, or a collection error)"),
        ("# no tests here\n", exitcodes.NO_TESTS_OR_DATA, "pytest exit 5 (no tests were collected)"),
    ],
)
def test_init_measure_of_a_suite_that_does_not_run_writes_nothing(
    tmp_path: Path, test_file: str, exit_code: int, why: str
) -> None:
    project(tmp_path, {"tests/test_calc.py": test_file})
    result = runner.invoke(app, ["init", str(tmp_path), "--measure"])
    assert code(result) == exit_code, result.output
    assert f"the measuring run ended with {why}" in (result.output + str(result.exception))
    assert not (tmp_path / "mcptest.yaml").exists()


# --- the sources ----------------------------------------------------------------------------------------------


def test_guess_sources_names_the_packages_inside_src(tmp_path: Path) -> None:
    for name in ("src/alpha/__init__.py", "src/beta/__init__.py", "src/alpha.egg-info/PKG-INFO"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert guess_sources(tmp_path) == ["src/alpha", "src/beta"]
    (tmp_path / "src" / "single.py").write_text("")  # a plain module too: coverage.py measures it through src
    assert guess_sources(tmp_path) == ["src"]
