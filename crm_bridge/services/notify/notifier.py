"""Notifications: ``Notifier.notify`` queues a message per recipient and channel in the state store's
outbox (idempotent by key) and never raises into the job that calls it; ``Notifier.flush`` delivers
what is due through the channels (``notify.channels``) and reschedules failures with back-off, so a
CRM, Telegram or SMTP outage never blocks sync or distribution.

Routing comes from the config's ``notifications`` section: per event the channels to use (or
``default``), and only channels that are enabled. A recipient without an address for a channel
(no Telegram chat id, no e-mail) is skipped for that channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm_bridge.ports import BucketStore
from crm_bridge.redaction import redact
from crm_bridge.services.notify.channels import (
    Channel,
    CrmNotifications,
    Delivery,
    EmailSender,
    Message,
    SmtpSettings,
    TelegramBot,
)
from crm_bridge.services.notify.routing import (
    Recipient,
    RetryPolicy,
    Routing,
    people_from_settings,
)
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.notify")

KIND = "notify"  # outbox kind of notifications

__all__ = [
    "KIND",
    "FlushResult",
    "Notifier",
    "Recipient",
    "RetryPolicy",
    "Routing",
    "channels_from_settings",
    "notifier_from_settings",
    "people_from_settings",
]


@dataclass
class FlushResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0  # given up
    by_channel: dict[str, int] = field(default_factory=dict)  # sent per channel
    undeliverable: dict[str, str] = field(default_factory=dict)  # channel -> last error, none sent


class Notifier:
    """Queues and delivers notifications of one CRM instance (``portal``).

    ``channels`` maps a channel name to its sender (``channels_from_settings`` builds them).
    ``people`` is the directory used to complete recipients' addresses (``people_from_settings``).
    ``observe(channel, outcome)`` is told each outcome (metrics)."""

    def __init__(
        self,
        store: Any,
        portal: str,
        routing: Routing,
        channels: Mapping[str, Channel],
        *,
        people: Mapping[str, Recipient] | None = None,
        locale: str = "ru",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy = RetryPolicy(),
        observe: Callable[[str, str], None] | None = None,
    ) -> None:
        self._store = store
        self._portal = portal
        self._routing = routing
        self._channels = dict(channels)
        self._people = dict(people or {})
        self._locale = locale
        self._clock = clock
        self._retry = retry
        self._observe = observe

    @property
    def locale(self) -> str:
        """The language of the notifications (``notice`` writes their texts in it)."""
        return self._locale

    def subject(self, event: str) -> str:
        title = words("subjects", self._locale).get(event) or event.replace("_", " ")
        return f"crm-bridge: {title}"

    def notify(self, event: str, recipients: Iterable[Any], text: str, *, key: str) -> None:
        """Queue ``text`` about ``event`` for each recipient on each routed channel; the same ``key``
        queued again is ignored. Never raises: a failure to queue is logged (redacted) and dropped."""
        try:
            self._enqueue(event, list(recipients), text, key)
        except Exception as exc:  # the caller's job (sync, distribution) must go on whatever happens here
            log.error(
                "could not queue notification %s (%s): %s", key, event, redact(f"{type(exc).__name__}: {exc}")
            )

    def _enqueue(self, event: str, recipients: list[Any], text: str, key: str) -> None:
        channels = self._routing.channels_for(event)
        if not channels:
            log.debug("notification %s: no enabled channel routes event %s", key, event)
            return
        now = self._clock()
        for person in recipients:
            base = Recipient.of(person)
            recipient = base.merged(self._people.get(base.crm_user_id)) if base.crm_user_id else base
            for channel in channels:
                address = recipient.address(channel)
                if not address:
                    log.debug("notification %s: %s has no %s address", key, recipient.name, channel)
                    continue
                payload = {
                    "event": event,
                    "channel": channel,
                    "subject": self.subject(event),
                    "text": text,
                    "recipient": {
                        "name": recipient.name,
                        "crm_user_id": recipient.crm_user_id,
                        "email": recipient.email if channel == "email" else "",
                        "telegram_chat_id": recipient.telegram_chat_id if channel == "telegram" else "",
                    },
                }
                who = recipient.crm_user_id or address
                self._store.enqueue(self._portal, KIND, f"{key}|{channel}|{who}", payload, now=now)

    def flush(self, now: datetime, *, limit: int = 500) -> FlushResult:
        """Deliver every due notification (at most ``limit``). Failures are rescheduled with back-off
        (or given up after ``RetryPolicy.max_attempts`` or on a permanent refusal); raises only when the
        state store itself fails (StateError)."""
        result = FlushResult()
        due = self._store.due(self._portal, KIND, now=now, limit=limit)
        groups: dict[str, list[tuple[Any, Message]]] = {}
        for item in due:
            p = item.payload
            r = p.get("recipient") or {}
            message = Message(
                item.id,
                item.idempotency_key,
                str(p.get("event", "")),
                str(p.get("subject", "")),
                str(p.get("text", "")),
                str(r.get("name", "")),
                str(r.get("crm_user_id", "")),
                str(r.get("email", "")),
                str(r.get("telegram_chat_id", "")),
            )
            groups.setdefault(str(p.get("channel", "")), []).append((item, message))
        for name, batch in groups.items():
            sender = self._channels.get(name)
            if sender is None:
                deliveries = [Delivery(False, f"channel {name} is not enabled", permanent=False)] * len(batch)
            else:
                deliveries = self._deliver(sender, [m for _, m in batch], now)
            for (item, _), delivery in zip(batch, deliveries, strict=True):
                self._settle(item, name, delivery, now, result)
            errors = [d.error for d in deliveries if not d.ok]
            if errors and not result.by_channel.get(name):
                result.undeliverable[name] = redact(errors[-1])
        if due:
            log.info(
                "notifications: %d sent, %d to retry, %d given up",
                result.sent,
                result.retrying,
                result.failed,
            )
        return result

    @staticmethod
    def _deliver(sender: Channel, messages: list[Message], now: datetime) -> list[Delivery]:
        try:
            deliveries = sender.deliver(messages, now)
        except Exception as exc:  # a channel bug must not lose the queue: everything is retried
            error = redact(f"{sender.name}: internal error {type(exc).__name__}: {exc}")
            return [Delivery(False, error)] * len(messages)
        if len(deliveries) != len(messages):
            return [Delivery(False, f"{sender.name}: answered {len(deliveries)} of {len(messages)}")] * len(
                messages
            )
        return deliveries

    def _settle(
        self, item: Any, channel: str, delivery: Delivery, now: datetime, result: FlushResult
    ) -> None:
        if delivery.ok:
            self._store.mark_done(item.id, delivery.detail or {}, now=now)
            result.sent += 1
            result.by_channel[channel] = result.by_channel.get(channel, 0) + 1
            outcome = "sent"
        else:
            attempts = item.attempts + 1
            retry_at = (
                None if delivery.permanent else self._retry.next_attempt(attempts, now, delivery.retry_after)
            )
            self._store.mark_failed(item.id, delivery.error, retry_at)
            if retry_at is None:
                result.failed += 1
                outcome = "failed"
                log.warning("notification %s via %s given up: %s", item.id, channel, redact(delivery.error))
            else:
                result.retrying += 1
                outcome = "retry"
                log.info(
                    "notification %s via %s failed, retry at %s: %s",
                    item.id,
                    channel,
                    retry_at.isoformat(timespec="seconds"),
                    redact(delivery.error),
                )
        if self._observe is not None:
            self._observe(channel, outcome)


def channels_from_settings(
    settings: Any,
    adapter: Any,
    *,
    bucket: BucketStore | None = None,
    on_request: Callable[[str, str, int], None] | None = None,
) -> dict[str, Channel]:
    """The enabled channels of ``settings.notifications.channels``; ``adapter`` is the CRM's
    NotificationSink (and TaskSink for ``mode: task``). Telegram goes through ``crm_bridge.http``
    with the state store's ``bucket`` and reports its requests to ``on_request`` (metrics)."""
    cfg = settings.notifications.channels
    channels: dict[str, Channel] = {}
    if cfg.crm.enabled:
        channels["crm"] = CrmNotifications(adapter, mode=cfg.crm.mode)
    if cfg.telegram.enabled and cfg.telegram.bot_token is not None:
        channels["telegram"] = TelegramBot(
            cfg.telegram.bot_token.get_secret_value(),
            base_url=str(cfg.telegram.base_url),
            bucket=bucket,
            on_request=on_request,
        )
    if cfg.email.enabled:
        e = cfg.email
        channels["email"] = EmailSender(
            SmtpSettings(
                host=e.smtp_host,
                port=e.smtp_port,
                security=e.security,
                username=e.username,
                password=e.password.get_secret_value() if e.password else "",
                sender=e.sender,
                timeout=e.timeout,
            )
        )
    return channels


def notifier_from_settings(
    settings: Any,
    store: Any,
    portal: str,
    adapter: Any,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    observe: Callable[[str, str], None] | None = None,
    on_request: Callable[[str, str, int], None] | None = None,
) -> Notifier:
    """The Notifier the CLI and the daemon use, wired from the config. ``on_request`` counts the
    channels' HTTP requests (the daemon's metrics)."""
    return Notifier(
        store,
        portal,
        Routing.from_settings(settings),
        channels_from_settings(settings, adapter, bucket=store.bucket, on_request=on_request),
        people=people_from_settings(settings),
        locale=settings.locale,
        clock=clock,
        observe=observe,
    )
