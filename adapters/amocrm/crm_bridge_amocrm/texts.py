"""The words this adapter says to people about real-time events, per locale (``en``, ``ru``): what
``crm-bridge provision`` prints after subscribing and what ``crm-bridge doctor`` shows (read with
``crm_bridge.texts.in_locale``)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "no_public_url": ("amoCRM pushes webhooks only: set events.public_url, else polling stays the path"),
        "webhook_sent": ("amoCRM webhook for {count} event types sent to the receiver (events.public_url)"),
    },
    "ru": {
        "no_public_url": ("amoCRM только присылает вебхуки: задайте events.public_url, иначе остаётся опрос"),
        "webhook_sent": ("вебхук amoCRM на {count} типов событий отправлен на приёмник (events.public_url)"),
    },
}
