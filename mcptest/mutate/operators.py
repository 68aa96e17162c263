"""The mutation operators: what small deliberate bug each kind of node can be given.

``compare`` flips a comparison (``<`` -> ``>=``), ``negate`` negates or un-negates a condition,
``boolop`` swaps ``and``/``or``, ``constant`` changes a literal, ``call`` removes a call made as a
statement, ``return`` swaps a returned value for None (or a returned bool for its opposite). Each
candidate is a text edit of the source plus the same change on the tree, so that the caller can check
the edit does exactly what was meant. Docstrings, annotations, f-strings and the message strings of
logging calls are left alone; the other changes inside a logging call (``log.info(...)`` removed, a
constant among its arguments) are marked ``logging``: they change what is logged, rarely what the code
does, and are skipped or scored apart by the runner.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

OPERATORS = ("compare", "negate", "boolop", "constant", "call", "return")

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}
_OP_TEXT: dict[type[ast.cmpop], str] = {
    ast.Lt: "<", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_OP_PATTERN: dict[type[ast.cmpop], str] = {
    ast.Lt: r"<(?!=)", ast.GtE: r">=", ast.Gt: r">(?!=)", ast.LtE: r"<=", ast.Eq: r"==", ast.NotEq: r"!=",
    ast.Is: r"\bis\b(?!\s+not\b)", ast.IsNot: r"\bis\s+not\b", ast.In: r"(?<!not )\bin\b",
    ast.NotIn: r"\bnot\s+in\b",
}
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})

Edit = tuple[int, int, str]  # (start, end, text) as character offsets into the source


@dataclass
class Candidate:
    operator: str
    description: str
    start: int  # character offset of the first edit
    stmt: ast.stmt  # the innermost statement holding the change; its first line is what coverage.py reports
    edits: list[Edit]
    node: ast.AST  # the node that changes
    change: Callable[[Any], None]  # the same change on that node of a copied tree, to check the text edit
    logging: bool = False  # the change is inside a logging call (log.info(...)): scored apart


class SourceText:
    """A file's text with ast positions (1-based lines, UTF-8 byte columns) turned into character offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)  # the breaks ast counts, kept
        self.starts: list[int] = []
        pos = 0
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line)

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1


# -- what is left alone


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _untouchable(tree: ast.AST) -> set[int]:
    """Nodes inside annotations and f-strings: changing them changes nothing or cannot be located exactly."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            roots.append(node)
    return {id(n) for root in roots for n in ast.walk(root)}


def _log_messages(tree: ast.AST) -> set[int]:
    """String arguments of logging calls (``log.warning("...")``): emptying them changes no behaviour."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_METHODS:
            found |= {id(arg) for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return found


def _logging_call(node: ast.AST) -> bool:
    """``log.info(...)``, ``self.logger.warning(...)``, ``logging.debug(...)``: a logging method on a logger."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    return node.func.attr in _LOG_METHODS and "log" in ast.unparse(node.func.value).lower()


def _in_logging(tree: ast.AST) -> set[int]:
    """Nodes inside a logging call, and the statements that are only such a call."""
    found: set[int] = set()
    for node in ast.walk(tree):
        call = node.value if isinstance(node, ast.Expr) else node
        if isinstance(call, ast.Await):
            call = call.value
        if _logging_call(call):
            found |= {id(n) for n in ast.walk(node)}
    return found


def _statements(tree: ast.Module) -> dict[int, ast.stmt]:
    """id(node) -> the innermost statement that holds it (a statement maps to itself)."""
    out: dict[int, ast.stmt] = {}

    def visit(node: ast.AST, stmt: ast.stmt) -> None:
        if isinstance(node, ast.stmt):
            stmt = node
        out[id(node)] = stmt
        for child in ast.iter_child_nodes(node):
            visit(child, stmt)

    for top in tree.body:
        visit(top, top)
    return out


# -- the changes made on a tree


def _set_cmp_op(node: ast.Compare, i: int, op: type[ast.cmpop]) -> None:
    node.ops[i] = op()


def _negate(node: ast.If | ast.While | ast.IfExp) -> None:
    node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)


def _unnegate(node: ast.If | ast.While | ast.IfExp) -> None:
    assert isinstance(node.test, ast.UnaryOp)
    node.test = node.test.operand


def _set_value(node: ast.AST, value: Any) -> None:
    if isinstance(node, ast.Constant):
        node.value, node.kind = value, None
    else:  # Expr, Return: the whole value becomes a literal
        node.value = ast.Constant(value=value)  # type: ignore[attr-defined]


def _set_boolop(node: ast.BoolOp, op: type[ast.boolop]) -> None:
    node.op = op()


def mutated_constant(value: Any) -> tuple[Any, str] | None:
    """The replacement of a literal and its source text; None for literals that are left alone."""
    if isinstance(value, bool):
        return (not value), repr(not value)
    if isinstance(value, int):
        new = 1 if value == 0 else 0 if value == 1 else value + 1
        return new, repr(new)
    if isinstance(value, float):
        new_f = 1.0 if value == 0.0 else 0.0 if value == 1.0 else value + 1.0
        return new_f, repr(new_f)
    if isinstance(value, str) and value:
        return "", '""'
    if isinstance(value, bytes) and value:
        return b"", 'b""'
    return None


def short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# -- one operator per kind of node; each yields (operator, description, edits, change)

_Change = tuple[str, str, list[Edit], Callable[[Any], None]]


def _compare(src: SourceText, node: ast.Compare) -> Iterator[_Change]:
    operands = [node.left, *node.comparators]
    for i, op in enumerate(node.ops):
        gap_start, gap_end = src.span(operands[i])[1], src.span(operands[i + 1])[0]
        match = re.search(_OP_PATTERN[type(op)], src.text[gap_start:gap_end])
        if match is None:
            continue
        new_op = _FLIP[type(op)]
        yield ("compare", f"{_OP_TEXT[type(op)]} -> {_OP_TEXT[new_op]}",
               [(gap_start + match.start(), gap_start + match.end(), _OP_TEXT[new_op])],
               functools.partial(_set_cmp_op, i=i, op=new_op))


def _condition(src: SourceText, node: ast.If | ast.While | ast.IfExp) -> Iterator[_Change]:
    test = node.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        return  # the same as flipping the comparison
    start, end = src.span(test)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        yield "negate", "not removed", [(start, end, "(" + src.segment(test.operand) + ")")], _unnegate
    else:
        yield "negate", "condition negated", [(start, end, "not (" + src.segment(test) + ")")], _negate


def _boolop(src: SourceText, node: ast.BoolOp) -> Iterator[_Change]:
    old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
    edits = []
    for left, right in itertools.pairwise(node.values):
        gap_start, gap_end = src.span(left)[1], src.span(right)[0]
        match = re.search(rf"\b{old}\b", src.text[gap_start:gap_end])
        if match is None:
            return
        edits.append((gap_start + match.start(), gap_start + match.end(), new))
    yield "boolop", f"{old} -> {new}", edits, functools.partial(_set_boolop, op=ast.Or if old == "and" else ast.And)


def _constant(src: SourceText, node: ast.Constant) -> Iterator[_Change]:
    changed = mutated_constant(node.value)
    if changed is not None:
        value, text = changed
        start, end = src.span(node)
        yield ("constant", f"{short(src.segment(node))} -> {text}", [(start, end, text)],
               functools.partial(_set_value, value=value))


def _call(src: SourceText, node: ast.Expr) -> Iterator[_Change]:
    value = node.value
    if isinstance(value, ast.Call) or (isinstance(value, ast.Await) and isinstance(value.value, ast.Call)):
        start, end = src.span(node)
        yield "call", "call removed", [(start, end, "None")], functools.partial(_set_value, value=None)


def _return(src: SourceText, node: ast.Return) -> Iterator[_Change]:
    value_node = node.value
    if value_node is None or (isinstance(value_node, ast.Constant) and value_node.value is None):
        return
    new_value: Any = None
    if isinstance(value_node, ast.Constant) and isinstance(value_node.value, bool):
        new_value = not value_node.value
    start, end = src.span(value_node)
    yield ("return", f"return {short(src.segment(value_node))} -> return {new_value!r}",
           [(start, end, repr(new_value))], functools.partial(_set_value, value=new_value))


def _changes(src: SourceText, node: ast.AST, docstrings: set[int]) -> Iterator[_Change]:
    if isinstance(node, ast.Compare):
        yield from _compare(src, node)
    elif isinstance(node, ast.If | ast.While | ast.IfExp):
        yield from _condition(src, node)
    elif isinstance(node, ast.BoolOp):
        yield from _boolop(src, node)
    elif isinstance(node, ast.Constant) and id(node) not in docstrings:
        yield from _constant(src, node)
    elif isinstance(node, ast.Expr):
        yield from _call(src, node)
    elif isinstance(node, ast.Return):
        yield from _return(src, node)


def candidates(src: SourceText, tree: ast.Module) -> Iterator[Candidate]:
    """Every mutation the operators know for ``tree``."""
    docstrings = _docstrings(tree) | _log_messages(tree)
    skip = _untouchable(tree)
    stmt_of = _statements(tree)
    logging = _in_logging(tree)
    for node in ast.walk(tree):
        stmt = stmt_of.get(id(node))
        if id(node) in skip or stmt is None:  # stmt is None: the module itself
            continue
        for operator, description, edits, change in _changes(src, node, docstrings):
            yield Candidate(operator, description, min(e[0] for e in edits), stmt, edits, node, change,
                            logging=id(node) in logging)
