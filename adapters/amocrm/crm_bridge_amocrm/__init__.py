"""The amoCRM (Kommo) adapter: every crm-bridge port over amoCRM API v4 (long-lived token or OAuth 2.0).

``plugin.ADAPTER`` is the ``crm_bridge.adapters`` entry point; its ``create`` calls
``create_adapter(settings, ctx)`` here. Modules: ``config`` (the crm.amocrm section), ``mapping``
(mappings/amocrm.yaml), ``transport``/``oauth`` (glue to crm_bridge.http), ``client`` (array writes,
paged reads), ``layout`` (pipelines, statuses, custom fields read and written), ``source``/``rows``
(records), ``writes``/``tasks`` (leads, deals, companies, tasks). The emulator is ``sandbox``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.errors import ConfigError
from crm_bridge_amocrm.config import AmoCrmConfig
from crm_bridge_amocrm.plugin import ADAPTER

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext
    from crm_bridge_amocrm.adapter import AmoCrmAdapter

# The entry point imports this package to reach ``plugin``: the adapter and its HTTP stack load only
# when ``create_adapter``/``build_adapter`` run or ``AmoCrmAdapter`` is asked for, so commands that only
# read the config (``crm-bridge validate``, ``funnels``, ``--help``) start without them.
_LAZY = {"AmoCrmAdapter": "crm_bridge_amocrm.adapter"}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADAPTER", "AmoCrmAdapter", "AmoCrmConfig", "build_adapter", "create_adapter"]


def build_adapter(
    config: AmoCrmConfig,
    ctx: AdapterContext,
    *,
    desired: DesiredLayout | None = None,
    curators: dict[str, str] | None = None,
    mapping_override: Path | None = None,
    language: str = "en",
) -> AmoCrmAdapter:
    """An adapter from the ``crm.amocrm`` section alone (tests, benchmarks, scripts); ``language``:
    of the lines it returns for people (``subscribe_events``)."""
    from crm_bridge_amocrm.adapter import AmoCrmAdapter
    from crm_bridge_amocrm.client import AmoClient
    from crm_bridge_amocrm.mapping import load_mapping
    from crm_bridge_amocrm.transport import AmoTransport

    mapping = load_mapping(mapping_override)
    transport = AmoTransport(config, ctx)
    client = AmoClient(transport, concurrency=config.max_concurrency)
    rate = config.rate_limit
    note = (
        f"at most {rate.burst} requests in any {rate.burst / rate.per_second:.3g} s, shared by every process "
        "on this state store"
    )
    return AmoCrmAdapter(
        client, mapping, ctx, desired=desired, curators=curators, limits_note=note, language=language
    )


def _desired(settings: Any) -> DesiredLayout | None:
    try:
        funnels = importlib.import_module("crm_bridge.config.funnels")
        builder = funnels.desired_layout_for
    except (ImportError, AttributeError):
        return None
    layout = builder(settings, getattr(settings, "locale", "ru"))
    return layout if isinstance(layout, DesiredLayout) else None


def create_adapter(settings: Any, ctx: AdapterContext) -> AmoCrmAdapter:
    """The adapter for ``settings``. Raises ConfigError when ``crm.amocrm`` is missing or its mapping
    override is bad. A relative ``crm.amocrm.mapping`` is read next to the config file."""
    config = getattr(getattr(settings, "crm", None), "amocrm", None)
    if not isinstance(config, AmoCrmConfig):
        raise ConfigError("crm.amocrm: the section is missing (base_url and access_token or oauth)")
    curators = {c.key: c.crm_user_id for c in getattr(settings, "curators", [])}
    return build_adapter(
        config,
        ctx,
        desired=_desired(settings),
        curators=curators,
        mapping_override=_beside_config(settings, config.mapping),
        language=str(getattr(settings, "locale", "en")),
    )


def _beside_config(settings: Any, path: Path | None) -> Path | None:
    source = getattr(settings, "source", None)
    if path is None or path.is_absolute() or not isinstance(source, Path):
        return path
    return source.parent / path
