"""examples/github-actions.yml: valid for actionlint, and its mcptest steps run as its jobs run them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from projects import env
from test_patch import git

from mcptest import exitcodes

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / "examples" / "github-actions.yml"

#: A function added to the bundled target by the pull request's commit; no test calls it.
ADDED = """

def describe_route(name):
    if name:
        return name.upper()
    return ""
"""


def actionlint() -> str:
    found = shutil.which("actionlint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    assert found, "actionlint is not installed: pip install -e '.[dev]' brings it"
    return found


def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def test_example_workflow_passes_actionlint_which_catches_a_broken_copy(tmp_path: Path) -> None:
    clean = subprocess.run([actionlint(), str(WORKFLOW)], capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(
        WORKFLOW.read_text(encoding="utf-8").replace("needs: [baseline, shard]", "needs: [baseline, shards]")
    )
    found = subprocess.run([actionlint(), str(broken)], capture_output=True, text=True, check=False)
    assert found.returncode == 1 and '"shards"' in found.stdout


def test_example_workflow_shards_combine_with_history_on_pull_requests() -> None:
    data = workflow()
    jobs = data["jobs"]
    assert set(data[True]) == {"push", "pull_request"}  # PyYAML reads the key `on` as true
    matrix = jobs["shard"]["strategy"]["matrix"]["shard"]
    assert matrix == list(range(1, int(data["env"]["SHARDS"]) + 1))
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    checkout = next(s for s in jobs["combine"]["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert jobs["combine"]["if"] == "${{ !cancelled() }}"
    uploads = [s["with"]["name"] for s in jobs["shard"]["steps"] if "upload-artifact" in str(s.get("uses"))]
    downloads = [
        s["with"].get("pattern") for s in jobs["combine"]["steps"] if "download-artifact" in str(s.get("uses"))
    ]
    assert uploads == ["mcptest-bundle-${{ matrix.shard }}"] and "mcptest-bundle-*" in downloads


def mcptest_steps(job: str) -> list[dict[str, Any]]:
    return [s for s in workflow()["jobs"][job]["steps"] if "mcptest" in str(s.get("run", ""))]


def run_step(
    step: dict[str, Any], cwd: Path, variables: dict[str, str], shim: Path
) -> subprocess.CompletedProcess[str]:
    """A `run:` step as the runner runs it (bash -eo pipefail), with the workflow's env and the step's."""
    step_env = {k: str(v) for k, v in (step.get("env") or {}).items()}
    for key, value in step_env.items():  # ${{ ... }} are the runner's: given here by the test
        if value.startswith("${{"):
            step_env[key] = variables[key]
    full = {**env(), **{k: str(v) for k, v in workflow()["env"].items()}, **step_env}
    full["PATH"] = f"{shim}{os.pathsep}{full['PATH']}"
    full["GITHUB_STEP_SUMMARY"] = variables["GITHUB_STEP_SUMMARY"]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_example_workflow_mcptest_steps_on_the_bundled_target(tmp_path: Path) -> None:
    # the repository: the bundled target on main, and a pull request's commit that adds an untested function
    source = tmp_path / "source"
    for name in ("whatsapp_mcp", "suites"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    config = (REPO / "mcptest.yaml").read_text(encoding="utf-8")
    assert "budget: 30s" in config  # the unit suite's budget is a speed goal of its own (test_bundled.py), not this
    (source / "mcptest.yaml").write_text(config.replace("budget: 30s", "budget: 10m"), encoding="utf-8")
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "main")
    git(source, "checkout", "-q", "-b", "pr")
    routing = source / "whatsapp_mcp" / "routing.py"
    first = len(routing.read_text(encoding="utf-8").splitlines()) + 1
    routing.write_text(routing.read_text(encoding="utf-8") + ADDED, encoding="utf-8")
    git(source, "commit", "-q", "-am", "pull request")
    for name in ("shard1", "shard2", "combine", "whole"):
        git(tmp_path, "clone", "-q", "--branch", "pr", str(source), name)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "mcptest").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mcptest "$@"\n', encoding="utf-8")
    (shim / "mcptest").chmod(0o755)
    summary = tmp_path / "step-summary.md"
    summary.write_text("", encoding="utf-8")

    # shard jobs, each in its own clone; each bundle is uploaded and downloaded as `mcptest-bundle-K`
    (shard_step,) = mcptest_steps("shard")
    for k in (1, 2):
        clone = tmp_path / f"shard{k}"
        done = run_step(shard_step, clone, {"SHARD": str(k), "GITHUB_STEP_SUMMARY": str(summary)}, shim)
        assert done.returncode == exitcodes.OK, done.stdout + done.stderr
        assert f"(shard {k}/2: " in done.stdout
        shutil.copytree(clone / "bundle", tmp_path / "combine" / "bundles" / f"mcptest-bundle-{k}")

    # the combine job of a pull request: gate, reports, patch against origin/main; then the baseline
    combine_step, save_step = mcptest_steps("combine")
    variables = {"BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary)}
    done = run_step(combine_step, tmp_path / "combine", variables, shim)
    assert done.returncode == exitcodes.OK, done.stdout + done.stderr
    record = json.loads((tmp_path / "combine" / ".mcptest" / "latest.json").read_text(encoding="utf-8"))
    assert record["meta"]["command"][:3] == ["mcptest", "combine", "bundles"]
    patch = record["patch"]
    assert patch["base"] == "origin/main"
    (changed,) = patch["files"]
    assert changed["path"] == "whatsapp_mcp/routing.py"
    assert changed["missing_lines"] == [first + 3, first + 4, first + 5]  # the def ran at import
    assert (changed["totals"]["statements"], changed["totals"]["covered_lines"]) == (4, 1)
    assert (changed["totals"]["branches"], changed["totals"]["covered_branches"]) == (2, 0)
    text = summary.read_text(encoding="utf-8")
    assert (
        "Patch since" in text
        and f"| `whatsapp_mcp/routing.py` | 1/4 | 25.0% | 0/2 | 0.0% | `{first + 3}-{first + 5}` |" in text
    )
    for report in ("junit.xml", "summary.md", "html/index.html"):
        assert (tmp_path / "combine" / ".mcptest" / "report" / report).is_file()
    saved = run_step(save_step, tmp_path / "combine", variables, shim)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert (tmp_path / "combine" / "main-baseline" / "baseline.json").is_file()

    # the two shards combined give the numbers and the tests of one whole run
    whole = subprocess.run(
        [sys.executable, "-m", "mcptest", "run", "unit", "-q"],
        cwd=tmp_path / "whole",
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert whole.returncode == exitcodes.OK, whole.stdout + whole.stderr
    one = json.loads((tmp_path / "whole" / ".mcptest" / "latest.json").read_text(encoding="utf-8"))

    def files(r: dict[str, Any]) -> dict[str, Any]:
        return {f["path"]: (f["totals"], f["missing_lines"], f["missing_branches"]) for f in r["coverage"]["files"]}

    assert files(record) == files(one)
    assert record["counts"] == one["counts"] and record["counts"]["total"] >= 200
