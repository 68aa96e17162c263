"""Foreign text in rich output: always as text, never as markup.

Foreign text (node ids, messages, paths, bridge names and reasons, warnings) never goes into rich
markup: ``plain`` makes it a ``Text`` and ``markup`` puts it into the fields of a markup template,
both after ``textsafe.clean``. rich's ``escape`` is not enough: a text ending in a backslash would
still change the markup that follows it.
"""

from __future__ import annotations

from rich.text import Text

from mcptest.textsafe import clean

#: Stands for a field while a markup template is parsed (a private-use character, never in a template).
_FIELD = "\ue000"


def plain(value: object, *, multiline: bool = False, style: str = "") -> Text:
    """Foreign text as a rich ``Text``: cleaned, shown as it is, never read as markup."""
    return Text(clean(value, multiline=multiline), style=style)


def markup(template: str, *values: object, multiline: bool = False) -> Text:
    """Our own rich markup ``template`` whose ``{}`` fields are filled with foreign ``values``.

    The template is parsed as markup; each value is cleaned and inserted as plain text, taking the
    style around its field: ``markup("[red]✗[/red] {}", reason)``.
    """
    parts = template.split("{}")
    if len(parts) != len(values) + 1:
        raise ValueError(f"markup template {template!r} has {len(parts) - 1} fields for {len(values)} values")
    styled = Text.from_markup(_FIELD.join(parts), emoji=False)
    out = Text()
    start = 0
    for value in values:
        at = styled.plain.index(_FIELD, start)
        if at > start:
            out.append_text(styled[start:at])
        field = plain(value, multiline=multiline)
        for span in styled[at : at + 1].spans:
            field.stylize(span.style)
        out.append_text(field)
        start = at + 1
    if start < len(styled.plain):
        out.append_text(styled[start:])
    return out
