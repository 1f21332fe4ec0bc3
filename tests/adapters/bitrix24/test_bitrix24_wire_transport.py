"""Wire tests of the Bitrix24 transport and client (transport.py, client.py): where requests go, the
timeouts and retries configured, how long a limit answer is waited out, what a broken answer becomes,
the OAuth refresh request, and how a batch re-sends only its blocked commands."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from b24_support import MemoryKV, Sleeps, make_adapter
from b24_wire_support import HOOK, OAUTH, REST, TIME, _adapter, _batch, _sent

from crm_bridge.config.crm import HttpConfig
from crm_bridge.errors import (
    AuthError,
    CrmValidationError,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge_bitrix24.client import Command
from crm_bridge_bitrix24.config import Bitrix24Config

NOW = 1724916859.0  # the wire adapter's clock
BLOCKED = {
    "error": "OPERATION_TIME_LIMIT",
    "error_description": "Method is blocked due to operation time limit.",
}


def _blocked_after_reset(reset_at: float, sleeps: Sleeps) -> Any:
    """An adapter that learnt ``reset_at`` for ``scope`` from one answer, then gets blocked once."""
    adapter = _adapter(sleeps=sleeps)
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": {**TIME, "operating_reset_at": reset_at}})
    adapter.client.call("scope")
    responses.replace(responses.POST, HOOK + "scope", status=429, json=BLOCKED)
    responses.add(responses.POST, HOOK + "scope", json={"result": ["crm"], "time": TIME})
    return adapter


@responses.activate
def test_a_block_without_a_known_reset_waits_a_minute() -> None:
    sleeps = Sleeps()
    responses.post(HOOK + "scope", status=429, json=BLOCKED)
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": TIME})

    assert _adapter(sleeps=sleeps).client.call("scope").result == ["crm"]

    assert sleeps.waits == [60.0]


@responses.activate
def test_a_block_whose_reset_is_due_waits_at_least_a_second() -> None:
    sleeps = Sleeps()
    _blocked_after_reset(NOW + 0.25, sleeps).client.call("scope")
    assert sleeps.waits == [1.0]


@responses.activate
def test_a_reset_up_to_eleven_minutes_away_is_waited_for() -> None:
    sleeps = Sleeps()
    _blocked_after_reset(NOW + 659.5, sleeps).client.call("scope")
    assert sleeps.waits == [659.5]
    assert len(responses.calls) == 3


@responses.activate
def test_a_reset_more_than_eleven_minutes_away_is_left_to_the_caller() -> None:
    sleeps = Sleeps()
    adapter = _blocked_after_reset(NOW + 660.5, sleeps)

    with pytest.raises(RateLimited) as info:
        adapter.client.call("scope")

    assert info.value.retry_after == 660.5 and sleeps.waits == []
    assert (
        str(info.value) == "Bitrix24: Method is blocked due to operation time limit. [OPERATION_TIME_LIMIT]"
    )
    assert len(responses.calls) == 2


@responses.activate
def test_a_webhook_url_without_its_trailing_slash_still_reaches_the_methods() -> None:
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": TIME})

    made = make_adapter(Bitrix24Config(webhook_url=HOOK.rstrip("/")), MemoryKV(), Sleeps())
    assert made.client.call("scope").result == ["crm"]
    assert responses.calls[0].request.url == HOOK + "scope"


@responses.activate
def test_requests_carry_the_configured_timeouts() -> None:
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": TIME})

    _adapter(http=HttpConfig(connect_timeout=2.5, read_timeout=17.0)).client.call("scope")
    _adapter().client.call("scope")

    assert responses.calls[0].request.req_kwargs["timeout"] == (2.5, 17.0)
    assert responses.calls[1].request.req_kwargs["timeout"] == (5.0, 60.0)


@responses.activate
def test_a_read_is_retried_as_often_as_configured_with_back_off_under_the_cap() -> None:
    sleeps = Sleeps()
    responses.post(
        HOOK + "scope", status=500, json={"error": "INTERNAL_SERVER_ERROR", "error_description": ""}
    )

    with pytest.raises(TransientError) as info:
        _adapter(sleeps=sleeps, http=HttpConfig(max_retries=3, max_backoff=1.0)).client.call("scope")

    assert len(responses.calls) == 4
    assert len(sleeps.waits) == 3 and all(0.5 <= w <= 1.0 for w in sleeps.waits)
    assert (
        str(info.value)
        == "Bitrix24: Bitrix24 internal server error [INTERNAL_SERVER_ERROR] (gave up after 4 attempts)"
    )


@responses.activate
def test_the_default_is_six_retries() -> None:
    sleeps = Sleeps()
    responses.post(HOOK + "scope", status=502, json={"error": "", "error_description": ""})

    with pytest.raises(TransientError):
        _adapter(sleeps=sleeps).client.call("scope")

    assert len(responses.calls) == 7
    assert len(sleeps.waits) == 6


@responses.activate
def test_an_answer_that_is_not_json_is_a_transient_error_naming_its_content_type() -> None:
    responses.post(HOOK + "scope", body="<html>Bad gateway</html>", content_type="text/html; charset=utf-8")

    with pytest.raises(TransientError) as info:
        _adapter().client.call("scope")

    assert str(info.value) == (
        "Bitrix24: scope: the answer is not valid JSON (text/html: a proxy's error page or a cut "
        "connection?) [ERROR_UNEXPECTED_ANSWER]"
    )
    assert info.value.status == 200 and len(responses.calls) == 1


@responses.activate
def test_an_error_in_a_200_answer_is_raised_but_a_result_beside_an_error_is_kept() -> None:
    responses.post(HOOK + "scope", json={"error": "ERROR_CORE", "error_description": "Nope"})
    with pytest.raises(CrmValidationError) as info:
        _adapter().client.call("scope")
    assert str(info.value) == "Bitrix24: Nope [ERROR_CORE]" and info.value.status == 200

    responses.replace(responses.POST, HOOK + "scope", json={"error": "X", "result": ["crm"]})
    assert _adapter().client.call("scope").result == ["crm"]


@responses.activate
def test_an_answer_of_unexpected_shape_names_the_field_never_the_value() -> None:
    responses.post(HOOK + "scope", json={"result": [], "total": "many-s3cret"})
    with pytest.raises(TransientError) as info:
        _adapter().client.call("scope")
    assert str(info.value) == (
        "Bitrix24: scope answered an unexpected shape (total: input should be a valid integer, unable "
        "to parse string as an integer) [ERROR_UNEXPECTED_ANSWER]"
    )
    assert info.value.status == 200

    responses.replace(responses.POST, HOOK + "scope", json=[1, 2])
    with pytest.raises(TransientError) as whole:
        _adapter().client.call("scope")
    assert str(whole.value).startswith(
        "Bitrix24: scope answered an unexpected shape (the answer: input should"
    )


@responses.activate
def test_a_read_batch_is_resent_after_a_500_but_a_batch_with_an_add_is_not() -> None:
    responses.post(
        HOOK + "batch", status=500, json={"error": "INTERNAL_SERVER_ERROR", "error_description": ""}
    )
    responses.post(HOOK + "batch", json=_batch({"c0": [], "c1": []}))
    adapter = _adapter()

    assert adapter.client.batch([Command("crm.deal.list"), Command("crm.deal.update")]).outcomes[0].ok
    assert len(responses.calls) == 2

    responses.replace(
        responses.POST,
        HOOK + "batch",
        status=500,
        json={"error": "INTERNAL_SERVER_ERROR", "error_description": ""},
    )
    with pytest.raises(TransientError):
        adapter.client.batch([Command("crm.deal.list"), Command("crm.deal.add")])
    assert len(responses.calls) == 3


@responses.activate
def test_a_command_blocked_inside_a_batch_alone_is_resent_after_a_second() -> None:
    sleeps = Sleeps()
    responses.post(
        HOOK + "batch",
        json=_batch({"c0": [{"ID": "1"}]}, errors={"c1": BLOCKED}),
    )
    responses.post(HOOK + "batch", json=_batch({"c0": [{"ID": "2"}]}))

    answer = _adapter(sleeps=sleeps).client.batch([Command("crm.deal.list"), Command("crm.company.list")])

    assert [o.result for o in answer.outcomes] == [[{"ID": "1"}], [{"ID": "2"}]]
    assert answer.server_time == TIME["start"]
    assert sleeps.waits == [1.0]
    assert _sent(responses.calls[1]) == {"halt": 0, "cmd": {"c0": "crm.company.list"}}


@responses.activate
def test_a_command_blocked_four_times_is_given_up_with_its_error() -> None:
    sleeps = Sleeps()
    responses.post(HOOK + "batch", json=_batch({}, errors={"c0": BLOCKED}))

    [outcome] = _adapter(sleeps=sleeps).client.batch([Command("crm.deal.list")]).outcomes

    assert isinstance(outcome.error, RateLimited)
    assert len(responses.calls) == 4 and sleeps.waits == [1.0, 1.0, 1.0]


@responses.activate
@pytest.mark.parametrize("after", [42.0, 0.5])  # a reset under a second away is not rounded up
def test_a_blocked_command_waits_for_its_methods_known_reset(after: float) -> None:
    sleeps = Sleeps()
    times = {"c0": {**TIME, "operating": 100, "operating_reset_at": NOW + after}}
    first = _batch({}, errors={"c0": BLOCKED})
    first["result"]["result_time"] = times
    responses.post(HOOK + "batch", json=first)
    responses.post(HOOK + "batch", json=_batch({"c0": []}))

    _adapter(sleeps=sleeps).client.batch([Command("crm.deal.list")])

    assert sleeps.waits == [after]


@responses.activate
def test_a_command_the_batch_skipped_is_reported_not_invented() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": 5}))

    outcomes = _adapter().client.batch([Command("crm.deal.list"), Command("crm.deal.get")]).outcomes

    assert outcomes[0].result == 5 and outcomes[0].ok
    assert isinstance(outcomes[1].error, CrmValidationError) and not outcomes[1].ok
    assert str(outcomes[1].error) == "Bitrix24: command was not executed"


@responses.activate
def test_a_refresh_sends_the_apps_credentials_and_a_wrong_token_is_not_refreshed() -> None:
    kv = MemoryKV()
    responses.post(REST + "scope", status=401, json={"error": "expired_token", "error_description": ""})
    responses.get(OAUTH["token_url"], json={"access_token": "a2", "refresh_token": "r2"})
    responses.post(REST + "scope", json={"result": ["crm"], "time": TIME})

    _adapter(kv, oauth=OAUTH).client.call("scope")

    params = responses.calls[1].request.params
    assert params == {
        "grant_type": "refresh_token",
        "client_id": "local.app01",
        "client_secret": "cl13nt-s3cr3t",
        "refresh_token": "first-refresh",
    }
    assert kv.data["bitrix24.oauth_tokens"]["access_token"] == "a2"

    responses.replace(
        responses.POST, REST + "scope", status=401, json={"error": "NO_AUTH_FOUND", "error_description": ""}
    )
    with pytest.raises(AuthError) as info:
        _adapter(MemoryKV(), oauth=OAUTH).client.call("scope")
    assert str(info.value) == (
        "Bitrix24: wrong or revoked webhook code / access token [NO_AUTH_FOUND]; check "
        "crm.bitrix24.oauth.refresh_token"
    )
    assert len(responses.calls) == 4  # no second token request


@responses.activate
def test_an_install_without_an_access_token_refreshes_before_its_first_call() -> None:
    responses.get(OAUTH["token_url"], json={"access_token": "a2", "refresh_token": "r2"})
    responses.post(REST + "scope", json={"result": ["crm"], "time": TIME})
    oauth = {k: v for k, v in OAUTH.items() if k != "access_token"}

    _adapter(oauth=oauth).client.call("scope")

    assert [c.request.method for c in responses.calls] == ["GET", "POST"]
    assert responses.calls[1].request.url == REST + "scope?auth=a2"


@responses.activate
def test_a_refused_refresh_says_what_to_check_and_is_not_asked_again() -> None:
    responses.post(REST + "scope", status=401, json={"error": "expired_token", "error_description": ""})
    responses.get(OAUTH["token_url"], status=400, json={"error": "invalid_grant", "error_description": ""})

    with pytest.raises(AuthError) as info:
        _adapter(oauth=OAUTH).client.call("scope")

    assert [c.request.method for c in responses.calls] == ["POST", "GET"]  # a refusal is final
    message = str(info.value)
    assert message.startswith("Bitrix24 refused to refresh the OAuth token: Bitrix24: ")
    assert message.endswith(
        "; check crm.bitrix24.oauth.refresh_token and crm.bitrix24.oauth.client_id/client_secret "
        "(authorise the application again if the refresh token expired)"
    )
    assert info.value.crm == "bitrix24" and info.value.config_key == "crm.bitrix24.oauth.refresh_token"


@responses.activate
def test_an_error_page_from_a_proxy_is_retried_by_its_status_and_named_by_it() -> None:
    sleeps = Sleeps()
    responses.post(HOOK + "scope", status=502, body="<html>Bad gateway</html>", content_type="text/html")
    responses.post(HOOK + "scope", status=403, json={"detail": "not a Bitrix24 error body"})

    with pytest.raises(PermissionDenied) as info:
        _adapter(sleeps=sleeps).client.call("scope")

    assert len(responses.calls) == 2 and len(sleeps.waits) == 1 and 0.5 <= sleeps.waits[0] <= 1.0
    assert str(info.value) == "bitrix24: POST scope answered HTTP 403 (gave up after 2 attempts)"


@responses.activate
def test_an_error_page_that_persists_is_a_transient_error_named_by_its_status() -> None:
    responses.post(HOOK + "scope", status=502, body="<html>Bad gateway</html>", content_type="text/html")

    with pytest.raises(TransientError) as info:
        _adapter(http=HttpConfig(max_retries=0)).client.call("scope")

    assert str(info.value) == "bitrix24: POST scope answered HTTP 502" and info.value.status == 502
