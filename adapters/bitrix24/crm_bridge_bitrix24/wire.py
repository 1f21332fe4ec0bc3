"""Pydantic models of the Bitrix24 REST payloads crm-bridge reads, shaped as the official docs show them
(bitrix24/b24restdocs: batch.md, limits.md, crm/status/*, crm/universal/category/*, userfields, tasks, im).

Bitrix24 answers with PHP-flavoured JSON: numbers arrive as strings ("SORT": "10"), empty maps arrive as
empty lists (``"result_error": []``) and flags as "Y"/"N". The validators here absorb those quirks once so
the rest of the adapter sees plain Python types.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _map_or_empty(value: Any) -> Any:
    """PHP encodes an empty associative array as ``[]``: read it as an empty mapping."""
    if value is None or value == []:
        return {}
    if isinstance(value, list):  # a list-shaped map with numeric keys ("0", "1", …)
        return {str(i): v for i, v in enumerate(value)}
    return value


class TimeInfo(_Wire):
    """The ``time`` object of every answer; ``operating``/``operating_reset_at`` feed the method budget."""

    start: float = 0.0
    finish: float = 0.0
    duration: float = 0.0
    processing: float = 0.0
    date_start: str = ""
    date_finish: str = ""
    operating: float = 0.0
    operating_reset_at: float | None = None


class ErrorBody(_Wire):
    """``{"error": "...", "error_description": "..."}`` — ``error`` is often empty for CRM validation
    failures, the text then sits only in ``error_description`` (_includes/error-info.md)."""

    error: str | int = ""
    error_description: str = ""

    @field_validator("error", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class Envelope(_Wire):
    """A successful answer of any method: ``result`` plus ``total``/``next`` for list methods."""

    result: Any = None
    total: int | None = None
    next: int | None = None
    time: TimeInfo | None = None


class BatchBody(_Wire):
    """``result`` of the ``batch`` method: per-command results and errors keyed by command name."""

    result: dict[str, Any] = Field(default_factory=dict)
    result_error: dict[str, ErrorBody] = Field(default_factory=dict)
    result_total: dict[str, int] = Field(default_factory=dict)
    result_next: dict[str, int] = Field(default_factory=dict)
    result_time: dict[str, TimeInfo] = Field(default_factory=dict)

    @field_validator("result", "result_error", "result_total", "result_next", "result_time", mode="before")
    @classmethod
    def _maps(cls, value: Any) -> Any:
        return _map_or_empty(value)


class Category(_Wire):
    """One funnel of ``crm.category.list`` / ``crm.category.add`` (camelCase keys)."""

    id: int
    name: str
    sort: int = 500
    entity_type_id: int = Field(default=2, alias="entityTypeId")
    is_default: bool = Field(default=False, alias="isDefault")
    origin_id: str = Field(default="", alias="originId")
    originator_id: str = Field(default="", alias="originatorId")

    @field_validator("is_default", mode="before")
    @classmethod
    def _yn(cls, value: Any) -> bool:
        return value in (True, "Y", "y", 1, "1")

    @field_validator("origin_id", "originator_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class StatusExtra(_Wire):
    semantics: str = Field(default="process", alias="SEMANTICS")
    color: str = Field(default="", alias="COLOR")


class Status(_Wire):
    """One row of ``crm.status.list``. ``semantics``: None in progress, "S" success, "F" failure."""

    id: int = Field(alias="ID")
    entity_id: str = Field(alias="ENTITY_ID")
    status_id: str = Field(alias="STATUS_ID")
    name: str = Field(default="", alias="NAME")
    sort: int = Field(default=10, alias="SORT")
    system: bool = Field(default=False, alias="SYSTEM")
    category_id: int | None = Field(default=None, alias="CATEGORY_ID")
    color: str = Field(default="", alias="COLOR")
    semantics: str | None = Field(default=None, alias="SEMANTICS")
    extra: StatusExtra | None = Field(default=None, alias="EXTRA")

    @field_validator("system", mode="before")
    @classmethod
    def _yn(cls, value: Any) -> bool:
        return value in (True, "Y", "y", 1, "1")

    @field_validator("semantics", mode="before")
    @classmethod
    def _semantics(cls, value: Any) -> str | None:
        return str(value) if value else None

    @field_validator("color", mode="before")
    @classmethod
    def _color(cls, value: Any) -> str:
        return str(value) if value else ""

    @field_validator("category_id", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        return None if value in (None, "") else value


class EnumItem(_Wire):
    """An item of an enumeration user field (``LIST[]``); records store its numeric ``ID``."""

    id: int = Field(alias="ID")
    value: str = Field(default="", alias="VALUE")
    sort: int = Field(default=500, alias="SORT")
    xml_id: str = Field(default="", alias="XML_ID")
    default: bool = Field(default=False, alias="DEF")

    @field_validator("default", mode="before")
    @classmethod
    def _yn(cls, value: Any) -> bool:
        return value in (True, "Y", "y", 1, "1")

    @field_validator("xml_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class UserField(_Wire):
    """One row of ``crm.<entity>.userfield.list``. Labels come as text or as a per-language map."""

    id: int = Field(alias="ID")
    entity_id: str = Field(default="", alias="ENTITY_ID")
    field_name: str = Field(alias="FIELD_NAME")
    user_type_id: str = Field(alias="USER_TYPE_ID")
    xml_id: str = Field(default="", alias="XML_ID")
    multiple: bool = Field(default=False, alias="MULTIPLE")
    edit_form_label: str = Field(default="", alias="EDIT_FORM_LABEL")
    items: list[EnumItem] = Field(default_factory=list, alias="LIST")

    @field_validator("multiple", mode="before")
    @classmethod
    def _yn(cls, value: Any) -> bool:
        return value in (True, "Y", "y", 1, "1")

    @field_validator("xml_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)

    @field_validator("edit_form_label", mode="before")
    @classmethod
    def _label(cls, value: Any) -> str:
        if isinstance(value, dict):  # {"en": "...", "ru": "..."}
            for lang in ("en", "ru"):
                if value.get(lang):
                    return str(value[lang])
            return next((str(v) for v in value.values() if v), "")
        return "" if value is None else str(value)

    @field_validator("items", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        return [] if value in (None, "", {}) else value


class User(_Wire):
    """One row of ``user.get``."""

    id: int = Field(alias="ID")
    active: bool = Field(default=True, alias="ACTIVE")
    name: str = Field(default="", alias="NAME")
    last_name: str = Field(default="", alias="LAST_NAME")
    email: str = Field(default="", alias="EMAIL")

    @field_validator("active", mode="before")
    @classmethod
    def _yn(cls, value: Any) -> bool:
        return value in (True, "Y", "y", 1, "1", "true")

    @field_validator("name", "last_name", "email", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class TokenPair(_Wire):
    """Answer of oauth.bitrix.info/oauth/token/ (settings/oauth/index.md): access token for 1 h,
    refresh token for 180 days, ``client_endpoint`` = https://<portal>/rest/."""

    access_token: str
    refresh_token: str
    expires_in: int = 3600
    client_endpoint: str = ""
    member_id: str = ""
    scope: str = ""
