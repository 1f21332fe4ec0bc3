"""CSV cells a spreadsheet will show as text, never run as a formula (CSV injection, OWASP).

Convention (OWASP "CSV Injection"): a text cell whose first character -- after any leading spaces
-- is ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line feed gets a leading apostrophe
``'``. Excel and LibreOffice read a leading apostrophe as "this cell is text" and do not display it;
other readers see the apostrophe, which makes the change visible instead of silent. Quoting alone does
not help: spreadsheets evaluate quoted cells too. Numbers stay numbers for BI tools: ``int``,
``float`` and ``Decimal`` values, and text that is exactly a plain decimal number (``-12.50``, a
clawback) pass unchanged -- such text cannot hold a formula.
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet evaluates (numbers and None unchanged)."""
    if value is None or isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    stripped = text.lstrip(" ")
    if stripped.startswith(TRIGGERS) and not _NUMBER.match(stripped):
        return "'" + text
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


class SafeWriter:
    """``csv.writer`` whose ``writerow``/``writerows`` neutralise every cell (same arguments).

    A row with a carriage return or line feed inside a text cell is written with every cell quoted:
    ``csv`` quotes only the characters of its own line terminator, so a bare ``\r`` under a ``\n``
    terminator would otherwise split the row in a spreadsheet (a forged row)."""

    def __init__(self, fh: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)
        self._quoted = csv.writer(fh, **{**kwargs, "quoting": csv.QUOTE_ALL})

    def writerow(self, row: Iterable[Any]) -> Any:
        cells = safe_row(row)
        breaks = any(isinstance(c, str) and ("\r" in c or "\n" in c) for c in cells)
        return (self._quoted if breaks else self._writer).writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
