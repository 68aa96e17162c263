"""Inside the test process: what pytest actually selected, and whether the user's arguments narrowed the suite.

A run is *partial* only when the selection that the user asked for (mcptest's ``-k``, or arguments after
``--``) really left tests of the suite out: a ``-k`` that deselected nothing, ``-p no:cacheprovider`` or
``-o addopts=`` leave the run whole. Node ids and paths inside the suite's paths passed after ``--`` replace
the suite's paths (so ``-- tests/unit/test_x.py::test_y`` runs just that test), and make the run partial.
Loaded by the collector plugin in the test process and in every pytest-xdist worker; stdlib and pytest only.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

#: ``MCPTEST_REQUESTED_ARGS``: JSON list of the arguments the user asked for (mcptest's -k, then those after --).
REQUESTED_ENV = "MCPTEST_REQUESTED_ARGS"
#: ``MCPTEST_SUITE_PATHS``: JSON list of the suite's test paths as mcptest passed them.
PATHS_ENV = "MCPTEST_SUITE_PATHS"

#: Options that narrow what is collected or selected, by argparse dest, with the flag users know them by.
NARROWING = {
    "keyword": "-k",
    "markexpr": "-m",
    "deselect": "--deselect",
    "lf": "--lf",
    "ignore": "--ignore",
    "ignore_glob": "--ignore-glob",
    "stepwise": "--sw",
    "stepwise_skip": "--sw-skip",
}
_POSITIONAL = "file_or_dir"


def _json_list(name: str) -> list[str]:
    try:
        value = json.loads(os.environ.get(name) or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def requested_options(config: pytest.Config, args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The narrowing options set in ``args`` (dest -> value) and the positional arguments among them.

    ``args`` are parsed by this session's own parser (plugins' options included), so an option's value is
    never mistaken for a path.
    """
    parser = getattr(config, "_parser", None)
    if parser is None or not args:
        return {}, []
    try:
        given, _ = parser.parse_known_and_unknown_args(args)
        default, _ = parser.parse_known_and_unknown_args([])
    except (Exception, SystemExit):  # an argument pytest rejects ends the session elsewhere, with its message
        return {}, []
    options = {
        dest: getattr(given, dest)
        for dest in NARROWING
        if hasattr(given, dest) and getattr(given, dest) != getattr(default, dest, None)
    }
    positional = [str(p) for p in getattr(given, _POSITIONAL, None) or []]
    return options, positional


def _inside(arg: str, roots: list[Path], base: Path) -> bool:
    """Whether a path or node id lies within one of ``roots`` (and is not one of them)."""
    target = (base / arg.split("::", 1)[0]).resolve()
    for root in roots:
        if target == root and "::" not in arg:
            return False
        if target == root or target.is_relative_to(root):
            return True
    return False


class SelectionWatch:
    """Counts what the collection kept and dropped, and says which requested option narrowed the suite."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options, positional = requested_options(config, _json_list(REQUESTED_ENV))
        self.before: int | None = None
        self.deselected = 0
        self.ignored: list[str] = []
        self.narrowed_to: list[str] = []
        base = Path(config.invocation_params.dir)
        suite_paths = _json_list(PATHS_ENV)
        roots = [(base / p).resolve() for p in suite_paths]
        inside = [p for p in positional if _inside(p, roots, base)]
        if inside and suite_paths:
            # node ids or paths within the suite's own paths narrow it: they replace the suite's paths
            self.narrowed_to = inside
            kept = [a for a in config.args if a not in suite_paths]
            config.args[:] = kept or config.args

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Generator[None, None, None]:
        self.before = len(items)
        yield

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> None:
        """Record (never decide) paths that a requested ``--ignore``/``--ignore-glob`` leaves out."""
        base = Path(config.invocation_params.dir)
        for value in self.options.get("ignore") or []:
            if (base / value).resolve() == collection_path:
                self.ignored.append(str(value))
        for pattern in self.options.get("ignore_glob") or []:
            if fnmatch.fnmatch(str(collection_path), str(base / pattern)) or fnmatch.fnmatch(
                str(collection_path), str(pattern)
            ):
                self.ignored.append(str(pattern))

    def reasons(self) -> list[str]:
        """Why the selection is narrower than the suite, from what was really dropped; empty when whole."""
        out: list[str] = []
        if self.narrowed_to:
            shown = ", ".join(self.narrowed_to[:5]) + (" ..." if len(self.narrowed_to) > 5 else "")
            out.append(f"the arguments {shown} narrow the suite's paths")
        of = f" of {self.before}" if self.before is not None else ""
        dropping = [
            f"{NARROWING[d]} {_show(self.options[d])}" for d in ("keyword", "markexpr", "deselect") if d in self.options
        ]
        lf = self.options.get("lf")
        skipped_files = 0
        if lf:
            plugin = self.config.pluginmanager.get_plugin("lfplugin")
            skipped_files = int(getattr(plugin, "_skipped_files", 0) or 0)
            if self.deselected or skipped_files:
                dropping.append("--lf")
        if self.options.get("stepwise") or self.options.get("stepwise_skip"):
            dropping.append("--sw")
        if dropping and (self.deselected or skipped_files):
            files = f" and skipped {skipped_files} file(s)" if skipped_files else ""
            out.append(f"{', '.join(dropping)} deselected {self.deselected}{of} tests{files}")
        if self.ignored:
            out.append(f"--ignore left out {', '.join(sorted(set(self.ignored))[:5])}")
        return out

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        event = {
            "event": "selection",
            "before": self.before,
            "deselected": self.deselected,
            "selected": len(session.items),
            "reasons": self.reasons(),
        }
        path = os.environ.get("MCPTEST_EVENTS")
        if path:  # also from xdist workers, which collect while the controller does not: one short append
            with open(path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(event) + "\n")


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) and " " in value else str(value)


def register(config: pytest.Config) -> None:
    config.pluginmanager.register(SelectionWatch(config), "mcptest-selection")
