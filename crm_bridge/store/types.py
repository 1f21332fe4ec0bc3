"""Column types of the state store: UTC datetimes, exact money and JSON text that behave the same on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, Text
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, stored as UTC (``timestamptz`` on PostgreSQL, ISO text on SQLite).

    A naive datetime is refused: we cannot know which zone it meant."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given to the state store: pass it with a zone"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _DecimalText(TypeDecorator[Decimal]):
    """Decimal as its exact text (SQLite has no exact numeric type; REAL would round money)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def money() -> TypeEngine[Decimal]:
    """Unconstrained NUMERIC on PostgreSQL (keeps the scale it is given), exact text on SQLite."""
    return Numeric(asdecimal=True).with_variant(_DecimalText(), "sqlite")


class JsonText(TypeDecorator[Any]):
    """A JSON document kept as text with sorted keys (stable bytes, no float surprises on either
    database). Values must be JSON-serialisable: a ``TypeError`` names the offending type."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
