"""docs/faults.md is generated from tests/fault_table.py, and every row names a test that exists."""

from __future__ import annotations

import ast
from pathlib import Path

from fault_table import ROWS, render

ROOT = Path(__file__).resolve().parent.parent


def test_fault_document_matches_the_table() -> None:
    assert (ROOT / "docs" / "faults.md").read_text(encoding="utf-8") == render()


def test_every_fault_row_names_an_existing_test_and_a_unique_case() -> None:
    assert len({row.case for row in ROWS}) == len(ROWS)
    for row in ROWS:
        file, _, name = row.test.partition("::")
        tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name.split("[")[0] in names, row
        assert row.exit != 70, row
