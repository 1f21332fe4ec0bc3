"""The toolkit's catalog and layout state (crm_bridge.toolkit) with Bitrix24's numeric ids: category ids,
enumeration item ids. STATUS_IDs are the stage codes. Saved in the state store under these keys."""

from __future__ import annotations

from crm_bridge.ports import KeyValueState
from crm_bridge.toolkit.catalog import Catalog as _Catalog
from crm_bridge.toolkit.catalog import FieldInfo as _FieldInfo
from crm_bridge.toolkit.catalog import StageInfo
from crm_bridge.toolkit.layout_state import LayoutState as _LayoutState

CATALOG_KEY = "bitrix24.catalog"
LAYOUT_KEY = "bitrix24.layout"

Catalog = _Catalog[int]
FieldInfo = _FieldInfo[int]
LayoutState = _LayoutState[int]

__all__ = ["Catalog", "FieldInfo", "LayoutState", "StageInfo", "load_catalog", "load_layout_state"]


def load_catalog(kv: KeyValueState) -> Catalog:
    return _Catalog.load(kv, CATALOG_KEY, int)


def load_layout_state(kv: KeyValueState) -> LayoutState:
    return _LayoutState.load(kv, LAYOUT_KEY, int)
