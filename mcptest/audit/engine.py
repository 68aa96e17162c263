"""The audit's walk: find the files, parse each once, run every rule on it, then the rules on fixtures."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from mcptest.audit.context import Fixture, Module, Project, Settings
from mcptest.audit.files import DEFAULT_IGNORE_DIRS, DEFAULT_TEST_PATTERN, covers, discover, suite_targets
from mcptest.audit.result import AuditResult, Out
from mcptest.audit.rules import ALL
from mcptest.audit.rules.files import NOT_WIRED
from mcptest.audit.rules.naming import DEFAULT_NAMING
from mcptest.config_model import Config
from mcptest.errors import ConfigError


def audit_config(
    config: Config,
    *,
    test_pattern: Sequence[str] = DEFAULT_TEST_PATTERN,
    naming: str | None = DEFAULT_NAMING,
    ignore_dirs: Sequence[str] = DEFAULT_IGNORE_DIRS,
) -> AuditResult:
    """Audit the suites of ``config``, each judged by its type (``type`` in mcptest.yaml, by default its name)."""
    return audit_paths(
        config.root,
        {name: list(suite.paths) for name, suite in config.suites.items()},
        test_pattern=test_pattern,
        naming=naming,
        suite_types={name: suite.test_type for name, suite in config.suites.items()},
        ignore_dirs=ignore_dirs,
    )


def _naming(naming: str | None) -> re.Pattern[str] | None:
    if naming is None:
        return None
    try:
        return re.compile(naming)
    except re.error as exc:
        raise ConfigError(f"invalid regular expression {naming!r}: {exc}", key="naming") from None


def audit_paths(
    root: Path,
    suite_paths: Mapping[str, Sequence[str]],
    *,
    test_pattern: Sequence[str] = DEFAULT_TEST_PATTERN,
    naming: str | None = DEFAULT_NAMING,
    unit_suites: Sequence[str] = ("unit",),
    suite_types: Mapping[str, str] | None = None,
    ignore_dirs: Sequence[str] = DEFAULT_IGNORE_DIRS,
) -> AuditResult:
    """Audit every test file under ``root`` and under the suites' paths (relative to ``root``).

    ``suite_paths`` maps a suite name to its paths: folders, files, pytest node ids (the part after
    ``::`` is dropped) or globs. ``suite_types`` maps a suite name to its type (``unit``,
    ``integration``, ``e2e``, ``custom``); without it the suites in ``unit_suites`` are of type unit and
    the others of the type their name says, if it is one. Raises :class:`ConfigError` for an invalid
    ``naming`` regex.
    """
    naming_re = _naming(naming)
    types = dict(suite_types) if suite_types is not None else {
        name: "unit" if name in unit_suites else name if name in ("integration", "e2e") else "custom"
        for name in suite_paths
    }
    root = Path(os.path.abspath(root))
    suites = {name: suite_targets(root, paths) for name, paths in suite_paths.items()}
    test_files, conftests = discover(root, suites, tuple(test_pattern), tuple(ignore_dirs))
    out = Out(root)

    project = Project(out)
    conftest_fixtures: dict[Path, dict[str, Fixture]] = {}
    for path in conftests:
        src = out.load(path)
        if src is not None:
            conftest_fixtures[path.parent] = Module(src, out, Settings(naming_re)).fixtures
            project.strings |= _strings(src.tree)

    for path in test_files:
        owners = [name for name, targets in suites.items() if any(covers(t, path) for t in targets)]
        src = out.load(path)
        if not owners:
            lines = src.header_lines() if src is not None else {1}
            out.add(src, NOT_WIRED.id, out.rel(path), 1, None, _NOT_WIRED, lines)
        if src is None:
            continue
        settings = Settings(naming_re, {name: types.get(name, "custom") for name in sorted(owners)})
        module = Module(src, out, settings)
        module.use_fixtures(_conftest_chain(path.parent, conftest_fixtures))
        for rule in ALL:
            if rule.check is not None:
                rule.check(module)
        project.fixtures += module.all_fixtures()
        project.strings |= _strings(src.tree)

    project.fixtures += [f for scope in conftest_fixtures.values() for f in scope.values()]
    for rule in ALL:
        if rule.finish is not None:
            rule.finish(project)
    return out.result()


def _strings(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


_NOT_WIRED = "no suite collects this test file: add its folder to a suite's paths or delete it"


def _conftest_chain(start: Path, conftests: Mapping[Path, dict[str, Fixture]]) -> list[dict[str, Fixture]]:
    return [conftests[d] for d in (start, *start.parents) if d in conftests]
