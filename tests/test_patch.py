"""Patch coverage (--diff-base): the changed lines read from real git repositories, measured, gated, reported."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from projects import CONFIG, latest, make_project, mcptest

from mcptest import exitcodes, patch
from mcptest.model import CoverageReport, FileCoverage, Totals

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

GATED = CONFIG.replace("  overall: {line: 50}\n", "  overall: {line: 50}\n  patch: {line: 80, branch: 70}\n")

CLAMP = """

def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
"""

CLAMP_LOW_TEST = """


def test_clamp_low_lo():
    from pkg.calc import clamp

    assert clamp(-5, 0, 10) == 0
"""

CLAMP_ALL_TESTS = """


def test_clamp_high_hi():
    from pkg.calc import clamp

    assert clamp(50, 0, 10) == 10


def test_clamp_inside_x():
    from pkg.calc import clamp

    assert clamp(5, 0, 10) == 5
"""


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
    out = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def repo(root: Path, config: str = GATED) -> Path:
    """The tiny project, committed on main, with a branch ``feat`` checked out."""
    make_project(root, config=config)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    git(root, "checkout", "-q", "-b", "feat")
    return root


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# --- reading the diff -------------------------------------------------------------------------------


def test_parse_diff_hunks_renames_deletions_and_quoted_names_lines() -> None:
    text = "\n".join(
        [
            "diff --git a/pkg/a.py b/pkg/a.py",
            "index 1..2 100644",
            "--- a/pkg/a.py",
            "+++ b/pkg/a.py",
            "@@ -3 +3,2 @@ def f():",
            "-    return 1",
            "+    x = 1",
            "+++ b/not/a/header.py",  # an added line that reads like a header: counted by the hunk, not parsed
            "@@ -10,0 +12 @@",
            "+tail",
            "\\ No newline at end of file",
            "@@ -20,2 +22,0 @@",  # a pure deletion adds no line
            "-gone",
            "-gone too",
            "diff --git a/old name.py b/new name.py",
            "similarity index 90%",
            "rename from old name.py",
            "rename to new name.py",
            "--- a/old name.py\t",
            "+++ b/new name.py\t",
            "@@ -1 +1 @@",
            "-a",
            "+b",
            "diff --git a/dead.py b/dead.py",
            "deleted file mode 100644",
            "--- a/dead.py",
            "+++ /dev/null",
            "@@ -1,2 +0,0 @@",
            "-x",
            "-y",
            'diff --git "a/t\\303\\251st\\t.py" "b/t\\303\\251st\\t.py"',
            '--- "a/t\\303\\251st\\t.py"',
            '+++ "b/t\\303\\251st\\t.py"',
            "@@ -0,0 +1,3 @@",
            "+1",
            "+2",
            "+3",
            "",
        ]
    )
    diff = patch.parse_diff(text)
    assert diff.files == {"pkg/a.py": [3, 4, 12], "new name.py": [1], "tést\t.py": [1, 2, 3]}
    assert diff.renamed == {"new name.py": "old name.py"}
    assert diff.deleted == ["dead.py"]


def test_read_diff_includes_committed_staged_and_unstaged_lines_not_untracked(tmp_path: Path) -> None:
    root = repo(tmp_path / "p")
    append(root / "pkg" / "calc.py", "\n\nCOMMITTED = 1\n")  # lines 11-13
    git(root, "commit", "-q", "-am", "one")
    append(root / "pkg" / "calc.py", "STAGED = 2\n")  # line 14
    git(root, "add", "pkg/calc.py")
    append(root / "pkg" / "calc.py", "UNSTAGED = 3\n")  # line 15
    (root / "pkg" / "untracked.py").write_text("X = 1\n", encoding="utf-8")
    git(root, "mv", "pkg/text.py", "pkg/words.py")
    (root / "tests" / "test_text.py").unlink()
    diff = patch.read_diff(root, "main")
    assert diff.files["pkg/calc.py"] == [11, 12, 13, 14, 15]
    assert "pkg/untracked.py" not in diff.files
    assert "pkg/words.py" not in diff.files  # renamed unchanged: no changed line
    assert diff.renamed == {"pkg/words.py": "pkg/text.py"}
    assert diff.deleted == ["tests/test_text.py"]
    assert diff.merge_base == git(root, "merge-base", "main", "HEAD")
    assert diff.head == git(root, "rev-parse", "HEAD")


def test_read_diff_paths_relative_to_a_project_in_a_subfolder(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    make_project(top / "svc")
    (top / "README").write_text("x\n", encoding="utf-8")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "init")
    append(top / "svc" / "pkg" / "calc.py", "\nNEW = 1\n")
    append(top / "README", "y\n")
    diff = patch.read_diff(top / "svc", "main")
    assert diff.files == {"pkg/calc.py": [11, 12]}  # the README is outside the project folder


@pytest.mark.parametrize(
    ("setup", "ref", "expected"),
    [
        ("plain", "main", "is not inside a git repository"),
        (
            "repo",
            "origin/main",
            "no branch, tag or commit 'origin/main' in this clone; fetch it first: git fetch origin main",
        ),
        ("repo", "--output=x", "not a git revision"),
        ("shallow", "origin/main", "shallow clone does not hold the merge base of origin/main and HEAD"),
        ("unrelated", "other", "have no common history"),
    ],
)
def test_read_diff_git_problems_one_line_with_the_fix_exit_4(
    tmp_path: Path, setup: str, ref: str, expected: str
) -> None:
    root = tmp_path / "p"
    if setup == "plain":
        make_project(root)
    else:
        repo(root)
    if setup == "shallow":
        append(root / "pkg" / "calc.py", "\nA = 1\n")
        git(root, "commit", "-q", "-am", "feat 1")
        git(root, "checkout", "-q", "main")
        append(root / "pkg" / "text.py", "\nB = 1\n")
        git(root, "commit", "-q", "-am", "main 2")
        git(root, "checkout", "-q", "feat")
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feat", (root.as_uri()), str(clone))
        git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
        root = clone
    if setup == "unrelated":
        git(root, "checkout", "-q", "--orphan", "other")
        git(root, "commit", "-q", "-m", "unrelated")
        git(root, "checkout", "-q", "feat")
    with pytest.raises(patch.PatchError) as info:
        patch.read_diff(root, ref)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == exitcodes.CONFIG_ERROR
    if setup == "shallow":
        assert "fetch-depth: 0" in message


# --- measuring ----------------------------------------------------------------------------------------


def test_measure_counts_changed_statements_and_arcs_from_changed_lines_only() -> None:
    f = FileCoverage(
        path="pkg/m.py",
        totals=Totals.of(6, 4, 4, 2),
        executed_lines=[1, 2, 3, 5],
        missing_lines=[4, 6],
        missing_branches=["2->4", "5->-1"],
        executed_branches=["2->3", "5->6"],
    )
    report = CoverageReport(branch=True, overall=f.totals, files=[f])
    diff = patch.Diff("main", "abc", "def", files={"pkg/m.py": [2, 4, 7], "docs/x.md": [1]})
    result = patch.measure(diff, report)
    (pf,) = result.files
    assert (pf.totals.statements, pf.totals.covered_lines) == (2, 1)  # 2 ran, 4 did not; 7 is no statement
    assert (pf.totals.branches, pf.totals.covered_branches) == (2, 1)  # the arcs from line 2
    assert pf.missing_lines == [4] and pf.missing_branches == ["2->4"]
    assert result.ignored == ["docs/x.md"]
    assert patch.missing_text(pf) == "4"  # 2->4 goes to a line that never ran: not listed again


# --- the whole run ------------------------------------------------------------------------------------


def test_run_patch_gate_fails_naming_file_and_lines_then_passes_with_the_test(tmp_path: Path) -> None:
    root = repo(tmp_path / "p")
    append(root / "pkg" / "calc.py", CLAMP)  # lines 13-18: def, if, return, if, return, return
    append(root / "tests" / "test_calc.py", CLAMP_LOW_TEST)
    git(root, "commit", "-q", "-am", "clamp")

    failed = mcptest(root, "run", "unit", "--diff-base", "main", "--junit", "--markdown")
    assert failed.code == exitcodes.THRESHOLD_MISSED, failed.output
    assert "patch line coverage 50.0% (3 of 6 changed statements) is below the required 80%; missing: " in failed.stdout
    assert "pkg/calc.py 16-18" in failed.stdout
    assert "Patch (since " in failed.stdout and "│ 16-18 " in failed.stdout  # 14->16 goes to a missed line
    assert "missing: pkg/calc.py 14->16, 16->17, 16->18" in failed.stdout
    record = latest(root)
    p = record["patch"]
    assert p["base"] == "main" and p["merge_base"] == git(root, "merge-base", "main", "HEAD")
    (pf,) = p["files"]
    assert pf["path"] == "pkg/calc.py" and pf["changed_lines"] == list(range(11, 19))
    assert pf["missing_lines"] == [16, 17, 18]
    assert (pf["totals"]["statements"], pf["totals"]["covered_lines"]) == (6, 3)
    assert (pf["totals"]["branches"], pf["totals"]["covered_branches"]) == (4, 1)
    assert p["ignored"] == ["tests/test_calc.py"]
    gates = {v["metric"]: v for v in record["verdicts"] if v["target"] == "patch"}
    assert not gates["line"]["passed"] and not gates["branch"]["passed"]
    junit = (root / ".mcptest" / "report" / "junit.xml").read_text(encoding="utf-8")
    assert 'name="patch line"' in junit and "16-18" in junit
    summary = (root / ".mcptest" / "report" / "summary.md").read_text(encoding="utf-8")
    assert "❌ Patch since" in summary and "| `pkg/calc.py` | 3/6 | 50.0% | 1/4 | 25.0% | `16-18` |" in summary

    append(root / "tests" / "test_calc.py", CLAMP_ALL_TESTS)  # unstaged: the working tree counts
    passed = mcptest(root, "run", "unit", "--diff-base", "main", "--html")
    assert passed.code == exitcodes.OK, passed.output
    assert "Patch since" in passed.stdout and "lines 6/6 100.0% · branches 4/4 100.0%" in passed.stdout
    page = next((root / ".mcptest" / "report" / "html" / "files").glob("pkg_calc_py_*.html")).read_text(
        encoding="utf-8"
    )
    assert '<tr id="L14" class="run chg">' in page and '<tr id="L2" class="run">' in page
    assert 'id="patch-file"' in page
    index = (root / ".mcptest" / "report" / "html" / "index.html").read_text(encoding="utf-8")
    assert 'id="patch-files"' in index and "lines 6/6 100.0%" in index


def test_run_empty_patch_passes_and_says_no_changed_lines_from_config_diff_base(tmp_path: Path) -> None:
    config = GATED.replace("patch: {line: 80, branch: 70}", "patch: {line: 80, branch: 70, diff_base: main}")
    root = repo(tmp_path / "p", config=config)
    (root / "NOTES.txt").write_text("not python\n", encoding="utf-8")
    git(root, "add", "NOTES.txt")
    result = mcptest(root, "run", "unit")
    assert result.code == exitcodes.OK, result.output
    assert "no changed lines to measure" in result.stdout
    record = latest(root)
    (gate,) = [v for v in record["verdicts"] if v["target"] == "patch"]
    assert gate["passed"] and gate["message"].startswith("patch: no changed lines to measure")
    assert record["patch"]["ignored"] == ["NOTES.txt"] and record["patch"]["files"] == []


def test_run_bad_diff_base_fails_before_any_test_runs_exit_4(tmp_path: Path) -> None:
    root = repo(tmp_path / "p")
    result = mcptest(root, "run", "unit", "--diff-base", "origin/main")
    assert result.code == exitcodes.CONFIG_ERROR
    assert result.stderr.strip().splitlines() == [
        "mcptest: error: --diff-base origin/main: no branch, tag or commit 'origin/main' in this clone; "
        "fetch it first: git fetch origin main"
    ]
    assert not (root / ".mcptest" / "latest.json").exists()


def test_report_diff_base_measures_a_stored_run_and_refuses_another_commit(tmp_path: Path) -> None:
    root = repo(tmp_path / "p", config=CONFIG)
    append(root / "pkg" / "calc.py", CLAMP)
    git(root, "commit", "-q", "-am", "clamp")
    ran = mcptest(root, "run", "unit")
    assert ran.code == exitcodes.OK, ran.output
    assert latest(root)["patch"] is None
    shown = mcptest(root, "report", "--json", "-o", "-", "--diff-base", "main")
    assert shown.code == exitcodes.OK, shown.output
    data = json.loads(shown.stdout)
    assert data["patch"]["totals"]["statements"] == 6 and data["patch"]["totals"]["covered_lines"] == 1
    git(root, "commit", "-q", "--allow-empty", "-m", "later")
    refused = mcptest(root, "report", "--markdown", "-o", "-", "--diff-base", "main")
    assert refused.code == exitcodes.CONFIG_ERROR
    assert "its line numbers are not those of this checkout" in refused.stderr
