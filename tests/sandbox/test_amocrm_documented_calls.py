"""The amoCRM emulator driven over HTTP by a plain ``requests`` client, with the calls exactly as the v4
docs and the official PHP SDK show them (bodies quoted in ../shared/reference/crm-apis.md §2): the
token exchange, pipelines with named 142/143, a select field with enums, a lead linked to a company and
a contact, the time-range list with paging and 204, a validation error's shape, a task and its
completion, the limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crm_bridge.sandbox.server import Sandbox


@pytest.fixture
def amo() -> Iterator[tuple[str, dict[str, Any], requests.Session]]:
    with Sandbox("amocrm") as sandbox:
        snippet = sandbox.config_snippet()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {snippet['env']['AMOCRM_ACCESS_TOKEN']}"
        yield snippet["crm"]["amocrm"]["base_url"].rstrip("/"), snippet["oauth"], session
        session.close()


def test_the_token_endpoint_exchanges_the_code_and_each_refresh_token_once(amo: Any) -> None:
    base, oauth, _ = amo
    common = {k: oauth[k] for k in ("client_id", "client_secret", "redirect_uri")}

    first = requests.post(
        f"{base}/oauth2/access_token",
        json={**common, "grant_type": "authorization_code", "code": oauth["authorization_code"]},
        timeout=10,
    )
    pair = first.json()
    refreshed = requests.post(
        f"{base}/oauth2/access_token",
        json={**common, "grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        timeout=10,
    )
    spent = requests.post(
        f"{base}/oauth2/access_token",
        json={**common, "grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        timeout=10,
    )

    assert first.status_code == 200 and pair["token_type"] == "Bearer" and pair["expires_in"] == 86400
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != pair["refresh_token"]
    assert spent.status_code == 401 and spent.json()["hint"] == "Token has been revoked"
    assert spent.headers["Content-Type"].startswith("application/problem+json")


def test_documented_pipeline_field_lead_list_and_task_calls(amo: Any) -> None:
    base, _, s = amo
    pipelines = s.post(
        f"{base}/api/v4/leads/pipelines",
        json=[
            {
                "name": "Partners",
                "sort": 20,
                "is_main": False,
                "is_unsorted_on": True,
                "request_id": "pl-partners",
                "_embedded": {
                    "statuses": [
                        {"name": "Applied", "sort": 10, "color": "#fffeb2"},
                        {"name": "Qualified", "sort": 20, "color": "#98cbff"},
                        {"id": 142, "name": "Onboarded"},
                        {"id": 143, "name": "Rejected"},
                    ]
                },
            }
        ],
        timeout=10,
    ).json()["_embedded"]["pipelines"][0]
    statuses = {st["name"]: st for st in pipelines["_embedded"]["statuses"]}
    assert pipelines["request_id"] == "pl-partners"
    assert statuses["Onboarded"]["id"] == 142 and statuses["Rejected"]["id"] == 143
    assert statuses["Applied"]["color"] == "#fffeb2"

    field = s.post(
        f"{base}/api/v4/companies/custom_fields",
        json=[
            {
                "name": "Partner tier",
                "type": "select",
                "code": "PARTNER_TIER",
                "sort": 510,
                "enums": [
                    {"value": "Silver", "sort": 1},
                    {"value": "Gold", "sort": 2},
                    {"value": "Platinum", "sort": 3},
                ],
                "request_id": "cf-tier",
            }
        ],
        timeout=10,
    ).json()["_embedded"]["custom_fields"][0]
    gold = next(e["id"] for e in field["enums"] if e["value"] == "Gold")
    company = s.post(f"{base}/api/v4/companies", json=[{"name": "Acme"}], timeout=10).json()
    company_id = company["_embedded"]["companies"][0]["id"]
    contact = s.post(
        f"{base}/api/v4/contacts",
        json=[
            {
                "name": "Ivan",
                "custom_fields_values": [
                    {"field_code": "PHONE", "values": [{"value": "+79990000000", "enum_code": "WORK"}]}
                ],
            }
        ],
        timeout=10,
    ).json()["_embedded"]["contacts"][0]["id"]
    patched = s.patch(
        f"{base}/api/v4/companies",
        json=[
            {
                "id": company_id,
                "custom_fields_values": [{"field_id": field["id"], "values": [{"enum_id": gold}]}],
            }
        ],
        timeout=10,
    )
    assert patched.status_code == 200

    lead = s.post(
        f"{base}/api/v4/leads",
        json=[
            {
                "name": "Acme deal",
                "price": 5000,
                "pipeline_id": pipelines["id"],
                "status_id": statuses["Qualified"]["id"],
                "_embedded": {
                    "companies": [{"id": company_id}],
                    "contacts": [{"id": contact}],
                    "tags": [{"name": "partner"}],
                },
                "request_id": "ext-42",
            }
        ],
        timeout=10,
    ).json()["_embedded"]["leads"][0]
    assert lead["request_id"] == "ext-42"

    listed = s.get(
        f"{base}/api/v4/leads?filter[updated_at][from]=0&filter[updated_at][to]=4102444800"
        "&order[updated_at]=asc&page=1&limit=250&with=contacts",
        timeout=10,
    )
    assert listed.status_code == 200 and listed.headers["Content-Type"].startswith("application/hal+json")
    row = next(r for r in listed.json()["_embedded"]["leads"] if r["id"] == lead["id"])
    assert (
        row["_embedded"]["contacts"][0]["id"] == contact
        and row["_embedded"]["companies"][0]["id"] == company_id
    )
    empty = s.get(f"{base}/api/v4/leads?filter[updated_at][from]=4102444800", timeout=10)
    assert empty.status_code == 204 and empty.content == b""

    bad = s.post(
        f"{base}/api/v4/companies",
        json=[
            {"name": "Bad", "custom_fields_values": [{"field_id": field["id"], "values": [{"enum_id": 1}]}]}
        ],
        timeout=10,
    )
    assert bad.status_code == 400
    error = bad.json()["validation-errors"][0]
    assert error["request_id"] == "0" and error["errors"][0]["code"] == "NotSupportedChoice"
    assert error["errors"][0]["path"] == "custom_fields_values.0.field_id"

    task = s.post(
        f"{base}/api/v4/tasks",
        json=[
            {
                "task_type_id": 1,
                "text": "Call partner about tier upgrade",
                "complete_till": 1788885140,
                "entity_id": lead["id"],
                "entity_type": "leads",
                "request_id": "t-1",
            }
        ],
        timeout=10,
    ).json()["_embedded"]["tasks"][0]
    done = s.patch(
        f"{base}/api/v4/tasks/{task['id']}",
        json={"is_completed": True, "result": {"text": "done"}},
        timeout=10,
    )
    assert task["request_id"] == "t-1" and done.status_code == 200
    closed = s.get(f"{base}/api/v4/tasks?filter[is_completed]=1", timeout=10).json()["_embedded"]["tasks"]
    assert [t["id"] for t in closed] == [task["id"]]


def test_a_colour_outside_the_palette_and_the_51st_pipeline_are_refused(amo: Any) -> None:
    base, _, s = amo
    off = s.post(
        f"{base}/api/v4/leads/pipelines",
        json=[{"name": "Off", "_embedded": {"statuses": [{"name": "A", "sort": 10, "color": "#123456"}]}}],
        timeout=10,
    )
    many = s.post(
        f"{base}/api/v4/leads/pipelines",
        json=[{"name": f"P{i}", "_embedded": {"statuses": [{"name": "A", "sort": 10}]}} for i in range(50)],
        timeout=10,
    )

    assert off.status_code == 400 and off.json()["validation-errors"][0]["errors"][0]["path"].endswith(
        "color"
    )
    assert many.status_code == 400  # the main pipeline is there already: 51 > 50
