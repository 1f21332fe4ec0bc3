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
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crm_bridge.config import Settings
from crm_bridge.config.crm import CrmConfig
from crm_bridge.config.source import environment
from crm_bridge.errors import ConfigError, CrmBridgeError
from crm_bridge.plugin import ADAPTER_GROUP, installed_adapters, spec_for

__all__ = ["ADAPTER_GROUP", "App", "bootstrap", "installed_adapters", "load_adapter_factory", "portal_id"]

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext, CrmAdapter
    from crm_bridge.security.secrets import Keyring
    from crm_bridge.store import Store


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
    or token), from the URL the adapter's spec names the instance by. ``state.portal`` in the config
    overrides it."""
    if override:
        return override
    url = ""
    section = crm.section
    if section is not None:
        try:
            url = spec_for(crm.kind).instance_url(section)
        except ConfigError:
            url = ""
    host = (urlsplit(url).hostname or "").lower()
    port = urlsplit(url).port
    return f"{crm.kind}:{host}:{port}" if port else f"{crm.kind}:{host}"


def keyring_for(settings: Settings) -> Keyring:
    """The keys secrets are stored under: ``CRM_BRIDGE_SECRET_KEY`` from the environment or the
    ``.env`` next to the config (read on first use)."""
    from crm_bridge.security.secrets import ENV as SECRET_KEY_ENV  # cryptography: not for `validate`
    from crm_bridge.security.secrets import Keyring

    source = settings.source
    return Keyring(lambda: environment(source).get(SECRET_KEY_ENV))


def load_adapter_factory(kind: str) -> Callable[[Any, AdapterContext], CrmAdapter]:
    """The factory of the adapter registered for ``kind``. Raises ConfigError naming ``crm.kind`` and
    what to install when none is, CrmBridgeError when the installed one cannot be loaded."""
    try:
        return spec_for(kind).create
    except ConfigError as exc:
        if kind in installed_adapters():
            raise CrmBridgeError(f"the {kind} adapter is installed but cannot be loaded: {exc}") from exc
        raise


def bootstrap(
    settings: Settings,
    *,
    store: Store | None = None,
    adapter: CrmAdapter | None = None,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    on_request: Callable[[str, str, int], None] | None = None,
    on_quota: Callable[[str, int, int, str], None] | None = None,
) -> App:
    """Wire the application from ``settings``.

    ``store``: an open ``crm_bridge.store.Store``; default: ``open_store(settings.state.url)``
    (created/migrated on open; raises StateError). ``adapter``: any ``CrmAdapter`` (a FakeCRM in
    tests); default: the installed adapter for ``crm.kind`` (raises ConfigError when missing).
    ``clock``/``sleep`` are handed to the adapter so throttling can be tested without real time;
    ``on_request`` (crm, endpoint, status) is told about every CRM request and ``on_quota`` (crm,
    remaining, limit, paused reason) about the CRM's daily quota where it reports one (/metrics)."""
    owned: list[Callable[[], None]] = []
    portal = portal_id(settings.crm, settings.state.portal)
    try:
        if store is None:
            from crm_bridge.store import open_store

            store = open_store(settings.state.url, keyring=keyring_for(settings))
            owned.append(store.close)
        if adapter is None:
            from crm_bridge.ports import AdapterContext

            factory = load_adapter_factory(settings.crm.kind)
            context = AdapterContext(
                kv=store.kv(f"adapter:{portal}"),
                bucket=store.bucket,
                ledger=store.ledger,
                locks=store.locks,
                clock=lambda: clock().timestamp(),
                sleep=sleep,
                on_request=on_request,
                on_quota=on_quota,
            )
            adapter = factory(settings, context)
            owned.append(adapter.close)
    except BaseException:
        for release in reversed(owned):
            release()
        raise
    return App(settings=settings, store=store, adapter=adapter, portal=portal, clock=clock, _owned=owned)
