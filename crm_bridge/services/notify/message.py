"""What the notification outbox hands a delivery channel (``Message``), what it answers per message
(``Delivery``) and the ``Channel`` protocol every channel implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crm_bridge.texts import words

__all__ = ["SENT", "Channel", "Delivery", "Message", "notice"]


def notice(notifier: object, key: str, **params: object) -> str:
    """The notification text ``key`` (catalogue section ``notify``) filled with ``params``, in the
    notifier's locale (``Notifier.locale``; English for a notifier without one)."""
    return words("notify", str(getattr(notifier, "locale", "en")))[key].format(**params)


@dataclass(frozen=True, slots=True)
class Message:
    """One queued notification to one recipient through one channel."""

    outbox_id: int
    key: str  # the outbox idempotency key: also the CRM external id of the notification/task
    event: str
    subject: str
    text: str
    name: str
    crm_user_id: str = ""
    email: str = ""
    telegram_chat_id: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one message. ``permanent`` failures are not retried; ``retry_after`` is the
    wait the other side asked for (seconds)."""

    ok: bool
    error: str = ""
    permanent: bool = False
    retry_after: float | None = None
    detail: dict[str, Any] | None = None


SENT = Delivery(True)


class Channel(Protocol):
    name: str

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        """One Delivery per message, in order. Never raises."""
        ...
