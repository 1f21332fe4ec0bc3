"""Wire tests of the Bitrix24 adapter's error answers (_includes/system-errors.md, limits.md, oauth):
what is retried, what is waited out, what becomes which crm-bridge error, and the OAuth refresh."""

from __future__ import annotations

import pytest
import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, OAUTH, REST, TIME, _adapter, _batch

from crm_bridge.errors import AuthError, CrmValidationError, PermissionDenied, TransientError
from crm_bridge.ports import NotificationDraft


@responses.activate
def test_a_wrong_webhook_is_one_auth_error_naming_the_config_key_without_the_secret() -> None:
    responses.post(
        HOOK + "scope",
        status=401,
        json={"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"},
    )

    [check] = _adapter().check()

    assert not check.ok and "crm.bitrix24.webhook_url" in check.detail and "s3cr3t" not in check.detail
    with pytest.raises(AuthError) as info:
        _adapter().client.call("scope")
    assert info.value.config_key == "crm.bitrix24.webhook_url" and info.value.exit_code == 1
    assert len(responses.calls) == 2  # never retried


@responses.activate
def test_insufficient_scope_is_a_permission_error() -> None:
    responses.post(
        HOOK + "user.get", status=403, json={"error": "insufficient_scope", "error_description": ""}
    )

    with pytest.raises(PermissionDenied):
        _adapter().list_users()


@responses.activate
def test_query_limit_exceeded_is_waited_out_and_retried() -> None:
    sleeps = Sleeps()
    responses.post(
        HOOK + "scope",
        status=503,
        json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
    )
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": TIME})

    assert _adapter(sleeps=sleeps).client.call("scope").result == ["crm"]
    assert sleeps.waits and sleeps.waits[-1] == pytest.approx(0.5)  # one request drains at 2/s


@responses.activate
def test_a_write_batch_refused_by_the_rate_limit_is_sent_again_but_a_500_is_not() -> None:
    responses.post(
        HOOK + "batch",
        status=503,
        json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
    )
    responses.post(HOOK + "batch", json=_batch({"c0": 1}))
    adapter = _adapter()

    assert adapter.send_notifications([NotificationDraft("n1", "7", "Hi")])[0].ok

    responses.replace(
        responses.POST,
        HOOK + "batch",
        status=500,
        json={"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"},
    )
    with pytest.raises(TransientError):
        adapter.send_notifications([NotificationDraft("n2", "7", "Hi")])
    assert len(responses.calls) == 3  # the 500 after a possible write is not blindly resent


@responses.activate
def test_operation_time_limit_waits_until_the_methods_budget_resets() -> None:
    sleeps = Sleeps()
    adapter = _adapter(sleeps=sleeps)
    responses.post(
        HOOK + "scope", json={"result": ["crm"], "time": {**TIME, "operating_reset_at": 1724917000}}
    )
    adapter.client.call("scope")
    responses.replace(
        responses.POST,
        HOOK + "scope",
        status=429,
        json={
            "error": "OPERATION_TIME_LIMIT",
            "error_description": "Method is blocked due to operation time limit.",
        },
    )
    responses.add(responses.POST, HOOK + "scope", json={"result": ["crm"], "time": TIME})

    adapter.client.call("scope")

    assert 141 in [round(w) for w in sleeps.waits]  # operating_reset_at - now


@responses.activate
def test_a_batch_over_fifty_commands_is_refused_before_sending() -> None:
    from crm_bridge_bitrix24.client import Command

    with pytest.raises(ValueError):
        _adapter().client.batch([Command("scope")] * 51)
    assert len(responses.calls) == 0


@responses.activate
def test_the_documented_batch_errors_map_to_validation_errors() -> None:
    responses.post(
        HOOK + "batch",
        status=400,
        json={"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"},
    )

    with pytest.raises(CrmValidationError):
        _adapter().observe_layout()


@responses.activate
def test_an_expired_oauth_token_is_refreshed_once_and_the_new_pair_is_stored_before_use() -> None:
    kv = MemoryKV()
    responses.post(
        REST + "scope",
        status=401,
        json={"error": "expired_token", "error_description": "The access token provided has expired."},
    )
    responses.get(
        OAUTH["token_url"],
        json={
            "access_token": "new-access",
            "refresh_token": "new-refresh",
            "expires_in": 3600,
            "client_endpoint": REST,
            "member_id": "m",
            "scope": "crm,task,user,im",
        },
    )
    responses.post(REST + "scope", json={"result": ["crm", "task", "user", "im"], "time": TIME})

    result = _adapter(kv, oauth=OAUTH).client.call("scope").result

    assert result == ["crm", "task", "user", "im"]
    assert responses.calls[0].request.url.endswith("auth=old-access")
    assert "grant_type=refresh_token" in responses.calls[1].request.url
    assert "refresh_token=first-refresh" in responses.calls[1].request.url
    assert responses.calls[2].request.url.endswith("auth=new-access")
    assert kv.data["bitrix24.oauth_tokens"]["refresh_token"] == "new-refresh"
    assert kv.writes.index("bitrix24.oauth_tokens") == 0


@responses.activate
def test_a_rejected_refresh_token_is_an_auth_error_naming_the_oauth_config() -> None:
    responses.post(REST + "scope", status=401, json={"error": "expired_token", "error_description": ""})
    responses.get(
        OAUTH["token_url"], status=400, json={"error": "invalid_grant", "error_description": "Invalid grant"}
    )

    with pytest.raises(AuthError) as info:
        _adapter(oauth=OAUTH).client.call("scope")

    assert info.value.config_key == "crm.bitrix24.oauth.refresh_token"
    assert "cl13nt" not in str(info.value) and "first-refresh" not in str(info.value)
