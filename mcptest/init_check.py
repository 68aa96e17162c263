"""``mcptest init --check``: how an existing mcptest.yaml differs from what ``init`` would write for the project.

Only what ``init`` derives from the project is compared: the measured source (as coverage.py would measure it,
so ``itsdangerous`` and ``src/itsdangerous`` are the same), the suites it finds (their paths after globs are
expanded, and their types) and a per-test timeout that the project's own pytest settings set. Thresholds,
budgets, bridges and suites that ``init`` cannot know of are the config's own business; a suite that only the
config has is mentioned, not counted as a difference.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from mcptest.config import load_config, resolve_source
from mcptest.config_model import Config
from mcptest.starter import Starter, _flow, duration


@dataclass
class Comparison:
    config: Path
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"- {d}" for d in self.differences] + [f"  note: {n}" for n in self.notes]
        if self.differences:
            out.append(f"{self.config}: {len(self.differences)} difference(s) from what 'mcptest init' would write")
        else:
            out.append(f"{self.config}: matches what 'mcptest init' would write")
        return out


def _measured(config: Config, names: list[str]) -> list[str]:
    out = []
    for name in names:
        found = resolve_source(config.root, name)
        out.append(found.path if found is not None and not isinstance(found, str) else name)
    return sorted(set(out))


def _expanded(root: Path, paths: list[str]) -> list[str]:
    out: set[str] = set()
    for item in paths:
        item = item.rstrip("/").removeprefix("./")
        if glob.has_magic(item):
            out |= {Path(p).relative_to(root).as_posix() for p in glob.glob(str(root / item), recursive=True)}
        else:
            out.add(item)
    return sorted(out)


def compare(config_path: Path, starter: Starter) -> Comparison:
    """Compare the config at ``config_path`` with ``starter`` (what init plans for the same folder). Raises
    ConfigError when the config is not valid."""
    config = load_config(config_path)
    result = Comparison(config.path)
    name = config.path.name
    have, want = _measured(config, [e.name for e in config.sources]), _measured(config, starter.sources)
    if have != want:
        result.differences.append(
            f"source: {name} measures {_flow(have)}, init would write {_flow(starter.sources)} ({starter.source_note})"
        )
    matched: set[str] = set()
    for suite in starter.suites:
        paths = _expanded(config.root, suite.paths)
        same_paths = [s for s in config.suites.values() if _expanded(config.root, s.paths) == paths]
        existing = config.suites.get(suite.name) or (same_paths[0] if same_paths else None)
        if existing is None:
            result.differences.append(
                f"suite {suite.name}: not in {name}; init would write paths {_flow(suite.paths)}, "
                f"type {suite.test_type} ({suite.note})"
            )
            continue
        matched.add(existing.name)
        label = f"suite {existing.name}" + (f" (init's {suite.name})" if existing.name != suite.name else "")
        mine = _expanded(config.root, existing.paths)
        if mine != paths:
            result.differences.append(
                f"{label}: paths {_flow(existing.paths)}, init would write {_flow(suite.paths)} ({suite.note})"
            )
        if existing.test_type != suite.test_type:
            result.differences.append(f"{label}: type {existing.test_type}, init would write {suite.test_type}")
        if starter.timeout is not None and existing.timeout != starter.timeout:
            shown = duration(existing.timeout) if existing.timeout is not None else "none"
            result.differences.append(
                f"{label}: timeout {shown}, init would write {duration(starter.timeout)} ({starter.timeout_note})"
            )
    for extra in config.suites:
        if extra not in matched:
            result.notes.append(f"suite {extra} is only in {name} (init finds no such suite)")
    return result
