"""Outbound events: outgoing webhooks (registered through the sandbox control API, as an admin sets
them up in the portal UI) and application handlers bound with event.bind (OAuth only), delivered as
form-encoded POSTs carrying only the record id; and offline events (``event.bind`` with
``event_type=offline``), queued for the application to fetch with ``event.offline.get`` (``clear=1`` by
default; ``clear=0`` marks the records with a ``process_id``) and remove with ``event.offline.clear``.

References: b24restdocs api-reference/events/index.md, offline-events.md, event-offline-get.md,
event-offline-clear.md (payload, ``auth`` keys per subscription kind),
event-bind.md, event-get.md, event-unbind.md, tasks/events-tasks/on-task-add.md (task payloads).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from crm_bridge.sandbox.delivery import Deliver
from crm_bridge_bitrix24.sandbox.auth import MEMBER_ID, Caller, Credentials
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer
from crm_bridge_bitrix24.sandbox.state import B24Error

USER_AGENT = "Bitrix24 Webhook Engine"


@dataclass
class EventHub:
    domain: str
    application_token: str
    deliver: Deliver
    targets: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1
    offline: list[dict[str, Any]] = field(default_factory=list)  # the offline event queue
    next_offline: int = 1

    def register_webhook(self, url: str, events: list[str] | None) -> dict[str, Any]:
        target = {
            "id": self._id(),
            "kind": "webhook",
            "url": url,
            "events": [e.upper() for e in events] if events else ["*"],
            "user": 0,
        }
        self.targets.append(target)
        return {"url": url, "events": target["events"], "application_token": self.application_token}

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    # -- event.bind / event.get / event.unbind (application context only) ---------------------------
    def bind(self, caller: Caller, params: dict[str, Any]) -> Answer:
        self._app_only(caller)
        event = str(pick(params, "event", default="") or "").upper()
        handler = str(pick(params, "handler", default="") or "")
        offline = str(pick(params, "event_type", default="online") or "online").lower() == "offline"
        if offline:  # event-bind.md: an offline event has no handler
            if not event.startswith("ON"):
                raise B24Error(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
            if any(t["kind"] == "offline" and t["events"] == [event] for t in self.targets):
                raise B24Error(400, "ERROR_HANDLER_ALREADY_EXIST", "Handler already exists!")
            self.targets.append(
                {"id": self._id(), "kind": "offline", "url": "", "events": [event], "user": 0}
            )
            return Answer(True)
        if not event.startswith("ON") or not handler:
            raise B24Error(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
        user = int(str(pick(params, "auth_type", default=0) or 0)) or caller.user_id
        if any(t["events"] == [event] and t["url"] == handler for t in self.targets):
            raise B24Error(400, "ERROR_HANDLER_ALREADY_EXIST", "Handler already exists!")
        self.targets.append(
            {"id": self._id(), "kind": "app", "url": handler, "events": [event], "user": user}
        )
        return Answer(True)

    def get(self, caller: Caller, params: dict[str, Any]) -> Answer:
        self._app_only(caller)
        rows = [
            {
                "event": t["events"][0],
                "handler": t["url"],
                "auth_type": str(t["user"]),
                "offline": int(t["kind"] == "offline"),
            }
            for t in self.targets
            if t["kind"] in ("app", "offline")
        ]
        return Answer(rows)

    def unbind(self, caller: Caller, params: dict[str, Any]) -> Answer:
        self._app_only(caller)
        event = str(pick(params, "event", default="") or "").upper()
        handler = str(pick(params, "handler", default="") or "")
        offline = str(pick(params, "event_type", default="online") or "online").lower() == "offline"
        kind = "offline" if offline else "app"
        keep = [
            t
            for t in self.targets
            if t["kind"] != kind or t["events"] != [event] or (handler and t["url"] != handler)
        ]
        count = len(self.targets) - len(keep)
        self.targets[:] = keep
        return Answer({"count": count})

    def offline_get(self, caller: Caller, params: dict[str, Any]) -> Answer:
        """event-offline-get.md: the first ``limit`` (default 50) records not taken by another
        process; ``clear=1`` (default) deletes them at once, ``clear=0`` marks them with the
        ``process_id`` (a new one when none is given) until ``event.offline.clear``."""
        self._app_only(caller)
        limit = int(str(pick(params, "limit", default=50) or 50))
        clear = str(pick(params, "clear", default=1)) not in ("0", "false", "N")
        process = str(pick(params, "process_id", default="") or "")
        free = [e for e in self.offline if e["process_id"] in (None, process or None)][:limit]
        if not clear and free and not process:
            process = secrets.token_hex(16)
        for record in free:
            record["process_id"] = None if clear else process
        if clear:
            taken = {id(r) for r in free}
            self.offline[:] = [e for e in self.offline if id(e) not in taken]
        events = [{k: v for k, v in e.items() if k != "process_id"} for e in free]
        return Answer({"process_id": process or None, "events": events})

    def offline_clear(self, caller: Caller, params: dict[str, Any]) -> Answer:
        """event-offline-clear.md: delete the records marked with ``process_id`` (those of ``id``, or
        of ``message_id``, when given)."""
        self._app_only(caller)
        process = str(pick(params, "process_id", default="") or "")
        if not process:
            raise B24Error(400, "INVALID_REQUEST", "process_id is required")
        ids = {str(i) for i in (pick(params, "id", default=None) or [])}
        messages = {str(i) for i in (pick(params, "message_id", default=None) or [])}

        def gone(e: dict[str, Any]) -> bool:
            if e["process_id"] != process:
                return False
            if ids:
                return e["ID"] in ids
            return not messages or e["MESSAGE_ID"] in messages

        self.offline[:] = [e for e in self.offline if not gone(e)]
        return Answer(True)

    @staticmethod
    def _app_only(caller: Caller) -> None:
        if caller.via != "oauth":  # event-bind.md: "works only within the context of application"
            raise B24Error(403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")

    # -- delivery --------------------------------------------------------------------------------------
    def emit(
        self, events: list[tuple[str, int]], now: float, credentials: Credentials, client_endpoint: str
    ) -> None:
        for event, record_id in events:
            for target in self.targets:
                if "*" not in target["events"] and event not in target["events"]:
                    continue
                if target["kind"] == "offline":
                    self._queue_offline(event, record_id, now)
                    continue
                form = {"event": event, "event_handler_id": str(target["id"]), **_data(event, record_id)}
                form["ts"] = str(int(now))
                auth = {
                    "domain": self.domain,
                    "client_endpoint": client_endpoint,
                    "server_endpoint": "https://oauth.bitrix.info/rest/",
                    "member_id": MEMBER_ID,
                    "application_token": self.application_token,
                }
                if target["kind"] == "app":  # handlers of an app also get a token of the bound user
                    token = credentials.issue_access(int(target["user"]), now)
                    auth = {"access_token": token, "expires_in": str(credentials.access_ttl)} | auth
                    auth |= {"scope": ",".join(credentials.scopes), "status": "L"}
                form.update({f"auth[{k}]": v for k, v in auth.items()})
                headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
                self.deliver(target["url"], urlencode(form).encode(), headers)

    def _queue_offline(self, event: str, record_id: int, now: float) -> None:
        # offline-events.md: the same event of the same record not yet taken is kept once
        message = hashlib.md5(f"{event}|{record_id}".encode()).hexdigest()  # noqa: S324 (an id, not a secret)
        if any(e["MESSAGE_ID"] == message and e["process_id"] is None for e in self.offline):
            return
        fields = {"ID": str(record_id)}
        data = {"FIELDS_AFTER": fields} if event.startswith("ONTASK") else {"FIELDS": fields}
        self.offline.append(
            {
                "ID": str(self.next_offline),
                "TIMESTAMP_X": datetime.fromtimestamp(now, UTC).isoformat(),
                "EVENT_NAME": event,
                "EVENT_DATA": data,
                "EVENT_ADDITIONAL": {"user_id": "0"},
                "MESSAGE_ID": message,
                "process_id": None,
            }
        )
        self.next_offline += 1


def _data(event: str, record_id: int) -> dict[str, str]:
    if event.startswith("ONTASK"):
        before = (
            {"data[FIELDS_BEFORE]": "undefined"}
            if event == "ONTASKADD"
            else {"data[FIELDS_BEFORE][ID]": str(record_id)}
        )
        accessible = "N" if event == "ONTASKADD" else "undefined"
        return before | {
            "data[FIELDS_AFTER][ID]": str(record_id),
            "data[IS_ACCESSIBLE_BEFORE]": accessible,
            "data[IS_ACCESSIBLE_AFTER]": "undefined",
        }
    return {"data[FIELDS][ID]": str(record_id)}
