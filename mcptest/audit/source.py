"""One parsed test file: its tree, its comments (for ``# mcptest: ignore``) and the lines of its headers."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections.abc import Iterable
from pathlib import Path

from mcptest.audit.astutil import FuncNode, is_docstring, one_line

_IGNORE_RE = re.compile(r"mcptest:\s*ignore(?:\[([^\]]*)\])?")


class Source:
    """A parsed file: its tree, comments per line, and the last code token per line (for headers)."""

    def __init__(self, rel: str, text: str, tree: ast.Module) -> None:
        self.rel = rel
        self.tree = tree
        self.comments: dict[int, str] = {}
        self.last_token: dict[int, str] = {}
        skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type == tokenize.COMMENT:
                    self.comments[tok.start[0]] = tok.string
                elif tok.type not in skip and tok.type != tokenize.ENDMARKER:
                    self.last_token[tok.end[0]] = tok.string
        except (tokenize.TokenError, SyntaxError):  # pragma: no cover - ast.parse accepted the text
            self.comments = _naive_comments(text)

    def silenced(self, rule: str, lines: Iterable[int]) -> bool:
        for line in lines:
            comment = self.comments.get(line)
            if comment is None:
                continue
            for match in _IGNORE_RE.finditer(comment):
                if match.group(1) is None:
                    return True
                if rule in {r.strip() for r in match.group(1).split(",")}:
                    return True
        return False

    def header_lines(self) -> set[int]:
        """Lines above the first statement that is not the module docstring (at least line 1)."""
        body = self.tree.body
        if body and is_docstring(body[0]):
            body = body[1:]
        last = body[0].lineno - 1 if body else max(self.comments, default=1)
        return set(range(1, max(last, 1) + 1))

    def def_lines(self, node: FuncNode | ast.ClassDef) -> set[int]:
        """The decorator lines and the header of a def or class, up to the line of its colon."""
        lines = {d.lineno for d in node.decorator_list}
        lines.update(range(min(lines, default=node.lineno), node.lineno))  # comments between decorators
        parts: list[ast.AST] = (
            [*node.bases, *node.keywords] if isinstance(node, ast.ClassDef) else [node.args]
        )
        if not isinstance(node, ast.ClassDef) and node.returns is not None:
            parts.append(node.returns)
        ends = [getattr(n, "end_lineno", None) for part in parts for n in ast.walk(part)]
        end = max([node.lineno, *(e for e in ends if isinstance(e, int))])
        stop = node.body[0].lineno if node.body else end
        while end < stop and self.last_token.get(end) != ":":
            end += 1
        lines.update(range(node.lineno, end + 1))
        return lines


def _naive_comments(text: str) -> dict[int, str]:
    return {i: line[line.index("#") :] for i, line in enumerate(text.splitlines(), 1) if "#" in line}


class Unparsable(Exception):
    """A file that cannot be audited: ``rule`` is ``unreadable`` or ``syntax-error``."""

    def __init__(self, rule: str, line: int, reason: str) -> None:
        super().__init__(reason)
        self.rule, self.line, self.reason = rule, line, reason


def parse(path: Path, rel: str) -> Source:
    """Read and parse one file; raises :class:`Unparsable` when it cannot be read, decoded or parsed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unparsable("unreadable", 1, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise Unparsable("unreadable", 1, f"cannot decode the file: {one_line(str(exc))}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        with warnings.catch_warnings():
            # Invalid escapes and the like warn while parsing; under -W error they would abort the audit.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        msg = f"does not parse: {exc.msg}; pytest fails to collect it"
        raise Unparsable("syntax-error", exc.lineno or 1, msg) from None
    except ValueError as exc:  # null bytes on Python 3.11
        raise Unparsable("syntax-error", 1, f"does not parse: {one_line(str(exc))}") from None
    return Source(rel, text, tree)
