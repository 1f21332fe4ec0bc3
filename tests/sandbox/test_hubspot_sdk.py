"""The HubSpot emulator driven by HubSpot's official Python SDK (``hubspot-api-client``), a client
written by others: if the emulator drifted from HubSpot, the SDK's models would refuse its answers.
The emulator runs behind the sandbox's HTTP server with every request checked against HubSpot's
OpenAPI specs (``spec_dir``), so the SDK's requests are held to the specs too."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.associations.v4.schema import ApiException as AssociationsSchemaApiException
from hubspot.crm.associations.v4.schema import PublicAssociationDefinitionCreateRequest
from hubspot.crm.companies import ApiException as CompanyApiException
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
)
from hubspot.crm.deals import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.pipelines import PipelineInput, PipelineStageInput, PipelineStagePatchInput
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

from crm_bridge.sandbox.server import Sandbox

SPECS = "/work/shared/reference/hubspot-openapi"


@pytest.fixture(autouse=True)
def _logger_levels() -> Iterator[None]:
    """The SDK's Configuration sets the ``urllib3`` logger to WARNING process-wide; put it back so
    later tests that read urllib3's debug lines (token redaction) still see them."""
    loggers = [logging.getLogger(name) for name in ("urllib3", "hubspot")]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("hubspot", emulator_options={"spec_dir": SPECS}) as sb:
        yield sb
        found = list(sb.emulator.spec_violations)  # type: ignore[attr-defined]
        assert not found, f"requests outside HubSpot's OpenAPI specs: {found}"


@pytest.fixture
def api(sandbox: Sandbox) -> HubSpot:
    return HubSpot(
        access_token=sandbox.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"], host=sandbox.base_url
    )


def _error(exc: ApiException | CompanyApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def test_a_pipeline_is_created_with_its_stages_and_a_stage_renamed(api: HubSpot) -> None:
    stages = [
        PipelineStageInput(label="Applied", display_order=0, metadata={"probability": "0.1"}),
        PipelineStageInput(label="Won", display_order=1, metadata={"probability": "1.0"}),
        PipelineStageInput(label="Lost", display_order=2, metadata={"probability": "0.0"}),
    ]
    created = api.crm.pipelines.pipelines_api.create(
        "deals", PipelineInput(label="Partners", display_order=2, stages=stages)
    )
    won = next(s for s in created.stages if s.label == "Won")

    api.crm.pipelines.pipeline_stages_api.update(
        "deals", created.id, won.id, PipelineStagePatchInput(label="Signed", metadata={"probability": "1.0"})
    )

    listed = {p.label: p for p in api.crm.pipelines.pipelines_api.get_all("deals").results}
    assert set(listed) == {"Sales Pipeline", "Partners"}
    after = {s.label: s.metadata for s in listed["Partners"].stages}
    assert after["Signed"]["isClosed"] == "true" and after["Applied"]["isClosed"] == "false"


def test_properties_in_a_group_an_enumeration_and_an_owner_picker(api: HubSpot) -> None:
    props = api.crm.properties
    props.groups_api.create("companies", PropertyGroupCreate(name="crm_bridge", label="crm-bridge"))
    tier = PropertyCreate(
        name="crm_bridge_tier",
        label="Tier",
        type="enumeration",
        field_type="select",
        group_name="crm_bridge",
        options=[OptionInput(label="Gold", value="gold", hidden=False, display_order=0)],
    )
    curator = PropertyCreate(
        name="crm_bridge_curator",
        label="Curator",
        type="enumeration",
        field_type="select",
        group_name="crm_bridge",
        external_options=True,
        referenced_object_type="OWNER",
    )
    props.core_api.create("companies", tier)
    made = props.core_api.create("companies", curator)
    owner = api.crm.owners.owners_api.get_page(limit=1).results[0].id

    company = api.crm.companies.basic_api.create(
        CompanyInput(
            properties={"name": "Vector", "crm_bridge_tier": "gold", "crm_bridge_curator": owner},
            associations=[],
        )
    )
    with pytest.raises(CompanyApiException) as refused:
        api.crm.companies.basic_api.create(
            CompanyInput(properties={"name": "X", "crm_bridge_curator": "424242"}, associations=[])
        )

    assert made.referenced_object_type == "OWNER" and made.options == []
    assert company.properties["crm_bridge_tier"] == "gold"
    assert refused.value.status == 400 and _error(refused.value)["category"] == "VALIDATION_ERROR"


def test_batches_upsert_by_email_read_by_unique_property_and_207_for_missing_ids(api: HubSpot) -> None:
    contacts = api.crm.contacts.batch_api
    upsert = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[{"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "Ann"}}]
    )
    first = contacts.upsert(upsert)
    again = contacts.upsert(upsert)
    read = contacts.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "a@example.com"}],
            id_property="email",
            properties=["firstname"],
            properties_with_history=[],
        )
    )
    missing = contacts.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": "999", "properties": {"firstname": "B"}}])
    )

    assert first.results[0].new is True and again.results[0].new is False
    assert read.results[0].properties["firstname"] == "Ann"
    assert missing.num_errors == 1 and missing.errors[0].context == {"ids": ["999"]}


def test_a_batch_of_101_deals_is_refused_and_100_go_through(api: HubSpot) -> None:
    def batch(n: int) -> BatchInputSimplePublicObjectBatchInputForCreate:
        return BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"dealname": f"D{i}"}, "associations": []} for i in range(n)]
        )

    with pytest.raises(ApiException) as refused:
        api.crm.deals.batch_api.create(batch(101))
    done = api.crm.deals.batch_api.create(batch(100))

    assert refused.value.status == 400 and "correlationId" in _error(refused.value)
    assert len(done.results) == 100


def test_search_pages_with_after_and_stops_at_10000(api: HubSpot) -> None:
    api.crm.deals.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"dealname": f"D{i}", "amount": str(i)}, "associations": []} for i in range(30)
            ]
        )
    )
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "10"}]}],
        sorts=["amount"],
        properties=["amount"],
        limit=15,
        after="0",
    )

    first = api.crm.deals.search_api.do_search(request)
    request.after = first.paging.next.after
    second = api.crm.deals.search_api.do_search(request)
    request.after = "10000"
    with pytest.raises(ApiException) as capped:
        api.crm.deals.search_api.do_search(request)

    assert first.total == 20 and [r.properties["amount"] for r in second.results][-1] == "29"
    assert second.paging is None and capped.value.status == 400


def test_a_deal_created_with_associations_and_a_labelled_one_added(api: HubSpot) -> None:
    company = api.crm.companies.basic_api.create(CompanyInput(properties={"name": "Vector"}, associations=[]))
    link = {
        "to": {"id": company.id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}],
    }
    deal = api.crm.deals.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"dealname": "D"}, associations=[link])
    )

    labelled = api.crm.associations.v4.basic_api.create(
        "deals",
        deal.id,
        "companies",
        company.id,
        [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=5)],
    )
    page = api.crm.associations.v4.basic_api.get_page("deals", deal.id, "companies")

    assert labelled.labels == ["Primary"]
    [found] = page.results
    assert found.to_object_id == company.id and {t.type_id for t in found.association_types} == {
        341,
        5,
    }


def test_a_user_defined_association_label_is_created_listed_and_used(api: HubSpot) -> None:
    schema = api.crm.associations.v4.schema.definitions_api
    made = schema.create(
        "deals",
        "companies",
        PublicAssociationDefinitionCreateRequest(
            name="crm_bridge_partner", label="Partner (crm-bridge)", inverse_label="Partner lead (crm-bridge)"
        ),
    )
    [spec] = [s for s in schema.get_all("deals", "companies").results if s.category == "USER_DEFINED"]
    [inverse] = [s for s in schema.get_all("companies", "deals").results if s.category == "USER_DEFINED"]
    company = api.crm.companies.basic_api.create(CompanyInput(properties={"name": "Vector"}, associations=[]))
    deal = api.crm.deals.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"dealname": "D"}, associations=[])
    )

    labelled = api.crm.associations.v4.basic_api.create(
        "deals",
        deal.id,
        "companies",
        company.id,
        [AssociationSpec(association_category="USER_DEFINED", association_type_id=spec.type_id)],
    )
    with pytest.raises(AssociationsSchemaApiException) as again:
        schema.create(
            "deals",
            "companies",
            PublicAssociationDefinitionCreateRequest(name="crm_bridge_partner", label="P"),
        )

    assert [s.label for s in made.results] == [
        "Partner (crm-bridge)"
    ] and spec.label == "Partner (crm-bridge)"
    assert inverse.label == "Partner lead (crm-bridge)" and labelled.labels == ["Partner (crm-bridge)"]
    assert again.value.status == 409


def test_oauth_code_exchange_and_refresh(api: HubSpot, sandbox: Sandbox) -> None:
    oauth = sandbox.config_snippet()["oauth"]
    credentials = {"client_id": oauth["client_id"], "client_secret": oauth["client_secret"]}

    first = api.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=oauth["authorization_code"],
        redirect_uri=oauth["redirect_uri"],
        **credentials,
    )
    second = api.oauth.tokens_api.create(
        grant_type="refresh_token", refresh_token=first.refresh_token, **credentials
    )
    with_new = HubSpot(access_token=second.access_token, host=sandbox.base_url)

    assert first.expires_in == 1800 and second.access_token != first.access_token
    assert with_new.crm.owners.owners_api.get_page(limit=1).results
