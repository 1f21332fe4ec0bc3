"""Which ``crm.status.*`` calls give a deal funnel its desired stages — pure, no I/O.

A new deal funnel comes with stages Bitrix24 creates itself (C<id>:NEW … C<id>:WON, C<id>:LOSE,
C<id>:APOLOGY). We reuse them instead of leaving strays: the success stage becomes our won stage, the
first failure stage our lost stage, the in-progress ones our open stages in order (renamed, re-sorted,
recoloured); missing open stages are added, and the leftovers of a funnel we created are deleted.
Stage codes (STATUS_ID, SEMANTICS) are immutable after creation (crm.status.fields), so a reused stage
keeps its code and the key -> code map goes to the state store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_bridge.domain.layout import DesiredStage
from crm_bridge.domain.model import StageKind
from crm_bridge_bitrix24.wire import Status


def stage_entity(category_id: int) -> str:
    """crm.status ENTITY_ID of a deal funnel's stages: DEAL_STAGE (id 0) or DEAL_STAGE_<id>."""
    return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"


def stage_prefix(category_id: int) -> str:
    return "" if category_id == 0 else f"C{category_id}:"


def stage_code(category_id: int, key: str, max_length: int, taken: set[str]) -> str:
    """A new STATUS_ID for ``key`` (without the funnel prefix Bitrix24 adds itself), unique in
    ``taken`` (full codes) and at most ``max_length`` characters with the prefix."""
    prefix = stage_prefix(category_id)
    room = max(4, max_length - len(prefix))
    body = re.sub(r"[^A-Z0-9_-]", "_", key.upper())[:room] or "STAGE"
    candidate, n = body, 1
    while prefix + candidate in taken:
        n += 1
        suffix = f"_{n}"
        candidate = body[: room - len(suffix)] + suffix
    return candidate


def kind_of(status: Status) -> StageKind:
    if status.semantics == "S":
        return StageKind.WON
    if status.semantics == "F":
        return StageKind.LOST
    return StageKind.OPEN


@dataclass
class StageOps:
    """The calls for one funnel, in the order they must run (updates, then adds, then deletes: a new
    stage may not sort after the success stage, so the terminal stages move first)."""

    updates: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)  # (row ID, fields, code)
    adds: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (crm.status.add fields, code)
    deletes: list[int] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # stage key -> full STATUS_ID


def _fields(stage: DesiredStage) -> dict[str, Any]:
    out: dict[str, Any] = {"NAME": stage.name, "SORT": stage.sort}
    if stage.color:
        out["COLOR"] = stage.color
    return out


def reuse_plan(
    category_id: int,
    observed: Sequence[Status],
    known: dict[str, str],
    wanted: Sequence[DesiredStage],
    *,
    created_by_us: bool,
    max_code_length: int,
) -> StageOps:
    """Stage calls giving funnel ``category_id`` the ``wanted`` stages (those the plan creates).

    ``observed`` are its current stages, ``known`` the STATUS_IDs already mapped to one of our keys
    (never reused). Leftover unmapped stages are deleted only when ``created_by_us``."""
    ops = StageOps()
    known_codes = set(known.values())
    pool = sorted((s for s in observed if s.status_id not in known_codes), key=lambda s: s.sort)
    process = [s for s in pool if kind_of(s) is StageKind.OPEN]
    success = [s for s in pool if kind_of(s) is StageKind.WON]
    failure = sorted(
        (s for s in pool if kind_of(s) is StageKind.LOST),
        key=lambda s: (not s.status_id.endswith("LOSE"), s.sort),
    )
    taken = {s.status_id for s in observed}
    for stage in sorted(wanted, key=lambda s: s.sort):
        source = {StageKind.OPEN: process, StageKind.WON: success, StageKind.LOST: failure}[stage.kind]
        if source:
            reused = source.pop(0)
            ops.updates.append((reused.id, _fields(stage), reused.status_id))
            ops.codes[stage.key] = reused.status_id
            continue
        code = stage_code(category_id, stage.key, max_code_length, taken)
        full = stage_prefix(category_id) + code
        taken.add(full)
        semantics = {StageKind.OPEN: "", StageKind.WON: "S", StageKind.LOST: "F"}[stage.kind]
        fields = {"ENTITY_ID": stage_entity(category_id), "STATUS_ID": code, "SEMANTICS": semantics}
        ops.adds.append(({**fields, **_fields(stage)}, full))
        ops.codes[stage.key] = full
    if created_by_us:
        # Bitrix24 may flag its automatic stages as system ones: they go with FORCED=Y, which still
        # refuses a stage holding deals ("There are active items in this status").
        ops.deletes = [s.id for s in (*process, *failure)]
    # terminal stages first so their new SORT makes room for the open ones
    ops.updates.sort(key=lambda item: -int(item[1].get("SORT", 0)))
    return ops
