"""In-memory state of one emulated Bitrix24 portal: CRM records, deal funnels and crm.status
directories, user fields, users, tasks and notifications, plus the error type and value formats.

Formats follow the REST docs (bitrix24/b24restdocs): ids and numbers come back as strings in the
classic get/list answers, date-times as ISO 8601 in the portal's zone (``2026-11-26T10:00:00+03:00``),
``Y``/``N`` flags, multi-fields (PHONE, EMAIL) as ``[{"ID","VALUE_TYPE","VALUE","TYPE_ID"}]``.
``PortalState.to_dict``/``from_dict`` round-trip everything (``--state FILE`` of the sandbox CLI).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from crm_bridge_bitrix24.sandbox import defaults as defaults

PORTAL_TZ = timezone(timedelta(hours=3))  # a Moscow-zone portal, as most of our users run
ENTITY_PREFIX = {"lead": "L", "deal": "D", "contact": "C", "company": "CO"}
ENTITY_TYPE_ID = {"lead": 1, "deal": 2, "contact": 3, "company": 4}
UF_ENTITY_ID = {"lead": "CRM_LEAD", "deal": "CRM_DEAL", "contact": "CRM_CONTACT", "company": "CRM_COMPANY"}
MULTI_FIELDS = ("PHONE", "EMAIL", "WEB", "IM")
LABEL_KEYS = ("EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "ERROR_MESSAGE", "HELP_MESSAGE")


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


def fmt_date(ts: float) -> str:
    """A ``date`` field (BEGINDATE, CLOSEDATE): midnight of that day in the portal's zone."""
    day = datetime.fromtimestamp(ts, PORTAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.isoformat()


def parse_time(value: Any) -> float | None:
    """Bitrix accepts ISO 8601 (with or without zone; without = portal zone), ``YYYY-MM-DD`` and
    ``DD.MM.YYYY[ HH:MM:SS]``. Returns a Unix time, or None when the value is not a date."""
    if value in (None, "", False) or isinstance(value, (bool, int, float)):
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
    if len(text) < 10 or not text[:4].isdigit():
        return None
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


def is_stage_directory(entity_id: str) -> bool:
    return entity_id == "STATUS" or entity_id.startswith("DEAL_STAGE")


@dataclass
class Status:
    """A row of a crm.status directory (lead statuses, a funnel's deal stages, SOURCE, COMPANY_TYPE…)."""

    id: int
    entity_id: str
    status_id: str
    name: str
    sort: int
    semantics: str | None = None  # None in progress, "S" success, "F" failure
    system: bool = False
    category_id: int | None = None
    color: str = ""
    name_init: str = ""

    def render(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ID": str(self.id),
            "ENTITY_ID": self.entity_id,
            "STATUS_ID": self.status_id,
            "NAME": self.name,
            "NAME_INIT": self.name_init if self.system else "",
            "SORT": str(self.sort),
            "SYSTEM": "Y" if self.system else "N",
            "CATEGORY_ID": str(self.category_id) if self.category_id else None,
            "COLOR": self.color or None,
            "SEMANTICS": self.semantics,
        }
        if is_stage_directory(self.entity_id):
            extra = {None: "process", "S": "success", "F": "failure"}[self.semantics]
            if self.semantics == "F" and not self.system:
                extra = "apology"  # a failure stage besides the system LOSE/JUNK one
            row["EXTRA"] = {"SEMANTICS": extra, "COLOR": self.color}
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
        row: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "sort": self.sort,
            "entityTypeId": 2,
            "isDefault": "Y" if self.is_default else "N",
        }
        if not self.is_default:  # crm-category-list.md: the default funnel has no origin fields
            row.update({"originId": self.origin_id, "originatorId": self.originator_id})
        return row


@dataclass
class UserField:
    id: int
    entity: str  # lead | deal | company | contact
    field_name: str
    user_type_id: str
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # LABEL_KEYS -> {lang: text}
    xml_id: str = ""
    sort: int = 100
    multiple: bool = False
    mandatory: bool = False
    show_filter: str = "N"
    show_in_list: str = "N"
    edit_in_list: str = "Y"
    is_searchable: str = "N"
    settings: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)  # enumeration: ID, VALUE, XML_ID, SORT, DEF

    def label(self, key: str = "EDIT_FORM_LABEL", language: str = "ru") -> str:
        texts = self.labels.get(key, {})
        return texts.get(language) or texts.get("en") or next((t for t in texts.values() if t), "")

    def render(self, *, language: str | None = None, with_labels: bool = True) -> dict[str, Any]:
        """``get`` answers labels as per-language maps; ``list`` only with a ``LANG`` filter, as strings."""
        row: dict[str, Any] = {
            "ID": str(self.id),
            "ENTITY_ID": UF_ENTITY_ID[self.entity],
            "FIELD_NAME": self.field_name,
            "USER_TYPE_ID": self.user_type_id,
            "XML_ID": self.xml_id or None,
            "SORT": str(self.sort),
            "MULTIPLE": "Y" if self.multiple else "N",
            "MANDATORY": "Y" if self.mandatory else "N",
            "SHOW_FILTER": self.show_filter,
            "SHOW_IN_LIST": self.show_in_list,
            "EDIT_IN_LIST": self.edit_in_list,
            "IS_SEARCHABLE": self.is_searchable,
            "SETTINGS": self.settings,
        }
        if with_labels:
            for key in LABEL_KEYS:
                texts = self.labels.get(key, {})
                if language is None:
                    row[key] = {lang: texts.get(lang, "") for lang in defaults.LANGUAGES}
                else:
                    row[key] = texts.get(language) or None
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

    language: str = "ru"
    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in ENTITY_PREFIX}
    )
    categories: dict[int, Category] = field(default_factory=dict)
    statuses: dict[int, Status] = field(default_factory=dict)
    userfields: dict[int, UserField] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    departments: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)
    stage_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # crm.stagehistory.list
    list_cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

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
        semantics: str | None = None,
        *,
        system: bool = False,
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
            color,
            name if system else "",
        )
        self.statuses[status.id] = status
        return status

    def userfield(self, entity: str, name: str) -> UserField | None:
        for uf in self.userfields.values():
            if uf.entity == entity and uf.field_name == name:
                return uf
        return None

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-able data (lossless: ``from_dict`` rebuilds it)."""
        return {
            "language": self.language,
            "records": {entity: list(rows.values()) for entity, rows in self.records.items()},
            "categories": [asdict(c) for c in self.categories.values()],
            "statuses": [asdict(s) for s in self.statuses.values()],
            "userfields": [asdict(u) for u in self.userfields.values()],
            "users": list(self.users.values()),
            "departments": list(self.departments),
            "tasks": list(self.tasks.values()),
            "notifications": list(self.notifications),
            "sequences": dict(self.sequences),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortalState:
        """Rebuild a state saved with ``to_dict``; ValueError names what is malformed."""
        try:
            state = cls(language=str(data.get("language", "ru")))
            for entity, rows in (data.get("records") or {}).items():
                state.records[entity] = {int(row["ID"]): dict(row) for row in rows}
            state.categories = {int(c["id"]): Category(**c) for c in data.get("categories", [])}
            state.statuses = {int(s["id"]): Status(**s) for s in data.get("statuses", [])}
            state.userfields = {int(u["id"]): UserField(**u) for u in data.get("userfields", [])}
            state.users = {int(u["ID"]): dict(u) for u in data.get("users", [])}
            state.departments = [dict(d) for d in data.get("departments", [])]
            state.tasks = {int(t["id"]): dict(t) for t in data.get("tasks", [])}
            state.notifications = list(data.get("notifications", []))
            state.sequences = {str(k): int(v) for k, v in (data.get("sequences") or {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a saved Bitrix24 sandbox state: {type(exc).__name__}: {exc}") from exc
        return state


def deal_stage_entity(category_id: int) -> str:
    return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"


def stage_prefix(category_id: int) -> str:
    return "" if category_id == 0 else f"C{category_id}:"
