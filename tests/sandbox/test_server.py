"""The sandbox HTTP server: the control API under /_sandbox/ (seed, state, requests, counts, reset,
faults, clock, webhooks), the request log, and latency applied through an injected sleep."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from crm_bridge.sandbox.server import Sandbox, create_emulator, endpoint_of


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


def hook(sb: Sandbox) -> str:
    return str(sb.config_snippet()["env"]["B24_WEBHOOK_URL"])


def control(sb: Sandbox, verb: str, action: str, body: object = None) -> requests.Response:
    return requests.request(verb, f"{sb.base_url}/_sandbox/{action}", json=body, timeout=5)


def test_seeding_through_the_control_api_creates_records_the_crm_api_then_lists(sandbox: Sandbox) -> None:
    created = control(sandbox, "POST", "seed", {"companies": [{"TITLE": "Acme"}, {"TITLE": "Beta"}]})

    listed = requests.post(hook(sandbox) + "crm.company.list", json={"select": ["TITLE"]}, timeout=5).json()
    state = control(sandbox, "GET", "state").json()

    assert created.json() == {"created": {"companies": [1, 2]}}
    assert [c["TITLE"] for c in listed["result"]] == ["Acme", "Beta"]
    assert [c["TITLE"] for c in state["records"]["company"]] == ["Acme", "Beta"]


def test_a_bad_seed_is_a_400_that_says_what_is_wrong(sandbox: Sandbox) -> None:
    unknown = control(sandbox, "POST", "seed", {"companies": [], "planets": []})
    bad_entry = control(sandbox, "POST", "seed", {"deals": [{"STAGE_ID": "NOPE"}]})
    not_json = requests.post(f"{sandbox.base_url}/_sandbox/seed", data=b"{oops", timeout=5)

    assert (unknown.status_code, unknown.json()) == (400, {"error": "bad seed: unknown seed key(s): planets"})
    assert bad_entry.status_code == 400 and "deals[0]" in bad_entry.json()["error"]
    assert (not_json.status_code, not_json.json()) == (400, {"error": "control API bodies are JSON"})


def test_the_request_log_and_counts_record_crm_calls_but_not_control_calls(sandbox: Sandbox) -> None:
    requests.post(hook(sandbox) + "crm.deal.add", json={"fields": {"TITLE": "a"}}, timeout=5)
    requests.post(hook(sandbox) + "crm.deal.add.json", json={"fields": {"TITLE": "b"}}, timeout=5)
    requests.get(hook(sandbox) + "crm.deal.get", params={"id": 99}, timeout=5)

    log = control(sandbox, "GET", "requests").json()["requests"]
    counts = control(sandbox, "GET", "counts").json()
    control(sandbox, "DELETE", "requests")

    assert [(e["method"], e["endpoint"], e["status"]) for e in log] == [
        ("POST", "crm.deal.add", 200),
        ("POST", "crm.deal.add", 200),
        ("GET", "crm.deal.get", 400),
    ]
    assert '"TITLE": "a"' in log[0]["body"] and log[2]["query"] == {"id": ["99"]}
    assert counts == {"total": 3, "by_endpoint": {"POST crm.deal.add": 2, "GET crm.deal.get": 1}}
    assert control(sandbox, "GET", "counts").json() == {"total": 0, "by_endpoint": {}}


def test_reset_empties_the_portal_the_log_and_the_faults(sandbox: Sandbox) -> None:
    control(sandbox, "POST", "seed", {"leads": [{"TITLE": "old"}]})
    control(sandbox, "POST", "faults", {"sequence": [500, 500]})

    control(sandbox, "POST", "reset")
    reply = requests.post(hook(sandbox) + "crm.lead.list", json={}, timeout=5)

    assert reply.status_code == 200 and reply.json()["result"] == []
    assert sandbox.request_count() == 1


def test_faults_are_set_and_cleared_through_the_control_api(sandbox: Sandbox) -> None:
    url = hook(sandbox) + "scope"
    set_reply = control(sandbox, "POST", "faults", {"sequence": [503]})
    injected = requests.get(url, timeout=5)
    control(sandbox, "POST", "faults", {"sequence": [500, 500]})
    control(sandbox, "DELETE", "faults")
    cleared = requests.get(url, timeout=5)
    bad = [
        control(sandbox, "POST", "faults", {"sequense": [500]}),
        control(sandbox, "POST", "faults", {"fraction": 2}),
        control(sandbox, "POST", "faults", {"sequence": ["500"]}),
        control(sandbox, "POST", "faults", [500]),
    ]

    assert set_reply.json() == {"faults": {"sequence": [503]}}
    assert (injected.status_code, injected.json()["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
    assert cleared.status_code == 200
    assert [b.status_code for b in bad] == [400, 400, 400, 400]
    assert bad[0].json()["error"].startswith("unknown fault option(s): sequense")
    assert bad[1].json()["error"] == "fraction must be between 0 and 1"


def test_the_clock_endpoint_moves_sandbox_time(sandbox: Sandbox) -> None:
    before = sandbox.clock()

    moved = control(sandbox, "POST", "clock", {"advance": 3600}).json()["now"]
    bad = control(sandbox, "POST", "clock", {"advance": "soon"})

    assert 3600 <= moved - before < 3660
    assert bad.status_code == 400


def test_webhook_registration_needs_a_url_and_unknown_control_paths_are_404(sandbox: Sandbox) -> None:
    no_url = control(sandbox, "POST", "webhooks", {})
    bad_option = control(
        sandbox, "POST", "webhooks", {"url": "http://127.0.0.1:9/x", "options": {"colour": 1}}
    )
    unknown = control(sandbox, "GET", "nothing")

    assert no_url.status_code == 400
    assert bad_option.status_code == 200  # extra options are the emulator's business: Bitrix24 ignores them
    assert (unknown.status_code, unknown.json()["error"]) == (
        404,
        "unknown control endpoint GET /_sandbox/nothing",
    )


def test_latency_per_call_and_per_record_goes_to_the_injected_sleep() -> None:
    slept: list[float] = []
    with Sandbox("bitrix24", latency_ms=10_000, per_record_ms=1_000, sleep=slept.append) as sb:
        sb.emulator.seed({"leads": [{"TITLE": "a"}, {"TITLE": "b"}, {"TITLE": "c"}]})
        requests.get(hook(sb) + "scope", timeout=5)
        requests.post(hook(sb) + "crm.lead.list", json={}, timeout=5)
        control(sb, "GET", "counts")

    assert len(slept) == 2  # control calls are not delayed
    assert 9.0 < slept[0] <= 10.0  # the delay minus the time the answer already took
    assert 12.0 < slept[1] <= 13.0  # plus 1 s for each of the three records listed


def test_zero_latency_never_sleeps_and_an_unknown_crm_is_refused() -> None:
    slept: list[float] = []
    with Sandbox("hubspot", sleep=slept.append) as sb:
        requests.get(f"{sb.base_url}/crm/v3/owners", timeout=5)

    assert slept == []
    with pytest.raises(
        ValueError, match="unknown CRM kind 'pipedrive'; choose one of amocrm, bitrix24, hubspot"
    ):
        Sandbox("pipedrive")


def test_endpoints_are_counted_by_method_name_or_by_path_with_ids_folded() -> None:
    bitrix24, amocrm, hubspot = (create_emulator(kind) for kind in ("bitrix24", "amocrm", "hubspot"))
    assert endpoint_of(bitrix24, "/rest/1/secret/crm.deal.list.json") == "crm.deal.list"
    assert endpoint_of(bitrix24, "/rest/batch") == "batch"
    assert endpoint_of(amocrm, "/api/v4/leads/123/notes/45") == "/api/v4/leads/{id}/notes/{id}"
    assert endpoint_of(hubspot, "/crm/v3/objects/deals/987") == "/crm/v3/objects/deals/{id}"


def test_the_sandbox_fixtures_start_fast_quiet_sandboxes_and_stop_them(
    make_sandbox: Callable[..., Sandbox],
    bitrix24_sandbox: Sandbox,
    amocrm_sandbox: Sandbox,
    hubspot_sandbox: Sandbox,
) -> None:
    limited = make_sandbox("bitrix24", rate_limit=True, emulator_options={"plan": "standard"})
    statuses = [requests.get(hook(bitrix24_sandbox) + "scope", timeout=5).status_code for _ in range(60)]
    limited_statuses = [requests.get(hook(limited) + "scope", timeout=5).status_code for _ in range(80)]
    token = amocrm_sandbox.config_snippet()["env"]["AMOCRM_ACCESS_TOKEN"]
    account = requests.get(
        f"{amocrm_sandbox.base_url}/api/v4/account", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )

    assert set(statuses) == {200} and 503 in limited_statuses
    assert account.status_code == 200
    assert hubspot_sandbox.latency == 0 and hubspot_sandbox.port != bitrix24_sandbox.port
