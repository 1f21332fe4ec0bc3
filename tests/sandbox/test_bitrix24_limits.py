"""Bitrix24 emulator: the documented limits on a manual clock — the leaky bucket (burst 50, drains 2 per
second, then 503 QUERY_LIMIT_EXCEEDED; batch counts once), the per-method operating budget (429
OPERATION_TIME_LIMIT for that method only, ``operating_reset_at``), and the webhook's scopes."""

from __future__ import annotations

from test_bitrix24_support import B24, ManualClock, clock, doc

from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

__all__ = ["clock"]
ERRORS = doc("system_errors.json")["errors"]


def limited(clock: ManualClock, **options: object) -> B24:
    return B24(Bitrix24Emulator(clock=clock, rate_limit=True, **options))  # type: ignore[arg-type]


def test_fifty_requests_pass_then_the_portal_answers_503_until_the_bucket_drains(clock: ManualClock) -> None:
    b24 = limited(clock)

    statuses = [b24.call("scope").status for _ in range(51)]
    refused = b24.call("scope")
    clock.advance(1.0)  # drains two
    after_a_second = [b24.call("scope").status for _ in range(3)]

    assert statuses == [200] * 50 + [503]
    assert (refused.status, refused.body) == (
        503,
        {
            "error": "QUERY_LIMIT_EXCEEDED",
            "error_description": ERRORS["QUERY_LIMIT_EXCEEDED"]["error_description"],
        },
    )
    assert after_a_second == [200, 200, 503]


def test_the_enterprise_plan_allows_a_burst_of_250(clock: ManualClock) -> None:
    b24 = limited(clock, plan="enterprise")

    statuses = [b24.call("scope").status for _ in range(251)]

    assert statuses.count(200) == 250 and statuses[-1] == 503


def test_a_batch_of_fifty_commands_is_one_request_for_the_bucket(clock: ManualClock) -> None:
    b24 = limited(clock)
    batch = {"cmd": {f"c{n}": "crm.lead.list?select[]=ID" for n in range(50)}}

    statuses = [b24.call("batch", batch).status for _ in range(50)]

    assert statuses == [200] * 50
    assert b24.call("scope").status == 503


def test_a_method_over_its_operating_budget_is_blocked_alone_until_its_basket_expires(
    clock: ManualClock,
) -> None:
    b24 = limited(clock, operating_limit=0.01)  # each call costs a few emulated milliseconds

    first = b24.call("crm.lead.list")
    answers = [b24.call("crm.lead.list") for _ in range(3)]
    other = b24.call("crm.deal.list")
    clock.advance(599)
    still = b24.call("crm.lead.list")
    clock.advance(2)
    again = b24.call("crm.lead.list")

    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[-1].body["error"] == "OPERATION_TIME_LIMIT"
    assert other.status == 200
    assert first.body["time"]["operating_reset_at"] == int(clock.now - 601 + 600)
    assert answers[1].body["time"]["operating"] > first.body["time"]["operating"] > 0
    assert (still.status, again.status) == (429, 200)


def test_a_batch_charges_each_inner_call_to_its_own_method(clock: ManualClock) -> None:
    b24 = limited(clock, operating_limit=0.01)

    b24.call("batch", {"cmd": {f"c{n}": "crm.lead.list" for n in range(3)}})
    blocked = b24.call("batch", {"cmd": {"lead": "crm.lead.list", "deal": "crm.deal.list"}})

    errors = blocked.body["result"]["result_error"]
    assert blocked.status == 200 and list(errors) == ["lead"]
    assert errors["lead"]["error"] == "OPERATION_TIME_LIMIT"


def test_with_limits_off_nothing_is_refused(clock: ManualClock) -> None:
    b24 = B24(Bitrix24Emulator(clock=clock, rate_limit=False, operating_limit=0.0))

    assert {b24.call("crm.lead.list").status for _ in range(120)} == {200}


def test_a_method_outside_the_webhook_scopes_is_refused_with_insufficient_scope(clock: ManualClock) -> None:
    b24 = B24(Bitrix24Emulator(clock=clock, rate_limit=False, scopes=("crm",)))

    reply = b24.call("tasks.task.add", {"fields": {"TITLE": "x", "RESPONSIBLE_ID": 1}})

    expected = ERRORS["insufficient_scope"]
    assert (reply.status, reply.body) == (
        expected["status"],
        {"error": "insufficient_scope", "error_description": expected["error_description"]},
    )
    assert b24.ok("scope") == ["crm"]
