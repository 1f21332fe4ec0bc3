"""What the HubSpot adapter reads for the intake and how it is built: partners found by id keep their
curator and are not lost behind a company that is no partner or a row that cannot be read; the partners' batch
read is sent again after a server error; the refusals name HubSpot; ``create_adapter`` refuses
settings without a HubSpot section; a field the mapping does not name gets a derived property name."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import pytest
import responses
from hs_support import DESIRED, MemoryKV, Sleeps, config, make_adapter, provision

from crm_bridge.domain.layout import DesiredField, FieldEntity, FieldType
from crm_bridge.errors import ConfigError, CrmValidationError, TransientError
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter, build_adapter, create_adapter
from crm_bridge_hubspot.config import HubSpotConfig

BATCH_READ = "/crm/v3/objects/companies/batch/read"


def _seed(sandbox: Sandbox, adapter: HubSpotAdapter, *companies: dict[str, Any]) -> list[str]:
    def code(key: str) -> str:
        info = adapter.catalog().field(FieldEntity.PARTNER, key)
        assert info is not None
        return info.code

    rows = [{"properties": {code(k): v for k, v in c.items() if k != "name"} | {"name": c["name"]}}
            for c in companies]  # fmt: skip
    return [str(i) for i in sandbox.emulator.seed({"companies": rows})["companies"]]


def test_partners_found_by_id_keep_their_curator_and_survive_rows_that_are_no_partners(
    sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps
) -> None:
    probe = build_adapter(config(sandbox), AdapterContext(kv=MemoryKV(), sleep=sleeps), desired=DESIRED)
    owner = probe.list_users()[0].crm_id
    probe.close()
    made = build_adapter(
        config(sandbox), AdapterContext(kv=kv, sleep=sleeps), desired=DESIRED, curators={"anna": owner}
    )
    provision(made)
    plain, partner = _seed(
        sandbox,
        made,
        {"name": "Customer"},
        {"name": "Vector", "partner_type": "integrator", "curator": owner},
    )

    found = made.find_partners([plain, partner])
    made.close()

    assert list(found) == [partner] and found[partner].curator_key == "anna"


def test_a_partner_row_that_cannot_be_read_does_not_hide_the_next_one(
    provisioned: HubSpotAdapter, kv: MemoryKV
) -> None:
    def code(key: str) -> str:
        info = provisioned.catalog().field(FieldEntity.PARTNER, key)
        assert info is not None
        return info.code

    rows = [
        {"id": "101", "properties": {"name": "Broken", code("partner_type"): "reseller",
                                     code("partner_since"): "soon"}},
        {"id": "102", "properties": {"name": "Vector", code("partner_type"): "integrator"}},
    ]  # fmt: skip
    with responses.RequestsMock() as wire:
        wire.post(f"https://api.hubapi.com{BATCH_READ}", json={"status": "COMPLETE", "results": rows})
        made = make_adapter(HubSpotConfig(access_token="pat-na1-test"), kv)  # type: ignore[call-arg]
        found = made.find_partners(["101", "102"])
        made.close()

    assert list(found) == ["102"] and found["102"].name == "Vector"


def test_the_partners_batch_read_is_sent_again_after_a_server_error(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    [partner] = _seed(sandbox, provisioned, {"name": "Vector", "partner_type": "integrator"})
    sandbox.faults.set(FaultPlan(sequence=[503]))

    found = provisioned.find_partners([partner])

    assert list(found) == [partner]
    assert [(r["path"], r["status"]) for r in sandbox.requests()] == [(BATCH_READ, 503), (BATCH_READ, 200)]


def test_a_partners_read_answered_with_no_json_names_the_request(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    sandbox.faults.set(FaultPlan(malformed=["html"]))

    with pytest.raises(TransientError) as caught:
        provisioned.find_partners(["101"])

    assert str(caught.value) == f"hubspot: POST {BATCH_READ} answered with no JSON"


def test_finding_leads_before_provisioning_is_refused_by_hubspots_adapter(adapter: HubSpotAdapter) -> None:
    with pytest.raises(CrmValidationError) as caught:
        adapter.find_leads(["e1"])

    assert caught.value.crm == "hubspot"


@pytest.mark.parametrize(
    "settings",
    [SimpleNamespace(locale="en"), SimpleNamespace(crm=SimpleNamespace(kind="bitrix24"), locale="en")],
)
def test_create_adapter_refuses_settings_whose_crm_section_has_no_hubspot_part(settings: Any) -> None:
    with pytest.raises(ConfigError, match=r"^crm\.hubspot: the section is missing"):
        create_adapter(settings, AdapterContext(kv=MemoryKV()))


def test_a_field_the_mapping_does_not_name_gets_a_property_named_after_its_key(
    sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps
) -> None:
    extra = DesiredField("Partner Level-2", FieldEntity.PARTNER, "Partner level", FieldType.STRING)
    desired = dataclasses.replace(DESIRED, fields=(*DESIRED.fields, extra))
    made = build_adapter(config(sandbox), AdapterContext(kv=kv, sleep=sleeps), desired=desired)

    provision(made, desired)
    again = provision(made, desired)
    made.close()

    created = [
        i["name"]
        for r in sandbox.requests()
        if r["path"] == "/crm/v3/properties/companies/batch/create"
        for i in json.loads(r["body"])["inputs"]
    ]
    assert "crm_bridge_partner_level_2" in created and again.is_noop
