"""The Bitrix24 adapter: every crm-bridge port over the Bitrix24 REST API (inbound webhook or OAuth).

``plugin.ADAPTER`` is the ``crm_bridge.adapters`` entry point; its ``create`` calls
``create_adapter(settings, ctx)`` here. Modules: ``config`` (the crm.bitrix24 section), ``wire``
(payload models), ``mapping`` (mappings/bitrix24.yaml), ``client`` (batches, waves, operating
budget), ``listing`` (paginator), ``layout`` (funnels, stages, user fields read and written),
``source``/``writes``/``tasks`` (records, writes, tasks), ``transport`` (glue to crm_bridge.http).
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.errors import ConfigError
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.plugin import ADAPTER, limiter_key

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext
    from crm_bridge_bitrix24.adapter import Bitrix24Adapter

# The entry point imports this package to reach ``plugin``: the adapter and its HTTP stack load only
# when ``create_adapter``/``build_adapter`` run or ``Bitrix24Adapter`` is asked for, so commands that only
# read the config (``crm-bridge validate``, ``funnels``, ``--help``) start without them.
_LAZY = {"Bitrix24Adapter": "crm_bridge_bitrix24.adapter"}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADAPTER", "Bitrix24Adapter", "Bitrix24Config", "build_adapter", "create_adapter"]


def build_adapter(
    config: Bitrix24Config,
    ctx: AdapterContext,
    *,
    portal: str = "bitrix24",
    desired: DesiredLayout | None = None,
    curators: dict[str, str] | None = None,
    language: str = "en",
    listing_in_flight: int | None = 12,
    mapping_override: Path | None = None,
) -> Bitrix24Adapter:
    """An adapter from the ``crm.bitrix24`` section alone (tests, benchmarks, scripts).
    ``listing_in_flight``: listing batches fetched at once (memory ~ that x 2,500 records; 12 kept a
    100,000-deal backfill under 40 MiB in benchmarks/bench_bitrix24.py)."""
    from crm_bridge_bitrix24.adapter import Bitrix24Adapter
    from crm_bridge_bitrix24.budget import OperatingBudget
    from crm_bridge_bitrix24.client import Bitrix24Client
    from crm_bridge_bitrix24.mapping import load_mapping
    from crm_bridge_bitrix24.transport import Bitrix24Transport

    mapping = load_mapping(mapping_override)
    budget = OperatingBudget(ledger=ctx.ledger, key=portal)
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
        overlap=timedelta(seconds=config.sync_overlap),
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
    """The adapter for ``settings`` (``crm_bridge.adapters: bitrix24``). Raises ConfigError when
    ``crm.bitrix24`` is missing or its mapping override is bad. A relative ``crm.bitrix24.mapping`` is
    read next to the config file."""
    config = getattr(getattr(settings, "crm", None), "bitrix24", None)
    if not isinstance(config, Bitrix24Config):
        raise ConfigError("crm.bitrix24: the section is missing (webhook_url or oauth)")
    curators = {c.key: c.crm_user_id for c in getattr(settings, "curators", [])}
    adapter = build_adapter(
        config,
        ctx,
        portal=limiter_key(config),
        desired=_desired(settings),
        curators=curators,
        language=str(getattr(settings, "locale", "ru")),
        mapping_override=_beside_config(settings, config.mapping),
    )
    adapter.configure_events(config, getattr(getattr(settings, "events", None), "enabled", False))
    return adapter


def _beside_config(settings: Any, path: Path | None) -> Path | None:
    source = getattr(settings, "source", None)
    if path is None or path.is_absolute() or not isinstance(source, Path):
        return path
    return source.parent / path
