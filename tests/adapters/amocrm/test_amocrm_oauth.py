"""amoCRM OAuth 2.0 through the adapter on the sandbox: the grant's exact request, a pair given in the
config refreshed on first use, the refusals of a spent code or a broken token answer in amoCRM's words
(and readable after redaction), and no tokens at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from amo_support import MemoryKV, Sleeps, counts, oauth_config
from pydantic import SecretStr

from crm_bridge.errors import AuthError, CrmError
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig
from crm_bridge_amocrm.transport import TOKENS_KV_KEY

NOW = 1_000_000.0
CLIENT = {
    "client_id": "0c7b9a63-sandbox-integration",
    "client_secret": "sandbox-amocrm-client-secret",
    "redirect_uri": "https://example.com/amocrm/oauth",
}
HINT = (
    "check crm.amocrm.oauth (issue a new authorization_code in the integration's settings if the refresh "
    "token was spent or expired)"
)


def _adapter(config: AmoCrmConfig, kv: MemoryKV, sleeps: Sleeps | None = None) -> AmoCrmAdapter:
    return build_adapter(config, AdapterContext(kv=kv, clock=lambda: NOW, sleep=sleeps or Sleeps()))


def _grants(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [json.loads(e["body"]) for e in sandbox.requests() if e["path"] == "/oauth2/access_token"]


def _auth_failure(adapter: AmoCrmAdapter) -> CrmError:
    with pytest.raises(CrmError) as caught:
        adapter.list_users()
    return caught.value


def test_the_code_grant_request_and_the_stored_pair(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    config = oauth_config(sandbox)

    _adapter(config, kv).list_users()

    code = config.oauth.authorization_code.get_secret_value()  # type: ignore[union-attr]
    assert _grants(sandbox) == [{**CLIENT, "grant_type": "authorization_code", "code": code}]
    pair = kv.get(TOKENS_KV_KEY)
    assert pair["expires_at"] == NOW + 86_400  # expires_in of amoCRM's answer
    assert pair["refresh_token"].startswith("def50200") and pair["access_token"]


def test_a_pair_given_in_the_config_is_refreshed_on_first_use(sandbox: Sandbox) -> None:
    first = MemoryKV()
    _adapter(oauth_config(sandbox), first).list_users()
    refresh = first.get(TOKENS_KV_KEY)["refresh_token"]
    oauth = oauth_config(sandbox).oauth.model_copy(  # type: ignore[union-attr]
        update={"authorization_code": None, "refresh_token": SecretStr(refresh)}
    )
    config = oauth_config(sandbox).model_copy(update={"oauth": oauth})
    sandbox.log.clear()
    kv = MemoryKV()

    users = _adapter(config, kv).list_users()

    assert users
    assert _grants(sandbox) == [{**CLIENT, "grant_type": "refresh_token", "refresh_token": refresh}]
    assert kv.get(TOKENS_KV_KEY)["refresh_token"] not in ("", refresh)  # the new pair is kept


def test_a_spent_code_is_refused_in_amocrms_words_naming_the_config_key(sandbox: Sandbox) -> None:
    _adapter(oauth_config(sandbox), MemoryKV()).list_users()  # the code is spent here
    sandbox.log.clear()

    error = _auth_failure(_adapter(oauth_config(sandbox), MemoryKV()))

    assert type(error) is AuthError
    assert (
        str(error) == f"amoCRM refused the authorization grant (Authorization code has been revoked); {HINT}"
    )
    assert (error.crm, error.status, error.config_key) == ("amocrm", 400, "crm.amocrm.oauth")
    assert counts(sandbox) == {"POST /oauth2/access_token": 1}  # a grant is single-use: never resent


def _answer_grant(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, status: int, body: Any) -> None:
    respond: Callable[[Any], SandboxResponse] = lambda _request: SandboxResponse(status=status, body=body)  # noqa: E731
    monkeypatch.setattr(sandbox.emulator, "handle", respond)


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (401, {"hint": "Client authentication failed", "detail": "ignored"}, "Client authentication failed"),
        (401, {"detail": "Invalid client"}, "Invalid client"),
        (400, {"title": "Bad Request"}, "HTTP 400"),
        (401, [], "HTTP 401"),
    ],
)
def test_a_refused_grant_gives_the_hint_else_the_detail_else_the_status(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, status: int, body: Any, why: str
) -> None:
    _answer_grant(sandbox, monkeypatch, status, body)

    error = _auth_failure(_adapter(oauth_config(sandbox), MemoryKV()))

    assert type(error) is AuthError
    assert str(error) == f"amoCRM refused the authorization grant ({why}); {HINT}"
    assert (error.status, error.config_key) == (status, "crm.amocrm.oauth")


def test_other_failures_of_the_grant_are_translated_as_any_answer(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[402]))

    error = _auth_failure(_adapter(oauth_config(sandbox), MemoryKV()))

    assert str(error) == f"amoCRM: the account 127.0.0.1:{sandbox.port} is not paid (HTTP 402); renew it"


def test_a_token_answer_without_access_token_is_refused(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_grant(sandbox, monkeypatch, 200, {"token_type": "Bearer", "expires_in": 86400})

    error = _auth_failure(_adapter(oauth_config(sandbox), MemoryKV()))

    assert type(error) is AuthError
    assert str(error) == "amoCRM's token answer has no access_token"
    assert (error.crm, error.config_key) == ("amocrm", "crm.amocrm.oauth")


def test_a_grant_refused_with_429_is_resent_twice_at_most(sandbox: Sandbox) -> None:
    sleeps = Sleeps()
    sandbox.faults.set(FaultPlan(sequence=[429, 429, 429]))

    error = _auth_failure(_adapter(oauth_config(sandbox), MemoryKV(), sleeps))

    assert counts(sandbox) == {"POST /oauth2/access_token": 3}
    assert len(sleeps.waits) == 2
    assert str(error).startswith("amocrm-oauth: POST ")


def test_without_a_code_or_a_pair_nothing_is_sent(sandbox: Sandbox) -> None:
    oauth = oauth_config(sandbox).oauth.model_copy(update={"authorization_code": None})  # type: ignore[union-attr]
    config = oauth_config(sandbox).model_copy(update={"oauth": oauth})

    error = _auth_failure(_adapter(config, MemoryKV()))

    assert type(error) is AuthError
    assert sandbox.request_count() == 0
