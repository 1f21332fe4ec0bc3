"""The ``crm.hubspot`` config section (for the adapter to come): a private-app token and the API base URL."""

from __future__ import annotations

from pydantic import HttpUrl, SecretStr

from crm_bridge.config_crm import HttpConfig, RateLimitConfig, Strict


class HubSpotConfig(Strict):
    """HubSpot CRM v3: a private-app ``access_token``; ``base_url`` overridable for a sandbox/proxy."""

    base_url: HttpUrl = HttpUrl("https://api.hubapi.com")
    access_token: SecretStr
    rate_limit: RateLimitConfig = RateLimitConfig(burst=100, per_second=10)  # 100 per 10 s (private app)
    http: HttpConfig = HttpConfig()
