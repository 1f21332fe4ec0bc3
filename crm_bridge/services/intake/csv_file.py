"""Reading partner-lead CSV files as Excel exports them, and writing the rejects file next to them.

UTF-8 with or without BOM, comma or semicolon separated (sniffed from the header; a file separated
by tabs or another character is refused with a hint), a header row with exactly the columns of
``COLUMNS`` in any order. Structural problems of the whole file raise
``DataError``; a bad row becomes a ``Reject`` (row number as Excel shows it, reason) and the other
rows go through.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from crm_bridge.errors import BadInputFile
from crm_bridge.security.csv_cells import SafeWriter
from crm_bridge.security.files import create_private

COLUMNS: tuple[str, ...] = ("partner_id", "customer_name", "email", "phone", "tax_id", "amount", "comment")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: ``row`` is its line number as Excel shows it (the header is row 1)."""

    row: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Reject:
    row: int
    reason: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvFile:
    path: Path
    delimiter: str
    rows: tuple[CsvRow, ...]
    rejects: tuple[Reject, ...]


def read_lead_csv(path: Path) -> CsvFile:
    """Parse ``path``. Raises DataError naming the file when it is unreadable, not UTF-8, empty, or
    when its header has unknown, missing or repeated columns."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInputFile(f"cannot read {path}: {exc.strerror or exc}", where=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInputFile(
            f"not UTF-8 text (first bad byte on line {line}); in Excel use 'Save as' -> 'CSV UTF-8'",
            where=str(path),
        ) from exc
    text = text.removeprefix(_BOM)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise BadInputFile(
            "the file is empty or starts with a blank line; the first row must be the header", where=str(path)
        )
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header = [h.strip().lower() for h in next(reader)]
    _check_separator(first_line, header, path)
    _check_header(header, path)
    rows: list[CsvRow] = []
    rejects: list[Reject] = []
    for index, fields in enumerate(_rows(reader, path), start=2):
        if not any(f.strip() for f in fields):
            continue  # blank line or ";;;;;;" Excel leaves at the end
        values = {name: (fields[i].strip() if i < len(fields) else "") for i, name in enumerate(header)}
        if len(fields) != len(header):
            reason = f"has {len(fields)} values but the header has {len(header)} columns"
            rejects.append(Reject(index, reason, values))
            continue
        rows.append(CsvRow(index, values))
    return CsvFile(path=path, delimiter=delimiter, rows=tuple(rows), rejects=tuple(rejects))


def _rows(reader: Iterator[list[str]], path: Path) -> Iterator[list[str]]:
    """The rows after the header; a row the csv module cannot read (a value longer than its field
    limit, 128 KiB: a binary file or a broken quote) refuses the file, naming the line."""
    line = 1
    try:
        for fields in reader:
            line = getattr(reader, "line_num", line + 1)
            yield fields
    except csv.Error as exc:
        raise BadInputFile(
            f"line {line + 1}: cannot be read as CSV ({exc}); is it the right file, saved as 'CSV UTF-8'?",
            where=str(path),
        ) from exc


_SEPARATOR_NAMES = {"\t": "tabs", "|": "'|'", ":": "':'", " ": "spaces"}


def _check_separator(first_line: str, header: list[str], path: Path) -> None:
    """A header that is one of our column lists split by another character: say so, instead of
    listing unknown columns."""
    if sum(h in COLUMNS for h in header) > 1:
        return
    for separator, name in _SEPARATOR_NAMES.items():
        names = [h.strip().strip('"').lower() for h in first_line.strip().split(separator)]
        if sum(h in COLUMNS for h in names) > 1:
            raise BadInputFile(
                f"the columns are separated by {name}; save the file with ',' or ';' as the separator "
                "(in Excel: 'Save as' -> 'CSV UTF-8')",
                where=str(path),
            )


def _check_header(header: list[str], path: Path) -> None:
    problems: list[str] = []
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in COLUMNS if c not in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if unknown:
        shown = ", ".join(repr(h) if h else "(empty)" for h in unknown)
        problems.append(f"unknown column(s) {shown}")
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise BadInputFile(
            "header row: " + "; ".join(problems) + f" (expected exactly: {', '.join(COLUMNS)})",
            where=str(path),
        )


def rejects_path(path: Path) -> Path:
    """Where the rejects of ``path`` go: ``leads.csv`` -> ``leads.rejects.csv`` in the same folder."""
    return path.with_name(f"{path.stem}.rejects{path.suffix or '.csv'}")


def write_rejects(path: Path, rejects: Sequence[Reject], delimiter: str) -> Path | None:
    """Write ``rejects`` (row, reason, then the original columns) next to ``path`` with a BOM so Excel
    opens it as UTF-8; replace it atomically. With no rejects, a stale rejects file of an earlier run
    is removed and None returned."""
    target = rejects_path(path)
    if not rejects:
        target.unlink(missing_ok=True)
        return None
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    create_private(tmp)  # customers' contacts: owner-only whatever the umask
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = SafeWriter(fh, delimiter=delimiter)
        writer.writerow(["row", "reason", *COLUMNS])
        for rej in sorted(rejects, key=lambda r: r.row):
            writer.writerow([rej.row, rej.reason, *(rej.values.get(c, "") for c in COLUMNS)])
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return target
