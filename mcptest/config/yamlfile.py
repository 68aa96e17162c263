"""YAML with line numbers: PyYAML's safe composer, the line of every key path kept, bounded after aliases expand."""

from __future__ import annotations

from typing import Any, NoReturn

import yaml

from mcptest.config.messages import Path_, cut, cut_text
from mcptest.errors import ConfigError

MAX_VALUES = 100_000  # keys and items after YAML aliases are expanded
MAX_CHARACTERS = 1_000_000  # characters of all keys and scalars after YAML aliases are expanded


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer, remembering the line of every alias (the node it names keeps the anchor's line)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_lines: dict[tuple[int, Any], int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if parent is not None and self.check_event(yaml.AliasEvent):
            self.alias_lines[_child_key(parent, index)] = self.peek_event().start_mark.line + 1
        return super().compose_node(parent, index)


def _child_key(parent: yaml.Node, index: Any) -> tuple[int, Any]:
    """How the composer and ``_Converter`` name a child: its parent and its index (a key node for a mapping)."""
    return (id(parent), id(index) if isinstance(index, yaml.Node) else index)


def compose(text: str, display: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML into plain values plus the line of every key path (1-based)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # its reader checks the characters at once
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {cut_text(problem)}", file=display, line=line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            f"invalid YAML: unacceptable character #x{exc.character:04x}", file=display, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(cut_text(f"invalid YAML: {exc}".splitlines()[0]), file=display, line=1) from None
    except (ValueError, RecursionError) as exc:
        # yaml raises plain ValueError for some impossible scalars; report them like YAML errors
        raise ConfigError(cut_text(f"invalid YAML: {exc}"), file=display, line=1) from None
    finally:
        if loader is not None:
            loader.dispose()
    converter = _Converter(display, loader.alias_lines)
    if node is None:
        return None, converter.lines
    return converter.convert(node, (), None, None), converter.lines


class _Converter:
    """Composed YAML nodes to plain values, bounded AFTER alias expansion.

    An alias repeats its node wherever it is used, so a short file can stand for gigabytes (a 100 KB
    scalar aliased 5,000 times is 500 MB of values); the number of values and their total characters
    are counted as they are expanded, and the alias in use when a limit is passed is named.
    """

    def __init__(self, display: str, alias_lines: dict[tuple[int, Any], int]) -> None:
        self.display = display
        self.alias_lines = alias_lines
        self.lines: dict[Path_, int] = {}
        self.seen: set[int] = set()
        self.values = 0
        self.chars = 0
        self.alias_line: int | None = None  # the line of the alias being expanded, if any

    def fail(self, message: str, line: int) -> NoReturn:
        raise ConfigError(message, file=self.display, line=line)

    def count(self, node: yaml.Node) -> None:
        self.values += 1
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
        line = self.alias_line or node.start_mark.line + 1
        alias = " (YAML aliases expanding too far?)" if self.alias_line is None else " (through this YAML alias)"
        if self.values > MAX_VALUES:
            self.fail(f"more than {MAX_VALUES} values after YAML aliases are expanded{alias}", line)
        if self.chars > MAX_CHARACTERS:
            self.fail(
                f"the values add up to more than {MAX_CHARACTERS} characters after YAML aliases are expanded{alias}",
                line,
            )

    def convert(self, node: yaml.Node, at: Path_, parent: yaml.Node | None, index: Any) -> Any:
        outer = self.alias_line
        if id(node) in self.seen and parent is not None:  # a node met again is an alias's repetition
            self.alias_line = self.alias_lines.get(_child_key(parent, index), outer)
        self.seen.add(id(node))
        try:
            return self._convert(node, at)
        finally:
            self.alias_line = outer

    def _convert(self, node: yaml.Node, at: Path_) -> Any:
        self.lines[at] = node.start_mark.line + 1
        if len(at) > 50:
            self.fail("nesting is too deep", self.lines[at])
        self.count(node)
        display = self.display
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.fail("a key must be a plain value", key_node.start_mark.line + 1)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.fail("YAML merge keys (<<) are not supported", key_node.start_mark.line + 1)
                self.count(key_node)
                key = _scalar(key_node, display)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.fail(f"key {cut(key)} is not a plain value", key_node.start_mark.line + 1)
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    self.fail(f"key {cut(key)} appears twice", key_node.start_mark.line + 1)
                child = (*at, key)
                result[key] = self.convert(value_node, child, node, key_node)
                self.lines[child] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*at, i), node, i) for i, item in enumerate(node.value)]
        return _scalar(node, display)


def _scalar(node: yaml.Node, display: str) -> Any:
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    # PyYAML's constructors raise KeyError, IndexError or AttributeError for some explicitly tagged
    # scalars (!!bool x, !!int '', !!timestamp x)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, LookupError, AttributeError) as exc:
        problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
        raise ConfigError(
            f"invalid value {cut(node.value)}: {cut_text(problem.splitlines()[0] if problem else '')}",
            file=display,
            line=node.start_mark.line + 1,
        ) from None
