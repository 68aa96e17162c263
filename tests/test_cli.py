"""The command line through typer's CliRunner (help, init, config, baseline) and a few real subprocesses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from projects import make_project, mcptest
from typer.testing import CliRunner

from mcptest import exitcodes
from mcptest.cli import app

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()

COMMANDS = [
    ["run"],
    ["report"],
    ["audit"],
    ["mutate"],
    ["init"],
    ["baseline", "save"],
    ["baseline", "show"],
    ["config", "check"],
    ["bridges", "check"],
    ["bridges", "up"],
    ["bridges", "down"],
    ["bridges", "status"],
    ["sim", "go"],
    ["sim", "baileys"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_cli_every_command_help_has_an_example_and_option_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    options = re.findall(r"^\s+(--[a-z-]+)", result.output, flags=re.M)
    assert options, result.output
    for line in result.output.splitlines():
        match = re.match(r"^\s+(-\w, )?(--[a-z-]+)(\s+\S+)?\s*$", line)
        assert match is None, f"option without help text: {line!r}"


def test_cli_top_level_help_lists_every_exit_code() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for code, (name, _) in exitcodes.DESCRIPTIONS.items():
        assert f"{code} {name}" in " ".join(result.output.split())


def test_readme_documents_every_exit_code() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, (name, _) in exitcodes.DESCRIPTIONS.items():
        assert re.search(rf"\|\s*{code}\s*\|\s*`{name}`", readme), f"exit code {code} {name} missing in README"


def test_exit_code_precedence_picks_documented_order() -> None:
    assert exitcodes.pick([]) == exitcodes.OK
    assert exitcodes.pick([exitcodes.THRESHOLD_MISSED, exitcodes.TESTS_FAILED]) == exitcodes.TESTS_FAILED
    assert exitcodes.pick([exitcodes.BUDGET_EXCEEDED, exitcodes.TESTS_FAILED]) == exitcodes.BUDGET_EXCEEDED
    assert exitcodes.pick([exitcodes.BRIDGE_UNAVAILABLE, exitcodes.NO_TESTS_OR_DATA]) == exitcodes.BRIDGE_UNAVAILABLE
    assert exitcodes.pick([exitcodes.CONFIG_ERROR, exitcodes.BRIDGE_UNAVAILABLE]) == exitcodes.CONFIG_ERROR
    assert exitcodes.pick([exitcodes.INTERRUPTED, exitcodes.CONFIG_ERROR]) == exitcodes.INTERRUPTED
    assert exitcodes.pick([42]) == 42  # never turned into success


def test_init_writes_a_starter_that_validates(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "tests").mkdir()
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "mcptest.yaml").read_text()
    assert "source: [shop]" in text and "paths: [tests]" in text
    check = mcptest(tmp_path, "config", "check", "--json")
    assert check.code == 0, check.output
    assert json.loads(check.stdout)["source"] == ["shop"]
    again = mcptest(tmp_path, "init")
    assert again.code == exitcodes.CONFIG_ERROR and "already exists" in again.stderr


def test_config_check_prints_resolved_values_with_env_expanded(tmp_path: Path) -> None:
    config = (
        "source: [pkg]\nsuites:\n  unit: {paths: [tests], budget: 2m}\nbridges:\n"
        "  api: {url: '${API_URL:-http://127.0.0.1:9}'}\n"
    )
    make_project(tmp_path, config)
    result = mcptest(tmp_path, "config", "check")
    assert result.code == 0, result.output
    assert "url: http://127.0.0.1:9" in result.stdout and "budget: 120.0" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "unit", "--bogus"], "No such option: --bogus"),
        (["run"], "Missing argument 'SUITE'"),
        (["run", "unit", "-c", "."], "is a directory"),
        (["report", "--run", "nope"], "no readable run nope"),
    ],
)
def test_cli_usage_errors_exit_config_code_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, *args)
    assert result.code == exitcodes.CONFIG_ERROR, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_baseline_save_without_runs_and_show_without_baseline(tmp_path: Path) -> None:
    make_project(tmp_path)
    save = mcptest(tmp_path, "baseline", "save")
    assert save.code == exitcodes.CONFIG_ERROR and "no readable latest run" in save.stderr
    show = mcptest(tmp_path, "baseline", "show")
    assert show.code == 0 and "No baseline" in show.stdout


def test_report_renders_from_stored_record_without_rerun(tmp_path: Path) -> None:
    make_project(tmp_path)
    assert mcptest(tmp_path, "run", "unit").code == 0
    runs_before = sorted((tmp_path / ".mcptest" / "runs").iterdir())
    result = mcptest(tmp_path, "report", "--html", "--markdown", "--junit")
    assert result.code == 0, result.output
    assert sorted((tmp_path / ".mcptest" / "runs").iterdir()) == runs_before
    assert (tmp_path / ".mcptest" / "report" / "html" / "index.html").is_file()
    assert "mcptest passed" in (tmp_path / ".mcptest" / "report" / "summary.md").read_text()
    printed = mcptest(tmp_path, "report", "--junit", "-o", "-")
    assert printed.code == 0 and printed.stdout.lstrip().startswith("<?xml")


def test_version_option_prints_version() -> None:
    from mcptest import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"mcptest {__version__}"


def test_mutate_command_reports_score_and_gates_on_min_score(tmp_path: Path) -> None:
    make_project(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    result = mcptest(tmp_path, "mutate", "--json", timeout=300)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"]["killed"] > 0 and data["score"] is not None
    gated = mcptest(tmp_path, "mutate", "--min-score", "100.1", timeout=300)
    assert gated.code == exitcodes.THRESHOLD_MISSED, gated.output
    assert "Mutation score" in gated.stdout and "below the required 100.1%" in gated.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == before  # the project is never touched


def test_report_after_coverage_drop_shows_negative_delta_against_baseline(tmp_path: Path) -> None:
    make_project(tmp_path)
    assert mcptest(tmp_path, "run", "unit").code == 0
    assert mcptest(tmp_path, "baseline", "save").code == 0
    (tmp_path / "tests" / "test_text.py").write_text(
        "from pkg.text import shout\n\n\ndef test_shout_imported_callable():\n    assert callable(shout)\n"
    )
    run = mcptest(tmp_path, "run", "unit", "--html", "--markdown", "--junit")
    assert run.code == 0, run.output
    html = tmp_path / ".mcptest" / "report" / "html"
    files_page = (html / "files.html").read_text(encoding="utf-8")
    start = files_page.index("pkg/text.py</a>")
    row = files_page[start : files_page.index("</tr>", start)]
    # pkg/text.py went from 3/4 lines (75 %) to 1/4 (25 %) and from 1/2 branches to 0/2
    assert row.count('class="delta down"') == 2 and row.count("▼ -50.0") == 2
    assert (tmp_path / ".mcptest" / "report" / "junit.xml").is_file()
    summary = (tmp_path / ".mcptest" / "report" / "summary.md").read_text(encoding="utf-8")
    assert "**Coverage dropped**" in summary
    assert "| `pkg/text.py` | 25.0% | ▼ -50.0 | 0.0% | ▼ -50.0 |" in summary
