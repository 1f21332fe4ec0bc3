"""What a sync run means for people: a partner that appeared in the CRM since the last run (event
``new_partner``, to the partner's curator and the head) and a sync that fails (event ``sync_failed``, to
the head, once per run of failures; the next successful sync ends it). The first run, a backfill, finds
every partner at once and announces none of them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from crm_bridge.domain.model import Curator
from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import Entity
from crm_bridge.redaction import redact
from crm_bridge.services.intake.service import Notify
from crm_bridge.services.notify.message import notice
from crm_bridge.store import Store

log = logging.getLogger("crm_bridge.sync")

STATE_NAME = "sync_watch"
R = TypeVar("R")


class _Result(Protocol):
    @property
    def stopped(self) -> bool: ...


class SyncWatch:
    def __init__(
        self,
        store: Store,
        portal: str,
        notifier: Notify | None,
        *,
        curators: Sequence[Curator] = (),
        head: Curator | None = None,
    ) -> None:
        self._store = store
        self._portal = portal
        self._notifier = notifier
        self._curators = {c.key: c for c in curators}
        self._head = head

    def run(self, do_sync: Callable[[], R], now: datetime) -> R:
        """Run ``do_sync`` and tell about what it found or how it failed; its error propagates."""
        backfill = self._store.get_cursor(self._portal, Entity.PARTNER) is None
        known = set() if backfill else {p.crm_id for p in self._store.partners(self._portal)}
        try:
            result = do_sync()
        except CrmBridgeError as exc:
            self._failed(exc, now)
            raise
        self._recovered()
        if not backfill:
            self._announce(known)
        return result

    def _failed(self, exc: CrmBridgeError, now: datetime) -> None:
        try:
            state = dict(self._store.get_state(self._portal, STATE_NAME) or {})
            since = state.setdefault("failing_since", now.isoformat())
            self._store.set_state(self._portal, STATE_NAME, state)
        except CrmBridgeError as store_error:  # the store itself is down: the log is all there is
            log.error("sync failed and the failure could not be recorded: %s", redact(str(store_error)))
            return
        if self._notifier is None or self._head is None:
            return
        text = notice(self._notifier, "sync_failed", error=redact(f"{type(exc).__name__}: {exc}"))
        self._notifier.notify("sync_failed", [self._head], text, key=f"sync_failed:{since}")

    def _recovered(self) -> None:
        state = self._store.get_state(self._portal, STATE_NAME) or {}
        if state.get("failing_since"):
            log.info("sync works again (failing since %s)", state["failing_since"])
            self._store.set_state(self._portal, STATE_NAME, {})

    def _announce(self, known: set[str]) -> None:
        if self._notifier is None:
            return
        for partner in self._store.partners(self._portal):
            if partner.crm_id in known:
                continue
            curator = self._curators.get(partner.curator_key or "")
            recipients = [c for c in (curator, self._head) if c is not None]
            if not recipients:
                continue
            text = notice(self._notifier, "new_partner", name=partner.name, id=partner.crm_id)
            if curator is None:
                text += notice(self._notifier, "new_partner_no_curator")
            self._notifier.notify("new_partner", recipients, text, key=f"new_partner:{partner.crm_id}")
