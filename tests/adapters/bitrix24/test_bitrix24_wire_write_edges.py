"""Wire tests of the edges of the Bitrix24 record writes (writes.py, intake.py): a portal without the
partner reference field, drafts without a partner, amounts in exponent form, a repeated external id or
a refused draft in the middle of a call, a create the portal refuses, and intake batches whose answer
is lost while the next batch goes through."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import responses
from b24_wire_support import HOOK, _adapter, _batch, _sent
from test_bitrix24_wire_records import NONE_FOUND, _commands, _curated, _kv

from crm_bridge.errors import NotFound
from crm_bridge.ports import DealDraft, LeadDraft, WriteOutcome


@responses.activate
def test_a_portal_without_the_partner_reference_field_still_gets_the_lead_without_it() -> None:
    kv = _kv()
    kv.data["bitrix24.catalog"]["fields"].pop("lead.partner_ref")
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(HOOK + "batch", json=_batch({"c0": 703}))

    out = _adapter(kv).create_leads([LeadDraft("x3", "5", "No ref", amount=Decimal("1E+3"))])

    assert out == [WriteOutcome("x3", "703", created=True)]
    [(_, deals), _companies] = _commands(responses.calls[0])
    assert [v for k, v in deals.items() if k.startswith("select")] == ["ID", "ORIGIN_ID"]
    [(_, params)] = _commands(responses.calls[1])
    assert params == {
        "fields[ORIGINATOR_ID]": "crm-bridge",
        "fields[ORIGIN_ID]": "x3",
        "fields[UF_CRM_BRIDGE_EXT_ID]": "x3",
        "fields[TITLE]": "No ref",
        "fields[CATEGORY_ID]": "9",
        "fields[STAGE_ID]": "C9:NEW",
        "fields[OPPORTUNITY]": "1000",
        "fields[UF_CRM_BRIDGE_CONFLICT]": "62",
        "params[REGISTER_SONET_EVENT]": "N",
        "auth_connector": "crm_bridge",
    }


@responses.activate
def test_a_deal_without_a_partner_carries_no_partner_reference_and_a_plain_amount() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": []}))
    responses.post(HOOK + "batch", json=_batch({"c0": 804}))

    out = _adapter(_kv()).create_deals([DealDraft("d5", "repeat", "Solo", amount=Decimal("2.5E+2"))])

    assert out == [WriteOutcome("d5", "804", created=True)]
    [(_, params)] = _commands(responses.calls[1])
    assert params == {
        "fields[ORIGINATOR_ID]": "crm-bridge",
        "fields[ORIGIN_ID]": "d5",
        "fields[UF_CRM_BRIDGE_EXT_ID]": "d5",
        "fields[TITLE]": "Solo",
        "fields[CATEGORY_ID]": "10",
        "fields[STAGE_ID]": "C10:NEW",
        "fields[OPPORTUNITY]": "250",
        "params[REGISTER_SONET_EVENT]": "N",
        "auth_connector": "crm_bridge",
    }


@responses.activate
def test_a_partner_reference_held_in_a_user_field_is_written_as_the_partner_id() -> None:
    kv = _kv()
    kv.data["bitrix24.catalog"]["fields"]["lead.partner_ref"] = ["UF_CRM_PARTNER_REF", "user", {}]
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(HOOK + "batch", json=_batch({"c0": 705}))

    out = _curated(kv, {"anna": "17"}).create_leads([LeadDraft("x5", "5", "User ref")])

    assert out == [WriteOutcome("x5", "705", created=True)]
    [(_, params)] = _commands(responses.calls[1])
    assert params["fields[UF_CRM_PARTNER_REF]"] == "5"


@responses.activate
def test_a_repeated_external_id_does_not_stop_the_drafts_after_it() -> None:
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(HOOK + "batch", json=_batch({"c0": 911, "c1": 912}))

    out = _adapter(_kv()).create_leads(
        [LeadDraft("a", "5", "A"), LeadDraft("a", "5", "A again"), LeadDraft("b", "5", "B")]
    )

    assert out == [
        WriteOutcome("a", "911", created=True),
        WriteOutcome("a", "911", created=True),
        WriteOutcome("b", "912", created=True),
    ]
    assert [p["fields[ORIGIN_ID]"] for _, p in _commands(responses.calls[1])] == ["a", "b"]


@responses.activate
def test_a_create_the_portal_refuses_names_its_draft_and_the_portal_s_reason() -> None:
    responses.post(HOOK + "batch", json=NONE_FOUND)
    responses.post(
        HOOK + "batch",
        json=_batch({"c1": 913}, {"c0": {"error": "ERROR_CORE", "error_description": "Stage is locked"}}),
    )

    out = _adapter(_kv()).create_leads([LeadDraft("r1", "5", "Refused"), LeadDraft("r2", "5", "Taken")])

    assert out == [
        WriteOutcome("r1", None, error="Bitrix24: Stage is locked [ERROR_CORE]"),
        WriteOutcome("r2", "913", created=True),
    ]


@responses.activate
def test_intake_sends_the_leads_after_one_it_refuses() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": 21}))

    out = _adapter(_kv()).send_leads([LeadDraft("j1", "5", "Bad", stage="x"), LeadDraft("j2", "5", "Good")])

    assert out == [
        WriteOutcome("j1", None, error="stage 'x' does not exist in funnel 'leads'"),
        WriteOutcome("j2", "21", created=True),
    ]


@responses.activate
def test_intake_marks_only_the_batch_whose_answer_was_lost_uncertain() -> None:
    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        if "L50" in json.dumps(json.loads(request.body)["cmd"]):
            return 200, {}, json.dumps(_batch({"c0": 950}))
        return 504, {}, json.dumps({"error": "", "error_description": "Gateway timeout"})

    responses.add_callback(responses.POST, HOOK + "batch", callback=answer)
    drafts = [LeadDraft(f"L{i}", "5", f"Lead {i}") for i in range(51)]

    out = _adapter(_kv()).send_leads(drafts)

    lost = WriteOutcome(
        "L0",
        None,
        error="the portal's answer was lost after the request was sent: Bitrix24: Gateway timeout",
        uncertain=True,
    )
    assert out[0] == lost
    assert [o.external_id for o in out[:50]] == [f"L{i}" for i in range(50)]
    assert all(o.uncertain and o.crm_id is None for o in out[:50])
    assert out[50] == WriteOutcome("L50", "950", created=True)
    assert sorted(len(_sent(c)["cmd"]) for c in responses.calls) == [1, 50]


@responses.activate
def test_finding_partners_before_provisioning_is_a_bitrix24_not_found() -> None:
    kv = _kv()
    kv.data["bitrix24.catalog"]["fields"].pop("partner.partner_type")

    with pytest.raises(NotFound) as info:
        _adapter(kv).find_partners(["5"])

    assert info.value.crm == "bitrix24"
    assert len(responses.calls) == 0


@responses.activate
def test_a_partner_row_that_cannot_be_read_does_not_hide_the_rows_after_it() -> None:
    rows = [
        {"ID": "6", "TITLE": "Broken", "UF_CRM_PARTNER_TYPE": "45", "DATE_MODIFY": "not a date"},
        {"ID": "5", "TITLE": "Acme", "UF_CRM_PARTNER_TYPE": "45"},
    ]
    responses.post(HOOK + "batch", json=_batch({"c0": rows}))

    found = _adapter(_kv()).find_partners(["6", "5"])

    assert list(found) == ["5"] and found["5"].name == "Acme"
