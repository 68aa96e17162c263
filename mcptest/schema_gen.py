"""Derive the JSON Schema of the run record from the dataclasses (the shipped file is checked against it)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Union

from mcptest import model

#: Closed sets of values, by dataclass field.
ENUMS: dict[tuple[str, str], list[Any]] = {
    ("TestCase", "outcome"): list(model.OUTCOMES),
    ("Attempt", "outcome"): list(model.OUTCOMES),
    ("SubTest", "outcome"): list(model.OUTCOMES),
    ("SuiteResult", "status"): ["passing", "failing", "incomplete", "not-run"],
    ("SuiteResult", "test_type"): ["unit", "integration", "e2e", "custom"],
    ("RunRecord", "status"): ["passed", "failed", "incomplete"],
    ("RunRecord", "kind"): ["mcptest-run"],
    ("BridgeProbe", "status"): ["ok", "degraded", "error", "unreachable", "not-checked"],
    ("Verdict", "metric"): ["line", "branch", "duration", "count", "status"],
    ("Meta", "schema_version"): [model.SCHEMA_VERSION],
    ("Bisection", "verdict"): ["fails-after", "depends-on", "fails-alone", "not-reproduced", "error"],
}


def _type(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _type(args[0], defs) if len(args) == 1 else {"anyOf": [_type(a, defs) for a in args]}
        return {"anyOf": [inner, {"type": "null"}]}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        _define(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if origin is list:
        return {"type": "array", "items": _type(typing.get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(typing.get_args(tp)[1], defs)}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is Any:
        return {}
    raise TypeError(f"no schema for {tp!r}")


def _define(cls: type, defs: dict[str, Any]) -> None:
    if cls.__name__ in defs:
        return
    defs[cls.__name__] = {}  # placeholder against recursion
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        prop = _type(hints[f.name], defs)
        enum = ENUMS.get((cls.__name__, f.name))
        if enum is not None:
            prop = {"enum": enum} if "anyOf" not in prop else {"anyOf": [{"enum": enum}, {"type": "null"}]}
        props[f.name] = prop
    if cls is model.Counts:
        props["total"] = {"type": "integer"}
    doc = (cls.__doc__ or "").strip().splitlines()
    defs[cls.__name__] = {
        "type": "object",
        "description": doc[0] if doc else cls.__name__,
        "properties": props,
        "required": [f.name for f in dataclasses.fields(cls) if not f.metadata.get("added_later")],
        "additionalProperties": False,
    }


def schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    _define(model.RunRecord, defs)
    root = defs.pop("RunRecord")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mcptest.invalid/schema/run-record.schema.json",
        "title": "mcptest run record",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def render() -> str:
    return json.dumps(schema(), indent=2) + "\n"


if __name__ == "__main__":  # python -m mcptest.schema_gen > mcptest/schema/run-record.schema.json
    print(render(), end="")
