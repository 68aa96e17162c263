"""The config loader: resolved dataclasses, one-line errors with file:line, key, value and expectation."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcptest import exitcodes
from mcptest.config import (
    CONFIG_NAME,
    config_to_dict,
    dotted,
    find_config,
    load_config,
    parse_config,
    source_files,
)
from mcptest.config_model import BridgeConfig, Config
from mcptest.errors import ConfigError, NoDataError

# --- a small project: a source package, test folders and the config ---------------------------------

SOURCE_FILES = (
    "pkg/__init__.py",
    "pkg/core.py",
    "pkg/x.py",
    "pkg/sub/__init__.py",
    "pkg/sub/deep.py",
    "pkg/.hidden/skipped.py",
    "pkg/__pycache__/skipped.py",
    "tools/script.py",
)
TEST_FILES = ("tests/unit/test_core.py", "tests/integration/test_api.py")

SKETCH = """\
version: 1
source: [pkg]
coverage:
  branch: true
  overall: {line: 80, branch: 70.5}
  max_drop: 1.5
  files:
    pkg/core.py: {line: 90, branch: 85}
    "pkg/**/*.py": {line: 50}
modules:
  core:
    files: [pkg/core.py, "pkg/sub/*.py"]
    tests: [tests/unit]
    line: 75
suites:
  unit: {paths: [tests/unit], budget: 5m, timeout: 30s}
  integration:
    paths: [tests/integration]
    timeout: 500ms
    budget: 1h
    requires: [api]
    pytest_args: "-x --maxfail 2"
  smoke:
    paths: tests/unit/test_core.py
    type: e2e
    timeout: 45
bridges:
  api:
    url: "${API_URL:-http://127.0.0.1:8080/}"
    accept: [ok, degraded]
    start: "python -m fake_api --port 8080"
  db:
    url: https://db.example:5432
    health: /ready
    connect_timeout: 2s
    read_timeout: 1m
    start_timeout: 90
report:
  requirements: [REQ-1, REQ-2]
"""

# three lines; whatever is appended starts at line 4
MINIMAL = "source: pkg\nsuites:\n  unit: {paths: [tests/unit]}\n"

_WHERE = re.compile(r"mcptest\.yaml:([1-9][0-9]*)(?::|$)")


def make_project(root: Path) -> Path:
    for rel in (*SOURCE_FILES, *TEST_FILES):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x = 1\n", encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def write(root: Path, text: str) -> Path:
    path = root / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def load(root: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    return load_config(write(root, text), environ={} if environ is None else environ)


def config_error(root: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(root, text, environ)
    return info.value


def tail(error: Exception) -> str:
    """The message from the config file's name on (the folder before it depends on the current one)."""
    message = str(error)
    assert "\n" not in message
    return message[message.index(CONFIG_NAME):]


# --- the valid sketch -------------------------------------------------------------------------------


def test_sketch_resolves_to_dataclasses(project: Path) -> None:
    config = load(project, SKETCH)
    assert config.path == (project / CONFIG_NAME).resolve()
    assert config.root == project.resolve()
    assert config.version == 1
    assert config.source == ["pkg"]

    cov = config.coverage
    assert cov.branch is True
    assert (cov.overall.line, cov.overall.branch) == (80.0, 70.5)
    assert cov.overall.key == "coverage.overall"
    assert cov.overall.lineno == 5
    assert cov.max_drop == 1.5
    assert cov.max_drop_lineno == 6
    assert [rule.pattern for rule in cov.files] == ["pkg/core.py", "pkg/**/*.py"]
    core_rule, glob_rule = cov.files
    assert (core_rule.threshold.line, core_rule.threshold.branch) == (90.0, 85.0)
    assert core_rule.threshold.key == 'coverage.files."pkg/core.py"'
    assert core_rule.threshold.lineno == 8
    assert (glob_rule.threshold.line, glob_rule.threshold.branch) == (50.0, None)
    assert glob_rule.threshold.lineno == 9

    assert list(config.modules) == ["core"]
    core = config.modules["core"]
    assert core.files == ["pkg/core.py", "pkg/sub/*.py"]
    assert core.tests == ["tests/unit"]
    assert (core.threshold.line, core.threshold.branch) == (75.0, None)
    assert core.lineno == 11

    assert list(config.suites) == ["unit", "integration", "smoke"]
    unit, integration, smoke = config.suites.values()
    assert (unit.paths, unit.test_type, unit.budget, unit.timeout) == (["tests/unit"], "unit", 300.0, 30.0)
    assert unit.requires == [] and unit.pytest_args == []
    assert unit.lineno == 16
    assert integration.test_type == "integration"  # from the suite's name
    assert (integration.timeout, integration.budget) == (0.5, 3600.0)
    assert integration.requires == ["api"]
    assert integration.pytest_args == ["-x", "--maxfail", "2"]
    assert (smoke.paths, smoke.test_type, smoke.timeout, smoke.budget) == (
        ["tests/unit/test_core.py"], "e2e", 45.0, None)

    api, db = config.bridges["api"], config.bridges["db"]
    assert api == BridgeConfig(name="api", url="http://127.0.0.1:8080", accept=["ok", "degraded"],
                               start="python -m fake_api --port 8080", lineno=28)
    assert (api.health, api.connect_timeout, api.read_timeout, api.start_timeout, api.stop) == (
        "/health", 0.5, 5.0, 30.0, None)
    assert api.health_url == "http://127.0.0.1:8080/health"
    assert (db.url, db.health, db.accept) == ("https://db.example:5432", "/ready", ["ok"])
    assert (db.connect_timeout, db.read_timeout, db.start_timeout) == (2.0, 60.0, 90.0)
    assert db.health_url == "https://db.example:5432/ready"

    report = config.report
    assert (report.dir, report.templates, report.requirement_marker) == (".mcptest", None, "req")
    assert report.requirements == ["REQ-1", "REQ-2"]
    assert config.report_dir == (project / ".mcptest").resolve()


def test_minimal_config_gets_every_default(project: Path) -> None:
    config = load(project, MINIMAL)
    assert config.source == ["pkg"]
    assert config.coverage.branch is True
    assert config.coverage.overall.empty
    assert config.coverage.files == [] and config.coverage.max_drop is None
    assert config.modules == {} and config.bridges == {}
    assert config.suites["unit"].test_type == "unit"
    assert (config.suites["unit"].timeout, config.suites["unit"].budget) == (None, None)
    assert (config.report.dir, config.report.requirement_marker) == (".mcptest", "req")
    assert config.report.requirements == []


def test_config_to_dict_is_plain_json(project: Path) -> None:
    data = config_to_dict(load(project, SKETCH))
    text = json.dumps(data)
    assert "lineno" not in text and "max_drop_key" not in text
    assert data["path"] == str((project / CONFIG_NAME).resolve())
    assert data["suites"]["unit"]["budget"] == 300.0
    assert data["bridges"]["api"]["url"] == "http://127.0.0.1:8080"
    assert data["coverage"]["files"][0] == {
        "pattern": "pkg/core.py", "threshold": {"line": 90.0, "branch": 85.0}}


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("500ms", 0.5), ("1.5m", 90.0), ("45", 45.0),
     ("2.5", 2.5), (" 10 s ", 10.0), ("'7'", 7.0), ("0.001", 0.001)],
)
def test_durations(project: Path, written: str, seconds: float) -> None:
    config = load(project, MINIMAL.replace("[tests/unit]}", f"[tests/unit], timeout: {written}}}"))
    assert config.suites["unit"].timeout == pytest.approx(seconds)


def test_sources_as_file_folder_and_dotted_package(project: Path) -> None:
    assert source_files(project, ["pkg"]) == [
        "pkg/__init__.py", "pkg/core.py", "pkg/sub/__init__.py", "pkg/sub/deep.py", "pkg/x.py"]
    assert source_files(project, ["pkg.sub"]) == ["pkg/sub/__init__.py", "pkg/sub/deep.py"]
    assert source_files(project, ["pkg.core"]) == ["pkg/core.py"]
    assert source_files(project, ["tools/script.py"]) == ["tools/script.py"]
    assert source_files(project, ["nothing", "x" * 400]) == []
    config = load(project, MINIMAL.replace("source: pkg", "source: [pkg.sub, tools/script.py]"))
    assert config.source == ["pkg/sub", "tools/script.py"]  # a package is measured as its folder
    assert [(e.name, e.path, e.kind) for e in config.sources] == [
        ("pkg.sub", "pkg/sub", "package"), ("tools/script.py", "tools/script.py", "file")]


def test_source_outside_the_config_folder(project: Path) -> None:
    shared = project.parent / "shared"
    shared.mkdir()
    (shared / "lib.py").write_text("x = 1\n", encoding="utf-8")
    (project / "pkg" / "linked.py").symlink_to(shared / "lib.py")
    assert source_files(project, ["../shared"]) == ["../shared/lib.py"]
    assert "../shared/lib.py" in source_files(project, ["pkg"])
    config = load(project, MINIMAL.replace("source: pkg", "source: ../shared")
                  + "coverage:\n  files:\n    ../shared/lib.py: {line: 10}\n")
    assert config.coverage.files[0].pattern == "../shared/lib.py"


# --- environment variables ----------------------------------------------------------------------------


def test_env_expansion(project: Path) -> None:
    head = MINIMAL.replace("source: pkg", "source: ${SRC}")
    head = head.replace("[tests/unit]}", "[tests/unit], timeout: '${T:-30s}'}")
    text = head + textwrap.dedent("""\
        coverage:
          overall: {line: "${MIN_LINE:-80}", branch: "${MIN_BRANCH:-60}"}
        bridges:
          api: {url: "http://${HOST}:${PORT:-9000}", start: "${CMD:-run-api} --fast"}
        report:
          dir: "${OUT:-.mcptest}/${RUN:-}x"
        """)
    env = {"SRC": "pkg", "MIN_LINE": "91", "HOST": "example.org", "PORT": "", "OUT": "out"}
    config = load(project, text, env)
    assert config.source == ["pkg"]
    assert config.coverage.overall.line == 91.0  # set
    assert config.coverage.overall.branch == 60.0  # default
    assert config.bridges["api"].url == "http://example.org:9000"  # empty value with a default: the default
    assert config.bridges["api"].start == "run-api --fast"
    assert config.report.dir == "out/x"  # ${RUN:-} defaults to nothing
    assert config.suites["unit"].timeout == 30.0


def test_env_set_but_empty_without_default_is_empty(project: Path) -> None:
    config = load(project, MINIMAL + "report: {dir: 'a${EMPTY}b'}\n", {"EMPTY": ""})
    assert config.report.dir == "ab"


def test_env_is_taken_from_environ_argument_only(project: Path) -> None:
    name = "MCPTEST_TEST_SURELY_UNSET_VARIABLE"
    assert name not in os.environ
    config = load(project, MINIMAL + f"report: {{dir: '${{{name}:-d}}'}}\n", {name: "given"})
    assert config.report.dir == "given"


def test_unset_env_without_default_is_an_error(project: Path) -> None:
    error = config_error(project, MINIMAL + "bridges:\n  api: {url: '${API_URL}'}\n", {"OTHER": "1"})
    assert (error.line, error.key) == (5, "bridges.api.url")
    assert tail(error) == ("mcptest.yaml:5: bridges.api.url: environment variable API_URL is not set "
                           "(write ${API_URL:-default} for a default)")


def test_env_value_is_validated_after_expansion(project: Path) -> None:
    error = config_error(project, MINIMAL + "coverage:\n  overall: {line: '${MIN}'}\n", {"MIN": "120"})
    assert tail(error) == "mcptest.yaml:5: coverage.overall.line: 120.0 is not between 0 and 100"
    error = config_error(project, MINIMAL + "bridges:\n  api: {url: '${U}'}\n", {"U": "ftp://x"})
    assert tail(error) == "mcptest.yaml:5: bridges.api.url: 'ftp://x' is not an http:// or https:// URL"


# --- one error per problem, each with the line, dotted key, value and expectation -----------------------


ERRORS = [
    # thresholds outside 0..100, and not numbers
    ("coverage:\n  files:\n    pkg/x.py: {line: 120}\n", 6,
     'coverage.files."pkg/x.py".line: 120 is not between 0 and 100'),
    ("coverage:\n  files:\n    pkg/x.py:\n      line: 50\n      branch: 100.5\n", 8,
     'coverage.files."pkg/x.py".branch: 100.5 is not between 0 and 100'),
    ("coverage:\n  overall: {branch: -5}\n", 5, "coverage.overall.branch: -5 is not between 0 and 100"),
    ("coverage:\n  overall: {line: high}\n", 5, "coverage.overall.line: 'high' is not a number"),
    ("coverage:\n  overall: {line: true}\n", 5, "coverage.overall.line: true is not a number"),
    ("coverage:\n  overall: {line: .nan}\n", 5, "coverage.overall.line: nan is not a number"),
    ("coverage:\n  overall: {line: [1]}\n", 5, "coverage.overall.line: a list is not a number"),
    ("coverage:\n  overall: {line: .inf}\n", 5, "coverage.overall.line: inf is not between 0 and 100"),
    ("coverage:\n  max_drop: 200\n", 5, "coverage.max_drop: 200 is not between 0 and 100"),
    ("modules:\n  core:\n    files: [pkg/core.py]\n\n    line: 101\n", 8,
     "modules.core.line: 101 is not between 0 and 100"),
    # unknown keys, with a suggestion when one is close
    ("coverage:\n  brnch: true\n", 5,
     "coverage.brnch: unknown key 'brnch' (expected one of: branch, overall, files, max_drop, patch); "
     "did you mean 'branch'?"),
    ("report:\n  dir: out\n  colour: red\n", 6,
     "report.colour: unknown key 'colour' "
     "(expected one of: dir, templates, requirement_marker, requirements)"),
    ("coverage:\n  overall: {lines: 80}\n", 5,
     "coverage.overall.lines: unknown key 'lines' (expected one of: line, branch); did you mean 'line'?"),
    ("suites2: {}\n", 4, "suites2: unknown key 'suites2'"),
    # wrong types
    ("coverage:\n  branch: 'yes'\n", 5, "coverage.branch: 'yes' is not true or false"),
    ("coverage:\n  overall: [80]\n", 5, "coverage.overall: a list is not a mapping"),
    ("coverage:\n  overall:\n", 5, "coverage.overall: null (empty) is not a mapping"),
    ("coverage:\n  files:\n    pkg/x.py: 80\n", 6, 'coverage.files."pkg/x.py": 80 is not a mapping'),
    ("coverage:\n  files: [pkg/x.py]\n", 5, "coverage.files: a list is not a mapping"),
    ("coverage: 5\n", 4, "coverage: 5 is not a mapping"),
    ("modules:\n  core: {files: 5}\n", 5, "modules.core.files: 5 is not a list of strings"),
    ("modules:\n  core: {files: [pkg/core.py, 3]}\n", 5, "modules.core.files[1]: 3 is not a string"),
    ("modules:\n  core: {tests: [tests/unit]}\n", 5, "modules.core: the key 'files' is required"),
    ("bridges:\n  api: {url: 8080}\n", 5, "bridges.api.url: 8080 is not a string"),
    ("bridges:\n  api: {}\n", 5, "bridges.api: the key 'url' is required"),
    ("bridges:\n  api: {url: 'http://h', accept: [ok, error]}\n", 5,
     "bridges.api.accept[1]: 'error' is not 'ok' or 'degraded'"),
    ("bridges:\n  api: {url: 'http://h', health: ready}\n", 5,
     "bridges.api.health: 'ready' is not a path starting with '/'"),
    ("bridges:\n  api: {url: 'http://h', start: \"run 'x\"}\n", 5, "bridges.api.start: cannot split"),
    ("bridges:\n  api: {url: 'http://h', read_timeout: soon}\n", 5,
     "bridges.api.read_timeout: 'soon' is not a duration such as 30s, 5m, 1h or a number of seconds"),
    ("bridges:\n  'my api': {url: 'http://h'}\n", 5,
     'bridges."my api": bridge name \'my api\' must start with'),
    ("bridges:\n  \"api\\n\": {url: 'http://h'}\n", 5, 'bridges."api\\n": bridge name \'api\\n\' must start'),
    # bridge urls must be http(s)
    ("bridges:\n  api:\n    url: ftp://h:21\n", 6,
     "bridges.api.url: 'ftp://h:21' is not an http:// or https:// URL"),
    ("bridges:\n  api:\n    url: 127.0.0.1:8080\n", 6,
     "bridges.api.url: '127.0.0.1:8080' is not an http:// or https:// URL"),
    ("bridges:\n  api:\n    url: 'http://'\n", 6,
     "bridges.api.url: 'http:' is not an http:// or https:// URL"),
    ("report:\n  requirement_marker: not-a-name\n", 5,
     "report.requirement_marker: 'not-a-name' is not a marker name (a Python identifier)"),
    ("report:\n  templates: missing_templates\n", 5,
     "report.templates: 'missing_templates' does not exist under"),
    ("report:\n  dir: ''\n", 5, "report.dir: an empty string is not allowed here"),
    ("version: 2\n", 4, "version: 2 is not 1 (the only config version)"),
    ("version: true\n", 4, "version: true is not 1 (the only config version)"),
    # a path or glob that matches no source file
    ("coverage:\n  files:\n    pkg/missing.py: {line: 10}\n", 6,
     "coverage.files.\"pkg/missing.py\": 'pkg/missing.py' matches no source file under source ['pkg']"),
    ("coverage:\n  files:\n    'pkg/nothing/**/*.py': {line: 10}\n", 6,
     "coverage.files.\"pkg/nothing/**/*.py\": 'pkg/nothing/**/*.py' matches no source file"),
    ("coverage:\n  files:\n    tools/script.py: {line: 10}\n", 6,
     "coverage.files.\"tools/script.py\": 'tools/script.py' matches no source file under source ['pkg']"),
    ("modules:\n  core:\n    files:\n      - pkg/core.py\n      - pkg/*.txt\n", 8,
     "modules.core.files[1]: 'pkg/*.txt' matches no source file under source ['pkg']"),
    ("coverage:\n  files:\n    'pkg/[z-a].py': {line: 10}\n", 6,
     "coverage.files.\"pkg/[z-a].py\": 'pkg/[z-a].py' is not a valid glob: bad character range z-a"),
    ("coverage:\n  files:\n    /abs/x.py: {line: 10}\n", 6,
     "coverage.files.\"/abs/x.py\": '/abs/x.py' must be relative to the config file's folder"),
    # modules' tests must exist
    ("modules:\n  core: {files: [pkg/core.py], tests: [tests/nope]}\n", 5,
     "modules.core.tests[0]: 'tests/nope' does not exist under"),
    ("modules:\n  'core module': {files: [pkg/core.py]}\n", 5,
     "modules.\"core module\": module name 'core module' must start with"),
]


@pytest.mark.parametrize(("extra", "line", "expected"), ERRORS)
def test_errors_name_line_key_value_and_expectation(project: Path, extra: str, line: int,
                                                    expected: str) -> None:
    error = config_error(project, MINIMAL + extra)
    message = tail(error)
    assert message.startswith(f"mcptest.yaml:{line}: {expected}")
    assert error.line == line
    assert error.file is not None and error.file.endswith(CONFIG_NAME)
    assert error.exit_code == exitcodes.CONFIG_ERROR


SUITE_ERRORS = [
    # suites: paths must exist, durations, requires, reserved and invalid names
    ("  smoke: {paths: [tests/nope]}\n", 4, "suites.smoke.paths[0]: 'tests/nope' does not exist under"),
    ("  smoke:\n    paths:\n      - tests/unit\n      - tests/missing.py\n", 7,
     "suites.smoke.paths[1]: 'tests/missing.py' does not exist under"),
    ("  smoke: {paths: [/tmp]}\n", 4,
     "suites.smoke.paths[0]: '/tmp' must be relative to the config file's folder"),
    ("  smoke: {paths: 5}\n", 4, "suites.smoke.paths: 5 is not a list of strings"),
    ("  smoke: {paths: []}\n", 4, "suites.smoke.paths: the list is empty"),
    ("  smoke: {timeout: 30s}\n", 4, "suites.smoke: the key 'paths' is required"),
    ("  smoke:\n", 4, "suites.smoke: null (empty) is not a mapping"),
    ("  smoke: {paths: [tests/unit], timeout: 30x}\n", 4,
     "suites.smoke.timeout: '30x' is not a duration such as 30s, 5m, 1h or a number of seconds"),
    ("  smoke: {paths: [tests/unit], timeout: 5d}\n", 4, "suites.smoke.timeout: '5d' is not a duration"),
    ("  smoke: {paths: [tests/unit], timeout: -1s}\n", 4, "suites.smoke.timeout: '-1s' is not a duration"),
    ("  smoke: {paths: [tests/unit], timeout: -1}\n", 4, "suites.smoke.timeout: -1 is not at least 0"),
    ("  smoke: {paths: [tests/unit], budget: 0}\n", 4,
     "suites.smoke.budget: 0 is not a duration greater than zero"),
    ("  smoke: {paths: [tests/unit], budget: 0ms}\n", 4,
     "suites.smoke.budget: '0ms' is not a duration greater than zero"),
    ("  smoke: {paths: [tests/unit], budget: .inf}\n", 4,
     "suites.smoke.budget: inf is not a finite duration"),
    ("  smoke: {paths: [tests/unit], budget: true}\n", 4, "suites.smoke.budget: true is not a number"),
    ("  smoke: {paths: [tests/unit], type: slow}\n", 4,
     "suites.smoke.type: 'slow' is not one of unit, integration, e2e, custom"),
    ("  smoke: {paths: [tests/unit], requires: [db]}\n", 4,
     "suites.smoke.requires[0]: unknown bridge 'db' (bridges: none are configured)"),
    ("  smoke: {paths: [tests/unit], pytest_args: \"-k 'x\"}\n", 4, "suites.smoke.pytest_args: cannot split"),
    ("  smoke: {paths: [tests/unit], pytest_args: [-x, 1]}\n", 4,
     "suites.smoke.pytest_args[1]: 1 is not a string"),
    ("  smoke: {paths: [tests/unit], retries: 3}\n", 4, "suites.smoke.retries: unknown key 'retries'"),
    ("  all: {paths: [tests/unit]}\n", 4,
     "suites.all: 'all' is reserved: 'mcptest run all' runs every suite"),
    ("  -smoke: {paths: [tests/unit]}\n", 4,
     'suites."-smoke": suite name \'-smoke\' must start with a letter'),
]


@pytest.mark.parametrize(("extra", "line", "expected"), SUITE_ERRORS)
def test_suite_errors(project: Path, extra: str, line: int, expected: str) -> None:
    error = config_error(project, MINIMAL + extra)
    assert tail(error).startswith(f"mcptest.yaml:{line}: {expected}")
    assert error.line == line


def test_requires_names_the_configured_bridges(project: Path) -> None:
    text = MINIMAL + "  smoke: {paths: [tests/unit], requires: [api, dbb]}\nbridges:\n  api: {url: 'http://h'}\n"
    error = config_error(project, text)
    assert tail(error) == "mcptest.yaml:4: suites.smoke.requires[1]: unknown bridge 'dbb' (bridges: api)"
    assert error.key == "suites.smoke.requires[1]"


def test_required_top_level_keys(project: Path) -> None:
    error = config_error(project, "# comment\nsource: pkg\n")
    assert tail(error) == "mcptest.yaml:2: the key 'suites' is required"
    assert error.key is None
    error = config_error(project, "suites:\n  unit: {paths: [tests/unit]}\n")
    assert tail(error) == "mcptest.yaml:1: the key 'source' is required"
    assert tail(config_error(project, "source: pkg\nsuites: {}\n")) == (
        "mcptest.yaml:2: suites: at least one suite is required")
    assert tail(config_error(project, "source: []\nsuites: {unit: {paths: [tests/unit]}}\n")) == (
        "mcptest.yaml:1: source: the list is empty")


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("source: pkg\nsource: tools\nsuites: {unit: {paths: [tests/unit]}}\n", 2,
         "key 'source' appears twice"),
        (MINIMAL + "  unit: {paths: [tests/integration]}\n", 4, "key 'unit' appears twice"),
        (MINIMAL + "coverage:\n  files:\n    pkg/x.py: {line: 1, line: 2}\n", 6, "key 'line' appears twice"),
        (MINIMAL + "coverage:\n  overall:\n    line: 1\n    branch: 2\n    line: 3\n", 8,
         "key 'line' appears twice"),
    ],
)
def test_duplicate_keys(project: Path, text: str, line: int, expected: str) -> None:
    error = config_error(project, text)
    assert tail(error) == f"mcptest.yaml:{line}: {expected}"


def test_thresholds_at_the_limits_are_valid(project: Path) -> None:
    config = load(project, MINIMAL + "coverage:\n  overall: {line: 0, branch: 100}\n  max_drop: 0\n")
    cov = config.coverage
    assert (cov.overall.line, cov.overall.branch, cov.max_drop) == (0, 100, 0)
    config = load(project, MINIMAL + "coverage:\n  overall: {line: '99.5'}\n")
    assert config.coverage.overall.line == 99.5


def test_error_display_is_relative_to_the_current_folder(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    error = config_error(project, MINIMAL + "coverage: {max_drop: 101}\n")
    assert str(error) == "mcptest.yaml:4: coverage.max_drop: 101 is not between 0 and 100"
    monkeypatch.chdir(project / "pkg")
    error = config_error(project, MINIMAL + "coverage: {max_drop: 101}\n")
    assert str(error).startswith((f"{project / CONFIG_NAME}:4: ", "../mcptest.yaml:4: "))


# --- sources that name nothing ---------------------------------------------------------------------------


def test_missing_source_is_no_data_not_a_config_error(project: Path) -> None:
    with pytest.raises(NoDataError) as info:
        load(project, "# c\nsource: [pkg, nopkg]\nsuites: {unit: {paths: [tests/unit]}}\n")
    assert not isinstance(info.value, ConfigError)
    assert info.value.exit_code == exitcodes.NO_TESTS_OR_DATA == 5
    assert tail(info.value).startswith(
        "mcptest.yaml:2: source: 'nopkg' yields no coverage data: "
        "there is no such folder, file or importable package")


def test_missing_single_source_names_its_line(project: Path) -> None:
    with pytest.raises(NoDataError) as info:
        load(project, "suites: {unit: {paths: [tests/unit]}}\n\nsource: no.such.pkg\n")
    assert tail(info.value).startswith("mcptest.yaml:3: source: 'no.such.pkg' yields no coverage data")


def test_existing_source_without_python_files_is_not_missing(project: Path) -> None:
    (project / "assets").mkdir()
    config = load(project, MINIMAL.replace("source: pkg", "source: [pkg, assets]"))
    assert config.source == ["pkg", "assets"]


# --- finding and reading the file ---------------------------------------------------------------------------


def test_find_config_walks_up(project: Path) -> None:
    path = write(project, MINIMAL)
    assert find_config(project) == path.resolve()
    assert find_config(project / "pkg" / "sub") == path.resolve()
    nested = project / "pkg" / "sub" / "mcptest.yaml"
    nested.write_text(MINIMAL, encoding="utf-8")
    assert find_config(project / "pkg" / "sub") == nested.resolve()  # the nearest one wins


def test_load_config_without_a_path_uses_the_current_folder(project: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, MINIMAL)
    monkeypatch.chdir(project / "tests" / "unit")
    config = load_config(environ={})
    assert config.root == project.resolve()


def test_find_config_error_when_there_is_none(tmp_path: Path) -> None:
    if any((folder / CONFIG_NAME).is_file() for folder in (tmp_path, *tmp_path.parents)):
        pytest.skip("a mcptest.yaml exists above the temporary folder")
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path)
    assert str(info.value) == (f"no mcptest.yaml in {tmp_path.resolve()} or its parents; "
                               "create one with 'mcptest init' or pass -c PATH")


def test_missing_file_and_folder_as_config(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file .*nope\.yaml does not exist"):
        load_config(project / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match=r"config path .*pkg is a folder, not a file"):
        load_config(project / "pkg", environ={})


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "~\n", "---\n", "# c\n---\n# c\n"])
def test_empty_file(project: Path, text: str) -> None:
    error = config_error(project, text)
    assert error.line is not None and 1 <= error.line <= text.count("\n") + 1
    assert tail(error) == (f"mcptest.yaml:{error.line}: the file is empty; "
                           "expected a mapping with at least 'source' and 'suites'")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- source: pkg\n- suites: {}\n", "mcptest.yaml:1: a list is not a mapping"),
        ("just text\n", "mcptest.yaml:1: 'just text' is not a mapping"),
        ("42\n", "mcptest.yaml:1: 42 is not a mapping"),
    ],
)
def test_top_level_must_be_a_mapping(project: Path, text: str, expected: str) -> None:
    assert tail(config_error(project, text)) == expected


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("source: pkg\nsuites:\n\tunit: {paths: [tests/unit]}\n", 3,
         "invalid YAML: found character '\\t' that cannot start any token"),
        ("source: pkg\nsuites:\n  unit:\n\t  paths: [tests/unit]\n", 4,
         "invalid YAML: found character '\\t'"),
        ("source: pkg\nsuites:\n  unit: {paths: [tests/unit}\n", 3, "invalid YAML:"),
        ("source: pkg\n  suites: x\n", 2, "invalid YAML: mapping values are not allowed here"),
        ("source: pkg\nsuites:\n  unit: 'unclosed\n\n", 5, "invalid YAML:"),
        ("source: pkg\nsuites: *nothing\n", 2, "invalid YAML: found undefined alias 'nothing'"),
        ("source: pkg\n---\nsuites: {}\n", 2, "invalid YAML:"),
        ("source: pkg\n\n\nsuites: \x07\n", 4, "invalid YAML: unacceptable character #x0007"),
        ("source: pkg\nsuites: x\x00\n", 2, "invalid YAML: unacceptable character #x0000"),
        ("source: pkg\nsuites: !!bool maybe\n", 2, "invalid value 'maybe'"),
        ("source: pkg\nsuites: !!int ''\n", 2, "invalid value ''"),
        ("source: pkg\n\nsuites: !!timestamp soon\n", 3, "invalid value 'soon'"),
        ("source: pkg\nsuites: !!python/object:os.system x\n", 2,
         "invalid value 'x': could not determine a constructor"),
        ("source: pkg\nsuites: !custom x\n", 2, "invalid value 'x': could not determine a constructor"),
        ("source: pkg\nsuites: !!binary 1\n", 2, "invalid value '1': failed to decode base64 data"),
        ("source: pkg\nbase: &b {a: 1}\nsuites:\n  <<: *b\n", 4, "YAML merge keys (<<) are not supported"),
        ("source: pkg\nsuites:\n  ? [a, b]\n  : x\n", 3, "a key must be a plain value"),
        ("source: pkg\nsuites:\n  2020-01-01: x\n", 3, "key datetime.date(2020, 1, 1) is not a plain value"),
        ("source: pkg\nsuites:\n  ~: x\n", 3, "key None is not a plain value"),
        ("source: pkg\nsuites: " + "[" * 60 + "]" * 60 + "\n", 2, "nesting is too deep"),
        ("source: pkg\nsuites: &a [*a]\n", 2, "nesting is too deep"),  # a list that contains itself
    ],
)
def test_invalid_yaml_names_the_line(project: Path, text: str, line: int, expected: str) -> None:
    error = config_error(project, text)
    assert tail(error).startswith(f"mcptest.yaml:{line}: {expected}")
    assert error.line == line


def test_alias_expansion_is_bounded(project: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "source: pkg\nsuites: {unit: {paths: [tests/unit]}}\nreport:\n  requirements:\n" + "".join(
        f"    - {level}\n" for level in levels)
    started = time.monotonic()
    error = config_error(project, text)
    assert time.monotonic() - started < 10
    assert "more than 100000 values" in tail(error)


def test_non_utf8_file_names_the_line(project: Path) -> None:
    path = project / CONFIG_NAME
    path.write_bytes(b"source: pkg\nsuites:\n  unit: {paths: [tests/unit]}\nreport: {dir: caf\xe9}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert tail(info.value) == "mcptest.yaml:4: byte 0xe9 is not valid UTF-8; save the file as UTF-8"
    assert info.value.line == 4


def test_utf8_with_bom_and_crlf_is_fine(project: Path) -> None:
    path = project / CONFIG_NAME
    crlf = MINIMAL.replace("\n", "\r\n").encode()
    path.write_bytes(b"\xef\xbb\xbf" + crlf + b"report: {dir: caf\xc3\xa9}\r\n")
    assert load_config(path, environ={}).report.dir == "café"


def test_unreadable_file(project: Path) -> None:
    path = write(project, MINIMAL)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user that can read anything")
        with pytest.raises(ConfigError, match="cannot read"):
            load_config(path, environ={})
    finally:
        path.chmod(0o644)


# --- robustness against odd values that once crashed ------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  smoke: {paths: [tests/unit], timeout: " + "9" * 400 + "}\n", "is not a number of a usable size"),
        ("  smoke: {paths: [" + "a" * 400 + "]}\n", "does not exist under"),
        ("  smoke: {paths: ['tests/\\0x']}\n", "does not exist under"),
        ("  smoke: {paths: ['tests/[!]']}\n", "is not a valid glob"),
        ("  smoke: {paths: ['tests/[[:alpha:]]']}\n", "is not a valid glob"),
        ("  \"a\\nb\": {paths: [tests/unit]}\n", "suite name 'a\\nb' must start"),
        ("  \"ok\\n\": {paths: [tests/unit]}\n", "suite name 'ok\\n' must start"),
        ("  smoke: {\"x\\ty\": 1}\n", 'suites.smoke."x\\ty": unknown key'),
    ],
)
def test_odd_values_give_a_one_line_config_error(project: Path, extra: str, expected: str) -> None:
    error = config_error(project, MINIMAL + extra)
    assert tail(error).startswith("mcptest.yaml:4: ")
    assert expected in tail(error)


def test_overlong_source_is_missing(project: Path) -> None:
    with pytest.raises(NoDataError, match="yields no coverage data"):
        load(project, MINIMAL.replace("source: pkg", "source: " + "p" * 400))


def test_dotted_keys() -> None:
    assert dotted(()) == ""
    assert dotted(("coverage", "files", "pkg/x.py", "line")) == 'coverage.files."pkg/x.py".line'
    assert dotted(("suites", "unit", "paths", 2)) == "suites.unit.paths[2]"
    assert dotted(("a", 'say "hi"')) == 'a."say \\"hi\\""'
    assert dotted(("a", "x\ny")) == 'a."x\\ny"'
    assert dotted(("my-suite",)) == "my-suite"


# --- generated garbage never escapes as anything but a one-line config or no-data error ----------------

_SKETCH_DATA = yaml.safe_load(SKETCH)
_WEIRD_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**320),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-1, 0, 100, 100.01, 101, -0.0, 1e308]),
    st.text(max_size=12), st.sampled_from(["", " ", "${X}", "${X:-}", "5m", "0s", "1e999", "http://", "ftp://x",
                                            "..", ".", "/", "pkg", "tests/unit", "pkg/[z-a].py", "*", "**",
                                            "api", "all", "'", '"', "\t", "\x00", "-", "ok", "degraded"]),
)
_WEIRD_VALUES = st.recursive(
    _WEIRD_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
_YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{},'\"#&*!|>%@`?~\n\t   \\.<=$") + list("abkyz019")),
                   max_size=200)
_TAGS = ["!!bool", "!!int", "!!float", "!!timestamp", "!!binary", "!!str", "!!null", "!!map", "!!seq",
         "!!set", "!!omap", "!!pairs", "!!python/object:os.system", "!x", "!<tag:yaml.org,2002:int>"]


def _paths(value: object, at: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*at, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*at, i))
    return found


def _mutate(data: object, draw: st.DrawFn) -> object:
    """One random change to a deep copy of ``data``: a wrong value, an unknown or a deleted key."""
    data = json.loads(json.dumps(data))
    at = draw(st.sampled_from(_paths(data)))
    if not at:
        return draw(_WEIRD_VALUES)
    parent = data
    for part in at[:-1]:
        parent = parent[part]  # type: ignore[index]
    action = draw(st.sampled_from(["replace", "delete", "add", "number"]))
    if action == "replace":
        parent[at[-1]] = draw(_WEIRD_VALUES)  # type: ignore[index]
    elif action == "delete":
        del parent[at[-1]]  # type: ignore[arg-type, attr-defined]
    elif action == "number":
        parent[at[-1]] = draw(st.one_of(st.floats(-1e6, 1e6), st.integers(-10**6, 10**6)))  # type: ignore[index]
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=10))] = draw(_WEIRD_VALUES)
    return data


@st.composite
def garbage_configs(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["yamlish", "text", "mutated", "mutated-text", "tagged", "bytes"]))
    if kind == "yamlish":
        return draw(_YAMLISH)
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).decode("utf-8", errors="replace")
    data: object = _SKETCH_DATA
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate(data, draw)
    flow = draw(st.sampled_from([None, False, True]))
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=flow)
    if kind == "mutated":
        return text
    lines = text.splitlines(keepends=True)
    where = draw(st.integers(0, len(lines)))
    if kind == "tagged":
        line = lines[min(where, len(lines) - 1)]
        if ": " in line:
            head, _, rest = line.partition(": ")
            lines[min(where, len(lines) - 1)] = f"{head}: {draw(st.sampled_from(_TAGS))} {rest}"
        return "".join(lines)
    edit = draw(st.sampled_from(["insert", "delete", "duplicate", "indent"]))
    if edit == "insert":
        lines.insert(where, draw(_YAMLISH))
    elif edit == "delete" and where < len(lines):
        del lines[where]
    elif edit == "duplicate" and where < len(lines):
        lines.insert(where, lines[where])
    elif edit == "indent" and where < len(lines):
        lines[where] = draw(st.sampled_from(["  ", "\t", " "])) + lines[where]
    return "".join(lines)


def _check_outcome(run: object) -> None:
    try:
        result = run()  # type: ignore[operator]
    except (ConfigError, NoDataError) as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert _WHERE.search(message), message
        assert not isinstance(exc, ConfigError) or (exc.line is not None and exc.line >= 1), message
    else:
        assert isinstance(result, Config)
        for suite in result.suites.values():
            assert math.isfinite(suite.timeout or 1) and math.isfinite(suite.budget or 1)
        json.dumps(config_to_dict(result), allow_nan=False)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("fuzz") / "proj")


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=garbage_configs(), environ=st.dictionaries(st.sampled_from(["X", "API_URL", "HOST"]),
                                                       st.text(max_size=10), max_size=2))
def test_garbage_configs_give_config_errors_only(fuzz_root: Path, text: str, environ: dict[str, str]) -> None:
    _check_outcome(lambda: parse_config(text, fuzz_root / CONFIG_NAME, environ=environ))


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(st.binary(max_size=200),
                     st.builds(lambda head, junk: SKETCH.encode()[:head] + junk + SKETCH.encode()[head:],
                               st.integers(0, len(SKETCH)), st.binary(min_size=1, max_size=4))))
def test_garbage_bytes_give_config_errors_only(fuzz_root: Path, raw: bytes) -> None:
    path = fuzz_root / CONFIG_NAME
    path.write_bytes(raw)
    _check_outcome(lambda: load_config(path, environ={}))


def test_the_fuzz_project_accepts_the_sketch(fuzz_root: Path) -> None:
    # the mutations start from a valid config, so most garbage is near-valid
    assert isinstance(parse_config(SKETCH, fuzz_root / CONFIG_NAME, environ={}), Config)


# --- the command line ---------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MCPTEST_DEBUG"}
    return subprocess.run([sys.executable, "-m", "mcptest", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_cli_config_error_is_one_line_and_exit_4(project: Path) -> None:
    path = write(project, MINIMAL + "coverage:\n  files:\n    pkg/x.py: {line: 120}\n")
    result = _cli("config", "check", "-c", str(path), cwd=project)
    assert result.returncode == exitcodes.CONFIG_ERROR == 4
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == ('mcptest: error: mcptest.yaml:6: coverage.files."pkg/x.py".line: '
                        "120 is not between 0 and 100")
    assert "Traceback" not in result.stderr


def test_cli_debug_shows_the_traceback(project: Path) -> None:
    path = write(project, MINIMAL + "  all: {paths: [tests/unit]}\n")
    result = _cli("--debug", "config", "check", "-c", str(path), cwd=project)
    assert result.returncode == 4
    assert "Traceback (most recent call last)" in result.stderr
    assert "ConfigError" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "mcptest: error: mcptest.yaml:4: suites.all: 'all' is reserved: 'mcptest run all' runs every suite")


def test_cli_missing_source_is_exit_5(project: Path) -> None:
    path = write(project, MINIMAL.replace("source: pkg", "source: nopkg"))
    result = _cli("config", "check", "-c", str(path), cwd=project)
    assert result.returncode == exitcodes.NO_TESTS_OR_DATA == 5
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mcptest: error: mcptest.yaml:1: source: 'nopkg' yields no coverage data")
    assert "Traceback" not in result.stderr


def test_cli_valid_config_prints_it(project: Path) -> None:
    path = write(project, SKETCH)
    result = _cli("config", "check", "--json", "-c", str(path), cwd=project)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["suites"]["integration"]["timeout"] == 0.5
    assert data["bridges"]["api"]["url"] == "http://127.0.0.1:8080"
