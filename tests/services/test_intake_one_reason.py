"""A partner lead is refused for one reason whichever way it comes (CSV import, the HTTP intake API; the
bot and the portal in tests/web): the e-mail, phone and tax id rules are the domain's, applied when the
fields are checked, so nothing passes the first check only to fail registration with another reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_bridge.domain.model import Partner
from crm_bridge.domain.registration import IdentityError, normalise_email, normalise_phone, normalise_tax_id
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.intake.api import IntakeApi
from crm_bridge.services.intake.csv_import import import_csv
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.service import IntakePolicy, IntakeService, LeadSubmission
from crm_bridge.store import Store

PORTAL = "fake:test"

# Values a partner manager might type that the domain refuses; the first three passed the old
# "7+ digits" phone check and were refused only later, at registration, with another reason.
BAD = [
    ("phone", "+1234567"),  # seven digits with the country code: too short for any E.164 number
    ("phone", "+7 916 123 45 67 89 01 23"),  # seventeen digits: longer than E.164 allows
    ("phone", "8 916 123-45-67 доб. 12"),  # an extension written in words
    ("email", "ivan@romashka"),
    ("tax_id", "77070838"),
]


def domain_reason(field: str, value: str) -> str:
    with pytest.raises(IdentityError) as refused:
        if field == "email":
            normalise_email(value)
        elif field == "phone":
            normalise_phone(value, "+7")
        else:
            normalise_tax_id(value)
    return str(refused.value)


@pytest.mark.parametrize(("field", "value"), BAD)
def test_a_bad_contact_is_refused_with_the_domains_reason_by_the_csv_import_and_the_api(
    field: str,
    value: str,
    tmp_path: Path,
    crm: FakeCRM,
    store: Store,
    partner: Partner,
    fake_clock: FakeClock,
) -> None:
    reason = domain_reason(field, value)
    service = IntakeService(crm, store, PORTAL, policy=IntakePolicy(default_phone_country_code="+7"))

    row = {"partner_id": partner.crm_id, "customer_name": "ООО Ромашка", field: value}
    columns = ["partner_id", "customer_name", "email", "phone", "tax_id", "amount", "comment"]
    path = tmp_path / "leads.csv"
    path.write_text(";".join(columns) + "\n" + ";".join(row.get(c, "") for c in columns) + "\n", "utf-8")
    report = import_csv(path, service, now=fake_clock())
    assert [(r.row, r.reason) for r in report.rejects] == [(2, reason)]

    key = ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key
    answer = IntakeApi(ApiKeys(store.intake, PORTAL), service, fake_clock).submit(
        key, {"customer_name": "ООО Ромашка", field: value}, "order-1"
    )
    assert answer.kind == "invalid"
    assert [f"{p['field']}: {p['message']}" for p in answer.body["problems"]] == [reason]
    assert crm.calls["create_leads"] == crm.calls["send_leads"] == 0
    assert store.intake.of_partner(PORTAL, partner.crm_id) == []


def test_a_phone_the_domain_takes_is_registered_with_the_configured_country_code(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    # seven national digits get the default country code: "+49" and 30 1234567 is a valid number
    service = IntakeService(crm, store, PORTAL, policy=IntakePolicy(default_phone_country_code="+49"))
    fields, problems = service.check_fields({"customer_name": "Muster GmbH", "phone": "030 1234567"})
    assert problems == [] and fields is not None
    (outcome,) = service.submit([LeadSubmission("api:1", partner.crm_id, fields, "api")], now=fake_clock())
    assert outcome.ok
    (reg,) = store.intake.of_partner(PORTAL, partner.crm_id)
    assert reg.phone == "+49301234567"
