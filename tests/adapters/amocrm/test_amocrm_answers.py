"""amoCRM's failure answers as the adapter reports them, word for word (what an operator reads in the
log and in ``doctor``): 400 with and without ``validation-errors``, 401, 402, a 403 that is not the
block page, 404, an HTML page instead of JSON, and the wait before resending a 429."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from amo_support import MemoryKV, Sleeps, make_adapter, token_config

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.errors import (
    AuthError,
    CrmError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
)
from crm_bridge.ports import Entity, LeadDraft, RecordUpdate
from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter
from crm_bridge_amocrm.transport import AmoBlocked, AmoValidationError, account_of


def _answer(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, status: int, body: Any) -> None:
    """amoCRM answers every API request with ``status`` and ``body`` (JSON)."""
    respond: Callable[[Any], SandboxResponse] = lambda _request: SandboxResponse(status=status, body=body)  # noqa: E731
    monkeypatch.setattr(sandbox.emulator, "handle", respond)


def _failure(adapter: AmoCrmAdapter) -> CrmError:
    with pytest.raises(CrmError) as caught:
        adapter.list_users()
    return caught.value


def test_an_unpaid_account_is_named_by_its_host_and_not_retried(
    adapter: AmoCrmAdapter, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[402]))

    error = _failure(adapter)

    host = account_of(token_config(sandbox))
    assert host == f"127.0.0.1:{sandbox.port}"
    assert type(error) is PermissionDenied
    assert str(error) == f"amoCRM: the account {host} is not paid (HTTP 402); renew it"
    assert (error.crm, error.status) == ("amocrm", 402)
    assert sandbox.request_count() == 1 and sleeps.waits == []


def test_an_unknown_path_is_not_found(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[404]))

    error = _failure(adapter)

    assert type(error) is NotFound
    assert str(error) == "amoCRM: GET /api/v4/users not found"
    assert (error.crm, error.status) == ("amocrm", 404)
    assert sandbox.request_count() == 1


def test_a_refused_token_names_amocrms_words_and_the_config_key(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[401]))
    adapter = make_adapter(token_config(sandbox), MemoryKV())

    error = _failure(adapter)

    assert type(error) is AuthError
    assert str(error) == (
        "amoCRM refused the token (HTTP 401 on GET /api/v4/users: Неверный логин или пароль); "
        "check crm.amocrm.access_token"
    )
    assert (error.crm, error.status, error.config_key) == ("amocrm", 401, "crm.amocrm.access_token")


def test_a_401_without_a_problem_body_still_names_the_config_key(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer(sandbox, monkeypatch, 401, {"status": 401})

    error = _failure(adapter)

    assert (
        str(error)
        == "amoCRM refused the token (HTTP 401 on GET /api/v4/users); check crm.amocrm.access_token"
    )


def test_a_403_with_a_json_body_is_a_missing_right_not_the_block(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps
) -> None:
    _answer(sandbox, monkeypatch, 403, {"title": "Forbidden", "detail": "Недостаточно прав", "status": 403})

    error = _failure(adapter)

    assert type(error) is PermissionDenied
    assert str(error) == (
        "amoCRM refused GET /api/v4/users (HTTP 403: Недостаточно прав): the token's user lacks the right"
    )
    assert (error.crm, error.status) == ("amocrm", 403)
    assert sandbox.request_count() == 1 and sleeps.waits == []


def test_a_403_json_without_detail_uses_the_title_and_without_either_says_nothing_more(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer(sandbox, monkeypatch, 403, {"title": "Forbidden"})
    titled = _failure(adapter)
    _answer(sandbox, monkeypatch, 403, {})
    bare = _failure(adapter)

    assert (
        str(titled)
        == "amoCRM refused GET /api/v4/users (HTTP 403: Forbidden): the token's user lacks the right"
    )
    assert str(bare) == "amoCRM refused GET /api/v4/users (HTTP 403): the token's user lacks the right"


def test_the_block_page_message_in_full(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[403]))

    error = _failure(adapter)

    assert type(error) is AmoBlocked
    assert str(error) == (
        "amoCRM has blocked this integration (HTTP 403 block page on GET /api/v4/users): it stops now and "
        "does not retry, since retries prolong the block. Contact amoCRM support with the account "
        f"subdomain 127.0.0.1:{sandbox.port} and this server's public IP address; lower "
        "crm.amocrm.rate_limit if it was raised above 7 requests/s"
    )
    assert (error.crm, error.status, error.code) == ("amocrm", 403, "blocked")


def test_a_400_with_validation_errors_lists_each_item_and_its_reasons(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {
        "title": "Bad Request",
        "validation-errors": [
            {
                "request_id": "3",
                "errors": [
                    {"code": "NotSupportedChoice", "path": "status_id", "detail": "The value is not valid."},
                    {"code": "InvalidType", "path": "", "detail": ""},
                    "not an error object",
                ],
            },
            {"request_id": "7", "errors": []},
            {"errors": [{"code": "X", "detail": "no request id"}]},
            "not an item",
        ],
    }
    _answer(sandbox, monkeypatch, 400, body)

    error = _failure(adapter)

    assert type(error) is AmoValidationError
    assert error.problems == {
        "3": "status_id: The value is not valid.; item: InvalidType",
        "7": "refused by amoCRM",
        "": "item: no request id",
    }
    assert str(error) == (
        "amoCRM refused GET /api/v4/users: #3: status_id: The value is not valid.; item: InvalidType; "
        "#7: refused by amoCRM; #: item: no request id"
    )
    assert (error.crm, error.status, error.code) == ("amocrm", 400, "validation")


def test_a_long_validation_answer_is_cut_at_1000_characters(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [{"request_id": str(i), "errors": [{"path": "name", "detail": "x" * 50}]} for i in range(40)]
    _answer(sandbox, monkeypatch, 400, {"validation-errors": items})

    error = _failure(adapter)

    assert len(str(error)) == 1000 and str(error).startswith("amoCRM refused GET /api/v4/users: #0: name: x")
    assert len(error.problems) == 40  # type: ignore[attr-defined]


def test_a_plain_400_gives_amocrms_detail_or_says_bad_request(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer(sandbox, monkeypatch, 400, {"title": "Bad Request", "detail": "Filter is invalid"})
    detailed = _failure(adapter)
    _answer(sandbox, monkeypatch, 400, {"status": 400})
    bare = _failure(adapter)

    assert type(detailed) is CrmValidationError and type(bare) is CrmValidationError
    assert str(detailed) == "amoCRM refused GET /api/v4/users: Filter is invalid"
    assert str(bare) == "amoCRM refused GET /api/v4/users: bad request"
    assert (bare.crm, bare.status) == ("amocrm", 400)


def test_an_html_page_instead_of_json_is_an_error_naming_the_status(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    sandbox.faults.set(FaultPlan(malformed=["html"]))

    error = _failure(adapter)

    assert type(error) is CrmError
    assert str(error) == "amoCRM answered HTTP 200 with no JSON object"


def test_an_html_page_instead_of_the_complex_adds_array_is_an_error(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    sandbox.faults.set(FaultPlan(malformed=["html"]))
    draft = LeadDraft("ext-1", "", "Lead", customer_name="Buyer")

    with pytest.raises(CrmError) as caught:
        provisioned.send_leads([draft])

    assert str(caught.value) == "amoCRM answered HTTP 200 with no JSON array"
    assert sandbox.counts() == {"POST /api/v4/leads/complex": 1}


def test_a_429_without_retry_after_waits_two_request_slots(sandbox: Sandbox, sleeps: Sleeps) -> None:
    config = token_config(sandbox, rate_limit=RateLimitConfig(burst=10_000, per_second=4))
    adapter = make_adapter(config, MemoryKV(), sleeps)
    sandbox.faults.set(FaultPlan(sequence=[429, 429]))

    users = adapter.list_users()

    assert users and sleeps.waits == [0.5, 0.5]  # 2 / 4 requests a second
    assert sandbox.counts() == {"GET /api/v4/users": 3}


def _answer_patches(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, status: int, body: Any) -> None:
    """amoCRM answers PATCH /api/v4/leads with ``status`` and ``body``; everything else as usual."""
    handle = sandbox.emulator.handle

    def respond(request: Any) -> SandboxResponse:
        if request.method == "PATCH" and request.path == "/api/v4/leads":
            return SandboxResponse(status=status, body=body)
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", respond)


def test_a_refusal_naming_no_item_fails_the_whole_array_with_amocrms_words(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"validation-errors": [{"request_id": "first", "errors": [{"path": "name", "detail": "bad"}]}]}
    _answer_patches(sandbox, monkeypatch, 400, body)

    outcomes = provisioned.update_records(
        [RecordUpdate(Entity.LEAD, "20000001", fields={"title": "a"}), RecordUpdate(Entity.LEAD, "20000002")]
    )

    assert [(o.crm_id, o.error) for o in outcomes] == [
        (None, "amoCRM refused PATCH /api/v4/leads: #first: name: bad"),
        (None, "amoCRM refused PATCH /api/v4/leads: #first: name: bad"),
    ]
    assert sandbox.counts() == {"PATCH /api/v4/leads": 1}  # not resent


def test_answers_without_request_ids_are_taken_in_order_and_an_answer_without_id_fails(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_patches(sandbox, monkeypatch, 200, {"_embedded": {"leads": [{"id": 5}, {"updated_at": 1}]}})

    outcomes = provisioned.update_records(
        [
            RecordUpdate(Entity.LEAD, "20000001", fields={"title": "a"}),
            RecordUpdate(Entity.LEAD, "20000002", fields={"title": "b"}),
            RecordUpdate(Entity.LEAD, "20000003", fields={"title": "c"}),
        ]
    )

    assert [(o.crm_id, o.error) for o in outcomes] == [
        ("5", None),
        (None, "amoCRM returned no id for this item"),
        (None, "amoCRM returned no id for this item"),
    ]


def test_a_complex_add_answer_merging_request_ids_is_matched_by_the_first(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = sandbox.emulator.handle

    def respond(request: Any) -> SandboxResponse:
        if request.path == "/api/v4/leads/complex":
            return SandboxResponse(
                status=200, body=[{"id": 8, "request_id": ["1", "0"]}, {"id": 7, "request_id": []}]
            )
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", respond)

    outcomes = provisioned.send_leads(
        [LeadDraft("ext-0", "", "A", customer_name="X"), LeadDraft("ext-1", "", "B", customer_name="Y")]
    )

    assert [(o.crm_id, o.error) for o in outcomes] == [
        (None, "amoCRM returned no id for this item"),
        ("8", None),
    ]
