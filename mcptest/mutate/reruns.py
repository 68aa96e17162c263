"""Rerun plugins switched off inside mutant runs.

A mutant that makes a test fail is killed at the first failure; pytest-rerunfailures, flaky,
pytest-flakefinder, pytest-repeat or pytest-retry would run that test again (with a delay, or many
times), which only makes every killed mutant slower. Each of them that is installed is blocked with
``-p no:NAME``, and a small stand-in plugin accepts the options, ini keys and markers it would have
registered, so that a project's ``addopts``, ini settings and ``@pytest.mark.flaky`` still parse
(under ``--strict-markers`` and ``--strict-config`` too) while doing nothing.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

STAND_IN = "_mcptest_norerun"

#: Per distribution: options taking a value, flag options, ini keys, markers.
_KNOWN: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "pytest-rerunfailures": (
        ("--reruns", "--reruns-delay", "--reruns-delay-backoff-factor", "--only-rerun", "--rerun-except",
         "--rerun-exclude-path", "--reruns-mode", "--max-suite-reruns", "--force-reruns"),
        ("--fail-on-flaky", "--rerun-show-tracebacks"),
        ("reruns", "reruns_delay", "reruns_delay_backoff_factor", "only_rerun", "rerun_except"),
        ("flaky",),
    ),
    "flaky": (("--max-runs", "--min-passes"), ("--force-flaky", "--no-flaky-report", "--no-success-flaky-report"),
              (), ("flaky",)),
    "pytest-flakefinder": (("--flake-runs", "--flake-max-minutes"), ("--flake-finder",), (), ()),
    "pytest-repeat": (("--count", "--repeat-scope"), (), (), ("repeat",)),
    "pytest-retry": (("--retries", "--retry-delay"), ("--cumulative-timing",), ("retries", "retry_delay",
                     "cumulative_timing"), ("flaky",)),
}

_PLUGIN = '''\
"""Stands in for the rerun plugins that mcptest mutate blocks: accepts their options, does nothing."""
import argparse

VALUES = {values!r}
FLAGS = {flags!r}
INIS = {inis!r}
MARKERS = {markers!r}


def pytest_addoption(parser):
    group = parser.getgroup("mcptest-mutate", "options of rerun plugins, switched off by mcptest mutate")
    for names, action in ((VALUES, "append"), (FLAGS, "store_true")):
        for name in names:
            try:
                group.addoption(name, action=action)
            except (ValueError, argparse.ArgumentError):
                pass  # registered already
    for name in INIS:
        parser.addini(name, "ignored: rerun plugins are switched off by mcptest mutate")


def pytest_configure(config):
    for name in MARKERS:
        config.addinivalue_line("markers", name + ": ignored, rerun plugins are switched off by mcptest mutate")
'''


def installed() -> dict[str, list[str]]:
    """The installed rerun plugins: distribution name -> the plugin names to block (entry point and module)."""
    found: dict[str, list[str]] = {}
    for ep in importlib.metadata.entry_points(group="pytest11"):
        dist = ep.dist.name.lower().replace("_", "-") if ep.dist is not None else ""
        if dist in _KNOWN:
            names = found.setdefault(dist, [])
            for name in (ep.name, ep.value.split(":")[0]):
                if name not in names:
                    names.append(name)
    return found


def write_stand_in(folder: Path, plugins: dict[str, list[str]]) -> None:
    """Write the stand-in plugin for ``plugins`` into ``folder`` (put on the test processes' path)."""
    parts = [_KNOWN[dist] for dist in sorted(plugins)]
    text = _PLUGIN.format(
        values=sorted({o for p in parts for o in p[0]}),
        flags=sorted({o for p in parts for o in p[1]}),
        inis=sorted({o for p in parts for o in p[2]}),
        markers=sorted({o for p in parts for o in p[3]}),
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{STAND_IN}.py").write_text(text, encoding="utf-8")


def pytest_args(plugins: dict[str, list[str]]) -> list[str]:
    """``-p no:NAME`` for every blocked plugin, then the stand-in; nothing when none is installed."""
    if not plugins:
        return []
    args: list[str] = []
    for dist in sorted(plugins):
        for name in plugins[dist]:
            args += ["-p", f"no:{name}"]
    return [*args, "-p", STAND_IN]
