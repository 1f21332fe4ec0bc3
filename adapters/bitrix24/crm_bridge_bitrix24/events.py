"""Bitrix24 events into crm-bridge's event queue, both ways a company connects.

- Local application (OAuth), the default for ``oauth`` installs: offline events (b24restdocs
  api-reference/events/offline-events.md). ``event.bind`` with ``event_type=offline`` once; the worker then
  calls ``event.offline.get`` with ``clear=0`` (the records are marked with a ``process_id``), stores
  them, and only then ``event.offline.clear`` with that ``process_id`` — a crash in between gets the
  same records again (stored once by MESSAGE_ID). No public endpoint is needed: the usual case for a
  daemon behind a company firewall. These methods work only in an application's auth context.
- Inbound webhook installs: the portal's outgoing webhook (an admin sets it up in the portal, pointing at
  ``<events.public_url>/v1/events/<path_token>``) POSTs form-encoded events whose
  ``auth[application_token]`` must equal ``crm.bitrix24.application_token`` (constant-time compare) and
  whose ``auth[domain]`` must be our portal. Without a public URL polling stays the path (doctor says so).

Loop safety: only deal and company events are subscribed (never tasks, so our task writes raise none);
a deal event our own write raised (the responsible user set by distribution) costs one re-read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from crm_bridge.errors import EventRefused
from crm_bridge.ports import CrmEvent, Entity, InboundRequest
from crm_bridge.texts import in_locale
from crm_bridge_bitrix24.texts import TEXT as EVENT_TEXT

EVENTS = ("ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE", "ONCRMCOMPANYADD", "ONCRMCOMPANYUPDATE")
OFFLINE_LIMIT = 50  # event.offline.get's default page
_ENTITY = {"DEAL": Entity.LEAD, "COMPANY": Entity.PARTNER}
_NAME = re.compile(r"^ONCRM(DEAL|COMPANY|LEAD|CONTACT)")


def entity_of(event: str) -> Entity | None:
    m = _NAME.match(event.upper())
    return _ENTITY.get(m.group(1)) if m else None


@dataclass(frozen=True)
class OutgoingWebhook:
    """Checks and parses the portal's outgoing-webhook POSTs."""

    application_token: str
    domain: str

    def receive(self, request: InboundRequest) -> list[CrmEvent]:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise EventRefused(400, "malformed", "Bitrix24 events are form-encoded")
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise EventRefused(400, "malformed", "the body is not a form") from None
        token = form.get("auth[application_token]", "")
        if not hmac.compare_digest(token.encode(), self.application_token.encode()):
            raise EventRefused(401, "token", "auth[application_token] does not match")
        if form.get("auth[domain]", "").lower() != self.domain.lower():
            raise EventRefused(403, "account", "an event of another Bitrix24 portal")
        event = form.get("event", "").upper()
        record = form.get("data[FIELDS][ID]") or form.get("data[FIELDS_AFTER][ID]") or ""
        if not event.startswith("ON") or not record.isdigit():
            raise EventRefused(400, "malformed", "the event names no event or record id")
        stamp = form.get("ts", "")
        digest = hashlib.sha256(f"{event}|{record}|{stamp}|{form.get('event_handler_id', '')}".encode())
        return [CrmEvent(event, entity_of(event), record, f"bitrix24:{digest.hexdigest()[:40]}")]


@dataclass
class OfflineEvents:
    """``call(method, params) -> result`` is the adapter's client (OAuth)."""

    call: Callable[[str, dict[str, Any]], Any]
    language: str = "en"  # of the line ``subscribe`` returns

    def subscribe(self) -> str:
        bound = {
            str(row.get("event", "")).upper()
            for row in (self.call("event.get", {}) or [])
            if int(row.get("offline", 0) or 0) == 1
        }
        for event in EVENTS:
            if event not in bound:
                self.call("event.bind", {"event": event, "event_type": "offline"})
        return in_locale(EVENT_TEXT, self.language)["offline_bound"].format(count=len(EVENTS))

    def pull(self, store: Callable[[list[CrmEvent]], None], limit: int = OFFLINE_LIMIT) -> int:
        answer = self.call("event.offline.get", {"clear": 0, "limit": limit}) or {}
        rows = answer.get("events") or []
        process = answer.get("process_id")
        if not rows or not process:
            return 0
        events = []
        for row in rows:
            name = str(row.get("EVENT_NAME", "")).upper()
            data = row.get("EVENT_DATA") or {}
            fields = (data.get("FIELDS") or data.get("FIELDS_AFTER") or {}) if isinstance(data, dict) else {}
            record = str(fields.get("ID", ""))
            key = f"bitrix24:offline:{row.get('MESSAGE_ID') or row.get('ID')}:{row.get('TIMESTAMP_X', '')}"
            events.append(CrmEvent(name, entity_of(name), record, key, source="offline"))
        store(events)  # committed before the portal forgets them
        self.call("event.offline.clear", {"process_id": process})
        return len(rows)
