"""Helpers for the toolkit tests: an in-memory key-value state and the default desired layout."""

from __future__ import annotations

from typing import Any

from crm_bridge.config import parse_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.layout import DesiredLayout


class MemoryKV:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


def desired_layout() -> DesiredLayout:
    settings = parse_settings(
        {"locale": "en", "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${HOOK}"}}},
        {"HOOK": "https://x.bitrix24.ru/rest/1/abcdefgh/"},
    )
    return desired_layout_for(settings, "en")
