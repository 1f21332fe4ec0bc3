"""TalentLMS's completion webhook read into a stored completion: who (e-mail, first and last name),
which partner (the custom field, else the e-mail's domain), which course (id and name), when (its
``completed_at``, else the event's ``timestamp``, else the moment it arrived), from TalentLMS; the
completion events it knows, and the refusals a partner's LMS admin reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_partner_lifecycle import (
    PORTAL,
    _sync,
    _training,
    world,  # noqa: F401 (the fixture the tests take)
)

from crm_bridge.domain.training import Completion
from crm_bridge.errors import DataError
from crm_bridge.services.partners.training_webhook import (
    TrainingWebhook,
    WebhookRefused,
    answer,
    check_secret,
)

ARRIVED = datetime(2026, 10, 22, 8, 0, tzinfo=UTC)


def body(event: str = "user_completed_course", **data: Any) -> bytes:
    user = {"email": "ivan@kazan-soft.ru", "first_name": "Ivan", "last_name": "Petrov"}
    payload: dict[str, Any] = {
        "user": {**user, **data.pop("user", {})},
        "course": {"id": 42, "name": " Product certification "},
        "completed_at": "2026-10-21 12:00:00",
    }
    payload.update(data)
    return json.dumps({"event": event, "data": payload, "timestamp": data.get("ts", "")}).encode()


def hook(world: dict[str, Any]) -> tuple[TrainingWebhook, str]:  # noqa: F811
    partner = world["fake"].seed_partner("Kazan Soft")
    world["fake"].seed_partner("Other Soft")
    _sync(world)
    return TrainingWebhook(_training(world, partner.crm_id)), partner.crm_id


def stored(world: dict[str, Any]) -> list[Completion]:  # noqa: F811
    return list(world["life"].store.training.all(PORTAL))


@pytest.mark.parametrize("event", ["user_completed_course", "course_completed", "course_completion"])
def test_a_talentlms_completion_is_stored_with_the_person_the_course_and_the_time(
    world: dict[str, Any],  # noqa: F811
    event: str,
) -> None:
    webhook, pid = hook(world)

    result = webhook.receive(
        body(event), source="talentlms", authorization="", token="s3cret-lms", now=ARRIVED
    )

    assert (result.received, result.new, result.ignored) == (1, 1, "")
    assert stored(world) == [
        Completion(
            pid,
            "ivan@kazan-soft.ru",
            "42",
            datetime(2026, 10, 21, 12, 0, tzinfo=UTC),
            "Ivan Petrov",
            "Product certification",
            True,
            "talentlms",
        )
    ]


def test_the_partner_custom_field_wins_over_the_email_domain(world: dict[str, Any]) -> None:  # noqa: F811
    webhook, _ = hook(world)
    other = next(p.crm_id for p in world["life"].partners().values() if p.name == "Other Soft")

    webhook.receive(
        body(user={"custom_fields": {"partner_id": other}, "last_name": ""}),
        source="talentlms",
        authorization="",
        token="s3cret-lms",
    )

    (completion,) = stored(world)
    assert (completion.partner_id, completion.person_name) == (other, "Ivan")


def test_without_completed_at_the_events_timestamp_else_the_arrival_is_the_time(
    world: dict[str, Any],  # noqa: F811
) -> None:
    webhook, _ = hook(world)

    webhook.receive(
        body(completed_at="", ts="1793000000"),
        source="talentlms",
        authorization="",
        token="s3cret-lms",
        now=ARRIVED,
    )
    webhook.receive(
        body(completed_at=None, course={"id": 43, "name": "B"}),
        source="talentlms",
        authorization="",
        token="s3cret-lms",
        now=ARRIVED,
    )

    assert sorted((c.course_id, c.completed_at) for c in stored(world)) == [
        ("42", datetime.fromtimestamp(1793000000, UTC)),
        ("43", ARRIVED),
    ]


def test_other_events_are_acknowledged_and_ignored(world: dict[str, Any]) -> None:  # noqa: F811
    webhook, _ = hook(world)
    assert webhook.receive(
        body("user_signup"), source="talentlms", authorization="", token="s3cret-lms"
    ).body() == {
        "received": 0,
        "new": 0,
        "ignored": "event 'user_signup' is not a course completion",
    }
    assert webhook.receive(b"{}", source="talentlms", authorization="", token="s3cret-lms").ignored == (
        "event '(none)' is not a course completion"
    )
    assert stored(world) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"user": {"email": "ivan.kazan-soft.ru"}},
            "data.email: 'ivan.kazan-soft.ru' is not an e-mail address",
        ),
        ({"course": {"name": "x"}}, "data.course_id is missing"),
        (
            {"user": {"email": "ivan@nowhere.org"}},
            "data.partner_id is missing and the e-mail domain is not in training.partner_domains",
        ),
        (
            {"completed_at": "someday"},
            "data.completed_at: 'someday' is not a date (use 2026-11-05, 05.11.2026 or an ISO time)",
        ),
    ],
)
def test_a_completion_that_cannot_be_stored_is_refused_with_its_reason(
    world: dict[str, Any],  # noqa: F811
    data: dict[str, Any],
    message: str,
) -> None:
    webhook, _ = hook(world)
    status, answered = answer(webhook, body(**data), source="talentlms", authorization="", token="s3cret-lms")
    assert (status, answered) == (
        422,
        {"error": "invalid_request", "message": f"training webhook: {message}"},
    )
    with pytest.raises(WebhookRefused):
        webhook.receive(body(**data), source="talentlms", authorization="", token="s3cret-lms")
    assert stored(world) == []


def test_the_generic_body_takes_a_list_of_completions_with_their_certified_flag(
    world: dict[str, Any],  # noqa: F811
) -> None:
    webhook, pid = hook(world)
    one = {"email": "anna@kazan-soft.ru", "course_id": "c1", "completed_at": "2026-10-20", "name": "Anna"}
    two = {**one, "email": "ivan@kazan-soft.ru", "course_name": "Sales", "certified": False}
    result = webhook.receive(
        json.dumps({"completions": [one, two]}).encode(), authorization="", token="s3cret-lms"
    )

    assert (result.received, result.new) == (2, 2)
    assert sorted(
        (c.person_email, c.person_name, c.course_name, c.certified, c.source) for c in stored(world)
    ) == [
        ("anna@kazan-soft.ru", "Anna", "", True, "webhook"),
        ("ivan@kazan-soft.ru", "Anna", "Sales", False, "webhook"),
    ]
    assert {c.partner_id for c in stored(world)} == {pid}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {
                "completions": [
                    {"email": "a@kazan-soft.ru", "course_id": "c", "completed_at": "2026-10-20"},
                    {
                        "email": "b@kazan-soft.ru",
                        "course_id": "c",
                        "completed_at": "2026-10-20",
                        "certified": "yes",
                    },
                ]
            },
            "completions[1].certified: true or false",
        ),
        (
            {"email": "b@kazan-soft.ru", "course_id": "c", "completed_at": "2026-10-20", "certified": 1},
            "certified: true or false",
        ),
        (
            {"completions": [{"email": "nobody", "course_id": "c", "completed_at": "2026-10-20"}]},
            "completions[0].email: 'nobody' is not an e-mail address",
        ),
    ],
)
def test_a_generic_completion_with_a_bad_field_is_refused_naming_where(
    world: dict[str, Any],  # noqa: F811
    payload: dict[str, Any],
    message: str,
) -> None:
    webhook, _ = hook(world)
    status, answered = answer(
        webhook, json.dumps(payload).encode(), source="generic", authorization="", token="s3cret-lms"
    )
    assert (status, answered) == (
        422,
        {"error": "invalid_request", "message": f"training webhook: {message}"},
    )
    assert stored(world) == []


def test_the_webhooks_http_answer_for_each_outcome(world: dict[str, Any]) -> None:  # noqa: F811
    webhook, _ = hook(world)
    generic = json.dumps(
        {"email": "anna@kazan-soft.ru", "course_id": "c1", "completed_at": "2026-10-20"}
    ).encode()

    assert answer(webhook, generic, source="generic", authorization="Bearer s3cret-lms", token="") == (
        200,
        {"received": 1, "new": 1},
    )
    assert answer(webhook, generic, source="generic", authorization="", token="") == (
        401,
        {"error": "unauthorized", "message": "training webhook: wrong or missing webhook secret"},
    )
    assert answer(webhook, generic, source="moodle", authorization="", token="s3cret-lms") == (
        404,
        {"error": "not_found", "message": "training webhook: unknown LMS 'moodle' (generic, talentlms)"},
    )
    assert (
        answer(webhook, b"x" * 300_000, source="generic", authorization="", token="s3cret-lms")[1]["error"]
        == "too_large"
    )
    assert answer(webhook, b"not json", source="generic", authorization="", token="s3cret-lms")[:1] == (400,)
    assert (
        answer(webhook, b"not json", source="generic", authorization="", token="s3cret-lms")[1]["error"]
        == "invalid_request"
    )


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_configured_secret_the_webhook_is_disabled_and_says_why(secret: str | None) -> None:
    with pytest.raises(WebhookRefused) as refused:
        check_secret(secret, "Bearer anything", "anything")

    assert refused.value.status == 401
    assert str(refused.value) == (
        "training webhook: training.webhook_secret is not configured: the webhook is disabled"
    )


@pytest.mark.parametrize(
    ("authorization", "token", "accepted"),
    [
        ("Bearer s3cret-lms", "", True),
        ("Bearer  s3cret-lms ", "", True),
        ("", "s3cret-lms", True),
        ("Bearer wrong", "s3cret-lms", False),  # the header, when given, is what counts
        ("Basic s3cret-lms", "", False),
        ("", "", False),
        ("", "s3cret-lm", False),
    ],
)
def test_the_secret_comes_from_the_bearer_header_or_the_token(
    authorization: str, token: str, accepted: bool
) -> None:
    if accepted:
        check_secret("s3cret-lms", authorization, token)
        return
    with pytest.raises(WebhookRefused) as refused:
        check_secret("s3cret-lms", authorization, token)
    assert refused.value.status == 401 and "s3cret" not in str(refused.value)


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"x" * (256 * 1024 + 1), 413, "body larger than 256 KB"),
        (b"[1, 2]", 400, "the body must be a JSON object"),
        (b'{"completions": []}', 400, "completions: give a non-empty list of completion objects"),
        (b'{"completions": [1]}', 400, "completions: give a non-empty list of completion objects"),
        (b'{"completions": "c1"}', 400, "completions: give a non-empty list of completion objects"),
    ],
)
def test_a_body_that_is_not_a_completion_is_refused_with_the_http_status_and_why(
    world: dict[str, Any],  # noqa: F811
    raw: bytes,
    status: int,
    message: str,
) -> None:
    webhook, _ = hook(world)
    with pytest.raises(WebhookRefused) as refused:
        webhook.ingest(raw, source="generic")
    assert (refused.value.status, str(refused.value)) == (status, f"training webhook: {message}")
    assert stored(world) == []


def test_a_body_of_exactly_the_limit_is_read(world: dict[str, Any]) -> None:  # noqa: F811
    webhook, _ = hook(world)
    head = {"email": "anna@kazan-soft.ru", "course_id": "c1", "completed_at": "2026-10-20", "note": ""}
    pad = 256 * 1024 - len(json.dumps(head).encode())
    raw = json.dumps({**head, "note": "x" * pad}).encode()
    assert len(raw) == 256 * 1024

    assert webhook.ingest(raw, source="generic").received == 1


def configured_hook(world: dict[str, Any], timezone: str = "UTC", **training: Any) -> TrainingWebhook:  # noqa: F811
    """``hook`` with the company's ``timezone`` and more of the ``training`` section."""
    webhook, _ = hook(world)
    life = world["life"]
    cfg = life.settings.training.model_copy(update=training)
    life.settings = life.settings.model_copy(update={"timezone": timezone, "training": cfg})
    return TrainingWebhook(type(webhook.service)(life))


def test_a_completion_time_without_a_zone_is_read_in_the_companys_zone(world: dict[str, Any]) -> None:  # noqa: F811
    webhook = configured_hook(world, "Asia/Vladivostok")  # UTC+10, no summer time
    webhook.receive(
        body(), source="talentlms", authorization="", token="s3cret-lms", now=ARRIVED
    )  # 2026-10-21 12:00:00
    generic = {"email": "anna@kazan-soft.ru", "course_id": "c1", "completed_at": "2026-10-20"}
    webhook.receive(json.dumps(generic).encode(), authorization="", token="s3cret-lms")

    assert sorted((c.course_id, c.completed_at) for c in stored(world)) == [
        ("42", datetime(2026, 10, 21, 2, 0, tzinfo=UTC)),
        ("c1", datetime(2026, 10, 19, 14, 0, tzinfo=UTC)),
    ]


def test_a_talentlms_completion_without_any_time_is_dated_when_it_arrives_whatever_the_zone(
    world: dict[str, Any],  # noqa: F811
) -> None:
    webhook = configured_hook(world, "Asia/Vladivostok")
    before = datetime.now(UTC)
    webhook.receive(
        body(completed_at=None), source="talentlms", authorization="", token="s3cret-lms"
    )  # no injected time
    after = datetime.now(UTC)

    (completion,) = stored(world)
    assert before - timedelta(seconds=1) <= completion.completed_at <= after


def test_only_the_certifying_courses_certify_when_the_lms_does_not_say(world: dict[str, Any]) -> None:  # noqa: F811
    webhook = configured_hook(world, certifying_courses=["42"])
    webhook.receive(body(), source="talentlms", authorization="", token="s3cret-lms", now=ARRIVED)
    webhook.receive(
        body(course={"id": 43, "name": "B"}),
        source="talentlms",
        authorization="",
        token="s3cret-lms",
        now=ARRIVED,
    )

    assert sorted((c.course_id, c.certified) for c in stored(world)) == [("42", True), ("43", False)]


def test_a_single_generic_completion_with_a_bad_field_is_refused_naming_the_field(
    world: dict[str, Any],  # noqa: F811
) -> None:
    webhook, _ = hook(world)
    single = {"email": "nobody", "course_id": "c", "completed_at": "2026-10-20"}
    assert answer(
        webhook, json.dumps(single).encode(), source="generic", authorization="", token="s3cret-lms"
    ) == (
        422,
        {"error": "invalid_request", "message": "training webhook: email: 'nobody' is not an e-mail address"},
    )


def test_a_completion_for_a_partner_the_store_does_not_know_is_refused_with_422(
    world: dict[str, Any],  # noqa: F811
) -> None:
    webhook, _ = hook(world)
    unknown = {
        "email": "anna@kazan-soft.ru",
        "partner_id": "999",
        "course_id": "c1",
        "completed_at": "2026-10-20",
    }
    assert answer(
        webhook, json.dumps(unknown).encode(), source="generic", authorization="", token="s3cret-lms"
    ) == (
        422,
        {
            "error": "invalid_request",
            "message": "training webhook: no such partner(s) in the state store: 999 (run sync)",
        },
    )
    with pytest.raises(DataError) as refused:
        webhook.service.record([Completion("999", "anna@kazan-soft.ru", "c1", ARRIVED)])
    assert str(refused.value) == "training: no such partner(s) in the state store: 999 (run sync)"
    assert stored(world) == []


def test_a_saved_body_is_replayed_as_the_generic_shape_by_default(world: dict[str, Any]) -> None:  # noqa: F811
    webhook, _ = hook(world)
    raw = json.dumps(
        {"email": "anna@kazan-soft.ru", "course_id": "c1", "completed_at": "2026-10-20"}
    ).encode()
    assert webhook.ingest(raw).body() == {"received": 1, "new": 1}


def test_a_webhook_without_a_configured_secret_refuses_every_request(world: dict[str, Any]) -> None:  # noqa: F811
    webhook = configured_hook(world, webhook_secret=None)
    raw = json.dumps(
        {"email": "anna@kazan-soft.ru", "course_id": "c1", "completed_at": "2026-10-20"}
    ).encode()
    assert answer(webhook, raw, source="generic", authorization="", token="s3cret-lms") == (
        401,
        {
            "error": "unauthorized",
            "message": "training webhook: training.webhook_secret is not configured: the webhook is disabled",
        },
    )
    assert stored(world) == []
