"""Find, read and validate mcptest.yaml; every error names file:line, the dotted key, the value and the expectation.

The parts: ``yamlfile`` (YAML with the line of every key), ``messages`` (keys and values as messages show
them), ``checks`` (the primitive checks) and ``validator`` (the sections), ``sources`` (what a ``source``
entry names, as coverage.py finds it), ``durations`` and ``dump`` (the resolved config as data).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mcptest.config.dump import as_written, config_to_dict
from mcptest.config.durations import parse_duration
from mcptest.config.messages import CUT, cut, cut_text, dotted, show
from mcptest.config.sources import VIA, resolve_source, source_files, top_level_packages
from mcptest.config.validator import TEST_TYPES, Validator
from mcptest.config.yamlfile import MAX_CHARACTERS, MAX_VALUES, compose
from mcptest.config_model import Config
from mcptest.errors import ConfigError

__all__ = [
    "BRIDGE_STATES",
    "CONFIG_NAME",
    "CUT",
    "MAX_CHARACTERS",
    "MAX_VALUES",
    "TEST_TYPES",
    "VIA",
    "as_written",
    "config_to_dict",
    "cut",
    "cut_text",
    "dotted",
    "find_config",
    "load_config",
    "parse_config",
    "parse_duration",
    "resolve_source",
    "show",
    "source_files",
    "top_level_packages",
]

CONFIG_NAME = "mcptest.yaml"
BRIDGE_STATES = ("ok", "degraded", "error", "unreachable")


def find_config(start: Path | None = None) -> Path:
    """The nearest mcptest.yaml in ``start`` (default: the current directory) or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no {CONFIG_NAME} in {here} or its parents; create one with 'mcptest init' or pass -c PATH")


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file (``None``: find it from the current directory)."""
    path = find_config() if path is None else path
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"config path {path} is a folder, not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"byte {raw[exc.start]:#04x} is not valid UTF-8; save the file as UTF-8", file=_display(path), line=line
        ) from None
    return parse_config(text, path, environ=os.environ if environ is None else environ)


def parse_config(text: str, path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Validate config ``text`` as if read from ``path`` (paths in it are relative to its folder)."""
    display = _display(path)
    data, lines = compose(text, display)
    v = Validator(display, lines, path.resolve().parent, os.environ if environ is None else environ)
    return v.config(data, path)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
