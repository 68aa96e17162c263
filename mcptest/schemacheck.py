"""A fast check of parsed JSON against the run record's JSON Schema, compiled once into plain functions.

jsonschema takes about 0.9 s for a record of 2,500 tests (a descent through validator objects for every
value); the compiled check takes a few hundredths of a second. It knows exactly the keywords that
``mcptest.schema_gen`` writes (``type``, ``enum``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``anyOf``, ``$ref``) and refuses to compile a schema with any other, so a schema that grows a
keyword cannot be checked less than it says. It is as strict as jsonschema or stricter: ``1.0`` is not an
``integer`` here (``RunRecord.from_dict`` refuses it too), and ``True`` is never a number.
``tests/test_schemacheck.py`` holds it against jsonschema on valid and broken records.

    check = compile_schema(schema)
    problem = check(data)   # None, or "suites[0].tests[3].outcome: 'weird' is not one of ..."
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Returns None when the value fits, else where (a dotted path) and why it does not.
Check = Callable[[Any, str], "str | None"]

#: Keywords that only document (never constrain) a value.
_NOTES = frozenset({"description", "title", "$schema", "$id", "$defs"})
_KNOWN = _NOTES | {"type", "enum", "properties", "required", "additionalProperties", "items", "anyOf", "$ref"}


class SchemaCompileError(ValueError):
    """The schema uses a keyword or form this checker does not implement."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


def _where(at: str) -> str:
    return at or "the record"


def _key(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _accept(value: Any, at: str) -> str | None:
    return None


def _simple(name: str) -> Check:
    # exact types: bool is a subclass of int, and a float subclass marks a non-finite number when parsing
    kinds: tuple[type, ...] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
        "null": (type(None),),
    }[name]

    def check(value: Any, at: str) -> str | None:
        if type(value) in kinds:
            return None
        return f"{_where(at)}: {_show(value)} is not of type {name!r}"

    return check


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], str | None]:
    """Compile ``schema`` (with its ``$defs``) into a function: parsed JSON -> None or the first problem."""
    defs = schema.get("$defs", {})
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        prefix = "#/$defs/"
        if not target.startswith(prefix) or target[len(prefix) :] not in defs:
            raise SchemaCompileError(f"unsupported $ref {target!r}")
        name = target[len(prefix) :]
        if name not in compiled:
            compiled[name] = _accept  # placeholder while a recursive definition compiles
            compiled[name] = build(defs[name])

        def check(value: Any, at: str) -> str | None:
            return compiled[name](value, at)

        return check

    def build(node: Any) -> Check:
        if not isinstance(node, dict):
            raise SchemaCompileError(f"a schema must be an object, not {_show(node)}")
        unknown = set(node) - _KNOWN
        if unknown:
            raise SchemaCompileError(f"unsupported schema keyword(s) {', '.join(sorted(unknown))}")
        return _part(node, build, ref) or _accept

    check = build(schema)

    def run(data: Any) -> str | None:
        return check(data, "")

    return run


def _part(node: dict[str, Any], build: Callable[[Any], Check], ref: Callable[[str], Check]) -> Check | None:
    """The one constraint of a node; schema_gen never combines two on one node, so neither does this."""
    constraints = [k for k in ("$ref", "anyOf", "enum", "type") if k in node]
    if len(constraints) > 1:
        raise SchemaCompileError(f"a node with both {' and '.join(constraints)} is not supported")
    if "$ref" in node:
        return ref(node["$ref"])
    if "anyOf" in node:
        return _any_of([build(alt) for alt in node["anyOf"]])
    if "enum" in node:
        return _enum(list(node["enum"]))
    kind = node.get("type")
    if kind is None:
        if set(node) - _NOTES:
            raise SchemaCompileError(f"keywords {', '.join(sorted(set(node) - _NOTES))} without a type")
        return None
    if kind == "object":
        return _object(node, build)
    if kind == "array":
        if "items" not in node:
            raise SchemaCompileError("an array without items is not supported")
        return _array(build(node["items"]))
    if kind in ("string", "integer", "number", "boolean", "null"):
        if set(node) - _NOTES - {"type"}:
            raise SchemaCompileError(f"keywords {', '.join(sorted(set(node) - _NOTES - {'type'}))} on a {kind}")
        return _simple(kind)
    raise SchemaCompileError(f"unsupported type {_show(kind)}")


def _any_of(alternatives: list[Check]) -> Check:
    def check(value: Any, at: str) -> str | None:
        first = None
        for alternative in alternatives:
            problem = alternative(value, at)
            if problem is None:
                return None
            first = first or problem
        return first

    return check


def _enum(allowed: list[Any]) -> Check:
    pairs = [(type(v), v) for v in allowed]

    def check(value: Any, at: str) -> str | None:
        if any(type(value) is kind and value == v for kind, v in pairs):
            return None
        return f"{_where(at)}: {_show(value)} is not one of {_show(allowed)}"

    return check


def _object(node: dict[str, Any], build: Callable[[Any], Check]) -> Check:
    properties = {name: build(sub) for name, sub in node.get("properties", {}).items()}
    required = list(node.get("required", []))
    extra = node.get("additionalProperties", True)
    if extra is not True and extra is not False and not isinstance(extra, dict):
        raise SchemaCompileError(f"additionalProperties {_show(extra)} is not supported")
    extra_check = build(extra) if isinstance(extra, dict) else None

    def check(value: Any, at: str) -> str | None:
        if type(value) is not dict:
            return f"{_where(at)}: {_show(value)} is not of type 'object'"
        for name in required:
            if name not in value:
                return f"{_where(at)}: {name!r} is a required property"
        for name, item in value.items():
            sub = properties.get(name)
            if sub is None:
                if extra is False:
                    return f"{_where(at)}: additional property {_show(name)} is not allowed"
                sub = extra_check
                if sub is None:
                    continue
            problem = sub(item, _key(at, str(name)))
            if problem is not None:
                return problem
        return None

    return check


def _array(item_check: Check) -> Check:
    def check(value: Any, at: str) -> str | None:
        if type(value) is not list:
            return f"{_where(at)}: {_show(value)} is not of type 'array'"
        for i, item in enumerate(value):
            problem = item_check(item, f"{at}[{i}]")
            if problem is not None:
                return problem
        return None

    return check
