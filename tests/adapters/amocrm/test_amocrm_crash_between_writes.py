"""A push interrupted after amoCRM wrote something and before crm-bridge heard of it, then run again:
each lead, its customer's contact and its comment note exist exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from amo_support import seed_partner

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.errors import TransientError
from crm_bridge.ports import LeadDraft
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter


def _drafts(partner: str, n: int) -> list[LeadDraft]:
    return [
        LeadDraft(
            f"ext-{i}",
            partner,
            f"Lead {i}",
            customer_name=f"Buyer {i}",
            customer=CustomerIdentity(phone=f"+7916123{i:04d}"),
            comment=f"Call buyer {i} after 5 pm",
        )
        for i in range(n)
    ]


def _lose_answers_of(adapter: AmoCrmAdapter, method: str, path_end: str) -> list[str]:
    """The next matching request reaches amoCRM and is carried out, but its answer is lost (the
    process dies or the connection drops before the ids are read)."""
    transport = adapter.transport
    real = getattr(transport, method)
    lost: list[str] = []

    def once(path: str, payload: Any) -> Any:
        answer = real(path, payload)
        if path.endswith(path_end) and not lost:
            lost.append(path)
            raise TransientError("connection reset after amoCRM answered", crm="amocrm")
        return answer

    setattr(transport, method, once)
    return lost


@pytest.mark.parametrize(
    ("method", "path_end"),
    [("post_array", "leads/complex"), ("post", "leads/notes")],
    ids=["after-the-leads-and-contacts", "after-the-comment-notes"],
)
def test_a_rerun_after_a_lost_answer_duplicates_no_lead_contact_or_note(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, method: str, path_end: str
) -> None:
    partner = seed_partner(sandbox, provisioned)
    drafts = _drafts(partner, 120)
    lost = _lose_answers_of(provisioned, method, path_end)

    with pytest.raises(TransientError):
        provisioned.create_leads(drafts)
    assert lost
    setattr(
        provisioned.transport,
        method,
        getattr(type(provisioned.transport), method).__get__(provisioned.transport),
    )
    outcomes = provisioned.create_leads(drafts)

    dump = sandbox.emulator.dump()
    assert all(o.ok for o in outcomes) and len({o.crm_id for o in outcomes}) == 120
    assert len(dump["leads"]) == 120 and len(dump["contacts"]) == 120
    assert sorted(c["name"] for c in dump["contacts"]) == sorted(f"Buyer {i}" for i in range(120))
    assert all(len(lead["_contact_ids"]) == 1 for lead in dump["leads"])
    texts = sorted(n["params"]["text"] for n in dump["notes"])
    assert texts == sorted(f"Call buyer {i} after 5 pm" for i in range(120))
