"""amoCRM records read into the domain, field by field: a partner company (type, tier, curator, since,
training), a partner lead (stage, amount, manager, external id, partner reference, conflict, close time)
and a deal of another pipeline; the listing queries sent; a listing before provisioning."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from amo_support import DESIRED, MemoryKV, provision, token_config

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.errors import NotFound
from crm_bridge.ports import AdapterContext, Entity
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter

JAN_2 = 1767312000  # 2026-01-02 00:00 UTC
AT = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def curated(sandbox: Sandbox) -> Iterator[AmoCrmAdapter]:
    adapter = build_adapter(
        token_config(sandbox), AdapterContext(kv=MemoryKV()), desired=DESIRED, curators={"anna": "8000002"}
    )
    provision(adapter)
    sandbox.log.clear()
    yield adapter
    adapter.close()


def _fid(adapter: AmoCrmAdapter, entity: FieldEntity, key: str) -> int:
    info = adapter.catalog().field(entity, key)
    assert info is not None
    return int(info.code)


def _enum(adapter: AmoCrmAdapter, entity: FieldEntity, key: str, option: str) -> int:
    info = adapter.catalog().field(entity, key)
    assert info is not None
    return info.options[option]


def test_a_partner_company_is_read_field_by_field(curated: AmoCrmAdapter, sandbox: Sandbox) -> None:
    p = FieldEntity.PARTNER
    values = [
        {
            "field_id": _fid(curated, p, "partner_type"),
            "values": [{"enum_id": _enum(curated, p, "partner_type", "integrator")}],
        },
        {"field_id": _fid(curated, p, "tier"), "values": [{"enum_id": _enum(curated, p, "tier", "gold")}]},
        {"field_id": _fid(curated, p, "curator"), "values": [{"value": "8000002"}]},
        {"field_id": _fid(curated, p, "partner_since"), "values": [{"value": str(JAN_2)}]},
        {
            "field_id": _fid(curated, p, "training_completed"),
            "values": [{"enum_id": _enum(curated, p, "training_completed", "yes")}],
        },
    ]
    sandbox.emulator.seed(
        {
            "companies": [
                {"name": "Vector LLC", "updated_at": JAN_2, "custom_fields_values": values},
                {"name": "Just a company", "updated_at": JAN_2},  # no partner type: not listed
                {
                    "name": "Bare partner",
                    "updated_at": JAN_2 + 1,
                    "custom_fields_values": [
                        values[0],
                        {"field_id": _fid(curated, p, "curator"), "values": [{"value": "8000009"}]},
                    ],
                },
            ]
        }
    )
    sandbox.log.clear()

    pages = list(curated.changed_since(Entity.PARTNER, None))

    partners = [r for page in pages for r in page.records]
    got = [
        (r.name, r.type, r.tier, r.curator_key, r.partner_since, r.training_completed, r.modified_at)
        for r in partners
    ]
    assert got == [
        ("Vector LLC", PartnerType.INTEGRATOR, "gold", "anna", AT, True, AT),
        (
            "Bare partner",
            PartnerType.INTEGRATOR,
            None,
            None,
            None,
            False,
            datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC),
        ),
    ]
    [query] = [e["query"] for e in sandbox.requests()]
    options = sorted(
        _enum(curated, p, "partner_type", k) for k in ("distributor", "reseller", "integrator", "referral")
    )
    assert query[f"filter[custom_fields_values][{_fid(curated, p, 'partner_type')}][]"] == [
        str(o) for o in options
    ]
    assert query["order[updated_at]"] == ["asc"]


def test_a_partner_lead_is_read_field_by_field(curated: AmoCrmAdapter, sandbox: Sandbox) -> None:
    lead = FieldEntity.LEAD
    pipeline = curated.catalog().funnels["leads"]
    values = [
        {"field_id": _fid(curated, lead, "external_id"), "values": [{"value": "ext-7"}]},
        {"field_id": _fid(curated, lead, "partner_ref"), "values": [{"value": "40000005"}]},
        {
            "field_id": _fid(curated, lead, "conflict"),
            "values": [{"enum_id": _enum(curated, lead, "conflict", "yes")}],
        },
    ]
    sandbox.emulator.seed(
        {
            "companies": [{"name": "Embedded partner"}],
        }
    )
    sandbox.emulator.seed(
        {
            "leads": [
                {
                    "name": "Won lead",
                    "pipeline_id": pipeline,
                    "status_id": 142,
                    "price": 1500,
                    "responsible_user_id": 8000003,
                    "created_at": JAN_2,
                    "updated_at": JAN_2,
                    "closed_at": JAN_2 + 3600,
                    "custom_fields_values": values,
                    "_embedded": {"companies": [{"id": 40000001}]},
                },
                {
                    "name": "Open lead",
                    "pipeline_id": pipeline,
                    "created_at": JAN_2,
                    "updated_at": JAN_2,
                    "_embedded": {"companies": [{"id": 40000001}]},
                },
            ]
        }
    )
    sandbox.log.clear()

    leads = [r for page in curated.changed_since(Entity.LEAD, None) for r in page.records]

    won, open_ = leads
    assert (won.title, won.stage, won.stage_kind, won.amount) == (
        "Won lead",
        "deal_closed",
        StageKind.WON,
        Decimal(1500),
    )
    assert (won.manager_user_id, won.external_id, won.partner_id, won.conflict) == (
        "8000003",
        "ext-7",
        "40000005",  # the reference wins over the linked company
        True,
    )
    assert (won.created_at, won.closed_at, won.modified_at) == (AT, datetime(2026, 1, 2, 1, tzinfo=UTC), AT)
    assert (open_.stage, open_.stage_kind, open_.closed_at, open_.conflict) == (
        "lead_registered",
        StageKind.OPEN,
        None,
        False,
    )
    assert (open_.partner_id, open_.external_id, open_.amount) == ("40000001", None, Decimal(0))
    [query] = [e["query"] for e in sandbox.requests() if e["endpoint"] == "/api/v4/leads"]
    assert query["filter[pipeline_id][]"] == [str(pipeline)] and query["with"] == ["contacts"]


def test_deals_are_the_leads_of_the_other_pipelines(curated: AmoCrmAdapter, sandbox: Sandbox) -> None:
    funnels = curated.catalog().funnels
    sandbox.emulator.seed(
        {
            "leads": [
                {
                    "name": "Repeat",
                    "pipeline_id": funnels["repeat"],
                    "price": 70,
                    "created_at": JAN_2,
                    "updated_at": JAN_2,
                },
                {
                    "name": "Partner lead",
                    "pipeline_id": funnels["leads"],
                    "created_at": JAN_2,
                    "updated_at": JAN_2,
                },
                {
                    "name": "Upgrade",
                    "pipeline_id": funnels["tier_upgrade"],
                    "created_at": JAN_2,
                    "updated_at": JAN_2 + 1,
                },
            ]
        }
    )
    sandbox.log.clear()

    deals = [r for page in curated.changed_since(Entity.DEAL, None) for r in page.records]

    got = [
        (d.title, d.funnel, d.stage, d.stage_kind, d.repeat, d.amount, d.partner_id, d.closed_at)
        for d in deals
    ]
    assert got == [
        ("Repeat", "repeat", "base_review", StageKind.OPEN, True, Decimal(70), None, None),
        ("Upgrade", "tier_upgrade", "assessment", StageKind.OPEN, False, Decimal(0), None, None),
    ]
    [query] = [e["query"] for e in sandbox.requests()]
    others = sorted(v for k, v in funnels.items() if k != "leads")
    assert query["filter[pipeline_id][]"] == [str(v) for v in others]


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (Entity.PARTNER, "the partner fields are not in amoCRM yet: run crm-bridge provision"),
        (Entity.LEAD, "the partner pipelines are not in amoCRM yet: run crm-bridge provision"),
        (Entity.DEAL, "the partner pipelines are not in amoCRM yet: run crm-bridge provision"),
    ],
)
def test_a_listing_before_provisioning_says_what_to_run(
    adapter: AmoCrmAdapter, sandbox: Sandbox, entity: Entity, message: str
) -> None:
    with pytest.raises(NotFound) as caught:
        list(adapter.changed_since(entity, None))

    assert str(caught.value) == message


def test_odd_values_in_a_listing_are_read_or_the_record_skipped_with_a_warning(
    curated: AmoCrmAdapter, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = curated.catalog().funnels["leads"]
    ids = sandbox.emulator.seed(
        {
            "leads": [
                {"name": f"L{i}", "pipeline_id": pipeline, "created_at": JAN_2, "updated_at": JAN_2 + i}
                for i in range(4)
            ]
        }
    )["leads"]
    rows = sandbox.emulator.state.records["leads"]
    rows[ids[0]]["created_at"] = 0  # no creation time: skipped
    rows[ids[1]].update(price="12.5", responsible_user_id="8000003.0")  # numbers sent as text
    rows[ids[2]].update(price="", responsible_user_id=0)  # nobody responsible
    sandbox.log.clear()

    with caplog.at_level(logging.WARNING, logger="crm_bridge_amocrm.source"):
        leads = [r for page in curated.changed_since(Entity.LEAD, None) for r in page.records]

    assert [(r.title, r.amount, r.manager_user_id) for r in leads] == [
        ("L1", Decimal("12.5"), "8000003"),
        ("L2", Decimal(0), None),
        ("L3", Decimal(0), "8000001"),
    ]
    assert curated.lister.skipped == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"skipped amoCRM record: lead {ids[0]}: lead has no created_at"
    ]
