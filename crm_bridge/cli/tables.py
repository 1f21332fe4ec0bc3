"""Tables that stay readable in an 80-column terminal: no vertical rules, numbers exactly as wide as
their longest value or header word (headers wrap between words), text wrapping between words."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table


def compact_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    left: int = 1,
    name: int = 0,
    name_width: int = 16,
    text_last: bool = False,
) -> Table:
    """A table of ``rows`` (text cells). The first ``left`` columns are left-aligned text that may wrap
    between words (column ``name`` keeps at least ``name_width`` characters); the others are
    right-aligned numbers or dates that never wrap; with ``text_last`` the last column is text filling
    what is left (a reason, a description)."""
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for index, header in enumerate(headers):
        cells = [len(row[index]) for row in rows]
        word = max(len(w) for w in header.split()) if header.strip() else 1
        longest = max([*cells, word])
        if index == name:
            table.add_column(header, min_width=min(name_width, longest), max_width=max(30, name_width))
        elif index < left or (text_last and index == len(headers) - 1):
            cell_words = [len(w) for row in rows for w in row[index].split()]
            table.add_column(header, min_width=max([word, *cell_words]), max_width=longest)
        else:
            table.add_column(header, justify="right", min_width=longest, max_width=longest)
    for row in rows:
        table.add_row(*row)
    return table
