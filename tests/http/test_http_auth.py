"""Credentials per request and the single-flight OAuth refresh: refresh once on an expired-token
answer, persist the new pair before using it, never twice across threads or processes."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import responses
from http_fakes import BASE, ManualClock

from crm_bridge.errors import AuthError
from crm_bridge.http import (
    BearerAuth,
    HttpClient,
    HttpPolicy,
    KvTokenStore,
    QueryParamAuth,
    RefreshingToken,
    StaticToken,
    TokenPair,
)
from crm_bridge.store import open_store

URL = f"{BASE}/leads"


class MemoryTokens:
    def __init__(self, pair: TokenPair | None) -> None:
        self.pair = pair
        self.saves: list[TokenPair] = []

    def load(self) -> TokenPair | None:
        return self.pair

    def save(self, pair: TokenPair) -> None:
        self.saves.append(pair)
        self.pair = pair


def counting_refresh(
    new_access: str = "new-access",
) -> tuple[Callable[[TokenPair], TokenPair], list[TokenPair]]:
    calls: list[TokenPair] = []

    def refresh(old: TokenPair) -> TokenPair:
        calls.append(old)
        threading.Event().wait(0.02)  # widen the window in which others could refresh too
        return TokenPair(f"{new_access}-{len(calls)}", f"refresh-{len(calls)}")

    return refresh, calls


def http_with(auth: object, clock: ManualClock | None = None) -> HttpClient:
    clock = clock or ManualClock()
    policy = HttpPolicy(name="amocrm", base_url=BASE, concurrency=8)
    return HttpClient(policy, auth=auth, clock=clock, sleep=clock.sleep, rng=random.Random(3))  # type: ignore[arg-type]


def by_token(
    expired: str = "old-access",
) -> Callable[[requests.PreparedRequest], tuple[int, dict[str, str], str]]:
    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if request.headers.get("Authorization") == f"Bearer {expired}":
            return 401, {}, '{"error": "expired_token"}'
        return 200, {}, '{"ok": true}'

    return answer


@responses.activate
def test_a_static_bearer_token_goes_in_the_authorization_header() -> None:
    responses.add(responses.GET, URL, json={})
    http_with(BearerAuth(StaticToken("long-lived"))).get("/leads")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer long-lived"


@responses.activate
def test_a_query_param_token_goes_in_the_query_string() -> None:
    responses.add(responses.GET, URL, json={})
    http_with(QueryParamAuth(StaticToken("b24-access"))).get("/leads", params={"start": 0})
    assert responses.calls[0].request.url == f"{URL}?start=0&auth=b24-access"


@responses.activate
def test_a_401_with_a_static_token_is_an_auth_error_without_retrying() -> None:
    responses.add(responses.GET, URL, status=401)
    with pytest.raises(AuthError):
        http_with(BearerAuth(StaticToken("revoked"))).get("/leads")
    assert len(responses.calls) == 1


@responses.activate
def test_an_expired_token_is_refreshed_once_and_persisted_before_it_is_used() -> None:
    tokens = MemoryTokens(TokenPair("old-access", "old-refresh"))
    refresh, calls = counting_refresh()
    saved_when_used: list[bool] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if request.headers["Authorization"] == "Bearer old-access":
            return 401, {}, '{"error": "expired_token"}'
        saved_when_used.append(
            tokens.pair is not None
            and f"Bearer {tokens.pair.access_token}" == request.headers["Authorization"]
        )
        return 200, {}, "{}"

    responses.add_callback(responses.POST, URL, callback=answer)
    auth = BearerAuth(RefreshingToken(load=tokens.load, save=tokens.save, refresh=refresh))
    http_with(auth).post("/leads", json={})  # a write: a 401 means nothing ran, so resending is safe
    assert [c.refresh_token for c in calls] == ["old-refresh"]
    assert tokens.saves == [TokenPair("new-access-1", "refresh-1")]
    assert saved_when_used == [True]
    assert len(responses.calls) == 2


@responses.activate
def test_a_second_401_after_refreshing_is_an_auth_error_not_a_loop() -> None:
    responses.add(responses.GET, URL, status=401)
    tokens = MemoryTokens(TokenPair("old-access", "old-refresh"))
    refresh, calls = counting_refresh()
    with pytest.raises(AuthError):
        http_with(BearerAuth(RefreshingToken(load=tokens.load, save=tokens.save, refresh=refresh))).get(
            "/leads"
        )
    assert len(calls) == 1 and len(responses.calls) == 2


@responses.activate
def test_a_401_without_the_expired_token_signature_does_not_refresh() -> None:
    responses.add(responses.GET, URL, status=401, json={"error": "NO_AUTH_FOUND"})
    tokens = MemoryTokens(TokenPair("old-access", "old-refresh"))
    refresh, calls = counting_refresh()
    source = RefreshingToken(
        load=tokens.load,
        save=tokens.save,
        refresh=refresh,
        is_expired=lambda r: r.json().get("error") == "expired_token",
    )
    with pytest.raises(AuthError):
        http_with(BearerAuth(source)).get("/leads")
    assert calls == [] and tokens.saves == []


@responses.activate
def test_threads_hitting_an_expired_token_together_refresh_it_once() -> None:
    responses.add_callback(responses.GET, URL, callback=by_token())
    tokens = MemoryTokens(TokenPair("old-access", "old-refresh"))
    refresh, calls = counting_refresh()
    http = http_with(BearerAuth(RefreshingToken(load=tokens.load, save=tokens.save, refresh=refresh)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: http.get("/leads").status_code, range(16)))
    assert statuses == [200] * 16
    assert len(calls) == 1


@responses.activate
def test_processes_sharing_the_state_store_refresh_once_and_the_second_uses_the_stored_pair(
    tmp_path: Path,
) -> None:
    responses.add_callback(responses.GET, URL, callback=by_token())
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        storage = KvTokenStore(store.kv("adapter:amocrm:example"))
        storage.save(TokenPair("old-access", "old-refresh"))
        refresh, calls = counting_refresh()

        def process() -> HttpClient:  # what each process builds from the same state store
            source = RefreshingToken(load=storage.load, save=storage.save, refresh=refresh, locks=store.locks)
            return http_with(BearerAuth(source))

        daemon, script = process(), process()
        daemon.get("/leads")
        script.get("/leads")  # still holds the old token: its 401 finds the pair the daemon stored
        assert len(calls) == 1
        assert storage.load() == TokenPair("new-access-1", "refresh-1")
        assert [c.request.headers["Authorization"] for c in responses.calls] == [
            "Bearer old-access",
            "Bearer new-access-1",
            "Bearer new-access-1",
        ]
    finally:
        store.close()


@responses.activate
def test_a_token_past_its_expiry_is_refreshed_before_the_request() -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    tokens = MemoryTokens(TokenPair("old-access", "old-refresh", expires_at=clock.now + 30))
    refresh, calls = counting_refresh()
    source = RefreshingToken(load=tokens.load, save=tokens.save, refresh=refresh, clock=clock, leeway=60)
    http_with(BearerAuth(source), clock).get("/leads")
    assert len(calls) == 1
    assert responses.calls[0].request.headers["Authorization"] == "Bearer new-access-1"


def test_no_stored_tokens_is_an_auth_error_naming_the_config_key() -> None:
    refresh, _ = counting_refresh()
    source = RefreshingToken(
        load=lambda: None, save=lambda p: None, refresh=refresh, config_key="crm.amocrm.oauth"
    )
    with pytest.raises(AuthError) as info:
        source.token()
    assert info.value.config_key == "crm.amocrm.oauth"


@responses.activate
def test_a_rejected_refresh_is_an_auth_error_and_nothing_is_saved() -> None:
    responses.add_callback(responses.GET, URL, callback=by_token())
    tokens = MemoryTokens(TokenPair("old-access", "used-elsewhere"))

    def refresh(old: TokenPair) -> TokenPair:
        raise AuthError("the refresh token was revoked: authorise again", config_key="crm.amocrm.oauth")

    with pytest.raises(AuthError, match="authorise again"):
        http_with(BearerAuth(RefreshingToken(load=tokens.load, save=tokens.save, refresh=refresh))).get(
            "/leads"
        )
    assert tokens.saves == []
