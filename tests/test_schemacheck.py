"""The compiled schema check (``mcptest.schemacheck``) judges records as jsonschema does, only faster."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mcptest.history import History, schema_problem
from mcptest.history.records import _schema
from mcptest.model import Attempt, AuditFinding
from mcptest.schemacheck import SchemaCompileError, compile_schema
from tests.conftest_report import make_history, make_record

tests_data = Path(__file__).parent / "data"

#: Replacement values tried at every place of a record: each is wrong somewhere and right somewhere else.
REPLACEMENTS: list[Any] = [None, True, 3, 2.5, "passed", [], {}]


@functools.lru_cache(maxsize=1)
def reference() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(_schema())


def reference_accepts(data: Any) -> bool:
    return reference().is_valid(data)


def places(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key of a parsed record and the first item of every list (the others have the same schema)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*path, key)
            yield from places(value, (*path, key))
    elif isinstance(data, list) and data:
        yield (*path, 0)
        yield from places(data[0], (*path, 0))


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def record_data() -> dict[str, Any]:
    """A record with a value at every optional place: attempts, covered lines, audit findings, a probe."""
    record = make_record()
    first = record.suites[0].tests[0]
    first.attempts = [Attempt("failed", 0.2, "boom"), Attempt("passed", 0.1)]
    first.lines_covered = {"whatsapp_mcp/routing.py": [1, 2, 3]}
    first.flaky = True
    record.audit = [AuditFinding("never-fails", "suites/unit/test_x.py", 3, "assert True", "test_x")]
    assert record.bridges and record.coverage is not None and record.coverage.files and record.verdicts
    data: dict[str, Any] = json.loads(json.dumps(record.to_dict()))
    return data


def test_valid_records_pass_both_checks() -> None:
    for record in [make_record(), *make_history(3)]:
        data = json.loads(json.dumps(record.to_dict()))
        assert reference_accepts(data)
        assert schema_problem(data) is None


def first_items(data: Any) -> Any:
    """The record with each list cut to its first item: the same schema places, a far smaller record."""
    if isinstance(data, dict):
        return {key: first_items(value) for key, value in data.items()}
    if isinstance(data, list):
        return [first_items(item) for item in data[:1]]
    return data


def test_every_replacement_and_removal_is_judged_as_jsonschema_judges_it() -> None:
    data = first_items(record_data())
    paths = list(places(data))
    assert len(paths) > 150  # the record reaches every kind of value: suites, tests, files, verdicts, bridges
    disagreements, rejected, tried = [], 0, 0

    def judge(label: str) -> None:
        nonlocal rejected, tried
        fast_ok = schema_problem(data) is None
        tried += 1
        rejected += not fast_ok
        if fast_ok != reference_accepts(data):
            disagreements.append(label)

    for path in paths:  # each change is made in place and undone, so the record stays whole for the next
        parent, key = at(data, path[:-1]), path[-1]
        original = parent[key]
        for value in REPLACEMENTS:
            parent[key] = value
            judge(f"{path} = {value!r}")
        parent[key] = original
        if isinstance(parent, dict):
            del parent[key]
            judge(f"del {path}")
            parent[key] = original
            parent["unexpected_key"] = 1
            judge(f"{path[:-1]} + unexpected_key")
            del parent["unexpected_key"]
    assert data == first_items(record_data())  # every change was undone
    assert disagreements == []
    assert rejected > tried // 2  # most changes break the record, so both checks had to reject them


def test_the_problem_names_the_place_and_the_value() -> None:
    data = record_data()
    data["suites"][0]["tests"][1]["outcome"] = "weird"
    problem = schema_problem(data)
    assert problem is not None
    assert problem.startswith("suites[0].tests[1].outcome: 'weird' is not one of ['passed', 'failed'")
    del data["suites"][0]["tests"][1]["outcome"]
    assert schema_problem(data) == "suites[0].tests[1]: 'outcome' is a required property"
    assert schema_problem([]) == "the record: [] is not of type 'object'"


def test_it_is_stricter_than_jsonschema_only_on_integral_floats_and_non_finite_numbers() -> None:
    data = record_data()
    data["exit_code"] = 1.0  # an integer to JSON Schema; RunRecord.from_dict refuses it too
    assert reference_accepts(data)
    assert schema_problem(data) == "exit_code: 1.0 is not of type 'integer'"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "minimum": 0},
        {"type": ["string", "null"]},
        {"$ref": "#/$defs/Missing", "$defs": {}},
        {"$ref": "http://elsewhere/schema.json"},
        {"type": "array"},
        {"enum": [1], "type": "integer"},
        {"pattern": "^a"},
        {"type": "object", "additionalProperties": 3},
    ],
)
def test_a_schema_it_cannot_check_fully_is_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(SchemaCompileError):
        compile_schema(schema)


def test_recursive_definitions_compile_and_check() -> None:
    schema = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                "required": ["kids"],
                "additionalProperties": False,
            }
        },
    }
    check = compile_schema(schema)
    assert check({"kids": [{"kids": []}, {"kids": [{"kids": []}]}]}) is None
    assert check({"kids": [{"kids": [{}]}]}) == "kids[0].kids[0]: 'kids' is a required property"


def test_a_baseline_written_by_the_first_release_still_reads(tmp_path: Path) -> None:
    """Fields added since (per-test order, waited_s, bisections) are not required: an upgrade keeps the baseline."""
    old = tests_data / "record-written-by-0.1.0-dc719b0.json"
    (tmp_path / "baseline.json").write_bytes(old.read_bytes())
    history = History(tmp_path)
    baseline = history.baseline()
    assert history.warnings == []
    assert baseline is not None and baseline.id == json.loads(old.read_text())["id"]
    assert baseline.bisections == [] and all(t.order is None for t in baseline.all_tests())
    assert all(p.waited_s is None for p in baseline.bridges) and baseline.bridges


def test_only_fields_marked_added_later_are_optional() -> None:
    optional = {(name, key) for name, node in _schema()["$defs"].items()
                for key in node["properties"] if key not in node["required"]}
    assert optional == {("TestCase", "order"), ("Attempt", "order"), ("BridgeProbe", "waited_s"),
                        ("FileCoverage", "executed_branches"), ("FileCoverage", "suites"),
                        ("Counts", "total")}  # total: derived, written but never read
    assert "bisections" not in _schema()["required"] and "suites" in _schema()["required"]
    assert "patch" not in _schema()["required"] and "shard" not in _schema()["required"]
