"""The ``crm.bitrix24`` config section: an inbound webhook or a local application's OAuth, the plan
(which sets the rate-limit defaults), an optional mapping override, HTTP timeouts; and the adapter's
capabilities."""

from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from crm_bridge.config.crm import HttpConfig, RateLimitConfig, Strict, url_default, validated_default
from crm_bridge.plugin import Capabilities

# 50 commands per batch call (batch.md); any #RRGGBB stage colour. Declared in the AdapterSpec and
# carried by the adapter (``Bitrix24Adapter.capabilities``), where the services read the batch size.
CAPABILITIES = Capabilities(write_batch=50, stage_colours="any")


class Bitrix24OAuth(Strict):
    """OAuth 2.0 of a local application. ``portal_url`` is https://<portal>/ ; tokens refresh at
    ``token_url`` and the new pair is persisted in the state store before use."""

    portal_url: HttpUrl
    client_id: SecretStr
    client_secret: SecretStr
    refresh_token: SecretStr | None = None  # first refresh token (from the install callback)
    access_token: SecretStr | None = None
    token_url: HttpUrl = url_default("https://oauth.bitrix.info/oauth/token/")


class Bitrix24Config(Strict):
    """Bitrix24: an inbound webhook URL (https://<portal>/rest/<user_id>/<secret>/) or an ``oauth`` block."""

    webhook_url: SecretStr | None = None
    oauth: Bitrix24OAuth | None = None
    plan: Literal["standard", "enterprise"] = (
        "standard"  # sets the rate-limit defaults (2/s burst 50; 5/s burst 250)
    )
    rate_limit: RateLimitConfig | None = None  # override of the plan's limits
    max_concurrency: int | None = Field(default=None, gt=0, le=250)  # in-flight requests; default = burst
    # A YAML file merged over the shipped mappings/bitrix24.yaml (relative to the config file), e.g.
    # to reuse the portal's own UF_CRM_PARTNER_LEVEL as the tier field.
    mapping: Path | None = None
    http: HttpConfig = validated_default()
    # Seconds an incremental sync reads again before its cursor (the portal's clock): a write the
    # portal stamped in the cursor's second but committed after the listing read it is not missed.
    sync_overlap: float = Field(default=5.0, ge=0, le=3600)
    # Real-time events (events.enabled): ``auto`` = offline events for an ``oauth`` install (no public
    # endpoint needed), the portal's outgoing webhook for a ``webhook_url`` install when
    # ``application_token`` is set (the token the portal shows for that outgoing webhook), else polling.
    events: Literal["auto", "offline", "outgoing_webhook", "polling"] = "auto"
    application_token: SecretStr | None = None

    def portal_host(self) -> str:
        """The portal's host name (what its events carry as ``auth[domain]``)."""
        from urllib.parse import urlsplit

        url = (
            str(self.oauth.portal_url)
            if self.oauth
            else (self.webhook_url or SecretStr("")).get_secret_value()
        )
        return urlsplit(url).hostname or ""

    def event_mode(self) -> str:
        """offline | outgoing_webhook | polling, as ``events`` resolves for this connection."""
        if self.events != "auto":
            return self.events
        if self.oauth is not None:
            return "offline"
        return "outgoing_webhook" if self.application_token is not None else "polling"

    @model_validator(mode="after")
    def _one_auth(self) -> "Bitrix24Config":
        if (self.webhook_url is None) == (self.oauth is None):
            raise ValueError("set exactly one of webhook_url or oauth")
        if self.events == "offline" and self.oauth is None:
            raise ValueError("events: offline events need an oauth (local application) install")
        if self.events == "outgoing_webhook" and self.application_token is None:
            raise ValueError("events: outgoing_webhook needs application_token")
        if self.application_token is not None and not self.application_token.get_secret_value():
            # an empty token would match every post that carries none: anyone could send us events
            raise ValueError(
                "application_token is empty: set the portal's outgoing-webhook token or remove it"
            )
        return self

    def effective_rate_limit(self) -> RateLimitConfig:
        if self.rate_limit is not None:
            return self.rate_limit
        if self.plan == "enterprise":
            return RateLimitConfig(burst=250, per_second=5)
        return RateLimitConfig(burst=50, per_second=2)
