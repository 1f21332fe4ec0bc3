"""The OAuth token exchange of a local application (transport.py): what a refused or broken exchange
tells the admin, how the token server's waits are spent (on the injected clock and sleep), that the
exchange is counted like every request, and that it runs under the portal's cross-process lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from typing import Any

import pytest
import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import OAUTH, REST, TIME

from crm_bridge.errors import AuthError, CrmRetriableError
from crm_bridge.ports import AdapterContext
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

NOW = 1724916859.0
TOKEN_URL = OAUTH["token_url"]
WITHOUT_ACCESS = {k: v for k, v in OAUTH.items() if k != "access_token"}  # the first call exchanges
HINT = (
    "; check crm.bitrix24.oauth.refresh_token and crm.bitrix24.oauth.client_id/client_secret "
    "(authorise the application again if the refresh token expired)"
)


class Locks:
    """A LockProvider that records the names it was asked for."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        self.taken.append(name)
        yield


def _oauth_adapter(oauth: dict[str, Any] = WITHOUT_ACCESS, **ctx: Any) -> Bitrix24Adapter:
    ctx.setdefault("kv", MemoryKV())
    ctx.setdefault("sleep", Sleeps())
    return build_adapter(Bitrix24Config(oauth=oauth), AdapterContext(clock=lambda: NOW, **ctx))


@responses.activate
def test_a_refused_grant_names_the_reason_and_what_to_check_once() -> None:
    responses.get(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": ""})

    with pytest.raises(AuthError) as info:
        _oauth_adapter().client.call("scope")

    assert str(info.value) == (
        "Bitrix24 refused to refresh the OAuth token: Bitrix24: the refresh token is expired or revoked: "
        "authorize the app again [invalid_grant]" + HINT
    )
    assert info.value.config_key == "crm.bitrix24.oauth.refresh_token"
    assert len(responses.calls) == 1  # nothing sent to the portal


@responses.activate
def test_a_token_server_answering_a_page_not_json_is_named_by_its_status() -> None:
    responses.get(TOKEN_URL, status=400, body="<html>Bad request</html>", content_type="text/html")

    with pytest.raises(AuthError) as info:
        _oauth_adapter().client.call("scope")

    assert str(info.value) == (
        "Bitrix24 refused to refresh the OAuth token: bitrix24-oauth: GET "
        "https://oauth.bitrix.info/oauth/token/ answered HTTP 400" + HINT
    )


@responses.activate
def test_a_busy_token_server_is_waited_out_on_the_injected_clock_and_sleep() -> None:
    sleeps = Sleeps()
    later = formatdate(NOW + 2, usegmt=True)  # an HTTP date 2 s after the adapter's clock
    responses.get(
        TOKEN_URL, status=503, json={"error": "temporarily_unavailable"}, headers={"Retry-After": later}
    )
    responses.get(TOKEN_URL, json={"access_token": "a2", "refresh_token": "r2"})
    responses.post(REST + "scope", json={"result": ["crm"], "time": TIME})

    assert _oauth_adapter(sleep=sleeps).client.call("scope").result == ["crm"]

    assert sleeps.waits == [2.0]
    assert [c.request.method for c in responses.calls] == ["GET", "GET", "POST"]


@responses.activate
def test_a_token_server_that_stays_busy_is_an_outage_to_wait_out_not_bad_credentials() -> None:
    responses.get(
        TOKEN_URL, status=503, json={"error": "temporarily_unavailable"}, headers={"Retry-After": "3"}
    )

    with pytest.raises(CrmRetriableError) as info:
        _oauth_adapter().client.call("scope")

    assert not isinstance(info.value, AuthError)  # nothing to fix in the config: the run is tried again
    assert info.value.crm == "bitrix24" and info.value.retry_after == 3.0
    assert str(info.value) == (
        "Bitrix24's OAuth server could not refresh the token now: Bitrix24: service unavailable / rate "
        "limited [temporarily_unavailable] (gave up after 3 attempts)"
    )


@responses.activate
def test_the_exchange_is_reported_to_the_request_observer_under_its_own_name() -> None:
    seen: list[tuple[str, str, int]] = []
    responses.get(TOKEN_URL, json={"access_token": "a2", "refresh_token": "r2"})
    responses.post(REST + "scope", json={"result": ["crm"], "time": TIME})

    _oauth_adapter(on_request=lambda crm, what, status: seen.append((crm, what, status))).client.call("scope")

    assert seen == [
        ("bitrix24-oauth", "GET https://oauth.bitrix.info/oauth/token/", 200),
        ("bitrix24", "POST scope", 200),
    ]


@responses.activate
def test_the_refresh_runs_under_the_portals_cross_process_lock() -> None:
    locks = Locks()
    responses.get(TOKEN_URL, json={"access_token": "a2", "refresh_token": "r2"})
    responses.post(REST + "scope", json={"result": ["crm"], "time": TIME})

    _oauth_adapter(locks=locks).client.call("scope")

    assert locks.taken == ["bitrix24-oauth-refresh"]


@responses.activate
def test_an_install_with_neither_a_stored_pair_nor_a_refresh_token_names_the_key_to_fix() -> None:
    oauth = {k: v for k, v in OAUTH.items() if k != "refresh_token"}

    with pytest.raises(AuthError) as info:
        _oauth_adapter(oauth).client.call("scope")

    assert str(info.value) == "no OAuth tokens are stored for this CRM: authorise crm-bridge first"
    assert info.value.config_key == "crm.bitrix24.oauth.refresh_token"
    assert len(responses.calls) == 0
