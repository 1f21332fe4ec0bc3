"""How the HubSpot adapter meets HubSpot's failures on the emulator: 207 multi-status answers mapped to
the one input each error concerns, error lines naming HubSpot's category and correlationId, 429s
waited out by their policy, the daily quota kept in reserve, and search paging past 10,000 changes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hs_support import MemoryKV, Sleeps, config, make_adapter, spec_sandbox, violations

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import RateLimited
from crm_bridge.ports import AdapterContext, Entity, LeadDraft, PartnerUpdate, SyncCursor
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge_hubspot import HubSpotAdapter, build_adapter


def _partner(sandbox: Sandbox, adapter: HubSpotAdapter) -> str:
    ptype = adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert ptype is not None
    seeded = sandbox.emulator.seed(
        {"companies": [{"properties": {"name": "Vector", ptype.code: "reseller"}}]}
    )
    return str(seeded["companies"][0])


def test_a_207_answer_fails_only_the_inputs_it_names(provisioned: HubSpotAdapter, sandbox: Sandbox) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.emulator.inject_batch_failure(2)  # type: ignore[attr-defined]

    outcomes = provisioned.create_leads([LeadDraft(f"e{i}", partner, f"Lead {i}") for i in range(5)])

    assert [o.ok for o in outcomes] == [True, True, True, False, False]
    assert all("INTERNAL_ERROR" in (o.error or "") for o in outcomes[3:])
    retried = provisioned.create_leads([LeadDraft(f"e{i}", partner, f"Lead {i}") for i in range(5)])
    assert [o.created for o in retried] == [False, False, False, True, True]


def test_an_unknown_company_in_a_batch_update_is_named_with_its_error(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)

    outcomes = provisioned.update_partners(
        [PartnerUpdate(partner, {"tier": "gold"}), PartnerUpdate("99999999", {"tier": "gold"})]
    )

    assert outcomes[0].ok and not outcomes[1].ok and "OBJECT_NOT_FOUND" in (outcomes[1].error or "")


def test_a_refused_request_names_hubspots_category_and_correlation_id(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[400]))

    with pytest.raises(Exception) as caught:
        provisioned.list_users()

    assert "VALIDATION_ERROR" in str(caught.value) and "correlationId" in str(caught.value)


def test_a_429_of_the_ten_second_window_is_waited_out(
    provisioned: HubSpotAdapter, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[429, 429]))

    users = provisioned.list_users()

    assert users and len(sleeps.waits) == 2 and all(w > 0 for w in sleeps.waits)


def test_a_search_answered_429_is_sent_again_after_the_wait(
    provisioned: HubSpotAdapter, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[429]))  # the next request (a search, a POST) is refused

    pages = list(provisioned.changed_since(Entity.PARTNER, None))

    searches = [r for r in sandbox.requests() if r["path"].endswith("/search")]
    assert pages and [r["status"] for r in searches] == [429, 200] and len(sleeps.waits) == 1


def test_the_daily_quota_reserve_pauses_requests_and_says_why(sandbox: Sandbox, kv: MemoryKV) -> None:
    sandbox.emulator.limits.daily = 10  # type: ignore[attr-defined]
    sandbox.emulator.set_rate_limit(True)
    adapter = make_adapter(config(sandbox, daily_reserve=0.5), kv)
    for _ in range(5):
        adapter.list_users()
    sent = sandbox.request_count()

    with pytest.raises(RateLimited, match="daily API quota") as caught:
        adapter.list_users()

    assert sandbox.request_count() == sent and (caught.value.retry_after or 0) > 0
    adapter.close()


@pytest.mark.parametrize(
    ("zone", "until", "shown"),
    [
        # 22:00 UTC is 17:00 in New York: its midnight is 05:00 UTC, after UTC's own
        ("US/Eastern", datetime(2026, 12, 7, 5, 0, tzinfo=UTC), "2026-12-07 00:00 US/Eastern (05:00 UTC)"),
        # … and 07:00 on the 7th in Tokyo: its next midnight is 15:00 UTC on the 7th
        ("Asia/Tokyo", datetime(2026, 12, 7, 15, 0, tzinfo=UTC), "2026-12-08 00:00 Asia/Tokyo (15:00 UTC)"),
        ("UTC", datetime(2026, 12, 7, 0, 0, tzinfo=UTC), "2026-12-07 00:00 UTC"),
    ],
)
def test_a_paused_daily_quota_waits_for_midnight_in_the_accounts_time_zone_and_says_so(
    zone: str, until: datetime, shown: str, kv: MemoryKV, caplog: pytest.LogCaptureFixture
) -> None:
    started = datetime(2026, 12, 6, 22, 0, tzinfo=UTC).timestamp()
    now = [started]
    metrics = BridgeMetrics()
    with spec_sandbox(emulator_options={"time_zone": zone}) as sandbox:
        sandbox.emulator.limits.daily = 10  # type: ignore[attr-defined]
        sandbox.emulator.set_rate_limit(True)
        ctx = AdapterContext(kv=kv, clock=lambda: now[0], on_quota=metrics.crm_quota)
        adapter = build_adapter(config(sandbox, daily_reserve=0.5), ctx)
        for _ in range(4):
            adapter.list_users()
        assert 'crm_bridge_crm_paused{crm="hubspot",reason="daily_quota"} 0.0' in metrics.render().decode()

        with caplog.at_level(logging.INFO, logger="crm_bridge_hubspot"):
            adapter.list_users()  # the answer reports 5 of 10 left: the reserve; the zone is read
            details = [r for r in sandbox.requests() if r["path"] == "/account-info/v3/details"]
            with pytest.raises(RateLimited, match="paused: the daily API quota") as caught:
                adapter.list_users()
            paused = metrics.render().decode()
            sent = sandbox.request_count()
            sandbox.emulator.limits.reset()  # type: ignore[attr-defined]  # HubSpot's new day
            now[0] = until.timestamp() - 1  # a second before the account's midnight: still paused
            with pytest.raises(RateLimited):
                adapter.list_users()
            still = sandbox.request_count()
            now[0] = until.timestamp() + 1
            adapter.list_users()
        adapter.close()
        assert not violations(sandbox)

    assert len(details) == 1 and caught.value.retry_after == pytest.approx(until.timestamp() - started)
    assert 'crm_bridge_crm_paused{crm="hubspot",reason="daily_quota"} 1.0' in paused
    assert 'crm_bridge_crm_daily_quota_remaining{crm="hubspot"} 5.0' in paused
    assert f"scheduled work pauses until {shown}" in caplog.text
    assert f"work goes on after {shown}" in str(caught.value)
    assert still == sent and sandbox.request_count() == sent + 1 and "quota has reset" in caplog.text
    assert 'crm_bridge_crm_paused{crm="hubspot",reason="daily_quota"} 0.0' in metrics.render().decode()


@pytest.mark.slow
def test_more_than_10000_changes_are_read_by_moving_the_search_window(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    catalog = provisioned.catalog()
    pipeline, stage = catalog.funnels["leads"], catalog.stage_code("leads", None)
    ref = catalog.field(FieldEntity.DEAL, "partner_ref")  # leads made before the partner label: the property
    assert ref is not None and stage is not None
    start = SyncCursor(datetime.now(UTC) - timedelta(minutes=1))
    deals = [
        {"properties": {"dealname": f"D{i}", "pipeline": pipeline, "dealstage": stage, ref.code: partner}}
        for i in range(10_150)
    ]
    sandbox.emulator.seed({"deals": deals})
    sandbox.log.clear()

    ids = [r.crm_id for page in provisioned.changed_since(Entity.LEAD, start) for r in page.records]

    assert len(ids) == 10_150 and len(set(ids)) == 10_150
    searches = len([r for r in sandbox.requests() if r["path"].endswith("/search")])
    assert searches == 51  # ceil(10,150 / 200): 50 pages, then the window moves on (the query would 400)
