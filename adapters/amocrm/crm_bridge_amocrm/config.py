"""The ``crm.amocrm`` config section (for the adapter to come): the account URL and a long-lived token
or an OAuth block."""

from __future__ import annotations

from pydantic import HttpUrl, SecretStr, model_validator

from crm_bridge.config_crm import HttpConfig, RateLimitConfig, Strict


class AmoCrmOAuth(Strict):
    client_id: SecretStr
    client_secret: SecretStr
    redirect_uri: HttpUrl
    refresh_token: SecretStr | None = None
    authorization_code: SecretStr | None = None


class AmoCrmConfig(Strict):
    """amoCRM / Kommo API v4: ``base_url`` https://<subdomain>.amocrm.ru plus a long-lived
    ``access_token`` or an ``oauth`` block (rotating refresh tokens, persisted before use)."""

    base_url: HttpUrl
    access_token: SecretStr | None = None
    oauth: AmoCrmOAuth | None = None
    rate_limit: RateLimitConfig = RateLimitConfig(burst=7, per_second=7)
    http: HttpConfig = HttpConfig()

    @model_validator(mode="after")
    def _one_auth(self) -> AmoCrmConfig:
        if (self.access_token is None) == (self.oauth is None):
            raise ValueError("set exactly one of access_token or oauth")
        return self
