"""A public app's OAuth on the HubSpot emulator: the adapter refreshes before the access token expires
(HubSpot advises refreshing by TTL, not on a 401), stores the new pair before using it, and a second
process sharing the state store uses the stored pair instead of spending the refresh token again."""

from __future__ import annotations

import requests
from hs_support import MemoryKV, config, make_adapter

from crm_bridge.sandbox.server import Sandbox


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _refresh_token(sandbox: Sandbox) -> str:
    oauth = sandbox.config_snippet()["oauth"]
    form = {
        "grant_type": "authorization_code",
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "redirect_uri": oauth["redirect_uri"],
        "code": oauth["authorization_code"],
    }
    return str(requests.post(oauth["token_url"], data=form, timeout=10).json()["refresh_token"])


def test_the_token_is_refreshed_by_its_ttl_stored_and_shared(sandbox: Sandbox, kv: MemoryKV) -> None:
    oauth = sandbox.config_snippet()["oauth"]
    section = {
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": _refresh_token(sandbox),
    }
    clock = Clock(sandbox.clock())
    first = make_adapter(config(sandbox, oauth=section), kv, clock=clock)
    sandbox.log.clear()

    assert first.list_users()
    stored = dict(kv.data["hubspot.oauth_tokens"])
    second = make_adapter(config(sandbox, oauth=section), kv, clock=clock)
    assert second.list_users()
    refreshes_before_expiry = sandbox.counts().get("POST /oauth/v1/token", 0)
    clock.now += 1800  # the access token's expires_in
    sandbox.advance(1800)
    assert second.list_users()

    assert refreshes_before_expiry == 1  # the second process used the stored pair
    assert sandbox.counts()["POST /oauth/v1/token"] == 2
    assert kv.data["hubspot.oauth_tokens"]["access_token"] != stored["access_token"]
    first.close()
    second.close()
