"""The ``crm`` section of the config: which CRM, where it is and how to authenticate.

Kept apart from ``crm_bridge.config`` so adapters can import their own section's model without the
rest of the settings. Secrets are ``SecretStr`` and come from the environment / ``.env`` through
``${VAR}`` interpolation; they are never printed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitConfig(_Strict):
    """Client-side leaky bucket: ``burst`` requests at once, then ``per_second`` sustained."""

    burst: int = Field(gt=0)
    per_second: float = Field(gt=0)


class HttpConfig(_Strict):
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=20)
    max_backoff: float = Field(default=60.0, gt=0)  # seconds, cap of one back-off wait


class Bitrix24OAuth(_Strict):
    """OAuth 2.0 of a local application. ``portal_url`` is https://<portal>/ ; tokens refresh at
    ``token_url`` and the new pair is persisted in the state store before use."""

    portal_url: HttpUrl
    client_id: SecretStr
    client_secret: SecretStr
    refresh_token: SecretStr | None = None  # first refresh token (from the install callback)
    access_token: SecretStr | None = None
    token_url: HttpUrl = HttpUrl("https://oauth.bitrix.info/oauth/token/")


class Bitrix24Config(_Strict):
    """Bitrix24: an inbound webhook URL (https://<portal>/rest/<user_id>/<secret>/) or an ``oauth`` block."""

    webhook_url: SecretStr | None = None
    oauth: Bitrix24OAuth | None = None
    plan: Literal["standard", "enterprise"] = (
        "standard"  # sets the rate-limit defaults (2/s burst 50; 5/s burst 250)
    )
    rate_limit: RateLimitConfig | None = None  # override of the plan's limits
    max_concurrency: int | None = Field(default=None, gt=0, le=250)  # in-flight requests; default = burst
    http: HttpConfig = HttpConfig()

    @model_validator(mode="after")
    def _one_auth(self) -> Bitrix24Config:
        if (self.webhook_url is None) == (self.oauth is None):
            raise ValueError("set exactly one of webhook_url or oauth")
        return self

    def effective_rate_limit(self) -> RateLimitConfig:
        if self.rate_limit is not None:
            return self.rate_limit
        if self.plan == "enterprise":
            return RateLimitConfig(burst=250, per_second=5)
        return RateLimitConfig(burst=50, per_second=2)


class AmoCrmOAuth(_Strict):
    client_id: SecretStr
    client_secret: SecretStr
    redirect_uri: HttpUrl
    refresh_token: SecretStr | None = None
    authorization_code: SecretStr | None = None


class AmoCrmConfig(_Strict):
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


class HubSpotConfig(_Strict):
    """HubSpot CRM v3: a private-app ``access_token``; ``base_url`` overridable for a sandbox/proxy."""

    base_url: HttpUrl = HttpUrl("https://api.hubapi.com")
    access_token: SecretStr
    rate_limit: RateLimitConfig = RateLimitConfig(burst=100, per_second=10)  # 100 per 10 s (private app)
    http: HttpConfig = HttpConfig()


class CrmConfig(_Strict):
    kind: Literal["bitrix24", "amocrm", "hubspot"]
    bitrix24: Bitrix24Config | None = None
    amocrm: AmoCrmConfig | None = None
    hubspot: HubSpotConfig | None = None

    @model_validator(mode="after")
    def _section_for_kind(self) -> CrmConfig:
        if getattr(self, self.kind) is None:
            raise ValueError(f"crm.kind is {self.kind!r} but the crm.{self.kind} section is missing")
        return self
