"""The layout a project really has, for ``mcptest init``: what to measure and which suites to run.

What to measure, in this order: coverage.py's own ``source`` (and ``source_pkgs``) from the file coverage.py
reads (``.coveragerc``, else the first of ``setup.cfg``, ``tox.ini`` with a ``[coverage:run]`` section and
``pyproject.toml`` with ``[tool.coverage.run]``), test folders left out; else in a src layout the packages
inside ``src/`` (``src`` itself when it holds plain modules); else the packages and modules at the top of the
project, next to its tests (a flat layout: ``six.py`` beside ``test_six.py``), without ``setup.py``,
``conftest.py``, task files and test files.

The suites: pytest's own ``testpaths`` when the project's pytest settings (in the project folder) set them,
else ``tests/`` or ``test/``, else the test files at the top. A test folder with ``unit/``, ``integration/``
or ``e2e/`` in it gives one suite per such folder, of that type, and a ``custom`` suite ``other`` for the
test files and folders beside them, so that every test still runs in some suite.

Nothing is imported or run; files are only read.
"""

from __future__ import annotations

import configparser
import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest.pytest_ini import PytestSettings, _split, find_settings

TYPES = ("unit", "integration", "e2e")
#: Folders at the top of a project that are not its code.
NOT_SOURCE_DIRS = {
    "tests", "test", "testing", "suites", "docs", "doc", "documentation", "build", "dist", "venv", ".venv",
    "env", "node_modules", "templates", "bench", "benchmarks", "examples", "scripts", "tools", "site-packages",
}  # fmt: skip
#: Modules at the top of a project that are its tooling, not its code.
NOT_SOURCE_MODULES = {
    "setup", "conftest", "noxfile", "fabfile", "tasks", "dodo", "ez_setup", "versioneer", "manage", "bootstrap",
}  # fmt: skip
DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")


@dataclass
class SuitePlan:
    """One suite ``init`` writes: its name, paths, type, and where they came from (a comment)."""

    name: str
    paths: list[str]
    test_type: str
    note: str = ""


@dataclass
class Layout:
    root: Path
    sources: list[str] = field(default_factory=list)
    source_note: str = ""
    suites: list[SuitePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what init noticed and the user should know

    @property
    def test_paths(self) -> list[str]:
        return [p for s in self.suites for p in s.paths]


# --- coverage.py's own settings --------------------------------------------------------------------------------


def _list(raw: Any) -> list[str]:
    """A coverage.py list setting: a TOML list, or an ini value split on commas and lines (comments dropped)."""
    if isinstance(raw, list):
        return [str(item).strip() for item in raw if str(item).strip()]
    items = []
    for line in str(raw).splitlines():
        line = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
        items += [part.strip() for part in line.split(",")]
    return [item for item in items if item]


def coverage_sources(root: Path) -> tuple[list[str], str] | None:
    """coverage.py's ``[run] source`` and ``source_pkgs`` from the file it reads, and where they are written;
    None when that file sets neither (or cannot be read: coverage.py itself will say why)."""
    rc = root / ".coveragerc"
    candidates: list[tuple[Path, str]] = [(rc, "run")] if rc.is_file() else []
    candidates += [(root / "setup.cfg", "coverage:run"), (root / "tox.ini", "coverage:run")]
    for path, section in candidates:
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            return None
        if parser.has_section(section):
            values = [v for key in ("source", "source_pkgs") if (v := parser.get(section, key, fallback=None))]
            found = [item for value in values for item in _list(value)]
            return (found, f"{path.name} [{section}]") if found else None
        if path == rc:
            return None  # coverage.py reads .coveragerc alone when it is there
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        run = document.get("tool", {}).get("coverage", {}).get("run", {})
        if isinstance(run, dict):
            found = [item for key in ("source", "source_pkgs") for item in _list(run.get(key) or [])]
            if found:
                return found, "pyproject.toml [tool.coverage.run]"
    return None


# --- the code ---------------------------------------------------------------------------------------------------


def _is_test_file(name: str, patterns: tuple[str, ...]) -> bool:
    return name == "conftest.py" or any(fnmatch.fnmatch(name, p) for p in patterns)


def src_sources(root: Path) -> list[str]:
    """In a src layout: the packages inside src/ (``src/pkg``), or ``src`` itself when it also holds plain
    modules (coverage.py measures modules through their folder)."""
    src = root / "src"
    if not src.is_dir():
        return []
    packages = sorted(p.parent.name for p in src.glob("*/__init__.py") if p.parent.name.isidentifier())
    modules = [p for p in src.glob("*.py") if p.stem.isidentifier() and p.name != "conftest.py"]
    if modules:
        return ["src"]
    return [f"src/{name}" for name in packages]


def flat_sources(root: Path, patterns: tuple[str, ...] = DEFAULT_TEST_FILES) -> list[str]:
    """The packages (folders with ``__init__.py``) and modules at the top of the project, by import name."""
    packages = [
        p.parent.name
        for p in root.glob("*/__init__.py")
        if p.parent.name not in NOT_SOURCE_DIRS and not p.parent.name.startswith((".", "_")) and
        p.parent.name.isidentifier()
    ]  # fmt: skip
    modules = [
        p.stem
        for p in root.glob("*.py")
        if p.stem.isidentifier() and p.stem not in NOT_SOURCE_MODULES and not _is_test_file(p.name, patterns)
    ]
    return sorted(set(packages)) + sorted(set(modules) - set(packages))


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == f or path.is_relative_to(f) for f in folders)


def _measurable(root: Path, name: str, tests: list[Path]) -> tuple[str | None, str]:
    """A coverage.py source entry as ``source`` can take it (None when it cannot), and why it was left out."""
    from mcptest.config import resolve_source

    if name.strip() in ("", "."):
        return None, "the whole project folder (the packages in it are named instead)"
    found = resolve_source(root, name)
    if found is None or isinstance(found, str):
        for folder in (root / name, root / "src" / name):
            if (folder / "__init__.py").is_file():
                return folder.relative_to(root).as_posix(), ""  # the project's own copy, not an installed one
        return None, "names nothing in the project"
    target = (root / found.path).resolve()
    if _inside(target, tests) or Path(found.path).name in ("tests", "test", "testing"):
        return None, "a test folder (mcptest never measures tests)"
    return name, ""


# --- the tests --------------------------------------------------------------------------------------------------


def _has_tests(folder: Path, patterns: tuple[str, ...]) -> bool:
    return any(
        any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)
        for p in folder.rglob("*.py")
        if "__pycache__" not in p.parts
    )


def _test_patterns(settings: PytestSettings) -> tuple[str, ...]:
    raw = settings.values.get("python_files")
    return tuple(_split(raw)) if raw else DEFAULT_TEST_FILES


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def test_roots(root: Path, settings: PytestSettings, patterns: tuple[str, ...]) -> tuple[list[str], str]:
    """Where the tests are, and how that was found."""
    own = settings.file is not None and settings.file.parent == root.resolve()
    if own and settings.values.get("testpaths"):
        named = _split(settings.values["testpaths"])
        found = sorted({_rel(root, p) for item in named for p in root.glob(item) if p.exists()}, key=named_order(named))
        if found:
            return found, f"pytest's testpaths ({settings.file.name if settings.file else ''})"
    for name in ("tests", "test", "testing"):
        if (root / name).is_dir() and _has_tests(root / name, patterns):
            return [name], f"the test folder {name}/"
    files = sorted(p.name for p in root.glob("*.py") if _is_test_file(p.name, patterns) and p.name != "conftest.py")
    if files:
        return files, "the test files next to the code"
    return [], ""


def named_order(named: list[str]) -> Any:
    """Sort found paths in the order testpaths names them."""

    def key(path: str) -> tuple[int, str]:
        for i, item in enumerate(named):
            if fnmatch.fnmatch(path, item.rstrip("/")) or path == item.rstrip("/"):
                return i, path
        return len(named), path

    return key


def plan_suites(root: Path, roots: list[str], note: str, patterns: tuple[str, ...]) -> list[SuitePlan]:
    """One suite per unit/integration/e2e folder (at a test root or inside one), ``other`` for the rest; a
    single ``unit`` suite when there is no such folder."""
    typed: dict[str, list[str]] = {}
    rest: list[str] = []
    for item in roots:
        path = root / item
        if path.name in TYPES and path.is_dir():
            typed.setdefault(path.name, []).append(item)
            continue
        inner = [path / t for t in TYPES if (path / t).is_dir()] if path.is_dir() else []
        if not inner:
            rest.append(item)
            continue
        for folder in inner:
            typed.setdefault(folder.name, []).append(_rel(root, folder))
        for child in sorted(path.iterdir()):
            if child in inner or child.name.startswith((".", "__pycache__")):
                continue
            if (child.is_file() and _is_test_file(child.name, patterns) and child.name != "conftest.py") or (
                child.is_dir() and _has_tests(child, patterns)
            ):
                rest.append(_rel(root, child))
    if not typed:
        return [SuitePlan("unit", roots or ["tests"], "unit", note)]
    suites = [SuitePlan(t, typed[t], t, f"{note}: its {t} folder") for t in TYPES if t in typed]
    if rest:
        suites.append(SuitePlan("other", rest, "custom", f"{note}: the tests beside the {'/'.join(typed)} folders"))
    return suites


# --- all of it --------------------------------------------------------------------------------------------------


def detect(root: Path) -> Layout:
    """The project's layout. Raises ConfigError when its pytest settings cannot be read."""
    settings = find_settings(root)
    patterns = _test_patterns(settings)
    layout = Layout(root=root)
    roots, note = test_roots(root, settings, patterns)
    if not roots:
        layout.notes.append("no tests found (no testpaths, no tests/ or test/ folder, no test_*.py at the top)")
    layout.suites = plan_suites(root, roots, note, patterns)
    tests = [(root / p).resolve() for p in layout.test_paths]
    own = coverage_sources(root)
    if own is not None:
        names, where = own
        judged = [(name, *_measurable(root, name, tests)) for name in names]
        kept = [value for _, value, _ in judged if value is not None]
        for name, value, why in judged:
            if value is None:
                layout.notes.append(f"{name} of coverage.py's source ({where}) is left out: {why}")
        if kept:
            layout.sources = list(dict.fromkeys(kept))
            layout.source_note = f"coverage.py's own source ({where})"
            return layout
    inside_src = src_sources(root)
    if inside_src:
        layout.sources = inside_src
        layout.source_note = "the packages inside src/ (src layout)" if inside_src != ["src"] else "src/ (modules)"
        return layout
    flat = flat_sources(root, patterns)
    layout.sources = flat
    if flat:
        modules = [name for name in flat if (root / f"{name}.py").is_file()]
        layout.source_note = "the packages and modules at the top (flat layout)" if modules else "the packages"
    return layout
