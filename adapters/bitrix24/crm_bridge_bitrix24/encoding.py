"""Encode one command of a Bitrix24 ``batch`` as ``method?query`` the way PHP's http_build_query does.

batch.md: each ``cmd`` value is a method name plus URL-encoded parameters; nested maps and lists become
``fields[TITLE]=…`` / ``select[0]=ID``. In a JSON body the strings travel as they are (no double encoding).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus


def _scalar(value: Any) -> str:
    if isinstance(value, bool):  # PHP: true -> "1", false -> "0"
        return "1" if value else "0"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:  # http_build_query drops nulls
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _pairs(f"{prefix}[{key}]" if prefix else str(key), item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _pairs(f"{prefix}[{index}]", item)
    else:
        yield prefix, _scalar(value)


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    """Keys (``select[3]``, ``filter[>ID]``) and short values (``ASC``, field codes) repeat in every
    command of a listing; long values (titles, comments) are not kept."""
    return quote_plus(text)


def _quote(text: str) -> str:
    return _quoted(text) if len(text) <= 48 else quote_plus(text)


def build_query(params: Mapping[str, Any]) -> str:
    """``{"filter": {">ID": 5}, "select": ["ID"]}`` -> ``filter%5B%3EID%5D=5&select%5B0%5D=ID``."""
    return "&".join(f"{_quote(key)}={_quote(value)}" for key, value in _pairs("", params))


def command(method: str, params: Mapping[str, Any] | None = None) -> str:
    """One ``cmd`` entry of a batch: ``crm.deal.list?order%5BID%5D=ASC&start=-1``."""
    query = build_query(params or {})
    return f"{method}?{query}" if query else method
