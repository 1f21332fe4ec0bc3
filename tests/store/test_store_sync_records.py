"""Sync cursors and replicated partners, leads and deals: a page and its cursor are stored together
or not at all, and the readers give back the domain objects exactly (Decimal money, UTC times)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crm_bridge.domain.model import CustomerIdentity, Deal, Lead, Partner, PartnerType, StageKind
from crm_bridge.errors import StateError
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.store import Store, open_store
from crm_bridge.store.records import CHUNK

P = "bitrix24:example"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


def lead(crm_id: str, *, at: datetime = T0, partner: str | None = "17", **kw: object) -> Lead:
    return Lead(
        crm_id=crm_id,
        partner_id=partner,
        title=f"Lead {crm_id}",
        stage="new",
        stage_kind=StageKind.OPEN,
        created_at=at,
        modified_at=at,
        **kw,  # type: ignore[arg-type]
    )


def page(entity: Entity, records: list, cursor_at: datetime | None, last_id: str = "") -> RecordPage:  # type: ignore[type-arg]
    cursor = SyncCursor(cursor_at, last_id) if cursor_at is not None else None
    return RecordPage(entity=entity, records=records, cursor=cursor)


def test_a_lead_comes_back_exactly_as_saved(store: Store) -> None:
    full = Lead(
        crm_id="501",
        partner_id="17",
        title="Поставка 1С для ООО Ромашка",
        stage="qualification",
        stage_kind=StageKind.WON,
        created_at=datetime(2026, 11, 2, 12, 30, 15, 123456, tzinfo=MSK),
        customer=CustomerIdentity(email="buyer@romashka.ru", phone="+79123456789", tax_id="7701234567"),
        customer_name="ООО Ромашка",
        amount=Decimal("1234567890123.45"),
        currency="RUB",
        manager_user_id="9",
        external_id="cb-lead-1",
        region="msk",
        specialisation="erp",
        first_touch_at=T0 + timedelta(hours=1),
        closed_at=T0 + timedelta(days=3),
        modified_at=T0 + timedelta(days=3),
        conflict=True,
    )
    store.save_page(P, page(Entity.LEAD, [full], T0))
    (back,) = list(store.leads(P))
    assert back == full
    assert back.created_at.tzinfo == UTC and back.created_at == datetime(
        2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC
    )
    assert isinstance(back.amount, Decimal) and str(back.amount) == "1234567890123.45"


def test_partners_and_deals_come_back_exactly_as_saved(store: Store) -> None:
    partner = Partner(
        crm_id="17",
        name="ООО Интегратор",
        type=PartnerType.INTEGRATOR,
        tier="gold",
        curator_key="anna",
        acquisition_stage="contract",
        region="spb",
        competencies=frozenset({"erp", "crm"}),
        qualification={"values_fit": 4, "reputation": 5},
        partner_since=T0,
        training_completed=True,
        modified_at=T0,
    )
    deal = Deal(
        "900", "17", "Renewal", "repeat", "won", StageKind.WON, Decimal("0.10"), T0, "USD", T0, True, "x", T0
    )
    store.save_page(P, page(Entity.PARTNER, [partner, Partner("18", "Bare")], T0))
    store.save_page(P, page(Entity.DEAL, [deal], T0))
    assert list(store.partners(P)) == [partner, Partner("18", "Bare")]
    assert list(store.deals(P)) == [deal]
    assert store.records.partner(P, "18") == Partner("18", "Bare")


def test_saving_a_page_upserts_by_crm_id_and_moves_the_cursor(store: Store) -> None:
    assert store.get_cursor(P, Entity.LEAD) is None
    store.save_page(P, page(Entity.LEAD, [lead("1"), lead("2")], T0, "2"))
    store.save_page(
        P, page(Entity.LEAD, [replace(lead("2"), stage="won", stage_kind=StageKind.WON)], T0, "2")
    )
    assert [(x.crm_id, x.stage) for x in store.leads(P)] == [("1", "new"), ("2", "won")]
    assert store.get_cursor(P, Entity.LEAD) == SyncCursor(T0, "2")
    assert store.get_cursor(P, Entity.DEAL) is None
    assert store.records.count(P, Entity.LEAD) == 2


def test_a_page_repeating_a_record_keeps_its_last_version(store: Store) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1"), replace(lead("1"), title="second")], T0))
    assert [x.title for x in store.leads(P)] == ["second"]


def test_a_page_without_a_cursor_keeps_the_stored_cursor(store: Store) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1")], T0, "1"))
    store.save_page(P, page(Entity.LEAD, [lead("2")], None))
    assert store.get_cursor(P, Entity.LEAD) == SyncCursor(T0, "1")


def test_a_failure_mid_page_leaves_the_cursor_and_the_data_as_before(store: Store) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1", partner="17")], T0, "1"))
    later = T0 + timedelta(hours=1)
    broken = replace(lead("3"), created_at=datetime(2026, 11, 2, 10, 0))  # naive: cannot be stored
    with pytest.raises(StateError, match="saving a page of lead records failed"):
        store.save_page(P, page(Entity.LEAD, [lead("1", partner="99"), lead("2"), broken], later, "3"))
    assert [(x.crm_id, x.partner_id) for x in store.leads(P)] == [("1", "17")]
    assert store.get_cursor(P, Entity.LEAD) == SyncCursor(T0, "1")


def test_a_cursor_that_cannot_be_stored_undoes_the_records_written_before_it(store: Store) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1", partner="17")], T0, "1"))
    naive_cursor = RecordPage(
        Entity.LEAD, [lead("1", partner="99"), lead("2")], SyncCursor(datetime(2026, 12, 1))
    )
    with pytest.raises(StateError):
        store.save_page(P, naive_cursor)
    assert [(x.crm_id, x.partner_id) for x in store.leads(P)] == [("1", "17")]
    assert store.get_cursor(P, Entity.LEAD) == SyncCursor(T0, "1")


def test_a_page_holding_the_wrong_kind_of_record_is_refused(store: Store) -> None:
    with pytest.raises(StateError, match="a page of deal records holds a Lead"):
        store.save_page(P, page(Entity.DEAL, [lead("1")], T0))
    assert store.get_cursor(P, Entity.DEAL) is None


def test_readers_filter_by_creation_window_and_partner(store: Store) -> None:
    records = [lead(str(i), at=T0 + timedelta(days=i), partner="17" if i % 2 else "18") for i in range(6)]
    store.save_page(P, page(Entity.LEAD, records, T0))
    since, until = T0 + timedelta(days=1), T0 + timedelta(days=4)
    assert [x.crm_id for x in store.leads(P, since=since, until=until)] == ["1", "2", "3"]
    assert [x.crm_id for x in store.leads(P, partner_id="18")] == ["0", "2", "4"]
    assert [x.crm_id for x in store.leads(P, since.astimezone(MSK), "17")] == ["1", "3", "5"]
    assert list(store.leads("amocrm:other")) == []


def test_deals_filter_by_funnel(store: Store) -> None:
    d = Deal("1", "17", "A", "repeat", "new", StageKind.OPEN, Decimal("5"), T0)
    store.save_page(P, page(Entity.DEAL, [d, replace(d, crm_id="2", funnel="tier_upgrade")], T0))
    assert [x.crm_id for x in store.deals(P, funnel="repeat")] == ["1"]
    assert [x.crm_id for x in store.deals(P, partner_id="17", until=T0)] == []


def test_readers_stream_more_records_than_one_chunk(store: Store) -> None:
    total = CHUNK * 2 + 7
    batch = [lead(f"{i:06d}") for i in range(total)]
    store.save_page(P, page(Entity.LEAD, batch, T0))
    seen = store.leads(P)
    assert next(seen).crm_id == "000000"
    assert sum(1 for _ in seen) == total - 1


def test_portals_keep_separate_cursors_and_records(store: Store) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1")], T0))
    store.save_page("hubspot:42", page(Entity.LEAD, [lead("1", partner="x")], T0 + timedelta(days=1)))
    assert [x.partner_id for x in store.leads(P)] == ["17"]
    assert store.get_cursor("hubspot:42", Entity.LEAD) == SyncCursor(T0 + timedelta(days=1))


def test_resetting_a_cursor_makes_the_next_sync_a_backfill_keeping_records(store: Store) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1")], T0))
    store.records.reset_cursor(P, Entity.LEAD)
    assert store.get_cursor(P, Entity.LEAD) is None
    assert store.records.count(P, Entity.LEAD) == 1


def test_saved_pages_survive_reopening(store: Store, store_url: str) -> None:
    store.save_page(P, page(Entity.LEAD, [lead("1")], T0, "1"))
    again = open_store(store_url)
    try:
        assert again.get_cursor(P, Entity.LEAD) == SyncCursor(T0, "1")
        assert [x.crm_id for x in again.leads(P)] == ["1"]
    finally:
        again.close()
