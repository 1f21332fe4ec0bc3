"""In-memory state of the amoCRM emulator: one account with its users, pipelines, records and fields.

A fresh account looks like a new amoCRM account: a main pipeline "Воронка" with the unsorted
("Неразобранное", type 1) stage, working stages and the fixed statuses 142 (won) and 143 (lost),
the predefined contact fields PHONE/EMAIL/POSITION, an admin and two managers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WON_STATUS_ID = 142
LOST_STATUS_ID = 143
UNSORTED_COLOR = "#c1c1c1"
WON_COLOR = "#CCFF66"
LOST_COLOR = "#D5D8DB"
# StatusModel::COLORS in amocrm/amocrm-api-php: the only colours a stage may take.
STATUS_COLORS = (
    "#fffeb2", "#fffd7f", "#fff000", "#ffeab2", "#ffdc7f", "#ffce5a", "#ffdbdb", "#ffc8c8", "#ff8f92",
    "#d6eaff", "#c1e0ff", "#98cbff", "#ebffb1", "#deff81", "#87f2c0", "#f9deff", "#f3beff", "#ccc8f9",
    "#eb93ff", "#f2f3f4", "#e6e8ea",
)  # fmt: skip
ENTITY_TYPES = ("leads", "contacts", "companies")
TASK_ENTITY_TYPES = ("leads", "contacts", "companies", "customers")
MAX_PIPELINES = 50
MAX_STATUSES = 100
TASK_TYPES = [
    {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
    {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
]
_FIRST_IDS = {
    "user": 8000001, "pipeline": 7000001, "status": 60000001, "leads": 20000001, "contacts": 30000001,
    "companies": 40000001, "tasks": 50000001, "field": 900001, "enum": 1500001, "tag": 300001,
    "webhook": 1001, "group": 1, "note": 70000001, "event": 1,
}  # fmt: skip


@dataclass
class AmoState:
    account_id: int
    subdomain: str
    account_name: str
    created_at: int
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[int, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    fields: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, int]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=lambda: dict(_FIRST_IDS))
    admin_user_id: int = 0
    pending_item_failures: int = 0  # fault injection: trailing items of the next bulk write are refused
    mutations: int = 0  # counts record writes: invalidates the lists' updated_at index
    index: dict[str, Any] = field(default_factory=dict)  # entity -> (mutations, sorted (updated_at, id))
    events: list[dict[str, Any]] = field(default_factory=list)  # GET /api/v4/events, oldest first
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)  # notes of leads, by note id

    def next_id(self, kind: str) -> int:
        value = self.sequences[kind]
        self.sequences[kind] = value + 1
        return value

    def main_pipeline(self) -> dict[str, Any]:
        for pipeline in self.pipelines.values():
            if pipeline["is_main"]:
                return pipeline
        return next(iter(self.pipelines.values()))

    def tag(self, entity: str, name: str) -> dict[str, Any]:
        bucket = self.tags.setdefault(entity, {})
        if name not in bucket:
            bucket[name] = self.next_id("tag")
        return {"id": bucket[name], "name": name}

    def dump(self) -> dict[str, Any]:
        return {
            "account": {"id": self.account_id, "subdomain": self.subdomain, "name": self.account_name},
            "users": list(copy.deepcopy(self.users).values()),
            "pipelines": [
                {**{k: v for k, v in p.items() if k != "statuses"}, "statuses": list(p["statuses"].values())}
                for p in copy.deepcopy(self.pipelines).values()
            ],
            "custom_fields": {e: list(copy.deepcopy(f).values()) for e, f in self.fields.items()},
            **{e: list(copy.deepcopy(r).values()) for e, r in self.records.items()},
            "webhooks": list(copy.deepcopy(self.webhooks).values()),
            "events": copy.deepcopy(self.events),
            "notes": list(copy.deepcopy(self.notes).values()),
            "internal": {
                "created_at": self.created_at,
                "admin_user_id": self.admin_user_id,
                "sequences": dict(self.sequences),
                "tags": copy.deepcopy(self.tags),
            },
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> AmoState:
        """The inverse of ``dump()`` (a saved sandbox survives a restart)."""
        internal = data["internal"]
        state = cls(
            account_id=data["account"]["id"],
            subdomain=data["account"]["subdomain"],
            account_name=data["account"]["name"],
            created_at=internal["created_at"],
        )
        state.admin_user_id = internal["admin_user_id"]
        state.sequences = {**_FIRST_IDS, **internal["sequences"]}
        state.tags = copy.deepcopy(internal["tags"])
        state.users = {u["id"]: copy.deepcopy(u) for u in data["users"]}
        state.pipelines = {
            p["id"]: {
                **{k: v for k, v in p.items() if k != "statuses"},
                "statuses": {s["id"]: dict(s) for s in p["statuses"]},
            }
            for p in copy.deepcopy(data["pipelines"])
        }
        state.fields = {
            e: {f["id"]: f for f in copy.deepcopy(items)} for e, items in data["custom_fields"].items()
        }
        state.records = {e: {r["id"]: r for r in copy.deepcopy(data[e])} for e in (*ENTITY_TYPES, "tasks")}
        state.webhooks = {h["id"]: h for h in copy.deepcopy(data["webhooks"])}
        state.events = copy.deepcopy(data.get("events") or [])
        state.notes = {n["id"]: n for n in copy.deepcopy(data.get("notes") or [])}
        return state


def new_state(now: int, *, subdomain: str, account_id: int) -> AmoState:
    state = AmoState(account_id=account_id, subdomain=subdomain, account_name="Sandbox", created_at=now)
    state.records = {name: {} for name in (*ENTITY_TYPES, "tasks")}
    state.fields = {name: {} for name in ENTITY_TYPES}
    state.admin_user_id = add_user(state, "Администратор", "admin@example.com", is_admin=True)
    add_user(state, "Менеджер 1", "manager1@example.com")
    add_user(state, "Менеджер 2", "manager2@example.com")
    add_pipeline(
        state,
        {"name": "Воронка", "sort": 1, "is_main": True, "is_unsorted_on": True},
        [
            {"name": "Первичный контакт", "sort": 20, "color": "#98cbff"},
            {"name": "Переговоры", "sort": 30, "color": "#fffd7f"},
            {"name": "Принимают решение", "sort": 40, "color": "#ffce5a"},
            {"name": "Согласование договора", "sort": 50, "color": "#ffc8c8"},
        ],
        now,
    )
    for code, name, enums in (
        ("PHONE", "Телефон", ["WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER"]),
        ("EMAIL", "Email", ["WORK", "PRIV", "OTHER"]),
    ):
        add_predefined_field(state, "contacts", code, name, "multitext", enums)
    add_predefined_field(state, "contacts", "POSITION", "Должность", "text", [])
    return state


def add_user(
    state: AmoState, name: str, email: str, *, is_admin: bool = False, user_id: int | None = None
) -> int:
    uid = user_id if user_id is not None else state.next_id("user")
    full = {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"}
    state.users[uid] = {
        "id": uid,
        "name": name,
        "email": email,
        "lang": "ru",
        "rights": {
            "leads": dict(full),
            "contacts": dict(full),
            "companies": dict(full),
            "tasks": {"edit": "A", "delete": "A"},
            "mail_access": True,
            "catalog_access": True,
            "status_rights": [],
            "is_admin": is_admin,
            "is_free": False,
            "is_active": True,
            "group_id": None,
            "role_id": None,
        },
    }
    return uid


def status_model(
    pipeline_id: int, status_id: int, name: str, sort: int, color: str, *, kind: int = 0
) -> dict[str, Any]:
    editable = kind == 0 and status_id not in (WON_STATUS_ID, LOST_STATUS_ID)
    return {
        "id": status_id, "name": name, "sort": sort, "is_editable": editable, "pipeline_id": pipeline_id,
        "color": color, "type": kind,
    }  # fmt: skip


def add_pipeline(
    state: AmoState, fields: dict[str, Any], statuses: list[dict[str, Any]], now: int
) -> dict[str, Any]:
    """Create a pipeline; system statuses (unsorted when enabled, 142, 143) are added by the CRM itself,
    and a caller may name 142/143 by passing them with their ids (Kommo "Adding pipelines")."""
    pid = state.next_id("pipeline")
    if fields.get("is_main"):
        for other in state.pipelines.values():
            other["is_main"] = False
    pipeline = {
        "id": pid,
        "name": fields["name"],
        "sort": fields.get("sort", 100),
        "is_main": bool(fields.get("is_main", False)),
        "is_unsorted_on": bool(fields.get("is_unsorted_on", True)),
        "is_archive": bool(fields.get("is_archive", False)),
        "statuses": {},
    }
    state.pipelines[pid] = pipeline
    named = {s.get("id"): s for s in statuses if s.get("id") in (WON_STATUS_ID, LOST_STATUS_ID)}
    if pipeline["is_unsorted_on"]:
        sid = state.next_id("status")
        pipeline["statuses"][sid] = status_model(pid, sid, "Неразобранное", 10, UNSORTED_COLOR, kind=1)
    for status in statuses:
        if status.get("id") in (WON_STATUS_ID, LOST_STATUS_ID):
            continue
        sid = state.next_id("status")
        pipeline["statuses"][sid] = status_model(
            pid, sid, status["name"], int(status.get("sort", 100)), status.get("color", STATUS_COLORS[0])
        )
    won = named.get(WON_STATUS_ID, {})
    lost = named.get(LOST_STATUS_ID, {})
    pipeline["statuses"][WON_STATUS_ID] = status_model(
        pid, WON_STATUS_ID, won.get("name", "Успешно реализовано"), 10000, WON_COLOR
    )
    pipeline["statuses"][LOST_STATUS_ID] = status_model(
        pid, LOST_STATUS_ID, lost.get("name", "Закрыто и не реализовано"), 11000, LOST_COLOR
    )
    return pipeline


def first_working_status(pipeline: dict[str, Any]) -> int:
    """Where a lead lands without status_id: the first stage after the unsorted one."""
    working = [s for s in pipeline["statuses"].values() if s["type"] == 0 and s["is_editable"]]
    pool = working or list(pipeline["statuses"].values())
    return int(min(pool, key=lambda s: (s["sort"], s["id"]))["id"])


def add_predefined_field(
    state: AmoState, entity: str, code: str, name: str, kind: str, enums: list[str]
) -> None:
    fid = state.next_id("field")
    state.fields[entity][fid] = field_model(
        state,
        entity,
        fid,
        {"name": name, "type": kind, "code": code, "sort": len(state.fields[entity]) + 1},
        [{"id": state.next_id("enum"), "value": value, "sort": (i + 1) * 2} for i, value in enumerate(enums)]
        or None,
        predefined=True,
    )


def field_model(
    state: AmoState,
    entity: str,
    fid: int,
    data: dict[str, Any],
    enums: list[dict[str, Any]] | None,
    *,
    predefined: bool = False,
) -> dict[str, Any]:
    return {
        "id": fid,
        "name": data["name"],
        "type": data["type"],
        "account_id": state.account_id,
        "code": data.get("code"),
        "sort": data.get("sort", 500),
        "is_api_only": bool(data.get("is_api_only", False)),
        "enums": enums,
        "group_id": data.get("group_id"),
        "required_statuses": data.get("required_statuses", []) if entity == "leads" else None,
        "is_deletable": not predefined,
        "is_predefined": predefined,
        "entity_type": entity,
        "remind": data.get("remind"),
        "settings": data.get("settings"),
        "hidden_statuses": [],
        "chained_lists": None,
        "search_in": data.get("search_in"),
        "currency": data.get("currency"),
    }


Clock = Callable[[], float]

MAX_BATCH = 250  # items per add/update array and rows per list page (docs: "limit – 250")


@dataclass
class Call:
    """One API call as the handlers see it: parsed query and body, link base, time and caller."""

    state: AmoState
    method: str
    query: dict[str, Any]
    body: Any
    base: str
    now: int
    user_id: int
    raw_query: dict[str, list[str]] = field(default_factory=dict)
    modified_since: int | None = None  # the If-Modified-Since header, Unix seconds
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def emit(self, entity: str, action: str, record: dict[str, Any]) -> None:
        self.state.mutations += 1
        self.events.append((entity, action, copy.deepcopy(record)))
