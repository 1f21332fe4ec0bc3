"""Can the enabled notification channels deliver? ``crm-bridge doctor`` shows one line per enabled
channel: a warning when its host is a placeholder (an example domain, as in config.example.yaml) or
when messages through it are failing in the outbox (with the last error), else ok. The cycle table of
``sync --once`` warns from the flush result (``undeliverable``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import HealthCheck
from crm_bridge.redaction import redact
from crm_bridge.services.notify.notifier import KIND

# RFC 2606 / 6761 names that never deliver anything
_PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", "example.ru")
_PLACEHOLDER_TLDS = (".example", ".invalid", ".test", ".localhost")


def is_placeholder_host(host: str) -> bool:
    name = host.strip().lower().rstrip(".")
    if not name:
        return False
    if any(name == d or name.endswith("." + d) for d in _PLACEHOLDER_DOMAINS):
        return True
    return name.endswith(_PLACEHOLDER_TLDS)


def _hosts(settings: Any) -> dict[str, tuple[str, str]]:
    """Enabled channel -> (config key of its host, host) for the channels that have one."""
    cfg = settings.notifications.channels
    hosts: dict[str, tuple[str, str]] = {}
    if cfg.telegram.enabled:
        host = urlsplit(str(cfg.telegram.base_url)).hostname or ""
        hosts["telegram"] = ("notifications.channels.telegram.base_url", host)
    if cfg.email.enabled:
        hosts["email"] = ("notifications.channels.email.smtp_host", cfg.email.smtp_host)
    return hosts


def channel_checks(settings: Any, store: Any = None, portal: str = "") -> list[HealthCheck]:
    """One line per enabled channel (``notifications <channel>``); problems are warnings."""
    enabled = settings.notifications.enabled_channels()
    hosts = _hosts(settings)
    failing = _failing(store, portal)
    checks: list[HealthCheck] = []
    for channel in enabled:
        name = f"notifications {channel}"
        key, host = hosts.get(channel, ("", ""))
        if host and is_placeholder_host(host):
            detail = (
                f"{key}: {host!r} is a placeholder, nothing can be delivered (set the real one, or disable)"
            )
            checks.append(HealthCheck(name, True, detail, warning=True))
        elif channel in failing:
            count, error = failing[channel]
            said = f"last error: {error}" if error else "the channel gave no error text"
            detail = f"undeliverable: {count} message(s) failing, {said}"
            checks.append(HealthCheck(name, True, detail, warning=True))
        else:
            checks.append(HealthCheck(name, True, "enabled, no failed deliveries"))
    return checks


def _failing(store: Any, portal: str) -> dict[str, tuple[int, str]]:
    """Channel -> (messages whose last attempt failed, the most recent error) from the outbox."""
    if store is None:
        return {}
    try:
        items = store.outbox.undelivered(portal, KIND)
    except CrmBridgeError:
        return {}
    failing: dict[str, tuple[int, str]] = {}
    for item in items:
        channel = str(item.payload.get("channel", ""))
        count, error = failing.get(channel, (0, redact(item.last_error or "")))
        failing[channel] = (count + 1, error)
    return failing
