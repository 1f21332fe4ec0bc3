"""``Bitrix24Adapter``: every CRM port (crm_bridge.ports.CrmAdapter) for a Bitrix24 portal, composed of
the layout reader/writer, the record lister, the writers, the task and notification sinks over one client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from crm_bridge.domain.layout import DesiredLayout, ObservedLayout, ProvisionPlan
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmError, CrmValidationError, EventRefused
from crm_bridge.ports import (
    ALL_CAPABILITIES,
    AdapterContext,
    CrmEvent,
    CrmUser,
    DealDraft,
    Entity,
    HealthCheck,
    InboundRequest,
    LeadDraft,
    NotificationDraft,
    PartnerUpdate,
    RecordPage,
    RecordUpdate,
    SyncCursor,
    TaskDraft,
    WriteOutcome,
)
from crm_bridge.texts import in_locale
from crm_bridge_bitrix24.catalog import CATALOG_KEY, Catalog, LayoutState, load_catalog, load_layout_state
from crm_bridge_bitrix24.client import PAGE_SIZE, Bitrix24Client, Command
from crm_bridge_bitrix24.config import CAPABILITIES, Bitrix24Config
from crm_bridge_bitrix24.events import EVENTS, OFFLINE_LIMIT, OfflineEvents, OutgoingWebhook
from crm_bridge_bitrix24.intake import IntakeWrites
from crm_bridge_bitrix24.layout.reader import LayoutReader, Snapshot
from crm_bridge_bitrix24.layout.stage_counts import with_record_counts
from crm_bridge_bitrix24.layout.writer import LayoutWriter
from crm_bridge_bitrix24.lead_history import LeadHistory
from crm_bridge_bitrix24.listing import Paginator
from crm_bridge_bitrix24.mapping import Bitrix24Mapping
from crm_bridge_bitrix24.notify import Notifications
from crm_bridge_bitrix24.source import RecordLister
from crm_bridge_bitrix24.tasks import TaskWrites
from crm_bridge_bitrix24.texts import TEXT as EVENT_TEXT
from crm_bridge_bitrix24.wire import User
from crm_bridge_bitrix24.writes import RecordWrites


class Bitrix24Adapter:
    """``desired`` (the configured layout) lets a first run recognise funnels that already carry our
    names and lets ``check`` compare the portal with the config. ``curators`` maps curator keys to CRM
    user ids."""

    name = "bitrix24"
    # counts: layout/stage_counts.py; first touch and furthest stage: lead_history.py; users: user.get
    port_capabilities = ALL_CAPABILITIES
    capabilities = CAPABILITIES  # ports.CrmAdapter: the services write 50 records per call

    def __init__(
        self,
        client: Bitrix24Client,
        mapping: Bitrix24Mapping,
        ctx: AdapterContext,
        *,
        desired: DesiredLayout | None = None,
        curators: Mapping[str, str] | None = None,
        overlap: timedelta = timedelta(0),
        page_cap: int = 200_000,
        listing_in_flight: int | None = 12,
        limits_note: str = "",
        transport: Any = None,
        language: str = "en",
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.ctx = ctx
        self.desired = desired
        self.limits_note = limits_note
        self.transport = transport  # Bitrix24Transport: ``transport.http.counter`` counts requests
        self.state: LayoutState = load_layout_state(ctx.kv)
        self.language = language  # of the lines shown to people (events, doctor)
        self.reader = LayoutReader(client, mapping, self.state, desired, language)
        user_ids = dict(curators or {})
        self._catalog: Catalog | None = None
        self._snapshot: Snapshot | None = None
        # The sync service caps cursors by this instead of its own client-clock default: the lister
        # already keeps them ``overlap`` before each listing's start on the portal's clock.
        self.sync_overlap = overlap
        self.lister = RecordLister(
            lambda: Paginator(client, page_cap=page_cap, in_flight=listing_in_flight),
            mapping,
            self.catalog,
            {uid: key for key, uid in user_ids.items()},
            ctx.clock,
            overlap,
            LeadHistory(client, self.catalog, mapping.lead_funnel).enrich,
        )
        self.writes = RecordWrites(client, mapping, self.catalog, user_ids)
        self.intake = IntakeWrites(
            client, mapping, self.catalog, self.writes, {uid: key for key, uid in user_ids.items()}
        )
        self.tasks = TaskWrites(client, mapping, ctx.kv)
        self.notifications = Notifications(client, mapping)

    # -- layout (FunnelAdmin) -----------------------------------------------------------------------
    def observe_layout(self) -> ObservedLayout:
        snap = self.reader.read()
        observed = with_record_counts(self.client, self.reader.observed(snap), self.desired)
        self._snapshot = snap
        self._catalog = Catalog.build(observed, int)
        self._catalog.save(self.ctx.kv, CATALOG_KEY)
        return observed

    def apply_plan(self, plan: ProvisionPlan) -> ObservedLayout:
        if plan.is_noop:
            return self.reader.observed(self._snapshot) if self._snapshot else self.observe_layout()
        if self._snapshot is None:
            self.observe_layout()
        if self._snapshot is None:
            raise AssertionError("invariant broken: self._snapshot is not None")
        writer = LayoutWriter(self.client, self.mapping, self.state, self.reader, self.ctx.kv)
        failures = writer.apply(plan, self._snapshot)
        observed = self.observe_layout()
        if failures:
            first = failures[0][1]
            lines = "; ".join(f"{path}: {err}" for path, err in failures)
            kind = type(first) if isinstance(first, CrmError) else CrmValidationError
            raise kind(f"Bitrix24 refused {len(failures)} provisioning step(s): {lines}", crm="bitrix24")
        return observed

    def catalog(self) -> Catalog:
        """Translation tables: from memory, else the state store, else one observation."""
        if self._catalog is None:
            cached = load_catalog(self.ctx.kv)
            if cached.ready:
                self._catalog = cached
            else:
                self.observe_layout()
        if self._catalog is None:
            raise AssertionError("invariant broken: self._catalog is not None")
        return self._catalog

    # -- records ------------------------------------------------------------------------------------
    def changed_since(self, entity: Entity, cursor: SyncCursor | None) -> Iterator[RecordPage]:
        return self.lister.changed_since(entity, cursor)

    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        return self.writes.create_leads(drafts)

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        return self.writes.create_deals(drafts)

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        return self.intake.send_leads(drafts)

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        return self.intake.find_leads(external_ids)

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        return self.intake.find_partners(crm_ids)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        return self.writes.update_records(updates)

    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        return self.writes.update_partners(updates)

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self.tasks.create_tasks(drafts)

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        return self.notifications.send_notifications(drafts)

    # -- users and diagnostics ----------------------------------------------------------------------
    def list_users(self) -> list[CrmUser]:
        # every employee, the dismissed ones too (ACTIVE false): doctor names a configured id that left
        params = {"FILTER": {"USER_TYPE": "employee"}, "sort": "ID", "order": "ASC"}
        first = self.client.call("user.get", {**params, "start": 0})
        rows = list(first.result or [])
        total = first.total or len(rows)
        more = [Command("user.get", {**params, "start": s}) for s in range(PAGE_SIZE, total, PAGE_SIZE)]
        for outcome in self.client.run(more):
            if outcome.error is not None:
                raise outcome.error
            rows += list(outcome.result or [])
        users = [User.model_validate(r) for r in rows]
        return [
            CrmUser(
                str(u.id),
                " ".join(p for p in (u.name, u.last_name) if p) or f"user {u.id}",
                u.email,
                u.active,
            )
            for u in users
        ]

    def check(self) -> list[HealthCheck]:
        from crm_bridge_bitrix24.doctor import run_checks

        return run_checks(self)

    # -- events (ports.EventReceiver, EventSubscriber, EventPuller) ---------------------------------
    event_mode = "polling"  # offline | outgoing_webhook | polling (configure_events)
    events_enabled = False
    _outgoing: OutgoingWebhook | None = None

    def configure_events(self, config: Bitrix24Config, enabled: bool) -> None:
        """Which way events come (see ``events``); ``polling`` when events are off."""
        self.events_enabled = enabled
        self.event_mode = config.event_mode() if enabled else "polling"
        if config.application_token is not None:
            token = config.application_token.get_secret_value()
            self._outgoing = OutgoingWebhook(token, config.portal_host())

    @property
    def pulls_events(self) -> bool:
        return self.event_mode == "offline"

    def _offline(self) -> OfflineEvents:
        return OfflineEvents(lambda method, params: self.client.call(method, params).result, self.language)

    def receive_events(self, request: InboundRequest) -> list[CrmEvent]:
        """An outgoing-webhook POST of the portal (see ``events``)."""
        if self._outgoing is None:
            raise EventRefused(
                404, "disabled", "Bitrix24 outgoing webhooks need crm.bitrix24.application_token"
            )
        return self._outgoing.receive(request)

    def subscribe_events(self, url: str | None) -> str:
        """Offline events are bound by API (``event.bind``); an outgoing webhook is set up in the portal."""
        if self.event_mode == "offline":
            return self._offline().subscribe()
        t = in_locale(EVENT_TEXT, self.language)
        if self.event_mode == "polling":
            return t["polling_stays"]
        return t["outgoing_setup"].format(events=", ".join(EVENTS))

    def pull_events(self, store: Callable[[list[CrmEvent]], None], limit: int = OFFLINE_LIMIT) -> int:
        """``event.offline.get`` (clear=0) -> ``store`` -> ``event.offline.clear``."""
        return self._offline().pull(store, limit)

    def close(self) -> None:
        self.client.close()
        if self.transport is not None:
            self.transport.close()
