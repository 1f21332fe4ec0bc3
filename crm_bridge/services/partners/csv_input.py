"""Reading a lifecycle CSV (plans, training completions) the way sales-ops people write them: UTF-8
with or without BOM (Excel), comma or semicolon separated, a header row. Problems are ``UsageError``s
naming the file, row and column; nothing is stored when any row is wrong."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from crm_bridge.errors import UsageError

MAX_ERRORS_SHOWN = 20


def read_rows(path: Path, required: Sequence[str], known: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row; header names are case-insensitive and trimmed."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise UsageError(f"{path}: the file is empty (expected a header row: {', '.join(required)})")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in required if c not in header]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})")
    unknown = [h for h in header if h and h not in known]
    if unknown:
        raise UsageError(f"{path}: unknown column(s) {', '.join(unknown)} (known: {', '.join(known)})")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise UsageError(f"{path}, row {number}: {len(cells)} cells for {len(header)} columns")
        rows.append((number, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}))
    return rows


def raise_problems(path: Path, problems: list[str]) -> None:
    if problems:
        shown = problems[:MAX_ERRORS_SHOWN]
        more = f"\n… and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise UsageError(f"{path}: nothing imported, fix these rows:\n" + "\n".join(shown) + more)
