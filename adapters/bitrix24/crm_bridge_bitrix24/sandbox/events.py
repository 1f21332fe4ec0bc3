"""Outbound events: outgoing webhooks (registered through the sandbox control API, as an admin sets
them up in the portal UI) and application handlers bound with event.bind (OAuth only), delivered as
form-encoded POSTs carrying only the record id.

References: b24restdocs api-reference/events/index.md (payload, ``auth`` keys per subscription kind),
event-bind.md, event-get.md, event-unbind.md, tasks/events-tasks/on-task-add.md (task payloads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
            {"event": t["events"][0], "handler": t["url"], "auth_type": str(t["user"]), "offline": 0}
            for t in self.targets
            if t["kind"] == "app"
        ]
        return Answer(rows)

    def unbind(self, caller: Caller, params: dict[str, Any]) -> Answer:
        self._app_only(caller)
        event = str(pick(params, "event", default="") or "").upper()
        handler = str(pick(params, "handler", default="") or "")
        keep = [
            t
            for t in self.targets
            if t["kind"] != "app" or t["events"] != [event] or (handler and t["url"] != handler)
        ]
        count = len(self.targets) - len(keep)
        self.targets[:] = keep
        return Answer({"count": count})

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
