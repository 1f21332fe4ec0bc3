"""The translation tables records need (the toolkit's ``Catalog`` with amoCRM's integer ids), kept in
the state store under ``amocrm.catalog``.

Statuses 142/143 have the same id in every pipeline, so a stage's code is ``"<pipeline id>:<status
id>"``; a field's code is its id (``"900004"``); option ids are the enum ids."""

from __future__ import annotations

from typing import Any

from crm_bridge.domain.layout import ObservedLayout
from crm_bridge.ports import KeyValueState
from crm_bridge.toolkit.catalog import Catalog, FieldInfo, StageInfo

KV_KEY = "amocrm.catalog"
AmoCatalog = Catalog[int]

__all__ = [
    "KV_KEY",
    "AmoCatalog",
    "FieldInfo",
    "StageInfo",
    "build",
    "field_id",
    "load",
    "stage_ref",
    "status_of",
]


def stage_ref(pipeline_id: Any, status_id: Any) -> str:
    return f"{pipeline_id}:{status_id}"


def status_of(code: str) -> tuple[int, int]:
    """(pipeline id, status id) of a stage code."""
    pipeline, _, status = code.partition(":")
    return int(pipeline), int(status)


def field_id(info: FieldInfo[int]) -> int:
    return int(info.code)


def build(observed: ObservedLayout) -> AmoCatalog:
    return Catalog.build(observed, int)


def load(kv: KeyValueState) -> AmoCatalog:
    return Catalog.load(kv, KV_KEY, int)
