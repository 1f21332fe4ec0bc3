"""Credentials injected per request: a static token or an OAuth pair refreshed single-flight (one
refresh across threads and processes, the new pair persisted before it is used), placed in a Bearer
header or a query parameter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from crm_bridge.errors import AuthError
from crm_bridge.ports import KeyValueState, LockProvider


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str = ""
    expires_at: float | None = None  # Unix time; None = unknown (refresh on an expired-token answer)

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenPair:
        return cls(str(data["access_token"]), str(data.get("refresh_token") or ""), data.get("expires_at"))


class Auth(Protocol):
    """Adds credentials to one request and, after a 401, decides whether resending can help."""

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> str | None:
        """Put the credential into ``headers``/``params``; return it (to compare after a 401)."""
        ...

    def renew(self, response: requests.Response, used: str | None) -> bool:
        """Called on a 401: True when a fresh credential is ready and the request may be sent once more."""
        ...


class TokenSource(Protocol):
    def token(self) -> str: ...

    def renew(self, response: requests.Response, used: str | None) -> bool: ...


class NoAuth:
    """The credential is in the base URL (Bitrix24 inbound webhook) or not needed."""

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> str | None:
        return None

    def renew(self, response: requests.Response, used: str | None) -> bool:
        return False


class BearerAuth:
    """``Authorization: Bearer <token>`` (amoCRM, HubSpot)."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> str | None:
        token = self.source.token()
        headers["Authorization"] = f"Bearer {token}"
        return token

    def renew(self, response: requests.Response, used: str | None) -> bool:
        return self.source.renew(response, used)


class QueryParamAuth:
    """The token as a query parameter (Bitrix24 OAuth apps: ``?auth=<access_token>``)."""

    def __init__(self, source: TokenSource, param: str = "auth") -> None:
        self.source = source
        self.param = param

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> str | None:
        token = self.source.token()
        params[self.param] = token
        return token

    def renew(self, response: requests.Response, used: str | None) -> bool:
        return self.source.renew(response, used)


class StaticToken:
    """A long-lived token from the config; a 401 means it is wrong or revoked (no renewal)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def renew(self, response: requests.Response, used: str | None) -> bool:
        return False


class KvTokenStore:
    """Keeps a ``TokenPair`` under ``key`` of a state-store namespace (durable on ``save``)."""

    def __init__(self, kv: KeyValueState, key: str = "oauth_tokens") -> None:
        self._kv = kv
        self._key = key

    def load(self) -> TokenPair | None:
        data = self._kv.get(self._key)
        return TokenPair.from_json(data) if data else None

    def save(self, pair: TokenPair) -> None:
        self._kv.set(self._key, pair.to_json())


def any_401(response: requests.Response) -> bool:
    return response.status_code == 401


class RefreshingToken:
    """An OAuth access token that refreshes itself.

    ``load``/``save`` read and persist the pair (``KvTokenStore``); ``refresh(pair)`` exchanges the
    refresh token for a new pair (raising AuthError when the grant is rejected). A refresh happens when
    the pair is within ``leeway`` seconds of ``expires_at`` or an answer matches ``is_expired`` (the
    CRM's expired-token signature, e.g. Bitrix24 ``expired_token``). It runs under a thread lock and the
    cross-process ``locks`` lock ``lock_name``; inside, the stored pair is read again, so whoever
    comes second uses the pair the first one stored instead of spending the (single-use) refresh token
    again. The new pair is saved before it is used."""

    def __init__(
        self,
        *,
        load: Callable[[], TokenPair | None],
        save: Callable[[TokenPair], None],
        refresh: Callable[[TokenPair], TokenPair],
        locks: LockProvider | None = None,
        lock_name: str = "oauth-refresh",
        is_expired: Callable[[requests.Response], bool] = any_401,
        clock: Callable[[], float] = time.time,
        leeway: float = 60.0,
        config_key: str = "",
    ) -> None:
        self._load = load
        self._save = save
        self._refresh = refresh
        self._locks = locks
        self._lock_name = lock_name
        self._is_expired = is_expired
        self._clock = clock
        self._leeway = leeway
        self._config_key = config_key
        self._pair: TokenPair | None = None
        self._mutex = threading.Lock()
        self.refreshes = 0  # how many times this process exchanged a refresh token

    def token(self) -> str:
        pair = self._pair or self._stored()
        if pair.expires_at is not None and self._clock() >= pair.expires_at - self._leeway:
            self._renew(pair.access_token)
            pair = self._pair or pair
        return pair.access_token

    def renew(self, response: requests.Response, used: str | None) -> bool:
        if not self._is_expired(response):
            return False
        self._renew(used)
        return True

    def _stored(self) -> TokenPair:
        pair = self._load()
        if pair is None:
            raise AuthError(
                "no OAuth tokens are stored for this CRM: authorise crm-bridge first",
                config_key=self._config_key,
            )
        self._pair = pair
        return pair

    def _renew(self, failed: str | None) -> None:
        cross_process = self._locks.lock(self._lock_name) if self._locks is not None else nullcontext()
        with self._mutex, cross_process:
            current = self._stored()
            still_fresh = current.expires_at is None or self._clock() < current.expires_at - self._leeway
            if current.access_token != failed and still_fresh:
                return  # another thread or process refreshed while we waited: use its pair
            if not current.refresh_token:
                raise AuthError(
                    "the access token expired and there is no refresh token", config_key=self._config_key
                )
            new = self._refresh(current)
            self._save(new)  # persisted before first use: a crash now cannot lose the new refresh token
            self._pair = new
            self.refreshes += 1
