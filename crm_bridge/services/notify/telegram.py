"""The Telegram Bot API channel of the notification outbox (https://core.telegram.org/bots/api),
sent through ``crm_bridge.http`` like every outbound call: connect/read timeouts, retries honouring
the 429 answer's ``parameters.retry_after`` (a longer wait goes back to the outbox with that time),
the bot's request budget, the token (part of the URL path) kept out of errors and logs, and
``on_request`` metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import requests

from crm_bridge.errors import (
    AuthError,
    CrmError,
    CrmRetriableError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge.http import HttpClient, HttpPolicy, RateBudget
from crm_bridge.ports import BucketStore
from crm_bridge.redaction import redact
from crm_bridge.services.notify.message import Delivery, Message

NAME = "telegram"
TEXT_LIMIT = 4096  # sendMessage: "1-4096 characters after entities parsing"
# Bot API FAQ: "no more than 30 messages per second" in bulk; a longer flood wait is rescheduled.
MESSAGES_PER_SECOND = 30
MAX_RETRY_AFTER = 30.0


def _answer(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response, now: float) -> float | None:
    wait = (_answer(response).get("parameters") or {}).get("retry_after")
    return float(wait) if isinstance(wait, int | float) else None


def _error(response: requests.Response) -> CrmError:
    answer = _answer(response)
    status = int(answer.get("error_code") or response.status_code)
    description = str(answer.get("description") or f"HTTP {response.status_code}")[:300]
    message = f"{NAME} answered {status}: {description}"
    # 400 (chat not found, bad text) and 403 (bot blocked by the user) will not change by waiting;
    # 401/404 (a wrong or revoked token) is fixed in the config, after which the retry goes through.
    kinds: dict[int, type[CrmError]] = {
        400: CrmValidationError,
        403: PermissionDenied,
        401: AuthError,
        404: NotFound,
        429: RateLimited,
    }
    kind = kinds.get(status, TransientError if status >= 500 else CrmValidationError)
    return kind(message, crm=NAME, status=status)


class TelegramBot:
    """``POST {base_url}/bot<token>/sendMessage`` per message. ``bucket`` (the state store's) shares
    the bot's message budget with other processes; ``clock``/``sleep`` drive waits in tests."""

    name = NAME

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.telegram.org",
        timeout: tuple[float, float] = (5.0, 20.0),
        max_retries: int = 3,
        bucket: BucketStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self._token = token
        bot_id = token.split(":", 1)[0] if token[:1].isdigit() else "bot"
        policy = HttpPolicy(
            name=NAME,
            base_url=f"{base_url.rstrip('/')}/bot{token}/",
            connect_timeout=timeout[0],
            read_timeout=timeout[1],
            max_retries=max_retries,
            max_retry_after=MAX_RETRY_AFTER,
            rate_key=f"{NAME}:{bot_id}",
            budgets=(RateBudget.leaky("messages", MESSAGES_PER_SECOND, MESSAGES_PER_SECOND),),
            retry_after_from=_retry_after,
            translate_error=_error,
            refused_before_running=lambda r: r.status_code == 429,  # flood control: nothing was sent
        )
        self.http = HttpClient(policy, bucket=bucket, clock=clock, sleep=sleep, on_request=on_request)

    def _clean(self, text: str) -> str:
        return redact(text.replace(self._token, "***") if self._token else text)

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        return [self._send(m) for m in messages]

    def close(self) -> None:
        self.http.close()

    def _send(self, message: Message) -> Delivery:
        body = {
            "chat_id": message.telegram_chat_id,
            "text": f"{message.subject}\n{message.text}"[:TEXT_LIMIT],
            "disable_web_page_preview": True,
        }
        try:
            response = self.http.post("sendMessage", json=body)
        except CrmError as exc:
            error = self._clean(str(exc))[:400]
            retry_after = exc.retry_after if isinstance(exc, CrmRetriableError) else None
            permanent = isinstance(exc, CrmValidationError | PermissionDenied)
            return Delivery(False, error, permanent=permanent, retry_after=retry_after)
        answer = _answer(response)
        if not answer.get("ok"):
            return Delivery(False, self._clean(f"{NAME} answered without ok: {answer}")[:300])
        return Delivery(True, detail={"message_id": (answer.get("result") or {}).get("message_id")})
