"""From a file's text to its mutants: each operator's candidate applied, checked and made a diff."""

from __future__ import annotations

import ast
import difflib
import random
from collections.abc import Iterable, Sequence

from mcptest.mutate.model import Mutant
from mcptest.mutate.operators import OPERATORS, Candidate, Edit, SourceText, candidates

#: A line with this comment is never mutated (logging text, version strings, deliberate magic numbers).
PRAGMA = "pragma: no mutate"


def _apply(text: str, edits: Sequence[Edit]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _changed_dump(cand: Candidate) -> str:
    """The dump of the candidate's statement with the change made to its node, which is then put back."""
    saved = {k: list(v) if isinstance(v, list) else v for k, v in vars(cand.node).items()}
    try:
        cand.change(cand.node)
        return _dump(cand.stmt)
    finally:
        cand.node.__dict__.clear()
        cand.node.__dict__.update(saved)


def _statement_at(tree: ast.AST, line: int, col: int) -> ast.stmt | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno == line and node.col_offset == col:
            return node
    return None


def _exact(tree: ast.Module, cand: Candidate, new_text: str) -> bool:
    """Whether the text edit is exactly the intended change, and changes something.

    Edits start inside their statement, so it starts at the same place in the new tree; the text around
    is untouched.
    """
    try:
        new_tree = ast.parse(new_text)
    except (SyntaxError, ValueError):
        return False
    new_stmt = _statement_at(new_tree, cand.stmt.lineno, cand.stmt.col_offset)
    new_dump = None if new_stmt is None else _dump(new_stmt)
    return not (new_dump is None or len(new_tree.body) != len(tree.body) or new_dump != _changed_dump(cand)
                or new_dump == _dump(cand.stmt))


def _mutant(src: SourceText, file: str, cand: Candidate, new_text: str, first_line: int, last_line: int) -> Mutant:
    old_lines = src.text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    delta = len(new_lines) - len(old_lines)
    original = "".join(src.lines[first_line - 1:last_line]).rstrip("\r\n")
    mutated = "".join(new_lines[first_line - 1:last_line + delta]).rstrip("\r\n")
    diff = "".join(difflib.unified_diff(old_lines, new_lines, f"a/{file}", f"b/{file}", n=2))
    col = cand.start - src.starts[first_line - 1]
    return Mutant(id="", file=file, line=first_line, col=col, operator=cand.operator,
                  description=cand.description, original=original, mutated=mutated, diff=diff,
                  logging=cand.logging, source=new_text, statement_line=cand.stmt.lineno)


def generate_mutants(text: str, file: str, lines: Iterable[int] | None = None) -> tuple[list[Mutant], int]:
    """The mutants of one file's ``text`` whose statement starts on one of ``lines`` (None: every line).

    Returns the mutants (ids empty; the caller numbers them) and how many were dropped because the
    change left the code identical, made it invalid, or duplicated another mutant.
    """
    tree = ast.parse(text)
    src = SourceText(text)
    wanted = None if lines is None else set(lines)
    mutants: list[Mutant] = []
    seen: set[str] = set()
    dropped = 0
    for cand in list(candidates(src, tree)):
        if wanted is not None and cand.stmt.lineno not in wanted:
            continue
        first_line = src.line_of(cand.start)
        last_line = src.line_of(max(end for _, end, _ in cand.edits))
        if any(PRAGMA in src.lines[n - 1] for n in range(first_line, last_line + 1)):
            continue
        new_text = _apply(text, cand.edits)
        if new_text in seen or not _exact(tree, cand, new_text):
            dropped += 1
            continue
        seen.add(new_text)
        mutants.append(_mutant(src, file, cand, new_text, first_line, last_line))
    mutants.sort(key=lambda m: (m.line, m.col, OPERATORS.index(m.operator)))
    return mutants, dropped


def sample(mutants: Sequence[Mutant], max_mutants: int | None, seed: int) -> list[Mutant]:
    """At most ``max_mutants``, chosen by ``seed`` and spread evenly over (file, operator) groups.

    The same mutants and seed always give the same choice; the result keeps the input order.
    """
    if max_mutants is None or max_mutants >= len(mutants):
        return list(mutants)
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[int]] = {}
    for index, mutant in enumerate(mutants):
        groups.setdefault((mutant.file, mutant.operator), []).append(index)
    queues = []
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        queues.append(members)
    rng.shuffle(queues)
    picked: list[int] = []
    while len(picked) < max_mutants:
        for queue in queues:
            if queue and len(picked) < max_mutants:
                picked.append(queue.pop())
    return [mutants[i] for i in sorted(picked)]
