"""The words about real-time CRM events (``events`` section), per locale (``en``, ``ru``): the line
``crm-bridge provision`` prints after subscribing. Each adapter words its own lines (its ``texts``
module), so the core names no CRM."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subscribed": "Events: {what}.",
        "set_in_crm": (
            "Events: {crm} subscriptions are set in the CRM (see README, 'Real-time events');"
            " the receiver is /v1/events/<events.path_token>."
        ),
    },
    "ru": {
        "subscribed": "События: {what}.",
        "set_in_crm": (
            "События: подписки {crm} настраиваются в самой CRM (см. README, «Real-time "
            "events»); приёмник — /v1/events/<events.path_token>."
        ),
    },
}
