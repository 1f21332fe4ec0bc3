"""Wire tests of Bitrix24 record updates (writes.py) beyond the common cases: a lead handed to another
manager keeps its stage, a deal's custom field is looked up among the deal fields (not the lead ones),
and an amount given as a float travels in plain digits."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import responses
from b24_support import MemoryKV
from b24_wire_support import HOOK, _adapter, _batch, _sent

from crm_bridge.ports import Entity, RecordUpdate, WriteOutcome


def _kv() -> MemoryKV:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10},
            "stages": {
                "C9:NEW": ["leads", "registered", "open"],
                "C9:WON": ["leads", "won", "won"],
                "C10:NEW": ["repeat", "new", "open"],
            },
            "first_stage": {"leads": "C9:NEW", "repeat": "C10:NEW"},
            "fields": {
                "lead.region": ["UF_CRM_LEAD_REGION", "string", {}],
                "deal.region": ["UF_CRM_DEAL_REGION", "string", {}],
            },
        },
    )
    return kv


def _commands(call: Any) -> list[tuple[str, dict[str, str]]]:
    out = []
    for cmd in _sent(call)["cmd"].values():
        method, _, query = cmd.partition("?")
        out.append((method, dict(parse_qsl(query, keep_blank_values=True))))
    return out


@responses.activate
def test_a_lead_given_to_another_manager_keeps_its_stage() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": True}))

    out = _adapter(_kv()).update_records([RecordUpdate(Entity.LEAD, "12", responsible_user_id="3")])

    assert out == [WriteOutcome("12", "12")]
    assert _commands(responses.calls[0]) == [
        ("crm.deal.update", {"id": "12", "fields[ASSIGNED_BY_ID]": "3", "auth_connector": "crm_bridge"}),
    ]


@responses.activate
def test_a_deals_custom_field_is_written_to_the_deal_field() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": True, "c1": True}))

    out = _adapter(_kv()).update_records(
        [
            RecordUpdate(Entity.DEAL, "13", fields={"region": "North"}),
            RecordUpdate(Entity.LEAD, "14", fields={"region": "South"}),
        ]
    )

    assert out == [WriteOutcome("13", "13"), WriteOutcome("14", "14")]
    assert _commands(responses.calls[0]) == [
        (
            "crm.deal.update",
            {"id": "13", "fields[UF_CRM_DEAL_REGION]": "North", "auth_connector": "crm_bridge"},
        ),
        (
            "crm.deal.update",
            {"id": "14", "fields[UF_CRM_LEAD_REGION]": "South", "auth_connector": "crm_bridge"},
        ),
    ]


@responses.activate
def test_an_amount_given_as_a_float_is_written_in_plain_digits() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": True}))

    out = _adapter(_kv()).update_records([RecordUpdate(Entity.DEAL, "15", fields={"amount": 1.5e16})])

    assert out == [WriteOutcome("15", "15")]
    [(method, params)] = _commands(responses.calls[0])
    assert params["fields[OPPORTUNITY]"] == "15000000000000000.000000"  # not "1.5e+16"
