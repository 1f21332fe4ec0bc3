"""The Bitrix24 adapter: every crm-bridge port over the Bitrix24 REST API (inbound webhook or OAuth).

``create_adapter(settings, ctx)`` is the ``crm_bridge.adapters`` entry point. Modules: ``wire``
(payload models), ``mapping`` (mappings/bitrix24.yaml), ``client`` (batches, waves, operating
budget), ``listing`` (paginator), ``observe``/``apply``/``stages`` (funnels, stages, user fields),
``source``/``writes``/``tasks`` (records, writes, tasks), ``transport`` (glue to crm_bridge.http).
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from crm_bridge.adapters.bitrix24.adapter import Bitrix24Adapter
from crm_bridge.adapters.bitrix24.budget import OperatingBudget
from crm_bridge.adapters.bitrix24.client import Bitrix24Client
from crm_bridge.adapters.bitrix24.mapping import load_mapping
from crm_bridge.adapters.bitrix24.transport import Bitrix24Transport
from crm_bridge.config_crm import Bitrix24Config
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.errors import ConfigError
from crm_bridge.ports import AdapterContext

__all__ = ["Bitrix24Adapter", "build_adapter", "create_adapter"]


def build_adapter(
    config: Bitrix24Config,
    ctx: AdapterContext,
    *,
    portal: str = "bitrix24",
    desired: DesiredLayout | None = None,
    curators: dict[str, str] | None = None,
    language: str = "en",
    listing_in_flight: int | None = 8,
) -> Bitrix24Adapter:
    """An adapter from the ``crm.bitrix24`` section alone (tests, benchmarks, scripts).
    ``listing_in_flight``: listing batches fetched at once (memory ~ that x 2,500 rows)."""
    mapping = load_mapping()
    budget = OperatingBudget()
    transport = Bitrix24Transport(config, ctx, budget, portal)
    rate = config.effective_rate_limit()
    client = Bitrix24Client(
        transport,
        budget=budget,
        concurrency=config.max_concurrency or rate.burst,
        clock=ctx.clock,
        sleep=ctx.sleep,
    )
    note = f"{config.plan} plan: {rate.per_second:g} requests/s, burst {rate.burst}"
    return Bitrix24Adapter(
        client,
        mapping,
        ctx,
        desired=desired,
        curators=curators,
        limits_note=note,
        transport=transport,
        language=language,
        listing_in_flight=listing_in_flight,
    )


def _desired(settings: Any) -> DesiredLayout | None:
    """The configured layout (``crm_bridge.config.funnels.desired_layout_for``) when it can be built;
    used to recognise our funnels on a first run and by ``doctor``. None: rely on the state store."""
    try:
        funnels = importlib.import_module("crm_bridge.config.funnels")
        builder = funnels.desired_layout_for
    except (ImportError, AttributeError):
        return None
    layout = builder(settings, getattr(settings, "locale", "ru"))
    return layout if isinstance(layout, DesiredLayout) else None


def create_adapter(settings: Any, ctx: AdapterContext) -> Bitrix24Adapter:
    """Entry point ``crm_bridge.adapters: bitrix24``. Raises ConfigError when ``crm.bitrix24`` is missing."""
    config = getattr(getattr(settings, "crm", None), "bitrix24", None)
    if not isinstance(config, Bitrix24Config):
        raise ConfigError("crm.bitrix24: the section is missing (webhook_url or oauth)")
    curators = {c.key: c.crm_user_id for c in getattr(settings, "curators", [])}
    return build_adapter(
        config,
        ctx,
        portal=_portal(config),
        desired=_desired(settings),
        curators=curators,
        language=str(getattr(settings, "locale", "ru")),
    )


def _portal(config: Bitrix24Config) -> str:
    """The limiter key shared by every process talking to this portal: ``bitrix24:<host>`` (no secret)."""
    url = (
        str(config.oauth.portal_url)
        if config.oauth
        else (config.webhook_url or SecretStr("")).get_secret_value()
    )
    parts = urlsplit(url)
    return f"bitrix24:{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
