"""A file page's source: each line with its state (run, missed, partial, excluded), the branches never taken,
the pygments highlighting, and the functions and classes with the numbers of their own lines.

The source file is read from the project root when the report is rendered; the numbers come from the record.
"""

from __future__ import annotations

import ast
import functools
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pygments.lexers import get_lexer_for_filename
from pygments.token import Token, _TokenType
from pygments.util import ClassNotFound

from mcptest.history import files
from mcptest.model import FileCoverage, Totals

#: Larger sources are shown without highlighting: a lexer's time grows with the text, the page's worth does not.
HIGHLIGHT_MAX_CHARS = 2_000_000
#: Token types shown in their own colour, most specific first: (pygments type, our CSS class).
TOKEN_CLASSES: tuple[tuple[_TokenType, str], ...] = (
    (Token.Comment, "c"),
    (Token.Literal.String.Doc, "sd"),
    (Token.Literal.String, "s"),
    (Token.Literal.Number, "m"),
    (Token.Keyword.Constant, "kc"),
    (Token.Keyword, "k"),
    (Token.Operator.Word, "k"),
    (Token.Name.Builtin, "nb"),
    (Token.Name.Function, "nf"),
    (Token.Name.Class, "nf"),
    (Token.Name.Decorator, "nd"),
    (Token.Name.Exception, "nb"),
)


@dataclass
class SourceLine:
    number: int
    text: str
    state: str  # run | mis | exc | par | "" (not a statement)
    branches: list[str] = field(default_factory=list)  # "47", "exit": destinations never taken
    #: The line as highlighted pieces (CSS class or "", text) that join to ``text``; None: shown plain.
    tokens: list[tuple[str, str]] | None = None
    #: With ``--contexts``: node ids of the tests that covered the line, in the run's order.
    tests: list[str] = field(default_factory=list)
    #: With several suites: the letters of the suite types that executed the line ("UI": unit and integration).
    suites: str = ""


@dataclass
class MissingBranch:
    raw: str
    source: int | None
    target: str


@dataclass
class Region:
    """A function or class of a Python file, with the numbers of its own lines (nested ones have theirs)."""

    name: str  # qualified: Class.method, outer.inner
    kind: str  # function | class
    line: int  # where it is defined
    totals: Totals  # statements and covered lines of its own lines; no branch totals (the record has none per line)
    missing: list[int]
    missing_branches: int  # arcs never taken from its own lines


@dataclass
class SourceView:
    lines: list[SourceLine]
    problem: str | None  # why the source is not shown, when it is not
    regions: list[Region] = field(default_factory=list)


def parse_branch(raw: str) -> MissingBranch:
    """``"45->47"`` -> source 45, target ``47``; a negative target is an exit from the function."""
    src, sep, dst = raw.partition("->")
    try:
        source = int(src) if sep else None
        target = int(dst)
    except ValueError:
        return MissingBranch(raw, None, dst or raw)
    return MissingBranch(raw, source, "exit" if target < 0 else str(target))


def source_view(f: FileCoverage, root: Path | None) -> SourceView:
    """The file's lines with their state, read from the project root now; a reason when that fails."""
    if root is None:
        return SourceView([], "The source was not read: no project root was given to the report.")
    base = root.resolve()
    path = (base / f.path).resolve()
    if not path.is_relative_to(base):
        return SourceView([], f"The source was not read: {f.path} is outside the project root.")
    mode = files.mode_of(path)
    if mode is not None and not stat.S_ISREG(mode):  # a FIFO would block the report forever, a device worse
        return SourceView([], f"The source was not read: {path} is {files.kind_of(mode)}, not a regular file.")
    try:
        text = files.read_regular(path).decode("utf-8", "replace")
    except FileNotFoundError:
        return SourceView([], f"The source file is missing: {path} does not exist (any more).")
    except OSError as exc:
        return SourceView([], f"The source file could not be read: {path}: {exc.strerror or exc}.")
    executed, missing = set(f.executed_lines), set(f.missing_lines)
    excluded, partial = set(f.excluded_lines), set(f.partial_lines)
    branches: dict[int, list[str]] = {}
    for b in map(parse_branch, f.missing_branches):
        if b.source is not None:
            branches.setdefault(b.source, []).append(b.target)
    lines = []
    texts = text.splitlines()
    highlighted = highlight(f.path, texts)
    for n, line in enumerate(texts, start=1):
        if n in missing:
            state = "mis"
        elif n in partial or n in branches:
            state = "par"
        elif n in executed:
            state = "run"
        elif n in excluded:
            state = "exc"
        else:
            state = ""
        tokens = highlighted[n - 1] if highlighted else None
        # a line that never ran is missing; its branches are not also listed as "not taken"
        lines.append(SourceLine(n, line, state, branches.get(n, []) if state != "mis" else [], tokens))
    return SourceView(lines, None, regions(f, text) if f.path.endswith((".py", ".pyw")) else [])


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def regions(f: FileCoverage, text: str) -> list[Region]:
    """The functions and classes of a Python source, in the order they are defined, with their own numbers.

    A region's own lines run from its first body statement to its end, less the bodies of the functions
    and classes defined in it; its ``def``/``class`` line and decorators ran when the enclosing code ran,
    so they count there. One without a measured line of its own (an ``@overload`` stub) is left out;
    nothing is shown for a source that does not parse.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    statements = set(f.executed_lines) | set(f.missing_lines)
    executed, missing = set(f.executed_lines), set(f.missing_lines)
    arcs: dict[int, int] = {}
    for b in map(parse_branch, f.missing_branches):
        if b.source is not None:
            arcs[b.source] = arcs.get(b.source, 0) + 1
    found: list[tuple[int, str, str, set[int]]] = []

    def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[int]:
        return set(range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1))

    def visit(node: ast.AST, prefix: str, own: set[int] | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _DEFS):
                lines = body_lines(child)
                if own is not None:
                    own -= lines
                mine = set(lines)
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                found.append((child.lineno, f"{prefix}{child.name}", kind, mine))
                visit(child, f"{prefix}{child.name}.", mine)
            else:
                visit(child, prefix, own)

    visit(tree, "", None)
    out = []
    for line, name, kind, own in found:
        measured = own & statements
        if not measured:
            continue  # nothing of its own to measure: an @overload stub, a body of `...` or excluded lines
        covered = len(measured & executed)
        out.append(
            Region(
                name,
                kind,
                line,
                Totals.of(len(measured), covered, 0, 0),
                sorted(own & missing),
                sum(arcs.get(n, 0) for n in own),
            )
        )
    return out


@functools.cache
def token_class(ttype: _TokenType) -> str:
    for kind, css in TOKEN_CLASSES:
        if ttype in kind:
            return css
    return ""


def highlight(path: str, lines: Sequence[str]) -> list[list[tuple[str, str]]] | None:
    """Each line as (CSS class, text) pieces, lexed by pygments as a whole file; None when not highlighted.

    The lexer is picked by the file name (none known: not highlighted) and given the lines joined by
    ``\n``, so its line breaks are exactly ours; pieces that do not join back to their line (a lexer
    that changed the text) make the whole file plain rather than show something the file does not hold.
    """
    text = "\n".join(lines)
    if not lines or len(text) > HIGHLIGHT_MAX_CHARS:
        return None
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    except ClassNotFound:
        return None
    out: list[list[tuple[str, str]]] = [[]]
    for ttype, value in lexer.get_tokens(text):
        css = token_class(ttype)
        if "\n" not in value:
            row = out[-1]
            if row and row[-1][0] == css:  # one piece for a run of tokens shown alike: fewer spans
                row[-1] = (css, row[-1][1] + value)
            elif value:
                row.append((css, value))
            continue
        first, *rest = value.split("\n")
        if first:
            out[-1].append((css, first))
        for piece in rest:
            out.append([(css, piece)] if piece else [])
    if len(out) == len(lines) + 1 and not out[-1]:
        out.pop()  # the line break ensurenl added
    if len(out) != len(lines):
        return None
    if any("".join(t for _, t in toks) != line for toks, line in zip(out, lines, strict=True)):
        return None
    return out
