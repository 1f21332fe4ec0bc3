"""The HubSpot adapter: every crm-bridge port over HubSpot CRM v3 (private-app token or OAuth).

``plugin.ADAPTER`` is the ``crm_bridge.adapters`` entry point; its ``create`` calls
``create_adapter(settings, ctx)`` here. Modules: ``config`` (the crm.hubspot section), ``mapping``
(mappings/hubspot.yaml), ``transport`` (glue to crm_bridge.http: budgets, errors, OAuth), ``batch``
(100-input batches, 207 answers), ``layout`` (pipelines, stages, properties read and written),
``source``/``writes``/``tasks`` (records, writes, tasks), ``doctor``; the emulator is ``sandbox``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.errors import ConfigError
from crm_bridge_hubspot.config import HubSpotConfig
from crm_bridge_hubspot.plugin import ADAPTER, limiter_key

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext
    from crm_bridge_hubspot.adapter import HubSpotAdapter

# The entry point imports this package to reach ``plugin``: the adapter and its HTTP stack load only
# when ``create_adapter``/``build_adapter`` run or ``HubSpotAdapter`` is asked for, so commands that only
# read the config (``crm-bridge validate``, ``funnels``, ``--help``) start without them.
_LAZY = {"HubSpotAdapter": "crm_bridge_hubspot.adapter"}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADAPTER", "HubSpotAdapter", "HubSpotConfig", "build_adapter", "create_adapter"]


def build_adapter(
    config: HubSpotConfig,
    ctx: AdapterContext,
    *,
    desired: DesiredLayout | None = None,
    curators: dict[str, str] | None = None,
    mapping_override: Path | None = None,
) -> HubSpotAdapter:
    """An adapter from the ``crm.hubspot`` section alone (tests, benchmarks, scripts)."""
    from crm_bridge_hubspot.adapter import HubSpotAdapter
    from crm_bridge_hubspot.mapping import load_mapping
    from crm_bridge_hubspot.transport import HubSpotTransport

    mapping = load_mapping(mapping_override)
    transport = HubSpotTransport(config, ctx, limiter_key(config))
    b = transport.budgets
    note = f"{config.tier}: {b.per_ten_seconds} requests per 10 s, {b.search_per_second} searches/s"
    return HubSpotAdapter(transport, mapping, ctx, desired=desired, curators=curators, limits_note=note)


def _desired(settings: Any) -> DesiredLayout | None:
    """The configured layout (``crm_bridge.config.funnels.desired_layout_for``) when it can be built."""
    try:
        builder = importlib.import_module("crm_bridge.config.funnels").desired_layout_for
    except (ImportError, AttributeError):
        return None
    layout: DesiredLayout = builder(settings)  # in the settings' own language
    return layout


def create_adapter(settings: Any, ctx: AdapterContext) -> HubSpotAdapter:
    """The adapter for ``settings`` (``crm_bridge.adapters: hubspot``). A relative
    ``crm.hubspot.mapping`` is read next to the config file."""
    config = getattr(getattr(settings, "crm", None), "hubspot", None)
    if not isinstance(config, HubSpotConfig):
        raise ConfigError("crm.hubspot: the section is missing (access_token or oauth)")
    curators = {c.key: c.crm_user_id for c in getattr(settings, "curators", [])}
    override = config.mapping
    source = getattr(settings, "source", None)
    if override is not None and not override.is_absolute() and isinstance(source, Path):
        override = source.parent / override
    adapter = build_adapter(
        config, ctx, desired=_desired(settings), curators=curators, mapping_override=override
    )
    secret = config.events_secret()
    if secret is not None:
        from crm_bridge_hubspot.events import HubSpotEvents

        adapter.events = HubSpotEvents(secret, config.portal_id)
    return adapter
