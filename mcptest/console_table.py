"""Tables that fit the console: long names fold instead of being cut, less important columns go first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

#: A folded column (file names, node ids, missing lines) is never squeezed below this many cells
#: before less important columns are dropped.
FOLD_MIN = 24

Justify = Literal["left", "center", "right"]


@dataclass
class Column:
    """A column of a table that must fit the console: ``drop`` > 0 columns go first (highest first)."""

    name: str
    justify: Justify = "right"
    drop: int = 0
    fold: bool = False
    #: For a fold column: the fewest cells it is folded to before other columns are dropped.
    least: int = FOLD_MIN


def _cell(value: RenderableType) -> Text:
    if isinstance(value, Text):
        return value
    return Text.from_markup(str(value), emoji=False)


def fit_table(
    title: str | Text,
    columns: Sequence[Column],
    rows: Sequence[Sequence[RenderableType]],
    width: int,
    *,
    sections: Sequence[int] = (),
    caption: str | None = None,
) -> Table:
    """A table that fits ``width`` cells without cutting a file name or node id.

    The columns marked ``fold`` (names, missing lines) wrap instead of being cut with an ellipsis, down to
    FOLD_MIN cells; when the table is still wider than the console, the columns with the highest ``drop``
    are left out first (the caption names them), then the cell padding goes. ``sections``: rows that end
    a section.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    layout = _Layout(columns, cells)
    dropped = layout.drop_to(width)
    notes = [caption] if caption else []
    if dropped:
        notes.append(f"not shown at this width: {', '.join(dropped)} (a wider terminal or the HTML report has them)")
    padding = 1 if layout.needed(1) <= width else 0
    fixed = layout.fold_widths(width, padding)
    table = Table(title=title, title_justify="left", caption="; ".join(notes) or None, padding=(0, padding))
    table.caption_justify = "left"
    for i in layout.keep:
        col = columns[i]
        if col.fold:
            table.add_column(col.name, justify=col.justify, overflow="fold", width=fixed.get(i))
        else:
            table.add_column(col.name, justify=col.justify, no_wrap=True)
    for n, row in enumerate(cells):
        table.add_row(*(row[i] for i in layout.keep), end_section=n in sections)
    return table


class _Layout:
    """The columns kept and the width each wants (its longest line, or its name)."""

    def __init__(self, columns: Sequence[Column], cells: Sequence[Sequence[Text]]) -> None:
        self.columns = columns
        self.keep = list(range(len(columns)))
        self.wanted = {i: self._natural(i, cells) for i in self.keep}

    def _natural(self, i: int, cells: Sequence[Sequence[Text]]) -> int:
        widths = [cell_len(self.columns[i].name)]
        for row in cells:
            widths += [cell_len(line) for line in row[i].plain.splitlines() or [""]]
        return max(widths)

    def needed(self, padding: int) -> int:
        columns, wanted = self.columns, self.wanted
        total = sum(min(wanted[i], columns[i].least) if columns[i].fold else wanted[i] for i in self.keep)
        return total + (1 + 2 * padding) * len(self.keep) + 1  # padding each side, a border between and around

    def drop_to(self, width: int) -> list[str]:
        """Leave out the ``drop`` columns, highest first, until the table fits; the names of those left out."""
        dropped = []
        for i in sorted((i for i in self.keep if self.columns[i].drop), key=lambda i: -self.columns[i].drop):
            if self.needed(1) <= width:
                break
            self.keep.remove(i)
            dropped.append(self.columns[i].name)
        return dropped

    def fold_widths(self, width: int, padding: int) -> dict[int, int]:
        """The widths of the fold columns when the table is too wide (rich's own layout can leave a table wider
        than the console when a name is longer than its column): each its least, then what is left in column
        order (names first)."""
        columns, wanted, keep = self.columns, self.wanted, self.keep
        chrome = (1 + 2 * padding) * len(keep) + 1
        if sum(wanted[i] for i in keep) + chrome <= width:
            return {}
        folds = [i for i in keep if columns[i].fold]
        fixed = {i: min(wanted[i], columns[i].least) for i in folds}
        left = width - chrome - sum(wanted[i] for i in keep if not columns[i].fold) - sum(fixed.values())
        for i in folds:
            more = max(0, min(wanted[i] - fixed[i], left))
            fixed[i] += more
            left -= more
        return fixed
