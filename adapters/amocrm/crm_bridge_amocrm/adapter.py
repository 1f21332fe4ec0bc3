"""``AmoCrmAdapter``: every CRM port (crm_bridge.ports.CrmAdapter) for an amoCRM / Kommo account,
composed of the layout reader/writer, the record lister, the writers and the task sink over one client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from crm_bridge.domain.layout import DesiredLayout, ObservedLayout, ProvisionPlan
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmError, CrmValidationError
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
from crm_bridge_amocrm import catalog as catalogs
from crm_bridge_amocrm.catalog import AmoCatalog
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.config import CAPABILITIES
from crm_bridge_amocrm.events import SETTINGS, AmoEvents
from crm_bridge_amocrm.intake import IntakeWrites
from crm_bridge_amocrm.layout.reader import LayoutReader, Snapshot
from crm_bridge_amocrm.layout.state import LayoutState
from crm_bridge_amocrm.layout.writer import LayoutWriter
from crm_bridge_amocrm.mapping import AmoMapping
from crm_bridge_amocrm.source import RecordLister
from crm_bridge_amocrm.tasks import TaskWrites
from crm_bridge_amocrm.texts import TEXT as EVENT_TEXT
from crm_bridge_amocrm.transport import AmoTransport
from crm_bridge_amocrm.writes import RecordWrites


class AmoCrmAdapter:
    """``desired`` (the configured layout) lets a first run recognise pipelines and fields that already
    carry our names and lets ``check`` compare the account with the config. ``curators`` maps curator
    keys to amoCRM user ids."""

    name = "amocrm"
    capabilities = CAPABILITIES  # ports.CrmAdapter: the services write 250 records per call
    # users (/api/v4/users), record counts of stages prune may delete (a one-row lead list per stage),
    # first touch and furthest stage (the events API): see layout/reader.py and lead_events.py
    port_capabilities = ALL_CAPABILITIES

    def __init__(
        self,
        client: AmoClient,
        mapping: AmoMapping,
        ctx: AdapterContext,
        *,
        desired: DesiredLayout | None = None,
        curators: Mapping[str, str] | None = None,
        limits_note: str = "",
        language: str = "en",
    ) -> None:
        self.client = client
        self.language = language  # of the lines shown to people (events)
        self.transport: AmoTransport = client.transport
        self.mapping = mapping
        self.ctx = ctx
        self.desired = desired
        self.limits_note = limits_note
        self.state = LayoutState.load(ctx.kv)
        self.reader = LayoutReader(client, mapping, self.state, desired)
        user_ids = dict(curators or {})
        self._catalog: AmoCatalog | None = None
        self._snapshot: Snapshot | None = None
        self.lister = RecordLister(
            client,
            mapping.lead_funnel,
            self.catalog,
            {uid: key for key, uid in user_ids.items()},
            ctx.clock,
            workers=client.concurrency,
        )
        self.writes = RecordWrites(client, mapping, self.catalog, user_ids)
        self.intake = IntakeWrites(
            client, self.writes, self.catalog, {uid: key for key, uid in user_ids.items()}
        )
        self.tasks = TaskWrites(client, mapping, ctx.kv, ctx.clock)
        self.events = AmoEvents(self._account)

    # -- layout (FunnelAdmin) -----------------------------------------------------------------------
    def observe_layout(self) -> ObservedLayout:
        return self._observed(self.reader.read())

    def _observed(self, snap: Snapshot) -> ObservedLayout:
        observed = self.reader.observed(snap)
        self._snapshot = snap
        self._catalog = catalogs.build(observed)
        self._catalog.save(self.ctx.kv, catalogs.KV_KEY)
        self.state.save(self.ctx.kv)
        return observed

    def apply_plan(self, plan: ProvisionPlan) -> ObservedLayout:
        if plan.is_noop:
            return self.reader.observed(self._snapshot) if self._snapshot else self.observe_layout()
        if self._snapshot is None:
            self.observe_layout()
        if self._snapshot is None:
            raise AssertionError("invariant broken: self._snapshot is not None")
        snap = self._snapshot
        writer = LayoutWriter(self.client, self.mapping, self.state, self.ctx.kv, snap, self.reader)
        failures = writer.apply(plan)
        # what amoCRM answered for the objects it created is in the snapshot; read again only what was
        # renamed, deleted or refused
        stale = sorted(writer.stale_fields)
        if writer.stale_pipelines or stale:
            self.reader.refresh(snap, pipelines=writer.stale_pipelines, entities=stale)
        observed = self._observed(snap)
        if failures:
            first = failures[0][1]
            lines = "; ".join(f"{path}: {err}" for path, err in failures)
            kind = type(first) if isinstance(first, CrmError) else CrmValidationError
            raise kind(f"amoCRM refused {len(failures)} provisioning step(s): {lines}", crm="amocrm")
        return observed

    def reader_snapshot(self) -> Snapshot | None:
        """The raw answers of the last observation (pipeline count for ``doctor``)."""
        return self._snapshot

    def catalog(self) -> AmoCatalog:
        """Translation tables: from memory, else the state store, else one observation."""
        if self._catalog is None:
            cached = catalogs.load(self.ctx.kv)
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
        return self.writes.create_leads(drafts) if drafts else []

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        return self.writes.create_deals(drafts) if drafts else []

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        return self.intake.send_leads(drafts) if drafts else []

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        return self.intake.find_leads(external_ids) if external_ids else {}

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        return self.intake.find_partners(crm_ids) if crm_ids else {}

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        return self.writes.update_records(updates) if updates else []

    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        return self.writes.update_partners(updates) if updates else []

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self.tasks.create_tasks(drafts) if drafts else []

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        return self.tasks.send_notifications(drafts) if drafts else []

    # -- users and diagnostics ----------------------------------------------------------------------
    def list_users(self) -> list[CrmUser]:
        rows = self.client.fetch_all("api/v4/users", "users", {})
        users = []
        for row in rows:
            rights = row.get("rights") or {}
            active = bool(rights.get("is_active", True)) if isinstance(rights, dict) else True
            users.append(  # deactivated ones too (the port): doctor names a configured id that left
                CrmUser(
                    str(row["id"]),
                    str(row.get("name") or f"user {row['id']}"),
                    str(row.get("email") or ""),
                    active,
                )
            )
        return users

    def check(self) -> list[HealthCheck]:
        from crm_bridge_amocrm.doctor import run_checks

        return run_checks(self)

    # -- events (ports.EventReceiver, ports.EventSubscriber) ----------------------------------------
    def _account(self) -> tuple[int, int | None]:
        """(account id, our API user id): from the state store, else one ``GET /api/v4/account``."""
        cached = self.ctx.kv.get("account")
        if not isinstance(cached, dict) or "id" not in cached:
            account = self.client.get("api/v4/account") or {}
            cached = {"id": int(account.get("id") or 0), "user": account.get("current_user_id")}
            self.ctx.kv.set("account", cached)
        user = cached.get("user")
        return int(cached["id"]), int(user) if user is not None else None

    def receive_events(self, request: InboundRequest) -> list[CrmEvent]:
        """A webhook POST, checked against our account (see ``events``)."""
        return self.events.receive(request)

    def subscribe_events(self, url: str | None) -> str:
        """``POST /api/v4/webhooks``: amoCRM keeps one hook per destination (a repeat updates it)."""
        t = in_locale(EVENT_TEXT, self.language)
        if url is None:
            return t["no_public_url"]
        self._account()
        self.transport.post("api/v4/webhooks", {"destination": url, "settings": SETTINGS})
        return t["webhook_sent"].format(count=len(SETTINGS))

    def close(self) -> None:
        self.transport.close()
