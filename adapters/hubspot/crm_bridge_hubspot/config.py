"""The ``crm.hubspot`` config section: a private-app token or a public app's OAuth, the account's
tier (which sets the rate budgets and the deal-pipeline allowance), budgets overridable one by one,
an optional mapping override and HTTP timeouts."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from crm_bridge.capabilities import Capabilities
from crm_bridge.config.crm import HttpConfig, Strict, url_default, validated_default

Tier = Literal["free", "starter", "professional", "enterprise"]
# HubSpot's published private-app limits (changelog "increasing our API limits", 2024): requests per
# 10-second rolling window and per day; deal pipelines per account by Sales Hub tier.
TIER_WINDOW = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
TIER_DAILY = {"free": 250_000, "starter": 250_000, "professional": 650_000, "enterprise": 1_000_000}
TIER_PIPELINES = {"free": 1, "starter": 2, "professional": 15, "enterprise": 100}
SEARCH_PER_SECOND = 5  # the search endpoints' own limit, per account


class HubSpotOAuth(Strict):
    """A public app's OAuth: the pair is refreshed at ``token_url`` before it expires (single-flight
    across processes) and persisted in the state store before use."""

    client_id: SecretStr
    client_secret: SecretStr
    refresh_token: SecretStr
    token_url: HttpUrl | None = None  # default: <base_url>/oauth/v1/token


@dataclass(frozen=True)
class Budgets:
    per_ten_seconds: int
    search_per_second: int
    daily: int
    daily_reserve: int  # scheduled work pauses when fewer requests than this are left today
    pipelines: int


class HubSpotConfig(Strict):
    """HubSpot CRM v3: a private-app ``access_token`` or an ``oauth`` block; ``base_url`` overridable
    for a sandbox or proxy."""

    base_url: HttpUrl = url_default("https://api.hubapi.com")
    access_token: SecretStr | None = None
    oauth: HubSpotOAuth | None = None
    tier: Tier = "starter"
    per_ten_seconds: int | None = Field(default=None, gt=1)  # default: by tier (100 or 190)
    search_per_second: int = Field(default=SEARCH_PER_SECOND, gt=0)
    daily_limit: int | None = Field(default=None, gt=0)  # default: by tier
    daily_reserve: float = Field(default=0.05, ge=0, lt=1)  # share of the daily quota kept back
    max_pipelines: int | None = Field(default=None, gt=0)  # default: by tier
    max_concurrency: int = Field(default=4, gt=0, le=32)
    # A YAML file merged over the shipped mappings/hubspot.yaml (relative to the config file).
    mapping: Path | None = None
    http: HttpConfig = validated_default()
    # Webhooks v3 (events.enabled): the app's client secret signs each delivery (default: oauth's);
    # portal_id is the account's Hub ID: events of any other account are refused (403).
    webhook_secret: SecretStr | None = None
    portal_id: int | None = Field(default=None, gt=0)

    def events_secret(self) -> str | None:
        secret = self.webhook_secret or (self.oauth.client_secret if self.oauth else None)
        return secret.get_secret_value() if secret else None

    @model_validator(mode="after")
    def _one_auth(self) -> "HubSpotConfig":
        if (self.access_token is None) == (self.oauth is None):
            raise ValueError("set exactly one of access_token or oauth")
        return self

    def budgets(self) -> Budgets:
        daily = self.daily_limit or TIER_DAILY[self.tier]
        return Budgets(
            per_ten_seconds=self.per_ten_seconds or TIER_WINDOW[self.tier],
            search_per_second=self.search_per_second,
            daily=daily,
            daily_reserve=int(daily * self.daily_reserve),
            pipelines=self.max_pipelines or TIER_PIPELINES[self.tier],
        )


# What the CRM lets the services do at once (AdapterSpec.capabilities), carried by the adapter too
# (``HubSpotAdapter.capabilities``): batch inputs of 100; pipeline stages have no colours.
CAPABILITIES = Capabilities(write_batch=100, stage_colours="none")
