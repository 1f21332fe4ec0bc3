"""Credentials against the Bitrix24 sandbox: a wrong webhook is one clear error that writes nothing;
an OAuth local app gets its first token from the refresh token, refreshes once when the portal says
the token expired, and stores each new pair before using it."""

from __future__ import annotations

import pytest
from b24_support import MemoryKV, make_adapter, oauth_config, provision

from crm_bridge.errors import AuthError
from crm_bridge.ports import Entity
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24.config import Bitrix24Config


def test_a_wrong_webhook_secret_fails_once_naming_the_config_key_and_writes_nothing(sandbox: Sandbox) -> None:
    url = sandbox.config_snippet()["env"]["B24_WEBHOOK_URL"].replace("s4ndb0x", "wr0ng")
    adapter = make_adapter(Bitrix24Config(webhook_url=url), MemoryKV())

    with pytest.raises(AuthError) as info:
        provision(adapter)

    assert info.value.config_key == "crm.bitrix24.webhook_url" and info.value.exit_code == 1
    assert "wr0ng" not in str(info.value)
    assert sandbox.request_count() == 1
    assert [c for c in sandbox.emulator.dump()["categories"] if c["id"] != 0] == []
    adapter.close()


def test_an_oauth_app_refreshes_its_token_and_stores_the_pair_before_using_it(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    adapter = make_adapter(oauth_config(sandbox), kv)

    provision(adapter)  # no access token yet: the first call exchanges the configured refresh token
    first = kv.data["bitrix24.oauth_tokens"]
    sandbox.faults.set(FaultPlan(expire_token_at=1))  # the portal now says: expired_token
    list(adapter.changed_since(Entity.LEAD, None))

    second = kv.data["bitrix24.oauth_tokens"]
    assert (
        second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    )
    assert kv.writes.count("bitrix24.oauth_tokens") == 2
    endpoints = [r["endpoint"] for r in sandbox.requests()]
    assert endpoints.count("/oauth/token/") == 2  # one exchange at start, one after the expiry
    adapter.close()


def test_a_restarted_process_uses_the_stored_pair_not_the_spent_refresh_token(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    make_adapter(oauth_config(sandbox), kv).list_users()  # spends the configured refresh token

    again = make_adapter(oauth_config(sandbox), kv)

    assert again.list_users()  # the configured refresh token is single-use; the stored pair works
    assert [r["endpoint"] for r in sandbox.requests()].count("/oauth/token/") == 1
