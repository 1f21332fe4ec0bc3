"""``HubSpotAdapter``: every CRM port (crm_bridge.ports.CrmAdapter) for a HubSpot account, composed of
the layout reader/writer, the record lister, the writers and the task sink over one transport."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from crm_bridge.domain.layout import DesiredLayout, ObservedLayout, ProvisionPlan
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmError, CrmValidationError, EventRefused, StateError
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
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge_hubspot.config import CAPABILITIES
from crm_bridge_hubspot.events import HubSpotEvents
from crm_bridge_hubspot.intake import IntakeWrites
from crm_bridge_hubspot.layout.reader import LayoutReader, Snapshot
from crm_bridge_hubspot.layout.state import CATALOG_KEY, HubSpotLayout
from crm_bridge_hubspot.layout.writer import LayoutWriter
from crm_bridge_hubspot.mapping import HubSpotMapping
from crm_bridge_hubspot.source import RecordLister
from crm_bridge_hubspot.tasks import TaskWrites
from crm_bridge_hubspot.transport import HubSpotTransport
from crm_bridge_hubspot.writes import RecordWrites

OWNERS_PAGE = 100


class HubSpotAdapter:
    """``desired`` (the configured layout) lets a first run recognise pipelines that already carry our
    labels and lets ``check`` compare the account with the config. ``curators``: curator key -> owner id."""

    name = "hubspot"
    capabilities = CAPABILITIES  # ports.CrmAdapter: the services write 100 records per call
    # stage record counts: a search's total (layout/reader.py); first touch and furthest stage: the stages'
    # calculated hs_date_entered_/hs_date_exited_ properties (rows.py); users: the owners API
    port_capabilities = ALL_CAPABILITIES

    def __init__(
        self,
        transport: HubSpotTransport,
        mapping: HubSpotMapping,
        ctx: AdapterContext,
        *,
        desired: DesiredLayout | None = None,
        curators: Mapping[str, str] | None = None,
        limits_note: str = "",
    ) -> None:
        self.transport = transport
        self.mapping = mapping
        self.ctx = ctx
        self.desired = desired
        self.limits_note = limits_note
        self.state = HubSpotLayout.load(ctx.kv)
        self.reader = LayoutReader(transport, mapping, self.state, desired)
        owners = dict(curators or {})
        self._catalog: Catalog[str] | None = None
        self._snapshot: Snapshot | None = None
        self.lister = RecordLister(
            transport,
            self.catalog,
            {o: k for k, o in owners.items()},
            mapping.lead_funnel,
            ctx.clock,
            concurrency=transport.config.max_concurrency,
        )
        self.writes = RecordWrites(transport, mapping, self.catalog, owners)
        self.intake = IntakeWrites(
            self.writes,
            self.catalog,
            {o: k for k, o in owners.items()},
            mapping.lead_funnel,
            transport.config.max_concurrency,
        )
        self.events: HubSpotEvents | None = None  # webhooks v3 receiver (set when a secret is configured)
        self.tasks = TaskWrites(transport, mapping, ctx.kv, ctx.clock)

    # -- layout (FunnelAdmin) -----------------------------------------------------------------------
    def observe_layout(self) -> ObservedLayout:
        snap = self.reader.read()
        observed = self.reader.observed(snap)
        self._snapshot = snap
        self._remember(observed)
        return observed

    def _remember(self, observed: ObservedLayout) -> None:
        for funnel in observed.funnels:
            if funnel.key is not None:
                self.state.ids.funnels[funnel.key] = funnel.crm_id
                self.state.ids.stages[funnel.key] = {s.key: s.crm_id for s in funnel.stages if s.key}
        self.state.save(self.ctx.kv)
        self._catalog = Catalog.build(observed, str)
        self._catalog.save(self.ctx.kv, CATALOG_KEY)

    def apply_plan(self, plan: ProvisionPlan) -> ObservedLayout:
        if self._snapshot is None:
            self.observe_layout()
        if self._snapshot is None:
            raise StateError("the HubSpot layout could not be observed")
        if plan.is_noop:
            return self.reader.observed(self._snapshot)
        budgets = self.transport.budgets
        writer = LayoutWriter(
            self.transport,
            self.mapping,
            self.state,
            lambda: self.state.save(self.ctx.kv),
            budgets.pipelines,
            self.transport.config.tier,
        )
        failures = writer.apply(plan, self._snapshot)
        observed = self.observe_layout()
        if failures:
            first = failures[0][1]
            lines = "; ".join(f"{path}: {err}" for path, err in failures)
            kind = type(first) if isinstance(first, CrmError) else CrmValidationError
            raise kind(f"HubSpot refused {len(failures)} provisioning step(s): {lines}", crm="hubspot")
        return observed

    def catalog(self) -> Catalog[str]:
        """Translation tables: from memory, else the state store, else one observation."""
        if self._catalog is None:
            cached = Catalog.load(self.ctx.kv, CATALOG_KEY, str)
            if cached.ready:
                self._catalog = cached
            else:
                self.observe_layout()
        if self._catalog is None:
            raise StateError("the HubSpot layout could not be observed")
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
        return self.tasks.send_notifications(drafts)

    # -- users and diagnostics ----------------------------------------------------------------------
    def list_users(self) -> list[CrmUser]:
        """Active owners (``/crm/v3/owners``): ``hubspot_owner_id`` takes the owner id."""
        users: list[CrmUser] = []
        after: str | None = None
        while True:
            params: dict[str, object] = {"limit": OWNERS_PAGE, "archived": "false"}
            if after:
                params["after"] = after
            body = self.transport.call("GET", "/crm/v3/owners", params=params)
            for owner in body.get("results") or []:
                name = " ".join(p for p in (owner.get("firstName"), owner.get("lastName")) if p)
                users.append(
                    CrmUser(str(owner["id"]), name or f"owner {owner['id']}", owner.get("email") or "")
                )
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return users

    def check(self) -> list[HealthCheck]:
        from crm_bridge_hubspot.doctor import run_checks

        return run_checks(self)

    def receive_events(self, request: InboundRequest) -> list[CrmEvent]:
        """ports.EventReceiver: a webhooks v3 delivery, verified (see ``events``)."""
        if self.events is None:
            raise EventRefused(
                404, "disabled", "HubSpot events need crm.hubspot.webhook_secret (the app's client secret)"
            )
        return self.events.receive(request)

    def close(self) -> None:
        self.transport.close()
