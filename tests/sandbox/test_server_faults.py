"""Fault injection: seeded and repeatable, answered with the CRM's own error bodies — sequences of
statuses, a fraction of failures, slow answers, dropped connections, an expired token at request N
and partial Bitrix24 batch failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from crm_bridge.sandbox.faults import FaultInjector, FaultPlan
from crm_bridge.sandbox.server import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


def hook(sb: Sandbox) -> str:
    return str(sb.config_snippet()["env"]["B24_WEBHOOK_URL"])


def outcomes(injector: FaultInjector, n: int) -> list[tuple[int, bool, float]]:
    decisions = [injector.decide() for _ in range(n)]
    return [(d.status, d.drop, d.extra_delay) for d in decisions]


def test_the_same_plan_gives_the_same_faults_every_time() -> None:
    plan = {"fraction": 0.3, "slow_ms": 800, "slow_fraction": 0.2, "drop_fraction": 0.05, "seed": 7}

    first = outcomes(FaultInjector(FaultPlan.from_dict(plan)), 200)
    second = outcomes(FaultInjector(FaultPlan.from_dict(plan)), 200)
    other_seed = outcomes(FaultInjector(FaultPlan.from_dict({**plan, "seed": 8})), 200)

    assert first == second
    assert first != other_seed
    statuses = [s for s, _, _ in first]
    assert {s for s in statuses if s} <= {429, 500, 503} and 30 < sum(1 for s in statuses if s) < 90
    assert any(drop for _, drop, _ in first) and any(delay == 0.8 for _, _, delay in first)


def test_setting_a_plan_again_restarts_its_sequence() -> None:
    injector = FaultInjector(FaultPlan(fraction=0.5, seed=3))
    first = outcomes(injector, 20)

    injector.set(FaultPlan(fraction=0.5, seed=3))

    assert outcomes(injector, 20) == first


def test_a_sequence_of_statuses_is_answered_in_order_with_bitrix24_bodies(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[429, 500, 0, 503]))
    url = hook(sandbox) + "scope"

    replies = [requests.get(url, timeout=5) for _ in range(5)]

    assert [r.status_code for r in replies] == [429, 500, 200, 503, 200]
    assert [r.json().get("error") for r in replies] == [
        "OPERATION_TIME_LIMIT",
        "INTERNAL_SERVER_ERROR",
        None,
        "QUERY_LIMIT_EXCEEDED",
        None,
    ]
    assert [e["status"] for e in sandbox.requests()] == [429, 500, 200, 503, 200]


def test_a_dropped_connection_reaches_the_client_as_a_connection_error(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(drop_at=[2]))
    url = hook(sandbox) + "scope"

    first = requests.get(url, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    third = requests.get(url, timeout=5)

    assert (first.status_code, third.status_code) == (200, 200)


def test_the_token_expires_once_at_request_n(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(expire_token_at=3))
    url = hook(sandbox) + "scope"

    replies = [requests.get(url, timeout=5) for _ in range(5)]

    assert [r.status_code for r in replies] == [200, 200, 401, 200, 200]
    assert replies[2].json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired",
    }


def test_slow_answers_add_their_delay_to_the_injected_sleep() -> None:
    slept: list[float] = []
    with Sandbox("bitrix24", sleep=slept.append, faults=FaultPlan(slow_ms=5_000, slow_fraction=1.0)) as sb:
        requests.get(hook(sb) + "scope", timeout=5)

    assert len(slept) == 1 and 4.0 < slept[0] <= 5.0


def test_batch_commands_named_in_the_plan_fail_while_the_others_run(sandbox: Sandbox) -> None:
    cmd = {key: f"crm.lead.add?fields[TITLE]={key}" for key in ("a", "b", "c", "d")}
    sandbox.faults.set(FaultPlan(batch_fail={"keys": ["b"]}))
    by_key = requests.post(hook(sandbox) + "batch", json={"cmd": cmd}, timeout=5).json()["result"]
    sandbox.faults.set(
        FaultPlan(
            batch_fail={"every": 2, "error": "QUERY_LIMIT_EXCEEDED", "description": "Too many requests"}
        )
    )
    every_second = requests.post(hook(sandbox) + "batch", json={"cmd": cmd}, timeout=5).json()["result"]
    halted = requests.post(hook(sandbox) + "batch", json={"halt": 1, "cmd": cmd}, timeout=5).json()["result"]

    assert list(by_key["result"]) == ["a", "c", "d"]
    assert by_key["result_error"] == {"b": {"error": "ERROR_CORE", "error_description": "Injected failure"}}
    assert list(every_second["result_error"]) == ["b", "d"] and list(every_second["result"]) == ["a", "c"]
    assert every_second["result_error"]["d"] == {
        "error": "QUERY_LIMIT_EXCEEDED",
        "error_description": "Too many requests",
    }
    assert list(halted["result"]) == ["a"] and list(halted["result_error"]) == ["b"]
    titles = [
        lead["TITLE"]
        for lead in requests.post(hook(sandbox) + "crm.lead.list", json={}, timeout=5).json()["result"]
    ]
    assert titles == ["a", "c", "d", "a", "c", "a"]


def test_a_plan_given_at_start_applies_from_the_first_request() -> None:
    with Sandbox("bitrix24", faults=FaultPlan(sequence=[503])) as sb:
        assert requests.get(hook(sb) + "scope", timeout=5).status_code == 503
