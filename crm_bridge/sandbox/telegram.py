"""A Telegram Bot API stand-in for the sandbox (https://core.telegram.org/bots/api): ``getMe``,
``getUpdates`` (offset confirms, limit, long-poll timeout), ``sendMessage``, ``setWebhook`` /
``deleteWebhook`` (updates are then POSTed to the URL with ``X-Telegram-Bot-Api-Secret-Token``), the
documented answer shape ``{"ok": false, "error_code", "description", "parameters": {"retry_after"}}``,
and, with rate limits on, 429 for more than one message a second to a chat or 30 a second overall
(Bot FAQ, "My bot is hitting limits"). Tests play the users: ``user_says(chat, text)``, ``sent(chat)``.

    tg = TelegramEmulator(token="123:abc")
    with Sandbox("telegram", emulator=tg) as sb:
        tg.user_says(1001, "/start")
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import requests

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse

TEXT_LIMIT = 4096
PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
GLOBAL_PER_SECOND = 30
SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _error(status: int, description: str, retry_after: int | None = None) -> SandboxResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return SandboxResponse(status, body)


def _ok(result: Any) -> SandboxResponse:
    return SandboxResponse(200, {"ok": True, "result": result})


class TelegramEmulator:
    """One bot (``token``) and the users who talk to it."""

    kind = "telegram"

    def __init__(self, token: str = "123456:TEST-token", username: str = "partners_test_bot") -> None:  # noqa: S107
        self.token = token
        self.username = username
        self._clock: Callable[[], float] = time.time
        self._rate_limit = False
        self._cond = threading.Condition()
        self.reset()

    # -- the Emulator protocol ------------------------------------------------------------------------
    def reset(self) -> None:
        with self._cond:
            self._updates: deque[dict[str, Any]] = deque()
            self._next_update = 1
            self._next_message = 1
            self.outbox: list[dict[str, Any]] = []  # every message the bot sent, in order
            self.chats: set[int] = set()  # chats that wrote to the bot (sendMessage elsewhere: 400)
            self.blocked: set[int] = set()  # users who blocked the bot (403)
            self.webhook: dict[str, Any] | None = None
            self._last_to_chat: dict[int, float] = {}
            self._recent: deque[float] = deque()
            self.refused_429 = 0

    def set_clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def set_rate_limit(self, enabled: bool) -> None:
        self._rate_limit = enabled

    def error_response(self, status: int) -> SandboxResponse:
        texts = {401: "Unauthorized", 429: "Too Many Requests: retry after 5", 500: "Internal Server Error"}
        return _error(status, texts.get(status, "Bad Gateway"), 5 if status == 429 else None)

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        for chat in data.get("chats", []):
            self.chats.add(int(chat))
        return {"chats": sorted(self.chats)}

    def dump(self) -> dict[str, Any]:
        with self._cond:
            return {
                "sent": list(self.outbox),
                "pending_updates": list(self._updates),
                "webhook": self.webhook,
            }

    def config_snippet(self, base_url: str) -> dict[str, Any]:
        return {"bot": {"enabled": True, "token": self.token, "base_url": base_url}}

    def endpoint_of(self, path: str) -> str:
        return path.rsplit("/", 1)[-1]

    # -- the users' side (tests) ----------------------------------------------------------------------
    def user_says(self, chat_id: int, text: str, *, first_name: str = "Test", language: str = "ru") -> int:
        """A private message from user ``chat_id``; returns the update id. Queued for getUpdates, or
        POSTed to the webhook at once when one is set."""
        with self._cond:
            update_id = self._next_update
            self._next_update += 1
            self.chats.add(chat_id)
            update = {
                "update_id": update_id,
                "message": {
                    "message_id": 10_000 + update_id,
                    "date": int(self._clock()),
                    "chat": {"id": chat_id, "type": "private", "first_name": first_name},
                    "from": {
                        "id": chat_id,
                        "is_bot": False,
                        "first_name": first_name,
                        "language_code": language,
                    },
                    "text": text,
                },
            }
            hook = self.webhook
            if hook is None:
                self._updates.append(update)
                self._cond.notify_all()
        if hook is not None:
            headers = (
                {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
            )
            requests.post(hook["url"], json=update, headers=headers, timeout=30)
        return update_id

    def sent(self, chat_id: int | None = None) -> list[str]:
        """Texts the bot sent (to ``chat_id``), oldest first."""
        with self._cond:
            return [m["text"] for m in self.outbox if chat_id is None or m["chat_id"] == chat_id]

    # -- the Bot API ------------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        head, _, method = request.path.rpartition("/")
        if head != f"/bot{self.token}":
            return _error(
                401 if head.startswith("/bot") else 404,
                "Unauthorized" if head.startswith("/bot") else "Not Found",
            )
        try:
            params = self._params(request)
        except ValueError:
            return _error(400, "Bad Request: can't parse JSON")
        handler = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
        }.get(method)
        if handler is None:
            return _error(404, "Not Found")
        return handler(params)

    @staticmethod
    def _params(request: SandboxRequest) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = request.json() or {}
            if not isinstance(body, dict):
                raise ValueError("not an object")
            return body
        merged = {k: v[-1] for k, v in request.query.items()}
        if request.body:
            merged.update({k: v[-1] for k, v in request.form().items()})
        return merged

    def _get_me(self, params: dict[str, Any]) -> SandboxResponse:
        bot_id = int(self.token.split(":", 1)[0]) if self.token[:1].isdigit() else 1
        return _ok({"id": bot_id, "is_bot": True, "first_name": "Partners", "username": self.username})

    def _get_updates(self, params: dict[str, Any]) -> SandboxResponse:
        try:
            offset = int(params.get("offset", 0))
            limit = max(1, min(100, int(params.get("limit", 100))))
            timeout = max(0.0, float(params.get("timeout", 0)))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: wrong parameter value")
        with self._cond:
            if self.webhook is not None:
                return _error(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            # "An update is considered confirmed as soon as getUpdates is called with an offset higher
            # than its update_id."
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
            if not self._updates and timeout > 0:
                self._cond.wait(timeout=min(timeout, 50.0))
            return _ok(list(self._updates)[:limit])

    def _send_message(self, params: dict[str, Any]) -> SandboxResponse:
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: chat not found")
        text = str(params.get("text") or "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        with self._cond:
            if chat_id not in self.chats:
                return _error(400, "Bad Request: chat not found")
            if chat_id in self.blocked:
                return _error(403, "Forbidden: bot was blocked by the user")
            now = self._clock()
            if self._rate_limit:
                while self._recent and self._recent[0] <= now - 1.0:
                    self._recent.popleft()
                last = self._last_to_chat.get(chat_id)
                if len(self._recent) >= GLOBAL_PER_SECOND or (
                    last is not None and now - last < PER_CHAT_INTERVAL
                ):
                    self.refused_429 += 1
                    return _error(429, "Too Many Requests: retry after 1", 1)
                self._recent.append(now)
            self._last_to_chat[chat_id] = now
            message_id = self._next_message
            self._next_message += 1
            message = {"message_id": message_id, "chat_id": chat_id, "text": text, "date": int(now)}
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self.outbox.append(message)
        return _ok(
            {
                "message_id": message_id,
                "date": int(now),
                "chat": {"id": chat_id, "type": "private"},
                "text": text,
            }
        )

    def _set_webhook(self, params: dict[str, Any]) -> SandboxResponse:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if secret and (len(secret) > 256 or not set(secret) <= SECRET_CHARS):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        with self._cond:
            if not url:
                self.webhook = None
                return SandboxResponse(
                    200, {"ok": True, "result": True, "description": "Webhook was deleted"}
                )
            if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self.webhook = {"url": url, "secret_token": secret}
        return SandboxResponse(200, {"ok": True, "result": True, "description": "Webhook was set"})

    def _delete_webhook(self, params: dict[str, Any]) -> SandboxResponse:
        with self._cond:
            self.webhook = None
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._updates.clear()
        return SandboxResponse(200, {"ok": True, "result": True, "description": "Webhook was deleted"})

    def _webhook_info(self, params: dict[str, Any]) -> SandboxResponse:
        with self._cond:
            url = self.webhook["url"] if self.webhook else ""
            return _ok(
                {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}
            )
