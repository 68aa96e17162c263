"""Which files the audit reads: the test files under the project and the suites' paths, and conftest.py."""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

DEFAULT_TEST_PATTERN: tuple[str, ...] = ("test_*.py", "*_test.py")
#: Directory names (globs) never searched for test files, after pytest's ``norecursedirs`` default.
DEFAULT_IGNORE_DIRS: tuple[str, ...] = (
    ".*",
    "*.egg",
    "*.egg-info",
    "_darcs",
    "CVS",
    "{arch}",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "__pycache__",
    "venv",
)


def suite_targets(root: Path, paths: Sequence[str]) -> list[Path]:
    """A suite's paths as absolute paths: node ids lose their ``::`` part, globs are expanded."""
    targets: list[Path] = []
    for raw in paths:
        text = raw.split("::", 1)[0]
        if any(ch in text for ch in "*?["):
            matches = glob.glob(os.path.join(root, text), recursive=True)
            targets.extend(Path(os.path.normpath(p)) for p in sorted(matches))
        else:
            targets.append(Path(os.path.normpath(root / text)))
    return targets


def covers(target: Path, path: Path) -> bool:
    return target == path or target in path.parents


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _walk(top: Path, ignore_dirs: tuple[str, ...]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        base = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not _ignored(d, ignore_dirs) and not (base / d / "pyvenv.cfg").exists()
        )
        for name in sorted(filenames):
            yield base / name


def discover(
    root: Path, suites: Mapping[str, list[Path]], pattern: tuple[str, ...], ignore_dirs: tuple[str, ...]
) -> tuple[list[Path], list[Path]]:
    """Test files and conftest.py files under root and under every suite folder (which may lie elsewhere)."""
    tests: set[Path] = set()
    conftests: set[Path] = set()
    tops = [root]
    for targets in suites.values():
        for target in targets:
            if target.is_dir() and not _walked(root, target, ignore_dirs):
                tops.append(target)
            elif target.is_file() and target.suffix == ".py":
                tests.add(target)  # pytest collects a file named on its command line whatever its name
    for top in tops:
        for path in _walk(top, ignore_dirs):
            if path.name == "conftest.py":
                conftests.add(path)
            elif any(fnmatch.fnmatchcase(path.name, p) for p in pattern):
                tests.add(path)
    return sorted(tests), sorted(conftests)


def _walked(root: Path, target: Path, ignore_dirs: tuple[str, ...]) -> bool:
    """Whether walking ``root`` reaches ``target`` already (a suite folder may sit in an ignored one)."""
    if target != root and root not in target.parents:
        return False
    parts = target.relative_to(root).parts
    return not any(_ignored(part, ignore_dirs) for part in parts) and not any(
        (root.joinpath(*parts[:i]) / "pyvenv.cfg").exists() for i in range(1, len(parts) + 1)
    )
