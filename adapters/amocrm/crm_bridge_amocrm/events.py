"""amoCRM webhooks into crm-bridge's event queue.

amoCRM POSTs ``application/x-www-form-urlencoded`` bodies in its old v2 vocabulary
(``leads[add][0][id]``, ``contacts[update][0][type]=company``, ``account[id]``, ``account[subdomain]``)
to the URL registered with ``POST /api/v4/webhooks``, and signs nothing (amocrm.ru/developers
"Вебхуки"). So the secret is the path token of that URL, the account id in the body must be ours
(403 otherwise), and the payload is only a hint: the worker re-reads the touched records through the
API. amoCRM waits 2 seconds for an answer and disables a hook that keeps failing, so the receiver
stores and answers, nothing more.

De-duplication: hooks carry no event id; the key is a digest of (entity, action, id, last_modified),
so a redelivery is stored once and a later change of the same record is a new event.

Loop safety: changes made by our own API user (``modified_user_id`` = the token's user) other than
``add`` are dropped — they are our distribution's responsible-user and stage writes; creations are
kept (the worker's work is idempotent anyway). Tasks are never subscribed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from crm_bridge.errors import EventRefused
from crm_bridge.ports import CrmEvent, Entity, InboundRequest

# What provisioning subscribes the receiver to (POST /api/v4/webhooks "settings").
SETTINGS = [
    "add_lead",
    "update_lead",
    "status_lead",
    "responsible_lead",
    "delete_lead",
    "restore_lead",
    "add_company",
    "update_company",
    "delete_company",
]
_KEY = re.compile(r"^(leads|contacts|companies)\[(\w+)\]\[(\d+)\]\[(\w+)\]$")
_ACCOUNT = re.compile(r"^account\[(\w+)\]$")


@dataclass
class AmoEvents:
    """``account()`` returns ``(account id, our API user id)`` (read once from /api/v4/account)."""

    account: Callable[[], tuple[int, int | None]]
    _known: tuple[int, int | None] | None = field(default=None, init=False)

    def receive(self, request: InboundRequest) -> list[CrmEvent]:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise EventRefused(400, "malformed", "amoCRM webhooks are form-encoded")
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise EventRefused(400, "malformed", "the body is not a form") from None
        account: dict[str, str] = {}
        records: dict[tuple[str, str, str], dict[str, str]] = {}
        for key, value in pairs:
            if m := _ACCOUNT.match(key):
                account[m.group(1)] = value
            elif m := _KEY.match(key):
                records.setdefault((m.group(1), m.group(2), m.group(3)), {})[m.group(4)] = value
        if not account.get("id", "").isdigit():
            raise EventRefused(400, "malformed", "the hook names no account[id]")
        if self._known is None:
            self._known = self.account()
        ours, user = self._known
        if int(account["id"]) != ours:
            raise EventRefused(403, "account", f"a hook of amoCRM account {account['id']}, not ours")
        return [e for e in (self._event(k, r, user) for k, r in records.items()) if e is not None]

    @staticmethod
    def _event(key: tuple[str, str, str], record: dict[str, Any], user: int | None) -> CrmEvent | None:
        group, action, _ = key
        if not str(record.get("id", "")).isdigit():
            raise EventRefused(400, "malformed", f"a {group} {action} item has no id")
        if action != "add" and user is not None and str(record.get("modified_user_id")) == str(user):
            return None  # our own write (loop safety)
        entity = Entity.LEAD if group == "leads" else None
        if group == "companies" or record.get("type") == "company":
            entity = Entity.PARTNER
        stamp = record.get("last_modified") or record.get("date_create") or ""
        digest = hashlib.sha256(f"{group}|{action}|{record['id']}|{stamp}".encode()).hexdigest()[:40]
        return CrmEvent(
            kind=f"{group}.{action}", entity=entity, crm_id=str(record["id"]), dedup_key=f"amocrm:{digest}"
        )
