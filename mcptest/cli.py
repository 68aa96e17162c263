"""The mcptest command line (the only module that knows typer and rich)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("mcptest: the command line is not written yet")
