"""Config holes: containers of the wrong type, globs in test paths, alias bombs, overlong values."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fault_table import FAULTS
from projects import make_project as make_runnable
from projects import mcptest
from test_config import MINIMAL, SKETCH, config_error, load, make_project, tail

from mcptest.config import MAX_CHARACTERS, dotted, parse_config
from mcptest.errors import ConfigError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


# --- containers of the wrong type ------------------------------------------------------------------


def _containers(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], type]]:
    """Every mapping and list in ``value`` below the top, with its key path."""
    found: list[tuple[tuple[Any, ...], type]] = [(at, type(value))] if at and isinstance(value, dict | list) else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _containers(child, (*at, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _containers(child, (*at, i))
    return found


def _replaced(data: Any, at: tuple[Any, ...], value: Any) -> Any:
    copy = yaml.safe_load(yaml.safe_dump(data))
    parent = copy
    for part in at[:-1]:
        parent = parent[part]
    parent[at[-1]] = value
    return copy


SKETCH_DATA = yaml.safe_load(SKETCH)
CONTAINERS = _containers(SKETCH_DATA)
WRONG = {dict: ([], "", 0, False, ["x"]), list: ({}, 0, False, {"x": 1})}


def test_the_sketch_has_mappings_and_lists_at_every_level() -> None:
    kinds = {kind for _, kind in CONTAINERS}
    assert kinds == {dict, list}
    assert {at for at, _ in CONTAINERS} >= {("coverage",), ("coverage", "files"), ("modules",), ("bridges",),
                                           ("suites",), ("report",), ("source",), ("suites", "integration")}


@pytest.mark.parametrize(("at", "kind"), CONTAINERS, ids=[dotted(at) for at, _ in CONTAINERS])
def test_a_container_of_the_wrong_type_names_its_key_and_what_was_expected(
    project: Path, at: tuple[Any, ...], kind: type
) -> None:
    expected = "a mapping" if kind is dict else "a list of strings"
    for wrong in WRONG[kind]:
        text = yaml.safe_dump(_replaced(SKETCH_DATA, at, wrong), sort_keys=False)
        error = config_error(project, text, {"API_URL": "http://127.0.0.1:8080"})
        assert error.key == dotted(at), (wrong, str(error))
        assert tail(error).endswith(f"is not {expected}"), (wrong, str(error))
        assert error.line is not None and error.line >= 1
        assert error.exit_code == FAULTS["config-wrong-container"].exit


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("coverage: []\n", "mcptest.yaml:4: coverage: an empty list is not a mapping"),
        ("modules: []\n", "mcptest.yaml:4: modules: an empty list is not a mapping"),
        ("bridges: []\n", "mcptest.yaml:4: bridges: an empty list is not a mapping"),
        ("report: ''\n", "mcptest.yaml:4: report: '' is not a mapping"),
        ("flaky: false\n", "mcptest.yaml:4: flaky: false is not a mapping"),
        ("audit: 0\n", "mcptest.yaml:4: audit: 0 is not a mapping"),
        ("mutation: []\n", "mcptest.yaml:4: mutation: an empty list is not a mapping"),
        ("coverage:\n  files: []\n", "mcptest.yaml:5: coverage.files: an empty list is not a mapping"),
        ("coverage:\n  files: ''\n", "mcptest.yaml:5: coverage.files: '' is not a mapping"),
    ],
)
def test_empty_containers_of_the_wrong_type_are_not_empty_mappings(project: Path, extra: str, expected: str) -> None:
    assert tail(config_error(project, MINIMAL + extra)) == expected


def test_suites_as_a_list_is_rejected(project: Path) -> None:
    error = config_error(project, "source: pkg\nsuites: []\n")
    assert tail(error) == "mcptest.yaml:2: suites: an empty list is not a mapping"


def test_null_optional_sections_stay_empty(project: Path) -> None:
    config = load(project, MINIMAL + "coverage:\nmodules:\nbridges:\nreport:\nflaky:\naudit:\nmutation:\n")
    assert config.modules == {} and config.bridges == {} and config.coverage.files == []
    assert config.report.dir == ".mcptest" and config.flaky_allow == []


# --- globs in test paths ------------------------------------------------------------------------------


def _tests(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("def test_x():\n    assert 1 == 1\n", encoding="utf-8")


def test_glob_in_suite_paths_is_expanded_sorted_and_relative(project: Path) -> None:
    _tests(project, "tests/unit/test_b.py", "tests/unit/test_a.py", "tests/unit/helper.py",
           "tests/unit/__pycache__/test_c.py", "tests/unit/.hidden/test_d.py")
    config = load(project, MINIMAL + "  smoke: {paths: ['tests/unit/test_*.py', 'tests/unit/test_a.py']}\n")
    assert config.suites["smoke"].paths == ["tests/unit/test_a.py", "tests/unit/test_b.py",
                                            "tests/unit/test_core.py"]


def test_double_star_glob_spans_folders_and_keeps_only_the_outer_match(project: Path) -> None:
    _tests(project, "tests/a/b/test_deep.py", "tests/a/test_mid.py")
    config = load(project, MINIMAL + "  deep: {paths: ['tests/**/test_*.py']}\n  dirs: {paths: ['tests/*']}\n")
    assert config.suites["deep"].paths == ["tests/a/b/test_deep.py", "tests/a/test_mid.py",
                                           "tests/integration/test_api.py", "tests/unit/test_core.py"]
    # a matched folder holds its files already: pytest gets each test file once
    assert config.suites["dirs"].paths == ["tests/a", "tests/integration", "tests/unit"]


def test_glob_in_module_tests_is_expanded(project: Path) -> None:
    config = load(project, MINIMAL + "modules:\n  core: {files: [pkg/core.py], tests: ['tests/*/test_*.py']}\n")
    assert config.modules["core"].tests == ["tests/integration/test_api.py", "tests/unit/test_core.py"]


def test_existing_path_with_glob_characters_is_taken_as_written(project: Path) -> None:
    _tests(project, "tests/test_[x].py")
    config = load(project, MINIMAL + "  odd: {paths: ['tests/test_[x].py']}\n")
    assert config.suites["odd"].paths == ["tests/test_[x].py"]


@pytest.mark.parametrize(
    ("extra", "line", "expected"),
    [
        ("  smoke: {paths: ['tests/*/test_none*.py']}\n", 4,
         "suites.smoke.paths[0]: 'tests/*/test_none*.py' matches no file or folder under "),
        ("  smoke:\n    paths:\n      - tests/unit\n      - 'nowhere/**'\n", 7,
         "suites.smoke.paths[1]: 'nowhere/**' matches no file or folder under "),
        ("modules:\n  core: {files: [pkg/core.py], tests: ['tests/*.txt']}\n", 5,
         "modules.core.tests[0]: 'tests/*.txt' matches no file or folder under "),
    ],
)
def test_glob_that_matches_nothing_is_an_error(project: Path, extra: str, line: int, expected: str) -> None:
    error = config_error(project, MINIMAL + extra)
    assert tail(error).startswith(f"mcptest.yaml:{line}: {expected}")
    assert error.exit_code == FAULTS["config-glob-matches-nothing"].exit


def test_glob_in_suite_paths_reaches_pytest_expanded(tmp_path: Path) -> None:
    config = "source: [pkg]\nsuites:\n  unit: {paths: ['tests/test_c*.py'], timeout: 30s}\n"
    make_runnable(tmp_path, config=config)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["config-glob-suite-paths"].exit, result.output
    assert "running suite unit (tests/test_calc.py)" in result.stderr
    assert "collected 4 tests" in result.stderr  # test_text.py is not matched


# --- alias bombs ----------------------------------------------------------------------------------------


def _bomb(size: int, copies: int) -> str:
    lines = [*MINIMAL.splitlines(), "report:", "  requirements:", "    - &big " + "x" * size]
    return "\n".join(lines + ["    - *big"] * copies) + "\n"


def test_alias_bomb_fails_fast_naming_the_alias_and_the_limit(project: Path) -> None:
    text = _bomb(100_000, 5_000)  # 150 KB of text, 500 MB of values once the aliases are expanded
    started = time.monotonic()
    error = config_error(project, text)
    elapsed = time.monotonic() - started
    assert elapsed < 2, elapsed
    assert f"more than {MAX_CHARACTERS} characters after YAML aliases are expanded" in tail(error)
    assert error.line is not None
    assert text.splitlines()[error.line - 1] == "    - *big"
    assert error.exit_code == FAULTS["config-alias-bomb"].exit


def test_alias_bomb_in_config_check_is_exit_4_at_once(project: Path) -> None:
    (project / "mcptest.yaml").write_text(_bomb(100_000, 5_000), encoding="utf-8")
    started = time.monotonic()
    result = mcptest(project, "config", "check", timeout=60)
    assert time.monotonic() - started < 10  # it printed 500 MB of YAML for minutes
    assert result.code == FAULTS["config-alias-bomb"].exit
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "YAML aliases are expanded" in result.stderr


def test_aliases_within_the_limits_resolve(project: Path) -> None:
    text = MINIMAL + "  other: {paths: &p [tests/unit], timeout: &t 30s}\n  third: {paths: *p, timeout: *t}\n"
    config = load(project, text)
    assert config.suites["third"].paths == ["tests/unit"] and config.suites["third"].timeout == 30
    assert parse_config(_bomb(1_000, 100), project / "mcptest.yaml", environ={}).report.requirements[0] == "x" * 1000


def test_a_large_file_without_aliases_is_bounded_too(project: Path) -> None:
    text = MINIMAL + "report:\n  requirements:\n" + "".join(f"    - {'r' * 1000}{i}\n" for i in range(1100))
    error = config_error(project, text)
    assert f"more than {MAX_CHARACTERS} characters" in tail(error)


# --- long values are cut in messages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        ("  smoke: {paths: ['" + "a" * 100_000 + "']}\n", "'" + "a" * 100 + "'... (100000 characters)"),
        ("  smoke: {paths: [tests/unit], type: " + "t" * 5_000 + "}\n", "... (5000 characters)"),
        ("  ? " + "k" * 3_000 + "!\n  : {paths: [tests/unit]}\n", "... (3001 characters)"),  # YAML's long-key form
        ("  smoke: {paths: [tests/unit], ? " + "z" * 3_000 + " : 1}\n", "... (3000 characters)"),
        ("  smoke: {paths: [tests/unit], timeout: !!int '" + "9" * 5_000 + "'}\n", "... (5000 characters)"),
        ("  smoke: {paths: ['${" + "E" * 3_000 + "}']}\n", "... (3000 characters)"),
    ],
)
def test_long_values_are_cut_in_messages(project: Path, extra: str, shown: str) -> None:
    error = config_error(project, MINIMAL + extra)
    message = tail(error)
    assert shown in message
    assert len(message) < 700, len(message)
    assert isinstance(error, ConfigError) and error.line == 4
