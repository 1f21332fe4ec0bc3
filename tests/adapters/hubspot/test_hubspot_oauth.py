"""A public app's OAuth on the HubSpot emulator: the adapter refreshes before the access token expires
(HubSpot advises refreshing by TTL, not on a 401), stores the new pair before using it, and a second
process sharing the state store uses the stored pair instead of spending the refresh token again;
several at once at the expiry refresh once (single-flight through the store's named lock)."""

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


def test_six_processes_at_the_expiry_refresh_once_through_the_state_store(
    sandbox: Sandbox, store_url: str
) -> None:
    """Six adapters (as six processes would: each its own token holder, sharing only the state store's
    kv and named locks) call at once just as the access token expires: one refresh, one new pair."""
    from concurrent.futures import ThreadPoolExecutor

    from hs_support import DESIRED

    from crm_bridge.ports import AdapterContext
    from crm_bridge.store import open_store
    from crm_bridge_hubspot import build_adapter

    oauth = sandbox.config_snippet()["oauth"]
    section = {
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": _refresh_token(sandbox),
    }
    clock = Clock(sandbox.clock())
    store = open_store(store_url)
    try:

        def adapter() -> object:
            ctx = AdapterContext(
                kv=store.kv("adapter:hs"), locks=store.locks, bucket=store.bucket, clock=clock
            )
            return build_adapter(config(sandbox, oauth=section), ctx, desired=DESIRED)

        adapters = [adapter() for _ in range(6)]
        adapters[0].list_users()  # type: ignore[attr-defined]  # the first pair
        clock.now += 1800
        sandbox.advance(1800)
        sandbox.log.clear()
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda a: a.list_users(), adapters))  # type: ignore[attr-defined]
        pair = store.kv("adapter:hs").get("hubspot.oauth_tokens")
        for made in adapters:
            made.close()  # type: ignore[attr-defined]
    finally:
        store.close()

    assert all(answers) and sandbox.counts().get("POST /oauth/v1/token", 0) == 1
    tokens = {r["status"] for r in sandbox.requests() if r["path"] == "/crm/v3/owners"}
    assert tokens == {200} and pair is not None and pair["access_token"]
