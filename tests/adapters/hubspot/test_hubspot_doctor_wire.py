"""``crm-bridge doctor`` on HubSpot against recorded answers (``responses``): an account whose answers
carry no rate-limit headers gets the limits line as configured, without figures it was not told; a
scope probe answered with no JSON names the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from hs_support import MemoryKV, make_adapter

from crm_bridge.errors import TransientError
from crm_bridge.ports import HealthCheck
from crm_bridge_hubspot import HubSpotAdapter
from crm_bridge_hubspot.config import HubSpotConfig
from crm_bridge_hubspot.mapping import load_mapping

BASE = "https://api.hubapi.com"
SCOPE_PATHS = list(load_mapping().required_scopes.values())


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/crm/v3/owners", json={"results": []})
        yield mock


@pytest.fixture
def made() -> Iterator[HubSpotAdapter]:
    config = HubSpotConfig(access_token="pat-na1-test", http={"max_retries": 0})  # type: ignore[call-arg, arg-type]
    adapter = make_adapter(config, MemoryKV())
    yield adapter
    adapter.close()


def test_answers_without_rate_limit_headers_give_the_limits_as_configured_only(
    wire: responses.RequestsMock, made: HubSpotAdapter
) -> None:
    for path in SCOPE_PATHS:
        wire.get(f"{BASE}{path}", json={"results": []})

    checks = made.check()

    [limits] = [c for c in checks if c.name == "limits"]
    assert limits == HealthCheck(
        "limits", True, "starter: 100 requests per 10 s, 5 searches/s, daily 250000, 2 deal pipelines"
    )


def test_a_scope_probe_answered_with_no_json_names_the_request(
    wire: responses.RequestsMock, made: HubSpotAdapter
) -> None:
    wire.get(f"{BASE}{SCOPE_PATHS[0]}", body="<html>maintenance</html>", content_type="text/html")

    with pytest.raises(TransientError) as caught:
        made.check()

    assert str(caught.value) == f"hubspot: GET {SCOPE_PATHS[0]} answered with no JSON"
