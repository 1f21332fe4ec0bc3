"""Wire tests of the dedupe lookup before Bitrix24 creates (lookup.py): every company a lookup answer
lists counts as a partner on the portal, and a deal crm-bridge created earlier without a partner
reference is the draft's own record, not another partner's."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import responses
from b24_wire_support import HOOK, _adapter, _batch, _catalog_kv, _sent

from crm_bridge.ports import LeadDraft, WriteOutcome


def _methods(call: Any) -> list[str]:
    return [cmd.partition("?")[0] for cmd in _sent(call)["cmd"].values()]


@responses.activate
def test_every_company_of_the_lookup_answer_is_a_partner_on_the_portal() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": [], "c1": [{"ID": "5"}, {"ID": "6"}, {"ID": "7"}]}))
    responses.post(HOOK + "batch", json=_batch({"c0": 900, "c1": 901, "c2": 902}))
    drafts = [LeadDraft("a", "5", "A"), LeadDraft("b", "6", "B"), LeadDraft("c", "7", "C")]

    out = _adapter(_catalog_kv()).create_leads(drafts)

    assert out == [
        WriteOutcome("a", "900", created=True),
        WriteOutcome("b", "901", created=True),
        WriteOutcome("c", "902", created=True),
    ]
    assert _methods(responses.calls[0]) == ["crm.deal.list", "crm.company.list"]
    assert _methods(responses.calls[1]) == ["crm.deal.add"] * 3


@responses.activate
def test_an_earlier_deal_without_a_partner_reference_is_the_drafts_own() -> None:
    lookup = {"c0": [{"ID": "300", "ORIGIN_ID": "mine", "UF_CRM_PARTNER_REF": ""}], "c1": [{"ID": "5"}]}
    responses.post(HOOK + "batch", json=_batch(lookup))

    out = _adapter(_catalog_kv()).create_leads([LeadDraft("mine", "5", "Again")])

    assert out == [WriteOutcome("mine", "300", created=False)]
    assert len(responses.calls) == 1  # the lookup only: nothing created twice
    deal_list = _sent(responses.calls[0])["cmd"]["c0"].partition("?")[2]
    assert dict(parse_qsl(deal_list))["select[2]"] == "UF_CRM_PARTNER_REF"
