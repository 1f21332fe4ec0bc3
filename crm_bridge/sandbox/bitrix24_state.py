"""In-memory state of one emulated Bitrix24 portal: CRM records, deal funnels and stage directories,
user fields, users, tasks and notifications, plus the errors and value formats Bitrix24 uses.

Formats follow the REST docs (bitrix24/b24restdocs): ids and numbers come back as strings in
get/list answers, dates as ISO 8601 in the portal's zone (``2026-11-26T10:00:00+03:00``), ``Y``/``N``
flags, multi-fields (PHONE, EMAIL) as ``[{"ID","VALUE_TYPE","VALUE","TYPE_ID"}]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

PORTAL_TZ = timezone(timedelta(hours=3))  # a Moscow-zone portal, as most of our users run
ENTITY_PREFIX = {"lead": "L", "deal": "D", "contact": "C", "company": "CO"}
ENTITY_TYPE_ID = {"lead": 1, "deal": 2, "contact": 3, "company": 4}
UF_ENTITY_ID = {"lead": "CRM_LEAD", "deal": "CRM_DEAL", "contact": "CRM_CONTACT", "company": "CRM_COMPANY"}
MULTI_FIELDS = ("PHONE", "EMAIL", "WEB", "IM")

# crm/status/crm-status-list.md: the default deal funnel's stages; a new funnel gets the same set
# with the "C<id>:" prefix. (code, name, sort, semantics)
DEFAULT_DEAL_STAGES: tuple[tuple[str, str, int, str | None], ...] = (
    ("NEW", "Новая", 10, None),
    ("PREPARATION", "Подготовка документов", 20, None),
    ("PREPAYMENT_INVOICE", "Счёт на предоплату", 30, None),
    ("EXECUTING", "В работе", 40, None),
    ("FINAL_INVOICE", "Финальный счёт", 50, None),
    ("WON", "Сделка успешна", 60, "S"),
    ("LOSE", "Сделка провалена", 70, "F"),
    ("APOLOGY", "Анализ причины провала", 80, "F"),
)
DEFAULT_LEAD_STATUSES: tuple[tuple[str, str, int, str | None], ...] = (
    ("NEW", "Не обработан", 10, None),
    ("IN_PROCESS", "В работе", 20, None),
    ("PROCESSED", "Обработан", 30, None),
    ("CONVERTED", "Качественный лид", 40, "S"),
    ("JUNK", "Некачественный лид", 50, "F"),
)
STAGE_COLORS = {None: "#39A8EF", "S": "#7BD500", "F": "#FF5752"}


class B24Error(Exception):
    """A Bitrix24 error answer: HTTP status + ``{"error": code, "error_description": text}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, PORTAL_TZ).replace(microsecond=0).isoformat()


def parse_time(value: Any) -> float | None:
    """Bitrix accepts ISO 8601 (with or without zone; without = portal zone), ``YYYY-MM-DD`` and
    ``DD.MM.YYYY[ HH:MM:SS]``. Returns a Unix time, or None when the value is not a date."""
    if value in (None, "", False):
        return None
    text = str(value).strip()
    for parse in (_iso, _ru):
        parsed = parse(text)
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=PORTAL_TZ)
            return parsed.astimezone(UTC).timestamp()
    return None


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ru(text: str) -> datetime | None:
    for pattern in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


@dataclass
class Status:
    """A row of a crm.status directory (lead statuses, a funnel's deal stages, COMPANY_TYPE…)."""

    id: int
    entity_id: str
    status_id: str
    name: str
    sort: int
    semantics: str | None = None  # None in progress, "S" success, "F" failure
    system: bool = False
    category_id: int | None = None
    color: str = ""

    def render(self) -> dict[str, Any]:
        extra_sem = {None: "process", "S": "success", "F": "failure"}[self.semantics]
        if self.semantics == "F" and self.status_id.endswith("APOLOGY"):
            extra_sem = "apology"
        row: dict[str, Any] = {
            "ID": str(self.id),
            "ENTITY_ID": self.entity_id,
            "STATUS_ID": self.status_id,
            "NAME": self.name,
            "NAME_INIT": self.name if self.system else "",
            "SORT": str(self.sort),
            "SYSTEM": "Y" if self.system else "N",
            "COLOR": self.color,
            "SEMANTICS": self.semantics,
        }
        if self.category_id is not None:
            row["CATEGORY_ID"] = str(self.category_id)
        if self.entity_id.startswith("DEAL_STAGE") or self.entity_id == "STATUS":
            row["EXTRA"] = {"SEMANTICS": extra_sem, "COLOR": self.color}
        return row


@dataclass
class Category:
    id: int
    name: str
    sort: int
    is_default: bool = False
    origin_id: str = ""
    originator_id: str = ""

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "sort": self.sort,
            "entityTypeId": 2,
            "isDefault": "Y" if self.is_default else "N",
            "originId": self.origin_id,
            "originatorId": self.originator_id,
        }


@dataclass
class UserField:
    id: int
    entity: str  # lead | deal | company | contact
    field_name: str
    user_type_id: str
    label: str = ""
    xml_id: str = ""
    sort: int = 100
    multiple: bool = False
    mandatory: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)  # enumeration: ID, VALUE, XML_ID, SORT, DEF

    def render(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ID": str(self.id),
            "ENTITY_ID": UF_ENTITY_ID[self.entity],
            "FIELD_NAME": self.field_name,
            "USER_TYPE_ID": self.user_type_id,
            "XML_ID": self.xml_id or None,
            "SORT": str(self.sort),
            "MULTIPLE": "Y" if self.multiple else "N",
            "MANDATORY": "Y" if self.mandatory else "N",
            "SHOW_FILTER": "Y",
            "SHOW_IN_LIST": "Y",
            "EDIT_IN_LIST": "Y",
            "IS_SEARCHABLE": "N",
            "SETTINGS": self.settings,
            "EDIT_FORM_LABEL": self.label,
            "LIST_COLUMN_LABEL": self.label,
            "LIST_FILTER_LABEL": self.label,
        }
        if self.user_type_id == "enumeration":
            row["LIST"] = [
                {
                    "ID": str(i["ID"]),
                    "SORT": str(i["SORT"]),
                    "VALUE": i["VALUE"],
                    "DEF": i["DEF"],
                    "XML_ID": i["XML_ID"],
                }
                for i in sorted(self.items, key=lambda i: (int(i["SORT"]), int(i["ID"])))
            ]
        return row


@dataclass
class PortalState:
    """Everything one portal holds. ``records[entity][id]`` are raw field dicts (upper-case keys)."""

    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in ENTITY_PREFIX}
    )
    categories: dict[int, Category] = field(default_factory=dict)
    statuses: dict[int, Status] = field(default_factory=dict)
    userfields: dict[int, UserField] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)

    def next_id(self, name: str, start: int = 1) -> int:
        value = self.sequences.get(name, start - 1) + 1
        self.sequences[name] = value
        return value

    def stages_of(self, entity_id: str) -> list[Status]:
        return sorted(
            (s for s in self.statuses.values() if s.entity_id == entity_id), key=lambda s: (s.sort, s.id)
        )

    def add_status(
        self,
        entity_id: str,
        code: str,
        name: str,
        sort: int,
        semantics: str | None,
        *,
        system: bool,
        category_id: int | None = None,
        color: str = "",
    ) -> Status:
        status = Status(
            self.next_id("status"),
            entity_id,
            code,
            name,
            sort,
            semantics,
            system,
            category_id,
            color or STAGE_COLORS[semantics],
        )
        self.statuses[status.id] = status
        return status

    def userfield(self, entity: str, name: str) -> UserField | None:
        for uf in self.userfields.values():
            if uf.entity == entity and uf.field_name == name:
                return uf
        return None


def deal_stage_entity(category_id: int) -> str:
    return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"


def stage_prefix(category_id: int) -> str:
    return "" if category_id == 0 else f"C{category_id}:"


def new_portal(now: float) -> PortalState:
    """A fresh portal: the default deal funnel 0 with its stages, lead statuses, company types and
    three employees (the admin who owns the webhook, and two more)."""
    state = PortalState()
    state.categories[0] = Category(0, "Общая", 500, is_default=True)
    for code, name, sort, sem in DEFAULT_DEAL_STAGES:
        state.add_status("DEAL_STAGE", code, name, sort, sem, system=True, category_id=0)
    for code, name, sort, sem in DEFAULT_LEAD_STATUSES:
        state.add_status("STATUS", code, name, sort, sem, system=True)
    for code, name, sort in (("CUSTOMER", "Клиент", 10), ("PARTNER", "Партнёр", 20), ("OTHER", "Другое", 30)):
        state.add_status("COMPANY_TYPE", code, name, sort, None, system=True)
    for user_id, name, last, email in (
        (1, "Анна", "Админова", "admin@example.ru"),
        (2, "Иван", "Петров", "petrov@example.ru"),
        (3, "Мария", "Смирнова", "smirnova@example.ru"),
    ):
        state.users[user_id] = new_user(user_id, name, last, email, now)
    state.sequences["user"] = 3
    return state


def new_user(
    user_id: int, name: str, last_name: str, email: str, now: float, active: bool = True
) -> dict[str, Any]:
    return {
        "ID": str(user_id),
        "XML_ID": str(user_id),
        "ACTIVE": active,
        "NAME": name,
        "LAST_NAME": last_name,
        "SECOND_NAME": "",
        "EMAIL": email,
        "LAST_LOGIN": fmt_time(now),
        "DATE_REGISTER": fmt_time(now),
        "TIME_ZONE": "Europe/Moscow",
        "IS_ONLINE": "N",
        "USER_TYPE": "employee",
        "UF_DEPARTMENT": [1],
    }
