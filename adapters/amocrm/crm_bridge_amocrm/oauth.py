"""amoCRM OAuth 2.0 (``POST /oauth2/access_token`` on the account's domain): the one-time
authorization code exchanged on the first run, then single-use refresh tokens that rotate.

Both grants run under the state store's cross-process lock, and the pair amoCRM returns is saved in
the store before it is used: a second process (or replica) waits on the lock, then reads the pair the
first one saved instead of spending the old refresh token, which amoCRM would answer by revoking the
integration's grant. ``RefreshingToken`` (crm_bridge.http) does the single-flight refresh; the
code exchange here follows the same pattern.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from crm_bridge.errors import AuthError
from crm_bridge.http import HttpClient, KvTokenStore, RefreshingToken
from crm_bridge.http import TokenPair as StoredPair
from crm_bridge.ports import AdapterContext
from crm_bridge_amocrm.config import AmoCrmConfig
from crm_bridge_amocrm.transport import LOCK_NAME, OAUTH_KEY, TOKENS_KV_KEY, stored_pair

TOKEN_PATH = "oauth2/access_token"  # noqa: S105 (a name, not a secret)


def oauth_token(config: AmoCrmConfig, ctx: AdapterContext, http: HttpClient) -> RefreshingToken:
    oauth = config.oauth
    if oauth is None:
        raise AssertionError("invariant broken: oauth is not None")
    store = KvTokenStore(ctx.kv, TOKENS_KV_KEY)

    def grant(extra: dict[str, Any]) -> StoredPair:
        payload = {
            "client_id": oauth.client_id.get_secret_value(),
            "client_secret": oauth.client_secret.get_secret_value(),
            "redirect_uri": str(oauth.redirect_uri),
            **extra,
        }
        response = http.post(TOKEN_PATH, json=payload)  # not resent blindly: a grant is single-use
        body = response.json()
        if not isinstance(body, dict) or "access_token" not in body:
            raise AuthError("amoCRM's token answer has no access_token", crm="amocrm", config_key=OAUTH_KEY)
        return stored_pair(body, ctx.clock())

    def load() -> StoredPair | None:
        stored = store.load()
        if stored is not None:
            return stored
        if oauth.refresh_token is not None:  # a pair obtained elsewhere: refresh on first use
            return StoredPair("", oauth.refresh_token.get_secret_value(), 0.0)
        if oauth.authorization_code is None:
            return None
        lock = ctx.locks.lock("amocrm-oauth-code") if ctx.locks is not None else nullcontext()
        with lock:
            stored = store.load()  # another process exchanged the code while we waited
            if stored is not None:
                return stored
            code = oauth.authorization_code.get_secret_value()
            pair = grant({"grant_type": "authorization_code", "code": code})
            store.save(pair)
            return pair

    def refresh(pair: StoredPair) -> StoredPair:
        return grant({"grant_type": "refresh_token", "refresh_token": pair.refresh_token})

    return RefreshingToken(
        load=load,
        save=store.save,
        refresh=refresh,
        locks=ctx.locks,
        lock_name=LOCK_NAME,
        clock=ctx.clock,
        config_key=OAUTH_KEY,
    )
