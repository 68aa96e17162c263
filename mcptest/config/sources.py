"""What ``source`` entries name, found the way coverage.py's ``--source`` and the test process find them."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from mcptest.config.messages import cut
from mcptest.config_model import SourceEntry
from mcptest.errors import ConfigError


def exists(path: Path) -> bool:
    """``path.exists()``, but False for a name the OS refuses (too long, a NUL byte)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _relative(path: Path, root: Path) -> Path:
    """``path`` relative to ``root``, both resolved; with '..' parts when outside (a symlink, ../lib)."""
    return Path(os.path.relpath(path.resolve(), root.resolve()))


_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")
_INSTALLED_DIRS = ("site-packages", "dist-packages")
VIA = {
    "root": "importable from the project folder",
    "pythonpath": "on pytest's pythonpath",
    "installed": "installed, the interpreter imports it from there",
    "src": "src layout",
}


def resolve_source(root: Path, name: str) -> SourceEntry | str | None:
    """What a ``source`` entry names, the way coverage.py's ``--source`` takes it: a folder (or file) relative
    to ``root``, else an importable package or module. None when it names nothing; the reason (a string) when
    it names a copy that is not the project's (an installed copy in ``site-packages``, another checkout while
    the project has its own ``src/NAME``): the tests would import and measure that copy.

    A name is looked up where the test process (``python -m pytest`` in ``root``) imports it from: the
    entries of the project's pytest ``pythonpath``, ``root`` itself, then what this interpreter (the one
    that runs the tests) finds on its path and import hooks (an editable install, a ``.pth`` file), and
    last ``src/`` (a src layout that a conftest puts on the path). The project is never imported.
    """
    base = root / name
    if exists(base):
        return SourceEntry(name, name, "folder" if base.is_dir() else "file", name)
    if not _MODULE_NAME.match(name):
        return None
    parts = name.split(".")
    places: list[tuple[Path, str]] = [(folder, "pythonpath") for folder in _pytest_pythonpath(root)]
    places.append((root, "root"))
    for folder, via in places:
        hit = _in_folder(folder, parts)
        if hit is not None:
            return _entry(root, name, hit, via)
    for location in _import_locations(parts[0], root):
        hit = _in_folder(location.parent, [location.name, *parts[1:]]) if location.is_dir() else None
        if hit is None and location.is_file() and len(parts) == 1:
            hit = ("module", location)
        if hit is None:
            continue
        own = _in_folder(root / "src", parts)
        installed = any(part in _INSTALLED_DIRS for part in hit[1].parts)
        if installed or (own is not None and _outside(hit[1], root)):
            # the tests would run that copy: its numbers are not the project's, and its paths not under root
            what = "an installed copy" if installed else "another copy"
            project = f" ({_relative(own[1], root).as_posix()})" if own is not None else ""
            return (
                f"source: {cut(name)} is imported from {what}, {hit[1]}, not from the project{project}: "
                "install the project editable (pip install -e .) so that its tests import its own files"
            )
        return _entry(root, name, hit, "installed")
    hit = _in_folder(root / "src", parts)
    return _entry(root, name, hit, "src") if hit is not None else None


def _entry(root: Path, name: str, hit: tuple[str, Path], via: str) -> SourceEntry:
    kind, path = hit
    rel = _relative(path, root).as_posix()
    # coverage.py measures a package as its folder, so the files measured are the ones checked here; a module
    # is given by its name (coverage.py's --source takes no files)
    return SourceEntry(name, rel, kind, rel if kind == "package" else name, via)


def _outside(path: Path, root: Path) -> bool:
    return _relative(path, root).parts[:1] == ("..",)


def _in_folder(folder: Path, parts: list[str]) -> tuple[str, Path] | None:
    """``folder/a/b`` as a package folder or ``folder/a/b.py`` as a module, for the dotted name ``a.b``."""
    package = folder.joinpath(*parts)
    if exists(package) and package.is_dir():
        return ("package", package)
    module = folder.joinpath(*parts[:-1], parts[-1] + ".py")
    if exists(module) and module.is_file():
        return ("module", module)
    return None


def _pytest_pythonpath(root: Path) -> list[Path]:
    from mcptest.pytest_ini import find_settings

    try:
        return find_settings(root).paths("pythonpath")
    except ConfigError:
        return []  # pytest itself reports a settings file it cannot read


def _import_locations(top: str, root: Path) -> list[Path]:
    """Where this interpreter would import the top-level module ``top`` from, without importing anything.

    The path entries of this process (PYTHONPATH, site-packages, ``.pth`` files) but not the working folder that
    ``python -m mcptest`` put first (the tests run in ``root``), then the import hooks other than the standard
    ones (setuptools' editable installs add one).
    """
    import importlib.machinery
    import sys

    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        here = ""
    path = [
        p
        for i, p in enumerate(sys.path)
        if p and not (i == 0 and os.path.realpath(p) == here) and os.path.realpath(p) != os.path.realpath(root)
    ]
    standard = (importlib.machinery.PathFinder, importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter)
    specs = []
    with contextlib.suppress(Exception):  # a broken path entry or hook never stops the config from loading
        specs.append(importlib.machinery.PathFinder.find_spec(top, path))
    for finder in list(sys.meta_path):
        if finder in standard or not hasattr(finder, "find_spec"):
            continue
        with contextlib.suppress(Exception):
            specs.append(finder.find_spec(top, None))
    locations: list[Path] = []
    for spec in specs:
        if spec is None:
            continue
        if spec.submodule_search_locations and spec.origin is None:
            # a namespace package (any folder of that name on the path): only the project's own folders count
            locations += [Path(p) for p in spec.submodule_search_locations if not _outside(Path(p), root)]
        elif spec.submodule_search_locations:
            locations += [Path(p) for p in spec.submodule_search_locations]
        elif spec.origin and spec.origin.endswith(".py"):
            locations.append(Path(spec.origin))
    return locations


def top_level_packages(root: Path, sources: list[str]) -> set[str]:
    """The top-level import names whose code the ``source`` entries measure (for pytest-plugin detection).

    A dotted name gives its first part; a folder or file inside a package gives that package's top-level
    name (found by walking up the ``__init__.py`` files); a folder that is no package (``src``, a plain
    folder of modules) gives the packages and modules directly inside it.
    """
    names: set[str] = set()
    for source in sources:
        base = root / source
        if not exists(base):
            if _MODULE_NAME.match(source):
                names.add(source.split(".")[0])
            continue
        top = base.resolve() if base.is_dir() else base.resolve().parent
        if not (top / "__init__.py").is_file():
            if base.is_file():
                names.add(base.stem)  # a module outside any package
                continue
            names.add(base.resolve().name)  # a namespace package, or a plain folder such as src
            for child in _children(base):
                if child.is_dir() and child.name.isidentifier():
                    names.add(child.name)
                elif child.suffix == ".py" and child.stem.isidentifier():
                    names.add(child.stem)
            continue
        while (top.parent / "__init__.py").is_file() and top.parent != top:
            top = top.parent
        names.add(top.name)
    return names


def _children(folder: Path) -> list[Path]:
    try:
        return [c for c in folder.iterdir() if not c.name.startswith((".", "__pycache__"))]
    except OSError:
        return []


def source_files(root: Path, sources: list[str]) -> list[str]:
    """The .py files (relative posix paths) that the ``source`` entries name: folders, files or packages."""
    found: set[str] = set()
    for source in sources:
        entry = resolve_source(root, source)
        if not isinstance(entry, SourceEntry):
            continue
        base = root / entry.path
        if base.is_file() and base.suffix == ".py":
            found.add(_relative(base, root).as_posix())
        elif base.is_dir():
            for file in base.rglob("*.py"):
                rel = _relative(file, root)
                if any(
                    (part.startswith(".") and part != "..") or part in ("__pycache__", "node_modules")
                    for part in rel.parts
                ):
                    continue
                found.add(rel.as_posix())
    return sorted(found)
