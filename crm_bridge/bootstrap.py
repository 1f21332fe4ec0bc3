"""The composition root: the one place that turns ``Settings`` into a running application — the
state store, the CRM adapter (found through the ``crm_bridge.adapters`` entry-point group by
``crm.kind``) and the clock. Tests pass their own store and a FakeCRM instead.

    with bootstrap(load_settings("config.yaml")) as app:
        app.adapter.observe_layout()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crm_bridge.config import Settings
from crm_bridge.config_crm import CrmConfig
from crm_bridge.errors import ConfigError, CrmBridgeError
from crm_bridge.ports import AdapterContext, AdapterFactory, CrmAdapter

if TYPE_CHECKING:
    from crm_bridge.store import Store

ADAPTER_GROUP = "crm_bridge.adapters"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything a command, job or script needs. ``close()`` (or ``with``) releases what
    ``bootstrap`` opened; an injected store or adapter is left to its owner."""

    settings: Settings
    store: Store
    adapter: CrmAdapter
    portal: str  # names this CRM instance in the state store: "bitrix24:example.bitrix24.ru"
    clock: Callable[[], datetime] = utc_now
    _owned: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        while self._owned:
            self._owned.pop()()

    def __enter__(self) -> App:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def portal_id(crm: CrmConfig, override: str | None = None) -> str:
    """A stable, non-secret name of the CRM instance: the kind and the host (never a webhook path
    or token). ``state.portal`` in the config overrides it."""
    if override:
        return override
    url = ""
    if crm.kind == "bitrix24" and crm.bitrix24 is not None:
        if crm.bitrix24.oauth is not None:
            url = str(crm.bitrix24.oauth.portal_url)
        elif crm.bitrix24.webhook_url is not None:
            url = crm.bitrix24.webhook_url.get_secret_value()
    elif crm.kind == "amocrm" and crm.amocrm is not None:
        url = str(crm.amocrm.base_url)
    elif crm.kind == "hubspot" and crm.hubspot is not None:
        url = str(crm.hubspot.base_url)
    host = (urlsplit(url).hostname or "").lower()
    port = urlsplit(url).port
    return f"{crm.kind}:{host}:{port}" if port else f"{crm.kind}:{host}"


def installed_adapters() -> list[str]:
    """Names registered in the ``crm_bridge.adapters`` entry-point group."""
    return sorted({ep.name for ep in entry_points(group=ADAPTER_GROUP)})


def load_adapter_factory(kind: str) -> AdapterFactory:
    """The factory registered for ``kind``. Raises ConfigError naming ``crm.kind`` when none is
    installed, CrmBridgeError when the installed one cannot be imported."""
    matches = [ep for ep in entry_points(group=ADAPTER_GROUP) if ep.name == kind]
    if not matches:
        installed = ", ".join(installed_adapters()) or "none"
        raise ConfigError(f"crm.kind: no adapter for {kind!r} is installed (installed: {installed})")
    try:
        factory: AdapterFactory = matches[0].load()
    except (ImportError, AttributeError) as exc:
        raise CrmBridgeError(f"the {kind} adapter is installed but cannot be loaded: {exc}") from exc
    return factory


def bootstrap(
    settings: Settings,
    *,
    store: Store | None = None,
    adapter: CrmAdapter | None = None,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    on_request: Callable[[str, str, int], None] | None = None,
) -> App:
    """Wire the application from ``settings``.

    ``store``: an open ``crm_bridge.store.Store``; default: ``open_store(settings.state.url)``
    (created/migrated on open; raises StateError). ``adapter``: any ``CrmAdapter`` (a FakeCRM in
    tests); default: the installed adapter for ``crm.kind`` (raises ConfigError when missing).
    ``clock``/``sleep`` are handed to the adapter so throttling can be tested without real time;
    ``on_request`` (crm, endpoint, status) is told about every CRM request (the daemon's /metrics)."""
    owned: list[Callable[[], None]] = []
    portal = portal_id(settings.crm, settings.state.portal)
    try:
        if store is None:
            from crm_bridge.store import open_store

            store = open_store(settings.state.url)
            owned.append(store.close)
        if adapter is None:
            factory = load_adapter_factory(settings.crm.kind)
            context = AdapterContext(
                kv=store.kv(f"adapter:{portal}"),
                bucket=store.bucket,
                locks=store.locks,
                clock=lambda: clock().timestamp(),
                sleep=sleep,
                on_request=on_request,
            )
            adapter = factory(settings, context)
            owned.append(adapter.close)
    except BaseException:
        for release in reversed(owned):
            release()
        raise
    return App(settings=settings, store=store, adapter=adapter, portal=portal, clock=clock, _owned=owned)
