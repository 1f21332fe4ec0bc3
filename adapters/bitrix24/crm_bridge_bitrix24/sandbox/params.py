"""Bitrix24 request parameters: PHP-style bracket query strings (``fields[TITLE]=x&select[]=ID``),
form bodies and JSON bodies merged into one nested dict, as the REST server reads them.

Reference: https://github.com/bitrix24/b24restdocs settings/how-to-call-rest-api/general-principles.md
(every method accepts GET query, form-encoded and JSON; batch commands are query strings).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def parse_php_query(text: str) -> dict[str, Any]:
    """``a[b][]=1&a[b][]=2&c=3`` -> ``{"a": {"b": ["1", "2"]}, "c": "3"}``."""
    result: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        _assign(result, raw_key, value)
    return dict(_listify(result))


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for raw_key, value in pairs:
        _assign(result, raw_key, value)
    return dict(_listify(result))


def _assign(target: dict[str, Any], raw_key: str, value: str) -> None:
    match = _KEY.match(raw_key)
    if not match:
        target[raw_key] = value
        return
    path = [match.group(1), *_PART.findall(match.group(2))]
    node: Any = target
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if part == "":
            part = str(len(node))
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return  # "a=1&a[b]=2": PHP keeps the scalar; so do we


def _listify(node: Any) -> Any:
    """Dicts whose keys are 0..n-1 become lists (PHP arrays serialised to JSON do the same)."""
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            keys = sorted(converted, key=int)
            if [int(k) for k in keys] == list(range(len(keys))):
                return [converted[k] for k in keys]
        return converted
    return node


def pick(params: dict[str, Any], *names: str, default: Any = None) -> Any:
    """Case-insensitive parameter lookup (Bitrix accepts ``fields`` and ``FIELDS``, ``id`` and ``ID``)."""
    lowered = {k.lower(): v for k, v in params.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return default
