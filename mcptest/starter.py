"""Write a commented starter mcptest.yaml by looking at a project's folders."""

from __future__ import annotations

from pathlib import Path

_SKIP = {"tests", "test", "suites", "docs", "build", "dist", "venv", ".venv", "node_modules", "templates", "bench"}


def guess_sources(root: Path) -> list[str]:
    """Top-level packages (folders with __init__.py), or src/ when the project uses that layout."""
    if (root / "src").is_dir() and any((root / "src").glob("*/__init__.py")):
        return ["src"]
    found = sorted(
        p.parent.name
        for p in root.glob("*/__init__.py")
        if p.parent.name not in _SKIP and not p.parent.name.startswith(".")
    )
    return found


def guess_tests(root: Path) -> list[str]:
    for name in ("tests", "test"):
        if (root / name).is_dir():
            return [name]
    return []


def starter_config(root: Path) -> str:
    sources = guess_sources(root) or ["CHANGE_ME"]
    tests = guess_tests(root) or ["tests"]
    src_list = ", ".join(sources)
    first = sources[0]
    return f"""\
# mcptest configuration: 'mcptest config check' validates it, 'mcptest run unit' uses it.
version: 1

# What coverage measures (folders, files or importable packages). Test files are never measured.
source: [{src_list}]

coverage:
  branch: true                 # branch coverage (recommended)
  overall: {{line: 70}}          # minimums for the whole run, in percent: line and/or branch
  # files:                     # per file; a glob applies to EACH matching file
  #   {first}/core.py: {{line: 80, branch: 70}}
  #   "{first}/**/*.py": {{line: 50}}
  # max_drop: 1.0              # fail when a file or the total drops more than 1 point vs the baseline

# modules:                     # named groups of files, gated on their combined numbers
#   core: {{files: ["{first}/core.py"], tests: [{tests[0]}/test_core.py], line: 80}}

suites:
  unit: {{paths: [{", ".join(tests)}], budget: 5m, timeout: 60s}}
  # integration: {{paths: [tests/integration], budget: 10m, timeout: 120s, requires: [api]}}

# bridges:                     # HTTP backends a suite requires; checked before it runs
#   api:
#     url: "${{API_URL:-http://127.0.0.1:8080}}"
#     health: /health
#     accept: [ok]
#     start: "python -m my_fake_api --port 8080"   # optional: how mcptest starts it

report:
  dir: .mcptest                # run records, latest.json, baseline.json, reports
"""
