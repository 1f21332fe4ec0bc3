"""Who hears about what: recipients and their addresses per channel, the per-event routing of the
config's ``notifications`` section, and the back-off of failed deliveries (the event subjects are in
the catalogue, ``crm_bridge.texts``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a notification goes to, with an address per channel (any may be empty)."""

    name: str
    crm_user_id: str = ""
    email: str = ""
    telegram_chat_id: str = ""

    @classmethod
    def of(cls, person: Any) -> Recipient:
        """From a ``Recipient``, domain ``Manager``/``Curator`` or a config person (duck-typed: each has
        a name and a CRM user id; a domain ``Manager`` has no addresses)."""
        if isinstance(person, Recipient):
            return person
        return cls(
            name=str(person.name),
            crm_user_id=str(person.crm_user_id),
            email=str(getattr(person, "email", "")),
            telegram_chat_id=str(getattr(person, "telegram_chat_id", "")),
        )

    def merged(self, known: Recipient | None) -> Recipient:
        """Addresses this recipient lacks, taken from the directory entry of the same CRM user."""
        if known is None:
            return self
        return Recipient(
            self.name or known.name,
            self.crm_user_id or known.crm_user_id,
            self.email or known.email,
            self.telegram_chat_id or known.telegram_chat_id,
        )

    def address(self, channel: str) -> str:
        return {"crm": self.crm_user_id, "telegram": self.telegram_chat_id, "email": self.email}.get(
            channel, ""
        )


def people_from_settings(settings: Any) -> dict[str, Recipient]:
    """CRM user id -> Recipient for every manager, curator and the head in the config (domain
    ``Manager`` objects carry no e-mail or chat id; this directory fills them in)."""
    people: dict[str, Recipient] = {}
    for person in [*settings.managers, *settings.curators, *([settings.head] if settings.head else [])]:
        people.setdefault(str(person.crm_user_id), Recipient.of(person))
    return people


@dataclass(frozen=True)
class Routing:
    """Which channels carry which event (``notifications.routing`` / ``default``), enabled ones only."""

    routes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    default: Sequence[str] = ("crm",)
    enabled: frozenset[str] = frozenset({"crm"})

    def channels_for(self, event: str) -> list[str]:
        return [c for c in self.routes.get(event, self.default) if c in self.enabled]

    @classmethod
    def from_settings(cls, settings: Any) -> Routing:
        n = settings.notifications
        return cls(dict(n.routing), tuple(n.default), frozenset(n.enabled_channels()))


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off for failed deliveries: ``base * 2**(attempt-1)`` capped at ``cap``; given up after
    ``max_attempts``. A wait the other side asks for (Retry-After) is honoured when longer."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 10

    def next_attempt(self, attempts: int, now: datetime, asked: float | None = None) -> datetime | None:
        """When to try again after the ``attempts``-th failed attempt (1-based), or None to give up."""
        if attempts >= self.max_attempts:
            return None
        wait = min(self.cap, self.base * (2 ** max(0, attempts - 1)))
        if asked is not None:
            wait = max(wait, timedelta(seconds=asked))
        due: datetime = now + wait
        return due
