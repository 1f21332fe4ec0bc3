"""Log text that partners or a CRM supply can never forge a log line or drive the terminal.

``one_line``: newlines, carriage returns, tabs, other control characters (C0, DEL, C1 -- ANSI escape
sequences start with one), Unicode line/paragraph separators and bidirectional overrides are written
as visible escapes (``\\n``, ``\\x1b``, ``\\u2028``). ``continuation``: a traceback keeps its lines,
each after the first indented, so no line of it starts where a log record starts."""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL, C1 controls (incl. NEL U+0085), line/paragraph separators, bidi embeddings,
# overrides and isolates ("Trojan Source")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """``text`` on one line with every control character escaped."""
    return _UNSAFE.sub(_escape, text)


def continuation(block: str, indent: str = "    | ") -> str:
    """A multi-line block (a traceback) whose lines are each made safe and, after the first line of
    the record, start with ``indent``."""
    return "\n".join(indent + one_line(line) for line in block.splitlines())
