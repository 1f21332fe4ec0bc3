"""Recognising crm-bridge's own layout in a CRM on a first run (or after the state store was lost):
funnels and stages carry the configured names, fields the code from the mapping or the marker
crm-bridge gives the fields it creates. The same rules for every CRM, so every adapter re-finds its
funnels instead of creating them twice."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

from crm_bridge.domain.layout import DesiredLayout, FieldEntity
from crm_bridge.domain.model import StageKind

IdT = TypeVar("IdT", bound=Hashable)

MARKER_PREFIX = "crm_bridge."


def marker_for(key: str) -> str:
    """The marker a created field carries (an external/XML id or a name prefix): ``crm_bridge.<key>``."""
    return MARKER_PREFIX + key


def key_from_marker(marker: str | None) -> str | None:
    """The field key in a marker written by ``marker_for``; None for anything else."""
    if marker and marker.startswith(MARKER_PREFIX) and len(marker) > len(MARKER_PREFIX):
        return marker[len(MARKER_PREFIX) :]
    return None


def funnels_by_name(
    desired: DesiredLayout | None, known: Mapping[str, IdT], candidates: Iterable[tuple[IdT, str]]
) -> dict[str, IdT]:
    """Funnel key -> id for configured funnels not ``known`` yet whose configured name a CRM funnel
    carries (the first such funnel; ids already known are never taken twice)."""
    if desired is None:
        return {}
    wanted = {f.name: f.key for f in desired.funnels if f.key not in known}
    taken = set(known.values())
    found: dict[str, IdT] = {}
    for funnel_id, name in candidates:
        key = wanted.get(name)
        if key is not None and key not in found and funnel_id not in taken:
            found[key] = funnel_id
            taken.add(funnel_id)
    return found


def stage_key_by_name(
    desired: DesiredLayout | None, funnel_key: str, taken: Iterable[str], name: str, kind: StageKind
) -> str | None:
    """The configured stage of ``funnel_key`` with this name and kind, not already matched."""
    if desired is None:
        return None
    funnel = next((f for f in desired.funnels if f.key == funnel_key), None)
    if funnel is None:
        return None
    used = set(taken)
    for stage in funnel.stages:
        if stage.key not in used and stage.name == name and stage.kind is kind:
            return stage.key
    return None


def field_key(
    desired: DesiredLayout | None,
    entity: FieldEntity,
    *,
    mapped_key: str | None,
    marker: str | None,
    default_keys: Iterable[str] = (),
) -> str | None:
    """The domain key of a CRM field: the mapping's (its code is named there), else the key in our
    marker when that field is wanted on ``entity`` — in the configured layout, or without one among
    ``default_keys`` (fields another entity shares, say)."""
    if mapped_key is not None:
        return mapped_key
    key = key_from_marker(marker)
    if key is None:
        return None
    if desired is None:
        return key if entity is not FieldEntity.DEAL or key in set(default_keys) else None
    return key if any(f.entity is entity and f.key == key for f in desired.fields) else None
