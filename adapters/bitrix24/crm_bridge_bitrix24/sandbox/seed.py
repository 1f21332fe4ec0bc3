"""Seeding an emulated Bitrix24 portal (control API ``POST /_sandbox/seed`` and ``--seed FILE``).

Shape (every key optional)::

    {"users": [{"ID": 7, "NAME": "Ольга", "LAST_NAME": "Ким", "EMAIL": "kim@example.ru", "ACTIVE": true}],
     "categories": [{"name": "Партнёры", "sort": 200}],
     "userfields": {"company": [<crm.company.userfield.add fields>], "deal": [...]},
     "companies": [<crm.company.add fields>], "contacts": [...], "leads": [...], "deals": [...],
     "webhooks": [{"url": "http://127.0.0.1:9000/hook", "events": ["ONCRMDEALUPDATE"]}]}

Record fields are the API's own; ``DATE_CREATE``/``DATE_MODIFY`` may be given to build history.
A bad seed raises ValueError naming the entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm_bridge_bitrix24.sandbox import crm as crm
from crm_bridge_bitrix24.sandbox import funnels as funnels
from crm_bridge_bitrix24.sandbox import userfields as userfields
from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.history import backdate_creation
from crm_bridge_bitrix24.sandbox.portal import new_user
from crm_bridge_bitrix24.sandbox.state import B24Error, fmt_time, parse_time

if TYPE_CHECKING:
    from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

_ENTITIES = {"companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal"}


def _entries(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"seed key {key!r} must be a list of objects")
    return value


def seed_portal(emu: Bitrix24Emulator, data: dict[str, Any]) -> dict[str, Any]:
    """Load ``data`` through the same code as the API methods; ValueError names the bad entry."""
    if not isinstance(data, dict):
        raise ValueError("the seed must be a JSON object")
    unknown = sorted(set(data) - {"users", "categories", "userfields", "webhooks", *_ENTITIES})
    if unknown:
        raise ValueError(f"unknown seed key(s): {', '.join(unknown)}")
    state, now = emu.state, emu.now()
    ctx = Ctx(state, now, emu.owner)
    created: dict[str, Any] = {}
    for user in _entries(data, "users"):
        user_id = int(user.get("ID") or state.next_id("user"))
        state.sequences["user"] = max(state.sequences.get("user", 0), user_id)
        state.users[user_id] = new_user(
            user_id,
            str(user.get("NAME", "")),
            str(user.get("LAST_NAME", "")),
            str(user.get("EMAIL", "")),
            now,
            bool(user.get("ACTIVE", True)),
        )
        created.setdefault("users", []).append(user_id)
    where = ""
    try:
        for index, cat in enumerate(_entries(data, "categories")):
            where = f"categories[{index}]"
            answer = funnels.category_add(ctx, {"entityTypeId": 2, "fields": cat})
            created.setdefault("categories", []).append(answer.result["category"]["id"])
        ufs = data.get("userfields") or {}
        if not isinstance(ufs, dict) or set(ufs) - set(_ENTITIES.values()):
            raise ValueError("seed key 'userfields' maps company|contact|lead|deal to lists of fields")
        for entity in ufs:
            for index, fields in enumerate(_entries(ufs, entity)):
                where = f"userfields.{entity}[{index}]"
                created.setdefault("userfields", []).append(
                    userfields.userfield_add(entity, ctx, {"fields": fields}).result
                )
        for key, entity in _ENTITIES.items():
            for index, fields in enumerate(_entries(data, key)):
                where = f"{key}[{index}]"
                answer = crm.add(entity, ctx, {"fields": fields})
                row = state.records[entity][answer.result]
                for stamp in ("DATE_CREATE", "DATE_MODIFY"):
                    ts = parse_time(fields.get(stamp))
                    if ts is not None:
                        row[stamp] = fmt_time(ts)
                if parse_time(fields.get("DATE_CREATE")) is not None and not fields.get("DATE_MODIFY"):
                    row["DATE_MODIFY"] = row["DATE_CREATE"]
                if parse_time(fields.get("DATE_CREATE")) is not None:
                    backdate_creation(state, entity, answer.result, row["DATE_CREATE"])
                    if "MOVED_TIME" in row and not fields.get("MOVED_TIME"):
                        row["MOVED_TIME"] = row["DATE_CREATE"]
                created.setdefault(key, []).append(answer.result)
            crm.touch(ctx, entity)
    except B24Error as err:
        raise ValueError(f"seed rejected at {where}: {err.description}") from err
    for index, hook in enumerate(_entries(data, "webhooks")):
        if not hook.get("url"):
            raise ValueError(f"seed webhooks[{index}] needs a url")
        emu.register_webhook(str(hook["url"]), hook.get("events"))
    return created
