"""The Telegram Bot API calls the partner bot makes (getUpdates, sendMessage, setWebhook,
deleteWebhook), through ``crm_bridge.http`` like every outbound call: timeouts, retries honouring the
429 answer's ``parameters.retry_after``, the bot's overall message budget in the state store's bucket
(shared by every replica), the token (part of the URL path) kept out of errors and logs.

Why not python-telegram-bot or aiogram: both are asyncio frameworks with their own HTTP client
(httpx / aiohttp), so the bot's calls would bypass the one HTTP layer: no store-backed rate bucket
shared across replicas, no request counts in the metrics, a second retry policy and a second place
where the token must be redacted. The bot needs four methods and plain JSON; the dialogue logic is ours
either way, and the daemon's jobs are threads, so a synchronous client over the HTTP layer is the
smaller and more honest piece."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_bridge.errors import CrmError, CrmRetriableError, CrmValidationError, PermissionDenied
from crm_bridge.http import HttpClient, HttpPolicy, RateBudget
from crm_bridge.ports import BucketStore
from crm_bridge.redaction import redact
from crm_bridge.services.notify.telegram import _answer, _error, _retry_after

NAME = "telegram"
TEXT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    message_id: int | None = None
    error: str = ""
    permanent: bool = False  # 400/403: the chat is gone or blocked the bot; waiting will not help
    retry_after: float | None = None
    answered: bool = False  # Telegram answered (with an error): the message was not sent


class BotApi:
    """One bot (``token``). ``messages_per_second``: the overall budget (Telegram: 30/s)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.telegram.org",
        messages_per_second: float = 25.0,
        poll_timeout: int = 20,
        bucket: BucketStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self._token = token
        self.poll_timeout = poll_timeout
        bot_id = token.split(":", 1)[0] if token[:1].isdigit() else "bot"
        root = f"{base_url.rstrip('/')}/bot{token}/"
        common: dict[str, Any] = {
            "name": NAME,
            "base_url": root,
            "retry_after_from": _retry_after,
            "translate_error": _error,
            "refused_before_running": lambda r: r.status_code == 429,
            "max_retry_after": 30.0,
        }
        send = HttpPolicy(
            connect_timeout=5.0,
            read_timeout=20.0,
            max_retries=3,
            rate_key=f"partner-bot:{bot_id}",
            budgets=(RateBudget.leaky("messages", messages_per_second, messages_per_second),),
            **common,
        )
        # getUpdates holds the request open up to poll_timeout seconds: the read timeout allows for it
        poll = HttpPolicy(connect_timeout=5.0, read_timeout=poll_timeout + 15.0, max_retries=2, **common)
        self.http = HttpClient(send, bucket=bucket, clock=clock, sleep=sleep, on_request=on_request)
        self._poll = HttpClient(poll, clock=clock, sleep=sleep, on_request=on_request)

    def clean(self, text: str) -> str:
        return redact(text.replace(self._token, "***") if self._token else text)

    def close(self) -> None:
        self.http.close()
        self._poll.close()

    def _call(self, client: HttpClient, method: str, body: dict[str, Any]) -> Any:
        answer = _answer(client.post(method, json=body))
        if not answer.get("ok"):
            raise CrmError(self.clean(f"{NAME} {method} answered without ok"), crm=NAME)
        return answer.get("result")

    def get_updates(self, offset: int, timeout: int | None = None) -> list[dict[str, Any]]:
        """Updates after ``offset`` (which confirms the ones before it). CrmError on failure."""
        wait = self.poll_timeout if timeout is None else timeout
        result = self._call(
            self._poll, "getUpdates", {"offset": offset, "timeout": wait, "allowed_updates": ["message"]}
        )
        return [u for u in result or [] if isinstance(u, dict)]

    def send_message(self, chat_id: str, text: str) -> Sent:
        """One message; never raises for the Bot API's answers (they come back in ``Sent``)."""
        body = {"chat_id": chat_id, "text": text[:TEXT_LIMIT], "disable_web_page_preview": True}
        try:
            response = self.http.post("sendMessage", json=body)
        except CrmError as exc:
            retry_after = exc.retry_after if isinstance(exc, CrmRetriableError) else None
            permanent = isinstance(exc, CrmValidationError | PermissionDenied)
            answered = getattr(exc, "status", None) is not None
            return Sent(False, None, self.clean(str(exc))[:400], permanent, retry_after, answered)
        answer = _answer(response)
        if not answer.get("ok"):
            return Sent(False, None, "answered without ok", answered=True)
        return Sent(True, (answer.get("result") or {}).get("message_id"))

    def set_webhook(self, url: str, secret: str) -> None:
        self._call(
            self._poll, "setWebhook", {"url": url, "secret_token": secret, "allowed_updates": ["message"]}
        )

    def delete_webhook(self) -> None:
        self._call(self._poll, "deleteWebhook", {})
