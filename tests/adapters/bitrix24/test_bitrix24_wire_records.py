"""Wire tests of the Bitrix24 record writes (writes.py, intake.py, lookup.py): every field a created
lead or deal carries, what an update sends for each kind of change, and the refusals each record gets
on its own (with their exact texts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, _adapter, _batch, _sent

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.errors import TransientError
from crm_bridge.ports import (
    AdapterContext,
    DealDraft,
    Entity,
    LeadDraft,
    PartnerUpdate,
    RecordUpdate,
    WriteOutcome,
)
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config


def _kv() -> MemoryKV:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10, "upsell": 11},
            "stages": {
                "C9:NEW": ["leads", "registered", "open"],
                "C9:WON": ["leads", "won", "won"],
                "C10:NEW": ["repeat", "new", "open"],
                "C10:WON": ["repeat", "won", "won"],
                "C11:NEW": ["upsell", "new", "open"],
                "C11:OFFER": ["upsell", "offer", "open"],
            },
            "first_stage": {"leads": "C9:NEW", "repeat": "C10:NEW", "upsell": "C11:NEW"},
            "fields": {
                "lead.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
                "lead.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
                "lead.conflict": ["UF_CRM_BRIDGE_CONFLICT", "enum", {"yes": 61, "no": 62}],
                "lead.region": ["UF_CRM_LEAD_REGION", "string", {}],
                "deal.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
                "deal.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
                "partner.partner_type": ["UF_CRM_PARTNER_TYPE", "enum", {"reseller": 45}],
                "partner.tier": ["UF_CRM_PARTNER_TIER", "enum", {"gold": 47}],
                "partner.curator": ["UF_CRM_PARTNER_CURATOR", "user", {}],
            },
        },
    )
    return kv


def _commands(call: Any) -> list[tuple[str, dict[str, str]]]:
    """The batch's commands as (method, decoded parameters)."""
    out = []
    for cmd in _sent(call)["cmd"].values():
        method, _, query = cmd.partition("?")
        out.append((method, dict(parse_qsl(query, keep_blank_values=True))))
    return out


def _curated(kv: MemoryKV, curators: dict[str, str]) -> Bitrix24Adapter:
    ctx = AdapterContext(kv=kv, clock=lambda: 1724916859.0, sleep=Sleeps())
    return build_adapter(Bitrix24Config(webhook_url=HOOK), ctx, curators=curators)


NONE_FOUND = _batch({"c0": [], "c1": [{"ID": "5"}]})  # the dedupe lookup: no deal yet, partner 5 exists


@responses.activate
def test_a_lead_carries_every_field_the_manager_and_the_bridge_need() -> None:
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(HOOK + "batch", json=_batch({"c0": 701}))
    draft = LeadDraft(
        "x1",
        "5",
        "Big deal",
        customer_name="Romashka LLC",
        customer=CustomerIdentity("boss@romashka.ru", "+7 900 000", "7701234567"),
        amount=Decimal("1500.50"),
        currency="RUB",
        comment="Hot lead",
        stage="won",
        manager_user_id="3",
        conflict=True,
    )

    [out] = _adapter(_kv()).create_leads([draft])

    assert out == WriteOutcome("x1", "701", created=True)
    [(method, params)] = _commands(responses.calls[1])
    assert method == "crm.deal.add"
    assert params == {
        "fields[ORIGINATOR_ID]": "crm-bridge",
        "fields[ORIGIN_ID]": "x1",
        "fields[UF_CRM_BRIDGE_EXT_ID]": "x1",
        "fields[UF_CRM_PARTNER_REF]": "5",
        "fields[TITLE]": "Big deal",
        "fields[CATEGORY_ID]": "9",
        "fields[STAGE_ID]": "C9:WON",
        "fields[OPPORTUNITY]": "1500.50",
        "fields[CURRENCY_ID]": "RUB",
        "fields[ASSIGNED_BY_ID]": "3",
        "fields[UF_CRM_BRIDGE_CONFLICT]": "61",
        "fields[COMMENTS]": (
            "Hot lead\nCustomer: Romashka LLC\nE-mail: boss@romashka.ru\nPhone: +7 900 000\nINN: 7701234567"
        ),
        "params[REGISTER_SONET_EVENT]": "N",
        "auth_connector": "crm_bridge",
    }
    [(_, deals), (_, companies)] = _commands(responses.calls[0])
    assert deals == {
        "filter[ORIGINATOR_ID]": "crm-bridge",
        "filter[@ORIGIN_ID][0]": "x1",
        "select[0]": "ID",
        "select[1]": "ORIGIN_ID",
        "select[2]": "UF_CRM_PARTNER_REF",
        "order[ID]": "ASC",
        "start": "-1",
    }
    assert companies == {"filter[@ID][0]": "5", "select[0]": "ID", "start": "-1"}


@responses.activate
def test_a_bare_lead_goes_to_the_first_stage_with_only_what_it_has() -> None:
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(HOOK + "batch", json=_batch({"c0": 702}))

    _adapter(_kv()).create_leads([LeadDraft("x2", "5", "Small")])

    [(_, params)] = _commands(responses.calls[1])
    assert params == {
        "fields[ORIGINATOR_ID]": "crm-bridge",
        "fields[ORIGIN_ID]": "x2",
        "fields[UF_CRM_BRIDGE_EXT_ID]": "x2",
        "fields[UF_CRM_PARTNER_REF]": "5",
        "fields[TITLE]": "Small",
        "fields[CATEGORY_ID]": "9",
        "fields[STAGE_ID]": "C9:NEW",
        "fields[OPPORTUNITY]": "0",
        "fields[UF_CRM_BRIDGE_CONFLICT]": "62",
        "params[REGISTER_SONET_EVENT]": "N",
        "auth_connector": "crm_bridge",
    }


@responses.activate
def test_each_lead_that_cannot_be_created_says_why_and_the_rest_go_in_one_batch() -> None:
    lookup = _batch(
        {
            "c0": [
                {"ID": "300", "ORIGIN_ID": "mine", "UF_CRM_PARTNER_REF": "5"},
                {"ID": "301", "ORIGIN_ID": "theirs", "UF_CRM_PARTNER_REF": "8"},
                {"ID": "302", "ORIGIN_ID": "mine", "UF_CRM_PARTNER_REF": "5"},
            ],
            "c1": [{"ID": "5"}],
        }
    )
    responses.post(HOOK + "batch", json=lookup)
    responses.post(HOOK + "batch", json=_batch({"c0": 900}))
    drafts = [
        LeadDraft("mine", "5", "Again"),
        LeadDraft("theirs", "5", "Taken"),
        LeadDraft("orphan", "6", "No such partner"),
        LeadDraft("lost", "5", "Bad stage", stage="nope"),
        LeadDraft("new", "5", "Fresh"),
        LeadDraft("new", "5", "Fresh twice"),
    ]

    out = _adapter(_kv()).create_leads(drafts)

    assert out == [
        WriteOutcome("mine", "300", created=False),
        WriteOutcome("theirs", None, error="external id already used by another partner's record"),
        WriteOutcome("orphan", None, error="partner 6 is not a company on the portal"),
        WriteOutcome("lost", None, error="stage 'nope' does not exist in funnel 'leads'"),
        WriteOutcome("new", "900", created=True),
        WriteOutcome("new", "900", created=True),
    ]
    assert [m for m, _ in _commands(responses.calls[1])] == ["crm.deal.add"]
    [(_, companies)] = [c for c in _commands(responses.calls[0]) if c[0] == "crm.company.list"]
    assert companies["filter[@ID][0]"] == "5" and companies["filter[@ID][1]"] == "6"


@responses.activate
def test_a_deal_goes_to_its_funnel_with_its_responsible_and_reference() -> None:
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(HOOK + "batch", json=_batch({"c0": 801}))
    draft = DealDraft(
        "d1", "repeat", "Renewal", "5", amount=Decimal("10"), currency="USD", responsible_user_id="4"
    )

    assert _adapter(_kv()).create_deals([draft]) == [WriteOutcome("d1", "801", created=True)]

    [(method, params)] = _commands(responses.calls[1])
    assert method == "crm.deal.add"
    assert params == {
        "fields[ORIGINATOR_ID]": "crm-bridge",
        "fields[ORIGIN_ID]": "d1",
        "fields[UF_CRM_BRIDGE_EXT_ID]": "d1",
        "fields[UF_CRM_PARTNER_REF]": "5",
        "fields[TITLE]": "Renewal",
        "fields[CATEGORY_ID]": "10",
        "fields[STAGE_ID]": "C10:NEW",
        "fields[OPPORTUNITY]": "10",
        "fields[CURRENCY_ID]": "USD",
        "fields[ASSIGNED_BY_ID]": "4",
        "params[REGISTER_SONET_EVENT]": "N",
        "auth_connector": "crm_bridge",
    }


@responses.activate
def test_a_deal_outside_our_funnels_or_in_the_lead_funnel_is_refused() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": []}))

    out = _adapter(_kv()).create_deals(
        [
            DealDraft("d2", "partners", "X"),
            DealDraft("d3", "leads", "Y"),
            DealDraft("d4", "repeat", "Z", stage="gone"),
        ]
    )

    assert [o.error for o in out] == [
        "funnel 'partners' is not on the portal; run crm-bridge provision",
        "partner leads are created with create_leads",
        "stage 'gone' does not exist in funnel 'repeat'",
    ]
    assert len(responses.calls) == 1  # the lookup only: nothing to create


@responses.activate
def test_record_updates_send_stage_moves_fields_and_refusals_per_record() -> None:
    responses.post(
        HOOK + "batch",
        json=_batch(
            {"c0": True, "c1": True, "c2": True},
            {"c3": {"error": "ERROR_CORE", "error_description": "Locked"}},
        ),
    )
    updates = [
        RecordUpdate(
            Entity.LEAD,
            "12",
            stage="won",
            responsible_user_id="3",
            fields={
                "amount": Decimal("2.5E+3"),
                "title": "T",
                "currency": "EUR",
                "comment": "c",
                "region": "North",
            },
        ),
        RecordUpdate(Entity.DEAL, "13", stage="offer"),
        RecordUpdate(Entity.DEAL, "14", fields={"partner_ref": None}),
        RecordUpdate(Entity.DEAL, "15", responsible_user_id="9"),
        RecordUpdate(Entity.PARTNER, "16", fields={"tier": "gold"}),
        RecordUpdate(Entity.LEAD, "17", funnel="repeat", stage="new"),
        RecordUpdate(Entity.DEAL, "18", stage="new"),
        RecordUpdate(Entity.DEAL, "19", stage="nowhere"),
        RecordUpdate(Entity.LEAD, "20", fields={"colour": "red"}),
    ]

    out = _adapter(_kv()).update_records(updates)

    assert out == [
        WriteOutcome("12", "12"),
        WriteOutcome("13", "13"),
        WriteOutcome("14", "14"),
        WriteOutcome("15", None, error="Bitrix24: Locked [ERROR_CORE]"),
        WriteOutcome("16", None, error="partners are changed with update_partners"),
        WriteOutcome("17", None, error="a partner lead stays in the lead funnel"),
        WriteOutcome("18", None, error="stage 'new' is ambiguous or unknown: pass the funnel"),
        WriteOutcome("19", None, error="stage 'nowhere' is ambiguous or unknown: pass the funnel"),
        WriteOutcome("20", None, error="unknown field 'colour' on lead; run crm-bridge provision"),
    ]
    assert _commands(responses.calls[0]) == [
        (
            "crm.deal.update",
            {
                "id": "12",
                "fields[OPPORTUNITY]": "2500",
                "fields[TITLE]": "T",
                "fields[CURRENCY_ID]": "EUR",
                "fields[COMMENTS]": "c",
                "fields[UF_CRM_LEAD_REGION]": "North",
                "fields[ASSIGNED_BY_ID]": "3",
                "fields[STAGE_ID]": "C9:WON",
                "auth_connector": "crm_bridge",
            },
        ),
        ("crm.deal.update", {"id": "13", "fields[STAGE_ID]": "C11:OFFER", "auth_connector": "crm_bridge"}),
        ("crm.deal.update", {"id": "14", "fields[UF_CRM_PARTNER_REF]": "", "auth_connector": "crm_bridge"}),
        ("crm.deal.update", {"id": "15", "fields[ASSIGNED_BY_ID]": "9", "auth_connector": "crm_bridge"}),
    ]


@responses.activate
def test_partner_updates_rename_the_company_and_set_its_fields() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": True}))

    out = _curated(_kv(), {"anna": "17"}).update_partners(
        [
            PartnerUpdate("5", {"name": "Acme", "tier": "gold", "curator": "anna"}),
            PartnerUpdate("6", {"tier": "diamond"}),
        ]
    )

    assert out == [
        WriteOutcome("5", "5"),
        WriteOutcome(
            "6",
            None,
            error="option 'diamond' does not exist in UF_CRM_PARTNER_TIER; run crm-bridge provision",
        ),
    ]
    assert _commands(responses.calls[0]) == [
        (
            "crm.company.update",
            {
                "id": "5",
                "fields[TITLE]": "Acme",
                "fields[UF_CRM_PARTNER_TIER]": "47",
                "fields[UF_CRM_PARTNER_CURATOR]": "17",
                "auth_connector": "crm_bridge",
            },
        )
    ]


@responses.activate
def test_intake_sends_each_lead_once_and_marks_a_lost_answer_uncertain() -> None:
    responses.post(
        HOOK + "batch", json=_batch({"c0": 11}, {"c1": {"error": "", "error_description": "Title is empty"}})
    )
    adapter = _adapter(_kv())

    out = adapter.send_leads(
        [
            LeadDraft("i1", "5", "A"),
            LeadDraft("i2", "5", ""),
            LeadDraft("i1", "5", "A"),
            LeadDraft("i3", "5", "B", stage="x"),
        ]
    )

    assert out == [
        WriteOutcome("i1", "11", created=True),
        WriteOutcome("i2", None, error="Bitrix24: Title is empty"),
        WriteOutcome("i1", None, error="the same external id twice in one call"),
        WriteOutcome("i3", None, error="stage 'x' does not exist in funnel 'leads'"),
    ]
    [(method, params), _] = _commands(responses.calls[0])
    assert method == "crm.deal.add" and params["auth_connector"] == "crm_bridge"
    assert params["params[REGISTER_SONET_EVENT]"] == "N" and params["fields[ORIGIN_ID]"] == "i1"

    responses.replace(
        responses.POST, HOOK + "batch", status=504, json={"error": "", "error_description": "Gateway timeout"}
    )
    [lost] = adapter.send_leads([LeadDraft("i4", "5", "C")])
    assert lost.uncertain and lost.crm_id is None and not lost.created
    assert lost.error == (
        "the portal's answer was lost after the request was sent: Bitrix24: Gateway timeout"
    )


@responses.activate
def test_finding_partners_reads_only_companies_with_a_partner_type() -> None:
    rows = [
        {
            "ID": "5",
            "TITLE": "Acme",
            "UF_CRM_PARTNER_TYPE": "45",
            "UF_CRM_PARTNER_TIER": "47",
            "UF_CRM_PARTNER_CURATOR": "17",
        },
        {"ID": "6", "TITLE": "Broken", "UF_CRM_PARTNER_TYPE": "45", "DATE_MODIFY": "not a date"},
    ]
    responses.post(HOOK + "batch", json=_batch({"c0": rows}))

    found = _curated(_kv(), {"anna": "17"}).find_partners(["5", "6", "5", "x7"])

    assert list(found) == ["5"]
    assert (found["5"].name, found["5"].tier, found["5"].curator_key) == ("Acme", "gold", "anna")
    [(method, params)] = _commands(responses.calls[0])
    assert method == "crm.company.list"
    assert (
        params["filter[@ID][0]"] == "5" and params["filter[@ID][1]"] == "6" and "filter[@ID][2]" not in params
    )
    assert params["filter[>UF_CRM_PARTNER_TYPE]"] == "0" and params["start"] == "-1"
    assert params["select[0]"] == "ID"


@responses.activate
def test_finding_partners_before_provisioning_says_to_provision() -> None:
    import pytest

    from crm_bridge.errors import NotFound

    kv = _kv()
    kv.data["bitrix24.catalog"]["fields"].pop("partner.partner_type")
    with pytest.raises(NotFound) as info:
        _adapter(kv).find_partners(["5"])
    assert str(info.value) == "the partner fields are not on the portal yet: run crm-bridge provision"


@responses.activate
def test_a_failed_lookup_stops_the_push() -> None:
    import pytest

    responses.post(
        HOOK + "batch", json=_batch({}, {"c0": {"error": "INTERNAL_SERVER_ERROR", "error_description": "x"}})
    )
    with pytest.raises(TransientError):
        _adapter(_kv()).find_leads(["a"])
