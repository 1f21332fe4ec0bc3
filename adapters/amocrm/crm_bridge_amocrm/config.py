"""The ``crm.amocrm`` config section: the account URL (``https://<subdomain>.amocrm.ru``,
``https://<subdomain>.kommo.com`` or any proxy/sandbox URL), a long-lived token or an OAuth block, the
rate limit (amoCRM: at most 7 requests per second per integration), an optional mapping override."""

from pathlib import Path

from pydantic import Field, HttpUrl, SecretStr, model_validator

from crm_bridge.config.crm import HttpConfig, RateLimitConfig, Strict, validated_default
from crm_bridge.plugin import Capabilities

# amoCRM's fixed status colour palette (the colours its pipeline editor offers; any other is refused).
PALETTE = (
    "#fffeb2", "#fffd7f", "#fff000", "#ffeab2", "#ffdc7f", "#ffce5a", "#ffdbdb", "#ffc8c8", "#ff8f92",
    "#d6eaff", "#c1e0ff", "#98cbff", "#ebffb1", "#deff81", "#87f2c0", "#f9deff", "#f3beff", "#ccc8f9",
    "#eb93ff", "#f2f3f4", "#e6e8ea",
)  # fmt: skip

# 250 items per add/update array; statuses take only the palette's colours; the won (142) and lost
# (143) statuses keep amoCRM's own colours. Declared in the AdapterSpec and carried by the adapter
# (``AmoCrmAdapter.capabilities``), where the services read the batch size.
CAPABILITIES = Capabilities(
    write_batch=250,
    stage_colours="palette",
    palette=PALETTE,
    end_colours=("#ccff66", "#d5d8db"),
    money_places=0,  # a lead's price is a whole number: intake refuses kopecks rather than rounding
)


class AmoCrmOAuth(Strict):
    """An external/private integration's OAuth 2.0. ``authorization_code`` (valid 20 minutes) is
    exchanged on the first run; the pair amoCRM returns is kept in the state store, and each refresh
    (the refresh token works once) is persisted before the new access token is used."""

    client_id: SecretStr
    client_secret: SecretStr
    redirect_uri: HttpUrl
    authorization_code: SecretStr | None = None
    refresh_token: SecretStr | None = None  # when the pair was obtained elsewhere


class AmoCrmConfig(Strict):
    """amoCRM / Kommo API v4: ``base_url`` plus a long-lived ``access_token`` or an ``oauth`` block."""

    base_url: HttpUrl
    access_token: SecretStr | None = None
    oauth: AmoCrmOAuth | None = None
    # amoCRM allows 7 requests a second, counted when they arrive (Kommo "Limitations"): read here as
    # a rolling window, at most ``burst`` requests in any ``burst / per_second`` seconds. 7 in any
    # 7/6.7 = 1.045 s: an idle client sends 7 at once, a busy one 6.7 a second, and 8 requests leave at
    # least 1.045 s apart (45 ms for jitter between leaving here and arriving there; 29 ms drew a 429
    # now and then on a loaded host, see benchmarks/bench_amocrm.py). ``burst: 1`` paces one request
    # every 1/per_second s, never two at once (the pace before the window, 6.6 a second).
    rate_limit: RateLimitConfig = validated_default(burst=7, per_second=6.7)
    max_concurrency: int = Field(default=4, gt=0, le=16)  # requests in flight at once
    # A YAML file merged over the shipped mappings/amocrm.yaml (relative to the config file).
    mapping: Path | None = None
    http: HttpConfig = validated_default()

    @model_validator(mode="after")
    def _one_auth(self) -> "AmoCrmConfig":
        if (self.access_token is None) == (self.oauth is None):
            raise ValueError("set exactly one of access_token or oauth")
        return self
