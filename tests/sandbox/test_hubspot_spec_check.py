"""The HubSpot emulator's request check (``spec_dir``): a request outside HubSpot's OpenAPI specs is
answered 400 and recorded, so the test whose client sent it fails; one inside them goes through."""

from __future__ import annotations

import requests

from crm_bridge.sandbox.server import Sandbox

SPECS = "/work/shared/reference/hubspot-openapi"


def test_a_search_without_the_fields_the_spec_requires_is_refused_and_recorded() -> None:
    with Sandbox("hubspot", emulator_options={"spec_dir": SPECS}) as sb:
        token = sb.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"]
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{sb.base_url}/crm/v3/objects/deals/search"
        full = {"filterGroups": [], "sorts": [], "properties": [], "limit": 1, "after": "0"}

        outside = requests.post(url, json={"filterGroups": [], "limit": 1}, headers=headers, timeout=10)
        inside = requests.post(url, json=full, headers=headers, timeout=10)

        assert outside.status_code == 400 and "outside HubSpot's OpenAPI spec" in outside.json()["message"]
        assert inside.status_code == 200
        [recorded] = sb.emulator.spec_violations  # type: ignore[attr-defined]
        assert "'sorts' is a required property" in recorded


def test_label_requests_are_checked_as_the_associations_schema_spec_describes_them() -> None:
    # the associations-schema v4 spec is not in the shared folder: its label operations are checked by
    # hand (PublicAssociationDefinitionCreateRequest requires label and name, both strings)
    with Sandbox("hubspot", emulator_options={"spec_dir": SPECS}) as sb:
        token = sb.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"]
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{sb.base_url}/crm/v4/associations/deals/companies/labels"

        nameless = requests.post(url, json={"label": "Partner"}, headers=headers, timeout=10)
        with_query = requests.get(url, params={"limit": 5}, headers=headers, timeout=10)
        named = requests.post(url, json={"label": "Partner", "name": "partner"}, headers=headers, timeout=10)
        listed = requests.get(url, headers=headers, timeout=10)

        assert nameless.status_code == 400
        assert "name is required and must be str" in nameless.json()["message"]
        assert with_query.status_code == 400
        assert named.status_code in (200, 201) and listed.status_code == 200
        assert len(sb.emulator.spec_violations) == 2  # type: ignore[attr-defined]
